//! What the resolvers ask the tree, cached: what a path leads to (through symlinks, as the
//! runtime's `open` would) and what a directory holds.

use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use crate::resolve::tree::{FileTree, Kind};
use crate::resolve::walk::{join, normalize_lexical, resolve_path};

/// What a path leads to once every symlink is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leads {
    File,
    Dir,
    Nothing,
}

#[derive(Default)]
pub struct Lookup {
    leads: HashMap<String, Leads>,
    listings: HashMap<String, Rc<Vec<String>>>,
}

impl Lookup {
    pub fn leads(&mut self, tree: &dyn FileTree, path: &str) -> Leads {
        if let Some(known) = self.leads.get(path) {
            return *known;
        }
        let leads = normalize_lexical(path)
            .and_then(|clean| resolve_path(tree, &clean).ok())
            .and_then(|walk| {
                walk.target().map(|(_, entry)| match entry.kind {
                    Kind::File => Leads::File,
                    Kind::Dir => Leads::Dir,
                    _ => Leads::Nothing,
                })
            })
            .unwrap_or(Leads::Nothing);
        self.leads.insert(path.to_string(), leads);
        leads
    }

    pub fn is_file(&mut self, tree: &dyn FileTree, path: &str) -> bool {
        self.leads(tree, path) == Leads::File
    }

    pub fn is_dir(&mut self, tree: &dyn FileTree, path: &str) -> bool {
        self.leads(tree, path) == Leads::Dir
    }

    /// Names in the directory `dir` leads to (sorted; empty if it is not one).
    pub fn list(&mut self, tree: &dyn FileTree, dir: &str) -> Rc<Vec<String>> {
        if let Some(known) = self.listings.get(dir) {
            return known.clone();
        }
        let names = normalize_lexical(dir)
            .and_then(|clean| resolve_path(tree, &clean).ok())
            .and_then(|walk| {
                walk.target()
                    .filter(|(_, e)| e.kind == Kind::Dir)
                    .map(|(real, _)| tree.list(real))
            })
            .unwrap_or_default();
        let names = Rc::new(names);
        self.listings.insert(dir.to_string(), names.clone());
        names
    }

    /// The first of `candidates` (names in `dir`) that is a file, as a path.
    pub fn first_file(
        &mut self,
        tree: &dyn FileTree,
        dir: &str,
        candidates: &[String],
    ) -> Option<String> {
        candidates
            .iter()
            .map(|name| join(dir, name))
            .find(|path| self.is_file(tree, path))
    }

    /// The first of `bases` under which the relative `name` is a file, as a path.
    pub fn first_file_under(
        &mut self,
        tree: &dyn FileTree,
        bases: &[impl AsRef<str>],
        name: &str,
    ) -> Option<String> {
        bases
            .iter()
            .map(|base| join_relative(base.as_ref(), name))
            .find(|path| self.is_file(tree, path))
    }

    /// The `dirs` that are directories, each once, in their order: a search path as the
    /// runtime builds it, without the entries that name nothing.
    pub fn existing_dirs(&mut self, tree: &dyn FileTree, dirs: Vec<String>) -> Vec<String> {
        let mut unique = Vec::new();
        for dir in dirs {
            if !unique.contains(&dir) && self.is_dir(tree, &dir) {
                unique.push(dir);
            }
        }
        unique
    }

    /// Subdirectories of `dir` whose names match `keep`, as paths.
    pub fn subdirs(
        &mut self,
        tree: &dyn FileTree,
        dir: &str,
        keep: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let names = self.list(tree, dir);
        names
            .iter()
            .filter(|name| keep(name))
            .map(|name| join(dir, name))
            .filter(|path| self.is_dir(tree, path))
            .collect()
    }

    /// Multiarch tuples (`x86_64-linux-gnu`) that name directories in /usr/lib: Debian puts
    /// architecture-specific library directories of every runtime there.
    pub fn multiarch(&mut self, tree: &dyn FileTree) -> Vec<String> {
        self.subdirs(tree, "/usr/lib", |name| name.contains("-linux-"))
            .into_iter()
            .filter_map(|path| path.rsplit('/').next().map(str::to_string))
            .collect()
    }

    /// `patterns` with one path for each multiarch tuple where they hold `{multiarch}`,
    /// the others as they are.
    pub fn with_multiarch(&mut self, tree: &dyn FileTree, patterns: &[&str]) -> Vec<String> {
        let multiarch = self.multiarch(tree);
        let mut paths = Vec::new();
        for pattern in patterns {
            if pattern.contains("{multiarch}") {
                paths.extend(multiarch.iter().map(|m| pattern.replace("{multiarch}", m)));
            } else {
                paths.push(pattern.to_string());
            }
        }
        paths
    }

    /// The runtime versions there are: names in `roots` that `is_version` accepts (each
    /// runtime spells its versions its own way), and the versions `learned` from kept paths.
    pub fn versions_in(
        &mut self,
        tree: &dyn FileTree,
        roots: &[String],
        learned: &BTreeSet<String>,
        is_version: impl Fn(&str) -> bool,
    ) -> BTreeSet<String> {
        let mut versions = learned.clone();
        for root in roots {
            let names = self.list(tree, root);
            versions.extend(names.iter().filter(|n| is_version(n)).cloned());
        }
        versions
    }
}

/// `base` joined with a relative `rest` that may hold `.` and `..`, lexically (the way a
/// runtime joins an import path to a directory name before opening it); `..` stops at "/".
pub fn join_relative(base: &str, rest: &str) -> String {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in rest.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}
