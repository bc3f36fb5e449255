//! slim: make container images small and safe.

pub mod analyze;
pub mod archive;
pub mod collect;
pub mod compare;
pub mod digest;
pub mod dockerfile;
pub mod engine;
pub mod image;
pub mod leftovers;
pub mod lint;
pub mod owner;
pub mod pipeline;
pub mod probe;
pub mod progress;
pub mod rebuild;
pub mod report;
pub mod resolve;
pub mod safe_path;
pub mod sbom;
pub mod seccomp;
pub mod sensor;
pub mod survey;
pub mod switch_shim;
pub mod verify;
