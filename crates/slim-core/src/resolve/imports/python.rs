//! Python: `import a.b`, `from a import b` (also relative), `importlib.import_module("x")`
//! and `__import__("x")` anywhere in a file, resolved over `sys.path` as CPython builds it:
//! PYTHONPATH, the standard library and `lib-dynload`, site- and dist-packages (with their
//! `.pth` files), and for the app's own code its own directory.
//!
//! Not followed: imports under `if TYPE_CHECKING:`, `if __name__ == "__main__":` and
//! Windows/macOS-only branches. Byte code (`__pycache__`) is not added for modules the
//! trace did not load: the interpreter compiles the source when it first imports it.

use std::collections::{BTreeMap, BTreeSet};

use tree_sitter::Node;

use super::lookup::Lookup;
use super::syntax::{Context, line, parse_once, text, unquote, walk};
use super::{Import, ImportContext, ImportKind, Language, Resolved};
use crate::resolve::tree::FileTree;
use crate::resolve::walk::{ancestors, join, parent};

// ---- extraction -------------------------------------------------------------------------

pub fn imports(root: Node, source: &[u8]) -> Vec<Import> {
    let mut out = Vec::new();
    let program_only = run_as_program(root, source);
    walk(root, Context::default(), |node, mut context| {
        if node.kind() == "function_definition"
            && node.parent().is_some_and(|p| p.kind() == "module")
            && node
                .child_by_field_name("name")
                .is_some_and(|n| program_only.contains(&text(n, source)))
        {
            return None;
        }
        if let Some(parent) = node.parent() {
            match parent.kind() {
                "try_statement" if parent.child_by_field_name("body") == Some(node) => {
                    context.optional = true;
                }
                "if_statement"
                    if parent.child_by_field_name("consequence") == Some(node)
                        && parent
                            .child_by_field_name("condition")
                            .is_some_and(|c| never_taken_here(text(c, source))) =>
                {
                    return None;
                }
                _ => {}
            }
        }
        match node.kind() {
            "function_definition" | "lambda" => Some(Context {
                lazy: true,
                ..context
            }),
            "import_statement" => {
                let mut cursor = node.walk();
                for name in node.children_by_field_name("name", &mut cursor) {
                    if let Some(module) = imported_name(name, source) {
                        out.push(context.import(module, ImportKind::Module, node));
                    }
                }
                None
            }
            "import_from_statement" => {
                out.extend(from_import(node, source, context));
                None
            }
            "future_import_statement" => None,
            "string" => {
                if let Some(name) = mentioned_module(node, source) {
                    out.push(Import::mention(name, line(node)));
                }
                None
            }
            "call" => {
                // a string in a codec's place may be no codec (`'ignore'`): never a miss
                let codec = Context {
                    optional: true,
                    ..context
                };
                for name in codec_names(node, source) {
                    out.push(codec.import(name, ImportKind::Codec, node));
                }
                if let Some(name) = dynamic_import(node, source) {
                    out.push(context.import(name, ImportKind::Module, node));
                }
                Some(context)
            }
            _ => Some(context),
        }
    });
    out
}

/// Functions the module's `if __name__ == "__main__":` block calls (`_test()`, `main()`):
/// they run when the file is run as a program, which an imported library never is, and
/// an app's entry point that ran was traced.
fn run_as_program<'s>(root: Node, source: &'s [u8]) -> Vec<&'s str> {
    let mut names = Vec::new();
    let mut cursor = root.walk();
    let main_blocks = root.named_children(&mut cursor).filter(|n| {
        n.kind() == "if_statement"
            && n.child_by_field_name("condition").is_some_and(|c| {
                let condition = text(c, source);
                condition.contains("__name__") && condition.contains("__main__")
            })
    });
    for block in main_blocks {
        let Some(body) = block.child_by_field_name("consequence") else {
            continue;
        };
        walk(body, (), |node, ()| {
            if node.kind() == "call"
                && let Some(function) = node.child_by_field_name("function")
                && function.kind() == "identifier"
            {
                names.push(text(function, source));
            }
            Some(())
        });
    }
    names
}

