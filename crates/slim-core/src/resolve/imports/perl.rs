//! Perl: `use A::B`, `no A::B`, `require A::B`, `require "x.pl"`, `do "x.pl"`, the modules
//! `use parent`/`use base` name and `use if COND, "A::B"`, anywhere in a file and inside
//! string `eval`s, resolved over `@INC` as Debian's perl builds it (PERL5LIB, /etc/perl,
//! the site, vendor and core directories of every version found), also the official
//! images' (/usr/local/lib/perl5), with each module's `auto/` directory (XS libraries,
//! AutoSplit files).
//!
//! Not followed: computed names (`require $class`), `use lib` (the program changing @INC),
//! `use VERSION`. A miss is not reported inside `eval { }`, a string eval, `try { }`,
//! `use if`, `do FILE`, or a branch on `$^O`. `use` runs when the file is compiled, so it is
//! never lazy, even inside a `sub`; `require` there is.

use std::collections::BTreeSet;

use tree_sitter::Node;

use super::lookup::Lookup;
use super::syntax::{Context, contains_node, line, parse_once, text, unquote, walk};
use super::{Import, ImportContext, ImportKind, Language, Resolved};
use crate::resolve::tree::FileTree;
use crate::resolve::walk::join;

// ---- extraction -------------------------------------------------------------------------

/// How deep string evals inside string evals are followed.
const EVAL_DEPTH: usize = 3;

const STRINGS: &[&str] = &[
    "string_single_quoted",
    "string_double_quoted",
    "string_q_quoted",
    "string_qq_quoted",
];

pub fn imports(root: Node, source: &[u8]) -> Vec<Import> {
    imports_at(root, source, Context::default(), 0, 0)
}

/// The imports under `root`; `lines` is added to each line (for a string eval's source).
fn imports_at(
    root: Node,
    source: &[u8],
    outer: Context,
    lines: usize,
    depth: usize,
) -> Vec<Import> {
    let mut out = Vec::new();
    walk(root, outer, |node, mut context| {
        if is_eval_block(node, source) || branches_on_platform(node, source) {
            context.optional = true;
        }
        if matches!(node.kind(), "function_definition" | "anonymous_function") {
            context.lazy = true;
        }
        let at = line(node) + lines;
        // (name, kind, a miss is expected, made at run time rather than compile time)
        let mut found: Vec<(String, ImportKind, bool, bool)> = Vec::new();
        let descend = match node.kind() {
            "use_no_statement"
            | "use_no_if_statement"
            | "use_parent_statement"
            | "use_no_feature_statement"
            | "use_no_subs_statement"
            | "use_constant_statement" => {
                for (name, optional) in used(node, source) {
                    found.push((name, ImportKind::Module, optional, false));
                }
                false
            }
            "require_statement" => {
                found.extend(
                    package_field(node, source).map(|n| (n, ImportKind::Module, false, true)),
                );
                true
            }
            "ERROR" => {
                found.extend(recovered(node, source));
                true
            }
            "call_expression_with_spaced_args" => {
                match called(node, source) {
                    Some(("do", argument)) => {
                        let path = leading_string(argument, source);
                        found.extend(path.map(|p| (p, ImportKind::Path, true, true)));
                    }
                    Some(("eval", argument))
                        if argument.kind() == "arguments" && depth < EVAL_DEPTH =>
                    {
                        let base = line(argument) - 1 + lines;
                        out.extend(string_eval(argument, source, context, base, depth + 1));
                    }
                    _ => {}
                }
                true
            }
            _ => true,
        };
        out.extend(
            found
                .into_iter()
                .map(|(name, kind, optional, runtime)| Import {
                    name,
                    kind,
                    optional: context.optional || optional,
                    lazy: context.lazy && runtime,
                    line: at,
                }),
        );
        descend.then_some(context)
    });
    out
}

