//! Node.js: `require("x")`, `require.resolve("x")`, `import ... from "x"`, `import "x"`,
//! `export ... from "x"` and dynamic `import("x")` anywhere in a file, with a literal
//! specifier, resolved the way Node's CommonJS and ESM resolvers do: builtins, relative
//! files with their extensions and directory indexes, bare packages in `node_modules` up
//! the tree, then NODE_PATH, the home directory's folders and the global folders (Debian's
//! `/usr/share/nodejs` among them), with `package.json` `exports` before `main`.
//!
//! Not followed: computed specifiers (`require(name)`, templates with `${}`), `exports`
//! targets of conditions other than require/import/node/default, a package requiring
//! itself by its own name, and loaders or bundler aliases.

use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use serde_json::Value;
use tree_sitter::Node;

use super::lookup::{Lookup, join_relative};
use super::syntax::{Context, children_but_comments, line, plain_string, text, walk};
use super::{Import, ImportContext, ImportKind, Resolved};
use crate::resolve::tree::FileTree;
use crate::resolve::walk::{join, parent, resolve_path};

// ---- extraction -------------------------------------------------------------------------

/// Code that runs when it is called, not when the module loads.
const FUNCTIONS: &[&str] = &[
    "function_declaration",
    "function_expression",
    "function",
    "arrow_function",
    "method_definition",
    "generator_function",
    "generator_function_declaration",
];

pub fn imports(root: Node, source: &[u8]) -> Vec<Import> {
    let mut out = Vec::new();
    walk(root, Context::default(), |node, mut context| {
        if let Some(parent) = node.parent()
            && parent.kind() == "try_statement"
            && parent.child_by_field_name("body") == Some(node)
        {
            context.optional = true;
        }
        if FUNCTIONS.contains(&node.kind()) {
            context.lazy = true;
        }
        let specifier = match node.kind() {
            "import_statement" | "export_statement" => node
                .child_by_field_name("source")
                .and_then(|s| specifier(s, source)),
            "call_expression" => loaded_by_call(node, source),
            "string" => {
                if let Some(name) = mentioned_package(node, source) {
                    out.push(Import::mention(name, line(node)));
                }
                None
            }
            _ => None,
        };
        if let Some(name) = specifier {
            out.push(context.import(name, ImportKind::Module, node));
            // the string inside is the specifier already, not a mention
            return None;
        }
        Some(context)
    });
    out
}

/// The specifier of `require("x")`, `require.resolve("x")` or `import("x")`.
fn loaded_by_call(call: Node, source: &[u8]) -> Option<String> {
    let function = call.child_by_field_name("function")?;
    let loads = match function.kind() {
        "import" => true,
        "identifier" => text(function, source) == "require",
        "member_expression" => {
            let object = function.child_by_field_name("object");
            let property = function.child_by_field_name("property");
            object.is_some_and(|o| o.kind() == "identifier" && text(o, source) == "require")
                && property.is_some_and(|p| text(p, source) == "resolve")
        }
        _ => false,
    };
    if !loads {
        return None;
    }
    let arguments = call.child_by_field_name("arguments")?;
    specifier(*children_but_comments(arguments).first()?, source)
}

/// A string shaped like a package name (`'ejs'`, `'@scope/pkg'`): frameworks require such
/// names from settings (`app.set('view engine', 'ejs')`).
fn mentioned_package(node: Node, source: &[u8]) -> Option<String> {
    let value = plain_string(node, source, &["string_fragment"])?;
    let name = value.strip_prefix('@').map_or(value.as_str(), |scoped| {
        scoped.split_once('/').map_or("", |(_, name)| name)
    });
    let word = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')
            })
    };
    (word(name) && !is_builtin(&value)).then_some(value)
}

/// A string or a template literal without substitutions.
fn specifier(node: Node, source: &[u8]) -> Option<String> {
    if !matches!(node.kind(), "string" | "template_string") {
        return None;
    }
    plain_string(node, source, &["string_fragment"]).filter(|s| !s.is_empty())
}

// ---- resolution -------------------------------------------------------------------------

