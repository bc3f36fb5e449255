//! Runtime profiles: what a runtime needs beyond what one traced run touched (modules
//! imported on the second request, libraries loaded with dlopen, CA bundles, time zones).
//!
//! A profile is a TOML file ([`ProfileSpec`]); the built-in ones live in `profiles/` and
//! are compiled into the binary. The resolver applies them (`resolver_profiles.rs`).

pub mod builtin;
pub mod definition;
pub mod expand;
pub mod pattern;

use serde::{Deserialize, Serialize};

pub use builtin::{BUILTIN_SOURCES, builtin_profiles, load_profiles};
pub use definition::{AncestorFilesSpec, Profile, ProfileError, ProfileSpec, TwinSpec};
pub use pattern::{NamePattern, PathPattern, PatternError, PatternProblem, Syntax};

/// A profile that applied during a resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileFiring {
    pub name: String,
    /// the kept path that first matched its `when`
    pub trigger: String,
    /// paths it added, with their symlinks and ELF closure (not counting parents)
    pub kept: usize,
}
