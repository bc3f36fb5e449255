//! PHP: `include`, `include_once`, `require` and `require_once` anywhere in a file (the
//! HTML around `<?php ... ?>` included) whose path is a literal, or a literal after
//! `__DIR__`, `dirname(__FILE__)` or `dirname(__DIR__, n)`. Resolved as PHP does: absolute
//! paths as written, `__DIR__` paths against the including file's directory, `./x` and
//! `../x` against the working directory, other relative paths over the include path
//! (`.:/usr/share/php` on Debian, `.:/usr/local/lib/php` in the official images).
//!
//! Not followed: paths built from variables or constants (`ABSPATH . 'x.php'`), stream
//! wrappers (`phar://`), and classes Composer's autoloader loads by name. A miss is not
//! reported for `@include` or for an include guarded by `file_exists()` and the like.

use tree_sitter::Node;

use super::lookup::Lookup;
use super::syntax::{Context, children_but_comments, contains_node, literal_argument, text, walk};
use super::{Import, ImportContext, ImportKind, Resolved};
use crate::resolve::tree::FileTree;
use crate::resolve::walk::parent;

// ---- extraction -------------------------------------------------------------------------

const INCLUDES: &[&str] = &[
    "include_expression",
    "include_once_expression",
    "require_expression",
    "require_once_expression",
];

/// Calls that make an `if` around an include a check that the file is there.
const GUARDS: &[&str] = &[
    "file_exists",
    "is_file",
    "is_readable",
    "stream_resolve_include_path",
];

/// Code that runs when it is called, not when the file is included.
const FUNCTIONS: &[&str] = &[
    "function_definition",
    "method_declaration",
    "anonymous_function",
    "arrow_function",
];

pub fn imports(root: Node, source: &[u8]) -> Vec<Import> {
    let mut out = Vec::new();
    walk(root, Context::default(), |node, mut context| {
        if is_guarded_body(node, source) {
            context.optional = true;
        }
        if FUNCTIONS.contains(&node.kind()) {
            context.lazy = true;
        }
        if !INCLUDES.contains(&node.kind()) {
            return Some(context);
        }
        let argument = children_but_comments(node).first().copied();
        if let Some((name, kind)) = argument.and_then(|a| included_path(a, source)) {
            let suppressed = node
                .parent()
                .is_some_and(|p| p.kind() == "error_suppression_expression");
            let context = Context {
                optional: context.optional || suppressed,
                ..context
            };
            out.push(context.import(name, kind, node));
        }
        Some(context)
    });
    out
}

/// The body of an `if` whose condition asks whether a file is there.
fn is_guarded_body(node: Node, source: &[u8]) -> bool {
    let Some(parent) = node.parent() else {
        return false;
    };
    if parent.kind() != "if_statement" || parent.child_by_field_name("body") != Some(node) {
        return false;
    }
    let Some(condition) = parent.child_by_field_name("condition") else {
        return false;
    };
    contains_node(condition, |n| {
        n.kind() == "function_call_expression"
            && n.child_by_field_name("function")
                .is_some_and(|f| GUARDS.contains(&text(f, source).trim_start_matches('\\')))
    })
}

/// What an include argument names: a literal path, or a path relative to the file's
/// directory (`__DIR__ . '/x'`, with `../` for each `dirname` above it).
fn included_path(argument: Node, source: &[u8]) -> Option<(String, ImportKind)> {
    let mut parts = Vec::new();
    concatenated(unparenthesized(argument), &mut parts);
    let (first, rest) = parts.split_first()?;
    let literals: Option<String> = rest.iter().map(|p| literal(*p, source)).collect();
    let rest = literals?;
    if let Some(ups) = directory_anchor(*first, source) {
        let below = rest.strip_prefix('/')?;
        let name = format!("{}{below}", "../".repeat(ups));
        return (!below.is_empty()).then_some((name, ImportKind::Relative));
    }
    let name = literal(*first, source)? + &rest;
    (!name.is_empty()).then_some((name, ImportKind::Path))
}