/// Modules compiled into node (also reached as `name/sub`, e.g. `fs/promises`).
const BUILTINS: &[&str] = &[
    "_http_agent",
    "_http_client",
    "_http_common",
    "_http_incoming",
    "_http_outgoing",
    "_http_server",
    "assert",
    "async_hooks",
    "buffer",
    "child_process",
    "cluster",
    "console",
    "constants",
    "crypto",
    "dgram",
    "diagnostics_channel",
    "dns",
    "domain",
    "events",
    "fs",
    "http",
    "http2",
    "https",
    "inspector",
    "module",
    "net",
    "os",
    "path",
    "perf_hooks",
    "process",
    "punycode",
    "querystring",
    "readline",
    "repl",
    "stream",
    "string_decoder",
    "sys",
    "timers",
    "tls",
    "trace_events",
    "tty",
    "url",
    "util",
    "v8",
    "vm",
    "wasi",
    "worker_threads",
    "zlib",
];

/// Debian's nodejs adds these to the global folders; `{multiarch}` is the arch tuple.
const DEBIAN_GLOBAL_DIRS: &[&str] = &[
    "/usr/local/lib/nodejs",
    "/usr/local/share/nodejs",
    "/usr/lib/{multiarch}/nodejs",
    "/usr/share/nodejs",
    "/usr/lib/nodejs",
];

/// What CommonJS tries after the path itself; `.mjs`/`.cjs` for ESM files named without one.
const EXTENSIONS: &[&str] = &[".js", ".json", ".node", ".mjs", ".cjs"];

/// `exports` conditions node matches when it runs a program (with no `--conditions`).
const CONDITIONS: &[&str] = &[
    "require",
    "import",
    "node",
    "node-addons",
    "module-sync",
    "default",
];

/// Largest `package.json` read.
const MANIFEST_LIMIT: usize = 4 << 20;

pub struct NodeResolver {
    lookup: Lookup,
    node_path: Vec<String>,
    home: String,
    /// `{prefix}/lib/node` of every node binary seen in kept paths
    prefix_dirs: BTreeSet<String>,
    /// the global folders after NODE_PATH, found on first use
    global: Option<Vec<String>>,
    manifests: HashMap<String, Option<Rc<Value>>>,
}

impl NodeResolver {
    pub fn new(context: &ImportContext) -> Self {
        let node_path = context.env_dirs("NODE_PATH");
        // a container started without HOME in its config gets root's
        let home = context
            .env
            .get("HOME")
            .filter(|h| h.starts_with('/'))
            .cloned()
            .unwrap_or_else(|| "/root".to_string());
        NodeResolver {
            lookup: Lookup::default(),
            node_path,
            home,
            prefix_dirs: BTreeSet::new(),
            global: None,
            manifests: HashMap::new(),
        }
    }

    /// Node adds `{prefix}/lib/node` for the prefix it runs from (`/usr/local/bin/node`).
    pub fn learn(&mut self, _tree: &dyn FileTree, kept: &[String]) {
        for path in kept {
            let Some((bin, name)) = path.rsplit_once('/') else {
                continue;
            };
            if matches!(name, "node" | "nodejs")
                && bin.ends_with("/bin")
                && let Some(prefix) = parent(bin)
                && self.prefix_dirs.insert(join_relative(prefix, "lib/node"))
            {
                self.global = None;
            }
        }
    }

    pub fn resolve(&mut self, tree: &dyn FileTree, importer: &str, import: &Import) -> Resolved {
        let mut out = Resolved::default();
        let name = import.name.as_str();
        if is_builtin(name) {
            return out;
        }
        let dir = parent(importer).unwrap_or("/");
        let mention = import.kind == ImportKind::Mention;
        // only an installed package counts for a mention
        let found = if mention {
            self.load_bare(tree, dir, name, &mut out)
        } else if let Some(path) = name.strip_prefix("file://") {
            self.load_path(tree, &join_relative("/", path), &mut out)
        } else if is_path(name) {
            let base = if name.starts_with('/') { "/" } else { dir };
            self.load_path(tree, &join_relative(base, name), &mut out)
        } else if name.starts_with('#') {
            self.load_private(tree, dir, name, &mut out)
        } else {
            self.load_bare(tree, dir, name, &mut out)
        };
        if mention && !found {
            // a mention's miss is no news, nor what was read looking for it
            return Resolved::default();
        }
        out.missing = !found;
        self.add_package_scopes(tree, &mut out);
        dedup(&mut out.files);
        out
    }

    /// A file, the file with an extension added, or a directory.
    fn load_path(&mut self, tree: &dyn FileTree, path: &str, out: &mut Resolved) -> bool {
        self.load_file(tree, path, out) || self.load_dir(tree, path, out)
    }

