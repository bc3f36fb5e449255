//! glibc loader configuration: /etc/ld.so.conf and the files it includes. The directories
//! listed there are what ldconfig puts into /etc/ld.so.cache, so they stand in for the
//! cache when searching libraries.

use std::collections::HashSet;

use globset::GlobBuilder;

use super::tree::{FileTree, Kind};
use super::walk::{join, normalize_lexical, parent, resolve_path_guarded};

pub const LD_SO_CONF: &str = "/etc/ld.so.conf";
pub const LD_SO_CACHE: &str = "/etc/ld.so.cache";

/// Nested includes deeper than this are certainly a loop.
const MAX_INCLUDE_DEPTH: usize = 16;

/// What /etc/ld.so.conf says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LdSoConf {
    /// library directories, in the order ldconfig would see them
    pub dirs: Vec<String>,
    /// configuration files that were read, as named (the main file first)
    pub files: Vec<String>,
    /// problems met (bad glob, include loop) that did not stop the reading
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ConfLine {
    Include(Vec<String>),
    Dir(String),
}

fn parse_lines(text: &str) -> Vec<ConfLine> {
    let mut lines = Vec::new();
    for raw in text.lines() {
        let line = raw.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let (word, rest) = match line.split_once([' ', '\t']) {
            Some((w, r)) => (w, r.trim()),
            None => (line, ""),
        };
        if word == "include" && !rest.is_empty() {
            lines.push(ConfLine::Include(
                rest.split_whitespace().map(str::to_string).collect(),
            ));
        } else if word.eq_ignore_ascii_case("hwcap") && !rest.is_empty() {
            // obsolete hwcap subdirectory declarations: nothing to keep
        } else {
            // One directory per line; old ldconfig allowed a "=TYPE" suffix.
            let dir = line.split('=').next().unwrap_or_default().trim();
            lines.push(ConfLine::Dir(dir.to_string()));
        }
    }
    lines
}

/// Read /etc/ld.so.conf (if present) with all its includes. Paths for which `blocked`
/// returns true are never opened.
pub fn read_ld_so_conf(tree: &dyn FileTree, blocked: &dyn Fn(&str) -> bool) -> LdSoConf {
    let mut conf = LdSoConf::default();
    let mut seen = HashSet::new();
    read_conf_file(tree, LD_SO_CONF, blocked, 0, &mut conf, &mut seen);
    conf
}

fn read_conf_file(
    tree: &dyn FileTree,
    path: &str,
    blocked: &dyn Fn(&str) -> bool,
    depth: usize,
    conf: &mut LdSoConf,
    seen: &mut HashSet<String>,
) {
    let Ok(walk) = resolve_path_guarded(tree, path, blocked) else {
        conf.warnings.push(format!("{path}: symlink loop"));
        return;
    };
    let Some((real, entry)) = walk.target() else {
        return;
    };
    if entry.kind != Kind::File {
        return;
    }
    if depth > MAX_INCLUDE_DEPTH || !seen.insert(real.to_string()) {
        conf.warnings
            .push(format!("{path}: included more than once (include loop?)"));
        return;
    }
    let text = match tree.read(real) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            conf.warnings.push(format!("{path}: {e}"));
            return;
        }
    };
    conf.files.push(path.to_string());
    // Relative include patterns are relative to the including file's directory
    // (/etc for /etc/ld.so.conf itself), as ldconfig does.
    let base = parent(path).unwrap_or("/").to_string();
    for line in parse_lines(&text) {
        match line {
            ConfLine::Dir(dir) => {
                if let Some(dir) = normalize_lexical(&dir)
                    && !conf.dirs.contains(&dir)
                {
                    conf.dirs.push(dir);
                }
            }
            ConfLine::Include(patterns) => {
                for pattern in patterns {
                    let absolute = if pattern.starts_with('/') {
                        pattern
                    } else {
                        join(&base, &pattern)
                    };
                    for file in expand_glob(tree, &absolute, blocked, &mut conf.warnings) {
                        read_conf_file(tree, &file, blocked, depth + 1, conf, seen);
                    }
                }
            }
        }
    }
}

fn has_glob_chars(component: &str) -> bool {
    component.contains(['*', '?', '['])
}

