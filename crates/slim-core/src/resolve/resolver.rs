//! From the paths a traced run touched to everything the slim image must keep: the traced
//! files, the symlinks crossed to reach them, ELF interpreters and shared libraries,
//! script interpreters, NSS modules, loader configuration, what runtime profiles add, the
//! package database entries of what is left, and all parent directories.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use thiserror::Error;

use super::app_content::{AppRoot, RootHint};
use super::app_content::{DEFAULT_LIMITS, Evidence, find as find_app_content};
use super::elf::{ElfAbi, ElfCache, ElfInfo};
use super::exclude::{ExcludeList, RelativeExclude};
use super::imports::Language;
use super::keep::{KeepSet, Reason};
use super::ldconfig::{LD_SO_CACHE, LdSoConf, read_ld_so_conf};
use super::libsearch::{
    LoaderFlavor, MUSL_DEFAULT_DIRS, SearchInput, default_dirs, inherited_for_children,
    is_musl_builtin, musl_path_file, parse_musl_path, search_dirs,
};
use super::nss::{NSSWITCH_CONF, nss_module_name, nss_services};
use super::packagedb::{
    InstalledPackage, Owners, PackageDb, distribution_id, installed_packages, package_owners,
    select_packages,
};
use super::profile::expand::expand;
use super::profile::pattern::{PathPattern, PatternError, Syntax, has_wildcards};
use super::profile::{Profile, ProfileFiring};
use super::shebang::{DEFAULT_PATH, SHEBANG_LIMIT, env_command, is_env, parse_shebang};
use super::tree::{Entry, FileTree, Kind};
use super::walk::{
    PathWalk, WalkEnd, WalkError, ancestors, is_clean_path, join, normalize_lexical, parent,
    resolve_path_guarded,
};
use crate::sensor::report::Access;

/// What to resolve.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResolveRequest {
    /// path -> accesses, from the trace
    pub traced: BTreeMap<String, BTreeSet<Access>>,
    /// paths to keep as well, with their reason; a directory means its whole tree, a path
    /// with wildcards (`*`, `**`, `?`, `[...]`) every existing path it matches
    pub extra: Vec<(String, Reason)>,
    /// the image's PATH, for `#!/usr/bin/env NAME` (Docker's default PATH if empty)
    pub env_path: Vec<String>,
    /// the image's LD_LIBRARY_PATH
    pub ld_library_path: Vec<String>,
    /// path prefixes never kept (whole components: "/dev" excludes "/dev/null" only)
    pub exclude: Vec<String>,
    /// programs to keep, found along `env_path` like a shell does (`--include-exe`), with
    /// their interpreters and libraries; a name with a '/' is a path
    #[serde(default)]
    pub include_exe: Vec<String>,
    /// globs of paths never kept, even if traced (`**` covers a whole tree: `/usr/share/doc/**`);
    /// a matching directory is still kept when something below it is
    #[serde(default)]
    pub exclude_patterns: Vec<String>,
    /// runtime profiles to apply
    #[serde(default)]
    pub profiles: Vec<Profile>,
    /// keep the dpkg/apk database entries of the packages that still own a kept file
    #[serde(default)]
    pub keep_package_db: bool,
    /// languages whose imports are followed from every kept source file
    #[serde(default)]
    pub imports: Vec<Language>,
    /// keep the files no package owns under the app's content roots
    #[serde(default)]
    pub app_content: bool,
    /// content roots the image's configuration names (WORKDIR, paths in its command)
    #[serde(default)]
    pub app_hints: Vec<RootHint>,
    /// the image's environment (PYTHONPATH, NODE_PATH, ...), for the languages' search paths
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// the image's WORKDIR
    #[serde(default)]
    pub workdir: Option<String>,
}

/// An import no file was found for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct UnresolvedModule {
    pub language: Language,
    /// the file that imports it, and the line
    pub file: String,
    pub line: usize,
    pub module: String,
}

/// A source file whose imports could not be (fully) read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct UnparsedFile {
    pub path: String,
    pub problem: String,
}

