//! The set of paths a slim image keeps, each with the reason it is kept.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Why a path is in the slim image. The first reason recorded for a path wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// the application touched it during analysis
    Traced,
    /// a shared library named by DT_NEEDED of a kept ELF file
    ElfNeeded,
    /// the ELF program interpreter (PT_INTERP) of a kept executable
    Interp,
    /// a symlink crossed on the way to a kept path
    SymlinkHop,
    /// the `#!` interpreter of a kept script
    Shebang,
    /// a directory that holds a kept path
    Parent,
    /// a glibc NSS module named in a kept /etc/nsswitch.conf
    Nss,
    /// loader configuration (/etc/ld.so.conf and its includes, /etc/ld.so.cache)
    LdConfig,
    /// kept by a runtime profile
    Profile,
    /// the app's own content: a file no package owns, under a content root the app used
    AppContent,
    /// a Python module a kept Python file can import
    PythonImport,
    /// a JavaScript module or JSON file a kept Node.js file can require or import
    NodeRequire,
    /// a PHP file a kept PHP file can include or require
    PhpInclude,
    /// a Ruby file a kept Ruby file can require or load
    RubyRequire,
    /// a Perl module or file a kept Perl file can use or require
    PerlUse,
    /// asked for by the user (--include-path and friends)
    Include,
    /// user and group databases needed to run as the chosen user
    User,
}

/// One kept path: why, and which kept path pulled it in (for reasons other than `traced`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    pub reason: Reason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// Kept paths in sorted order (sorted order is also the order of the layer's entries).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepSet {
    pub paths: BTreeMap<String, Kept>,
}

impl KeepSet {
    /// Add `path` unless it is already kept; returns true if it was new.
    pub fn add(&mut self, path: &str, reason: Reason, via: Option<&str>) -> bool {
        if self.paths.contains_key(path) {
            return false;
        }
        self.paths.insert(
            path.to_string(),
            Kept {
                reason,
                via: via.map(str::to_string),
            },
        );
        true
    }

    pub fn contains(&self, path: &str) -> bool {
        self.paths.contains_key(path)
    }

    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}
