//! The profiles compiled into slim (`profiles/*.toml` in the source tree).

use super::definition::{Profile, ProfileError};

/// (file name, TOML text) of every built-in profile, in the order they are applied.
pub const BUILTIN_SOURCES: &[(&str, &str)] = &[
    ("glibc.toml", include_str!("../../../profiles/glibc.toml")),
    (
        "ca-certificates.toml",
        include_str!("../../../profiles/ca-certificates.toml"),
    ),
    ("tzdata.toml", include_str!("../../../profiles/tzdata.toml")),
    ("shells.toml", include_str!("../../../profiles/shells.toml")),
    ("python.toml", include_str!("../../../profiles/python.toml")),
    ("node.toml", include_str!("../../../profiles/node.toml")),
    ("java.toml", include_str!("../../../profiles/java.toml")),
    ("ruby.toml", include_str!("../../../profiles/ruby.toml")),
    ("perl.toml", include_str!("../../../profiles/perl.toml")),
    ("nginx.toml", include_str!("../../../profiles/nginx.toml")),
];

/// The built-in profiles, compiled. Fails only if a built-in file is broken (a test
/// makes sure none is).
pub fn builtin_profiles() -> Result<Vec<Profile>, ProfileError> {
    BUILTIN_SOURCES
        .iter()
        .map(|(file, text)| Profile::from_toml_in(text, &format!("profiles/{file}")))
        .collect()
}

#[cfg(test)]
#[path = "builtin_tests.rs"]
mod tests;