/// What to keep, and what could not be accounted for.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Resolution {
    pub keep: KeepSet,
    /// traced paths (not written during the run) that do not exist in the tree
    pub missing: Vec<String>,
    /// `extra` paths that do not exist in the tree
    pub missing_extra: Vec<String>,
    /// (object, needed name) pairs no library was found for; also a missing PT_INTERP
    pub unresolved_libs: Vec<(String, String)>,
    /// directories (and written files) the app writes to at run time
    pub writable_dirs: BTreeSet<String>,
    /// oddities that did not stop the resolution (symlink loops, unreadable files, ...)
    pub warnings: Vec<String>,
    /// paths that would have been kept but match an exclude pattern
    #[serde(default)]
    pub excluded: BTreeSet<String>,
    /// `include_exe` programs not found
    #[serde(default)]
    pub missing_exe: Vec<String>,
    /// the profiles that applied, in the order they did
    #[serde(default)]
    pub profiles_fired: Vec<ProfileFiring>,
    /// the package database and the packages that still own kept files
    #[serde(default)]
    pub package_db: Option<PackageDb>,
    /// the app's content roots, with the evidence for each
    #[serde(default)]
    pub app_roots: Vec<AppRoot>,
    /// imports of kept source files that nothing was found for (optional imports, inside a
    /// `try`, are not listed)
    #[serde(default)]
    pub unresolved_modules: Vec<UnresolvedModule>,
    /// source files the language closure could not fully parse; the imports found outside
    /// the broken part are still followed
    #[serde(default)]
    pub unparsed: Vec<UnparsedFile>,
    /// real path -> what the app did to it (through whatever symlinks it named it by)
    #[serde(default)]
    pub accessed: BTreeMap<String, BTreeSet<Access>>,
    /// the packages that still own kept files, with their versions and those files
    #[serde(default)]
    pub packages: Vec<InstalledPackage>,
    /// the distribution's os-release `ID`, for package URLs
    pub distro: Option<String>,
}

#[derive(Debug, Error)]
pub enum ResolveError {
    #[error(transparent)]
    Exclude(#[from] RelativeExclude),
    #[error("path to keep {0:?} is not absolute")]
    RelativeExtra(String),
    #[error("path to keep: {0}")]
    ExtraPattern(PatternError),
    #[error("exclude pattern: {0}")]
    ExcludePattern(PatternError),
}

/// Compute the [`KeepSet`] for a traced run.
pub fn resolve(tree: &dyn FileTree, req: &ResolveRequest) -> Result<Resolution, ResolveError> {
    let exclude = ExcludeList::new(&req.exclude)?;
    let mut extra = Vec::with_capacity(req.extra.len());
    for (path, reason) in &req.extra {
        let clean =
            normalize_lexical(path).ok_or_else(|| ResolveError::RelativeExtra(path.clone()))?;
        let glob = if has_wildcards(&clean) {
            let pattern =
                PathPattern::parse(&clean, Syntax::Glob).map_err(ResolveError::ExtraPattern)?;
            Some(pattern)
        } else {
            None
        };
        extra.push((clean, glob, *reason));
    }
    let exclude_patterns = req
        .exclude_patterns
        .iter()
        .map(|text| PathPattern::parse(text, Syntax::Glob))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ResolveError::ExcludePattern)?;
    let mut env_path = clean_dirs(&req.env_path);
    if env_path.is_empty() {
        env_path = DEFAULT_PATH.iter().map(|d| d.to_string()).collect();
    }
    let mut resolver = Resolver {
        tree,
        exclude,
        exclude_patterns,
        env_path,
        ld_library_path: clean_dirs(&req.ld_library_path),
        keep: KeepSet::default(),
        elf: ElfCache::new(),
        ld_conf: None,
        musl_dirs: HashMap::new(),
        queue: VecDeque::new(),
        expanded: HashSet::new(),
        write_anchors: Vec::new(),
        out: Resolution::default(),
        unresolved: BTreeSet::new(),
        glibc_abis: BTreeSet::new(),
        musl_arches: BTreeSet::new(),
        any_dynamic: false,
        profile_runs: req.profiles.iter().map(|_| ProfileRun::default()).collect(),
        offered_to_profiles: HashSet::new(),
        left_out: Vec::new(),
        imports: ImportRun::new(req),
        traced_names: HashSet::new(),
        owners: None,
    };

    // Order matters only for the reason each path gets: traced paths first.
    resolver.keep_traced(&req.traced);
    for (path, glob, reason) in &extra {
        match glob {
            Some(pattern) => resolver.keep_extra_glob(pattern, *reason),
            None => {
                resolver.keep_extra(path, *reason, None);
            }
        }
    }
    for name in &req.include_exe {
        resolver.keep_include_exe(name);
    }
    resolver.drain_queue();
    if req.app_content {
        resolver.keep_app_content(req);
    }
    // Profiles and imports can keep what makes other profiles (or NSS, or imports) apply,
    // and the other way round.
    loop {
        let before = resolver.keep.len();
        resolver.apply_profiles(&req.profiles);
        resolver.keep_nss_modules();
        resolver.drain_queue();
        resolver.keep_imports(&req.imports);
        if resolver.keep.len() == before {
            break;
        }
    }
    resolver.keep_codecs(&req.imports);
    resolver.keep_loader_config();
    if req.keep_package_db {
        resolver.keep_package_db();
    }
    resolver.keep_parents();
    resolver.list_packages();
    Ok(resolver.finish())
}

