//! Expanding a pattern over a [`FileTree`]: every existing path it names.
//!
//! The walk starts at the root but descends literal components without listing anything,
//! so `/usr/share/zoneinfo/**` only ever lists directories under /usr/share/zoneinfo.
//! Symlinked directories are followed where the pattern names a component (literal or
//! wildcard), never while descending for `**` (no loops, like bash's globstar). Results are
//! named through the pattern's own path, so walking them later crosses the same symlinks.

use std::collections::{BTreeSet, HashSet};

use super::pattern::Component;
use crate::resolve::tree::{FileTree, Kind};
use crate::resolve::walk::{join, resolve_path_guarded};

/// Every existing path the components name, sorted. `blocked` real paths (excluded
/// prefixes) are neither entered nor returned.
pub(crate) fn expand(
    tree: &dyn FileTree,
    components: &[Component],
    blocked: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let mut found = BTreeSet::new();
    let mut seen: HashSet<(String, usize)> = HashSet::new();
    // (name through the pattern, real path of that directory, next component)
    let mut stack = vec![("/".to_string(), "/".to_string(), 0usize)];
    while let Some((named, real, index)) = stack.pop() {
        if !seen.insert((named.clone(), index)) {
            continue;
        }
        let Some(component) = components.get(index) else {
            found.insert(named);
            continue;
        };
        let last = index + 1 == components.len();
        match component {
            Component::Literal(name) => {
                let child = Child::new(tree, &named, &real, name, blocked);
                child.push(last, index + 1, &mut found, &mut stack);
            }
            Component::Wild(regex) => {
                for name in tree.list(&real) {
                    if regex.is_match(&name) {
                        let child = Child::new(tree, &named, &real, &name, blocked);
                        child.push(last, index + 1, &mut found, &mut stack);
                    }
                }
            }
            Component::AnyDepth => {
                stack.push((named.clone(), real.clone(), index + 1));
                for name in tree.list(&real) {
                    let real_child = join(&real, &name);
                    if blocked(&real_child) {
                        continue;
                    }
                    let named_child = join(&named, &name);
                    match tree.entry(&real_child).map(|e| e.kind) {
                        Some(Kind::Dir) => stack.push((named_child, real_child, index)),
                        Some(_) => stack.push((named_child, real_child, index + 1)),
                        None => {}
                    }
                }
            }
            // bound before expanding; an unbound capture names nothing
            Component::Capture(_) | Component::Partial { .. } => {}
        }
    }
    found.into_iter().collect()
}

/// One entry of a directory, as the pattern names it and where it really is.
struct Child {
    named: String,
    /// false if it does not exist or is blocked
    exists: bool,
    /// real path if it is (or links to) a directory
    dir: Option<String>,
}

impl Child {
    fn new(
        tree: &dyn FileTree,
        named_dir: &str,
        real_dir: &str,
        name: &str,
        blocked: &dyn Fn(&str) -> bool,
    ) -> Child {
        let named = join(named_dir, name);
        let real = join(real_dir, name);
        let missing = Child {
            named: named.clone(),
            exists: false,
            dir: None,
        };
        if blocked(&real) {
            return missing;
        }
        match tree.entry(&real).map(|e| e.kind) {
            None => missing,
            Some(Kind::Dir) => Child {
                named,
                exists: true,
                dir: Some(real),
            },
            Some(Kind::Symlink(_)) => {
                let dir = resolve_path_guarded(tree, &real, blocked)
                    .ok()
                    .and_then(|walk| {
                        walk.target()
                            .filter(|(_, e)| e.kind == Kind::Dir)
                            .map(|(p, _)| p.to_string())
                    });
                Child {
                    named,
                    exists: true,
                    dir,
                }
            }
            Some(_) => Child {
                named,
                exists: true,
                dir: None,
            },
        }
    }

