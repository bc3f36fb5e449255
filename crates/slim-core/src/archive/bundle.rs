//! The files of an image bundle (a docker-save tar, an OCI layout directory or tar), read
//! in place: a tar is indexed once by seeking over member data, and a member is then read
//! by offset, so nothing is unpacked to find, verify or stream a blob.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::ArchiveError;
use crate::safe_path;

/// A byte range of an open file, read with positional reads (no shared cursor).
#[derive(Debug, Clone)]
pub struct FileSlice {
    pub file: Arc<File>,
    pub offset: u64,
    pub size: u64,
}

impl FileSlice {
    pub fn reader(&self) -> SliceReader {
        SliceReader {
            file: self.file.clone(),
            pos: self.offset,
            end: self.offset + self.size,
        }
    }

    /// Up to `len` bytes from `at` (relative to the slice), fewer near its end.
    pub fn read_at(&self, at: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        if at < self.size {
            let mut reader = self.reader();
            reader.pos += at;
            reader.take(len as u64).read_to_end(&mut buf)?;
        }
        Ok(buf)
    }
}

/// Reads a [`FileSlice`]; a file shorter than the slice reads as a short stream.
pub struct SliceReader {
    file: Arc<File>,
    pos: u64,
    end: u64,
}

impl Read for SliceReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// What a name in a bundle tar is.
#[derive(Debug, Clone)]
pub enum Member {
    File { offset: u64, size: u64 },
    Dir,
    Symlink(String),
    Hardlink(String),
}

/// The files of a bundle by their '/'-separated relative names.
#[derive(Debug)]
pub enum Bundle {
    Dir {
        root: PathBuf,
    },
    Tar {
        path: PathBuf,
        file: Arc<File>,
        members: BTreeMap<String, Member>,
    },
}

/// Symlinks inside a bundle tar (docker save links repeated layers) are followed this often.
const MAX_MEMBER_LINKS: usize = 16;

impl Bundle {
    pub fn open_dir(root: &Path) -> Result<Bundle, ArchiveError> {
        let meta = std::fs::metadata(root)
            .map_err(|e| ArchiveError::io(format!("opening {}", root.display()), e))?;
        if !meta.is_dir() {
            return Err(ArchiveError::NotAnImage {
                path: root.into(),
                reason: "not a directory".into(),
            });
        }
        Ok(Bundle::Dir { root: root.into() })
    }

    pub fn open_tar(path: &Path) -> Result<Bundle, ArchiveError> {
        let context = || format!("reading {}", path.display());
        let file = File::open(path).map_err(|e| ArchiveError::io(context(), e))?;
        let meta = file
            .metadata()
            .map_err(|e| ArchiveError::io(context(), e))?;
        if !meta.is_file() {
            return Err(ArchiveError::NotAnImage {
                path: path.into(),
                reason: "not a regular file".into(),
            });
        }
        let length = meta.len();
        let truncated = |name: Option<String>| ArchiveError::Truncated {
            object: path.display().to_string(),
            path: name,
        };
        let mut members = BTreeMap::new();
        let mut archive = tar::Archive::new(&file);
        let entries = archive
            .entries_with_seek()
            .map_err(|e| ArchiveError::io(context(), e))?;
        let mut last = None;
        for entry in entries {
            // A tar is whole 512-byte blocks: a cut one fails mid-block.
            let entry = entry.map_err(|e| match e.kind() {
                _ if length % 512 != 0 => truncated(last.clone()),
                io::ErrorKind::UnexpectedEof => truncated(last.clone()),
                _ => ArchiveError::NotAnImage {
                    path: path.into(),
                    reason: format!("not a tar archive: {e}"),
                },
            })?;
            let raw = entry.path_bytes();
            let Some(name) = std::str::from_utf8(&raw).ok().and_then(member_name) else {
                continue;
            };
            let (offset, size) = (entry.raw_file_position(), entry.size());
            // Seeking skips member data, so a cut file shows only here.
            if offset + size > length {
                return Err(truncated(Some(name)));
            }
            let link = || {
                entry
                    .link_name_bytes()
                    .map(|l| String::from_utf8_lossy(&l).into_owned())
                    .unwrap_or_default()
            };
            let member = match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    Member::File { offset, size }
                }
                tar::EntryType::Directory => Member::Dir,
                tar::EntryType::Symlink => Member::Symlink(link()),
                tar::EntryType::Link => Member::Hardlink(link()),
                _ => continue,
            };
            last = Some(name.clone());
            members.insert(name, member);
        }
        Ok(Bundle::Tar {
            path: path.into(),
            file: Arc::new(file),
            members,
        })
    }

    /// The bundle's own path (directory or tar), for messages.
    pub fn path(&self) -> &Path {
        match self {
            Bundle::Dir { root } => root,
            Bundle::Tar { path, .. } => path,
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        match self {
            Bundle::Dir { root } => member_name(name)
                .is_some_and(|n| std::fs::metadata(root.join(n)).is_ok_and(|m| m.is_file())),
            Bundle::Tar { members, .. } => member_name(name).is_some_and(|n| {
                matches!(resolve_member(members, &n, 0), Some(Member::File { .. }))
            }),
        }
    }

    /// The regular file `name` (relative, '/'-separated; `..` refused).
    pub fn locate(&self, name: &str) -> Result<FileSlice, ArchiveError> {
        let missing = || ArchiveError::MissingFile {
            path: self.path().into(),
            name: name.into(),
        };
        let clean = member_name(name).ok_or_else(|| ArchiveError::Malformed {
            object: self.path().display().to_string(),
            reason: format!("refers to {name:?}, which is not a path inside it"),
        })?;
        match self {
            Bundle::Dir { root } => {
                let host = root.join(&clean);
                let file = File::open(&host).map_err(|e| match e.kind() {
                    io::ErrorKind::NotFound => missing(),
                    _ => ArchiveError::io(format!("opening {}", host.display()), e),
                })?;
                let meta = file
                    .metadata()
                    .map_err(|e| ArchiveError::io(format!("reading {}", host.display()), e))?;
                if !meta.is_file() {
                    return Err(missing());
                }
                Ok(FileSlice {
                    file: Arc::new(file),
                    offset: 0,
                    size: meta.len(),
                })
            }
            Bundle::Tar { file, members, .. } => match resolve_member(members, &clean, 0) {
                Some(Member::File { offset, size }) => Ok(FileSlice {
                    file: file.clone(),
                    offset: *offset,
                    size: *size,
                }),
                _ => Err(missing()),
            },
        }
    }

    /// A small file read whole (JSON documents), refused above `limit` bytes.
    pub fn read_small(&self, name: &str, limit: u64) -> Result<Vec<u8>, ArchiveError> {
        let slice = self.locate(name)?;
        if slice.size > limit {
            return Err(ArchiveError::TooLarge {
                object: format!("{}: {name}", self.path().display()),
                size: slice.size,
                limit,
            });
        }
        let mut bytes = Vec::with_capacity(slice.size as usize);
        slice
            .reader()
            .read_to_end(&mut bytes)
            .map_err(|e| ArchiveError::io(format!("reading {name}"), e))?;
        if (bytes.len() as u64) < slice.size {
            return Err(ArchiveError::Truncated {
                object: self.path().display().to_string(),
                path: Some(name.into()),
            });
        }
        Ok(bytes)
    }
}