    fn load_file(&mut self, tree: &dyn FileTree, path: &str, out: &mut Resolved) -> bool {
        let found = std::iter::once(path.to_string())
            .chain(EXTENSIONS.iter().map(|ext| format!("{path}{ext}")))
            .find(|candidate| self.lookup.is_file(tree, candidate));
        found.map(|file| out.files.push(file)).is_some()
    }

    /// A directory: its `package.json` `main`, then its index file.
    fn load_dir(&mut self, tree: &dyn FileTree, dir: &str, out: &mut Resolved) -> bool {
        if !self.lookup.is_dir(tree, dir) {
            return false;
        }
        if let Some(manifest) = self.manifest(tree, dir, out)
            && let Some(main) = manifest.get("main").and_then(Value::as_str)
            && !main.is_empty()
        {
            let main = join_relative(dir, main);
            if self.load_file(tree, &main, out) || self.load_index(tree, &main, out) {
                return true;
            }
        }
        self.load_index(tree, dir, out)
    }

    fn load_index(&mut self, tree: &dyn FileTree, dir: &str, out: &mut Resolved) -> bool {
        let names = ["index.js", "index.json", "index.node"].map(String::from);
        let found = self.lookup.first_file(tree, dir, &names);
        found.map(|file| out.files.push(file)).is_some()
    }

    /// `pkg`, `@scope/pkg`, `pkg/sub` in each `node_modules` up from the importer, then in
    /// the global folders.
    fn load_bare(
        &mut self,
        tree: &dyn FileTree,
        dir: &str,
        name: &str,
        out: &mut Resolved,
    ) -> bool {
        let Some((package, subpath)) = split_package(name) else {
            return false;
        };
        for folder in self.folders(tree, dir) {
            let package_dir = join(&folder, package);
            if self.lookup.is_dir(tree, &package_dir)
                && self.load_exports(tree, &package_dir, &subpath, out)
            {
                return true;
            }
            if self.load_path(tree, &join_relative(&folder, name), out) {
                return true;
            }
        }
        false
    }

    /// Every folder a bare specifier is looked up in, nearest first.
    fn folders(&mut self, tree: &dyn FileTree, dir: &str) -> Vec<String> {
        let mut folders = Vec::new();
        let mut at = Some(dir);
        while let Some(d) = at {
            if !d.ends_with("/node_modules") {
                folders.push(join(d, "node_modules"));
            }
            at = parent(d);
        }
        folders.extend(self.node_path.iter().cloned());
        if self.global.is_none() {
            self.global = Some(self.global_folders(tree));
        }
        folders.extend(self.global.iter().flatten().cloned());
        folders.retain(|f| self.lookup.is_dir(tree, f));
        folders
    }

    fn global_folders(&mut self, tree: &dyn FileTree) -> Vec<String> {
        let mut dirs = vec![
            join(&self.home, ".node_modules"),
            join(&self.home, ".node_libraries"),
        ];
        dirs.extend(self.prefix_dirs.iter().cloned());
        dirs.extend(self.lookup.with_multiarch(tree, DEBIAN_GLOBAL_DIRS));
        dirs
    }

    /// The files a package's `exports` maps `subpath` to; false when it has no `exports`
    /// or none of them is there (the directory is then tried the CommonJS way).
    fn load_exports(
        &mut self,
        tree: &dyn FileTree,
        package_dir: &str,
        subpath: &str,
        out: &mut Resolved,
    ) -> bool {
        let Some(manifest) = self.manifest(tree, package_dir, out) else {
            return false;
        };
        let Some(exports) = manifest.get("exports") else {
            return false;
        };
        let targets = export_targets(exports, subpath);
        self.keep_targets(tree, package_dir, &targets, out)
    }

    /// `#name`: the nearest `package.json` `imports` map.
    fn load_private(
        &mut self,
        tree: &dyn FileTree,
        dir: &str,
        name: &str,
        out: &mut Resolved,
    ) -> bool {
        let Some(scope) = self.package_scope(tree, dir) else {
            return false;
        };
        let Some(package_dir) = parent(&scope).map(str::to_string) else {
            return false;
        };
        out.files.push(scope);
        let Some(manifest) = self.manifest(tree, &package_dir, out) else {
            return false;
        };
        let targets = match manifest.get("imports") {
            Some(Value::Object(map)) => subpath_targets(map, name),
            _ => return false,
        };
        let (local, packages): (Vec<String>, Vec<String>) =
            targets.into_iter().partition(|t| t.starts_with("./"));
        let mut found = self.keep_targets(tree, &package_dir, &local, out);
        for package in packages {
            found |= self.load_bare(tree, &package_dir, &package, out);
        }
        found
    }

