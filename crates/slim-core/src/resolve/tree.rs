//! A read-only view of an image's file system, so the resolver runs the same on a live
//! root inside a container, on flattened image layers, and on fixtures built in tests.

use std::io::{self, Read};

/// What kind of file system object a path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    /// symlink with its target exactly as stored
    Symlink(String),
    /// device nodes, fifos, sockets: never copied into a slim image
    Other,
}

/// lstat-like metadata of one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    /// permission bits including setuid/setgid/sticky (no file-type bits)
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    /// seconds since the epoch
    pub mtime: i64,
    /// identity shared by all hardlinks of one file (e.g. (dev, ino)); `None` if nlink == 1
    pub hardlink_id: Option<(u64, u64)>,
}

/// Paths are absolute, '/'-separated, without `.`/`..` components and without a trailing
/// slash (the root is "/"). Symlinks are never followed by the tree itself.
pub trait FileTree {
    /// Metadata of `path` itself (lstat), or `None` if it does not exist.
    fn entry(&self, path: &str) -> Option<Entry>;
    /// Names (not paths) in directory `path`, sorted; empty if not a directory.
    fn list(&self, path: &str) -> Vec<String>;
    /// A reader over the contents of the regular file `path`.
    fn open(&self, path: &str) -> io::Result<Box<dyn Read + '_>>;

    /// The whole contents of a regular file.
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        self.open(path)?.read_to_end(&mut buf)?;
        Ok(buf)
    }

    /// Up to `limit` bytes from the start of a regular file.
    fn read_prefix(&self, path: &str, limit: usize) -> io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        self.open(path)?.take(limit as u64).read_to_end(&mut buf)?;
        Ok(buf)
    }

    /// Up to `len` bytes starting at byte `offset` of a regular file (fewer near its end).
    /// ELF headers point far into big libraries; trees that can seek should override this.
    fn read_at(&self, path: &str, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut reader = self.open(path)?;
        let skipped = io::copy(&mut (&mut reader).take(offset), &mut io::sink())?;
        let mut buf = Vec::new();
        if skipped == offset {
            reader.take(len as u64).read_to_end(&mut buf)?;
        }
        Ok(buf)
    }
}