/// Expand an absolute glob pattern against the tree like glob(3): each component with
/// wildcards is matched against `list()` of the directory reached so far (following
/// symlinks), results sorted, hidden names only matched by patterns starting with '.'.
/// Only existing paths are returned, named through the pattern's own directories.
pub fn expand_glob(
    tree: &dyn FileTree,
    pattern: &str,
    blocked: &dyn Fn(&str) -> bool,
    warnings: &mut Vec<String>,
) -> Vec<String> {
    let Some(pattern) = normalize_lexical(pattern) else {
        return Vec::new();
    };
    let mut candidates = vec![String::from("/")];
    for component in pattern.split('/').filter(|c| !c.is_empty()) {
        if !has_glob_chars(component) {
            for c in &mut candidates {
                *c = join(c, component);
            }
            continue;
        }
        let matcher = match GlobBuilder::new(component).literal_separator(true).build() {
            Ok(glob) => glob.compile_matcher(),
            Err(e) => {
                warnings.push(format!("{pattern}: {e}"));
                return Vec::new();
            }
        };
        let mut next = Vec::new();
        for dir in &candidates {
            let Ok(walk) = resolve_path_guarded(tree, dir, blocked) else {
                continue;
            };
            let Some((real_dir, entry)) = walk.target() else {
                continue;
            };
            if entry.kind != Kind::Dir {
                continue;
            }
            for name in tree.list(real_dir) {
                if name.starts_with('.') && !component.starts_with('.') {
                    continue;
                }
                if matcher.is_match(&name) {
                    next.push(join(dir, &name));
                }
            }
        }
        candidates = next;
    }
    candidates.retain(|c| {
        resolve_path_guarded(tree, c, blocked).is_ok_and(|walk| walk.target().is_some())
    });
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::memtree::MemTree;

    #[test]
    fn parses_dirs_includes_and_ignores_hwcap() {
        let lines = parse_lines(
            "# comment\ninclude /etc/ld.so.conf.d/*.conf a.conf\n/usr/local/lib\nhwcap 1 nosegneg\n\
             /opt/old=libc6  \n   \n",
        );
        assert_eq!(
            lines,
            vec![
                ConfLine::Include(vec!["/etc/ld.so.conf.d/*.conf".into(), "a.conf".into()]),
                ConfLine::Dir("/usr/local/lib".into()),
                ConfLine::Dir("/opt/old".into()),
            ]
        );
    }

    #[test]
    fn reads_includes_through_globs_in_sorted_order() {
        let tree = MemTree::new()
            .file(
                "/etc/ld.so.conf",
                0o644,
                b"include /etc/ld.so.conf.d/*.conf\ninclude extra/*.conf\n/first\n".to_vec(),
            )
            .file("/etc/ld.so.conf.d/b.conf", 0o644, b"/usr/lib/b\n".to_vec())
            .file(
                "/etc/ld.so.conf.d/a.conf",
                0o644,
                b"/usr/lib/a\n/first\n".to_vec(),
            )
            .file(
                "/etc/ld.so.conf.d/.hidden.conf",
                0o644,
                b"/hidden\n".to_vec(),
            )
            .file("/etc/ld.so.conf.d/readme.txt", 0o644, b"/nope\n".to_vec())
            .file(
                "/etc/extra/x.conf",
                0o644,
                b"/opt/x/lib\ninclude /etc/ld.so.conf\n".to_vec(),
            );
        let conf = read_ld_so_conf(&tree, &|_| false);
        assert_eq!(
            conf.dirs,
            vec!["/usr/lib/a", "/first", "/usr/lib/b", "/opt/x/lib"]
        );
        assert_eq!(
            conf.files,
            vec![
                "/etc/ld.so.conf",
                "/etc/ld.so.conf.d/a.conf",
                "/etc/ld.so.conf.d/b.conf",
                "/etc/extra/x.conf",
            ]
        );
        // the self-include was noticed, not followed forever
        assert_eq!(conf.warnings.len(), 1);
    }

    #[test]
    fn glob_follows_symlinked_directories() {
        let tree = MemTree::new()
            .file("/usr/share/ldconf/one.conf", 0o644, b"/one\n".to_vec())
            .symlink("/etc/ld.so.conf.d", "/usr/share/ldconf")
            .file(
                "/etc/ld.so.conf",
                0o644,
                b"include ld.so.conf.d/*.conf\n".to_vec(),
            );
        let conf = read_ld_so_conf(&tree, &|_| false);
        assert_eq!(conf.dirs, vec!["/one"]);
        assert_eq!(
            conf.files,
            vec!["/etc/ld.so.conf", "/etc/ld.so.conf.d/one.conf"]
        );
    }

    #[test]
    fn absent_config_is_empty() {
        assert_eq!(
            read_ld_so_conf(&MemTree::new(), &|_| false),
            LdSoConf::default()
        );
    }
}
