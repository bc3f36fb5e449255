//! The sensor: runs inside the container and records what the app touches.

pub mod binfmt;
pub mod credentials;
pub mod decode;
pub mod filter;
pub mod listening;
pub mod memory;
pub mod paths;
pub mod recorder;
pub mod relay;
pub mod report;
pub mod signals;
pub mod spawn;
pub mod syscalls;
pub mod tracees;
pub mod tracer;
