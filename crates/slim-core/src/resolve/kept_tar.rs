//! The kept paths as a tar stream: the single layer of the slim image.

use std::collections::HashMap;
use std::io::{self, Read, Write};

use tar::{Builder, EntryType, Header};
use thiserror::Error;

use super::exclude::ExcludeList;
use super::keep::KeepSet;
use super::tree::{Entry, FileTree, Kind};
use super::walk::join;

/// What went into the tar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PackStats {
    /// regular files stored with their contents
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    /// regular files stored as a link to an earlier entry
    pub hardlinks: u64,
    /// bytes of file contents stored
    pub bytes: u64,
}

#[derive(Debug, Error)]
pub enum PackError {
    #[error("{path}: kept but no longer in the tree")]
    Vanished { path: String },
    #[error("{path}: device nodes, fifos and sockets are not packed")]
    Unsupported { path: String },
    #[error("{path}: changed size while being packed")]
    Changed { path: String },
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
}

/// Name of a GNU long-link-name extension entry.
const GNU_LONG_LINK: &str = "././@LongLink";
/// Size of the link name field of a tar header.
const LINK_FIELD: usize = 100;

/// Write every kept path (sorted, so parents precede children) as a tar to `out`.
/// Entries keep mode (with setuid/setgid/sticky), numeric uid/gid, mtime and symlink
/// targets verbatim; files sharing a hardlink identity are stored once and linked.
pub fn write_kept_tar<W: Write>(
    tree: &dyn FileTree,
    keep: &KeepSet,
    out: W,
) -> Result<PackStats, PackError> {
    let mut builder = Builder::new(out);
    let mut stats = PackStats::default();
    // hardlink identity -> tar name of the first kept file with it
    let mut first_link: HashMap<(u64, u64), String> = HashMap::new();

    for path in keep.paths.keys() {
        if path == "/" {
            continue; // the root always exists in an image
        }
        let io_err = |source| PackError::Io {
            path: path.clone(),
            source,
        };
        let entry = tree
            .entry(path)
            .ok_or_else(|| PackError::Vanished { path: path.clone() })?;
        let name = path.trim_start_matches('/');
        let mut header = base_header(&entry);
        match &entry.kind {
            Kind::Dir => {
                header.set_entry_type(EntryType::Directory);
                header.set_size(0);
                builder
                    .append_data(&mut header, format!("{name}/"), io::empty())
                    .map_err(io_err)?;
                stats.dirs += 1;
            }
            Kind::Symlink(target) => {
                header.set_entry_type(EntryType::Symlink);
                header.set_size(0);
                set_link_name(&mut builder, &mut header, target).map_err(io_err)?;
                builder
                    .append_data(&mut header, name, io::empty())
                    .map_err(io_err)?;
                stats.symlinks += 1;
            }
            Kind::File => {
                if let Some(first) = entry.hardlink_id.and_then(|id| first_link.get(&id)) {
                    header.set_entry_type(EntryType::Link);
                    header.set_size(0);
                    set_link_name(&mut builder, &mut header, first).map_err(io_err)?;
                    builder
                        .append_data(&mut header, name, io::empty())
                        .map_err(io_err)?;
                    stats.hardlinks += 1;
                    continue;
                }
                header.set_entry_type(EntryType::Regular);
                header.set_size(entry.size);
                let reader = tree.open(path).map_err(io_err)?;
                let exact = ExactSize {
                    inner: reader,
                    remaining: entry.size,
                };
                builder
                    .append_data(&mut header, name, exact)
                    .map_err(|source| {
                        if source.kind() == io::ErrorKind::UnexpectedEof {
                            PackError::Changed { path: path.clone() }
                        } else {
                            PackError::Io {
                                path: path.clone(),
                                source,
                            }
                        }
                    })?;
                if let Some(id) = entry.hardlink_id {
                    first_link.insert(id, name.to_string());
                }
                stats.files += 1;
                stats.bytes += entry.size;
            }
            Kind::Other => return Err(PackError::Unsupported { path: path.clone() }),
        }
    }
    builder.into_inner().map_err(|source| PackError::Io {
        path: "(end of archive)".into(),
        source,
    })?;
    Ok(stats)
}

