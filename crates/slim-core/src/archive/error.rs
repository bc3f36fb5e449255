//! Everything that can go wrong reading or writing an image file, each case naming the
//! object (layer, blob, file) and, inside a layer, the path.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

use super::location::LocationError;

#[derive(Debug, Error)]
pub enum ArchiveError {
    #[error(transparent)]
    Location(#[from] LocationError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}: not an image in this format: {reason}")]
    NotAnImage { path: PathBuf, reason: String },
    #[error("{path}: {name} is referenced but not present")]
    MissingFile { path: PathBuf, name: String },
    #[error("{path}: {reason}")]
    NoSuchImage { path: PathBuf, reason: String },
    #[error("{object}: {reason}")]
    Malformed { object: String, reason: String },
    #[error("{object}: JSON does not parse: {source}")]
    Json {
        object: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{object}: {size} bytes is more than the {limit} allowed for this kind of file")]
    TooLarge {
        object: String,
        size: u64,
        limit: u64,
    },
    #[error("{object}: content digest is {actual}, expected {expected}")]
    DigestMismatch {
        object: String,
        expected: String,
        actual: String,
    },
    #[error("{object}: more than the {expected} bytes its descriptor states")]
    Oversize { object: String, expected: u64 },
    #[error("{object}: truncated{}", at_path(path))]
    Truncated {
        object: String,
        path: Option<String>,
    },
    #[error("layer {layer}: {path}: climbs out of the image root")]
    UnsafePath { layer: String, path: String },
    #[error(
        "layer {layer}: {path}: would be written through symlink {symlink} -> {target}, which points outside the image root"
    )]
    SymlinkEscape {
        layer: String,
        path: String,
        symlink: String,
        target: String,
    },
    #[error("layer {layer}: {path}: hardlink target {target} climbs out of the image root")]
    HardlinkEscape {
        layer: String,
        path: String,
        target: String,
    },
    #[error(
        "layer {layer}: {path}: hardlink target {target} is not a file seen earlier in this or a lower layer"
    )]
    HardlinkTargetMissing {
        layer: String,
        path: String,
        target: String,
    },
    #[error("layer {layer}: {path}: device nodes are refused")]
    DeviceNode { layer: String, path: String },
    #[error("layer {layer}{}: {reason}", at_path(path))]
    BadLayer {
        layer: String,
        path: Option<String>,
        reason: String,
    },
    #[error("{path}: already exists and is not empty; choose a new output path")]
    OutputExists { path: PathBuf },
}

fn at_path(path: &Option<String>) -> String {
    path.as_ref()
        .map(|p| format!(" (at {p})"))
        .unwrap_or_default()
}

impl ArchiveError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        ArchiveError::Io {
            context: context.into(),
            source,
        }
    }
}