/// Split ':'-joined entries, keep absolute ones, normalized.
fn clean_dirs(dirs: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for dir in dirs.iter().flat_map(|d| d.split(':')) {
        if let Some(dir) = normalize_lexical(dir)
            && !out.contains(&dir)
        {
            out.push(dir);
        }
    }
    out
}

/// A kept regular file still to be looked at for an ELF interpreter and libraries, or
/// (if executed) a `#!` line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Pending {
    /// path it was reached by (for `$ORIGIN`)
    found: String,
    real: String,
    executed: bool,
    flavor: LoaderFlavor,
    /// RPATH directories of the objects that loaded it
    inherited: Vec<String>,
}

struct Resolver<'t> {
    tree: &'t dyn FileTree,
    exclude: ExcludeList,
    exclude_patterns: Vec<PathPattern>,
    env_path: Vec<String>,
    ld_library_path: Vec<String>,
    keep: KeepSet,
    elf: ElfCache,
    ld_conf: Option<LdSoConf>,
    musl_dirs: HashMap<String, Vec<String>>,
    queue: VecDeque<Pending>,
    /// expanded already; the same file can come back with another loader context
    expanded: HashSet<Pending>,
    /// nearest existing directory of a path created at run time, with that path
    write_anchors: Vec<(String, String)>,
    out: Resolution,
    unresolved: BTreeSet<(String, String)>,
    /// ABIs of kept dynamic executables using glibc, for finding NSS modules
    glibc_abis: BTreeSet<ElfAbi>,
    musl_arches: BTreeSet<String>,
    any_dynamic: bool,
    /// per profile of the request, in its order
    profile_runs: Vec<ProfileRun>,
    /// kept paths every profile has looked at already
    offered_to_profiles: HashSet<String>,
    /// `leave_out` of the profile being applied
    left_out: Vec<PathPattern>,
    /// the language closure's state between rounds
    imports: ImportRun,
    /// paths as the app named them in the trace (not the targets of symlinks it crossed)
    traced_names: HashSet<String>,
    /// which package installed each path, read once when first needed
    owners: Option<Option<Owners>>,
}

