//! Path prefixes that never go into a slim image (kernel file systems, files the container
//! runtime bind-mounts, slim's own scratch directory).

use thiserror::Error;

use super::walk::normalize_lexical;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("exclude prefix {0:?} is not an absolute path")]
pub struct RelativeExclude(pub String);

/// Excluded prefixes, matched by whole components: "/dev" covers "/dev" and "/dev/null"
/// but not "/devices".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExcludeList {
    prefixes: Vec<String>,
}

impl ExcludeList {
    pub fn new<S: AsRef<str>>(prefixes: &[S]) -> Result<Self, RelativeExclude> {
        let mut list = Vec::with_capacity(prefixes.len());
        for raw in prefixes {
            let raw = raw.as_ref();
            let clean = normalize_lexical(raw).ok_or_else(|| RelativeExclude(raw.to_string()))?;
            list.push(clean);
        }
        list.sort();
        list.dedup();
        Ok(ExcludeList { prefixes: list })
    }

    /// True if `path` (a clean path) is one of the prefixes or lies beneath one.
    pub fn is_excluded(&self, path: &str) -> bool {
        self.prefixes.iter().any(|prefix| {
            prefix == "/"
                || path == prefix
                || (path.starts_with(prefix.as_str())
                    && path.as_bytes().get(prefix.len()) == Some(&b'/'))
        })
    }

    pub fn prefixes(&self) -> &[String] {
        &self.prefixes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_components_only() {
        let ex = ExcludeList::new(&["/dev", "/etc/hosts", "/proc/"]).unwrap();
        assert!(ex.is_excluded("/dev"));
        assert!(ex.is_excluded("/dev/null"));
        assert!(!ex.is_excluded("/devices"));
        assert!(ex.is_excluded("/etc/hosts"));
        assert!(!ex.is_excluded("/etc/hosts.allow"));
        assert!(!ex.is_excluded("/etc"));
        assert!(ex.is_excluded("/proc/self/maps"));
        assert!(!ex.is_excluded("/"));
    }

    #[test]
    fn relative_prefix_is_rejected() {
        assert_eq!(
            ExcludeList::new(&["proc"]),
            Err(RelativeExclude("proc".into()))
        );
    }
}
