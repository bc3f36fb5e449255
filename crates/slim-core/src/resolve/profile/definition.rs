//! A profile as users write it (TOML, [`ProfileSpec`]) and as the resolver uses it
//! ([`Profile`]: the same, with every pattern compiled and checked).
//!
//! A profile travels to the resolver inside the request; it serializes as its spec and is
//! compiled (and checked) again on the way in.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::pattern::{NamePattern, PathPattern, PatternError, Syntax};

/// Template values a `twins` rule gets from the file it is applied to: its directory, that
/// directory's parent, its name, and its name up to the first '.'.
pub const TWIN_VALUES: &[&str] = &["dir", "parent", "name", "base"];

/// The TOML form of a profile. Every key is documented in the built-in profiles
/// (`profiles/*.toml`); unknown keys are rejected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    pub name: String,
    #[serde(default)]
    pub about: String,
    /// the profile applies once a kept path matches one of these
    pub when: Vec<String>,
    /// only paths the app touched itself count for `when` (not ones kept for another
    /// reason): the trace is the evidence
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub when_traced: bool,
    /// kept when the profile applies (directories whole); may use captures from `when`
    #[serde(default)]
    pub keep: Vec<String>,
    /// once anything inside a matching directory is kept, the directory is kept whole
    #[serde(default)]
    pub whole_dir: Vec<String>,
    /// every child directory of a matching directory is a package, kept whole once
    /// anything inside it is kept
    #[serde(default)]
    pub packages_under: Vec<String>,
    /// child names under `packages_under` that are not packages
    #[serde(default)]
    pub skip_packages: Vec<String>,
    #[serde(default)]
    pub twins: Vec<TwinSpec>,
    #[serde(default)]
    pub ancestor_files: Vec<AncestorFilesSpec>,
    /// kept (directories alone, not their contents) and reported as writable
    #[serde(default)]
    pub writable: Vec<String>,
    /// never kept by this profile's own rules (still kept if traced or needed otherwise)
    #[serde(default)]
    pub leave_out: Vec<String>,
}

/// For every kept file matching `of`, keep `keep` (templates over the file's path).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwinSpec {
    pub of: String,
    pub keep: Vec<String>,
}

/// For every kept path matching `of`, keep the files called `names` in each of its
/// ancestor directories, where they exist.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AncestorFilesSpec {
    pub of: String,
    pub names: Vec<String>,
}

#[derive(Debug, Error)]
pub enum ProfileError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Toml { origin: String, message: String },
    #[error("{origin}: {key}: {source}")]
    Pattern {
        origin: String,
        key: String,
        #[source]
        source: PatternError,
    },
    #[error("{origin}: {key}: {problem}")]
    Invalid {
        origin: String,
        key: String,
        problem: String,
    },
}

/// A checked, compiled profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "ProfileSpec", into = "ProfileSpec")]
pub struct Profile {
    spec: ProfileSpec,
    pub(crate) when: Vec<PathPattern>,
    pub(crate) keep: Vec<PathPattern>,
    pub(crate) whole_dir: Vec<PathPattern>,
    pub(crate) packages_under: Vec<PathPattern>,
    pub(crate) skip_packages: Vec<NamePattern>,
    pub(crate) twins: Vec<Twin>,
    pub(crate) ancestor_files: Vec<AncestorFiles>,
    pub(crate) writable: Vec<PathPattern>,
    pub(crate) leave_out: Vec<PathPattern>,
}

#[derive(Debug, Clone)]
pub(crate) struct Twin {
    pub(crate) of: PathPattern,
    pub(crate) keep: Vec<PathPattern>,
}

#[derive(Debug, Clone)]
pub(crate) struct AncestorFiles {
    pub(crate) of: PathPattern,
    pub(crate) names: Vec<String>,
}

impl PartialEq for Profile {
    fn eq(&self, other: &Self) -> bool {
        self.spec == other.spec
    }
}

impl Eq for Profile {}

impl From<Profile> for ProfileSpec {
    fn from(profile: Profile) -> Self {
        profile.spec
    }
}

impl TryFrom<ProfileSpec> for Profile {
    type Error = ProfileError;

    fn try_from(spec: ProfileSpec) -> Result<Self, Self::Error> {
        let origin = format!("profile {:?}", spec.name);
        Profile::compile(spec, &origin)
    }
}

impl Profile {
    /// A profile from TOML text (errors name the profile and the key).
    pub fn from_toml(text: &str) -> Result<Self, ProfileError> {
        Self::from_toml_in(text, "profile")
    }

