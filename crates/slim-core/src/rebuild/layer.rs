//! Writing the slim image's single layer: the kept files in sorted order with normalized
//! headers, plus the edits that make the image run as its non-root user.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufWriter, Read};
use std::path::Path;

use serde::Serialize;

use super::RebuildError;
use super::access::{self, AccessChange};
use super::kept::{KeptEntry, KeptIndex, KeptKind};
use super::user::UserPlan;
use crate::digest::HashingWriter;
use crate::sensor::report::Access;

/// Everything the layer writer changes relative to the kept files.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LayerPlan {
    pub user: UserPlan,
    /// paths the app wrote to (or the directories it created files in): owned by the user
    pub writable: BTreeSet<String>,
    /// the image's WORKDIR, created if missing and owned by the user
    pub workdir: Option<String>,
    /// no mtime in the layer is later than this (SOURCE_DATE_EPOCH or the source's creation)
    pub mtime_clamp: i64,
    /// the package database to trim to the packages still present (--keep-package-db)
    #[serde(default)]
    pub package_db: Option<crate::resolve::packagedb::PackageDb>,
    /// real path -> what the app did to it during analysis, to decide what the user needs
    #[serde(default)]
    pub accessed: BTreeMap<String, BTreeSet<Access>>,
    /// kept user-switching tools (gosu, su-exec, runuser, setpriv, ...) that get slim's
    /// stand-in, which works for the non-root user (see `switch_shim`)
    #[serde(default)]
    pub switch_tools: BTreeSet<String>,
}

/// What ended up in the layer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LayerSummary {
    /// `sha256:…` of the uncompressed layer tar
    pub diff_id: String,
    /// size of the layer tar in bytes
    pub size: u64,
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub hardlinks: u64,
    /// sum of regular file sizes (hardlinks counted once)
    pub content_bytes: u64,
    /// files whose setuid/setgid bits were removed
    pub dropped_setuid: Vec<String>,
    /// paths made owned by / writable for the user
    pub made_writable: Vec<String>,
    /// paths slim created (user database, home, /tmp, WORKDIR)
    pub added: Vec<String>,
    /// paths the user could not read (or enter, or run) that now belong to it
    pub made_accessible: Vec<String>,
    /// each of those: what the app needs, the mode and owner before and after, and why
    pub access_changes: Vec<AccessChange>,
    /// user-switching tools replaced by slim's stand-in
    pub replaced_switch_tools: Vec<String>,
}

enum Contents {
    Kept { offset: u64, size: u64 },
    Bytes(Vec<u8>),
}

enum FinalKind {
    File(Contents),
    Dir,
    Symlink(String),
    Hardlink(String),
}

struct FinalEntry {
    kind: FinalKind,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: i64,
}

