//! Applying the language closure to the kept set: every kept source file is parsed once,
//! what it can import is kept (and parsed in a later round), extension modules go through
//! the ELF closure like any other kept file.

use std::collections::{BTreeSet, HashSet};

use super::{ResolveRequest, Resolver, UnparsedFile, UnresolvedModule};
use crate::resolve::imports::{
    Import, ImportContext, ImportKind, Language, Resolvers, extract_all,
};
use crate::resolve::keep::Reason;
use crate::resolve::tree::Kind;
use crate::resolve::walk::join;

/// How much of a file is read to find a `#!` line.
const SHEBANG_HEAD: usize = 128;

/// What the closure remembers between rounds.
pub(super) struct ImportRun {
    /// kept paths looked at already
    offered: HashSet<String>,
    resolvers: Resolvers,
}

impl ImportRun {
    pub(super) fn new(req: &ResolveRequest) -> Self {
        ImportRun {
            offered: HashSet::new(),
            resolvers: Resolvers::new(&ImportContext {
                env: req.env.clone(),
                workdir: req.workdir.clone(),
            }),
        }
    }
}

impl Resolver<'_> {
    /// One round: parse the source files kept since the last round and keep what they
    /// import.
    pub(super) fn keep_imports(&mut self, languages: &[Language]) {
        if languages.is_empty() {
            return;
        }
        let new: Vec<String> = self
            .keep
            .paths
            .keys()
            .filter(|p| !self.imports.offered.contains(*p))
            .cloned()
            .collect();
        if new.is_empty() {
            return;
        }
        self.imports.offered.extend(new.iter().cloned());
        self.imports.resolvers.learn(self.tree, &new);

        let mut sources: Vec<(String, Language)> = Vec::new();
        let mut contents: Vec<(Language, Vec<u8>)> = Vec::new();
        for path in new {
            let Some(entry) = self.tree.entry(&path) else {
                continue;
            };
            if entry.kind != Kind::File {
                continue;
            }
            let has_extension = path.rsplit('/').next().is_some_and(|n| n.contains('.'));
            let head = if !has_extension && entry.mode & 0o111 != 0 {
                self.tree
                    .read_prefix(&path, SHEBANG_HEAD)
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            let Some(language) = Language::of_file(&path, &head) else {
                continue;
            };
            if !languages.contains(&language) {
                continue;
            }
            match self.tree.read(&path) {
                Ok(bytes) => {
                    sources.push((path, language));
                    contents.push((language, bytes));
                }
                Err(e) => self.out.unparsed.push(UnparsedFile {
                    path,
                    problem: e.to_string(),
                }),
            }
        }
        if sources.is_empty() {
            return;
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let extracted = extract_all(&contents, threads);
        drop(contents);

        for ((importer, language), found) in sources.into_iter().zip(extracted) {
            if let Some(problem) = found.problem {
                self.out.unparsed.push(UnparsedFile {
                    path: importer.clone(),
                    problem,
                });
            }
            // A file the app loads (traced, its own content, asked for) may run any of its
            // functions; a module kept only because something might import it needs what
            // it imports when it loads, not what its functions might import in turn.
            let speculative = is_package_manager(&importer)
                || self
                    .keep
                    .paths
                    .get(&importer)
                    .is_some_and(|k| is_import_reason(k.reason));
            // Names in strings count only in the app's own code, where they are its settings.
            let apps_own = self.is_app_content(&importer);
            let wanted = |i: &&Import| {
                !(speculative && i.lazy) && (i.kind != ImportKind::Mention || apps_own)
            };
            for import in found.imports.iter().filter(wanted) {
                let resolved = self
                    .imports
                    .resolvers
                    .resolve(self.tree, language, &importer, import);
                if resolved.missing && !import.optional {
                    self.out.unresolved_modules.push(UnresolvedModule {
                        language,
                        file: importer.clone(),
                        line: import.line,
                        module: import.name.clone(),
                    });
                }
                for file in &resolved.files {
                    if !self.keep.contains(file) {
                        self.keep_extra(file, language.reason(), Some(&importer));
                    }
                }
                for dir in &resolved.dirs {
                    self.keep_dir_files(dir, language.reason(), &importer);
                }
            }
        }
        self.drain_queue();
    }

    /// Python looks codecs up by name; once the trace shows one that nothing but data can
    /// have chosen, keep every codec module (the source only: the interpreter compiles what
    /// it loads). Runs once the closure is complete, when every named codec is known.
    pub(super) fn keep_codecs(&mut self, languages: &[Language]) {
        if !languages.contains(&Language::Python) {
            return;
        }
        let traced: Vec<&str> = self
            .keep
            .paths
            .iter()
            .filter(|(_, kept)| kept.reason == Reason::Traced)
            .map(|(path, _)| path.as_str())
            .collect();
        let packages = self.imports.resolvers.codec_packages(&traced);
        for (dir, why) in packages {
            let modules: BTreeSet<String> = self
                .tree
                .list(&dir)
                .into_iter()
                .filter(|name| name.ends_with(".py"))
                .map(|name| join(&dir, &name))
                .collect();
            let via = format!("{dir} ({why})");
            for module in modules {
                self.keep_extra(&module, Reason::PythonImport, Some(&via));
            }
        }
    }
}

impl Resolver<'_> {
    /// The files directly in `dir` (Perl's `auto/A/B`: the module's shared object and
    /// autoloaded subs), not its subdirectories, which belong to other modules.
    fn keep_dir_files(&mut self, dir: &str, reason: Reason, importer: &str) {
        let Some(real) = self.walk(dir).ok().and_then(|walk| {
            walk.target()
                .filter(|(_, e)| e.kind == Kind::Dir)
                .map(|(real, _)| real.to_string())
        }) else {
            return;
        };
        for name in self.tree.list(&real) {
            let path = join(&real, &name);
            let is_file = self
                .tree
                .entry(&path)
                .is_some_and(|e| matches!(e.kind, Kind::File | Kind::Symlink(_)));
            if is_file && !self.keep.contains(&path) {
                self.keep_extra(&path, reason, Some(importer));
            }
        }
    }

    /// Under one of the app's content roots.
    fn is_app_content(&self, path: &str) -> bool {
        self.out
            .app_roots
            .iter()
            .any(|root| path.starts_with(&format!("{}/", root.path)))
    }
}

/// Package managers' own code: loaded to find installed packages, but what its functions
/// import (installers, downloaders, builders) never runs in a deployed app.
const PACKAGE_MANAGERS: &[&str] = &[
    "/rubygems/",
    "/rubygems.rb",
    "/site-packages/pip/",
    "/dist-packages/pip/",
    "/site-packages/setuptools/",
    "/dist-packages/setuptools/",
    "/node_modules/npm/",
    "/nodejs/npm/",
];

fn is_package_manager(path: &str) -> bool {
    PACKAGE_MANAGERS
        .iter()
        .any(|marker| path.contains(marker) || (marker.ends_with(".rb") && path.ends_with(marker)))
}

fn is_import_reason(reason: Reason) -> bool {
    Language::ALL.iter().any(|l| l.reason() == reason)
}