    /// Keep the targets (`./x` inside the package) that are files.
    fn keep_targets(
        &mut self,
        tree: &dyn FileTree,
        package_dir: &str,
        targets: &[String],
        out: &mut Resolved,
    ) -> bool {
        let mut found = false;
        for target in targets.iter().filter(|t| t.starts_with("./")) {
            let path = join_relative(package_dir, target);
            if path.starts_with(&format!("{package_dir}/")) && self.lookup.is_file(tree, &path) {
                out.files.push(path);
                found = true;
            }
        }
        found
    }

    /// The parsed `package.json` of `dir`, which is kept since resolution read it.
    fn manifest(
        &mut self,
        tree: &dyn FileTree,
        dir: &str,
        out: &mut Resolved,
    ) -> Option<Rc<Value>> {
        let path = join(dir, "package.json");
        if !self.lookup.is_file(tree, &path) {
            return None;
        }
        out.files.push(path.clone());
        if let Some(known) = self.manifests.get(&path) {
            return known.clone();
        }
        let parsed = read_through_links(tree, &path)
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .map(Rc::new);
        self.manifests.insert(path, parsed.clone());
        parsed
    }

    /// The nearest `package.json` from `dir` up, not above a `node_modules` folder (the
    /// package scope node reads for every `.js` file it loads, for `"type"`).
    fn package_scope(&mut self, tree: &dyn FileTree, dir: &str) -> Option<String> {
        let mut at = Some(dir);
        while let Some(d) = at {
            if d.ends_with("/node_modules") {
                return None;
            }
            let manifest = join(d, "package.json");
            if self.lookup.is_file(tree, &manifest) {
                return Some(manifest);
            }
            at = parent(d);
        }
        None
    }

    /// Node reads the package scope of each `.js` file it loads: keep it too.
    fn add_package_scopes(&mut self, tree: &dyn FileTree, out: &mut Resolved) {
        let scripts: Vec<String> = out
            .files
            .iter()
            .filter(|f| f.ends_with(".js"))
            .cloned()
            .collect();
        for script in scripts {
            if let Some(dir) = parent(&script)
                && let Some(scope) = self.package_scope(tree, dir)
            {
                out.files.push(scope);
            }
        }
    }
}

/// Read a file whose path may cross symlinks (the tree itself never follows them).
fn read_through_links(tree: &dyn FileTree, path: &str) -> Option<Vec<u8>> {
    let walk = resolve_path(tree, path).ok()?;
    let (real, _) = walk.target()?;
    tree.read_prefix(real, MANIFEST_LIMIT).ok()
}

fn is_builtin(name: &str) -> bool {
    if name.starts_with("node:") {
        return true;
    }
    let first = name.split('/').next().unwrap_or_default();
    BUILTINS.contains(&first) || first.starts_with("_stream_") || first.starts_with("_tls_")
}

fn is_path(name: &str) -> bool {
    name == "."
        || name == ".."
        || name.starts_with("./")
        || name.starts_with("../")
        || name.starts_with('/')
}

/// `("@scope/pkg", "./sub")` from `@scope/pkg/sub`; `"."` when there is no subpath.
fn split_package(name: &str) -> Option<(&str, String)> {
    let mut parts = name.splitn(if name.starts_with('@') { 3 } else { 2 }, '/');
    let first = parts.next()?;
    let package_len = if name.starts_with('@') {
        first.len() + 1 + parts.next().filter(|s| !s.is_empty())?.len()
    } else {
        first.len()
    };
    let package = &name[..package_len];
    if package.is_empty() || package.starts_with('.') || package.contains('\\') {
        return None;
    }
    let subpath = match &name[package_len..] {
        "" => ".".to_string(),
        rest => format!(".{rest}"),
    };
    Some((package, subpath))
}

/// The targets `exports` gives `subpath` ("." or "./sub").
fn export_targets(exports: &Value, subpath: &str) -> Vec<String> {
    match exports {
        Value::Object(map) if map.keys().any(|k| k.starts_with('.')) => {
            subpath_targets(map, subpath)
        }
        _ if subpath == "." => condition_targets(exports),
        _ => Vec::new(),
    }
}