/// `a.b` from a `dotted_name` or an `aliased_import` (`a.b as c`).
fn imported_name(node: Node, source: &[u8]) -> Option<String> {
    let dotted = match node.kind() {
        "aliased_import" => node.child_by_field_name("name")?,
        "dotted_name" => node,
        _ => return None,
    };
    dotted_text(dotted, source)
}

fn dotted_text(dotted: Node, source: &[u8]) -> Option<String> {
    let mut cursor = dotted.walk();
    let parts: Vec<&str> = dotted
        .named_children(&mut cursor)
        .filter(|c| c.kind() == "identifier")
        .map(|c| text(c, source))
        .collect();
    (!parts.is_empty()).then(|| parts.join("."))
}

fn from_import(node: Node, source: &[u8], context: Context) -> Option<Import> {
    let module = node.child_by_field_name("module_name")?;
    let (level, name) = match module.kind() {
        "relative_import" => {
            let mut cursor = module.walk();
            let mut level = 0;
            let mut name = String::new();
            for child in module.named_children(&mut cursor) {
                match child.kind() {
                    "import_prefix" => level = text(child, source).matches('.').count(),
                    "dotted_name" => name = dotted_text(child, source).unwrap_or_default(),
                    _ => {}
                }
            }
            (level, name)
        }
        _ => (0, dotted_text(module, source)?),
    };
    let mut cursor = node.walk();
    let names = node
        .children_by_field_name("name", &mut cursor)
        .filter_map(|n| imported_name(n, source))
        .collect();
    Some(context.import(name, ImportKind::From { names, level }, node))
}

/// `importlib.import_module("x")`, `import_module("x")`, `__import__("x")` with a literal.
fn dynamic_import(node: Node, source: &[u8]) -> Option<String> {
    let function = text(node.child_by_field_name("function")?, source);
    if !matches!(
        function,
        "importlib.import_module" | "import_module" | "__import__" | "importlib.__import__"
    ) {
        return None;
    }
    let arguments = node.child_by_field_name("arguments")?;
    let mut cursor = arguments.walk();
    let first = arguments.named_children(&mut cursor).next()?;
    if first.kind() != "string" {
        return None;
    }
    let literal = text(first, source).trim_start_matches(['r', 'R', 'u', 'U']);
    unquote(literal).filter(|name| !name.is_empty())
}

/// Functions whose string arguments name a codec (positional ones; `encoding=` counts in
/// any call).
const CODEC_FUNCTIONS: &[&str] = &[
    "encode",
    "decode",
    "lookup",
    "getencoder",
    "getdecoder",
    "getincrementalencoder",
    "getincrementaldecoder",
    "getreader",
    "getwriter",
    "iterencode",
    "iterdecode",
];

/// Codec names a call passes as string literals.
fn codec_names(call: Node, source: &[u8]) -> Vec<String> {
    let (Some(function), Some(arguments)) = (
        call.child_by_field_name("function"),
        call.child_by_field_name("arguments"),
    ) else {
        return Vec::new();
    };
    let name = text(function, source)
        .rsplit('.')
        .next()
        .unwrap_or_default();
    let positional = CODEC_FUNCTIONS.contains(&name);
    let literal = |node: Node| {
        (node.kind() == "string")
            .then(|| unquote(text(node, source)))
            .flatten()
            .filter(|v| !v.is_empty() && v.len() <= 40 && !v.contains(char::is_whitespace))
    };
    let mut cursor = arguments.walk();
    let mut names = Vec::new();
    for argument in arguments.named_children(&mut cursor) {
        match argument.kind() {
            "string" if positional => names.extend(literal(argument)),
            "keyword_argument" => {
                let is_encoding = argument
                    .child_by_field_name("name")
                    .is_some_and(|n| text(n, source) == "encoding");
                if is_encoding && let Some(value) = argument.child_by_field_name("value") {
                    names.extend(literal(value));
                }
            }
            _ => {}
        }
    }
    names
}

