//! The app's own files, kept whole. A trace only shows the pages, templates and static files
//! the probes asked for; a server will serve the others later. Files that no package of the
//! image owns (not in the dpkg/apk database) and that sit under a content root the app used
//! are the app, and are kept. A content root is found from evidence:
//!
//! - the image's WORKDIR and the paths in its ENTRYPOINT/CMD (hints from the image config);
//! - the content directories named in the configuration of the servers it runs
//!   ([`servers`]: nginx, apache, caddy, lighttpd, tomcat);
//! - the trace: a file the app read in a directory no package owns makes the highest such
//!   directory above it a root.
//!
//! Never a root: system directories (`/usr`, `/var/lib`, caches, logs, the package
//! database...). Inside a root, dependency trees (`node_modules`, `site-packages`, venvs),
//! byte-code caches and version control are left to the language closures. A root larger
//! than the [`Limits`] is not kept whole, and says so.

pub mod servers;

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::tree::{FileTree, Kind};
use super::walk::{join, parent, resolve_path_guarded};
use servers::Server;

/// How large a content root may be and still be kept whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// files and symlinks
    pub files: u64,
    pub bytes: u64,
}

/// A root of more than 50,000 files or 256 MiB is not kept whole: that is a dependency tree
/// or a data set, not pages and templates.
pub const DEFAULT_LIMITS: Limits = Limits {
    files: 50_000,
    bytes: 256 << 20,
};

/// Directory names inside a content root that are not the app's content: dependency trees
/// (the language closures follow what is used of them), byte code, caches, version control.
const NOT_CONTENT: &[&str] = &[
    "node_modules",
    "site-packages",
    "dist-packages",
    "__pycache__",
    ".git",
    ".hg",
    ".svn",
    ".cache",
    ".npm",
];

/// Top-level directories of a Linux system: never a content root themselves.
const SYSTEM_TOP: &[&str] = &[
    "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media",
    "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var",
];

/// Never a content root, nor anything below: kernel and runtime mounts, logs, caches,
/// spools, package manager state, generated system configuration.
const SYSTEM_AREAS: &[&str] = &[
    "/proc",
    "/sys",
    "/dev",
    "/run",
    "/tmp",
    "/boot",
    "/var/tmp",
    "/var/run",
    "/var/lock",
    "/var/log",
    "/var/cache",
    "/var/backups",
    "/var/mail",
    "/var/spool",
    "/var/lib/dpkg",
    "/var/lib/apt",
    "/var/lib/ucf",
    "/var/lib/systemd",
    "/var/lib/pam",
    "/var/lib/dbus",
    "/etc/alternatives",
    "/etc/ssl",
    "/usr/lib/locale",
];

/// Standard directories one level into `/usr`, `/usr/local` and `/var`.
const STANDARD_SUBDIRS: &[&str] = &[
    "bin", "sbin", "lib", "lib32", "lib64", "libx32", "libexec", "include", "share", "src",
    "games", "local", "etc", "man", "opt", "www",
];

/// A content root named by the image's configuration, found by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootHint {
    pub path: String,
    /// "WORKDIR", "command argument /app/main.py"
    pub evidence: String,
}

/// A content root and what was done with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRoot {
    pub path: String,
    pub evidence: String,
    /// files and symlinks under it that no package owns
    pub files: u64,
    pub bytes: u64,
    /// false when it was larger than the limits: then only what the trace and the closures
    /// found of it is kept
    pub kept_whole: bool,
}

/// The roots found, and the files to keep with the root each one belongs to.
#[derive(Debug, Clone, Default)]
pub struct AppContent {
    pub roots: Vec<AppRoot>,
    pub files: Vec<(String, String)>,
}

/// Where a root's evidence came from: each source may name different places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Origin {
    Hint,
    Config,
    Trace,
}

/// What the app content is found from.
pub struct Evidence<'a> {
    pub hints: &'a [RootHint],
    /// real paths of the regular files the app read or ran
    pub read_files: &'a [String],
    /// kept files, some of them server configuration
    pub kept_files: &'a [String],
}

/// Find the content roots and the files to keep under them. `owned` is every path a
/// package installed (`None`: the image has no package database; then the trace names no
/// roots, since nothing tells the app from the system).
pub fn find(
    tree: &dyn FileTree,
    blocked: &dyn Fn(&str) -> bool,
    owned: Option<&HashSet<String>>,
    evidence: &Evidence,
    limits: Limits,
) -> AppContent {
    let mut candidates: Vec<(String, String, Origin)> = Vec::new();
    for hint in evidence.hints {
        if let Some(dir) = existing_dir(tree, blocked, &hint.path) {
            candidates.push((dir, hint.evidence.clone(), Origin::Hint));
        }
    }
    for config in evidence.kept_files {
        let Some(server) = Server::of_config(config) else {
            continue;
        };
        let Ok(bytes) = tree.read_prefix(config, 1 << 20) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        for (dir, directive) in server.roots(config, &text) {
            if let Some(dir) = existing_dir(tree, blocked, &dir) {
                let why = format!("{} {directive} in {config}", server.name());
                candidates.push((dir, why, Origin::Config));
            }
        }
    }
    if let Some(owned) = owned {
        let mut seen: HashMap<String, Option<String>> = HashMap::new();
        for file in evidence.read_files {
            if owned.contains(file) {
                continue;
            }
            let Some(dir) = parent(file) else { continue };
            if let Some(root) = unowned_top(dir, owned, &mut seen) {
                candidates.push((root, format!("the app read {file}"), Origin::Trace));
            }
        }
    }
    candidates.retain(|(dir, _, origin)| may_be_root(dir, *origin));
    // outer roots first, so a root inside one already kept whole adds nothing
    candidates.sort_by(|a, b| (a.0.len(), &a.0, a.2).cmp(&(b.0.len(), &b.0, b.2)));
    let mut out = AppContent::default();
    let mut whole: Vec<String> = Vec::new();
    for (dir, why, _) in candidates {
        let covered = whole
            .iter()
            .any(|w| dir == *w || dir.starts_with(&format!("{w}/")));
        if covered || out.roots.iter().any(|r| r.path == dir) {
            continue;
        }
        let (files, bytes, complete) = content_of(tree, blocked, owned, &dir, limits);
        let kept_whole = complete;
        if kept_whole {
            whole.push(dir.clone());
            out.files
                .extend(files.iter().map(|f| (f.clone(), dir.clone())));
        }
        out.roots.push(AppRoot {
            path: dir,
            evidence: why,
            files: files.len() as u64,
            bytes,
            kept_whole,
        });
    }
    out
}

