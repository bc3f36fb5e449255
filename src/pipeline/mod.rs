//! The build as a pipeline of typed stages, each a function from one value to the next:
//!
//! ```text
//! SlimRequest ─inspect─▶ ImageSpec ─analyze, resolve─▶ KeptSet ─rebuild─▶ Rebuilt
//!     ─load or write─▶ the slim image ─verify─▶ Verification ─▶ BuildReport
//! ```
//!
//! `slim build`, `slim dockerfile` and file outputs are compositions of these stages
//! ([`build::build`] is `slim build`'s); the commands only turn flags into a
//! [`SlimRequest`] and a [`BuildPlan`], call them and print. Stages show themselves through
//! a [`Display`] and time themselves in a [`Timeline`].

pub mod build;
pub mod display;
pub mod dockerfile_out;
pub mod error;
pub mod kept;
pub mod output;
pub mod rebuilt;
pub mod report;
pub mod request;
pub mod source;
pub mod verified;

pub use build::{Built, build};
pub use display::{Display, Hidden, StageHandle, Timeline};
pub use error::PipelineError;
pub use kept::{KeptSet, inspect, inspect_and_keep, keep};
pub use request::{BuildPlan, FromDockerfile, OutputTarget, SlimRequest};
