//! slim: make container images small and safe.
//!
//! What runs without an engine lives in `slim-core` and is re-exported here under the same
//! names, so `slim::resolve`, `slim::archive` and the rest read as one library.

pub use slim_core::{
    archive, digest, dockerfile, image, leftovers, lint, owner, rebuild, resolve, safe_path,
    sensor, survey, switch_shim,
};

pub mod analyze;
pub mod collect;
pub mod compare;
pub mod engine;
pub mod error_chain;
pub mod pipeline;
pub mod probe;
pub mod progress;
pub mod registry;
pub mod report;
pub mod sbom;
pub mod seccomp;
pub mod sign;
pub mod tls;
pub mod verify;
