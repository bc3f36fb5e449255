//! Applying an image's layers in order into a [`RootFs`]: OCI whiteouts, hardlinks across
//! layers, and the safety rules for hostile layers.
//!
//! Rules, each enforced while the entry is indexed (nothing is ever written under a path
//! from the image, see the [`rootfs`](super::rootfs) module):
//! - a `..` component anywhere in an entry name is refused; absolute names are made relative;
//! - an entry below a symlink follows it only when the link stays inside the root seen
//!   from the host (relative, never climbing above `/`), like an extraction in a chroot;
//!   an absolute or climbing link there is refused, as following it on a host would escape;
//! - a hardlink must name a path inside the root that an earlier entry (this or a lower
//!   layer) created, and not a directory;
//! - device nodes are skipped with a note, or refused ([`DevicePolicy`]);
//! - contents shorter than their header, a cut tar, and every digest are checked.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use super::error::ArchiveError;
use super::layer::LayerFaults;
use super::rootfs::{Contents, DevicePolicy, FlattenOptions, Node, NodeKind, PathSlot, RootFs};
use super::source::ImageSource;
use crate::resolve::walk::MAX_SYMLINK_HOPS;
use crate::safe_path;

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";
const COPY_BUFFER: usize = 256 * 1024;

impl RootFs {
    /// Apply every layer of `source`, bottom first. Spilled contents go to a new directory
    /// inside `work_parent`, removed again on error or when the RootFs is dropped.
    pub fn flatten(
        source: &ImageSource,
        work_parent: &Path,
        options: &FlattenOptions,
    ) -> Result<RootFs, ArchiveError> {
        let work = tempfile::Builder::new()
            .prefix("rootfs-")
            .tempdir_in(work_parent)
            .map_err(|e| {
                ArchiveError::io(
                    format!("creating a work directory in {}", work_parent.display()),
                    e,
                )
            })?;
        let mut tree = RootFs::empty(work);
        let mut buffer = vec![0u8; COPY_BUFFER];
        for index in 0..source.layers.len() {
            let mut stream = source.layer_stream(index)?;
            let faults = stream.faults();
            let in_place = stream.in_place().cloned();
            let mut applier = LayerApplier {
                tree: &mut tree,
                layer: index + 1,
                faults: &faults,
                options,
                spill: None,
                in_place: None,
            };
            if let Some(slice) = &in_place {
                applier.in_place = Some((applier.tree.backing_for(&slice.file), slice.offset));
            }
            applier.apply(&mut stream, &mut buffer)?;
            applier.finish_spill()?;
            let check = stream.finish()?;
            tree.totals.layer_bytes += check.uncompressed_size;
        }
        tree.totals.layers = source.layers.len();
        tree.count();
        Ok(tree)
    }

    fn backing_for(&mut self, file: &Arc<File>) -> usize {
        if let Some(i) = self.backings.iter().position(|b| Arc::ptr_eq(b, file)) {
            return i;
        }
        self.backings.push(file.clone());
        self.backings.len() - 1
    }

    fn insert(&mut self, path: String, node: Node, layer: usize) {
        self.nodes.push(node);
        let slot = PathSlot {
            node: self.nodes.len() - 1,
            layer,
        };
        self.paths.insert(path, slot);
    }

    /// Remove `path` and, for a directory, everything below it.
    fn unlink_tree(&mut self, path: &str) {
        let doomed: Vec<String> = std::iter::once(path.to_string())
            .chain(self.descendants(path))
            .collect();
        for p in doomed {
            self.unlink(&p);
        }
    }

    fn unlink(&mut self, path: &str) {
        if let Some(slot) = self.paths.remove(path) {
            let node = &mut self.nodes[slot.node];
            node.links = node.links.saturating_sub(1);
        }
    }