/// A string literal that reads like a dotted module path (`"app.views.Index"`): Django's
/// INSTALLED_APPS and MIDDLEWARE, logging handler classes, `import_string` arguments.
fn mentioned_module(node: Node, source: &[u8]) -> Option<String> {
    let literal = text(node, source).trim_start_matches(['r', 'R', 'u', 'U']);
    let value = unquote(literal)?;
    let identifier = |part: &str| {
        part.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let parts: Vec<&str> = value.split('.').collect();
    (parts.len() >= 2 && value.len() <= 200 && parts.iter().all(|p| identifier(p))).then_some(value)
}

/// Conditions whose branch never runs when a module is imported in a Linux container.
fn never_taken_here(condition: &str) -> bool {
    let condition: String = condition.split_whitespace().collect();
    if condition.contains("TYPE_CHECKING") {
        return !condition.starts_with("not");
    }
    if condition.contains("__name__") && condition.contains("__main__") {
        return condition.contains("==");
    }
    let positive = (condition.contains("==") || condition.contains(".startswith("))
        && !condition.contains("!=")
        && !condition.starts_with("not");
    let elsewhere = [
        "'win32'",
        "\"win32\"",
        "'nt'",
        "\"nt\"",
        "'win'",
        "\"win\"",
        "'darwin'",
    ]
    .iter()
    .chain(&[
        "\"darwin\"",
        "'Windows'",
        "\"Windows\"",
        "'cygwin'",
        "\"cygwin\"",
    ])
    .any(|s| condition.contains(s));
    positive && elsewhere
}

// ---- resolution -------------------------------------------------------------------------

/// Modules compiled into CPython (any 3.x build slim has met) or only found on other
/// systems: never in a file, never missing.
const NOT_IN_FILES: &[&str] = &[
    "__main__",
    "_abc",
    "_ast",
    "_bisect",
    "_blake2",
    "_codecs",
    "_collections",
    "_contextvars",
    "_csv",
    "_datetime",
    "_elementtree",
    "_functools",
    "_heapq",
    "_imp",
    "_io",
    "_locale",
    "_md5",
    "_opcode",
    "_operator",
    "_pickle",
    "_posixsubprocess",
    "_random",
    "_sha1",
    "_sha2",
    "_sha256",
    "_sha3",
    "_sha512",
    "_signal",
    "_socket",
    "_sre",
    "_stat",
    "_statistics",
    "_string",
    "_struct",
    "_symtable",
    "_thread",
    "_tokenize",
    "_tracemalloc",
    "_typing",
    "_warnings",
    "_weakref",
    "array",
    "atexit",
    "binascii",
    "builtins",
    "cmath",
    "errno",
    "faulthandler",
    "fcntl",
    "gc",
    "grp",
    "itertools",
    "marshal",
    "math",
    "posix",
    "pwd",
    "pyexpat",
    "select",
    "spwd",
    "sys",
    "syslog",
    "time",
    "unicodedata",
    "xxsubtype",
    "zlib",
    "zipimport",
    "_frozen_importlib",
    "_frozen_importlib_external",
    "_io",
    // Windows and macOS only
    "nt",
    "winreg",
    "_winreg",
    "msvcrt",
    "_winapi",
    "_overlapped",
    "winsound",
    "_msi",
    "_scproxy",
    "_winxptheme",
    "java",
    "org",
];

/// Modules that C code imports by name (`PyImport_ImportModule`), so no source shows it:
/// `time.strptime` and `datetime.strptime` load `_strptime` on first use.
const IMPLIED: &[(&str, &[&str])] = &[
    ("time", &["_strptime"]),
    ("datetime", &["_strptime"]),
    ("_datetime", &["_strptime"]),
    ("_pickle", &["copyreg", "_compat_pickle"]),
    ("_elementtree", &["xml.etree.ElementPath"]),
    ("_decimal", &["numbers", "collections", "contextvars"]),
];

/// Codecs every interpreter loads at start, and `idna`, which the socket module loads for
/// host names; any other one in the trace means the app looks codecs up by name.
const STARTUP_CODECS: &[&str] = &[
    "__init__",
    "aliases",
    "utf_8",
    "utf_8_sig",
    "latin_1",
    "ascii",
    "idna",
];

/// Modules that exist under another name: `os` puts `posixpath` in `sys.modules` as
/// `os.path`.
const ALIASES: &[(&str, &str)] = &[("os.path", "posixpath")];

/// What a name is in one directory of the search path.
enum Found {
    /// `name/__init__.py`: a regular package
    Package { init: String, dir: String },
    /// `name.py`, `name.pyc`, `name.cpython-311-x86_64-linux-gnu.so`, `name.abi3.so`
    Module(String),
    /// a directory without `__init__`: one portion of a namespace package
    Namespace(String),
}

pub struct PythonResolver {
    lookup: Lookup,
    pythonpath: Vec<String>,
    workdir: Option<String>,
    /// `(prefix, "3.11")` of every installation seen in kept paths
    installs: BTreeSet<(String, String)>,
    /// site directories outside the installations' own (venvs)
    site_dirs: BTreeSet<String>,
    /// the search path, in order; rebuilt when an installation shows up
    roots: Option<Vec<String>>,
    /// `encodings` directory -> its alias table
    aliases: BTreeMap<String, BTreeMap<String, String>>,
    /// codec modules named in kept code
    named_codecs: BTreeSet<String>,
}

impl PythonResolver {
    pub fn new(context: &ImportContext) -> Self {
        let pythonpath = context
            .env
            .get("PYTHONPATH")
            .map(|p| {
                p.split(':')
                    .filter(|d| d.starts_with('/'))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        PythonResolver {
            lookup: Lookup::default(),
            pythonpath,
            workdir: context.workdir.clone(),
            installs: BTreeSet::new(),
            site_dirs: BTreeSet::new(),
            roots: None,
            aliases: BTreeMap::new(),
            named_codecs: BTreeSet::new(),
        }
    }

    /// Installations from kept paths: `{prefix}/lib/python3.N/...`, `{prefix}/bin/python3.N`,
    /// `libpython3.N.so`; venv site-packages directories.
    pub fn learn(&mut self, tree: &dyn FileTree, kept: &[String]) {
        let before = (self.installs.len(), self.site_dirs.len());
        for path in kept {
            if let Some((prefix, version)) = install_of(path) {
                self.installs.insert((prefix, version));
            }
            for marker in ["/site-packages", "/dist-packages"] {
                if let Some(at) = path
                    .find(&format!("{marker}/"))
                    .or_else(|| path.ends_with(marker).then(|| path.len() - marker.len()))
                {
                    self.site_dirs.insert(path[..at + marker.len()].to_string());
                }
            }
            let name = path.rsplit('/').next().unwrap_or_default();
            if let Some(version) = interpreter_version(name)
                && let Some(bin) = parent(path)
                && let Some(prefix) = parent(bin)
            {
                self.installs.insert((prefix.to_string(), version));
            }
        }
        if (self.installs.len(), self.site_dirs.len()) != before {
            self.roots = None;
        }
        if self.roots.is_none() {
            self.roots = Some(self.search_path(tree));
        }
    }

    fn search_path(&mut self, tree: &dyn FileTree) -> Vec<String> {
        let mut roots: Vec<String> = self.pythonpath.clone();
        let mut sites = Vec::new();
        for (prefix, version) in &self.installs {
            let stdlib = format!("{prefix}/lib/python{version}");
            roots.push(stdlib.clone());
            roots.push(format!("{stdlib}/lib-dynload"));
            if prefix == "/usr" {
                sites.push(format!("/usr/local/lib/python{version}/dist-packages"));
            }
            sites.push(format!("{stdlib}/site-packages"));
            sites.push(format!("{stdlib}/dist-packages"));
            sites.push(format!("{prefix}/lib/python3/dist-packages"));
        }
        sites.extend(self.site_dirs.iter().cloned());
        for site in sites {
            if roots.contains(&site) || !self.lookup.is_dir(tree, &site) {
                continue;
            }
            roots.push(site.clone());
            roots.extend(self.pth_dirs(tree, &site));
        }
        self.lookup.existing_dirs(tree, roots)
    }

    /// Directories named by the `.pth` files of a site directory.
    fn pth_dirs(&mut self, tree: &dyn FileTree, site: &str) -> Vec<String> {
        let names = self.lookup.list(tree, site);
        let mut dirs = Vec::new();
        for name in names.iter().filter(|n| n.ends_with(".pth")) {
            let Ok(bytes) = tree.read_prefix(&join(site, name), 64 << 10) else {
                continue;
            };
            for line in String::from_utf8_lossy(&bytes).lines().map(str::trim) {
                if line.is_empty() || line.starts_with('#') || line.starts_with("import") {
                    continue;
                }
                let dir = if line.starts_with('/') {
                    line.to_string()
                } else {
                    join(site, line)
                };
                dirs.push(dir);
            }
        }
        dirs
    }

    pub fn resolve(&mut self, tree: &dyn FileTree, importer: &str, import: &Import) -> Resolved {
        if self.roots.is_none() {
            self.roots = Some(self.search_path(tree));
        }
        match import.kind {
            ImportKind::Mention => return self.resolve_mention(tree, importer, &import.name),
            ImportKind::Codec => return self.resolve_codec(tree, &import.name),
            _ => {}
        }
        let mut out = Resolved::default();
        let (name, level, names) = match &import.kind {
            ImportKind::From { names, level } => (import.name.as_str(), *level, names.as_slice()),
            _ => {
                let dots = import.name.len() - import.name.trim_start_matches('.').len();
                (&import.name[dots..], dots, &[][..])
            }
        };
        let name = ALIASES
            .iter()
            .find(|(alias, _)| *alias == name)
            .map_or(name, |(_, real)| real);
        let start = if level > 0 {
            let mut base = parent(importer).unwrap_or("/").to_string();
            for _ in 1..level {
                base = parent(&base).unwrap_or("/").to_string();
            }
            vec![base]
        } else {
            self.search_path_for(importer)
        };
        let package_dirs = if name.is_empty() {
            Some(start)
        } else {
            self.find_dotted(tree, name, start, &mut out)
        };
        match package_dirs {
            Some(dirs) => {
                for sub in names.iter().filter(|n| n.as_str() != "*") {
                    for dir in &dirs {
                        if let Some(found) = self.find_in(tree, dir, sub) {
                            keep_found(&found, &mut out);
                            break;
                        }
                    }
                }
            }
            None if level == 0 && is_not_in_files(name) => {}
            None => out.missing = true,
        }
        if level == 0 {
            self.add_implied(tree, name, &mut out);
        }
        out
    }

    /// The codec module a name selects, in every installation: the name normalized as
    /// `encodings.normalize_encoding` does, then looked up in `encodings/aliases.py`.
    fn resolve_codec(&mut self, tree: &dyn FileTree, name: &str) -> Resolved {
        let normalized = normalize_codec(name);
        let mut out = Resolved::default();
        let dirs: Vec<String> = self
            .installs
            .iter()
            .map(|(prefix, version)| format!("{prefix}/lib/python{version}/encodings"))
            .collect();
        for dir in dirs {
            let aliases = self.codec_aliases(tree, &dir);
            let module = aliases
                .get(&normalized)
                .cloned()
                .unwrap_or(normalized.clone());
            let file = join(&dir, &format!("{module}.py"));
            if self.lookup.is_file(tree, &file) {
                self.named_codecs.insert(module);
                out.files.push(file);
            }
        }
        out
    }

    /// `encodings/aliases.py`'s `aliases` dictionary, read once per installation.
    fn codec_aliases(&mut self, tree: &dyn FileTree, dir: &str) -> &BTreeMap<String, String> {
        if !self.aliases.contains_key(dir) {
            let source = tree.read(&join(dir, "aliases.py")).unwrap_or_default();
            let table = parse_aliases(&source);
            self.aliases.insert(dir.to_string(), table);
        }
        &self.aliases[dir]
    }

    /// The `encodings` packages to keep whole: those of traced codecs that neither start-up
    /// nor a codec named in kept code explains.
    pub fn codecs_from_data(&self, traced: &[&str]) -> Vec<(String, String)> {
        let mut dirs: Vec<(String, String)> = Vec::new();
        for path in traced {
            let Some(at) = path.find("/encodings/") else {
                continue;
            };
            let dir = &path[..at + "/encodings".len()];
            let name = path.rsplit('/').next().unwrap_or_default();
            let codec = name.split('.').next().unwrap_or_default();
            let is_module = name.ends_with(".py") || name.ends_with(".pyc");
            let explained = STARTUP_CODECS.contains(&codec) || self.named_codecs.contains(codec);
            if is_module && !explained && !dirs.iter().any(|(d, _)| d == dir) {
                dirs.push((dir.to_string(), format!("codec {codec} chosen by data")));
            }
        }
        dirs
    }

    /// The longest module prefix of a dotted name (the rest names a class or function in
    /// it); nothing, and no complaint, when there is none.
    fn resolve_mention(&mut self, tree: &dyn FileTree, importer: &str, dotted: &str) -> Resolved {
        let parts: Vec<&str> = dotted.split('.').collect();
        let start = self.search_path_for(importer);
        for end in (2..=parts.len()).rev() {
            let mut found = Resolved::default();
            if self
                .find_dotted(tree, &parts[..end].join("."), start.clone(), &mut found)
                .is_some()
                && !found.files.is_empty()
            {
                return found;
            }
        }
        Resolved::default()
    }

    /// The search path for an import in `importer`: the app's own directories first for
    /// code outside every installation (the script's directory, and the working directory
    /// a server like gunicorn adds).
    fn search_path_for(&self, importer: &str) -> Vec<String> {
        let roots = self.roots.clone().unwrap_or_default();
        if roots.iter().any(|r| importer.starts_with(&format!("{r}/"))) {
            return roots;
        }
        let mut dirs: Vec<String> = Vec::new();
        if let Some(dir) = parent(importer).filter(|d| *d != "/") {
            dirs.push(dir.to_string());
            dirs.extend(ancestors(dir).map(str::to_string));
        }
        dirs.extend(self.workdir.iter().filter(|w| *w != "/").cloned());
        dirs.extend(roots);
        dirs
    }

    /// Find `a.b.c`, keeping every package `__init__` on the way and the module itself.
    /// Returns the directories of the last component if it is a package (for `from`).
    fn find_dotted(
        &mut self,
        tree: &dyn FileTree,
        dotted: &str,
        start: Vec<String>,
        out: &mut Resolved,
    ) -> Option<Vec<String>> {
        let mut locations = start;
        let mut components = dotted.split('.').peekable();
        while let Some(component) = components.next() {
            let mut namespace = Vec::new();
            let mut next = None;
            for dir in &locations {
                match self.find_in(tree, dir, component) {
                    Some(Found::Namespace(portion)) => namespace.push(portion),
                    Some(found) => {
                        next = Some(found);
                        break;
                    }
                    None => {}
                }
            }
            locations = match next {
                Some(Found::Package { init, dir }) => {
                    out.files.push(init);
                    vec![dir]
                }
                Some(Found::Module(file)) => {
                    out.files.push(file);
                    // a module has no submodules: `a.b` with `a` a module fails
                    return components.peek().is_none().then(Vec::new);
                }
                _ if !namespace.is_empty() => namespace,
                _ => return None,
            };
        }
        Some(locations)
    }

    fn find_in(&mut self, tree: &dyn FileTree, dir: &str, name: &str) -> Option<Found> {
        let sub = join(dir, name);
        let mut namespace = false;
        if self.lookup.is_dir(tree, &sub) {
            let inits = ["__init__.py".to_string(), "__init__.pyc".to_string()];
            if let Some(init) = self.lookup.first_file(tree, &sub, &inits) {
                return Some(Found::Package { init, dir: sub });
            }
            let names = self.lookup.list(tree, &sub);
            if let Some(ext) = names.iter().find(|n| is_extension_of(n, "__init__")) {
                return Some(Found::Package {
                    init: join(&sub, ext),
                    dir: sub,
                });
            }
            namespace = true;
        }
        let names = self.lookup.list(tree, dir);
        if let Some(ext) = names.iter().find(|n| is_extension_of(n, name)) {
            let path = join(dir, ext);
            if self.lookup.is_file(tree, &path) {
                return Some(Found::Module(path));
            }
        }
        let candidates = [format!("{name}.py"), format!("{name}.pyc")];
        if let Some(file) = self.lookup.first_file(tree, dir, &candidates) {
            return Some(Found::Module(file));
        }
        namespace.then_some(Found::Namespace(sub))
    }

    fn add_implied(&mut self, tree: &dyn FileTree, name: &str, out: &mut Resolved) {
        let Some((_, implied)) = IMPLIED.iter().find(|(module, _)| *module == name) else {
            return;
        };
        let roots = self.roots.clone().unwrap_or_default();
        for module in *implied {
            let mut more = Resolved::default();
            if self
                .find_dotted(tree, module, roots.clone(), &mut more)
                .is_some()
            {
                out.files.extend(more.files);
            }
        }
    }
}

fn keep_found(found: &Found, out: &mut Resolved) {
    match found {
        Found::Package { init, .. } => out.files.push(init.clone()),
        Found::Module(file) => out.files.push(file.clone()),
        Found::Namespace(_) => {}
    }
}

fn is_not_in_files(dotted: &str) -> bool {
    let first = dotted.split('.').next().unwrap_or_default();
    NOT_IN_FILES.contains(&first)
}

/// `name.cpython-311-x86_64-linux-gnu.so`, `name.abi3.so`, `name.so`.
fn is_extension_of(file: &str, name: &str) -> bool {
    let Some(rest) = file.strip_prefix(name).and_then(|r| r.strip_prefix('.')) else {
        return false;
    };
    rest == "so"
        || rest
            .strip_suffix(".so")
            .is_some_and(|tag| tag == "abi3" || tag.starts_with("cpython-"))
}

/// `("/usr", "3.11")` for a path under `/usr/lib/python3.11/`.
fn install_of(path: &str) -> Option<(String, String)> {
    let at = path.find("/lib/python3.")?;
    let rest = &path[at + "/lib/python".len()..];
    let version: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let after = &rest[version.len()..];
    if !(after.is_empty() || after.starts_with('/')) || version.ends_with('.') {
        return None;
    }
    // the root prefix is "" so that "{prefix}/lib" stays a clean path
    Some((path[..at].to_string(), version))
}

/// "3.11" for `python3.11` (also `libpython3.11.so.1.0`).
fn interpreter_version(name: &str) -> Option<String> {
    let rest = name
        .strip_prefix("python")
        .or_else(|| name.strip_prefix("libpython"))?;
    let version: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let version = version.trim_end_matches('.');
    let mut parts = version.split('.');
    match (parts.next(), parts.next()) {
        (Some("3"), Some(minor)) if !minor.is_empty() => Some(format!("3.{minor}")),
        _ => None,
    }
}

/// `encodings.normalize_encoding`, lower-cased as `encodings.search_function` does: runs of
/// anything but letters, digits and '.' become one '_'.
fn normalize_codec(name: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            if gap && !out.is_empty() {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            gap = false;
        } else {
            gap = true;
        }
    }
    out
}

/// The `'alias': 'module'` pairs of `encodings/aliases.py`.
fn parse_aliases(source: &[u8]) -> BTreeMap<String, String> {
    let mut table = BTreeMap::new();
    let Some(tree) = parse_once(Language::Python, source) else {
        return table;
    };
    walk(tree.root_node(), (), |node, ()| {
        if node.kind() != "pair" {
            return Some(());
        }
        let value = |field: &str| {
            node.child_by_field_name(field)
                .filter(|n| n.kind() == "string")
                .and_then(|n| unquote(text(n, source)))
        };
        if let (Some(alias), Some(module)) = (value("key"), value("value")) {
            table.insert(alias, module);
        }
        None
    });
    table
}
