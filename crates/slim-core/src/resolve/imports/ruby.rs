//! Ruby: `require`, `require_relative`, `load` and `autoload :X, "x"` anywhere in a file
//! with a literal name (also `File.expand_path("../x", __FILE__)`, `File.join(__dir__, "x")`
//! and the like, which are relative to the file). `require` searches `$LOAD_PATH` as
//! Debian's and the official images' ruby build it (RUBYLIB, site, vendor and standard
//! library directories of every version found), then the `lib` directories of installed
//! gems, which rubygems and Bundler add when they activate a gem.
//!
//! Not followed: interpolated names, `$LOAD_PATH` changes made by the program, and
//! constants Rails and Zeitwerk autoload by name. A miss is not reported inside
//! `begin ... rescue`, a method or block body with `rescue`, or `x rescue y`.

use std::collections::{BTreeMap, BTreeSet};

use tree_sitter::Node;

use super::lookup::{Lookup, join_relative};
use super::syntax::{Context, children_but_comments, plain_string, text, walk};
use super::{Import, ImportContext, ImportKind, Resolved};
use crate::resolve::tree::FileTree;
use crate::resolve::walk::{join, parent};

// ---- extraction -------------------------------------------------------------------------

/// Code that runs when it is called, not when the file loads. Blocks are not among them:
/// most run at once (`each`, `tap`, `configure`).
const FUNCTIONS: &[&str] = &["method", "singleton_method", "lambda"];

pub fn imports(root: Node, source: &[u8]) -> Vec<Import> {
    let mut out = Vec::new();
    walk(root, Context::default(), |node, mut context| {
        if is_rescued(node) {
            context.optional = true;
        }
        if FUNCTIONS.contains(&node.kind()) {
            context.lazy = true;
        }
        if node.kind() == "call"
            && let Some((name, kind)) = loaded(node, source)
        {
            out.push(context.import(name, kind, node));
        }
        Some(context)
    });
    out
}

/// A statement whose exceptions a `rescue` catches: in the body of a `begin` (or a method
/// or block body) that has a `rescue` clause, or left of a `rescue` modifier.
fn is_rescued(node: Node) -> bool {
    let Some(parent) = node.parent() else {
        return false;
    };
    match parent.kind() {
        "rescue_modifier" => parent.child_by_field_name("body") == Some(node),
        "begin" | "body_statement" => {
            let mut cursor = parent.walk();
            let has_rescue = parent
                .named_children(&mut cursor)
                .any(|c| c.kind() == "rescue");
            has_rescue && !matches!(node.kind(), "rescue" | "else" | "ensure")
        }
        _ => false,
    }
}

/// What a `require`, `require_relative`, `load` or `autoload` call loads.
fn loaded(call: Node, source: &[u8]) -> Option<(String, ImportKind)> {
    if let Some(receiver) = call.child_by_field_name("receiver")
        && text(receiver, source) != "Kernel"
    {
        return None;
    }
    let method = text(call.child_by_field_name("method")?, source);
    let values = children_but_comments(call.child_by_field_name("arguments")?);
    let (argument, kind) = match method {
        "require" => (*values.first()?, ImportKind::Module),
        "require_relative" => (*values.first()?, ImportKind::Relative),
        "load" => (*values.first()?, ImportKind::Path),
        "autoload" => (*values.get(1)?, ImportKind::Module),
        _ => return None,
    };
    if let Some(name) = string(argument, source) {
        return Some((name, kind));
    }
    let relative = file_relative(argument, source)?;
    (method != "autoload").then_some((relative, ImportKind::Relative))
}

/// A string literal without interpolation or escapes.
fn string(node: Node, source: &[u8]) -> Option<String> {
    (node.kind() == "string")
        .then(|| plain_string(node, source, &["string_content"]))
        .flatten()
        .filter(|s| !s.is_empty())
}