    /// A profile from a TOML file (errors name the file and the key).
    pub fn from_file(path: &Path) -> Result<Self, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_in(&text, &path.display().to_string())
    }

    /// A profile from TOML text; `origin` (a file name) starts every error message.
    pub fn from_toml_in(text: &str, origin: &str) -> Result<Self, ProfileError> {
        let spec: ProfileSpec = toml::from_str(text).map_err(|e| ProfileError::Toml {
            origin: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        Self::compile(spec, origin)
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn about(&self) -> &str {
        &self.spec.about
    }

    pub fn spec(&self) -> &ProfileSpec {
        &self.spec
    }

    fn compile(spec: ProfileSpec, origin: &str) -> Result<Self, ProfileError> {
        let check = Checker { origin };
        if spec.name.is_empty()
            || !spec
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(check.invalid(
                "name",
                "must be a non-empty word of letters, digits, '-', '_' or '.'",
            ));
        }
        if spec.when.is_empty() {
            return Err(check.invalid("when", "needs at least one pattern"));
        }

        let mut when = Vec::with_capacity(spec.when.len());
        for (i, text) in spec.when.iter().enumerate() {
            let key = format!("when[{i}]");
            let pattern = check.pattern(&key, text)?;
            if let Some(name) = pattern
                .capture_names()
                .iter()
                .find(|n| TWIN_VALUES.contains(&n.as_str()))
            {
                return Err(check.invalid(
                    &key,
                    &format!("capture name {{{name}}} is reserved for twins"),
                ));
            }
            when.push(pattern);
        }
        // Values a keep pattern can use: those every `when` pattern captures.
        let mut defined: BTreeSet<String> = when[0].capture_names().iter().cloned().collect();
        for pattern in &when[1..] {
            defined.retain(|name| pattern.capture_names().contains(name));
        }
        let twin_values: BTreeSet<String> = TWIN_VALUES.iter().map(|s| s.to_string()).collect();

        let from_when = "captured by every `when` pattern";
        let keep = check.templates("keep", &spec.keep, &defined, from_when)?;
        let writable = check.templates("writable", &spec.writable, &defined, from_when)?;
        let whole_dir = check.matchers("whole_dir", &spec.whole_dir)?;
        let packages_under = check.matchers("packages_under", &spec.packages_under)?;
        let leave_out = check.matchers("leave_out", &spec.leave_out)?;
        let mut skip_packages = Vec::with_capacity(spec.skip_packages.len());
        for (i, text) in spec.skip_packages.iter().enumerate() {
            let pattern = NamePattern::parse(text).map_err(|source| ProfileError::Pattern {
                origin: origin.to_string(),
                key: format!("skip_packages[{i}]"),
                source,
            })?;
            skip_packages.push(pattern);
        }
        let mut twins = Vec::with_capacity(spec.twins.len());
        for (i, twin) in spec.twins.iter().enumerate() {
            let of = check.matcher(&format!("twins[{i}].of"), &twin.of)?;
            let keep = check.templates(
                &format!("twins[{i}].keep"),
                &twin.keep,
                &twin_values,
                "one of {dir}, {parent}, {name}, {base}",
            )?;
            twins.push(Twin { of, keep });
        }
        let mut ancestor_files = Vec::with_capacity(spec.ancestor_files.len());
        for (i, rule) in spec.ancestor_files.iter().enumerate() {
            let of = check.matcher(&format!("ancestor_files[{i}].of"), &rule.of)?;
            for (j, name) in rule.names.iter().enumerate() {
                if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                    return Err(check.invalid(
                        &format!("ancestor_files[{i}].names[{j}]"),
                        &format!("{name:?} is not a plain file name"),
                    ));
                }
            }
            ancestor_files.push(AncestorFiles {
                of,
                names: rule.names.clone(),
            });
        }

        Ok(Profile {
            spec,
            when,
            keep,
            whole_dir,
            packages_under,
            skip_packages,
            twins,
            ancestor_files,
            writable,
            leave_out,
        })
    }
}

/// Checks and compiles the patterns of one profile, naming it and the key on errors.
struct Checker<'a> {
    origin: &'a str,
}