/// The highest directory at or above `dir` that no package owns, below one that a package
/// owns; `None` if `dir` itself is owned.
fn unowned_top(
    dir: &str,
    owned: &HashSet<String>,
    seen: &mut HashMap<String, Option<String>>,
) -> Option<String> {
    if let Some(known) = seen.get(dir) {
        return known.clone();
    }
    let top = if dir == "/" || owned.contains(dir) {
        None
    } else {
        match parent(dir) {
            Some(up) if up != "/" && !owned.contains(up) => unowned_top(up, owned, seen),
            _ => Some(dir.to_string()),
        }
    };
    seen.insert(dir.to_string(), top.clone());
    top
}

/// Whether `dir` may be a content root given where the evidence for it came from.
fn may_be_root(dir: &str, origin: Origin) -> bool {
    if dir == "/" || SYSTEM_TOP.contains(&dir) {
        return false;
    }
    let under = |area: &str| dir == area || dir.starts_with(&format!("{area}/"));
    if SYSTEM_AREAS.iter().any(|a| under(a)) {
        return false;
    }
    let components: Vec<&str> = dir[1..].split('/').collect();
    if components.iter().any(|c| NOT_CONTENT.contains(c)) {
        return false;
    }
    let standard = |i: usize| {
        components
            .get(i)
            .is_some_and(|c| STANDARD_SUBDIRS.contains(c))
    };
    // /usr/share, /usr/local, /usr/local/lib, /var/lib, /var/www themselves
    let is_standard_dir = match components.as_slice() {
        ["usr" | "var", _] => standard(1),
        ["usr", "local", _] => standard(2),
        _ => false,
    };
    if is_standard_dir {
        return false;
    }
    match origin {
        Origin::Config => true,
        // the image's own layout: under /usr only the app places /usr/src/X and /usr/local/X
        Origin::Hint => match components.as_slice() {
            ["usr", "src", ..] => true,
            ["usr", "local", _, ..] => !standard(2),
            ["usr", ..] | ["etc", ..] => false,
            _ => true,
        },
        // the trace also finds what postinst scripts generate under /usr (caches, byte code)
        // and language runtimes installed from source: only app places count there
        Origin::Trace => match components.as_slice() {
            ["usr", "src", ..] => true,
            ["usr", "local", _, ..] => !standard(2),
            ["usr", ..] => false,
            _ => !is_language_tree(dir),
        },
    }
}

/// Library trees of language runtimes: the closures decide what of them is kept.
fn is_language_tree(dir: &str) -> bool {
    [
        "/lib/python",
        "/lib/ruby",
        "/lib/perl",
        "/share/perl",
        "/lib/node",
        "/gems/",
    ]
    .iter()
    .any(|marker| dir.contains(marker))
}

fn existing_dir(tree: &dyn FileTree, blocked: &dyn Fn(&str) -> bool, path: &str) -> Option<String> {
    let walk = resolve_path_guarded(tree, path, blocked).ok()?;
    let (real, entry) = walk.target()?;
    (entry.kind == Kind::Dir).then(|| real.to_string())
}

/// Files and symlinks under `root` no package owns, their bytes, and whether the root is
/// within the limits (the list is complete only then).
fn content_of(
    tree: &dyn FileTree,
    blocked: &dyn Fn(&str) -> bool,
    owned: Option<&HashSet<String>>,
    root: &str,
    limits: Limits,
) -> (Vec<String>, u64, bool) {
    let mut files = Vec::new();
    let mut bytes = 0u64;
    let mut stack = vec![root.to_string()];
    while let Some(dir) = stack.pop() {
        let names = tree.list(&dir);
        if names.iter().any(|n| n == "pyvenv.cfg") && dir != root {
            continue; // a virtual environment: the Python closure takes what is imported
        }
        for name in names {
            let path = join(&dir, &name);
            if blocked(&path) {
                continue;
            }
            let Some(entry) = tree.entry(&path) else {
                continue;
            };
            match entry.kind {
                Kind::Dir if !NOT_CONTENT.contains(&name.as_str()) => stack.push(path),
                Kind::File | Kind::Symlink(_) if !owned.is_some_and(|o| o.contains(&path)) => {
                    if entry.kind == Kind::File {
                        bytes += entry.size;
                    }
                    files.push(path);
                    if files.len() as u64 > limits.files || bytes > limits.bytes {
                        return (files, bytes, false);
                    }
                }
                _ => {}
            }
        }
    }
    files.sort();
    (files, bytes, true)
}

#[cfg(test)]
mod tests;
