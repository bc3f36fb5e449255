//! [`FileTree`] over a real directory: "/" inside the container the sensor runs in, or a
//! temporary directory in tests.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::tree::{Entry, FileTree, Kind};
use super::walk::{ancestors, is_clean_path};

/// A directory on the host seen as the root of an image file system.
///
/// Tree paths never leave `root`: they must be clean (no `..`), every directory above the
/// path must be a real directory (a symlink there makes the path not exist for this tree,
/// just like in [`MemTree`](super::MemTree)), and the path itself is only lstat'ed.
#[derive(Debug)]
pub struct LiveTree {
    root: PathBuf,
    /// tree paths already checked to be real directories, so deep paths don't cost an
    /// lstat per component every time
    verified_dirs: Mutex<HashSet<String>>,
}

impl LiveTree {
    /// View `root` (canonicalized, so a symlinked root such as a tmpdir still works).
    pub fn new(root: impl AsRef<Path>) -> io::Result<Self> {
        let root = fs::canonicalize(root.as_ref())?;
        if !fs::metadata(&root)?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{}: not a directory", root.display()),
            ));
        }
        Ok(LiveTree {
            root,
            verified_dirs: Mutex::new(HashSet::new()),
        })
    }

    /// The host directory this tree is rooted at.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn host_path(&self, path: &str) -> PathBuf {
        if path == "/" {
            self.root.clone()
        } else {
            self.root.join(&path[1..])
        }
    }

    /// Host path of `path` if it is clean and all its ancestors are real directories.
    fn checked_host_path(&self, path: &str) -> Option<PathBuf> {
        if !is_clean_path(path) {
            return None;
        }
        // Poisoning only means another thread panicked mid-insert; the set is still usable.
        let mut verified = self.verified_dirs.lock().unwrap_or_else(|e| e.into_inner());
        let mut pending: Vec<&str> = ancestors(path)
            .take_while(|a| !verified.contains(*a))
            .collect();
        // top-down, so a symlink high up is found before anything below it is looked at
        while let Some(dir) = pending.pop() {
            match fs::symlink_metadata(self.host_path(dir)) {
                Ok(meta) if meta.file_type().is_dir() => {
                    verified.insert(dir.to_string());
                }
                _ => return None,
            }
        }
        Some(self.host_path(path))
    }

    fn metadata(&self, path: &str) -> Option<(PathBuf, fs::Metadata)> {
        let host = self.checked_host_path(path)?;
        let meta = fs::symlink_metadata(&host).ok()?;
        Some((host, meta))
    }
}

fn not_found(path: &str, what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{path}: {what}"))
}

impl FileTree for LiveTree {
    fn entry(&self, path: &str) -> Option<Entry> {
        let (host, meta) = self.metadata(path)?;
        let file_type = meta.file_type();
        let kind = if file_type.is_dir() {
            Kind::Dir
        } else if file_type.is_file() {
            Kind::File
        } else if file_type.is_symlink() {
            // A target that is not UTF-8 cannot be represented; treat the link like a
            // device node so it is never kept rather than kept with a mangled target.
            match fs::read_link(&host).ok()?.into_os_string().into_string() {
                Ok(target) => Kind::Symlink(target),
                Err(_) => Kind::Other,
            }
        } else {
            Kind::Other
        };
        // Directories always have nlink > 1; identity only matters for files.
        let hardlink_id =
            (!file_type.is_dir() && meta.nlink() > 1).then(|| (meta.dev(), meta.ino()));
        Some(Entry {
            kind,
            mode: meta.mode() & 0o7777,
            uid: u64::from(meta.uid()),
            gid: u64::from(meta.gid()),
            size: meta.len(),
            mtime: meta.mtime(),
            hardlink_id,
        })
    }

    fn list(&self, path: &str) -> Vec<String> {
        let Some((host, meta)) = self.metadata(path) else {
            return Vec::new();
        };
        if !meta.file_type().is_dir() {
            return Vec::new();
        }
        let Ok(dir) = fs::read_dir(host) else {
            return Vec::new();
        };
        // Names that are not UTF-8 cannot be tree paths; they are left out.
        let mut names: Vec<String> = dir
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        names
    }

    fn open(&self, path: &str) -> io::Result<Box<dyn Read + '_>> {
        let (host, meta) = self
            .metadata(path)
            .ok_or_else(|| not_found(path, "not found"))?;
        if !meta.file_type().is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{path}: not a regular file"),
            ));
        }
        Ok(Box::new(fs::File::open(host)?))
    }

    fn read_at(&self, path: &str, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let (host, meta) = self
            .metadata(path)
            .ok_or_else(|| not_found(path, "not found"))?;
        if !meta.file_type().is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{path}: not a regular file"),
            ));
        }
        let mut file = fs::File::open(host)?;
        file.seek(SeekFrom::Start(offset))?;
        let mut buf = Vec::new();
        file.take(len as u64).read_to_end(&mut buf)?;
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    #[test]
    fn lstat_list_open_and_confinement() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        fs::create_dir_all(root.join("usr/lib")).unwrap();
        fs::write(root.join("usr/lib/libx.so"), b"0123456789").unwrap();
        fs::set_permissions(
            root.join("usr/lib/libx.so"),
            fs::Permissions::from_mode(0o4755),
        )
        .unwrap();
        fs::hard_link(
            root.join("usr/lib/libx.so"),
            root.join("usr/lib/libx-copy.so"),
        )
        .unwrap();
        symlink("usr/lib", root.join("lib")).unwrap();
        // An absolute symlink must not lead out of the root.
        symlink("/", root.join("escape")).unwrap();
        fs::write(root.join("usr/plain"), b"p").unwrap();

        let tree = LiveTree::new(root).unwrap();
        let e = tree.entry("/usr/lib/libx.so").unwrap();
        assert_eq!(e.kind, Kind::File);
        assert_eq!(e.mode, 0o4755);
        assert_eq!(e.size, 10);
        assert!(e.hardlink_id.is_some());
        assert_eq!(
            e.hardlink_id,
            tree.entry("/usr/lib/libx-copy.so").unwrap().hardlink_id
        );
        assert_eq!(tree.entry("/usr/plain").unwrap().hardlink_id, None);
        assert_eq!(
            tree.entry("/lib").unwrap().kind,
            Kind::Symlink("usr/lib".into())
        );
        assert_eq!(tree.entry("/usr").unwrap().kind, Kind::Dir);
        assert_eq!(tree.entry("/usr").unwrap().hardlink_id, None);
        assert_eq!(tree.entry("/").unwrap().kind, Kind::Dir);

        // never through a symlink, never with `..`
        assert!(tree.entry("/lib/libx.so").is_none());
        assert!(tree.entry("/escape/etc").is_none());
        assert!(tree.entry("/usr/../usr/plain").is_none());
        assert!(tree.open("/lib/libx.so").is_err());
        assert!(tree.open("/lib").is_err());
        assert!(tree.list("/lib").is_empty());

        assert_eq!(tree.list("/usr/lib"), vec!["libx-copy.so", "libx.so"]);
        assert_eq!(tree.list("/"), vec!["escape", "lib", "usr"]);
        assert_eq!(tree.read("/usr/plain").unwrap(), b"p");
        assert_eq!(tree.read_at("/usr/lib/libx.so", 4, 3).unwrap(), b"456");
        assert!(tree.entry("/nope").is_none());
    }

    #[test]
    fn root_must_be_a_directory() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("f"), b"").unwrap();
        assert!(LiveTree::new(tmp.path().join("f")).is_err());
        assert!(LiveTree::new(tmp.path().join("missing")).is_err());
    }
}