impl Checker<'_> {
    fn invalid(&self, key: &str, problem: &str) -> ProfileError {
        ProfileError::Invalid {
            origin: self.origin.to_string(),
            key: key.to_string(),
            problem: problem.to_string(),
        }
    }

    fn pattern(&self, key: &str, text: &str) -> Result<PathPattern, ProfileError> {
        PathPattern::parse(text, Syntax::WithCaptures).map_err(|source| ProfileError::Pattern {
            origin: self.origin.to_string(),
            key: key.to_string(),
            source,
        })
    }

    /// A pattern only matched against kept paths: it cannot use captures.
    fn matcher(&self, key: &str, text: &str) -> Result<PathPattern, ProfileError> {
        let pattern = self.pattern(key, text)?;
        if let Some(name) = pattern.capture_names().first() {
            return Err(self.invalid(
                key,
                &format!(
                    "{text:?} uses {{{name}}}, but only keep, writable and twins.keep take values"
                ),
            ));
        }
        Ok(pattern)
    }

    fn matchers(&self, key: &str, texts: &[String]) -> Result<Vec<PathPattern>, ProfileError> {
        texts
            .iter()
            .enumerate()
            .map(|(i, text)| self.matcher(&format!("{key}[{i}]"), text))
            .collect()
    }

    /// Patterns expanded over the tree: only known captures, and never from a leading
    /// `**` (that would walk the whole image).
    fn templates(
        &self,
        key: &str,
        texts: &[String],
        defined: &BTreeSet<String>,
        known: &str,
    ) -> Result<Vec<PathPattern>, ProfileError> {
        let mut out = Vec::with_capacity(texts.len());
        for (i, text) in texts.iter().enumerate() {
            let key = format!("{key}[{i}]");
            let pattern = self.pattern(&key, text)?;
            if let Some(name) = pattern
                .capture_names()
                .iter()
                .find(|n| !defined.contains(n.as_str()))
            {
                return Err(self.invalid(
                    &key,
                    &format!("{text:?} uses {{{name}}}, which is not {known}"),
                ));
            }
            if !pattern.is_anchored() {
                return Err(self.invalid(
                    &key,
                    &format!(
                        "{text:?} must start with a directory or a capture, not '**' \
                         (that would search the whole image)"
                    ),
                ));
            }
            out.push(pattern);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        Profile::from_toml_in(text, "my.toml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn minimal_profile_and_round_trip() {
        let profile = Profile::from_toml(
            r#"
            name = "app"
            when = ["{root}/bin/app"]
            keep = ["{root}/share/app/**"]
            twins = [{ of = "**/*.py", keep = ["{dir}/__pycache__/{base}.*.pyc"] }]
            "#,
        )
        .unwrap();
        assert_eq!(profile.name(), "app");
        assert_eq!(profile.about(), "");
        let json = serde_json::to_string(&profile).unwrap();
        let back: Profile = serde_json::from_str(&json).unwrap();
        assert_eq!(back, profile);
        assert_eq!(
            back.twins[0].keep[0].source(),
            "{dir}/__pycache__/{base}.*.pyc"
        );
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let message = error("name = \"x\"\nwhen = [\"/x\"]\nkepe = [\"/y\"]\n");
        assert!(message.starts_with("my.toml: "), "{message}");
        assert!(message.contains("kepe"), "{message}");
        let message = error("name = \"x\"\nwhen = [\"/x\"]\ntwins = [{ of = \"/a\", kep = [] }]\n");
        assert!(message.contains("kep"), "{message}");
        let message = error("name = \"x\"\n");
        assert!(message.contains("when"), "{message}");
    }

    #[test]
    fn bad_patterns_name_the_key() {
        let message = error("name = \"x\"\nwhen = [\"/x\"]\nkeep = [\"/ok\", \"/a/[b\"]\n");
        assert_eq!(message, "my.toml: keep[1]: pattern \"/a/[b\": unclosed '['");
        let message = error("name = \"x\"\nwhen = [\"usr/bin/x\"]\n");
        assert!(message.starts_with("my.toml: when[0]: "), "{message}");
        let message = error("name = \"x\"\nwhen = [\"/x\"]\nskip_packages = [\"a/b\"]\n");
        assert!(
            message.starts_with("my.toml: skip_packages[0]: "),
            "{message}"
        );
    }

    #[test]
    fn captures_must_be_defined_by_every_when_pattern() {
        let message =
            error("name = \"x\"\nwhen = [\"{p}/bin/x\", \"/opt/x\"]\nkeep = [\"{p}/share/x\"]\n");
        assert!(message.starts_with("my.toml: keep[0]: "), "{message}");
        assert!(message.contains("{p}"), "{message}");
        let message = error("name = \"x\"\nwhen = [\"/x\"]\nwhole_dir = [\"{p}/lib\"]\n");
        assert!(message.starts_with("my.toml: whole_dir[0]: "), "{message}");
        let message = error("name = \"x\"\nwhen = [\"{dir}/x\"]\n");
        assert!(message.contains("reserved"), "{message}");
        // twins may use the file's own values
        let message = error(
            "name = \"x\"\nwhen = [\"/x\"]\ntwins = [{ of = \"/a/*\", keep = [\"{dir}/{nope}\"] }]\n",
        );
        assert!(
            message.starts_with("my.toml: twins[0].keep[0]: "),
            "{message}"
        );
    }

    #[test]
    fn expansions_cannot_start_anywhere() {
        let message = error("name = \"x\"\nwhen = [\"/x\"]\nkeep = [\"**/cacerts\"]\n");
        assert!(message.contains("whole image"), "{message}");
        // matching patterns may
        Profile::from_toml("name = \"x\"\nwhen = [\"**/x\"]\nwhole_dir = [\"**/lib-dynload\"]\n")
            .unwrap();
    }

    #[test]
    fn names_and_ancestor_files_are_checked() {
        assert!(error("name = \"a b\"\nwhen = [\"/x\"]\n").contains("name"));
        let message = error(
            "name = \"x\"\nwhen = [\"/x\"]\nancestor_files = [{ of = \"/a/**\", names = [\"../p\"] }]\n",
        );
        assert!(
            message.starts_with("my.toml: ancestor_files[0].names[0]: "),
            "{message}"
        );
        // a request carrying a broken profile fails to parse, naming it
        let json = r#"{"name":"bad","when":["/a/[x"]}"#;
        let message = serde_json::from_str::<Profile>(json)
            .unwrap_err()
            .to_string();
        assert!(message.contains("profile \"bad\": when[0]"), "{message}");
    }
}
