//! Names read from images, image files and build contexts, made safe in one place: a `..`
//! in a tar member or a link target is how an archive reaches outside the directory it is
//! unpacked into, so every reader of such names goes through these functions.

/// The components of an entry name (`./a//b/` → `["a", "b"]`), or `None` if any is `..`.
pub fn components(name: &str) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            other => parts.push(other),
        }
    }
    Some(parts)
}

/// An entry name as a relative name (`./a//b/` → `a/b`); `None` for the root itself or a
/// name with `..`.
pub fn relative_name(name: &str) -> Option<String> {
    components(name)
        .filter(|parts| !parts.is_empty())
        .map(|parts| parts.join("/"))
}

/// An entry name as an absolute path (`./usr/lib/` → `/usr/lib`); `Some(None)` for the root
/// itself, `None` for a name with `..`.
pub fn absolute_name(name: &str) -> Option<Option<String>> {
    components(name).map(|parts| (!parts.is_empty()).then(|| format!("/{}", parts.join("/"))))
}

/// `base` (components below a root) followed by `rest`, with `..` resolved lexically; `None`
/// if it climbs above the root. A symlink's target inside an archive is resolved this way.
pub fn join_within<'a>(base: &[&'a str], rest: &'a str) -> Option<Vec<&'a str>> {
    let mut parts = base.to_vec();
    for part in rest.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts)
}

/// Lexical clean as Go's `filepath.Clean` does it (the rules `.dockerignore` patterns and
/// build contexts follow): a leading `..` of a relative path stays, `/..` is `/`.
pub fn clean_like_go(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            part => parts.push(part),
        }
    }
    match (parts.is_empty(), absolute) {
        (true, true) => "/".into(),
        (true, false) => ".".into(),
        (false, true) => format!("/{}", parts.join("/")),
        (false, false) => parts.join("/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_refuse_any_parent_component() {
        assert_eq!(components("./a//b/"), Some(vec!["a", "b"]));
        assert_eq!(components("a/../b"), None);
        assert_eq!(components(".."), None);
        assert_eq!(relative_name("./a//b/").as_deref(), Some("a/b"));
        assert_eq!(relative_name("./"), None);
        assert_eq!(absolute_name("./usr/lib/"), Some(Some("/usr/lib".into())));
        assert_eq!(absolute_name("."), Some(None));
        assert_eq!(absolute_name("usr/../../etc"), None);
    }

    #[test]
    fn links_resolve_inside_the_root_only() {
        assert_eq!(join_within(&["x"], "../b"), Some(vec!["b"]));
        assert_eq!(
            join_within(&["usr", "lib"], "../../etc/passwd"),
            Some(vec!["etc", "passwd"])
        );
        assert_eq!(join_within(&[], "../b"), None);
        assert_eq!(join_within(&["a"], "../../b"), None);
    }

    #[test]
    fn go_clean_keeps_leading_parents_of_relative_paths() {
        assert_eq!(clean_like_go("a/../../b"), "../b");
        assert_eq!(clean_like_go("/../a"), "/a");
        assert_eq!(clean_like_go("./"), ".");
        assert_eq!(clean_like_go("/"), "/");
        assert_eq!(clean_like_go("a//b/./c/"), "a/b/c");
    }
}