/// Write the layer for `kept` under `plan` to `out`. `switch_shim` is the stand-in for the
/// plan's user-switching tools (`slim-switch`), needed when it lists any.
pub fn write_layer(
    kept: &KeptIndex,
    plan: &LayerPlan,
    out: &Path,
    switch_shim: Option<&[u8]>,
) -> Result<LayerSummary, RebuildError> {
    let mut summary = LayerSummary::default();
    let mut entries: BTreeMap<String, FinalEntry> = kept
        .entries
        .iter()
        .map(|(p, e)| (p.clone(), from_kept(e)))
        .collect();
    let (uid, gid) = (u64::from(plan.user.uid), u64::from(plan.user.gid));
    let clamp = plan.mtime_clamp;

    // User database edits.
    for (path, contents) in [
        ("/etc/passwd", &plan.user.passwd),
        ("/etc/group", &plan.user.group),
    ] {
        let Some(text) = contents else { continue };
        match entries.get_mut(path) {
            Some(entry) if matches!(entry.kind, FinalKind::File(_)) => {
                entry.kind = FinalKind::File(Contents::Bytes(text.clone().into_bytes()));
                entry.mtime = clamp;
            }
            _ => {
                add_dirs(&mut entries, parent(path), clamp, &mut summary);
                entries.insert(
                    path.into(),
                    FinalEntry {
                        kind: FinalKind::File(Contents::Bytes(text.clone().into_bytes())),
                        mode: 0o644,
                        uid: 0,
                        gid: 0,
                        mtime: clamp,
                    },
                );
                summary.added.push(path.into());
            }
        }
    }

    // gosu & co. fail for a non-root user; the stand-in runs the command as it is.
    for path in &plan.switch_tools {
        let Some(entry) = entries.get_mut(path.as_str()) else {
            continue;
        };
        if !matches!(entry.kind, FinalKind::File(_)) {
            continue;
        }
        let shim = switch_shim.ok_or_else(|| RebuildError::MissingSwitchShim(path.clone()))?;
        entry.kind = FinalKind::File(Contents::Bytes(shim.to_vec()));
        entry.mode = 0o755;
        (entry.uid, entry.gid) = (0, 0);
        summary.replaced_switch_tools.push(path.clone());
    }

    // Scanners read the package database: it lists only packages that still have files.
    if let Some(db) = &plan.package_db
        && let Some(text) = kept.read_text(&db.status_path)?
        && let Some(entry) = entries.get_mut(db.status_path.as_str())
    {
        let trimmed = super::package_db::trim_status(&text, db.format, &db.packages);
        entry.kind = FinalKind::File(Contents::Bytes(trimmed.into_bytes()));
    }

    // /tmp is writable by everyone, as every program expects.
    match entries.get_mut("/tmp") {
        Some(entry) if matches!(entry.kind, FinalKind::Dir) => entry.mode = 0o1777,
        Some(_) => {}
        None => {
            entries.insert(
                "/tmp".into(),
                FinalEntry {
                    kind: FinalKind::Dir,
                    mode: 0o1777,
                    uid: 0,
                    gid: 0,
                    mtime: clamp,
                },
            );
            summary.added.push("/tmp".into());
        }
    }

    // Home and WORKDIR exist and belong to the user; so does everything the app wrote to.
    let mut owned: BTreeSet<String> = plan.writable.clone();
    for dir in plan.user.home.iter().chain(plan.workdir.iter()) {
        if dir != "/" && !entries.contains_key(dir.as_str()) {
            add_dirs(&mut entries, dir, clamp, &mut summary);
        }
        owned.insert(dir.clone());
    }
    if !plan.user.is_root() {
        for path in owned {
            // Never hand over the root, /tmp (already open to all) or a symlink (its target decides).
            if path == "/" || path == "/tmp" {
                continue;
            }
            let Some(entry) = entries.get_mut(path.as_str()) else {
                continue;
            };
            let extra = match entry.kind {
                FinalKind::Dir => 0o700,
                FinalKind::File(_) => 0o600,
                _ => continue,
            };
            entry.uid = uid;
            entry.gid = gid;
            entry.mode |= extra;
            summary.made_writable.push(path);
        }
    }

    // Every entry's parents exist (a layer with orphan entries extracts with default modes).
    let orphans: Vec<String> = entries
        .keys()
        .filter(|p| !entries.contains_key(parent(p)) && parent(p) != "/")
        .cloned()
        .collect();
    for path in orphans {
        add_dirs(&mut entries, parent(&path), clamp, &mut summary);
    }

    // The app read and ran these as its old (often root) user; the new user must be able to
    // too. The user becomes the owner; group and other bits are never widened.
    if !plan.user.is_root() {
        let me = plan.user.credentials();
        for (path, entry) in entries.iter_mut() {
            let is_dir = match entry.kind {
                FinalKind::Dir => true,
                FinalKind::File(_) => false,
                _ => continue,
            };
            let accesses = plan.accessed.get(path);
            let needs = access::needed(is_dir, entry.mode, accesses);
            if needs == 0 || me.allows(entry.uid, entry.gid, entry.mode, needs) {
                continue;
            }
            let before = format!("{:04o} {}:{}", entry.mode & 0o7777, entry.uid, entry.gid);
            entry.uid = uid;
            entry.mode = access::owner_only(entry.mode, needs);
            summary.made_accessible.push(path.clone());
            summary.access_changes.push(AccessChange {
                path: path.clone(),
                needs: access::bits_text(needs),
                before,
                after: format!("{:04o} {}:{}", entry.mode & 0o7777, entry.uid, entry.gid),
                why: access::why(accesses).to_string(),
            });
        }
    }

    for (path, entry) in entries.iter_mut() {
        entry.mtime = entry.mtime.min(clamp).max(0);
        // A container's own files (hosts, resolv.conf) change /etc's mtime where the resolver
        // reads it; directories take the clamp time, so every way of reading the source
        // gives the same layer.
        if matches!(entry.kind, FinalKind::Dir) && clamp < i64::MAX {
            entry.mtime = clamp.max(0);
        }
        if matches!(entry.kind, FinalKind::File(_)) && entry.mode & 0o6000 != 0 {
            entry.mode &= !0o6000;
            summary.dropped_setuid.push(path.clone());
        }
    }

    let io_error = |source| RebuildError::Io {
        path: out.to_path_buf(),
        source,
    };
    let file = File::create(out).map_err(io_error)?;
    let mut builder = tar::Builder::new(HashingWriter::new(BufWriter::new(file)));
    for (path, entry) in &entries {
        append(&mut builder, kept, path, entry, &mut summary).map_err(|source| {
            RebuildError::Io {
                path: path.into(),
                source,
            }
        })?;
    }
    let hashing = builder.into_inner().map_err(io_error)?;
    let (writer, digest, size) = hashing.finish();
    writer
        .into_inner()
        .map_err(|e| io_error(e.into_error()))?
        .sync_all()
        .map_err(io_error)?;
    summary.diff_id = format!("sha256:{digest}");
    summary.size = size;
    Ok(summary)
}

