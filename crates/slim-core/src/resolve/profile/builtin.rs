//! The profiles compiled into slim (`profiles/*.toml` in the source tree).

use super::definition::{Profile, ProfileError};

/// (file name, TOML text) of every built-in profile, in the order they are applied.
pub const BUILTIN_SOURCES: &[(&str, &str)] = &[
    (
        "glibc.toml",
        include_str!("../../../../../profiles/glibc.toml"),
    ),
    (
        "ca-certificates.toml",
        include_str!("../../../../../profiles/ca-certificates.toml"),
    ),
    (
        "tzdata.toml",
        include_str!("../../../../../profiles/tzdata.toml"),
    ),
    (
        "shells.toml",
        include_str!("../../../../../profiles/shells.toml"),
    ),
    (
        "python.toml",
        include_str!("../../../../../profiles/python.toml"),
    ),
    (
        "node.toml",
        include_str!("../../../../../profiles/node.toml"),
    ),
    (
        "java.toml",
        include_str!("../../../../../profiles/java.toml"),
    ),
    (
        "ruby.toml",
        include_str!("../../../../../profiles/ruby.toml"),
    ),
    (
        "perl.toml",
        include_str!("../../../../../profiles/perl.toml"),
    ),
    (
        "nginx.toml",
        include_str!("../../../../../profiles/nginx.toml"),
    ),
];

/// The built-in profiles, compiled. Fails only if a built-in file is broken (a test
/// makes sure none is).
pub fn builtin_profiles() -> Result<Vec<Profile>, ProfileError> {
    BUILTIN_SOURCES
        .iter()
        .map(|(file, text)| Profile::from_toml_in(text, &format!("profiles/{file}")))
        .collect()
}

/// The built-in profiles plus the user's files; a user profile with a built-in's name
/// replaces it (so a broken built-in rule can be fixed without a new slim).
pub fn load_profiles(user_files: &[std::path::PathBuf]) -> Result<Vec<Profile>, ProfileError> {
    let mut profiles = builtin_profiles()?;
    for file in user_files {
        let profile = Profile::from_file(file)?;
        match profiles.iter_mut().find(|p| p.name() == profile.name()) {
            Some(existing) => *existing = profile,
            None => profiles.push(profile),
        }
    }
    Ok(profiles)
}

#[cfg(test)]
#[path = "builtin_tests.rs"]
mod tests;