    fn descendants(&self, path: &str) -> Vec<String> {
        let (from, to) = subtree_bounds(path);
        self.paths
            .range::<str, _>((Bound::Included(from.as_str()), Bound::Excluded(to.as_str())))
            .filter(|(k, _)| *k != path)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// A whiteout: hide what lower layers put at `path` (and below it).
    fn whiteout(&mut self, path: &str, layer: usize) {
        let Some(slot) = self.paths.get(path).copied() else {
            return;
        };
        if slot.layer < layer {
            self.unlink_tree(path);
        } else {
            self.make_opaque(path, layer);
        }
    }

    /// An opaque directory: hide everything lower layers put below `dir`.
    fn make_opaque(&mut self, dir: &str, layer: usize) {
        let (from, to) = subtree_bounds(dir);
        let lower: Vec<String> = self
            .paths
            .range::<str, _>((Bound::Included(from.as_str()), Bound::Excluded(to.as_str())))
            .filter(|(k, slot)| slot.layer < layer && *k != dir)
            .map(|(k, _)| k.clone())
            .collect();
        for p in lower {
            self.unlink(&p);
        }
    }
}

/// The key range of everything below `path` ("/a" → "/a/" .. "/a0"; for "/" it holds
/// "/" itself too, which callers skip).
fn subtree_bounds(path: &str) -> (String, String) {
    let base = if path == "/" { "" } else { path };
    (format!("{base}/"), format!("{base}0"))
}

/// Clean, relative components of an entry name; `None` for `..` anywhere.
fn components(name: &str) -> Option<Vec<&str>> {
    safe_path::components(name)
}

fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// `dir` joined with a relative `target`, `..` resolved; `None` if it climbs above `/`.
fn join_lexical(dir: &str, target: &str) -> Option<String> {
    let base: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    safe_path::join_within(&base, target).map(|parts| format!("/{}", parts.join("/")))
}

struct Spill {
    writer: BufWriter<File>,
    backing: usize,
    written: u64,
}

struct LayerApplier<'a> {
    tree: &'a mut RootFs,
    /// 1-based, so the root (layer 0) is below every layer
    layer: usize,
    faults: &'a LayerFaults,
    options: &'a FlattenOptions,
    spill: Option<Spill>,
    /// (backing, offset of the layer's bytes in it) for an uncompressed layer
    in_place: Option<(usize, u64)>,
}

enum Placement {
    /// the real parent directory of the entry
    Parent(String),
    /// the parent does not exist (only for whiteouts, which then have nothing to hide)
    Absent,
}