fn unparenthesized(mut node: Node) -> Node {
    while node.kind() == "parenthesized_expression" {
        let Some(&inner) = children_but_comments(node).first() else {
            break;
        };
        node = inner;
    }
    node
}

/// The operands of `a . b . c`, in order.
fn concatenated<'t>(node: Node<'t>, parts: &mut Vec<Node<'t>>) {
    let node = unparenthesized(node);
    let is_concat = node.kind() == "binary_expression"
        && node
            .child_by_field_name("operator")
            .is_some_and(|o| o.kind() == ".");
    match (
        is_concat,
        node.child_by_field_name("left"),
        node.child_by_field_name("right"),
    ) {
        (true, Some(left), Some(right)) => {
            concatenated(left, parts);
            concatenated(right, parts);
        }
        _ => parts.push(node),
    }
}

/// A string without variables, or `DIRECTORY_SEPARATOR`.
fn literal(node: Node, source: &[u8]) -> Option<String> {
    if node.kind() == "name" && text(node, source) == "DIRECTORY_SEPARATOR" {
        return Some("/".to_string());
    }
    literal_argument(node, source, &|n| {
        let mut cursor = n.walk();
        matches!(n.kind(), "string" | "encapsed_string")
            && n.named_children(&mut cursor)
                .all(|c| c.kind() == "string_content")
    })
}

/// How many directories above the file's own `__DIR__`, `dirname(__FILE__)`,
/// `dirname(__DIR__)` or `dirname(__FILE__, 2)` is.
fn directory_anchor(node: Node, source: &[u8]) -> Option<usize> {
    let node = unparenthesized(node);
    if node.kind() == "name" {
        return (text(node, source) == "__DIR__").then_some(0);
    }
    if node.kind() != "function_call_expression" {
        return None;
    }
    let function = text(node.child_by_field_name("function")?, source);
    if function.trim_start_matches('\\') != "dirname" {
        return None;
    }
    let arguments = node.child_by_field_name("arguments")?;
    let mut cursor = arguments.walk();
    let values: Vec<&str> = arguments
        .named_children(&mut cursor)
        .filter(|a| a.kind() == "argument")
        .map(|a| text(a, source).trim())
        .collect();
    let base = match *values.first()? {
        "__FILE__" => 0,
        "__DIR__" => 1,
        _ => return None,
    };
    let levels: usize = match values.get(1) {
        None => 1,
        Some(n) => n.parse().ok().filter(|n| *n >= 1)?,
    };
    (values.len() <= 2).then_some(base + levels - 1)
}

// ---- resolution -------------------------------------------------------------------------

/// The include path after `.`: Debian's, then the official images'.
const INCLUDE_PATH: &[&str] = &["/usr/share/php", "/usr/local/lib/php"];

pub struct PhpResolver {
    lookup: Lookup,
    workdir: Option<String>,
}

impl PhpResolver {
    pub fn new(context: &ImportContext) -> Self {
        PhpResolver {
            lookup: Lookup::default(),
            workdir: context.absolute_workdir(),
        }
    }