/// Follow hardlinks and relative symlinks between members, never out of the bundle.
fn resolve_member<'a>(
    members: &'a BTreeMap<String, Member>,
    name: &str,
    depth: usize,
) -> Option<&'a Member> {
    if depth > MAX_MEMBER_LINKS {
        return None;
    }
    match members.get(name)? {
        Member::Symlink(target) => {
            let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
            let joined = if target.starts_with('/') {
                return None;
            } else if dir.is_empty() {
                target.clone()
            } else {
                format!("{dir}/{target}")
            };
            resolve_member(members, &lexical(&joined)?, depth + 1)
        }
        Member::Hardlink(target) => resolve_member(members, &member_name(target)?, depth + 1),
        other => Some(other),
    }
}

/// `./a//b/` → `a/b`; `None` for the bundle root or a name with `..`.
fn member_name(name: &str) -> Option<String> {
    safe_path::relative_name(name)
}

/// Like [`member_name`] but resolving `..` lexically, refusing to climb above the top.
fn lexical(name: &str) -> Option<String> {
    safe_path::join_within(&[], name)
        .filter(|parts| !parts.is_empty())
        .map(|parts| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names() {
        assert_eq!(member_name("./a//b/").as_deref(), Some("a/b"));
        assert_eq!(member_name("a/../b"), None);
        assert_eq!(lexical("x/../b").as_deref(), Some("b"));
        assert_eq!(lexical("../b"), None);
    }

    #[test]
    fn tar_members_are_read_in_place_and_links_followed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.tar");
        let mut builder = tar::Builder::new(File::create(&path).unwrap());
        let mut header = tar::Header::new_gnu();
        header.set_size(5);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, "aa/layer.tar", &b"hello"[..])
            .unwrap();
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        builder
            .append_link(&mut link, "bb/layer.tar", "../aa/layer.tar")
            .unwrap();
        builder
            .append_link(&mut link, "cc/layer.tar", "/etc/passwd")
            .unwrap();
        builder.finish().unwrap();
        let bundle = Bundle::open_tar(&path).unwrap();
        let mut text = String::new();
        bundle
            .locate("bb/layer.tar")
            .unwrap()
            .reader()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "hello");
        assert!(matches!(
            bundle.locate("cc/layer.tar"),
            Err(ArchiveError::MissingFile { .. })
        ));
        assert!(matches!(
            bundle.locate("../x"),
            Err(ArchiveError::Malformed { .. })
        ));

        // cut inside the member's data: found when indexing
        let full = std::fs::read(&path).unwrap();
        let cut = dir.path().join("cut.tar");
        std::fs::write(&cut, &full[..512 + 3]).unwrap();
        assert!(matches!(
            Bundle::open_tar(&cut),
            Err(ArchiveError::Truncated { path: Some(ref p), .. }) if p == "aa/layer.tar"
        ));
    }
}