/// A path relative to the file's directory written with `File`: `File.expand_path("x",
/// __dir__)`, `File.expand_path("../x", __FILE__)`, `File.join(__dir__, "a", "x")`,
/// `File.dirname(__FILE__) + "/x"`.
fn file_relative(node: Node, source: &[u8]) -> Option<String> {
    if node.kind() == "binary" {
        let operator = node.child_by_field_name("operator")?;
        let left = node.child_by_field_name("left")?;
        let right = string(node.child_by_field_name("right")?, source)?;
        let rest = right.strip_prefix('/')?;
        let anchored = text(operator, source) == "+" && is_file_dir(left, source);
        return (anchored && !rest.is_empty()).then(|| rest.to_string());
    }
    let arguments = file_call(node, source, &["expand_path", "join"])?;
    let method = text(node.child_by_field_name("method")?, source);
    match (method, arguments.as_slice()) {
        ("expand_path", [path, base]) => {
            let path = string(*path, source)?;
            match text(*base, source) {
                "__dir__" => Some(path),
                // relative to the file itself: "../x" is the file's directory's "x"
                "__FILE__" => path
                    .strip_prefix("../")
                    .filter(|p| !p.is_empty())
                    .map(str::to_string),
                _ => None,
            }
        }
        ("join", [base, parts @ ..]) if is_file_dir(*base, source) && !parts.is_empty() => {
            let parts: Option<Vec<String>> = parts.iter().map(|p| string(*p, source)).collect();
            Some(parts?.join("/"))
        }
        _ => None,
    }
}

/// `__dir__` or `File.dirname(__FILE__)`.
fn is_file_dir(node: Node, source: &[u8]) -> bool {
    if text(node, source) == "__dir__" {
        return true;
    }
    file_call(node, source, &["dirname"])
        .is_some_and(|args| args.len() == 1 && text(args[0], source) == "__FILE__")
}

/// The arguments of `File.<one of methods>(...)`.
fn file_call<'t>(node: Node<'t>, source: &[u8], methods: &[&str]) -> Option<Vec<Node<'t>>> {
    if node.kind() != "call" || text(node.child_by_field_name("receiver")?, source) != "File" {
        return None;
    }
    let method = text(node.child_by_field_name("method")?, source);
    if !methods.contains(&method) {
        return None;
    }
    let arguments = node.child_by_field_name("arguments")?;
    Some(children_but_comments(arguments))
}

// ---- resolution -------------------------------------------------------------------------

/// Features the interpreter provides without a file (in `$LOADED_FEATURES` at start).
const BUILT_IN: &[&str] = &[
    "enumerator",
    "thread",
    "rational",
    "complex",
    "fiber",
    "ruby2_keywords",
];

/// Where Debian's ruby packages and the official images install gems: each holds
/// `gems/NAME-VERSION/lib` (a `*` is a version directory).
const GEM_ROOTS: &[&str] = &[
    "/var/lib/gems/*",
    "/usr/lib/ruby/gems/*",
    "/usr/share/rubygems-integration/all",
    "/usr/lib/{multiarch}/rubygems-integration/*",
    "/usr/local/bundle",
    "/usr/local/lib/ruby/gems/*",
];

pub struct RubyResolver {
    lookup: Lookup,
    rubylib: Vec<String>,
    /// GEM_HOME, GEM_PATH and BUNDLE_PATH directories
    gem_env: Vec<String>,
    workdir: Option<String>,
    /// ruby versions (`3.1.0`) seen in kept paths
    versions: BTreeSet<String>,
    /// `$LOAD_PATH`, rebuilt when a version shows up
    load_path: Option<Vec<String>>,
    /// gem `lib` (and extension) directories by the names at their top
    gems: Option<BTreeMap<String, Vec<String>>>,
}

impl RubyResolver {
    pub fn new(context: &ImportContext) -> Self {
        let mut gem_env = context.env_dirs("GEM_HOME");
        gem_env.extend(context.env_dirs("GEM_PATH"));
        for bundle in context.env_dirs("BUNDLE_PATH") {
            gem_env.push(join(&bundle, "ruby/*"));
            gem_env.push(bundle);
        }
        RubyResolver {
            lookup: Lookup::default(),
            rubylib: context.env_dirs("RUBYLIB"),
            gem_env,
            workdir: context.absolute_workdir(),
            versions: BTreeSet::new(),
            load_path: None,
            gems: None,
        }
    }

    /// Ruby versions from kept paths (`/usr/lib/ruby/3.1.0/set.rb`,
    /// `/usr/local/lib/ruby/site_ruby/3.3.0`).
    pub fn learn(&mut self, _tree: &dyn FileTree, kept: &[String]) {
        for path in kept {
            let mut previous = "";
            for component in path.split('/') {
                let after_ruby = matches!(previous, "ruby" | "site_ruby" | "vendor_ruby");
                if after_ruby
                    && is_version(component)
                    && self.versions.insert(component.to_string())
                {
                    self.load_path = None;
                }
                previous = component;
            }
        }
    }