impl LayerApplier<'_> {
    fn label(&self) -> String {
        self.faults.label().to_string()
    }

    fn apply<R: Read>(&mut self, stream: R, buffer: &mut [u8]) -> Result<(), ArchiveError> {
        let mut archive = tar::Archive::new(stream);
        let entries = archive.entries().map_err(|e| self.faults.error(None, e))?;
        let mut last: Option<String> = None;
        for entry in entries {
            let entry = entry.map_err(|e| self.faults.error(last.as_deref(), e))?;
            let raw = entry.path_bytes().into_owned();
            let Ok(name) = String::from_utf8(raw.clone()) else {
                let lossy = String::from_utf8_lossy(&raw).into_owned();
                self.tree.notes.push(format!(
                    "layer {}: {lossy}: name is not UTF-8, skipped",
                    self.label()
                ));
                last = Some(lossy);
                continue;
            };
            last = Some(name.clone());
            self.apply_entry(entry, &name, buffer)?;
        }
        Ok(())
    }

    fn apply_entry<R: Read>(
        &mut self,
        mut entry: tar::Entry<'_, R>,
        name: &str,
        buffer: &mut [u8],
    ) -> Result<(), ArchiveError> {
        let unsafe_path = || ArchiveError::UnsafePath {
            layer: self.label(),
            path: name.into(),
        };
        let parts = components(name).ok_or_else(unsafe_path)?;
        let header = entry.header().clone();
        let entry_type = header.entry_type();
        let Some((&base, parent_parts)) = parts.split_last() else {
            // The root itself: only its metadata can change.
            if entry_type.is_dir() {
                let node = &mut self.tree.nodes[0];
                set_metadata(node, &header);
            }
            return Ok(());
        };

        if let Some(hidden) = base.strip_prefix(WHITEOUT) {
            let Placement::Parent(parent) = self.place(name, parent_parts, false)? else {
                return Ok(());
            };
            if base == OPAQUE {
                self.tree.make_opaque(&parent, self.layer);
            } else if !hidden.starts_with(WHITEOUT) && !hidden.is_empty() {
                self.tree.whiteout(&join(&parent, hidden), self.layer);
            }
            // other `.wh..wh.` names are aufs bookkeeping: nothing in the tree
            return Ok(());
        }

        let Placement::Parent(parent) = self.place(name, parent_parts, true)? else {
            return Ok(());
        };
        let path = join(&parent, base);

        use tar::EntryType as T;
        let kind = match entry_type {
            T::Directory => {
                let existing = self.tree.paths.get(&path).copied();
                if let Some(slot) = existing
                    && self.tree.nodes[slot.node].kind == NodeKind::Dir
                {
                    // A directory over a directory only changes its metadata.
                    set_metadata(&mut self.tree.nodes[slot.node], &header);
                    self.tree.paths.insert(
                        path,
                        PathSlot {
                            layer: self.layer,
                            ..slot
                        },
                    );
                    return Ok(());
                }
                NodeKind::Dir
            }
            T::Regular | T::Continuous | T::GNUSparse => {
                let contents =
                    self.store_contents(&mut entry, name, entry_type == T::GNUSparse, buffer)?;
                NodeKind::File(contents)
            }
            T::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| self.bad(name, "symlink without a target"))?;
                match String::from_utf8(target.into_owned()) {
                    Ok(target) => NodeKind::Symlink(target),
                    Err(_) => {
                        self.note(name, "symlink target is not UTF-8, skipped");
                        return Ok(());
                    }
                }
            }
            T::Link => return self.hardlink(&entry, name, path),
            T::Char | T::Block => match self.options.devices {
                DevicePolicy::Refuse => {
                    return Err(ArchiveError::DeviceNode {
                        layer: self.label(),
                        path: name.into(),
                    });
                }
                DevicePolicy::Skip => {
                    self.note(
                        name,
                        "device node, indexed as metadata only (never created)",
                    );
                    NodeKind::Other
                }
            },
            T::Fifo => NodeKind::Other,
            T::XGlobalHeader => return Ok(()),
            other => {
                self.note(name, &format!("tar entry type {other:?} skipped"));
                return Ok(());
            }
        };
        self.tree.unlink_tree(&path);
        let mut node = Node {
            kind,
            mode: 0,
            uid: 0,
            gid: 0,
            mtime: 0,
            links: 1,
        };
        set_metadata(&mut node, &header);
        self.tree.insert(path, node, self.layer);
        Ok(())
    }

    fn note(&mut self, name: &str, what: &str) {
        let line = format!("layer {}: {name}: {what}", self.label());
        self.tree.notes.push(line);
    }

    fn bad(&self, name: &str, reason: &str) -> ArchiveError {
        ArchiveError::BadLayer {
            layer: self.label(),
            path: Some(name.into()),
            reason: reason.into(),
        }
    }

    /// Find (and for entries, create) the real parent directory of an entry, following
    /// only symlinks that stay inside the root.
    fn place(
        &mut self,
        name: &str,
        parts: &[&str],
        create: bool,
    ) -> Result<Placement, ArchiveError> {
        let mut queue: VecDeque<String> = parts.iter().map(|p| p.to_string()).collect();
        let mut dir = "/".to_string();
        let mut hops = 0;
        while let Some(part) = queue.pop_front() {
            let candidate = join(&dir, &part);
            let kind = self.tree.node_at(&candidate).map(|n| n.kind.clone());
            match kind {
                Some(NodeKind::Dir) => dir = candidate,
                Some(NodeKind::Symlink(target)) => {
                    let escape = || ArchiveError::SymlinkEscape {
                        layer: self.label(),
                        path: name.into(),
                        symlink: candidate.clone(),
                        target: target.clone(),
                    };
                    if target.starts_with('/') {
                        return Err(escape());
                    }
                    let resolved = join_lexical(&dir, &target).ok_or_else(escape)?;
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(self.bad(name, "too many symlinks above this entry"));
                    }
                    let mut rest: VecDeque<String> = resolved
                        .split('/')
                        .filter(|p| !p.is_empty())
                        .map(str::to_string)
                        .collect();
                    rest.extend(queue.drain(..));
                    queue = rest;
                    dir = "/".into();
                }
                Some(_) => {
                    return Err(self.bad(name, &format!("{candidate} is not a directory")));
                }
                None if !create => return Ok(Placement::Absent),
                None => {
                    // Like an extraction would, create missing parents.
                    let node = Node {
                        kind: NodeKind::Dir,
                        mode: 0o755,
                        uid: 0,
                        gid: 0,
                        mtime: 0,
                        links: 1,
                    };
                    self.tree.insert(candidate.clone(), node, self.layer);
                    dir = candidate;
                }
            }
        }
        Ok(Placement::Parent(dir))
    }

    fn hardlink<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
        name: &str,
        path: String,
    ) -> Result<(), ArchiveError> {
        let target = entry
            .link_name_bytes()
            .map(|t| String::from_utf8_lossy(&t).into_owned())
            .ok_or_else(|| self.bad(name, "hardlink without a target"))?;
        let escape = || ArchiveError::HardlinkEscape {
            layer: self.label(),
            path: name.into(),
            target: target.clone(),
        };
        // Link names are literal paths from the root; like entry names, no `..`.
        let target_path = format!("/{}", components(&target).ok_or_else(escape)?.join("/"));
        let slot = self.tree.paths.get(&target_path).copied();
        let slot = match slot {
            Some(slot) if self.tree.nodes[slot.node].kind != NodeKind::Dir => slot,
            _ => {
                return Err(ArchiveError::HardlinkTargetMissing {
                    layer: self.label(),
                    path: name.into(),
                    target,
                });
            }
        };
        if target_path == path {
            return Ok(());
        }
        self.tree.unlink_tree(&path);
        self.tree.nodes[slot.node].links += 1;
        self.tree.paths.insert(
            path,
            PathSlot {
                node: slot.node,
                layer: self.layer,
            },
        );
        Ok(())
    }

    /// Read a regular file's data (every byte passes the digest checks) and say where its
    /// contents can be read again: in place for an uncompressed layer, else spilled.
    fn store_contents<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        name: &str,
        sparse: bool,
        buffer: &mut [u8],
    ) -> Result<Contents, ArchiveError> {
        let expected = entry.size();
        let read_error = |faults: &LayerFaults, e| faults.error(Some(name), e);
        if let (Some((backing, base)), false) = (self.in_place, sparse) {
            let offset = base + entry.raw_file_position();
            let n = copy_with(entry, &mut io::sink(), buffer)
                .map_err(|e| read_error(self.faults, e))?;
            self.check_length(name, n, expected)?;
            return Ok(Contents {
                backing,
                offset,
                size: n,
            });
        }
        let spill = self.spill()?;
        let offset = spill.written;
        let backing = spill.backing;
        let mut failed_write = None;
        let copied = {
            let mut sink = WriteErrorTap {
                inner: &mut spill.writer,
                error: &mut failed_write,
            };
            copy_with(entry, &mut sink, buffer)
        };
        if let Some(e) = failed_write {
            return Err(ArchiveError::io("writing to the work directory", e));
        }
        let n = copied.map_err(|e| read_error(self.faults, e))?;
        if let Some(spill) = self.spill.as_mut() {
            spill.written += n;
        }
        self.tree.totals.spilled_bytes += n;
        if !sparse {
            self.check_length(name, n, expected)?;
        }
        Ok(Contents {
            backing,
            offset,
            size: n,
        })
    }

    fn check_length(&self, name: &str, got: u64, expected: u64) -> Result<(), ArchiveError> {
        if got < expected {
            return Err(ArchiveError::Truncated {
                object: format!("layer {}", self.label()),
                path: Some(name.into()),
            });
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<&mut Spill, ArchiveError> {
        if self.spill.is_none() {
            let path = self
                .tree
                .work
                .path()
                .join(format!("layer-{:04}.contents", self.layer));
            let context = || format!("creating {}", path.display());
            // create_new: the work directory is fresh and ours; never reuse or follow anything.
            let file = File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(|e| ArchiveError::io(context(), e))?;
            let writer = file
                .try_clone()
                .map_err(|e| ArchiveError::io(context(), e))?;
            self.tree.backings.push(Arc::new(file));
            self.spill = Some(Spill {
                writer: BufWriter::with_capacity(COPY_BUFFER, writer),
                backing: self.tree.backings.len() - 1,
                written: 0,
            });
        }
        Ok(self.spill.as_mut().expect("just created"))
    }

    fn finish_spill(&mut self) -> Result<(), ArchiveError> {
        if let Some(mut spill) = self.spill.take() {
            spill
                .writer
                .flush()
                .map_err(|e| ArchiveError::io("writing to the work directory", e))?;
        }
        Ok(())
    }
}

fn set_metadata(node: &mut Node, header: &tar::Header) {
    node.mode = header.mode().unwrap_or(0o644) & 0o7777;
    node.uid = header.uid().unwrap_or(0);
    node.gid = header.gid().unwrap_or(0);
    node.mtime = header
        .mtime()
        .map_or(0, |m| i64::try_from(m).unwrap_or(i64::MAX));
}

/// `io::copy` with a caller-owned, large buffer.
fn copy_with(
    reader: &mut impl Read,
    writer: &mut impl Write,
    buffer: &mut [u8],
) -> io::Result<u64> {
    let mut total = 0;
    loop {
        let n = match reader.read(buffer) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        writer.write_all(&buffer[..n])?;
        total += n as u64;
    }
}

/// Keeps a write error apart from read errors, which name the layer instead.
struct WriteErrorTap<'a, W> {
    inner: &'a mut W,
    error: &'a mut Option<io::Error>,
}

impl<W: Write> Write for WriteErrorTap<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).inspect_err(|e| {
            *self.error = Some(io::Error::new(e.kind(), e.to_string()));
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rules() {
        assert_eq!(components("./usr//bin/").unwrap(), ["usr", "bin"]);
        assert_eq!(components("/etc/passwd").unwrap(), ["etc", "passwd"]);
        assert!(components("a/../../b").is_none());
        assert_eq!(
            join_lexical("/usr/lib", "../bin").as_deref(),
            Some("/usr/bin")
        );
        assert_eq!(join_lexical("/a", "../../x"), None);
        assert_eq!(subtree_bounds("/"), ("/".into(), "0".into()));
    }
}