fn from_kept(entry: &KeptEntry) -> FinalEntry {
    let kind = match &entry.kind {
        KeptKind::File { offset, size } => FinalKind::File(Contents::Kept {
            offset: *offset,
            size: *size,
        }),
        KeptKind::Dir => FinalKind::Dir,
        KeptKind::Symlink(target) => FinalKind::Symlink(target.clone()),
        KeptKind::Hardlink(target) => FinalKind::Hardlink(target.clone()),
    };
    FinalEntry {
        kind,
        mode: entry.mode,
        uid: entry.uid,
        gid: entry.gid,
        mtime: entry.mtime,
    }
}

/// Add `dir` and any missing ancestors as root-owned 0755 directories.
fn add_dirs(
    entries: &mut BTreeMap<String, FinalEntry>,
    dir: &str,
    mtime: i64,
    summary: &mut LayerSummary,
) {
    let mut path = String::new();
    for part in dir.split('/').filter(|p| !p.is_empty()) {
        path.push('/');
        path.push_str(part);
        if !entries.contains_key(&path) {
            entries.insert(
                path.clone(),
                FinalEntry {
                    kind: FinalKind::Dir,
                    mode: 0o755,
                    uid: 0,
                    gid: 0,
                    mtime,
                },
            );
            summary.added.push(path.clone());
        }
    }
}

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