    pub fn resolve(&mut self, tree: &dyn FileTree, importer: &str, import: &Import) -> Resolved {
        let name = import.name.as_str();
        let dir = parent(importer).unwrap_or("/");
        let mut out = Resolved::default();
        match import.kind {
            ImportKind::Relative => {
                out.files.extend(self.feature_in(tree, dir, name));
            }
            ImportKind::Path => {
                let bases = self.bases_for(tree, name, dir, true);
                out.files
                    .extend(self.lookup.first_file_under(tree, &bases, name));
            }
            _ if is_built_in(name) => return out,
            _ => {
                let bases = self.bases_for(tree, name, dir, false);
                out.files
                    .extend(bases.iter().find_map(|b| self.feature_in(tree, b, name)));
                if !name.starts_with('/') && !name.starts_with('.') {
                    out.files.extend(self.in_gems(tree, name));
                }
            }
        }
        out.missing = out.files.is_empty();
        out
    }

    /// Where a name is looked up: an absolute one as it is, `./x` in the working directory
    /// (and the file's own, where scripts are usually started), others over `$LOAD_PATH`
    /// (`load` also falls back to the working directory).
    fn bases_for(&mut self, tree: &dyn FileTree, name: &str, dir: &str, load: bool) -> Vec<String> {
        if name.starts_with('/') {
            return vec!["/".to_string()];
        }
        let here: Vec<String> = self
            .workdir
            .iter()
            .cloned()
            .chain([dir.to_string()])
            .collect();
        if name.starts_with("./") || name.starts_with("../") {
            return here;
        }
        let mut bases = self.load_path(tree);
        if load {
            bases.extend(here);
        }
        bases
    }

    /// `name.rb`, then `name.so`, in `dir` (a name with its extension as it is).
    fn feature_in(&mut self, tree: &dyn FileTree, dir: &str, name: &str) -> Option<String> {
        let base = join_relative(dir, name);
        if name.ends_with(".rb") || name.ends_with(".so") {
            return self.lookup.is_file(tree, &base).then_some(base);
        }
        [format!("{base}.rb"), format!("{base}.so")]
            .into_iter()
            .find(|candidate| self.lookup.is_file(tree, candidate))
    }

    /// The feature in every installed gem that has it: which version Bundler or rubygems
    /// activates is not known here, so all are kept.
    fn in_gems(&mut self, tree: &dyn FileTree, name: &str) -> Vec<String> {
        if self.gems.is_none() {
            self.gems = Some(self.gem_index(tree));
        }
        let top = feature_stem(name.split('/').next().unwrap_or_default());
        let dirs = self
            .gems
            .as_ref()
            .and_then(|gems| gems.get(top))
            .cloned()
            .unwrap_or_default();
        dirs.iter()
            .filter_map(|dir| self.feature_in(tree, dir, name))
            .collect()
    }

    fn load_path(&mut self, tree: &dyn FileTree) -> Vec<String> {
        if self.load_path.is_none() {
            let mut dirs = self.rubylib.clone();
            dirs.extend(self.debian_load_path(tree));
            dirs.extend(self.official_load_path(tree));
            self.load_path = Some(self.lookup.existing_dirs(tree, dirs));
        }
        self.load_path.clone().unwrap_or_default()
    }

