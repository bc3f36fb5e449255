//! What every language's tests share: the imports a source snippet gives, in the shapes
//! the tests compare, the import and the image facts a resolver is asked about, what it
//! found, and building MemTree fixtures.

use super::syntax::Parsers;
use super::{Import, ImportContext, ImportKind, Language, Resolved};
use crate::resolve::memtree::MemTree;

/// The imports of a source snippet the grammar reads without an error.
#[track_caller]
pub fn extract(language: Language, source: &str) -> Vec<Import> {
    let extracted = Parsers::default().extract(language, source.as_bytes());
    assert_eq!(extracted.problem, None, "{source}");
    extracted.imports
}

/// What an import is and where: name, kind, optional, line.
pub type Summary = (String, ImportKind, bool, usize);

/// The summary of each import of a source snippet.
#[track_caller]
pub fn summary(language: Language, source: &str) -> Vec<Summary> {
    extract(language, source)
        .into_iter()
        .map(|i| (i.name, i.kind, i.optional, i.line))
        .collect()
}

/// The summary of an import whose miss is reported.
pub fn mandatory(name: &str, kind: ImportKind, line: usize) -> Summary {
    (name.to_string(), kind, false, line)
}

/// Each import's name, with whether a miss is expected.
#[track_caller]
pub fn optional(language: Language, source: &str) -> Vec<(String, bool)> {
    extract(language, source)
        .into_iter()
        .map(|i| (i.name, i.optional))
        .collect()
}

/// Each import's name, with whether it is made only when a function runs.
#[track_caller]
pub fn lazy(language: Language, source: &str) -> Vec<(String, bool)> {
    extract(language, source)
        .into_iter()
        .map(|i| (i.name, i.lazy))
        .collect()
}

/// Expected `optional` or `lazy` rows, written with string literals.
pub fn named(rows: &[(&str, bool)]) -> Vec<(String, bool)> {
    rows.iter().map(|(n, b)| (n.to_string(), *b)).collect()
}

/// The names of a source snippet's imports of one kind.
#[track_caller]
pub fn names_of_kind(language: Language, source: &str, kind: ImportKind) -> Vec<String> {
    extract(language, source)
        .into_iter()
        .filter(|i| i.kind == kind)
        .map(|i| i.name)
        .collect()
}

/// An import as a resolver is asked about it: on line 1, neither optional nor lazy.
pub fn import(name: &str, kind: ImportKind) -> Import {
    Import {
        name: name.to_string(),
        kind,
        optional: false,
        lazy: false,
        line: 1,
    }
}

/// The image facts: environment variables and the working directory.
pub fn context(env: &[(&str, &str)], workdir: Option<&str>) -> ImportContext {
    ImportContext {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        workdir: workdir.map(str::to_string),
    }
}

/// The files a resolution found; it must not be a miss.
#[track_caller]
pub fn files_found(resolved: Resolved) -> Vec<String> {
    assert!(!resolved.missing, "{resolved:?}");
    resolved.files
}

/// `tree` with a regular file (mode 0644) holding `contents`.
pub fn file(tree: MemTree, path: &str, contents: &str) -> MemTree {
    tree.file(path, 0o644, contents.as_bytes().to_vec())
}

/// `tree` with the `(path, contents)` files.
pub fn with_files(tree: MemTree, files: &[(&str, &str)]) -> MemTree {
    files
        .iter()
        .fold(tree, |tree, (path, contents)| file(tree, path, contents))
}

/// `tree` with a file at each of `paths`, all holding `contents`.
pub fn with_files_holding(tree: MemTree, paths: &[&str], contents: &str) -> MemTree {
    paths
        .iter()
        .fold(tree, |tree, path| file(tree, path, contents))
}
