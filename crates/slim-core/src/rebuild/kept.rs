//! Reading the kept-set tar (what the resolver chose, with original metadata) into an index
//! that the layer writer can reorder and edit without holding file contents in memory.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::RebuildError;

/// What one kept path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeptKind {
    File {
        offset: u64,
        size: u64,
    },
    Dir,
    Symlink(String),
    /// a hardlink to another kept path (absolute)
    Hardlink(String),
}

/// One kept path with the metadata it had in the source image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptEntry {
    pub kind: KeptKind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: i64,
}

/// Kept paths (absolute, normalized) in sorted order, backed by the tar file for contents.
pub struct KeptIndex {
    file: File,
    pub entries: BTreeMap<String, KeptEntry>,
}

impl KeptIndex {
    pub fn open(path: &Path) -> Result<Self, RebuildError> {
        let io_error = |source| RebuildError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io_error)?;
        let mut entries = BTreeMap::new();
        let mut archive = tar::Archive::new(file.try_clone().map_err(io_error)?);
        for entry in archive.entries_with_seek().map_err(io_error)? {
            let entry = entry.map_err(io_error)?;
            let raw = entry
                .path()
                .map_err(io_error)?
                .to_string_lossy()
                .into_owned();
            let Some(name) = normalize_member(&raw)? else {
                continue;
            };
            let header = entry.header();
            let link = || -> Result<String, RebuildError> {
                let target = entry.link_name().map_err(io_error)?.ok_or_else(|| {
                    RebuildError::Malformed(format!("{name}: link without a target"))
                })?;
                Ok(target.to_string_lossy().into_owned())
            };
            let kind = match header.entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => KeptKind::File {
                    offset: entry.raw_file_position(),
                    size: entry.size(),
                },
                tar::EntryType::Directory => KeptKind::Dir,
                tar::EntryType::Symlink => KeptKind::Symlink(link()?),
                tar::EntryType::Link => {
                    let target = normalize_member(&link()?)?.ok_or_else(|| {
                        RebuildError::Malformed(format!("{name}: hardlink to the root"))
                    })?;
                    KeptKind::Hardlink(target)
                }
                // Device nodes, fifos and the like never belong in a slim image.
                _ => continue,
            };
            entries.insert(
                name,
                KeptEntry {
                    kind,
                    mode: header.mode().map_err(io_error)? & 0o7777,
                    uid: header.uid().map_err(io_error)?,
                    gid: header.gid().map_err(io_error)?,
                    mtime: header.mtime().map_err(io_error)? as i64,
                },
            );
        }
        Ok(KeptIndex { file, entries })
    }

    /// A reader over the contents of a kept regular file.
    pub fn contents(&self, offset: u64, size: u64) -> std::io::Result<impl Read + '_> {
        let mut file = &self.file;
        file.seek(SeekFrom::Start(offset))?;
        Ok(file.take(size))
    }

    /// A small kept text file (passwd, group), if present and a regular file.
    pub fn read_text(&self, path: &str) -> Result<Option<String>, RebuildError> {
        let Some(KeptEntry {
            kind: KeptKind::File { offset, size },
            ..
        }) = self.entries.get(path)
        else {
            return Ok(None);
        };
        let mut text = String::new();
        self.contents(*offset, *size)
            .and_then(|mut r| r.read_to_string(&mut text))
            .map_err(|source| RebuildError::Io {
                path: path.into(),
                source,
            })?;
        Ok(Some(text))
    }
}

/// `./usr/lib/` → `/usr/lib`; the root itself → None; anything climbing out is refused.
pub fn normalize_member(name: &str) -> Result<Option<String>, RebuildError> {
    crate::safe_path::absolute_name(name)
        .ok_or_else(|| RebuildError::Malformed(format!("{name:?} climbs out of the root")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_member_names() {
        assert_eq!(
            normalize_member("./usr/lib/").unwrap().as_deref(),
            Some("/usr/lib")
        );
        assert_eq!(
            normalize_member("etc//passwd").unwrap().as_deref(),
            Some("/etc/passwd")
        );
        assert_eq!(normalize_member("./").unwrap(), None);
        assert!(normalize_member("a/../../etc").is_err());
    }
}