    /// Debian's ruby (`ruby -e 'puts $:'` on Debian 12, with `{v}` = 3.1.0).
    fn debian_load_path(&mut self, tree: &dyn FileTree) -> Vec<String> {
        let multiarch = self.lookup.multiarch(tree);
        let mut roots = vec![
            "/usr/lib/ruby".to_string(),
            "/usr/lib/ruby/vendor_ruby".to_string(),
            "/usr/local/lib/site_ruby".to_string(),
        ];
        roots.extend(multiarch.iter().map(|m| format!("/usr/lib/{m}/ruby")));
        let versions = self
            .lookup
            .versions_in(tree, &roots, &self.versions, is_version);
        let mut dirs = Vec::new();
        for v in &versions {
            let each = |pattern: &'static str| {
                multiarch
                    .iter()
                    .map(move |m| pattern.replace("{m}", m).replace("{v}", v))
            };
            dirs.push(format!("/usr/local/lib/site_ruby/{v}"));
            dirs.extend(each("/usr/local/lib/{m}/site_ruby"));
            dirs.push("/usr/local/lib/site_ruby".to_string());
            dirs.push(format!("/usr/lib/ruby/vendor_ruby/{v}"));
            dirs.extend(each("/usr/lib/{m}/ruby/vendor_ruby/{v}"));
            dirs.push("/usr/lib/ruby/vendor_ruby".to_string());
            dirs.push(format!("/usr/lib/ruby/{v}"));
            dirs.extend(each("/usr/lib/{m}/ruby/{v}"));
        }
        dirs
    }

    /// The official images' ruby, built with prefix /usr/local (`{a}` = x86_64-linux).
    fn official_load_path(&mut self, tree: &dyn FileTree) -> Vec<String> {
        let prefix = "/usr/local/lib/ruby";
        let roots = [prefix.to_string()];
        let versions = self
            .lookup
            .versions_in(tree, &roots, &self.versions, is_version);
        let mut dirs = Vec::new();
        for v in &versions {
            for kind in ["site_ruby/", "vendor_ruby/", ""] {
                let dir = format!("{prefix}/{kind}{v}");
                let arch = self.lookup.subdirs(tree, &dir, |n| n.contains("-linux"));
                dirs.push(dir);
                dirs.extend(arch);
                if !kind.is_empty() {
                    dirs.push(format!("{prefix}/{}", kind.trim_end_matches('/')));
                }
            }
        }
        dirs
    }

    /// Every gem's `lib` directory and built extension directory, by the names at its top.
    fn gem_index(&mut self, tree: &dyn FileTree) -> BTreeMap<String, Vec<String>> {
        let mut index: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for root in self.gem_roots(tree) {
            let mut dirs: Vec<String> = self
                .lookup
                .subdirs(tree, &join(&root, "gems"), |_| true)
                .into_iter()
                .map(|gem| join(&gem, "lib"))
                .collect();
            for platform in self
                .lookup
                .subdirs(tree, &join(&root, "extensions"), |_| true)
            {
                for version in self.lookup.subdirs(tree, &platform, |_| true) {
                    dirs.extend(self.lookup.subdirs(tree, &version, |_| true));
                }
            }
            for dir in dirs {
                let names = self.lookup.list(tree, &dir);
                for name in names.iter() {
                    let holders = index.entry(feature_stem(name).to_string()).or_default();
                    if !holders.contains(&dir) {
                        holders.push(dir.clone());
                    }
                }
            }
        }
        index
    }

    /// GEM_ROOTS and the environment's gem directories, `*` expanded.
    fn gem_roots(&mut self, tree: &dyn FileTree) -> Vec<String> {
        let mut patterns = self.gem_env.clone();
        patterns.extend(self.lookup.with_multiarch(tree, GEM_ROOTS));
        let mut roots = Vec::new();
        for pattern in patterns {
            match pattern.strip_suffix("/*") {
                Some(dir) => roots.extend(self.lookup.subdirs(tree, dir, |_| true)),
                None => roots.push(pattern),
            }
        }
        roots
    }
}

fn is_built_in(name: &str) -> bool {
    BUILT_IN.contains(&feature_stem(name))
}

/// A feature's name without its `.rb` or `.so`.
fn feature_stem(name: &str) -> &str {
    name.trim_end_matches(".rb").trim_end_matches(".so")
}