impl Resolver<'_> {
    fn walk(&self, path: &str) -> Result<PathWalk, WalkError> {
        resolve_path_guarded(self.tree, path, &|p| self.exclude.is_excluded(p))
    }

    fn warn(&mut self, message: String) {
        self.out.warnings.push(message);
    }

    /// False (and noted in `excluded`) if an exclude pattern forbids keeping `path`; also
    /// false if the profile being applied leaves it out.
    fn admit(&mut self, path: &str) -> bool {
        if self.keep.contains(path) {
            return true;
        }
        if self.exclude_patterns.iter().any(|p| p.is_match(path)) {
            self.out.excluded.insert(path.to_string());
            return false;
        }
        !self.left_out.iter().any(|p| p.is_match(path))
    }

    /// Keep `path` unless it is kept already or excluded by a pattern.
    fn add(&mut self, path: &str, reason: Reason, via: Option<&str>) {
        if self.admit(path) {
            self.keep.add(path, reason, via);
        }
    }

    /// Keep the symlinks crossed by `walk` and the object it ends at. The link named by
    /// `walked` itself gets `reason`; the others are hops on the way to it. Returns the
    /// target, unless it is a device node (never kept). The root is returned, not kept.
    fn keep_walk(
        &mut self,
        walked: &str,
        walk: &PathWalk,
        reason: Reason,
        via: Option<&str>,
    ) -> Option<(String, Entry)> {
        for link in &walk.symlinks {
            if link == walked {
                self.add(link, reason, via);
            } else {
                self.add(link, Reason::SymlinkHop, Some(walked));
            }
        }
        let (path, entry) = walk.target()?;
        if entry.kind == Kind::Other {
            return None;
        }
        if path != "/" {
            if !self.admit(path) {
                return None;
            }
            self.keep.add(path, reason, via);
        }
        Some((path.to_string(), entry.clone()))
    }

    fn enqueue(
        &mut self,
        found: &str,
        real: &str,
        executed: bool,
        flavor: LoaderFlavor,
        inherited: Vec<String>,
    ) {
        self.queue.push_back(Pending {
            found: found.to_string(),
            real: real.to_string(),
            executed,
            flavor,
            inherited,
        });
    }

    // ---- traced paths ---------------------------------------------------------------

    fn keep_traced(&mut self, traced: &BTreeMap<String, BTreeSet<Access>>) {
        let mut paths = Vec::with_capacity(traced.len());
        for (raw, accesses) in traced {
            match normalize_lexical(raw) {
                Some(path) if !self.exclude.is_excluded(&path) => {
                    self.traced_names.insert(path.clone());
                    paths.push((path, accesses));
                }
                Some(_) => {}
                None => self.warn(format!("traced path {raw:?} is not absolute; ignored")),
            }
        }
        // First every traced path that is itself a real path, so a path that is both
        // traced and a hop towards another traced path is reported as traced.
        for (path, _) in &paths {
            if path != "/"
                && is_clean_path(path)
                && let Some(entry) = self.tree.entry(path)
                && entry.kind != Kind::Other
            {
                self.add(path, Reason::Traced, None);
            }
        }
        for (path, accesses) in paths {
            let written = accesses.contains(&Access::Write);
            let walk = match self.walk(&path) {
                Ok(walk) => walk,
                Err(e) => {
                    self.warn(e.to_string());
                    continue;
                }
            };
            let via = path.as_str();
            for link in &walk.symlinks {
                let reason = if link == via {
                    Reason::Traced
                } else {
                    Reason::SymlinkHop
                };
                let link_via = (link != via).then_some(via);
                self.add(link, reason, link_via);
            }
            match &walk.end {
                WalkEnd::Found { path: real, entry } => {
                    if entry.kind == Kind::Other || real == "/" || !self.admit(real) {
                        continue;
                    }
                    self.keep.add(real, Reason::Traced, None);
                    self.out
                        .accessed
                        .entry(real.clone())
                        .or_default()
                        .extend(accesses.iter().copied());
                    if entry.kind == Kind::File {
                        let executed = accesses.contains(&Access::Exec);
                        self.enqueue(via, real, executed, LoaderFlavor::Unknown, Vec::new());
                    }
                    if written {
                        self.out.writable_dirs.insert(real.clone());
                        if entry.kind != Kind::Dir
                            && let Some(dir) = parent(real)
                        {
                            self.out.writable_dirs.insert(dir.to_string());
                        }
                    }
                }
                WalkEnd::Missing { .. } | WalkEnd::NotADirectory { .. } => {
                    if written {
                        // Created at run time: its directory must exist and be writable.
                        self.out.writable_dirs.insert(walk.deepest_dir.clone());
                        self.write_anchors
                            .push((walk.deepest_dir.clone(), path.clone()));
                    } else {
                        self.out.missing.push(path.clone());
                    }
                }
                WalkEnd::Blocked { .. } => {}
            }
        }
    }

    // ---- extra paths (--include-path, user databases, profiles) -----------------------

    /// Keep `path` (a directory with its whole tree). `via` names who asked (a profile);
    /// without it the path is the user's and reported in `missing_extra` if absent.
    fn keep_extra(&mut self, path: &str, reason: Reason, via: Option<&str>) {
        if self.exclude.is_excluded(path) {
            return;
        }
        let walk = match self.walk(path) {
            Ok(walk) => walk,
            Err(e) => {
                self.warn(e.to_string());
                return;
            }
        };
        match self.keep_walk(path, &walk, reason, via) {
            Some((real, entry)) => match entry.kind {
                Kind::Dir => self.keep_tree(&real, reason, via.unwrap_or(path)),
                Kind::File => self.enqueue(path, &real, false, LoaderFlavor::Unknown, Vec::new()),
                _ => {}
            },
            None => {
                let absent = !matches!(walk.end, WalkEnd::Blocked { .. } | WalkEnd::Found { .. });
                if absent && via.is_none() {
                    self.out.missing_extra.push(path.to_string());
                }
            }
        }
    }

    /// Keep every path an `extra` glob matches; the glob itself is missing if none does.
    fn keep_extra_glob(&mut self, pattern: &PathPattern, reason: Reason) {
        let components = match pattern.bind(&BTreeMap::new()) {
            Ok(components) => components,
            Err(e) => {
                self.warn(e.to_string());
                return;
            }
        };
        let matches = expand(self.tree, &components, &|p| self.exclude.is_excluded(p));
        if matches.is_empty() {
            self.out.missing_extra.push(pattern.source().to_string());
        }
        for path in matches {
            self.keep_extra(&path, reason, None);
        }
    }

    /// `--include-exe NAME`: the first executable NAME along PATH, run as a program would be.
    fn keep_include_exe(&mut self, name: &str) {
        let found = if name.contains('/') {
            normalize_lexical(name).and_then(|path| {
                let walk = self.walk(&path).ok()?;
                is_executable(&walk).then_some((path, walk))
            })
        } else {
            self.find_on_path(name)
        };
        let Some((path, walk)) = found else {
            self.out.missing_exe.push(name.to_string());
            return;
        };
        if let Some((real, _)) = self.keep_walk(&path, &walk, Reason::Include, None) {
            self.enqueue(&path, &real, true, LoaderFlavor::Unknown, Vec::new());
        }
    }

    /// The first executable regular file called `name` in the image's PATH, as a shell
    /// finds it, with the walk to it.
    fn find_on_path(&self, name: &str) -> Option<(String, PathWalk)> {
        self.env_path.iter().find_map(|dir| {
            let candidate = join(dir, name);
            let walk = self.walk(&candidate).ok()?;
            is_executable(&walk).then_some((candidate, walk))
        })
    }

    /// Keep a whole directory tree. Symlinks inside are kept and followed (their targets
    /// are kept too, directories recursively), so the tree works as the app sees it.
    fn keep_tree(&mut self, root: &str, reason: Reason, via: &str) {
        let mut stack = vec![root.to_string()];
        let mut visited = HashSet::new();
        while let Some(dir) = stack.pop() {
            if !visited.insert(dir.clone()) {
                continue;
            }
            if dir != "/" {
                self.add(&dir, reason, Some(via));
            }
            for name in self.tree.list(&dir) {
                let child = join(&dir, &name);
                if self.exclude.is_excluded(&child) {
                    continue;
                }
                let Some(entry) = self.tree.entry(&child) else {
                    continue;
                };
                match entry.kind {
                    Kind::Dir => stack.push(child),
                    Kind::File => {
                        if self.admit(&child) {
                            self.keep.add(&child, reason, Some(via));
                            self.enqueue(&child, &child, false, LoaderFlavor::Unknown, Vec::new());
                        }
                    }
                    Kind::Symlink(_) => {
                        let walk = match self.walk(&child) {
                            Ok(walk) => walk,
                            Err(e) => {
                                self.warn(e.to_string());
                                continue;
                            }
                        };
                        match self.keep_walk(&child, &walk, reason, Some(via)) {
                            Some((target, e)) if e.kind == Kind::Dir => stack.push(target),
                            Some((target, e)) if e.kind == Kind::File => self.enqueue(
                                &child,
                                &target,
                                false,
                                LoaderFlavor::Unknown,
                                Vec::new(),
                            ),
                            _ => {}
                        }
                    }
                    Kind::Other => {}
                }
            }
        }
    }

    // ---- ELF closure and scripts ------------------------------------------------------

    fn drain_queue(&mut self) {
        while let Some(item) = self.queue.pop_front() {
            if self.expanded.contains(&item) {
                continue;
            }
            self.expanded.insert(item.clone());
            match self.elf.get(self.tree, &item.real) {
                Ok(Some(info)) => self.expand_elf(&item, &info),
                Ok(None) if item.executed => self.expand_script(&item),
                Ok(None) => {}
                Err(e) => self.warn(e.to_string()),
            }
        }
    }

    fn expand_elf(&mut self, item: &Pending, info: &Arc<ElfInfo>) {
        // An object with its own PT_INTERP is an executable: its loader decides.
        let flavor = match &info.interpreter {
            Some(interp) => LoaderFlavor::from_interpreter(interp),
            None => item.flavor.clone(),
        };
        if info.is_dynamic() {
            self.any_dynamic = true;
            match &flavor {
                LoaderFlavor::Glibc => {
                    self.glibc_abis.insert(info.abi);
                }
                LoaderFlavor::Musl { arch } => {
                    self.musl_arches.insert(arch.clone());
                }
                LoaderFlavor::Unknown => {}
            }
        }

        if let Some(interp) = &info.interpreter {
            self.keep_interpreter(item, interp, &flavor);
        }
        if info.needed.is_empty() {
            return;
        }

        let conf_dirs = self.ld_conf().dirs.clone();
        let musl_dirs = match &flavor {
            LoaderFlavor::Musl { arch } => self.musl_dirs_for(arch),
            _ => Vec::new(),
        };
        let dirs = search_dirs(&SearchInput {
            found: &item.found,
            real: &item.real,
            info,
            flavor: &flavor,
            inherited: &item.inherited,
            ld_library_path: &self.ld_library_path,
            ld_so_conf_dirs: &conf_dirs,
            musl_dirs: &musl_dirs,
        });
        let for_children =
            inherited_for_children(&item.found, &item.real, info, &flavor, &item.inherited);

        for soname in &info.needed {
            match self.find_library(soname, &dirs, info.abi) {
                Some((candidate, walk)) => {
                    let kept =
                        self.keep_walk(&candidate, &walk, Reason::ElfNeeded, Some(&item.real));
                    if let Some((real, _)) = kept {
                        self.enqueue(
                            &candidate,
                            &real,
                            false,
                            flavor.clone(),
                            for_children.clone(),
                        );
                    }
                }
                None => {
                    let musl = matches!(flavor, LoaderFlavor::Musl { .. });
                    if !(musl && is_musl_builtin(soname)) {
                        self.unresolved.insert((item.real.clone(), soname.clone()));
                    }
                }
            }
        }
    }

    fn keep_interpreter(&mut self, item: &Pending, interp: &str, flavor: &LoaderFlavor) {
        let Some(path) = normalize_lexical(interp) else {
            self.warn(format!("{}: relative PT_INTERP {interp:?}", item.real));
            return;
        };
        let walk = match self.walk(&path) {
            Ok(walk) => walk,
            Err(e) => {
                self.warn(e.to_string());
                return;
            }
        };
        match self.keep_walk(&path, &walk, Reason::Interp, Some(&item.real)) {
            Some((real, entry)) if entry.kind == Kind::File => {
                self.enqueue(&path, &real, false, flavor.clone(), Vec::new());
            }
            Some(_) => {}
            None => {
                if !matches!(walk.end, WalkEnd::Blocked { .. }) {
                    self.unresolved
                        .insert((item.real.clone(), interp.to_string()));
                }
            }
        }
    }

    /// First candidate that is a regular ELF file loadable next to an object of `abi`.
    fn find_library(
        &mut self,
        soname: &str,
        dirs: &[String],
        abi: ElfAbi,
    ) -> Option<(String, PathWalk)> {
        let candidates: Vec<String> = if soname.contains('/') {
            // a DT_NEEDED with a slash is used as a path (relative ones: unknown cwd)
            normalize_lexical(soname).into_iter().collect()
        } else {
            dirs.iter().map(|dir| join(dir, soname)).collect()
        };
        for candidate in candidates {
            let Ok(walk) = self.walk(&candidate) else {
                continue;
            };
            let Some((real, entry)) = walk.target() else {
                continue;
            };
            if entry.kind != Kind::File {
                continue;
            }
            match self.elf.get(self.tree, real) {
                // ld.so skips files of another class or machine and keeps searching
                Ok(Some(info)) if info.abi == abi => return Some((candidate, walk)),
                Ok(_) => {}
                Err(e) => self.warn(e.to_string()),
            }
        }
        None
    }

    fn expand_script(&mut self, item: &Pending) {
        let head = match self.tree.read_prefix(&item.real, SHEBANG_LIMIT) {
            Ok(head) => head,
            Err(e) => {
                self.warn(format!("{}: {e}", item.real));
                return;
            }
        };
        let Some(shebang) = parse_shebang(&head) else {
            return;
        };
        match self.keep_program(&shebang.interpreter, &item.real) {
            Some(true) => {}
            _ => self.warn(format!(
                "{}: interpreter {} not found",
                item.real, shebang.interpreter
            )),
        }
        if is_env(&shebang.interpreter)
            && let Some(name) = shebang.argument.as_deref().and_then(env_command)
        {
            self.keep_env_command(&name, &item.real);
        }
    }

    /// Keep a program a script runs (Shebang) and queue it as executed.
    /// Some(true) if it exists as a regular file.
    fn keep_program(&mut self, path: &str, script: &str) -> Option<bool> {
        let path = normalize_lexical(path)?;
        let walk = self.walk(&path).ok()?;
        let (real, entry) = self.keep_walk(&path, &walk, Reason::Shebang, Some(script))?;
        let is_file = entry.kind == Kind::File;
        if is_file {
            self.enqueue(&path, &real, true, LoaderFlavor::Unknown, Vec::new());
        }
        Some(is_file)
    }

    /// `#!/usr/bin/env NAME`: keep the first executable NAME along the image's PATH.
    fn keep_env_command(&mut self, name: &str, script: &str) {
        if name.contains('/') {
            if self.keep_program(name, script) != Some(true) {
                self.warn(format!("{script}: env command {name} not found"));
            }
            return;
        }
        let Some((candidate, walk)) = self.find_on_path(name) else {
            self.warn(format!("{script}: env command {name} not found in PATH"));
            return;
        };
        if let Some((real, _)) = self.keep_walk(&candidate, &walk, Reason::Shebang, Some(script)) {
            self.enqueue(&candidate, &real, true, LoaderFlavor::Unknown, Vec::new());
        }
    }

    // ---- loader configuration and NSS -------------------------------------------------

    fn ld_conf(&mut self) -> &LdSoConf {
        if self.ld_conf.is_none() {
            let conf = read_ld_so_conf(self.tree, &|p| self.exclude.is_excluded(p));
            self.out.warnings.extend(conf.warnings.iter().cloned());
            self.ld_conf = Some(conf);
        }
        self.ld_conf.get_or_insert_with(LdSoConf::default)
    }

    fn musl_dirs_for(&mut self, arch: &str) -> Vec<String> {
        if let Some(dirs) = self.musl_dirs.get(arch) {
            return dirs.clone();
        }
        let file = musl_path_file(arch);
        let from_file = self
            .walk(&file)
            .ok()
            .and_then(|walk| {
                walk.target()
                    .filter(|(_, e)| e.kind == Kind::File)
                    .map(|(p, _)| p.to_string())
            })
            .and_then(|real| self.tree.read(&real).ok())
            .map(|bytes| parse_musl_path(&String::from_utf8_lossy(&bytes)));
        let dirs =
            from_file.unwrap_or_else(|| MUSL_DEFAULT_DIRS.iter().map(|d| d.to_string()).collect());
        self.musl_dirs.insert(arch.to_string(), dirs.clone());
        dirs
    }

    /// glibc dlopens `libnss_SERVICE.so.2` for the services a kept nsswitch.conf names.
    fn keep_nss_modules(&mut self) {
        if self.glibc_abis.is_empty() {
            return; // no glibc program to load them
        }
        let Ok(walk) = self.walk(NSSWITCH_CONF) else {
            return;
        };
        let Some((real, entry)) = walk.target() else {
            return;
        };
        if entry.kind != Kind::File || !self.keep.contains(real) {
            return;
        }
        let text = match self.tree.read(real) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                self.warn(format!("{NSSWITCH_CONF}: {e}"));
                return;
            }
        };
        let services = nss_services(&text);
        let conf_dirs = self.ld_conf().dirs.clone();
        for abi in self.glibc_abis.clone() {
            let mut dirs = self.ld_library_path.clone();
            dirs.extend(conf_dirs.iter().cloned());
            dirs.extend(default_dirs(abi));
            // Modules that do not exist are normal ("files"/"dns" live in libc since
            // glibc 2.34; "systemd" may not be installed): glibc skips them too.
            for service in &services {
                let name = nss_module_name(service);
                if let Some((candidate, walk)) = self.find_library(&name, &dirs, abi)
                    && let Some((real, _)) =
                        self.keep_walk(&candidate, &walk, Reason::Nss, Some(NSSWITCH_CONF))
                {
                    self.enqueue(&candidate, &real, false, LoaderFlavor::Glibc, Vec::new());
                }
            }
        }
    }

    fn keep_config_file(&mut self, path: &str) {
        if let Ok(walk) = self.walk(path) {
            self.keep_walk(path, &walk, Reason::LdConfig, None);
        }
    }

    /// The loader reads its configuration at every start of a dynamic program.
    fn keep_loader_config(&mut self) {
        if !self.any_dynamic {
            return;
        }
        let files = self.ld_conf().files.clone();
        for file in files {
            self.keep_config_file(&file);
        }
        self.keep_config_file(LD_SO_CACHE);
        for arch in self.musl_arches.clone() {
            self.keep_config_file(&musl_path_file(&arch));
        }
    }

    // ---- the app's own content --------------------------------------------------------

    /// Keep the files no package owns under the app's content roots.
    fn keep_app_content(&mut self, req: &ResolveRequest) {
        let owned: Option<HashSet<String>> = self
            .owners()
            .map(|owners| owners.paths.keys().cloned().collect());
        let exclude = &self.exclude;
        let blocked = |p: &str| exclude.is_excluded(p);
        let read_files: Vec<String> = req
            .traced
            .iter()
            .filter(|(_, accesses)| {
                accesses.contains(&Access::Read) || accesses.contains(&Access::Exec)
            })
            .filter_map(|(path, _)| {
                let walk = resolve_path_guarded(self.tree, path, &blocked).ok()?;
                let (real, entry) = walk.target()?;
                (entry.kind == Kind::File).then(|| real.to_string())
            })
            .collect();
        let kept_files: Vec<String> = self
            .keep
            .paths
            .keys()
            .filter(|p| self.tree.entry(p).is_some_and(|e| e.kind == Kind::File))
            .cloned()
            .collect();
        let evidence = Evidence {
            hints: &req.app_hints,
            read_files: &read_files,
            kept_files: &kept_files,
        };
        let content = find_app_content(
            self.tree,
            &blocked,
            owned.as_ref(),
            &evidence,
            DEFAULT_LIMITS,
        );
        for (file, root) in &content.files {
            self.keep_extra(file, Reason::AppContent, Some(root));
        }
        self.out.app_roots = content.roots;
        self.drain_queue();
    }

    // ---- package database -------------------------------------------------------------

    /// Which package installed each path (read once).
    fn owners(&mut self) -> Option<&Owners> {
        if self.owners.is_none() {
            let exclude = &self.exclude;
            let mut warnings = Vec::new();
            let owners = package_owners(self.tree, &|p| exclude.is_excluded(p), &mut warnings);
            self.out.warnings.extend(warnings);
            self.owners = Some(owners);
        }
        self.owners.as_ref().and_then(Option::as_ref)
    }

    /// The packages that still own kept files, with their versions, for the SBOM.
    fn list_packages(&mut self) {
        if self.owners().is_none() {
            return;
        }
        let Some(Some(owners)) = &self.owners else {
            return;
        };
        let exclude = &self.exclude;
        let keep = &self.keep;
        let mut warnings = Vec::new();
        self.out.packages = installed_packages(
            self.tree,
            &|p| exclude.is_excluded(p),
            owners,
            &|p| keep.contains(p),
            &mut warnings,
        );
        self.out.warnings.extend(warnings);
        self.out.distro = distribution_id(self.tree, &|p| exclude.is_excluded(p));
    }

    /// Keep the database entries of the packages that still own a kept file.
    fn keep_package_db(&mut self) {
        let keep = &self.keep;
        let exclude = &self.exclude;
        let mut warnings = Vec::new();
        let selection = select_packages(
            self.tree,
            &|p| exclude.is_excluded(p),
            &|p| keep.contains(p),
            &mut warnings,
        );
        self.out.warnings.extend(warnings);
        let Some(selection) = selection else {
            return;
        };
        for file in &selection.files {
            self.keep_extra(file, Reason::Include, Some(PACKAGE_DB_VIA));
        }
        self.out.package_db = Some(selection.db);
    }

    // ---- parents and result ---------------------------------------------------------

    fn keep_parents(&mut self) {
        for (dir, written) in std::mem::take(&mut self.write_anchors) {
            if dir != "/" {
                self.keep.add(&dir, Reason::Parent, Some(&written));
            }
        }
        let kept: Vec<String> = self.keep.paths.keys().cloned().collect();
        for path in &kept {
            for dir in ancestors(path) {
                // ancestors are shared: stop at the first one already kept
                if !self.keep.add(dir, Reason::Parent, None) {
                    break;
                }
            }
        }
    }

    fn finish(mut self) -> Resolution {
        // Nothing excluded can have been added; this is a last line of defence.
        let exclude = &self.exclude;
        self.keep
            .paths
            .retain(|path, _| path != "/" && !exclude.is_excluded(path));
        let mut out = self.out;
        // a refused directory that holds kept paths is in the image after all
        out.excluded.retain(|path| !self.keep.contains(path));
        out.keep = self.keep;
        out.missing.sort();
        out.missing.dedup();
        out.missing_extra.sort();
        out.missing_extra.dedup();
        out.unresolved_libs = self.unresolved.into_iter().collect();
        out.unresolved_modules.sort();
        out.unresolved_modules.dedup();
        out.unparsed.sort();
        out.unparsed.dedup();
        out
    }
}

/// `via` of the package database files.
pub const PACKAGE_DB_VIA: &str = "package-db";

fn is_executable(walk: &PathWalk) -> bool {
    walk.target()
        .is_some_and(|(_, e)| e.kind == Kind::File && e.mode & 0o111 != 0)
}

#[path = "resolver_profiles.rs"]
mod profiles;
use profiles::ProfileRun;

#[path = "resolver_imports.rs"]
mod imports;
use imports::ImportRun;

#[cfg(test)]
#[path = "resolver_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "resolver_controls_tests.rs"]
mod controls_tests;
