//! Path resolution as the kernel does it, against a [`FileTree`]: one component at a time,
//! following symlinks wherever they appear, so the resolver learns every link an `open()`
//! of the same path would cross inside the container.

use thiserror::Error;

use super::tree::{Entry, FileTree, Kind};

/// Linux gives up with ELOOP after this many symlinks in one lookup.
pub const MAX_SYMLINK_HOPS: usize = 40;

/// How a walk ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkEnd {
    /// The path names an existing object; `path` is its real path (no symlinks in it).
    Found { path: String, entry: Entry },
    /// `path` (real parent + missing name) does not exist.
    Missing { path: String },
    /// `path` is a non-directory that the walk needed to descend into.
    NotADirectory { path: String },
    /// The walk reached `path`, which the caller's guard forbids entering.
    Blocked { path: String },
}

/// The outcome of resolving one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathWalk {
    pub end: WalkEnd,
    /// Real paths of the symlinks crossed, in the order they were met.
    pub symlinks: Vec<String>,
    /// The deepest existing directory reached (real path): for an absent path, the
    /// directory it would have been created in (or an ancestor of it).
    pub deepest_dir: String,
}

impl PathWalk {
    /// Real path of the object, if the path resolved to one.
    pub fn target(&self) -> Option<(&str, &Entry)> {
        match &self.end {
            WalkEnd::Found { path, entry } => Some((path.as_str(), entry)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum WalkError {
    #[error("{path}: not an absolute path")]
    NotAbsolute { path: String },
    #[error("{path}: more than {MAX_SYMLINK_HOPS} symlinks to follow (symlink loop?)")]
    TooManyLinks { path: String },
}

/// Resolve `path`, following every symlink (also a final one).
pub fn resolve_path(tree: &dyn FileTree, path: &str) -> Result<PathWalk, WalkError> {
    resolve_path_guarded(tree, path, &|_| false)
}

/// Like [`resolve_path`], but stops before looking at any real path for which `blocked`
/// returns true (excluded prefixes such as /proc must never be entered, not even through a
/// symlink pointing there).
pub fn resolve_path_guarded(
    tree: &dyn FileTree,
    path: &str,
    blocked: &dyn Fn(&str) -> bool,
) -> Result<PathWalk, WalkError> {
    if !path.starts_with('/') {
        return Err(WalkError::NotAbsolute {
            path: path.to_string(),
        });
    }
    // Components still to resolve, last one on top of the stack.
    let mut pending: Vec<String> = components(path).rev().map(str::to_string).collect();
    let mut current = String::from("/");
    let mut current_entry: Option<Entry> = None;
    let mut symlinks = Vec::new();
    let mut hops = 0usize;

    let stop = |end: WalkEnd, symlinks: Vec<String>, current: String| PathWalk {
        end,
        symlinks,
        deepest_dir: current,
    };

    while let Some(name) = pending.pop() {
        if name == ".." {
            // `current` is always a real directory here, so its parent is the physical one.
            current = parent(&current).unwrap_or("/").to_string();
            current_entry = None;
            continue;
        }
        let candidate = join(&current, &name);
        if blocked(&candidate) {
            return Ok(stop(
                WalkEnd::Blocked { path: candidate },
                symlinks,
                current,
            ));
        }
        let Some(entry) = tree.entry(&candidate) else {
            return Ok(stop(
                WalkEnd::Missing { path: candidate },
                symlinks,
                current,
            ));
        };
        match &entry.kind {
            Kind::Symlink(target) => {
                hops += 1;
                if hops > MAX_SYMLINK_HOPS {
                    return Err(WalkError::TooManyLinks {
                        path: path.to_string(),
                    });
                }
                symlinks.push(candidate.clone());
                if target.is_empty() {
                    // An empty target resolves to nothing (ENOENT), like on Linux.
                    return Ok(stop(
                        WalkEnd::Missing { path: candidate },
                        symlinks,
                        current,
                    ));
                }
                if target.starts_with('/') {
                    current = String::from("/");
                    current_entry = None;
                }
                pending.extend(components(target).rev().map(str::to_string));
            }
            Kind::Dir => {
                current = candidate;
                current_entry = Some(entry);
            }
            Kind::File | Kind::Other => {
                if pending.is_empty() {
                    return Ok(PathWalk {
                        end: WalkEnd::Found {
                            path: candidate,
                            entry,
                        },
                        symlinks,
                        deepest_dir: current,
                    });
                }
                return Ok(stop(
                    WalkEnd::NotADirectory { path: candidate },
                    symlinks,
                    current,
                ));
            }
        }
    }

    // Everything consumed and we stand in a directory (possibly the root).
    let entry = match current_entry {
        Some(entry) => Some(entry),
        None => tree.entry(&current),
    };
    Ok(match entry {
        Some(entry) => PathWalk {
            deepest_dir: current.clone(),
            end: WalkEnd::Found {
                path: current,
                entry,
            },
            symlinks,
        },
        None => PathWalk {
            deepest_dir: current.clone(),
            end: WalkEnd::Missing { path: current },
            symlinks,
        },
    })
}

/// Non-empty components of a path, with `.` dropped (`..` stays: only the walker may
/// resolve it, after following symlinks).
fn components(path: &str) -> impl DoubleEndedIterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty() && *c != ".")
}

/// Lexical clean-up of a path from a trace: collapse `//`, drop `.`, drop a trailing slash.
/// `..` is kept because resolving it lexically would be wrong after a symlink.
/// Returns `None` for a relative path.
pub fn normalize_lexical(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return None;
    }
    let parts: Vec<&str> = components(path).collect();
    if parts.is_empty() {
        return Some(String::from("/"));
    }
    Some(format!("/{}", parts.join("/")))
}

/// True if `path` is in the canonical form a [`FileTree`] expects: absolute, no empty,
/// `.` or `..` components, no trailing slash (except the root "/").
pub fn is_clean_path(path: &str) -> bool {
    if path == "/" {
        return true;
    }
    path.starts_with('/')
        && path[1..]
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// `dir` + `/` + `name`, without doubling the slash at the root.
pub fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Lexical parent of a clean path; `None` for the root.
pub fn parent(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    match path.rfind('/') {
        Some(0) => Some("/"),
        Some(i) => Some(&path[..i]),
        None => None,
    }
}

/// Ancestors of a clean path, nearest first, without the root: "/a/b/c" -> "/a/b", "/a".
pub fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(parent(path), |p| parent(p)).take_while(|p| *p != "/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::memtree::MemTree;

    fn found(walk: &PathWalk) -> Option<&str> {
        walk.target().map(|(p, _)| p)
    }

    fn merged_usr() -> MemTree {
        MemTree::new()
            .dir("/usr/lib/x86_64-linux-gnu", 0o755)
            .file(
                "/usr/lib/x86_64-linux-gnu/libc.so.6",
                0o644,
                b"libc".to_vec(),
            )
            .symlink("/lib", "usr/lib")
            .symlink(
                "/usr/lib64/ld-linux-x86-64.so.2",
                "../lib/x86_64-linux-gnu/ld.so",
            )
            .file("/usr/lib/x86_64-linux-gnu/ld.so", 0o755, b"ld".to_vec())
            .symlink("/lib64", "usr/lib64")
    }

    #[test]
    fn lexical_normalizer_collapses_but_keeps_dotdot() {
        assert_eq!(
            normalize_lexical("//usr/./lib//").as_deref(),
            Some("/usr/lib")
        );
        assert_eq!(normalize_lexical("/a/../b").as_deref(), Some("/a/../b"));
        assert_eq!(normalize_lexical("/").as_deref(), Some("/"));
        assert_eq!(normalize_lexical("/./.").as_deref(), Some("/"));
        assert_eq!(normalize_lexical("rel/path"), None);
    }

    #[test]
    fn path_helpers() {
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/"), None);
        assert_eq!(join("/", "etc"), "/etc");
        assert_eq!(join("/etc", "passwd"), "/etc/passwd");
        assert_eq!(ancestors("/a/b/c").collect::<Vec<_>>(), vec!["/a/b", "/a"]);
        assert!(is_clean_path("/"));
        assert!(is_clean_path("/a/b"));
        assert!(!is_clean_path("/a/../b"));
        assert!(!is_clean_path("/a/"));
        assert!(!is_clean_path("a"));
    }

    #[test]
    fn plain_file_and_root() {
        let tree = merged_usr();
        let walk = resolve_path(&tree, "/usr/lib/x86_64-linux-gnu/libc.so.6").unwrap();
        assert_eq!(found(&walk), Some("/usr/lib/x86_64-linux-gnu/libc.so.6"));
        assert!(walk.symlinks.is_empty());
        let root = resolve_path(&tree, "/").unwrap();
        assert_eq!(found(&root), Some("/"));
    }

    #[test]
    fn through_symlinked_directory() {
        let tree = merged_usr();
        let walk = resolve_path(&tree, "/lib/x86_64-linux-gnu/libc.so.6").unwrap();
        assert_eq!(found(&walk), Some("/usr/lib/x86_64-linux-gnu/libc.so.6"));
        assert_eq!(walk.symlinks, vec!["/lib"]);
    }

    #[test]
    fn chain_of_relative_links_with_dotdot() {
        let tree = merged_usr();
        let walk = resolve_path(&tree, "/lib64/ld-linux-x86-64.so.2").unwrap();
        assert_eq!(found(&walk), Some("/usr/lib/x86_64-linux-gnu/ld.so"));
        assert_eq!(
            walk.symlinks,
            vec!["/lib64", "/usr/lib64/ld-linux-x86-64.so.2"]
        );
    }

    #[test]
    fn absolute_target_restarts_at_root() {
        let tree = MemTree::new()
            .file("/opt/real/bin/tool", 0o755, b"x".to_vec())
            .symlink("/usr/local/bin/tool", "/opt/real/bin/tool");
        let walk = resolve_path(&tree, "/usr/local/bin/tool").unwrap();
        assert_eq!(found(&walk), Some("/opt/real/bin/tool"));
        assert_eq!(walk.symlinks, vec!["/usr/local/bin/tool"]);
    }

    #[test]
    fn dotdot_after_symlink_is_physical() {
        // /a/link -> /x/y ; "/a/link/../f" is /x/f, not /a/f
        let tree = MemTree::new()
            .dir("/x/y", 0o755)
            .file("/x/f", 0o644, b"physical".to_vec())
            .file("/a/f", 0o644, b"lexical".to_vec())
            .symlink("/a/link", "/x/y");
        let walk = resolve_path(&tree, "/a/link/../f").unwrap();
        assert_eq!(found(&walk), Some("/x/f"));
        assert_eq!(walk.symlinks, vec!["/a/link"]);
        // `..` at the root stays at the root
        let walk = resolve_path(&tree, "/../../x/f").unwrap();
        assert_eq!(found(&walk), Some("/x/f"));
    }

    #[test]
    fn loops_are_an_error() {
        let tree = MemTree::new().symlink("/a", "b").symlink("/b", "a");
        assert_eq!(
            resolve_path(&tree, "/a/x"),
            Err(WalkError::TooManyLinks {
                path: "/a/x".into()
            })
        );
        let tree = MemTree::new().symlink("/self", "self");
        assert!(resolve_path(&tree, "/self").is_err());
    }

    #[test]
    fn forty_links_are_fine_forty_one_are_not() {
        let mut tree = MemTree::new().file("/target", 0o644, Vec::new());
        for i in 0..41 {
            let next = if i == 0 {
                "target".to_string()
            } else {
                format!("l{}", i - 1)
            };
            tree = tree.symlink(&format!("/l{i}"), &next);
        }
        assert_eq!(
            found(&resolve_path(&tree, "/l39").unwrap()),
            Some("/target")
        );
        assert!(resolve_path(&tree, "/l40").is_err());
    }

    #[test]
    fn missing_and_not_a_directory() {
        let tree = merged_usr().symlink("/var/run", "/run").dir("/run", 0o755);
        let walk = resolve_path(&tree, "/var/run/app/pid").unwrap();
        assert_eq!(
            walk.end,
            WalkEnd::Missing {
                path: "/run/app".into()
            }
        );
        assert_eq!(walk.deepest_dir, "/run");
        assert_eq!(walk.symlinks, vec!["/var/run"]);
        let walk = resolve_path(&tree, "/lib/x86_64-linux-gnu/libc.so.6/x").unwrap();
        assert!(matches!(walk.end, WalkEnd::NotADirectory { .. }));
        let dangling = MemTree::new().symlink("/d", "/nowhere");
        let walk = resolve_path(&dangling, "/d").unwrap();
        assert_eq!(
            walk.end,
            WalkEnd::Missing {
                path: "/nowhere".into()
            }
        );
        assert_eq!(walk.symlinks, vec!["/d"]);
    }

    #[test]
    fn guard_stops_before_blocked_paths() {
        let tree = MemTree::new()
            .dir("/proc/self", 0o555)
            .symlink("/etc/mtab", "../proc/self/mounts");
        let blocked = |p: &str| p == "/proc" || p.starts_with("/proc/");
        let walk = resolve_path_guarded(&tree, "/etc/mtab", &blocked).unwrap();
        assert_eq!(
            walk.end,
            WalkEnd::Blocked {
                path: "/proc".into()
            }
        );
        assert_eq!(walk.symlinks, vec!["/etc/mtab"]);
    }

    #[test]
    fn relative_input_is_rejected() {
        let tree = MemTree::new();
        assert!(matches!(
            resolve_path(&tree, "etc/passwd"),
            Err(WalkError::NotAbsolute { .. })
        ));
    }
}