/// Statements the grammar could not read, from the tokens left in an error node: `use`,
/// `no` or `require` followed by a package name, or `require` followed by a string (the
/// grammar has no rule for `require EXPR`, so `require "x.pl"` always ends up here, the
/// string just after the error node).
fn recovered(error: Node, source: &[u8]) -> Vec<(String, ImportKind, bool, bool)> {
    let mut cursor = error.walk();
    let children: Vec<Node> = error.children(&mut cursor).collect();
    let mut found = Vec::new();
    for (at, keyword) in children.iter().enumerate() {
        if keyword.is_named() || !matches!(keyword.kind(), "use" | "no" | "require") {
            continue;
        }
        let runtime = keyword.kind() == "require";
        let next = children
            .get(at + 1)
            .copied()
            .or_else(|| error.next_named_sibling());
        // the rest of the statement may be an error node of its own
        let Some(next) = next.map(|n| match n.kind() {
            "ERROR" => n.named_child(0).unwrap_or(n),
            _ => n,
        }) else {
            continue;
        };
        if next.kind() == "package_name" {
            let name = module_name(next, source);
            found.extend(name.map(|n| (n, ImportKind::Module, false, runtime)));
        } else if runtime && at + 1 == children.len() {
            let path = leading_string(next, source);
            found.extend(path.map(|p| (p, ImportKind::Path, false, true)));
        }
    }
    found
}

/// The modules a `use`/`no` statement loads, each with whether a miss is expected.
fn used(node: Node, source: &[u8]) -> Vec<(String, bool)> {
    let pragma = match node.kind() {
        "use_no_if_statement" => "if",
        "use_parent_statement" => "parent",
        "use_no_feature_statement" => "feature",
        "use_no_subs_statement" => "subs",
        "use_constant_statement" => "constant",
        _ => "",
    };
    if pragma.is_empty() {
        let Some(name) = package_field(node, source) else {
            return Vec::new();
        };
        // `use base LIST` loads every module listed, like `use parent`
        let listed = if name == "base" {
            listed_modules(node, source)
        } else {
            Vec::new()
        };
        return std::iter::once(name)
            .chain(listed)
            .map(|n| (n, false))
            .collect();
    }
    let mut modules = vec![(pragma.to_string(), false)];
    match pragma {
        "parent" if !has_child(node, "no_require") => {
            modules.extend(listed_modules(node, source).into_iter().map(|n| (n, false)));
        }
        "if" => {
            let conditional = node
                .child_by_field_name("package_name")
                .and_then(|n| module_name(n, source));
            modules.extend(conditional.map(|n| (n, true)));
        }
        _ => {}
    }
    modules
}

/// The `package_name` field as `A::B`, if the grammar read it cleanly (`require $class`
/// gives an error node for `$` and the package name `class`).
fn package_field(node: Node, source: &[u8]) -> Option<String> {
    let name = node.child_by_field_name("package_name")?;
    let mut cursor = node.walk();
    let clean = node
        .children(&mut cursor)
        .take_while(|c| *c != name)
        .all(|c| !c.is_error() && !c.is_missing());
    let cleanly = clean && name.kind() == "package_name";
    cleanly.then(|| module_name(name, source)).flatten()
}

/// `A::B` from a package name or a string holding one.
fn module_name(node: Node, source: &[u8]) -> Option<String> {
    let name = if node.kind() == "package_name" {
        (!node.has_error()).then(|| text(node, source).to_string())?
    } else {
        string_value(node, source)?
    };
    is_module_name(&name).then_some(name)
}

