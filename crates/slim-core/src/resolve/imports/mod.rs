//! The language-level closure: like the ELF closure, but for the modules a kept source file
//! can load. Each file is parsed with its language's tree-sitter grammar (so comments,
//! strings and statements split over lines cannot fool it), every import it can make,
//! also inside functions and conditionals, is read off the syntax tree, and each one is
//! resolved the way its runtime resolves it (Python's `sys.path`, Node's `node_modules`
//! walk and `package.json`, PHP's include path, Ruby's `$LOAD_PATH`, Perl's `@INC`).
//!
//! Extraction ([`extract`]) is pure, bytes in and imports out, so files are parsed on
//! several threads; resolution ([`Resolvers`]) looks at the file tree.

mod lookup;
mod node;
mod perl;
mod php;
mod python;
mod ruby;
mod syntax;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::keep::Reason;
use super::tree::FileTree;

pub use syntax::{Extracted, Parsers, extract_all};

/// A language whose imports slim follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Python,
    Node,
    Php,
    Ruby,
    Perl,
}

impl Language {
    pub const ALL: [Language; 5] = [
        Language::Python,
        Language::Node,
        Language::Php,
        Language::Ruby,
        Language::Perl,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Node => "node",
            Language::Php => "php",
            Language::Ruby => "ruby",
            Language::Perl => "perl",
        }
    }

    pub fn from_name(name: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.name() == name)
    }

    /// The reason recorded for files this language's closure keeps.
    pub fn reason(self) -> Reason {
        match self {
            Language::Python => Reason::PythonImport,
            Language::Node => Reason::NodeRequire,
            Language::Php => Reason::PhpInclude,
            Language::Ruby => Reason::RubyRequire,
            Language::Perl => Reason::PerlUse,
        }
    }

    /// The language of a source file, from its name or, for scripts without an extension
    /// (`/usr/bin/gunicorn`), from its `#!` line.
    pub fn of_file(path: &str, head: &[u8]) -> Option<Language> {
        let name = path.rsplit('/').next().unwrap_or_default();
        let by_extension = match name.rsplit_once('.').map(|(_, ext)| ext) {
            Some("py") => Some(Language::Python),
            Some("js" | "mjs" | "cjs") => Some(Language::Node),
            Some("php" | "phtml" | "inc") => Some(Language::Php),
            Some("rb") => Some(Language::Ruby),
            Some("pl" | "pm") => Some(Language::Perl),
            _ => None,
        };
        by_extension.or_else(|| Language::of_shebang(head))
    }

    fn of_shebang(head: &[u8]) -> Option<Language> {
        let line = head.strip_prefix(b"#!")?;
        let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
        let line = String::from_utf8_lossy(&line[..end]);
        let mut words = line.split_whitespace();
        let mut program = words.next()?.rsplit('/').next()?.to_string();
        if program == "env" {
            program = words.find(|w| !w.starts_with('-'))?.to_string();
        }
        let program = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        match program {
            "python" | "pypy" => Some(Language::Python),
            "node" | "nodejs" => Some(Language::Node),
            "php" => Some(Language::Php),
            "ruby" => Some(Language::Ruby),
            "perl" => Some(Language::Perl),
            _ => None,
        }
    }
}

/// One import a source file can make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// what the source names: a dotted module (`a.b`), a specifier (`./lib/x`, `express`),
    /// a path (`vendor/autoload.php`), a package (`Foo::Bar`)
    pub name: String,
    pub kind: ImportKind,
    /// inside a `try`/`rescue`/`eval` that copes with a failed load: a miss is not reported
    pub optional: bool,
    /// inside a function (or a dynamic `import()`): made when that code runs, not when the
    /// file loads. Followed only from files the app is known to load (see the resolver).
    pub lazy: bool,
    /// 1-based line of the statement
    pub line: usize,
}