fn base_header(entry: &Entry) -> Header {
    let mut header = Header::new_gnu();
    header.set_mode(entry.mode & 0o7777);
    header.set_uid(entry.uid);
    header.set_gid(entry.gid);
    // tar has no negative times; such files get the epoch
    header.set_mtime(u64::try_from(entry.mtime).unwrap_or(0));
    header
}

/// Store a link target byte for byte (the tar crate's own setter normalizes `a/./b`).
/// Targets longer than the header field go first into a GNU long-link entry.
fn set_link_name<W: Write>(
    builder: &mut Builder<W>,
    header: &mut Header,
    target: &str,
) -> io::Result<()> {
    let bytes = target.as_bytes();
    if bytes.len() <= LINK_FIELD {
        return header.set_link_name_literal(bytes);
    }
    let mut long = Header::new_gnu();
    long.set_path(GNU_LONG_LINK)?;
    long.set_entry_type(EntryType::GNULongLink);
    long.set_mode(0o644);
    long.set_uid(0);
    long.set_gid(0);
    long.set_mtime(0);
    long.set_size(bytes.len() as u64 + 1);
    long.set_cksum();
    builder.append(&long, bytes.chain(&b"\0"[..]))?;
    // the header keeps a truncated copy, as GNU tar does
    header.set_link_name_literal(&bytes[..LINK_FIELD])
}

/// Yields exactly `remaining` bytes: a file that grew is cut at its recorded size (the
/// header already promised that size), one that shrank is an UnexpectedEof error.
struct ExactSize<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Read for ExactSize<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let got = self.inner.read(&mut buf[..want])?;
        if got == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank"));
        }
        self.remaining -= got as u64;
        Ok(got)
    }
}

/// Size of a whole tree, for "kept N of M files".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TreeStats {
    /// regular file paths (every hardlink name counts)
    pub files: u64,
    /// directories, without the root
    pub dirs: u64,
    pub symlinks: u64,
    /// bytes of file contents, hardlinked contents counted once
    pub bytes: u64,
}

/// Walk the whole tree, skipping excluded prefixes.
pub fn summarize(tree: &dyn FileTree, exclude: &ExcludeList) -> TreeStats {
    summarize_visiting(tree, exclude, &mut |_, _| {})
}