fn append<W: std::io::Write>(
    builder: &mut tar::Builder<W>,
    kept: &KeptIndex,
    path: &str,
    entry: &FinalEntry,
    summary: &mut LayerSummary,
) -> std::io::Result<()> {
    let name = path.trim_start_matches('/');
    let mut header = tar::Header::new_gnu();
    header.set_mode(entry.mode);
    header.set_uid(entry.uid);
    header.set_gid(entry.gid);
    header.set_mtime(entry.mtime as u64);
    match &entry.kind {
        FinalKind::File(contents) => {
            header.set_entry_type(tar::EntryType::Regular);
            summary.files += 1;
            match contents {
                Contents::Kept { offset, size } => {
                    header.set_size(*size);
                    summary.content_bytes += size;
                    let reader = kept.contents(*offset, *size)?;
                    builder.append_data(&mut header, name, exact(reader, *size))
                }
                Contents::Bytes(bytes) => {
                    header.set_size(bytes.len() as u64);
                    summary.content_bytes += bytes.len() as u64;
                    builder.append_data(&mut header, name, bytes.as_slice())
                }
            }
        }
        FinalKind::Dir => {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_size(0);
            summary.dirs += 1;
            builder.append_data(&mut header, format!("{name}/"), std::io::empty())
        }
        FinalKind::Symlink(target) => {
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            summary.symlinks += 1;
            builder.append_link(&mut header, name, target)
        }
        FinalKind::Hardlink(target) => {
            header.set_entry_type(tar::EntryType::Link);
            header.set_size(0);
            summary.hardlinks += 1;
            builder.append_link(&mut header, name, target.trim_start_matches('/'))
        }
    }
}

