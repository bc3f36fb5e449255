//! An in-memory [`FileTree`] for tests: build a small image file system in a few lines.
//!
//! ```
//! use slim_core::resolve::MemTree;
//! let tree = MemTree::new()
//!     .file("/etc/passwd", 0o644, b"root:x:0:0::/root:/bin/sh\n".to_vec())
//!     .symlink("/lib", "usr/lib")
//!     .owner("/etc/passwd", 0, 42);
//! ```

use std::collections::BTreeMap;
use std::io::{self, Read};

use super::tree::{Entry, FileTree, Kind};
use super::walk::{ancestors, is_clean_path};

/// mtime given to nodes unless set otherwise (2023-11-14, any fixed value would do).
pub const DEFAULT_MTIME: i64 = 1_700_000_000;

#[derive(Debug, Clone)]
enum Content {
    Dir,
    File(Vec<u8>),
    Symlink(String),
    Other,
}

#[derive(Debug, Clone)]
struct Inode {
    content: Content,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: i64,
    /// number of paths naming this inode
    links: u32,
}

/// In-memory file tree. Builder methods panic on misuse (a path that is not clean, a
/// parent that is not a directory): they are meant for fixtures written by hand.
#[derive(Debug, Clone)]
pub struct MemTree {
    paths: BTreeMap<String, usize>,
    inodes: Vec<Inode>,
}

impl Default for MemTree {
    fn default() -> Self {
        Self::new()
    }
}

impl MemTree {
    /// A tree holding only the root directory (0755, root-owned).
    pub fn new() -> Self {
        let mut tree = MemTree {
            paths: BTreeMap::new(),
            inodes: Vec::new(),
        };
        tree.inodes.push(Inode {
            content: Content::Dir,
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtime: DEFAULT_MTIME,
            links: 1,
        });
        tree.paths.insert("/".to_string(), 0);
        tree
    }

    /// A directory (an existing one only gets its mode changed).
    pub fn dir(mut self, path: &str, mode: u32) -> Self {
        if let Some(&ino) = self.paths.get(path)
            && matches!(self.inodes[ino].content, Content::Dir)
        {
            self.inodes[ino].mode = mode & 0o7777;
            return self;
        }
        self.put(path, Content::Dir, mode);
        self
    }

    /// A regular file with `contents`.
    pub fn file(mut self, path: &str, mode: u32, contents: impl Into<Vec<u8>>) -> Self {
        self.put(path, Content::File(contents.into()), mode);
        self
    }

    /// A symlink with `target` stored verbatim.
    pub fn symlink(mut self, path: &str, target: &str) -> Self {
        self.put(path, Content::Symlink(target.to_string()), 0o777);
        self
    }

    /// A device node, fifo or socket (all the same to the resolver: never kept).
    pub fn special(mut self, path: &str, mode: u32) -> Self {
        self.put(path, Content::Other, mode);
        self
    }

    /// A second name for the regular file `existing` (must not be a directory).
    pub fn hardlink(mut self, path: &str, existing: &str) -> Self {
        let Some(&ino) = self.paths.get(existing) else {
            panic!("MemTree::hardlink: {existing} does not exist");
        };
        assert!(
            !matches!(self.inodes[ino].content, Content::Dir),
            "MemTree::hardlink: {existing} is a directory"
        );
        self.prepare(path);
        self.inodes[ino].links += 1;
        self.paths.insert(path.to_string(), ino);
        self
    }

    /// Set owner of `path` (shared by all its hardlinks).
    pub fn owner(mut self, path: &str, uid: u64, gid: u64) -> Self {
        let ino = self.inode_of(path);
        self.inodes[ino].uid = uid;
        self.inodes[ino].gid = gid;
        self
    }

    /// Set modification time of `path`.
    pub fn mtime(mut self, path: &str, mtime: i64) -> Self {
        let ino = self.inode_of(path);
        self.inodes[ino].mtime = mtime;
        self
    }

    /// Set permission bits (incl. setuid/setgid/sticky) of `path`.
    pub fn mode(mut self, path: &str, mode: u32) -> Self {
        let ino = self.inode_of(path);
        self.inodes[ino].mode = mode & 0o7777;
        self
    }

    fn inode_of(&self, path: &str) -> usize {
        match self.paths.get(path) {
            Some(&ino) => ino,
            None => panic!("MemTree: {path} does not exist"),
        }
    }

    /// Check `path`, create missing parents and unlink whatever `path` named before.
    fn prepare(&mut self, path: &str) {
        assert!(
            is_clean_path(path) && path != "/",
            "MemTree: bad path {path:?}"
        );
        let missing: Vec<String> = ancestors(path)
            .take_while(|a| !self.paths.contains_key(*a))
            .map(str::to_string)
            .collect();
        if let Some(top) = ancestors(path).find(|a| self.paths.contains_key(*a)) {
            let ino = self.paths[top];
            assert!(
                matches!(self.inodes[ino].content, Content::Dir),
                "MemTree: parent {top} of {path} is not a directory"
            );
        }
        for dir in missing.iter().rev() {
            self.inodes.push(Inode {
                content: Content::Dir,
                mode: 0o755,
                uid: 0,
                gid: 0,
                mtime: DEFAULT_MTIME,
                links: 1,
            });
            self.paths.insert(dir.clone(), self.inodes.len() - 1);
        }
        if let Some(old) = self.paths.remove(path) {
            if matches!(self.inodes[old].content, Content::Dir) {
                assert!(
                    self.children(path).next().is_none(),
                    "MemTree: cannot replace non-empty directory {path}"
                );
            }
            self.inodes[old].links = self.inodes[old].links.saturating_sub(1);
        }
    }