fn is_module_name(name: &str) -> bool {
    !name.is_empty()
        && name.split("::").all(|part| {
            part.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// Module names in a statement's strings and `qw()` lists (the grammar sometimes wraps part
/// of a list in an error node, so every descendant is looked at).
fn listed_modules(node: Node, source: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    walk(node, (), |n, ()| {
        if n.kind() == "package_name" {
            return None;
        }
        let name = if n.kind() == "list_item" {
            Some(text(n, source).to_string())
        } else {
            string_value(n, source)
        };
        match name {
            Some(name) => {
                names.extend(is_module_name(&name).then_some(name));
                None
            }
            None => Some(()),
        }
    });
    names
}

fn has_child(node: Node, kind: &str) -> bool {
    let mut cursor = node.walk();
    node.children(&mut cursor).any(|c| c.kind() == kind)
}

/// A quoted string without interpolation or escapes.
fn string_value(node: Node, source: &[u8]) -> Option<String> {
    if !matches!(node.kind(), "string_single_quoted" | "string_double_quoted") {
        return None;
    }
    let mut cursor = node.walk();
    if node.named_children(&mut cursor).next().is_some() {
        return None;
    }
    unquote(text(node, source)).filter(|s| !s.is_empty())
}

/// The string at the start of an expression: `"x.pl"`, `("x.pl")`, `"x.pl" or die`.
fn leading_string(node: Node, source: &[u8]) -> Option<String> {
    let mut node = node;
    for _ in 0..4 {
        if let Some(value) = string_value(node, source) {
            return Some(value);
        }
        if !matches!(node.kind(), "array" | "binary_expression" | "arguments") {
            return None;
        }
        node = node.named_child(0)?;
    }
    None
}

/// `eval`, `do`, `try` with their argument: the name and the block or argument list.
fn called<'t>(node: Node<'t>, source: &[u8]) -> Option<(&'static str, Node<'t>)> {
    let function = node.named_child(0)?;
    if function.kind() != "call_expression_with_bareword" {
        return None;
    }
    let name = text(function.child_by_field_name("function_name")?, source);
    let name = ["eval", "do", "try"].into_iter().find(|n| *n == name)?;
    Some((name, node.child_by_field_name("args")?))
}

/// The block of `eval { }` or `try { }`: a failed load there is caught.
fn is_eval_block(node: Node, source: &[u8]) -> bool {
    node.kind() == "block"
        && node.parent().is_some_and(|p| {
            p.kind() == "call_expression_with_spaced_args"
                && called(p, source).is_some_and(|(name, _)| name != "do")
        })
}

/// A statement with a condition on `$^O` (the OS): its branches are for some other OS.
fn branches_on_platform(node: Node, source: &[u8]) -> bool {
    let Some(condition) = node.child_by_field_name("condition") else {
        return false;
    };
    contains_node(condition, |n| {
        n.kind().ends_with("scalar_variable") && text(n, source) == "$^O"
    })
}

/// The imports in the source of a string `eval "use X; 1"`.
fn string_eval(
    arguments: Node,
    source: &[u8],
    context: Context,
    lines: usize,
    depth: usize,
) -> Vec<Import> {
    let mut cursor = arguments.walk();
    let Some(string) = arguments
        .named_children(&mut cursor)
        .find(|c| STRINGS.contains(&c.kind()))
    else {
        return Vec::new();
    };
    let Some(code) = string_body(string) else {
        return Vec::new();
    };
    let code = &source[code.0..code.1];
    let Some(tree) = parse_once(Language::Perl, code) else {
        return Vec::new();
    };
    // all of it runs when the eval does, and a failure there is caught
    let mut found = imports_at(tree.root_node(), code, Context::default(), lines, depth);
    for import in &mut found {
        import.optional = true;
        import.lazy |= context.lazy;
    }
    found
}

/// The byte range inside a string's delimiters.
fn string_body(string: Node) -> Option<(usize, usize)> {
    let mut cursor = string.walk();
    let children: Vec<Node> = string.children(&mut cursor).collect();
    let start = children
        .iter()
        .find(|c| c.kind() == "start_delimiter")
        .map(|c| c.end_byte());
    let end = children
        .iter()
        .find(|c| c.kind() == "end_delimiter")
        .map(|c| c.start_byte());
    let (start, end) = match (start, end) {
        (Some(start), Some(end)) => (start, end),
        _ => (string.start_byte() + 1, string.end_byte().saturating_sub(1)),
    };
    (start <= end).then_some((start, end))
}

// ---- resolution -------------------------------------------------------------------------

/// Packages perl defines itself: never missing when no file has them.
const BUILT_IN: &[&str] = &[
    "UNIVERSAL",
    "CORE",
    "CORE::GLOBAL",
    "Internals",
    "main",
    "PerlIO::Layer",
];

pub struct PerlResolver {
    lookup: Lookup,
    perl5lib: Vec<String>,
    workdir: Option<String>,
    /// perl versions (`5.36`, `5.36.0`) seen in kept paths
    versions: BTreeSet<String>,
    /// `@INC`, rebuilt when a version shows up
    inc: Option<Vec<String>>,
}

impl PerlResolver {
    pub fn new(context: &ImportContext) -> Self {
        PerlResolver {
            lookup: Lookup::default(),
            perl5lib: context.env_dirs("PERL5LIB"),
            workdir: context.absolute_workdir(),
            versions: BTreeSet::new(),
            inc: None,
        }
    }

    /// Versions from kept paths: `/usr/share/perl/5.36/...`, `/usr/bin/perl5.36.0`.
    pub fn learn(&mut self, _tree: &dyn FileTree, kept: &[String]) {
        for path in kept {
            let mut previous = "";
            for component in path.split('/') {
                let version = match component.strip_prefix("perl") {
                    Some(v) if is_version(v) => Some(v),
                    _ if matches!(previous, "perl" | "perl5") && is_version(component) => {
                        Some(component)
                    }
                    _ => None,
                };
                if let Some(v) = version
                    && self.versions.insert(v.to_string())
                {
                    self.inc = None;
                }
                previous = component;
            }
        }
    }

    /// The importer's own directory plays no part: perl dropped "." from @INC in 5.26.
    pub fn resolve(&mut self, tree: &dyn FileTree, _importer: &str, import: &Import) -> Resolved {
        let mut out = Resolved::default();
        let name = import.name.as_str();
        let (file, module) = match import.kind {
            ImportKind::Module => (format!("{}.pm", name.replace("::", "/")), Some(name)),
            _ => (name.to_string(), name.strip_suffix(".pm")),
        };
        let bases = self.bases_for(tree, &file, import.kind != ImportKind::Module);
        out.files
            .extend(self.lookup.first_file_under(tree, &bases, &file));
        if let Some(module) = module.filter(|_| !file.starts_with('/')) {
            let auto = format!("auto/{}", module.replace("::", "/"));
            let inc = self.inc(tree);
            out.dirs = inc
                .iter()
                .map(|dir| join(dir, &auto))
                .filter(|dir| self.lookup.is_dir(tree, dir))
                .collect();
        }
        out.missing = out.files.is_empty() && !BUILT_IN.contains(&name);
        out
    }

    /// Where a file is looked up: an absolute path as it is, `./x` in the working
    /// directory, others over @INC (and then the working directory for a file path, as
    /// `require "x.pl"` in a script run from there finds it).
    fn bases_for(&mut self, tree: &dyn FileTree, file: &str, path: bool) -> Vec<String> {
        if file.starts_with('/') {
            return vec!["/".to_string()];
        }
        let workdir = self.workdir.clone();
        if file.starts_with("./") || file.starts_with("../") {
            return workdir.into_iter().collect();
        }
        let mut bases = self.inc(tree);
        bases.extend(workdir.filter(|_| path));
        bases
    }

    fn inc(&mut self, tree: &dyn FileTree) -> Vec<String> {
        if self.inc.is_none() {
            let mut dirs = self.perl5lib.clone();
            dirs.extend(self.debian_inc(tree));
            dirs.extend(self.official_inc(tree));
            self.inc = Some(self.lookup.existing_dirs(tree, dirs));
        }
        self.inc.clone().unwrap_or_default()
    }

    /// Debian's perl (`perl -V` on Debian 12: `{s}` = 5.36, `{f}` = 5.36.0).
    fn debian_inc(&mut self, tree: &dyn FileTree) -> Vec<String> {
        let multiarch = self.lookup.multiarch(tree);
        let mut roots = vec!["/usr/share/perl".to_string()];
        roots.extend(multiarch.iter().map(|m| format!("/usr/lib/{m}/perl")));
        let short: BTreeSet<String> = self
            .lookup
            .versions_in(tree, &roots, &self.versions, is_version)
            .into_iter()
            .map(|v| major_minor(&v))
            .collect();
        roots.push("/usr/local/share/perl".to_string());
        roots.extend(multiarch.iter().map(|m| format!("/usr/local/lib/{m}/perl")));
        let full: Vec<String> = self
            .lookup
            .versions_in(tree, &roots, &self.versions, is_version)
            .into_iter()
            .filter(|v| v.split('.').count() == 3 && short.contains(&major_minor(v)))
            .collect();
        let mut dirs = vec!["/etc/perl".to_string()];
        for f in &full {
            dirs.extend(
                multiarch
                    .iter()
                    .map(|m| format!("/usr/local/lib/{m}/perl/{f}")),
            );
            dirs.push(format!("/usr/local/share/perl/{f}"));
        }
        for s in &short {
            dirs.extend(multiarch.iter().map(|m| format!("/usr/lib/{m}/perl5/{s}")));
        }
        dirs.push("/usr/share/perl5".to_string());
        dirs.extend(multiarch.iter().map(|m| format!("/usr/lib/{m}/perl-base")));
        for s in &short {
            dirs.extend(multiarch.iter().map(|m| format!("/usr/lib/{m}/perl/{s}")));
            dirs.push(format!("/usr/share/perl/{s}"));
        }
        dirs.push("/usr/local/lib/site_perl".to_string());
        dirs
    }

    /// The official images' perl, built into /usr/local/lib/perl5 (`{a}` = x86_64-linux-gnu).
    fn official_inc(&mut self, tree: &dyn FileTree) -> Vec<String> {
        let prefix = "/usr/local/lib/perl5";
        let roots = [prefix.to_string()];
        let versions = self
            .lookup
            .versions_in(tree, &roots, &self.versions, is_version);
        let mut dirs = Vec::new();
        for v in versions.iter().filter(|v| v.split('.').count() == 3) {
            for kind in ["site_perl/", "vendor_perl/", ""] {
                let dir = format!("{prefix}/{kind}{v}");
                dirs.extend(self.lookup.subdirs(tree, &dir, |n| n.contains("-linux")));
                dirs.push(dir);
            }
        }
        dirs
    }
}

/// `5.36` or `5.36.0`.
fn is_version(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.first() == Some(&"5")
        && (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn major_minor(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::imports::Language::Perl;
    use crate::resolve::imports::syntax::Parsers;
    use crate::resolve::imports::test_support::{
        context, extract, import, lazy, mandatory, named, optional, summary, with_files_holding,
    };
    use crate::resolve::memtree::MemTree;
    use ImportKind::{Module, Path};

    #[test]
    fn use_no_and_require() {
        let source = r#"#!/usr/bin/perl
use strict;
use warnings;
use 5.010;
use v5.36;
use POSIX ();
use List::Util qw(first max);
use Foo::Bar 1.23;
no warnings 'redefine';
require Carp;
require "config.pl";
require 'lib/helpers.pl';
require("paren.pl");
require "or-die.pl" or die "no: $!";
use lib '/opt/lib';
"#;
        assert_eq!(
            summary(Perl, source),
            vec![
                mandatory("strict", Module, 2),
                mandatory("warnings", Module, 3),
                mandatory("POSIX", Module, 6),
                mandatory("List::Util", Module, 7),
                mandatory("Foo::Bar", Module, 8),
                mandatory("warnings", Module, 9),
                mandatory("Carp", Module, 10),
                mandatory("config.pl", Path, 11),
                mandatory("lib/helpers.pl", Path, 12),
                mandatory("paren.pl", Path, 13),
                mandatory("or-die.pl", Path, 14),
                mandatory("lib", Module, 15),
            ]
        );
    }

    #[test]
    fn pragmas_and_module_lists() {
        let source = r#"package My::Class;
use parent qw(Base::One Base::Two);
use parent 'Base::Three';
use parent -norequire, 'Defined::Here';
use base 'Old::Base', "Other::Base";
use base qw(Qw::Base);
use constant DEBUG => 0;
use feature 'say';
use subs qw(open);
use if $] < 5.008, 'Compat::Old';
use parent
  qw(
    Multi::Line
  );
"#;
        assert_eq!(
            summary(Perl, source),
            vec![
                mandatory("parent", Module, 2),
                mandatory("Base::One", Module, 2),
                mandatory("Base::Two", Module, 2),
                mandatory("parent", Module, 3),
                mandatory("Base::Three", Module, 3),
                mandatory("parent", Module, 4),
                mandatory("base", Module, 5),
                mandatory("Old::Base", Module, 5),
                mandatory("Other::Base", Module, 5),
                mandatory("base", Module, 6),
                mandatory("Qw::Base", Module, 6),
                mandatory("constant", Module, 7),
                mandatory("feature", Module, 8),
                mandatory("subs", Module, 9),
                mandatory("if", Module, 10),
                ("Compat::Old".to_string(), Module, true, 10),
                mandatory("parent", Module, 11),
                mandatory("Multi::Line", Module, 11),
            ]
        );
    }

    #[test]
    fn look_alikes_and_computed_names_do_not_count() {
        let source = r#"# use In::Comment;
my $s = "use In::String;";
my $t = 'require In::Single;';
require $class;
require "$dir/interpolated.pl";
require File::Spec->catfile('a', 'b');
Foo::Bar->import;
print <<EOT;
use In::Heredoc;
EOT

=pod

use In::Pod;

=cut

__END__
use After::End;
"#;
        assert_eq!(summary(Perl, source), vec![]);
    }

    #[test]
    fn evals_try_and_platform_branches_are_optional() {
        let source = r#"my $ok = eval { require JSON::XS; 1 };
eval "use Str::Double; 1" or warn $@;
eval 'require Str::Single';
eval q{ use Str::Q; 1 };
eval qq{require Str::QQ};
eval "use $computed; 1";
eval { "use Not::Evaluated" };
try { require Try::Mod } catch { require Catch::Mod };
if ($^O eq 'MSWin32') { require Win32::API; } else { require POSIX; }
require Win32::Console if $^O eq 'MSWin32';
do "settings.pl";
require Plain::Mod;
"#;
        assert_eq!(
            optional(Perl, source),
            named(&[
                ("JSON::XS", true),
                ("Str::Double", true),
                ("Str::Single", true),
                ("Str::Q", true),
                ("Str::QQ", true),
                ("Try::Mod", true),
                ("Catch::Mod", false),
                ("Win32::API", true),
                ("POSIX", true),
                ("Win32::Console", true),
                ("settings.pl", true),
                ("Plain::Mod", false),
            ])
        );
        let lines: Vec<usize> = extract(Perl, source).iter().map(|i| i.line).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5, 8, 8, 9, 9, 10, 11, 12]);
    }

    #[test]
    fn use_is_never_lazy_require_in_a_sub_is() {
        let source = r#"sub handler {
    use Compile::Time;
    require Run::Time;
    eval "use In::Eval; 1";
    if ($x) {
        require "deep.pl";
    }
}
my $cb = sub { require In::Closure };
BEGIN { require In::Begin }
require Top::Level;
"#;
        assert_eq!(
            lazy(Perl, source),
            named(&[
                ("Compile::Time", false),
                ("Run::Time", true),
                ("In::Eval", true),
                ("deep.pl", true),
                ("In::Closure", true),
                ("In::Begin", false),
                ("Top::Level", false),
            ])
        );
    }

    #[test]
    fn statements_in_a_region_the_grammar_cannot_read() {
        // the grammar reads no statement here, and nothing after it
        let source = r#"use overload '""' => "STRINGIFY", '0+' => "NUMIFY",
  fallback => 1;
"#;
        let found = Parsers::default().extract(Perl, source.as_bytes());
        // the grammar's gaps are not reported: the imports around them are recovered
        assert!(found.problem.is_none());
        let names: Vec<&str> = found.imports.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["overload"]);
    }

    #[test]
    fn odd_source_does_not_panic() {
        for source in [
            "eval",
            "eval \"",
            "require",
            "use",
            "use parent",
            "eval q{",
            "require (",
            "use base (",
        ] {
            let _ = extract(Perl, source);
        }
    }

    /// Debian 12: perl 5.36 (perl-base, libperl5.36, perl-modules-5.36), Debian's vendor
    /// modules, a module installed with cpanm (and one left from an older perl), and an app.
    fn debian() -> MemTree {
        let paths = [
            "/usr/bin/perl",
            "/etc/perl/sitecustomize.pl",
            "/usr/lib/x86_64-linux-gnu/perl-base/strict.pm",
            "/usr/lib/x86_64-linux-gnu/perl-base/warnings.pm",
            "/usr/lib/x86_64-linux-gnu/perl-base/parent.pm",
            "/usr/lib/x86_64-linux-gnu/perl-base/POSIX.pm",
            "/usr/lib/x86_64-linux-gnu/perl-base/auto/POSIX/POSIX.so",
            "/usr/lib/x86_64-linux-gnu/perl-base/List/Util.pm",
            "/usr/lib/x86_64-linux-gnu/perl-base/auto/List/Util/Util.so",
            "/usr/lib/x86_64-linux-gnu/perl/5.36.0/Storable.pm",
            "/usr/lib/x86_64-linux-gnu/perl/5.36.0/auto/Storable/Storable.so",
            "/usr/lib/x86_64-linux-gnu/perl/debian-config-data-5.36.0/README",
            "/usr/share/perl/5.36.0/Getopt/Long.pm",
            "/usr/share/perl/5.36.0/Text/Split.pm",
            "/usr/share/perl/5.36.0/auto/Text/Split/autosplit.ix",
            "/usr/share/perl/5.36.0/auto/Text/Split/wrap.al",
            "/usr/share/perl5/JSON.pm",
            "/usr/share/perl5/Try/Tiny.pm",
            "/usr/lib/x86_64-linux-gnu/perl5/5.36/JSON/XS.pm",
            "/usr/lib/x86_64-linux-gnu/perl5/5.36/auto/JSON/XS/XS.so",
            "/usr/local/share/perl/5.36.0/Local/Mod.pm",
            "/usr/local/share/perl/5.32.1/Stale/Mod.pm",
            "/app/script.pl",
            "/app/config.pl",
            "/app/lib/App/Util.pm",
            "/opt/perl5lib/Extra.pm",
        ];
        let tree = with_files_holding(MemTree::new(), &paths, "1;\n");
        // as on Debian 12: @INC names 5.36, a symlink to 5.36.0
        tree.hardlink("/usr/bin/perl5.36.0", "/usr/bin/perl")
            .symlink("/usr/share/perl/5.36", "5.36.0")
            .symlink("/usr/lib/x86_64-linux-gnu/perl/5.36", "5.36.0")
    }

    fn resolve_in(tree: &MemTree, env: &[(&str, &str)], name: &str, kind: ImportKind) -> Resolved {
        let mut resolver = PerlResolver::new(&context(env, Some("/app")));
        resolver.learn(tree, &["/usr/bin/perl5.36.0".to_string()]);
        resolver.resolve(tree, "/app/script.pl", &import(name, kind))
    }

    fn found(resolved: Resolved) -> (Vec<String>, Vec<String>) {
        assert!(!resolved.missing, "{resolved:?}");
        (resolved.files, resolved.dirs)
    }

    #[test]
    fn modules_over_debian_inc() {
        let tree = debian();
        // (module, its file); none of them has an `auto/` directory
        let cases = [
            ("strict", "/usr/lib/x86_64-linux-gnu/perl-base/strict.pm"),
            ("Getopt::Long", "/usr/share/perl/5.36/Getopt/Long.pm"),
            ("Try::Tiny", "/usr/share/perl5/Try/Tiny.pm"),
            ("Local::Mod", "/usr/local/share/perl/5.36.0/Local/Mod.pm"),
        ];
        for (name, file) in cases {
            let resolved = found(resolve_in(&tree, &[], name, Module));
            assert_eq!(resolved, (vec![file.to_string()], vec![]), "{name}");
        }
        assert!(resolve_in(&tree, &[], "Stale::Mod", Module).missing);
        assert!(resolve_in(&tree, &[], "No::Such", Module).missing);
        // the script's directory is not on @INC
        assert!(resolve_in(&tree, &[], "lib::App::Util", Module).missing);
        let env = [("PERL5LIB", "/opt/perl5lib:/app/lib")];
        let (files, _) = found(resolve_in(&tree, &env, "App::Util", Module));
        assert_eq!(files, ["/app/lib/App/Util.pm"]);
        let (files, _) = found(resolve_in(&tree, &env, "Extra", Module));
        assert_eq!(files, ["/opt/perl5lib/Extra.pm"]);
    }

    #[test]
    fn auto_directories_come_along() {
        let tree = debian();
        let r = |name| found(resolve_in(&tree, &[], name, Module));
        // (module, its `auto/` directory)
        let cases = [
            ("POSIX", "/usr/lib/x86_64-linux-gnu/perl-base/auto/POSIX"),
            (
                "JSON::XS",
                "/usr/lib/x86_64-linux-gnu/perl5/5.36/auto/JSON/XS",
            ),
            (
                "Storable",
                "/usr/lib/x86_64-linux-gnu/perl/5.36/auto/Storable",
            ),
            ("Text::Split", "/usr/share/perl/5.36/auto/Text/Split"),
            (
                "List::Util",
                "/usr/lib/x86_64-linux-gnu/perl-base/auto/List/Util",
            ),
        ];
        for (name, dir) in cases {
            assert_eq!(r(name).1, [dir], "{name}");
        }
        assert_eq!(
            r("POSIX").0,
            ["/usr/lib/x86_64-linux-gnu/perl-base/POSIX.pm"]
        );
        let (_, dirs) = found(resolve_in(&tree, &[], "Text/Split.pm", Path));
        assert_eq!(dirs, ["/usr/share/perl/5.36/auto/Text/Split"]);
    }

    #[test]
    fn file_paths() {
        let tree = debian();
        let r = |name| found(resolve_in(&tree, &[], name, Path)).0;
        assert_eq!(r("config.pl"), ["/app/config.pl"]);
        assert_eq!(r("./config.pl"), ["/app/config.pl"]);
        assert_eq!(
            r("/etc/perl/sitecustomize.pl"),
            ["/etc/perl/sitecustomize.pl"]
        );
        assert_eq!(r("sitecustomize.pl"), ["/etc/perl/sitecustomize.pl"]);
        assert_eq!(r("JSON.pm"), ["/usr/share/perl5/JSON.pm"]);
        assert!(resolve_in(&tree, &[], "./JSON.pm", Path).missing);
        assert!(resolve_in(&tree, &[], "nope.pl", Path).missing);
    }

    #[test]
    fn built_in_packages_are_never_missing() {
        let tree = debian();
        for name in ["UNIVERSAL", "CORE::GLOBAL", "Internals"] {
            assert_eq!(resolve_in(&tree, &[], name, Module), Resolved::default());
        }
    }

    #[test]
    fn official_image_inc() {
        let paths = [
            "/usr/local/bin/perl",
            "/usr/local/lib/perl5/5.38.2/strict.pm",
            "/usr/local/lib/perl5/5.38.2/x86_64-linux-gnu/POSIX.pm",
            "/usr/local/lib/perl5/5.38.2/x86_64-linux-gnu/auto/POSIX/POSIX.so",
            "/usr/local/lib/perl5/site_perl/5.38.2/Mojo.pm",
            "/usr/local/lib/perl5/site_perl/5.38.2/x86_64-linux-gnu/JSON/XS.pm",
        ];
        let tree = with_files_holding(MemTree::new(), &paths, "1;\n");
        let r = |name| found(resolve_in(&tree, &[], name, Module));
        let site = "/usr/local/lib/perl5/site_perl/5.38.2";
        // (module, its file)
        let cases = [
            ("strict", "/usr/local/lib/perl5/5.38.2/strict.pm"),
            (
                "POSIX",
                "/usr/local/lib/perl5/5.38.2/x86_64-linux-gnu/POSIX.pm",
            ),
            ("Mojo", &format!("{site}/Mojo.pm")),
            ("JSON::XS", &format!("{site}/x86_64-linux-gnu/JSON/XS.pm")),
        ];
        for (name, file) in cases {
            assert_eq!(r(name).0, [file], "{name}");
        }
        assert_eq!(
            r("POSIX").1,
            ["/usr/local/lib/perl5/5.38.2/x86_64-linux-gnu/auto/POSIX"]
        );
    }

    #[test]
    fn versions_learned_from_kept_paths() {
        let mut resolver = PerlResolver::new(&ImportContext::default());
        let kept = [
            "/usr/bin/perl5.36.0",
            "/usr/share/perl/5.36/strict.pm",
            "/usr/lib/perl5.txt",
        ];
        resolver.learn(&MemTree::new(), &kept.map(String::from));
        let expected: BTreeSet<String> = ["5.36", "5.36.0"].map(String::from).into();
        assert_eq!(resolver.versions, expected);
    }
}