/// The targets of `key` in a map of subpaths or `#imports`: an exact key, else the pattern
/// (`./lib/*.js`) with the longest prefix, `*` standing for the same text in the target.
fn subpath_targets(map: &serde_json::Map<String, Value>, key: &str) -> Vec<String> {
    if let Some(target) = map.get(key) {
        return condition_targets(target);
    }
    let pattern = map
        .iter()
        .filter_map(|(k, v)| {
            let (prefix, suffix) = k.split_once('*')?;
            let matches = key.len() >= prefix.len() + suffix.len()
                && key.starts_with(prefix)
                && key.ends_with(suffix);
            matches.then(|| {
                (
                    prefix.len(),
                    &key[prefix.len()..key.len() - suffix.len()],
                    v,
                )
            })
        })
        .max_by_key(|(len, _, _)| *len);
    let Some((_, star, target)) = pattern else {
        return Vec::new();
    };
    condition_targets(target)
        .into_iter()
        .map(|t| t.replace('*', star))
        .collect()
}

/// Every target under the conditions node matches (nested conditions included); arrays
/// are fallbacks, all kept.
fn condition_targets(target: &Value) -> Vec<String> {
    match target {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(condition_targets).collect(),
        Value::Object(map) => map
            .iter()
            .filter(|(condition, _)| CONDITIONS.contains(&condition.as_str()))
            .flat_map(|(_, v)| condition_targets(v))
            .collect(),
        _ => Vec::new(),
    }
}