    fn put(&mut self, path: &str, content: Content, mode: u32) {
        self.prepare(path);
        self.inodes.push(Inode {
            content,
            mode: mode & 0o7777,
            uid: 0,
            gid: 0,
            mtime: DEFAULT_MTIME,
            links: 1,
        });
        self.paths.insert(path.to_string(), self.inodes.len() - 1);
    }

    /// Names of the direct children of `dir`.
    fn children<'a>(&'a self, dir: &str) -> impl Iterator<Item = &'a str> + 'a {
        let prefix = if dir == "/" {
            "/".to_string()
        } else {
            format!("{dir}/")
        };
        let skip = prefix.len();
        self.paths
            .range(prefix.clone()..)
            .map(|(p, _)| p.as_str())
            .take_while(move |p| p.starts_with(&prefix))
            .filter_map(move |p| {
                let rest = &p[skip..];
                (!rest.is_empty() && !rest.contains('/')).then_some(rest)
            })
    }
}

impl FileTree for MemTree {
    fn entry(&self, path: &str) -> Option<Entry> {
        let ino = *self.paths.get(path)?;
        let inode = &self.inodes[ino];
        let (kind, size) = match &inode.content {
            Content::Dir => (Kind::Dir, 0),
            Content::File(data) => (Kind::File, data.len() as u64),
            Content::Symlink(target) => (Kind::Symlink(target.clone()), target.len() as u64),
            Content::Other => (Kind::Other, 0),
        };
        Some(Entry {
            kind,
            mode: inode.mode,
            uid: inode.uid,
            gid: inode.gid,
            size,
            mtime: inode.mtime,
            hardlink_id: (inode.links > 1).then_some((0, ino as u64)),
        })
    }

    fn list(&self, path: &str) -> Vec<String> {
        match self.paths.get(path).map(|&ino| &self.inodes[ino].content) {
            Some(Content::Dir) => self.children(path).map(str::to_string).collect(),
            _ => Vec::new(),
        }
    }

    fn open(&self, path: &str) -> io::Result<Box<dyn Read + '_>> {
        match self.paths.get(path).map(|&ino| &self.inodes[ino].content) {
            Some(Content::File(data)) => Ok(Box::new(data.as_slice())),
            Some(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{path}: not a regular file"),
            )),
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{path}: not found"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_parents_and_lists_sorted() {
        let tree = MemTree::new()
            .file("/usr/bin/b", 0o755, b"b".to_vec())
            .file("/usr/bin/a", 0o755, b"a".to_vec())
            .dir("/usr/bin/sub", 0o700)
            .file("/usr/bin/sub/deep", 0o644, b"".to_vec())
            .file("/usr/bin-extra", 0o644, b"".to_vec());
        assert_eq!(tree.list("/usr/bin"), vec!["a", "b", "sub"]);
        assert_eq!(tree.list("/"), vec!["usr"]);
        assert_eq!(tree.list("/usr"), vec!["bin", "bin-extra"]);
        assert_eq!(tree.entry("/usr").unwrap().mode, 0o755);
        assert_eq!(tree.entry("/usr/bin/sub").unwrap().mode, 0o700);
        assert_eq!(tree.read("/usr/bin/a").unwrap(), b"a");
        assert!(tree.list("/usr/bin/a").is_empty());
    }

    #[test]
    fn symlinks_are_not_followed_by_the_tree() {
        let tree = MemTree::new()
            .file("/usr/lib/libc.so.6", 0o644, b"elf".to_vec())
            .symlink("/lib", "usr/lib");
        assert_eq!(
            tree.entry("/lib").unwrap().kind,
            Kind::Symlink("usr/lib".into())
        );
        assert!(tree.entry("/lib/libc.so.6").is_none());
        assert!(tree.open("/lib").is_err());
    }

    #[test]
    fn hardlinks_share_identity_and_metadata() {
        let tree = MemTree::new()
            .file("/usr/bin/perl", 0o755, b"perl".to_vec())
            .hardlink("/usr/bin/perl5.36.0", "/usr/bin/perl")
            .file("/usr/bin/single", 0o755, b"x".to_vec())
            .owner("/usr/bin/perl", 7, 8)
            .mtime("/usr/bin/perl", 42);
        let a = tree.entry("/usr/bin/perl").unwrap();
        let b = tree.entry("/usr/bin/perl5.36.0").unwrap();
        assert!(a.hardlink_id.is_some());
        assert_eq!(a, b);
        assert_eq!((b.uid, b.gid, b.mtime), (7, 8, 42));
        assert_eq!(tree.entry("/usr/bin/single").unwrap().hardlink_id, None);
    }

    #[test]
    fn read_at_reads_a_window() {
        let tree = MemTree::new().file("/f", 0o644, b"0123456789".to_vec());
        assert_eq!(tree.read_at("/f", 3, 4).unwrap(), b"3456");
        assert_eq!(tree.read_at("/f", 8, 10).unwrap(), b"89");
        assert!(tree.read_at("/f", 20, 1).unwrap().is_empty());
        assert_eq!(tree.read_prefix("/f", 2).unwrap(), b"01");
    }

    #[test]
    #[should_panic(expected = "not a directory")]
    fn parent_must_be_a_directory() {
        let _ = MemTree::new()
            .file("/a", 0o644, b"".to_vec())
            .file("/a/b", 0o644, b"".to_vec());
    }
}