/// `3.1.0`: digits and dots, at least one dot.
fn is_version(name: &str) -> bool {
    name.contains('.')
        && name
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::imports::Language::Ruby;
    use crate::resolve::imports::test_support::{
        context, extract, file, files_found, import, lazy, mandatory, named, optional, summary,
        with_files_holding,
    };
    use crate::resolve::memtree::MemTree;
    use ImportKind::{Module, Path, Relative};

    #[test]
    fn every_form_with_and_without_parentheses() {
        let source = r#"#!/usr/bin/env ruby
require "sinatra"
require_relative 'lib/helpers'
load "tasks/setup.rb"
autoload :Parser, "app/parser"
autoload(:Lexer, 'app/lexer')
require("json")
Kernel.require 'kernel_form'
require %q(percent)
x = require 'as_value'
"#;
        assert_eq!(
            summary(Ruby, source),
            vec![
                mandatory("sinatra", Module, 2),
                mandatory("lib/helpers", Relative, 3),
                mandatory("tasks/setup.rb", Path, 4),
                mandatory("app/parser", Module, 5),
                mandatory("app/lexer", Module, 6),
                mandatory("json", Module, 7),
                mandatory("kernel_form", Module, 8),
                mandatory("percent", Module, 9),
                mandatory("as_value", Module, 10),
            ]
        );
    }

    #[test]
    fn paths_relative_to_the_file() {
        let source = r#"require File.expand_path('../config/environment', __FILE__)
require File.expand_path("lib/boot", __dir__)
require File.join(File.dirname(__FILE__), 'lib', 'x')
require File.join(__dir__, "y")
require File.dirname(__FILE__) + '/z'
load File.expand_path('tasks.rb', __dir__)
require File.expand_path('same', __FILE__)
require File.expand_path('../w', some_dir)
require File.join(root, 'v')
"#;
        assert_eq!(
            summary(Ruby, source),
            vec![
                mandatory("config/environment", Relative, 1),
                mandatory("lib/boot", Relative, 2),
                mandatory("lib/x", Relative, 3),
                mandatory("y", Relative, 4),
                mandatory("z", Relative, 5),
                mandatory("tasks.rb", Relative, 6),
            ]
        );
    }

    #[test]
    fn nested_multi_line_and_lazy() {
        let source = r#"class App
  require 'in_class'
  def self.boot
    require 'in_singleton'
  end
  def call(env)
    require "in_method" if env
  end
  handler = -> { require 'in_lambda' }
  configure do
    require(
      "in_block_multi"
    )
  end
end
require 'unless_defined' unless defined?(Thing)
"#;
        assert_eq!(
            lazy(Ruby, source),
            named(&[
                ("in_class", false),
                ("in_singleton", true),
                ("in_method", true),
                ("in_lambda", true),
                ("in_block_multi", false),
                ("unless_defined", false),
            ])
        );
        assert!(optional(Ruby, source).iter().all(|(_, optional)| !optional));
        assert_eq!(extract(Ruby, source)[4].line, 11);
    }

    #[test]
    fn look_alikes_and_computed_names_do_not_count() {
        let source = r#"# require 'in_comment'
s = "require 'in_string'"
t = <<~EOS
  require 'in_heredoc'
EOS
=begin
require 'in_doc'
=end
require "interpolated/#{name}"
require name
require 'a' + b
Foo.require 'method_on_object'
self.load 'self_load'
autoload :X
require 'esc\'aped'
require ""
__END__
require 'after_end'
"#;
        assert_eq!(summary(Ruby, source), vec![]);
    }

    #[test]
    fn rescued_loads_are_optional() {
        let source = r#"begin
  require 'oj'
rescue LoadError
  require 'json'
else
  require 'after_oj'
ensure
  require 'always'
end
require 'yajl' rescue nil
def fast
  require 'fast_blank'
rescue LoadError
end
task do
  require 'in_rescued_block'
rescue StandardError
end
"#;
        assert_eq!(
            optional(Ruby, source),
            named(&[
                ("oj", true),
                ("json", false),
                ("after_oj", false),
                ("always", false),
                ("yajl", true),
                ("fast_blank", true),
                ("in_rescued_block", true),
            ])
        );
    }

    /// Debian 12: ruby 3.1 with ruby-sinatra and ruby-nokogiri, a gem installed with `gem
    /// install`, one of the gems bundled with ruby, and an app in /app.
    fn debian() -> MemTree {
        let paths = [
            "/usr/bin/ruby3.1",
            "/usr/lib/ruby/3.1.0/set.rb",
            "/usr/lib/ruby/3.1.0/json.rb",
            "/usr/lib/ruby/3.1.0/json/common.rb",
            "/usr/lib/ruby/3.1.0/rubygems.rb",
            "/usr/lib/x86_64-linux-gnu/ruby/3.1.0/socket.so",
            "/usr/lib/x86_64-linux-gnu/ruby/3.1.0/json/ext/parser.so",
            "/usr/lib/ruby/vendor_ruby/sinatra.rb",
            "/usr/lib/ruby/vendor_ruby/sinatra/base.rb",
            "/usr/lib/ruby/vendor_ruby/nokogiri.rb",
            "/usr/lib/x86_64-linux-gnu/ruby/vendor_ruby/3.1.0/nokogiri/nokogiri.so",
            "/usr/share/rubygems-integration/all/specifications/sinatra-2.1.0.gemspec",
            "/var/lib/gems/3.1.0/gems/puma-6.4.0/lib/puma.rb",
            "/var/lib/gems/3.1.0/gems/puma-6.4.0/lib/puma/puma_http11.so",
            "/var/lib/gems/3.1.0/gems/rack-2.2.8/lib/rack.rb",
            "/var/lib/gems/3.1.0/gems/rack-3.0.8/lib/rack.rb",
            "/var/lib/gems/3.1.0/gems/json-2.7.1/lib/json.rb",
            "/usr/lib/ruby/gems/3.1.0/gems/minitest-5.15.0/lib/minitest.rb",
            "/app/app.rb",
            "/app/lib/helpers.rb",
            "/app/lib/native.so",
            "/app/config/environment.rb",
            "/app/tasks/setup.rb",
            "/opt/rubylib/extra.rb",
        ];
        let tree = MemTree::new().dir("/usr/local/lib/site_ruby", 0o755);
        with_files_holding(tree, &paths, "")
    }

    fn resolve_in(
        tree: &MemTree,
        env: &[(&str, &str)],
        importer: &str,
        name: &str,
        kind: ImportKind,
    ) -> Resolved {
        let mut resolver = RubyResolver::new(&context(env, Some("/app")));
        resolver.learn(tree, &["/usr/lib/ruby/3.1.0/rubygems.rb".to_string()]);
        resolver.resolve(tree, importer, &import(name, kind))
    }

    #[test]
    fn require_over_debian_load_path_then_gems() {
        let tree = debian();
        let r = |name| files_found(resolve_in(&tree, &[], "/app/app.rb", name, Module));
        assert_eq!(r("set"), ["/usr/lib/ruby/3.1.0/set.rb"]);
        assert_eq!(r("set.rb"), ["/usr/lib/ruby/3.1.0/set.rb"]);
        assert_eq!(
            r("socket"),
            ["/usr/lib/x86_64-linux-gnu/ruby/3.1.0/socket.so"]
        );
        assert_eq!(
            r("json/ext/parser"),
            ["/usr/lib/x86_64-linux-gnu/ruby/3.1.0/json/ext/parser.so"]
        );
        assert_eq!(
            r("sinatra/base"),
            ["/usr/lib/ruby/vendor_ruby/sinatra/base.rb"]
        );
        assert_eq!(
            r("nokogiri/nokogiri"),
            ["/usr/lib/x86_64-linux-gnu/ruby/vendor_ruby/3.1.0/nokogiri/nokogiri.so"]
        );
        assert_eq!(
            r("puma/puma_http11"),
            ["/var/lib/gems/3.1.0/gems/puma-6.4.0/lib/puma/puma_http11.so"]
        );
        assert_eq!(
            r("minitest"),
            ["/usr/lib/ruby/gems/3.1.0/gems/minitest-5.15.0/lib/minitest.rb"]
        );
        // which version a gem is activated at is not known: every one is kept
        assert_eq!(
            r("rack"),
            [
                "/var/lib/gems/3.1.0/gems/rack-2.2.8/lib/rack.rb",
                "/var/lib/gems/3.1.0/gems/rack-3.0.8/lib/rack.rb"
            ]
        );
        // the standard library's, and the gem's Bundler may put first
        assert_eq!(
            r("json"),
            [
                "/usr/lib/ruby/3.1.0/json.rb",
                "/var/lib/gems/3.1.0/gems/json-2.7.1/lib/json.rb"
            ]
        );
        assert!(resolve_in(&tree, &[], "/app/app.rb", "nope", Module).missing);
        // the app's own directory is not on the load path
        assert!(resolve_in(&tree, &[], "/app/app.rb", "lib/helpers", Module).missing);
    }

    #[test]
    fn built_in_features_are_never_missing() {
        let tree = debian();
        for name in [
            "enumerator",
            "thread",
            "rational",
            "complex",
            "fiber",
            "ruby2_keywords",
            "thread.rb",
        ] {
            let resolved = resolve_in(&tree, &[], "/app/app.rb", name, Module);
            assert_eq!(resolved, Resolved::default(), "{name}");
        }
    }

    #[test]
    fn rubylib_relative_and_paths() {
        let tree = debian();
        let app = "/app/app.rb";
        let env = [("RUBYLIB", "/opt/rubylib:not-absolute")];
        assert_eq!(
            files_found(resolve_in(&tree, &env, app, "extra", Module)),
            ["/opt/rubylib/extra.rb"]
        );
        let r = |importer, name, kind| files_found(resolve_in(&tree, &[], importer, name, kind));
        assert_eq!(r(app, "lib/helpers", Relative), ["/app/lib/helpers.rb"]);
        assert_eq!(r(app, "lib/native", Relative), ["/app/lib/native.so"]);
        assert_eq!(
            r("/app/lib/helpers.rb", "../config/environment", Relative),
            ["/app/config/environment.rb"]
        );
        assert_eq!(
            r("/srv/x.rb", "./lib/helpers", Module),
            ["/app/lib/helpers.rb"]
        );
        assert_eq!(
            r("/srv/x.rb", "/app/lib/helpers", Module),
            ["/app/lib/helpers.rb"]
        );
        // load takes the name as it is: over the load path, then the working directory
        assert_eq!(r(app, "set.rb", Path), ["/usr/lib/ruby/3.1.0/set.rb"]);
        assert_eq!(
            r("/srv/x.rb", "tasks/setup.rb", Path),
            ["/app/tasks/setup.rb"]
        );
        assert!(resolve_in(&tree, &[], app, "tasks/setup", Path).missing);
        assert!(resolve_in(&tree, &[], app, "lib/nope", Relative).missing);
    }

    /// The official ruby image: ruby built into /usr/local, gems in GEM_HOME.
    fn official() -> MemTree {
        let paths = [
            "/usr/local/bin/ruby",
            "/usr/local/lib/ruby/3.3.0/set.rb",
            "/usr/local/lib/ruby/3.3.0/x86_64-linux/socket.so",
            "/usr/local/lib/ruby/site_ruby/3.3.0/site.rb",
            "/usr/local/lib/ruby/vendor_ruby/3.3.0/x86_64-linux/vendor_ext.so",
            "/usr/local/bundle/gems/rack-3.0.8/lib/rack.rb",
            "/usr/local/bundle/extensions/x86_64-linux/3.3.0/nio4r-2.7.0/nio4r_ext.so",
            "/usr/local/lib/ruby/gems/3.3.0/gems/rake-13.1.0/lib/rake.rb",
        ];
        with_files_holding(MemTree::new(), &paths, "")
    }

    #[test]
    fn official_image_load_path_and_gem_home() {
        let tree = official();
        let env = [("GEM_HOME", "/usr/local/bundle")];
        let r = |name| files_found(resolve_in(&tree, &env, "/app/app.rb", name, Module));
        assert_eq!(r("set"), ["/usr/local/lib/ruby/3.3.0/set.rb"]);
        assert_eq!(
            r("socket"),
            ["/usr/local/lib/ruby/3.3.0/x86_64-linux/socket.so"]
        );
        assert_eq!(r("site"), ["/usr/local/lib/ruby/site_ruby/3.3.0/site.rb"]);
        assert_eq!(
            r("vendor_ext"),
            ["/usr/local/lib/ruby/vendor_ruby/3.3.0/x86_64-linux/vendor_ext.so"]
        );
        assert_eq!(r("rack"), ["/usr/local/bundle/gems/rack-3.0.8/lib/rack.rb"]);
        assert_eq!(
            r("nio4r_ext"),
            ["/usr/local/bundle/extensions/x86_64-linux/3.3.0/nio4r-2.7.0/nio4r_ext.so"]
        );
        assert_eq!(
            r("rake"),
            ["/usr/local/lib/ruby/gems/3.3.0/gems/rake-13.1.0/lib/rake.rb"]
        );
    }

    #[test]
    fn versions_learned_from_kept_paths() {
        let mut resolver = RubyResolver::new(&ImportContext::default());
        resolver.learn(
            &MemTree::new(),
            &[
                "/usr/lib/ruby/3.2.0/set.rb".to_string(),
                "/usr/lib/ruby/vendor_ruby".to_string(),
            ],
        );
        assert_eq!(resolver.versions, BTreeSet::from(["3.2.0".to_string()]));
        // a version only known from a kept path still gives its directories
        let tree = file(MemTree::new(), "/usr/lib/ruby/3.2.0/set.rb", "");
        assert_eq!(
            resolver
                .resolve(&tree, "/app/x.rb", &import("set", Module))
                .files,
            ["/usr/lib/ruby/3.2.0/set.rb"]
        );
    }
}