fn dedup(files: &mut Vec<String>) {
    let mut seen = BTreeSet::new();
    files.retain(|f| seen.insert(f.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::imports::Language::Node;
    use crate::resolve::imports::syntax::Parsers;
    use crate::resolve::imports::test_support::{
        Summary, context, file, files_found, import, lazy, mandatory, named, names_of_kind,
        summary, with_files,
    };
    use crate::resolve::memtree::MemTree;
    use ImportKind::{Mention, Module};

    /// The specifiers a source snippet loads (mentions left out).
    fn specifiers(source: &str) -> Vec<Summary> {
        let mut found = summary(Node, source);
        found.retain(|(_, kind, _, _)| *kind == Module);
        found
    }

    #[test]
    fn package_names_in_strings_are_mentions() {
        let source = "app.set('view engine', 'ejs');\nconst scoped = '@acme/theme';\n\
                      const text = 'Hello world';\nconst fs = require('fs');\nconst p = 'path';\n";
        // 'view engine' has a space, 'path' is built in, require's argument is a specifier
        assert_eq!(names_of_kind(Node, source, Mention), ["ejs", "@acme/theme"]);
        let tree = with_files(
            MemTree::new(),
            &[
                (
                    "/usr/share/nodejs/ejs/package.json",
                    r#"{"main": "lib/ejs.js"}"#,
                ),
                ("/usr/share/nodejs/ejs/lib/ejs.js", ""),
            ],
        );
        let mut resolver = NodeResolver::new(&ImportContext::default());
        let mention = |name: &str| Import::mention(name.to_string(), 1);
        let got = resolver.resolve(&tree, "/app/server.js", &mention("ejs"));
        assert!(
            got.files
                .contains(&"/usr/share/nodejs/ejs/lib/ejs.js".to_string()),
            "{got:?}"
        );
        let got = resolver.resolve(&tree, "/app/server.js", &mention("production"));
        assert!(got.files.is_empty() && !got.missing);
    }

    fn names(source: &str) -> Vec<String> {
        specifiers(source).into_iter().map(|(n, ..)| n).collect()
    }

    #[test]
    fn every_form_of_loading() {
        let source = r#"#!/usr/bin/env node
const a = require("a");
const b = require.resolve('b');
import c, { d as e } from "c";
import * as f from 'f';
import "side-effect";
export * from "./reexport.js";
export { g } from './named.mjs';
const h = await import("h");
const i = require(`template`);
import data from "./data.json" with { type: "json" };
"#;
        assert_eq!(
            names(source),
            vec![
                "a",
                "b",
                "c",
                "f",
                "side-effect",
                "./reexport.js",
                "./named.mjs",
                "h",
                "template",
                "./data.json"
            ]
        );
    }

    #[test]
    fn nested_and_multi_line_statements() {
        let source = r#"function load() {
  if (process.env.X) {
    return require(
      "in-if"
    );
  }
  const f = () => import("in-arrow");
}
import {
  one,
  two,
} from
  "multi-line";
"#;
        assert_eq!(
            specifiers(source),
            vec![
                mandatory("in-if", Module, 3),
                mandatory("in-arrow", Module, 7),
                mandatory("multi-line", Module, 9),
            ]
        );
    }

    #[test]
    fn look_alikes_do_not_count() {
        let source = r#"// require("in-comment")
/* import x from "in-block-comment" */
const s = "require('in-string')";
const t = `import("in-template")`;
require(name);
require("a" + b);
require(`plugins/${name}`);
obj.require("method");
myrequire("other");
require.cache["x"];
require.main.require("deep");
require("");
require("esc\u0061ped");
"#;
        assert!(names(source).is_empty(), "{:?}", names(source));
    }

    #[test]
    fn only_a_try_body_is_optional() {
        let source = r#"try {
  var fast = require("fast-native");
  (function () { require("nested-in-try"); })();
} catch (e) {
  var slow = require("slow-fallback");
} finally {
  require("cleanup");
}
"#;
        assert_eq!(
            specifiers(source),
            vec![
                ("fast-native".to_string(), Module, true, 2),
                ("nested-in-try".to_string(), Module, true, 3),
                mandatory("slow-fallback", Module, 5),
                mandatory("cleanup", Module, 7),
            ]
        );
    }

    #[test]
    fn imports_in_functions_are_lazy() {
        let source = r#"const top = require("top");
const plugin = await import("top-level-dynamic");
function handler() { return require("in-function"); }
const arrow = () => import("in-arrow");
class Shop {
  static engine = require("class-field");
  render() { return require("in-method"); }
}
module.exports = function () { require("in-expression"); };
"#;
        assert_eq!(
            lazy(Node, source),
            named(&[
                ("top", false),
                ("top-level-dynamic", false),
                ("in-function", true),
                ("in-arrow", true),
                ("class-field", false),
                ("in-method", true),
                ("in-expression", true),
            ])
        );
    }

    #[test]
    fn broken_source_still_gives_the_rest() {
        let found = Parsers::default().extract(Node, b"require('ok');\nconst = ;\n");
        assert!(found.problem.is_some());
        assert_eq!(found.imports[0].name, "ok");
    }

    /// Debian 12 with nodejs, node-express and an app in /app.
    fn debian() -> MemTree {
        let node = MemTree::new().file("/usr/bin/node", 0o755, b"\x7fELF".to_vec());
        let files = [
            (
                "/usr/share/nodejs/express/package.json",
                r#"{"name":"express","version":"4.18.2"}"#,
            ),
            (
                "/usr/share/nodejs/express/index.js",
                "module.exports = require('./lib/express');",
            ),
            ("/usr/share/nodejs/express/lib/express.js", ""),
            (
                "/usr/share/nodejs/ejs/package.json",
                r#"{"main":"./lib/ejs.js"}"#,
            ),
            ("/usr/share/nodejs/ejs/lib/ejs.js", ""),
            ("/usr/share/nodejs/ms/package.json", r#"{"main":"./index"}"#),
            ("/usr/share/nodejs/ms/index.js", ""),
            (
                "/usr/lib/x86_64-linux-gnu/nodejs/bufferutil/package.json",
                r#"{"main":"bufferutil.node"}"#,
            ),
            (
                "/usr/lib/x86_64-linux-gnu/nodejs/bufferutil/bufferutil.node",
                "\x7fELF",
            ),
            (
                "/app/package.json",
                r##"{"name":"shop","imports":{"#db":"./lib/db.js","#ms":"ms"}}"##,
            ),
            ("/app/server.js", ""),
            ("/app/lib/invoice.js", ""),
            ("/app/lib/db.js", ""),
            ("/app/lib/widgets/index.js", ""),
            ("/app/config/data.json", "{}"),
            ("/app/build/Release/addon.node", "\x7fELF"),
            ("/app/node_modules/ejs/package.json", r#"{"main":"ejs.js"}"#),
            ("/app/node_modules/ejs/ejs.js", ""),
            ("/app/node_modules/jake/package.json", "{}"),
            ("/app/node_modules/jake/index.js", ""),
            ("/opt/linked/package.json", r#"{"main":"main.js"}"#),
            ("/opt/linked/main.js", ""),
            ("/opt/node-path/helper.js", ""),
            ("/root/.node_modules/homemod/index.js", ""),
        ];
        with_files(node, &files).symlink("/app/node_modules/linked", "/opt/linked")
    }

    fn resolve_with(tree: &MemTree, env: &[(&str, &str)], importer: &str, name: &str) -> Resolved {
        let mut resolver = NodeResolver::new(&context(env, Some("/app")));
        resolver.learn(tree, &["/usr/bin/node".to_string()]);
        resolver.resolve(tree, importer, &import(name, Module))
    }

    fn resolve(tree: &MemTree, importer: &str, name: &str) -> Resolved {
        resolve_with(tree, &[], importer, name)
    }

    /// Each `(importer, specifier, package directory, file)`: the specifier loads the file
    /// in the package, after the package's `package.json`.
    #[track_caller]
    fn assert_loaded_from_packages(tree: &MemTree, cases: &[(&str, &str, &str, &str)]) {
        for (importer, name, package, file) in cases {
            let expected = [
                format!("{package}/package.json"),
                format!("{package}/{file}"),
            ];
            assert_eq!(
                files_found(resolve(tree, importer, name)),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn builtins_are_never_files_nor_missing() {
        let tree = debian();
        for name in [
            "fs",
            "node:fs",
            "fs/promises",
            "node:test",
            "_stream_readable",
            "zlib",
        ] {
            assert_eq!(
                resolve(&tree, "/app/server.js", name),
                Resolved::default(),
                "{name}"
            );
        }
    }

    #[test]
    fn relative_files_extensions_and_directories() {
        let tree = debian();
        let server = "/app/server.js";
        let scope = "/app/package.json";
        let cases: [(&str, &str, &[&str]); 5] = [
            (server, "./lib/invoice", &["/app/lib/invoice.js", scope]),
            (
                "/app/lib/db.js",
                "../config/data.json",
                &["/app/config/data.json"],
            ),
            (
                server,
                "./lib/widgets",
                &["/app/lib/widgets/index.js", scope],
            ),
            (
                server,
                "./build/Release/addon",
                &["/app/build/Release/addon.node"],
            ),
            ("/srv/x.js", "/app/lib/db.js", &["/app/lib/db.js", scope]),
        ];
        for (importer, name, files) in cases {
            assert_eq!(files_found(resolve(&tree, importer, name)), files, "{name}");
        }
        assert!(resolve(&tree, server, "./lib/nope").missing);
    }

    #[test]
    fn debian_global_folders() {
        let tree = debian();
        let server = "/app/server.js";
        let express = "/usr/share/nodejs/express";
        assert_loaded_from_packages(
            &tree,
            &[
                (server, "express", express, "index.js"),
                (
                    "/usr/share/nodejs/express/index.js",
                    "ms",
                    "/usr/share/nodejs/ms",
                    "index.js",
                ),
                (
                    server,
                    "bufferutil",
                    "/usr/lib/x86_64-linux-gnu/nodejs/bufferutil",
                    "bufferutil.node",
                ),
                (server, "express/lib/express", express, "lib/express.js"),
            ],
        );
        assert!(resolve(&tree, server, "left-pad").missing);
    }

    #[test]
    fn nearest_node_modules_first_and_up_the_tree() {
        let server = "/app/server.js";
        assert_loaded_from_packages(
            &debian(),
            &[
                (server, "ejs", "/app/node_modules/ejs", "ejs.js"),
                (
                    "/app/node_modules/ejs/ejs.js",
                    "jake",
                    "/app/node_modules/jake",
                    "index.js",
                ),
                // the package.json read through a symlinked package
                (server, "linked", "/app/node_modules/linked", "main.js"),
            ],
        );
    }

    #[test]
    fn node_path_home_and_prefix_folders() {
        let tree = debian()
            .file("/usr/local/bin/node", 0o755, b"\x7fELF".to_vec())
            .file("/usr/local/lib/node/prefixed.js", 0o644, b"".to_vec());
        let resolved = resolve_with(
            &tree,
            &[("NODE_PATH", "/opt/node-path:relative")],
            "/app/server.js",
            "helper",
        );
        assert_eq!(files_found(resolved), ["/opt/node-path/helper.js"]);
        assert_eq!(
            files_found(resolve(&tree, "/app/server.js", "homemod")),
            ["/root/.node_modules/homemod/index.js"]
        );
        assert!(resolve_with(&tree, &[("HOME", "/home/app")], "/app/server.js", "homemod").missing);

        let mut resolver = NodeResolver::new(&ImportContext::default());
        resolver.learn(&tree, &["/usr/local/bin/node".to_string()]);
        let resolved = resolver.resolve(&tree, "/app/server.js", &import("prefixed", Module));
        assert_eq!(files_found(resolved), ["/usr/local/lib/node/prefixed.js"]);
    }

    fn with_exports() -> MemTree {
        let manifest = r#"{
  "name": "@scope/pkg",
  "main": "./legacy.js",
  "exports": {
    ".": {
      "types": "./index.d.ts",
      "node": { "import": "./esm/index.mjs", "require": "./cjs/index.cjs" },
      "browser": "./browser.js",
      "default": "./cjs/index.cjs"
    },
    "./feature": "./lib/feature.js",
    "./utils/*": "./lib/utils/*.js",
    "./utils/private/*": null,
    "./package.json": "./package.json"
  }
}"#;
        let mut tree = file(
            debian(),
            "/app/node_modules/@scope/pkg/package.json",
            manifest,
        );
        for path in [
            "legacy.js",
            "index.d.ts",
            "esm/index.mjs",
            "cjs/index.cjs",
            "browser.js",
            "lib/feature.js",
            "lib/utils/a.js",
            "lib/utils/private/b.js",
            "esm/package.json",
        ] {
            tree = file(tree, &format!("/app/node_modules/@scope/pkg/{path}"), "");
        }
        let sugar = r#"{"exports": "./sugar.js", "main": "./other.js"}"#;
        tree = file(tree, "/app/node_modules/sugar/package.json", sugar);
        tree = file(tree, "/app/node_modules/sugar/sugar.js", "");
        file(tree, "/app/node_modules/sugar/other.js", "")
    }

    #[test]
    fn package_exports_win_over_main() {
        let tree = with_exports();
        let pkg = "/app/node_modules/@scope/pkg";
        let server = "/app/server.js";
        let resolved = resolve(&tree, server, "@scope/pkg");
        let mut kept = files_found(resolved);
        kept.sort();
        assert_eq!(
            kept,
            vec![
                format!("{pkg}/cjs/index.cjs"),
                format!("{pkg}/esm/index.mjs"),
                format!("{pkg}/package.json"),
            ]
        );
        assert_loaded_from_packages(
            &tree,
            &[
                (server, "@scope/pkg/feature", pkg, "lib/feature.js"),
                (server, "@scope/pkg/utils/a", pkg, "lib/utils/a.js"),
                (server, "sugar", "/app/node_modules/sugar", "sugar.js"),
            ],
        );
        // not exported: the CommonJS way still finds what is there
        assert!(resolve(&tree, server, "@scope/pkg/utils/private/c").missing);
    }

    #[test]
    fn package_scope_of_a_nested_es_module_is_kept() {
        let tree = file(
            with_exports(),
            "/app/node_modules/@scope/pkg/esm/util.js",
            "",
        );
        let resolved = resolve(
            &tree,
            "/app/node_modules/@scope/pkg/esm/index.mjs",
            "./util.js",
        );
        assert_eq!(
            files_found(resolved),
            vec![
                "/app/node_modules/@scope/pkg/esm/util.js",
                "/app/node_modules/@scope/pkg/esm/package.json"
            ]
        );
    }

    #[test]
    fn private_imports_map() {
        let tree = debian();
        assert_eq!(
            files_found(resolve(&tree, "/app/lib/invoice.js", "#db")),
            vec!["/app/package.json", "/app/lib/db.js"]
        );
        assert_eq!(
            files_found(resolve(&tree, "/app/server.js", "#ms")),
            vec![
                "/app/package.json",
                "/usr/share/nodejs/ms/package.json",
                "/usr/share/nodejs/ms/index.js"
            ]
        );
        assert!(resolve(&tree, "/app/server.js", "#nope").missing);
    }

    #[test]
    fn odd_specifiers_do_not_panic() {
        let tree = debian();
        for name in [
            "@",
            "@scope",
            "@scope/",
            "/",
            ".",
            "..",
            "./../../../..",
            "pkg//x",
            "é/ü",
        ] {
            let _ = resolve(&tree, "/app/server.js", name);
        }
        assert!(resolve(&tree, "/app/server.js", "@scope").missing);
    }
}
