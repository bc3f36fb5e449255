//! One layer of an image: what the manifest says about it, and its uncompressed tar
//! stream with the blob digest and the diff_id checked as the bytes go by.

use std::io::{self, BufReader, Read};

use serde::Serialize;

use super::bundle::{FileSlice, SliceReader};
use super::error::ArchiveError;
use super::media::Compression;
use crate::digest::{Digest, FaultSlot, StreamFault, VerifyingReader, drain};

/// A layer as the image describes it.
#[derive(Debug, Clone, Serialize)]
pub struct LayerInfo {
    pub media_type: String,
    /// digest of the stored blob; docker-save legacy layers record none, and for those this
    /// is the diff_id when the layer is stored uncompressed (the same bytes)
    pub digest: Option<Digest>,
    /// digest of the uncompressed tar, from the config's rootfs.diff_ids
    pub diff_id: Digest,
    /// size of the stored blob in bytes
    pub size: u64,
    /// what the blob's first bytes say
    pub compression: Compression,
    #[serde(skip)]
    pub(crate) blob: FileSlice,
}

impl LayerInfo {
    /// How errors name this layer: its blob digest, else its diff_id.
    pub fn label(&self) -> String {
        self.digest.as_ref().unwrap_or(&self.diff_id).to_string()
    }
}

/// Digests a fully read layer was checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerCheck {
    pub digest: Option<Digest>,
    pub diff_id: Digest,
    pub uncompressed_size: u64,
}

type Blob = VerifyingReader<SliceReader>;

enum Decoder {
    Plain(BufReader<Blob>),
    Gzip(flate2::bufread::MultiGzDecoder<BufReader<Blob>>),
    Zstd(zstd::stream::read::Decoder<'static, BufReader<Blob>>),
}

impl Read for Decoder {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(r) => r.read(buf),
            Decoder::Zstd(r) => r.read(buf),
        }
    }
}

impl Decoder {
    fn into_blob(self) -> BufReader<Blob> {
        match self {
            Decoder::Plain(r) => r,
            Decoder::Gzip(r) => r.into_inner(),
            Decoder::Zstd(r) => r.finish(),
        }
    }
}

/// The uncompressed tar of a layer; read it to the end, then call [`LayerStream::finish`].
pub struct LayerStream {
    inner: VerifyingReader<Decoder>,
    blob_fault: FaultSlot,
    diff_fault: FaultSlot,
    label: String,
    in_place: Option<FileSlice>,
    expects_blob_digest: bool,
}

/// Large reads keep syscalls and hashing per call cheap.
const READ_BUFFER: usize = 256 * 1024;

impl LayerStream {
    pub fn open(layer: &LayerInfo) -> Result<LayerStream, ArchiveError> {
        let label = layer.label();
        // An uncompressed blob is the diff: hash it once, against both names it has.
        let single_hash = layer.compression == Compression::None
            && layer.digest.as_ref().is_none_or(|d| *d == layer.diff_id);
        let blob_expected = match layer.compression {
            Compression::None if single_hash => Some(layer.diff_id.clone()),
            _ => layer.digest.clone(),
        };
        let hash_blob = blob_expected.is_some();
        let blob = VerifyingReader::new(
            layer.blob.reader(),
            blob_expected,
            Some(layer.size),
            hash_blob,
        );
        let blob_fault = blob.fault_slot();
        let buffered = BufReader::with_capacity(READ_BUFFER, blob);
        let decoder = match layer.compression {
            Compression::None => Decoder::Plain(buffered),
            Compression::Gzip => Decoder::Gzip(flate2::bufread::MultiGzDecoder::new(buffered)),
            Compression::Zstd => Decoder::Zstd(
                zstd::stream::read::Decoder::with_buffer(buffered).map_err(|e| {
                    ArchiveError::BadLayer {
                        layer: label.clone(),
                        path: None,
                        reason: format!("zstd: {e}"),
                    }
                })?,
            ),
        };
        let inner = VerifyingReader::new(decoder, Some(layer.diff_id.clone()), None, !single_hash);
        Ok(LayerStream {
            diff_fault: inner.fault_slot(),
            inner,
            blob_fault,
            label,
            in_place: (layer.compression == Compression::None).then(|| layer.blob.clone()),
            expects_blob_digest: hash_blob,
        })
    }