    pub fn resolve(&mut self, tree: &dyn FileTree, importer: &str, import: &Import) -> Resolved {
        let name = import.name.as_str();
        if name.contains("://") {
            return Resolved::default();
        }
        let dir = parent(importer).unwrap_or("/");
        let bases: Vec<&str> = if import.kind == ImportKind::Relative {
            vec![dir]
        } else if name.starts_with('/') {
            vec!["/"]
        } else if name.starts_with("./") || name.starts_with("../") {
            // relative to the working directory; under a web server that is the script's
            std::iter::once(dir)
                .chain(self.workdir.as_deref())
                .collect()
        } else {
            std::iter::once(dir)
                .chain(self.workdir.as_deref())
                .chain(INCLUDE_PATH.iter().copied())
                .collect()
        };
        let found = self.lookup.first_file_under(tree, &bases, name);
        Resolved {
            missing: found.is_none(),
            files: found.into_iter().collect(),
            ..Resolved::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::imports::Language::Php;
    use crate::resolve::imports::test_support::{
        context, file, files_found, import, lazy, mandatory, named, optional, summary,
        with_files_holding,
    };
    use crate::resolve::memtree::MemTree;
    use ImportKind::{Path, Relative};

    #[test]
    fn the_four_statements_with_and_without_parentheses() {
        let source = r#"<!DOCTYPE html>
<html><?php include 'header.php'; ?>
<?php
include_once("lib/db.php");
require "config.php";
require_once('/usr/share/php/Smarty/Smarty.class.php');
$page = require 'pages/home.php';
(include 'optional.php') or die();
?>
</html>
"#;
        assert_eq!(
            summary(Php, source),
            vec![
                mandatory("header.php", Path, 2),
                mandatory("lib/db.php", Path, 4),
                mandatory("config.php", Path, 5),
                mandatory("/usr/share/php/Smarty/Smarty.class.php", Path, 6),
                mandatory("pages/home.php", Path, 7),
                mandatory("optional.php", Path, 8),
            ]
        );
    }

    #[test]
    fn paths_from_the_file_directory() {
        let source = r#"<?php
require __DIR__ . '/vendor/autoload.php';
require_once dirname(__FILE__) . "/inc/functions.php";
require_once(__DIR__ . "/../shared/util.php");
include dirname(__DIR__) . '/config/app.php';
include dirname(__FILE__, 3) . '/top.php';
require __DIR__ . DIRECTORY_SEPARATOR . 'lib' . '/x.php';
include (__DIR__) . '/paren.php';
require \dirname(__DIR__, 2) . '/two.php';
"#;
        assert_eq!(
            summary(Php, source),
            vec![
                mandatory("vendor/autoload.php", Relative, 2),
                mandatory("inc/functions.php", Relative, 3),
                mandatory("../shared/util.php", Relative, 4),
                mandatory("../config/app.php", Relative, 5),
                mandatory("../../top.php", Relative, 6),
                mandatory("lib/x.php", Relative, 7),
                mandatory("paren.php", Relative, 8),
                mandatory("../../two.php", Relative, 9),
            ]
        );
    }

    #[test]
    fn nested_multi_line_and_computed() {
        let source = r#"<?php
if ($admin) {
    function page() {
        require_once
            'admin/page.php';
    }
}
// include 'in-comment.php';
/* require 'in-block.php'; */
$s = "include 'in-string.php'";
echo 'require "in-single.php";';
include $var . '/x.php';
include "$dir/interpolated.php";
include "{$dir}/braced.php";
require ABSPATH . 'wp-settings.php';
require __DIR__ . $name;
include __DIR__ . 'no-slash.php';
include dirname($file) . '/other.php';
include 'esc\\aped.php';
require <<<'EOT'
nowdoc.php
EOT;
?>
<p>include 'in-html.php';</p>
"#;
        assert_eq!(
            summary(Php, source),
            vec![mandatory("admin/page.php", Path, 4)]
        );
    }

    #[test]
    fn suppressed_and_guarded_includes_are_optional() {
        let source = r#"<?php
@include 'local.php';
if (file_exists(__DIR__ . '/config.local.php')) {
    include __DIR__ . '/config.local.php';
} else {
    require 'config.dist.php';
}
if (\is_readable('custom.php')) require 'custom.php';
if ($debug) include 'debug.php';
"#;
        assert_eq!(
            optional(Php, source),
            named(&[
                ("local.php", true),
                ("config.local.php", true),
                ("config.dist.php", false),
                ("custom.php", true),
                ("debug.php", false),
            ])
        );
    }

    #[test]
    fn includes_in_functions_are_lazy() {
        let source = r#"<?php
require_once 'top.php';
function render() { include 'in-function.php'; }
class Page {
    public function show() { require 'in-method.php'; }
}
$f = function () { include 'in-closure.php'; };
$g = fn() => include 'in-arrow.php';
if ($x) { include 'in-if.php'; }
"#;
        assert_eq!(
            lazy(Php, source),
            named(&[
                ("top.php", false),
                ("in-function.php", true),
                ("in-method.php", true),
                ("in-closure.php", true),
                ("in-arrow.php", true),
                ("in-if.php", false),
            ])
        );
    }

    /// Debian 12 with php-apache's document root, Composer's vendor directory and a
    /// PEAR-style library in /usr/share/php.
    fn debian() -> MemTree {
        let paths = [
            "/var/www/html/index.php",
            "/var/www/html/header.php",
            "/var/www/html/inc/db.php",
            "/var/www/html/inc/helpers.php",
            "/var/www/html/admin/index.php",
            "/var/www/vendor/autoload.php",
            "/var/www/config.php",
            "/usr/share/php/Smarty/Smarty.class.php",
            "/usr/share/php/PEAR.php",
            "/srv/shared/lib.php",
        ];
        with_files_holding(MemTree::new(), &paths, "<?php\n")
            .symlink("/var/www/html/shared", "/srv/shared")
    }

    fn resolve(
        tree: &MemTree,
        workdir: Option<&str>,
        importer: &str,
        name: &str,
        kind: ImportKind,
    ) -> Resolved {
        PhpResolver::new(&context(&[], workdir)).resolve(tree, importer, &import(name, kind))
    }

    #[test]
    fn resolves_like_php() {
        let tree = debian();
        let index = "/var/www/html/index.php";
        let admin = "/var/www/html/admin/index.php";
        let www = Some("/var/www/html");
        let found = [
            (
                index,
                "../vendor/autoload.php",
                Relative,
                "/var/www/vendor/autoload.php",
            ),
            (admin, "../inc/db.php", Relative, "/var/www/html/inc/db.php"),
            // plain relative: the file's directory, the working directory, then the include path
            (index, "inc/db.php", Path, "/var/www/html/inc/db.php"),
            (admin, "header.php", Path, "/var/www/html/header.php"),
            (admin, "PEAR.php", Path, "/usr/share/php/PEAR.php"),
            (
                index,
                "Smarty/Smarty.class.php",
                Path,
                "/usr/share/php/Smarty/Smarty.class.php",
            ),
            // ./ and ../: the file's directory and the working directory, not the include path
            (
                admin,
                "./inc/helpers.php",
                Path,
                "/var/www/html/inc/helpers.php",
            ),
            (index, "../config.php", Path, "/var/www/config.php"),
            // absolute, also through a symlink
            (
                admin,
                "/var/www/html/shared/lib.php",
                Path,
                "/var/www/html/shared/lib.php",
            ),
            (
                admin,
                "/usr/share/php/../php/PEAR.php",
                Path,
                "/usr/share/php/PEAR.php",
            ),
        ];
        for (importer, name, kind, file) in found {
            let resolved = resolve(&tree, www, importer, name, kind);
            assert_eq!(files_found(resolved), [file], "{name}");
        }
        assert!(resolve(&tree, www, index, "./PEAR.php", Path).missing);
        assert!(resolve(&tree, www, index, "/nope.php", Path).missing);
        assert!(resolve(&tree, None, admin, "../nope.php", Relative).missing);
    }

    #[test]
    fn stream_wrappers_are_not_files_nor_missing() {
        let tree = debian();
        let resolved = resolve(
            &tree,
            None,
            "/var/www/html/index.php",
            "phar://app.phar/x.php",
            Path,
        );
        assert_eq!(resolved, Resolved::default());
    }

    #[test]
    fn official_image_include_path() {
        let tree = file(debian(), "/usr/local/lib/php/PEAR/Exception.php", "<?php");
        let resolved = resolve(
            &tree,
            Some("/var/www/html"),
            "/var/www/html/index.php",
            "PEAR/Exception.php",
            Path,
        );
        assert_eq!(
            files_found(resolved),
            ["/usr/local/lib/php/PEAR/Exception.php"]
        );
    }
}