    fn push(
        self,
        last: bool,
        next: usize,
        found: &mut BTreeSet<String>,
        stack: &mut Vec<(String, String, usize)>,
    ) {
        if !self.exists {
            return;
        }
        if last {
            found.insert(self.named);
        } else if let Some(dir) = self.dir {
            stack.push((self.named, dir, next));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::io;

    use super::*;
    use crate::resolve::memtree::MemTree;
    use crate::resolve::profile::pattern::{PathPattern, Syntax};
    use crate::resolve::tree::Entry;

    fn expand_glob(tree: &dyn FileTree, text: &str) -> Vec<String> {
        let pattern = PathPattern::parse(text, Syntax::Glob).unwrap();
        let components = pattern.bind(&Default::default()).unwrap();
        expand(tree, &components, &|p| {
            p == "/proc" || p.starts_with("/proc/")
        })
    }

    fn fixture() -> MemTree {
        MemTree::new()
            .file("/usr/share/zoneinfo/UTC", 0o644, b"TZif".to_vec())
            .file("/usr/share/zoneinfo/Europe/Paris", 0o644, b"TZif".to_vec())
            .symlink("/usr/share/zoneinfo/Europe/Monaco", "Paris")
            .symlink("/usr/share/zoneinfo/posix", ".")
            .file("/usr/lib/jvm/java-17/lib/libjava.so", 0o644, b"x".to_vec())
            .file("/usr/lib/jvm/java-17/lib/libnet.so", 0o644, b"x".to_vec())
            .file("/usr/lib/jvm/java-17/lib/modules", 0o644, b"x".to_vec())
            .symlink("/usr/lib/jvm/default-java", "java-17")
            .file(
                "/etc/java-17-openjdk/security/java.security",
                0o644,
                b"".to_vec(),
            )
            .file("/etc/java-17-openjdk/net.properties", 0o644, b"".to_vec())
            .dir("/proc/1", 0o555)
            .symlink("/etc/mtab", "/proc/1")
    }

    #[test]
    fn literal_wildcard_and_any_depth() {
        let tree = fixture();
        assert_eq!(
            expand_glob(&tree, "/usr/lib/jvm/*/lib/*.so"),
            [
                "/usr/lib/jvm/default-java/lib/libjava.so",
                "/usr/lib/jvm/default-java/lib/libnet.so",
                "/usr/lib/jvm/java-17/lib/libjava.so",
                "/usr/lib/jvm/java-17/lib/libnet.so",
            ]
        );
        assert_eq!(
            expand_glob(&tree, "/etc/java-*/**"),
            [
                "/etc/java-17-openjdk",
                "/etc/java-17-openjdk/net.properties",
                "/etc/java-17-openjdk/security",
                "/etc/java-17-openjdk/security/java.security",
            ]
        );
        assert_eq!(
            expand_glob(&tree, "/etc/**/java.security"),
            ["/etc/java-17-openjdk/security/java.security"]
        );
        assert!(expand_glob(&tree, "/nonexistent/*").is_empty());
    }

    #[test]
    fn any_depth_does_not_follow_symlinked_directories() {
        let tree = fixture();
        let all = expand_glob(&tree, "/usr/share/zoneinfo/**");
        assert!(all.contains(&"/usr/share/zoneinfo/posix".to_string()));
        assert!(all.contains(&"/usr/share/zoneinfo/Europe/Monaco".to_string()));
        assert!(
            !all.iter()
                .any(|p| p.starts_with("/usr/share/zoneinfo/posix/"))
        );
    }

    #[test]
    fn blocked_prefixes_are_not_entered() {
        let tree = fixture();
        assert!(expand_glob(&tree, "/proc/*").is_empty());
        assert!(expand_glob(&tree, "/etc/mtab/*").is_empty());
    }

    /// Counts `list` calls per directory, to check what an expansion reads.
    struct Counting<'a> {
        inner: &'a MemTree,
        listed: RefCell<Vec<String>>,
    }

    impl FileTree for Counting<'_> {
        fn entry(&self, path: &str) -> Option<Entry> {
            self.inner.entry(path)
        }
        fn list(&self, path: &str) -> Vec<String> {
            self.listed.borrow_mut().push(path.to_string());
            self.inner.list(path)
        }
        fn open(&self, path: &str) -> io::Result<Box<dyn io::Read + '_>> {
            self.inner.open(path)
        }
    }

    #[test]
    fn walks_from_the_literal_prefix() {
        let inner = fixture();
        let tree = Counting {
            inner: &inner,
            listed: RefCell::new(Vec::new()),
        };
        let found = expand_glob(&tree, "/usr/share/zoneinfo/Europe/*");
        assert_eq!(found.len(), 2);
        assert_eq!(*tree.listed.borrow(), ["/usr/share/zoneinfo/Europe"]);
        tree.listed.borrow_mut().clear();
        expand_glob(&tree, "/usr/share/zoneinfo/**");
        assert!(
            tree.listed
                .borrow()
                .iter()
                .all(|p| p.starts_with("/usr/share/zoneinfo"))
        );
    }
}
