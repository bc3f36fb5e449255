//! An image's flattened file system: every path of the final tree with its metadata, and
//! where its contents can be read back. It is a [`FileTree`], so the resolver runs on an
//! image file on the host, with no engine.
//!
//! Contents are never unpacked under their own names. A regular file's bytes stay where
//! they already are on disk when the layer is stored uncompressed (the docker-save
//! archive or OCI blob, read back by offset), and are spilled, concatenated, into one work
//! file per compressed layer otherwise. So the work directory only ever holds files this
//! code named, no symlink or device from an image is ever created on the host, and no
//! path from an image is ever used to write anything.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use super::bundle::FileSlice;
use crate::resolve::walk::is_clean_path;
use crate::resolve::{Entry, FileTree, Kind};

/// Where a regular file's bytes are: a range of one of the backing files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Contents {
    pub backing: usize,
    pub offset: u64,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum NodeKind {
    File(Contents),
    Dir,
    Symlink(String),
    /// device nodes, fifos: metadata only
    Other,
}

/// One file system object; several paths name it when it is hardlinked.
#[derive(Debug, Clone)]
pub(super) struct Node {
    pub kind: NodeKind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: i64,
    pub links: u32,
}

/// A path of the tree: its node and the layer that last wrote it (whiteouts only hide
/// what lower layers wrote).
#[derive(Debug, Clone, Copy)]
pub(super) struct PathSlot {
    pub node: usize,
    pub layer: usize,
}

/// How device nodes in layers are handled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DevicePolicy {
    /// Index them as metadata only ([`Kind::Other`], never created, never kept) and note
    /// each one. Base images of some distributions ship /dev entries, so this is the default.
    #[default]
    Skip,
    /// Fail on the first one with [`ArchiveError::DeviceNode`](super::ArchiveError::DeviceNode).
    Refuse,
}

#[derive(Debug, Clone, Default)]
pub struct FlattenOptions {
    pub devices: DevicePolicy,
}

/// What the flattened tree holds and what it cost to build.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub layers: usize,
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    /// paths that are second (or later) names of a file
    pub hardlinks: u64,
    /// device nodes and fifos
    pub others: u64,
    /// bytes of regular files in the final tree (hardlinked files once)
    pub file_bytes: u64,
    /// uncompressed layer bytes read and verified
    pub layer_bytes: u64,
    /// bytes spilled into the work directory (compressed layers only)
    pub spilled_bytes: u64,
}

/// The flattened file system of an image; build it with [`RootFs::flatten`].
pub struct RootFs {
    pub(super) paths: BTreeMap<String, PathSlot>,
    pub(super) nodes: Vec<Node>,
    pub(super) backings: Vec<Arc<File>>,
    pub(super) notes: Vec<String>,
    pub(super) totals: Totals,
    /// holds the spill files; removed with the RootFs
    pub(super) work: tempfile::TempDir,
}

impl std::fmt::Debug for RootFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootFs")
            .field("paths", &self.paths.len())
            .field("totals", &self.totals)
            .field("work", &self.work.path())
            .finish()
    }
}

impl RootFs {
    pub(super) fn empty(work: tempfile::TempDir) -> RootFs {
        let root = Node {
            kind: NodeKind::Dir,
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtime: 0,
            links: 1,
        };
        RootFs {
            paths: BTreeMap::from([("/".to_string(), PathSlot { node: 0, layer: 0 })]),
            nodes: vec![root],
            backings: Vec::new(),
            notes: Vec::new(),
            totals: Totals::default(),
            work,
        }
    }

    pub fn totals(&self) -> &Totals {
        &self.totals
    }

    /// Things skipped while flattening (device nodes, names that are not UTF-8, unknown
    /// entry types), one line each.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The directory holding spilled contents (removed when the RootFs is dropped).
    pub fn work_dir(&self) -> &Path {
        self.work.path()
    }

    /// Number of paths in the tree, the root included.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paths.len() <= 1
    }

    /// All paths, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.paths.keys().map(String::as_str)
    }

    pub(super) fn node_at(&self, path: &str) -> Option<&Node> {
        self.paths.get(path).map(|slot| &self.nodes[slot.node])
    }

    fn contents_of(&self, path: &str) -> io::Result<FileSlice> {
        match self.node_at(path).map(|n| &n.kind) {
            Some(NodeKind::File(c)) => Ok(FileSlice {
                file: self.backings[c.backing].clone(),
                offset: c.offset,
                size: c.size,
            }),
            Some(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{path}: not a regular file"),
            )),
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{path}: no such file in the image"),
            )),
        }
    }

    /// Count what the final tree holds.
    pub(super) fn count(&mut self) {
        let mut totals = Totals {
            layers: self.totals.layers,
            layer_bytes: self.totals.layer_bytes,
            spilled_bytes: self.totals.spilled_bytes,
            ..Totals::default()
        };
        let mut seen = vec![false; self.nodes.len()];
        for (path, slot) in &self.paths {
            if path == "/" {
                continue;
            }
            let node = &self.nodes[slot.node];
            if std::mem::replace(&mut seen[slot.node], true) {
                totals.hardlinks += 1;
                continue;
            }
            match &node.kind {
                NodeKind::File(c) => {
                    totals.files += 1;
                    totals.file_bytes += c.size;
                }
                NodeKind::Dir => totals.dirs += 1,
                NodeKind::Symlink(_) => totals.symlinks += 1,
                NodeKind::Other => totals.others += 1,
            }
        }
        self.totals = totals;
    }
}

impl FileTree for RootFs {
    fn entry(&self, path: &str) -> Option<Entry> {
        if !is_clean_path(path) {
            return None;
        }
        let slot = self.paths.get(path)?;
        let node = &self.nodes[slot.node];
        let (kind, size) = match &node.kind {
            NodeKind::File(c) => (Kind::File, c.size),
            NodeKind::Dir => (Kind::Dir, 0),
            NodeKind::Symlink(target) => (Kind::Symlink(target.clone()), target.len() as u64),
            NodeKind::Other => (Kind::Other, 0),
        };
        Some(Entry {
            kind,
            mode: node.mode,
            uid: node.uid,
            gid: node.gid,
            size,
            mtime: node.mtime,
            hardlink_id: (node.links > 1).then_some((0, slot.node as u64)),
        })
    }

    fn list(&self, path: &str) -> Vec<String> {
        if !matches!(self.node_at(path).map(|n| &n.kind), Some(NodeKind::Dir)) {
            return Vec::new();
        }
        let prefix = if path == "/" {
            "/".to_string()
        } else {
            format!("{path}/")
        };
        use std::ops::Bound;
        let mut names = Vec::new();
        let mut lower = Bound::Included(prefix.clone());
        // Keys under "dir/" are contiguous; a grandchild jumps past its child's whole
        // subtree ("child/" .. "child0"), so listing costs O(children · log n).
        loop {
            let next = self
                .paths
                .range::<str, _>((lower.as_ref().map(String::as_str), Bound::Unbounded))
                .next();
            let Some((key, _)) = next else { break };
            let Some(rest) = key.strip_prefix(&prefix) else {
                break;
            };
            lower = match rest.split_once('/') {
                Some((child, _)) => Bound::Included(format!("{prefix}{child}0")),
                None => {
                    if !rest.is_empty() {
                        names.push(rest.to_string());
                    }
                    Bound::Excluded(key.clone())
                }
            };
        }
        names
    }

    fn open(&self, path: &str) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(self.contents_of(path)?.reader()))
    }

    fn read_at(&self, path: &str, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        self.contents_of(path)?.read_at(offset, len)
    }
}