impl Import {
    /// A string literal shaped like a module name, which a framework may import at run
    /// time: optional, as it may name nothing, and lazy, as it loads when the framework
    /// gets to it, if ever.
    pub fn mention(name: String, line: usize) -> Import {
        Import {
            name,
            kind: ImportKind::Mention,
            optional: true,
            lazy: true,
            line,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportKind {
    /// found on the runtime's search path (`import a.b`, `require("x")`, `use A::B`)
    Module,
    /// Python `from a import x, y` (`level` leading dots): `x` and `y` may be submodules
    From { names: Vec<String>, level: usize },
    /// relative to the importing file's directory (`require_relative`, `__DIR__ . '/x'`)
    Relative,
    /// a file path as written (`include 'x.php'`, `require "x.pl"`, `load "x.rb"`)
    Path,
    /// a string literal shaped like a module name (`"myapp.views.Index"` in a settings
    /// file, `'ejs'` as a view engine): frameworks import such names at run time. Followed
    /// only from the app's own files, and never reported when nothing is found.
    Mention,
    /// Python: a codec named in `.decode("cp1252")`, `codecs.lookup("idna")`,
    /// `open(..., encoding="latin-1")`: the codec module is imported by name when that runs
    Codec,
}

/// What an import loads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// files to keep (absolute; may cross symlinks)
    pub files: Vec<String>,
    /// directories whose files all belong to what was loaded (Perl's `auto/` directories)
    pub dirs: Vec<String>,
    /// nothing was found for it (and it is not built into the runtime)
    pub missing: bool,
}

/// The image facts resolution needs besides the tree.
#[derive(Debug, Clone, Default)]
pub struct ImportContext {
    /// the image's environment (PYTHONPATH, NODE_PATH, RUBYLIB, PERL5LIB, HOME)
    pub env: BTreeMap<String, String>,
    /// the image's WORKDIR, where a server started by the image's command runs
    pub workdir: Option<String>,
}

impl ImportContext {
    /// The directories a colon-separated variable of the environment lists, cleaned up.
    /// Relative entries are left out: they depend on a working directory not known here.
    pub fn env_dirs(&self, variable: &str) -> Vec<String> {
        self.env
            .get(variable)
            .map(|p| {
                p.split(':')
                    .filter(|d| d.starts_with('/'))
                    .map(|d| lookup::join_relative("/", d))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The WORKDIR, if it is an absolute path.
    pub fn absolute_workdir(&self) -> Option<String> {
        self.workdir.clone().filter(|w| w.starts_with('/'))
    }
}

/// One resolver per language, each with the search paths and directory listings it has
/// looked up so far.
pub struct Resolvers {
    python: python::PythonResolver,
    node: node::NodeResolver,
    php: php::PhpResolver,
    ruby: ruby::RubyResolver,
    perl: perl::PerlResolver,
}

impl Resolvers {
    pub fn new(context: &ImportContext) -> Self {
        Resolvers {
            python: python::PythonResolver::new(context),
            node: node::NodeResolver::new(context),
            php: php::PhpResolver::new(context),
            ruby: ruby::RubyResolver::new(context),
            perl: perl::PerlResolver::new(context),
        }
    }

    /// Tell the resolvers about newly kept paths: interpreters and library directories
    /// they reveal become search paths.
    pub fn learn(&mut self, tree: &dyn FileTree, kept: &[String]) {
        self.python.learn(tree, kept);
        self.node.learn(tree, kept);
        self.ruby.learn(tree, kept);
        self.perl.learn(tree, kept);
    }

    pub fn resolve(
        &mut self,
        tree: &dyn FileTree,
        language: Language,
        importer: &str,
        import: &Import,
    ) -> Resolved {
        match language {
            Language::Python => self.python.resolve(tree, importer, import),
            Language::Node => self.node.resolve(tree, importer, import),
            Language::Php => self.php.resolve(tree, importer, import),
            Language::Ruby => self.ruby.resolve(tree, importer, import),
            Language::Perl => self.perl.resolve(tree, importer, import),
        }
    }

    /// Python codecs are looked up by name (`bytes.decode(charset)`): once the trace shows
    /// a codec that neither start-up nor a codec name in the kept code explains, the name
    /// came from data, and any codec may come next: the `encodings` packages to keep whole.
    pub fn codec_packages(&self, traced: &[&str]) -> Vec<(String, String)> {
        self.python.codecs_from_data(traced)
    }
}

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