/// [`summarize`], showing every entry walked to `visit` as well.
pub fn summarize_visiting(
    tree: &dyn FileTree,
    exclude: &ExcludeList,
    visit: &mut dyn FnMut(&str, &Entry),
) -> TreeStats {
    let mut stats = TreeStats::default();
    let mut seen_links = std::collections::HashSet::new();
    let mut stack = vec![String::from("/")];
    while let Some(dir) = stack.pop() {
        for name in tree.list(&dir) {
            let path = join(&dir, &name);
            if exclude.is_excluded(&path) {
                continue;
            }
            let Some(entry) = tree.entry(&path) else {
                continue;
            };
            visit(&path, &entry);
            match entry.kind {
                Kind::Dir => {
                    stats.dirs += 1;
                    stack.push(path);
                }
                Kind::File => {
                    stats.files += 1;
                    if entry.hardlink_id.is_none_or(|id| seen_links.insert(id)) {
                        stats.bytes += entry.size;
                    }
                }
                Kind::Symlink(_) => stats.symlinks += 1,
                Kind::Other => {}
            }
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::keep::Reason;
    use crate::resolve::memtree::MemTree;
    use std::collections::BTreeMap;

    fn keep_all(paths: &[&str]) -> KeepSet {
        let mut keep = KeepSet::default();
        for p in paths {
            keep.add(p, Reason::Traced, None);
        }
        keep
    }

    struct ReadBack {
        path: String,
        kind: EntryType,
        mode: u32,
        uid: u64,
        gid: u64,
        mtime: u64,
        link: Option<String>,
        data: Vec<u8>,
        has_names: bool,
    }

    fn read_back(bytes: &[u8]) -> Vec<ReadBack> {
        let mut archive = tar::Archive::new(bytes);
        let mut out = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let header = entry.header().clone();
            let path = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
            let link = entry
                .link_name_bytes()
                .map(|l| String::from_utf8(l.into_owned()).unwrap());
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            let has_names = header.username_bytes().is_some_and(|u| !u.is_empty())
                || header.groupname_bytes().is_some_and(|g| !g.is_empty());
            out.push(ReadBack {
                path,
                kind: header.entry_type(),
                mode: header.mode().unwrap(),
                uid: header.uid().unwrap(),
                gid: header.gid().unwrap(),
                mtime: header.mtime().unwrap(),
                link,
                data,
                has_names,
            });
        }
        out
    }

    #[test]
    fn sorted_entries_with_metadata() {
        let tree = MemTree::new()
            .dir("/usr", 0o755)
            .file("/usr/bin/su", 0o4755, b"suid".to_vec())
            .owner("/usr/bin/su", 0, 0)
            .file("/etc/passwd", 0o644, b"root:x:0:0\n".to_vec())
            .owner("/etc/passwd", 1000, 2000)
            .mtime("/etc/passwd", 1_234_567)
            .dir("/tmp", 0o1777)
            .symlink("/lib", "usr/lib")
            .symlink("/weird", "a/./b//c");
        let keep = keep_all(&[
            "/usr/bin/su",
            "/usr",
            "/usr/bin",
            "/etc",
            "/etc/passwd",
            "/tmp",
            "/lib",
            "/weird",
        ]);
        let mut tar_bytes = Vec::new();
        let stats = write_kept_tar(&tree, &keep, &mut tar_bytes).unwrap();
        assert_eq!(
            stats,
            PackStats {
                files: 2,
                dirs: 4,
                symlinks: 2,
                hardlinks: 0,
                bytes: 15
            }
        );
        let entries = read_back(&tar_bytes);
        let names: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "etc/",
                "etc/passwd",
                "lib",
                "tmp/",
                "usr/",
                "usr/bin/",
                "usr/bin/su",
                "weird"
            ]
        );
        let by_name: BTreeMap<&str, &ReadBack> =
            entries.iter().map(|e| (e.path.as_str(), e)).collect();
        let passwd = by_name["etc/passwd"];
        assert_eq!(
            (passwd.uid, passwd.gid, passwd.mtime, passwd.mode),
            (1000, 2000, 1_234_567, 0o644)
        );
        assert_eq!(passwd.data, b"root:x:0:0\n");
        assert_eq!(by_name["usr/bin/su"].mode, 0o4755);
        assert_eq!(by_name["tmp/"].mode, 0o1777);
        assert_eq!(by_name["tmp/"].kind, EntryType::Directory);
        assert_eq!(by_name["lib"].kind, EntryType::Symlink);
        assert_eq!(by_name["lib"].link.as_deref(), Some("usr/lib"));
        assert_eq!(by_name["weird"].link.as_deref(), Some("a/./b//c"));
        assert!(entries.iter().all(|e| !e.has_names));
    }

    #[test]
    fn hardlinks_are_stored_once() {
        let perl = vec![7u8; 5000];
        let tree = MemTree::new()
            .file("/usr/bin/perl", 0o755, perl.clone())
            .hardlink("/usr/bin/perl5.36.0", "/usr/bin/perl")
            .hardlink("/usr/bin/unkept", "/usr/bin/perl");
        let keep = keep_all(&["/usr", "/usr/bin", "/usr/bin/perl5.36.0", "/usr/bin/perl"]);
        let mut tar_bytes = Vec::new();
        let stats = write_kept_tar(&tree, &keep, &mut tar_bytes).unwrap();
        assert_eq!((stats.files, stats.hardlinks, stats.bytes), (1, 1, 5000));
        let entries = read_back(&tar_bytes);
        // sorted: "perl" < "perl5.36.0", so the first one carries the data
        assert_eq!(entries[2].path, "usr/bin/perl");
        assert_eq!(entries[2].data, perl);
        assert_eq!(entries[3].path, "usr/bin/perl5.36.0");
        assert_eq!(entries[3].kind, EntryType::Link);
        assert_eq!(entries[3].link.as_deref(), Some("usr/bin/perl"));
        assert!(entries[3].data.is_empty());
    }

    #[test]
    fn long_names_and_long_link_targets() {
        let deep_dir = format!("/opt/{}", ["segment-of-a-long-path"; 8].join("/"));
        let file = format!("{deep_dir}/file-with-a-name-long-enough.txt");
        let target = format!("../../{}", "t".repeat(150));
        let link = format!("{deep_dir}/link");
        let tree = MemTree::new()
            .file(&file, 0o600, b"deep".to_vec())
            .symlink(&link, &target)
            .hardlink(&format!("{deep_dir}/second-name-of-the-file.txt"), &file);
        let mut keep = keep_all(&[
            &file,
            &link,
            &format!("{deep_dir}/second-name-of-the-file.txt"),
        ]);
        for dir in crate::resolve::walk::ancestors(&file) {
            keep.add(dir, Reason::Parent, None);
        }
        let mut tar_bytes = Vec::new();
        let stats = write_kept_tar(&tree, &keep, &mut tar_bytes).unwrap();
        assert_eq!((stats.files, stats.hardlinks, stats.symlinks), (1, 1, 1));
        let entries = read_back(&tar_bytes);
        let by_name: BTreeMap<&str, &ReadBack> =
            entries.iter().map(|e| (e.path.as_str(), e)).collect();
        assert!(file.len() > 100);
        assert_eq!(by_name[&file[1..]].data, b"deep");
        assert_eq!(by_name[&link[1..]].link.as_deref(), Some(target.as_str()));
        assert_eq!(
            by_name[&format!("{}/second-name-of-the-file.txt", &deep_dir[1..])[..]]
                .link
                .as_deref(),
            Some(&file[1..])
        );
        assert!(by_name.contains_key(&format!("{}/", &deep_dir[1..])[..]));
    }

    #[test]
    fn errors_for_vanished_and_special_files() {
        let tree = MemTree::new().special("/dev/null", 0o666);
        let mut sink = Vec::new();
        assert!(matches!(
            write_kept_tar(&tree, &keep_all(&["/gone"]), &mut sink),
            Err(PackError::Vanished { .. })
        ));
        assert!(matches!(
            write_kept_tar(&tree, &keep_all(&["/dev/null"]), Vec::new()),
            Err(PackError::Unsupported { .. })
        ));
    }

    #[test]
    fn exact_size_reader() {
        let mut grown = ExactSize {
            inner: &b"abcdef"[..],
            remaining: 3,
        };
        let mut out = Vec::new();
        grown.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abc");
        let mut shrunk = ExactSize {
            inner: &b"ab"[..],
            remaining: 3,
        };
        let err = shrunk.read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn summarize_counts_and_skips_excluded() {
        let tree = MemTree::new()
            .file("/bin/a", 0o755, vec![0u8; 10])
            .hardlink("/bin/b", "/bin/a")
            .file("/etc/x", 0o644, vec![0u8; 5])
            .symlink("/lib", "usr/lib")
            .file("/proc/1/status", 0o444, vec![0u8; 100])
            .special("/dev/null", 0o666);
        let exclude = ExcludeList::new(&["/proc", "/dev"]).unwrap();
        assert_eq!(
            summarize(&tree, &exclude),
            TreeStats {
                files: 3,
                dirs: 2,
                symlinks: 1,
                bytes: 15
            }
        );
    }
}