    /// For an uncompressed layer, the stored bytes: offsets in the stream are offsets here.
    pub fn in_place(&self) -> Option<&FileSlice> {
        self.in_place.as_ref()
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// Read what is left (tar stops at its end marker; the digests cover every byte) and
    /// check both digests.
    pub fn finish(mut self) -> Result<LayerCheck, ArchiveError> {
        let faults = self.faults();
        drain(&mut self.inner).map_err(|e| faults.error(None, e))?;
        let uncompressed_size = self.inner.bytes_read();
        let diff_digest = self.inner.digest().cloned();
        let mut blob = self.inner.into_inner().into_blob();
        drain(&mut blob).map_err(|e| faults.error(None, e))?;
        faults.check()?;
        let blob_digest = blob.into_inner().digest().cloned();
        let diff_id =
            diff_digest
                .or_else(|| blob_digest.clone())
                .ok_or_else(|| ArchiveError::BadLayer {
                    layer: faults.label.clone(),
                    path: None,
                    reason: "no digest was computed".into(),
                })?;
        Ok(LayerCheck {
            digest: if self.expects_blob_digest {
                blob_digest
            } else {
                None
            },
            diff_id,
            uncompressed_size,
        })
    }

    /// A typed error for a failed read, preferring what a digest check recorded.
    pub fn error(&self, path: Option<&str>, e: io::Error) -> ArchiveError {
        self.faults().error(path, e)
    }

    /// The error classifier alone, for use while a tar reader borrows the stream.
    pub fn faults(&self) -> LayerFaults {
        LayerFaults {
            label: self.label.clone(),
            blob: self.blob_fault.clone(),
            diff: self.diff_fault.clone(),
        }
    }
}

/// Turns read errors of one layer stream into typed errors.
#[derive(Clone)]
pub struct LayerFaults {
    label: String,
    blob: FaultSlot,
    diff: FaultSlot,
}

impl LayerFaults {
    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn error(&self, path: Option<&str>, e: io::Error) -> ArchiveError {
        classify(&self.label, &self.blob, &self.diff, path, e)
    }

    /// Fails if either stream recorded a fault (a mismatch is only recorded at the end).
    pub fn check(&self) -> Result<(), ArchiveError> {
        if self.blob.borrow().is_some() || self.diff.borrow().is_some() {
            return Err(self.error(None, io::Error::other("digest check failed")));
        }
        Ok(())
    }
}

impl Read for LayerStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

fn classify(
    label: &str,
    blob_fault: &FaultSlot,
    diff_fault: &FaultSlot,
    path: Option<&str>,
    e: io::Error,
) -> ArchiveError {
    let path = path.map(str::to_string);
    if let Some(fault) = blob_fault.borrow().clone() {
        return match fault {
            StreamFault::Mismatch { expected, actual } => ArchiveError::DigestMismatch {
                object: format!("layer {label} (stored blob)"),
                expected: expected.to_string(),
                actual: actual.to_string(),
            },
            StreamFault::Short { .. } => ArchiveError::Truncated {
                object: format!("layer {label}"),
                path,
            },
            StreamFault::Long { expected } => ArchiveError::Oversize {
                object: format!("layer {label}"),
                expected,
            },
        };
    }
    if let Some(StreamFault::Mismatch { expected, actual }) = diff_fault.borrow().clone() {
        return ArchiveError::DigestMismatch {
            object: format!("layer {label} (uncompressed, diff_id)"),
            expected: expected.to_string(),
            actual: actual.to_string(),
        };
    }
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return ArchiveError::Truncated {
            object: format!("layer {label}"),
            path,
        };
    }
    ArchiveError::BadLayer {
        layer: label.into(),
        path,
        reason: e.to_string(),
    }
}
