//! slim-core: the part of slim that needs no engine and no network. The injected sensor
//! (tracing, resolving the kept set inside the container, gathering for the generated
//! Dockerfile) is built from it alone, so it links no async runtime, HTTP or Docker client;
//! the `slim` crate adds the engine, the pipeline and the registry on top.

pub mod archive;
pub mod digest;
pub mod dockerfile;
pub mod image;
pub mod leftovers;
pub mod lint;
pub mod owner;
pub mod rebuild;
pub mod resolve;
pub mod safe_path;
pub mod sensor;
pub mod survey;
pub mod switch_shim;