/// Fails if the kept tar ends before a file's stated size (a truncated archive).
fn exact<R: Read>(reader: R, size: u64) -> impl Read {
    struct Exact<R> {
        inner: R,
        left: u64,
    }
    impl<R: Read> Read for Exact<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            if n == 0 && self.left > 0 && !buf.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "kept archive is truncated",
                ));
            }
            self.left -= n as u64;
            Ok(n)
        }
    }
    Exact {
        inner: reader,
        left: size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rebuild::user::{UserSource, plan_user};
    use std::collections::BTreeMap;

    /// A kept tar as the resolver writes it: sorted, original metadata.
    fn kept_fixture(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("kept.tar");
        let mut builder = tar::Builder::new(File::create(&path).unwrap());
        let mut add =
            |name: &str, kind: tar::EntryType, mode: u32, data: &[u8], link: Option<&str>| {
                let mut header = tar::Header::new_gnu();
                header.set_entry_type(kind);
                header.set_mode(mode);
                header.set_mtime(2_000_000_000);
                header.set_uid(0);
                header.set_gid(0);
                header.set_size(data.len() as u64);
                match link {
                    Some(target) => builder.append_link(&mut header, name, target).unwrap(),
                    None => builder.append_data(&mut header, name, data).unwrap(),
                }
            };
        add("bin", tar::EntryType::Symlink, 0o777, b"", Some("usr/bin"));
        add("etc/", tar::EntryType::Directory, 0o755, b"", None);
        add(
            "etc/passwd",
            tar::EntryType::Regular,
            0o644,
            b"root:x:0:0:root:/root:/bin/sh\n",
            None,
        );
        add("srv/", tar::EntryType::Directory, 0o755, b"", None);
        add(
            "srv/key.pem",
            tar::EntryType::Regular,
            0o600,
            b"secret",
            None,
        );
        add(
            "srv/public.txt",
            tar::EntryType::Regular,
            0o644,
            b"hello",
            None,
        );
        add("usr/", tar::EntryType::Directory, 0o755, b"", None);
        add("usr/bin/", tar::EntryType::Directory, 0o755, b"", None);
        add(
            "usr/bin/app",
            tar::EntryType::Regular,
            0o4755,
            b"\x7fELF app",
            None,
        );
        add(
            "usr/bin/app2",
            tar::EntryType::Link,
            0o4755,
            b"",
            Some("usr/bin/app"),
        );
        builder.finish().unwrap();
        path
    }

    fn entries(layer: &Path) -> BTreeMap<String, (tar::EntryType, u32, u64, u64, Vec<u8>)> {
        let mut archive = tar::Archive::new(File::open(layer).unwrap());
        let mut out = BTreeMap::new();
        let mut order = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            let h = entry.header().clone();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            order.push(name.trim_end_matches('/').to_string());
            out.insert(
                name,
                (
                    h.entry_type(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.mtime().unwrap(),
                    data,
                ),
            );
        }
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted, "entries are written in sorted order");
        out
    }

    #[test]
    fn writes_a_non_root_layer() {
        let dir = tempfile::tempdir().unwrap();
        let kept = KeptIndex::open(&kept_fixture(dir.path())).unwrap();
        let passwd = kept.read_text("/etc/passwd").unwrap();
        let user = plan_user("", None, passwd.as_deref(), None, None).unwrap();
        assert_eq!(user.source, UserSource::Added);
        let plan = LayerPlan {
            user,
            writable: [
                "/srv".to_string(),
                "/var/lib/gone".to_string(),
                "/".to_string(),
            ]
            .into(),
            workdir: Some("/work/app".into()),
            mtime_clamp: 1_700_000_000,
            package_db: None,
            accessed: BTreeMap::new(),
            switch_tools: BTreeSet::new(),
        };
        let out = dir.path().join("layer.tar");
        let summary = write_layer(&kept, &plan, &out, None).unwrap();
        let layer = entries(&out);

        assert_eq!(
            summary.diff_id,
            format!(
                "sha256:{}",
                crate::digest::sha256_hex(&std::fs::read(&out).unwrap())
            )
        );
        // setuid dropped, hardlink kept as a link, symlink verbatim
        assert_eq!(layer["usr/bin/app"].1, 0o755);
        assert_eq!(summary.dropped_setuid, ["/usr/bin/app"]);
        assert_eq!(layer["usr/bin/app2"].0, tar::EntryType::Link);
        assert_eq!(layer["bin"].0, tar::EntryType::Symlink);
        // the user database gained nonroot, and a group file was created
        let passwd = String::from_utf8(layer["etc/passwd"].4.clone()).unwrap();
        assert!(
            passwd.ends_with("nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"),
            "{passwd}"
        );
        assert!(layer.contains_key("etc/group"));
        // /tmp for everyone; home, WORKDIR and written dirs for the user; never the root
        assert_eq!(layer["tmp/"].1, 0o1777);
        assert_eq!(
            (
                layer["home/nonroot/"].2,
                layer["work/app/"].2,
                layer["srv/"].2
            ),
            (65532, 65532, 65532)
        );
        assert_eq!(layer["work/"].2, 0);
        assert!(!summary.made_writable.contains(&"/".to_string()));
        // a root-only file the app read becomes the user's; readable files stay as they were
        assert_eq!(
            (layer["srv/key.pem"].1, layer["srv/key.pem"].2),
            (0o600, 65532)
        );
        assert_eq!(layer["srv/public.txt"].2, 0);
        assert_eq!(summary.made_accessible, ["/srv/key.pem"]);
        // mtimes clamped to the source's creation time
        assert!(layer.values().all(|e| e.3 <= 1_700_000_000));
        // same input, same bytes
        let again = dir.path().join("again.tar");
        let kept = KeptIndex::open(&dir.path().join("kept.tar")).unwrap();
        assert_eq!(
            write_layer(&kept, &plan, &again, None).unwrap().diff_id,
            summary.diff_id
        );
    }

    #[test]
    fn truncated_kept_archive_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let full = std::fs::read(kept_fixture(dir.path())).unwrap();
        // cut inside the contents of usr/bin/app
        let cut = full.windows(8).position(|w| w == b"\x7fELF app").unwrap() + 3;
        let path = dir.path().join("cut.tar");
        std::fs::write(&path, &full[..cut]).unwrap();
        let result = KeptIndex::open(&path).and_then(|kept| {
            let user = plan_user("", None, None, None, None)?;
            let plan = LayerPlan {
                user,
                writable: Default::default(),
                workdir: None,
                mtime_clamp: i64::MAX,
                package_db: None,
                accessed: BTreeMap::new(),
                switch_tools: BTreeSet::new(),
            };
            write_layer(&kept, &plan, &dir.path().join("l.tar"), None)
        });
        assert!(result.is_err());
    }
}
