//! Image files in and out, with no engine: open `docker save` archives (legacy and Docker
//! 25+ layouts) and OCI image layouts (directory or tar), verify every digest while
//! streaming, flatten the layers into a [`RootFs`] the resolver can run on, and write the
//! single-layer slim image in any of those formats.
//!
//! ```text
//! ImageLocation ──ImageSource::open──▶ ImageSource {ImageSpec, config, manifest digest, layers}
//!                                          │ layer_stream(i): decompress, check digest + diff_id
//!                                          ▼
//!                       RootFs::flatten ─▶ RootFs: FileTree (whiteouts applied, contents on disk)
//!
//! config + layer.tar ──write_image──▶ docker-archive | oci | oci-archive
//! ```

pub mod bundle;
pub mod error;
pub mod export;
pub mod flatten;
pub mod json;
pub mod layer;
pub mod location;
pub mod media;
pub mod rootfs;
pub mod source;
pub mod spec;
pub mod writer;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod reader_tests;
#[cfg(test)]
mod writer_tests;

pub use crate::digest::Digest;
pub use error::ArchiveError;
pub use layer::{LayerCheck, LayerInfo, LayerStream};
pub use location::{ImageLocation, LocationError};
pub use media::Compression;
pub use rootfs::{DevicePolicy, FlattenOptions, RootFs, Totals};
pub use source::ImageSource;
pub use writer::{
    ImageToWrite, LayerCompression, WriteOptions, WrittenImage, WrittenLayer, write_image,
};
