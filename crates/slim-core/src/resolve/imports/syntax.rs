//! Parsing with the tree-sitter grammars, and what every language's extractor shares:
//! walking a syntax tree with context, and reading string literals.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use tree_sitter::{Node, Parser, Tree};

use super::{Import, ImportKind, Language};

/// Source files larger than this are not parsed (generated bundles, data in code).
pub const PARSE_LIMIT: usize = 4 << 20;

/// One parser per language, made on first use. A parser is not shared between threads.
#[derive(Default)]
pub struct Parsers {
    parsers: HashMap<Language, Parser>,
}

impl Parsers {
    fn parse(&mut self, language: Language, source: &[u8]) -> Result<Tree, String> {
        if source.len() > PARSE_LIMIT {
            return Err(format!(
                "{} bytes, more than the {} MiB parsed",
                source.len(),
                PARSE_LIMIT >> 20
            ));
        }
        let parser = match self.parsers.entry(language) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let mut parser = Parser::new();
                parser
                    .set_language(&grammar(language))
                    .map_err(|e| format!("loading the {} grammar: {e}", language.name()))?;
                e.insert(parser)
            }
        };
        parser
            .parse(source, None)
            .ok_or_else(|| "the parser gave up".to_string())
    }

    /// The imports of one source file. A file with syntax errors still gives the imports
    /// found outside the broken part, with the first error's line as the problem.
    pub fn extract(&mut self, language: Language, source: &[u8]) -> Extracted {
        let tree = match self.parse(language, source) {
            Ok(tree) => tree,
            Err(problem) => {
                return Extracted {
                    imports: Vec::new(),
                    problem: Some(problem),
                };
            }
        };
        let root = tree.root_node();
        let imports = match language {
            Language::Python => super::python::imports(root, source),
            Language::Node => super::node::imports(root, source),
            Language::Php => super::php::imports(root, source),
            Language::Ruby => super::ruby::imports(root, source),
            Language::Perl => super::perl::imports(root, source),
        };
        // The Perl grammar misreads much real Perl (prototypes, `require EXPR`); its
        // extractor recovers the imports around the gaps, so those are not problems.
        let problem = (root.has_error() && language != Language::Perl)
            .then(|| format!("syntax error near line {}", first_error_line(root)));
        Extracted { imports, problem }
    }
}

/// Parse with a parser made for this one source: code found inside other code (a Perl
/// string `eval`) or a file a resolver reads (Python's codec alias table).
pub fn parse_once(language: Language, source: &[u8]) -> Option<Tree> {
    let mut parser = Parser::new();
    parser.set_language(&grammar(language)).ok()?;
    parser.parse(source, None)
}

fn grammar(language: Language) -> tree_sitter::Language {
    match language {
        Language::Python => tree_sitter_python::LANGUAGE.into(),
        Language::Node => tree_sitter_javascript::LANGUAGE.into(),
        Language::Php => tree_sitter_php::LANGUAGE_PHP.into(),
        Language::Ruby => tree_sitter_ruby::LANGUAGE.into(),
        Language::Perl => tree_sitter_perl::LANGUAGE.into(),
    }
}

/// What one file gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extracted {
    pub imports: Vec<Import>,
    /// why the file could not be (fully) parsed
    pub problem: Option<String>,
}

/// Extract the imports of many files on up to `threads` threads, in input order.
pub fn extract_all(files: &[(Language, Vec<u8>)], threads: usize) -> Vec<Extracted> {
    let threads = threads.clamp(1, files.len().max(1));
    if threads == 1 {
        let mut parsers = Parsers::default();
        return files
            .iter()
            .map(|(language, source)| parsers.extract(*language, source))
            .collect();
    }
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, Extracted)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut parsers = Parsers::default();
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some((language, source)) = files.get(index) else {
                            break;
                        };
                        done.push((index, parsers.extract(*language, source)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, e)| e).collect()
}

fn first_error_line(root: Node) -> usize {
    let mut line = root.end_position().row + 1;
    walk(root, (), |node, ()| {
        if node.is_error() || node.is_missing() {
            line = line.min(node.start_position().row + 1);
            return None;
        }
        node.has_error().then_some(())
    });
    line
}

/// What the code around a node says about the imports written in it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context {
    /// inside code that copes with a failed load (`try`, `rescue`, `eval`, a guard)
    pub optional: bool,
    /// inside code that runs when it is called (a function), not when the file loads
    pub lazy: bool,
}

impl Context {
    /// The import `node` makes, with the flags of the code around it.
    pub fn import(self, name: String, kind: ImportKind, node: Node) -> Import {
        Import {
            name,
            kind,
            optional: self.optional,
            lazy: self.lazy,
            line: line(node),
        }
    }
}

/// Visit every node depth-first, in source order. `enter` gets each node with the context
/// its parent passed down and returns the context for its children, or `None` to skip
/// them. An explicit stack: generated code nests deeper than a thread's stack allows.
pub fn walk<C: Copy>(root: Node, context: C, mut enter: impl FnMut(Node, C) -> Option<C>) {
    let mut stack = vec![(root, context)];
    let mut cursor = root.walk();
    while let Some((node, context)) = stack.pop() {
        let Some(inner) = enter(node, context) else {
            continue;
        };
        let children: Vec<Node> = node.children(&mut cursor).collect();
        stack.extend(children.into_iter().rev().map(|child| (child, inner)));
    }
}

/// Whether `root` or any node below it is one `matches` accepts.
pub fn contains_node(root: Node, mut matches: impl FnMut(Node) -> bool) -> bool {
    let mut found = false;
    walk(root, (), |node, ()| {
        found = found || matches(node);
        (!found).then_some(())
    });
    found
}

/// The named children of a node, comments left out: a call's arguments, what an include
/// or a pair of parentheses holds.
pub fn children_but_comments<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor)
        .filter(|c| c.kind() != "comment")
        .collect()
}

/// The source text of a node ("" if it is not UTF-8).
pub fn text<'s>(node: Node, source: &'s [u8]) -> &'s str {
    node.utf8_text(source).unwrap_or_default()
}

/// 1-based line of a node.
pub fn line(node: Node) -> usize {
    node.start_position().row + 1
}

/// The value of a quoted literal written as text: `'x'`, `"x"`, `` `x` ``, with the quote
/// characters stripped. `None` when the text is not one quoted piece or when it holds an
/// escape or interpolation, which an import name never needs.
pub fn unquote(text: &str) -> Option<String> {
    let mut chars = text.chars();
    let open = chars.next()?;
    if !matches!(open, '\'' | '"' | '`') || !text.ends_with(open) || text.len() < 2 {
        return None;
    }
    let inner = &text[1..text.len() - 1];
    if inner.contains(open) || inner.contains('\\') || inner.contains("${") || inner.contains('\n')
    {
        return None;
    }
    Some(inner.to_string())
}

/// The string literal a node is, or holds as its only named child (an argument list with
/// one argument, a parenthesized expression), per `is_string`.
pub fn literal_argument(
    node: Node,
    source: &[u8],
    is_string: &dyn Fn(Node) -> bool,
) -> Option<String> {
    if is_string(node) {
        return unquote(text(node, source));
    }
    let first = *children_but_comments(node).first()?;
    if is_string(first) {
        unquote(text(first, source))
    } else {
        None
    }
}

/// The value of a string literal node whose named children are all plain text pieces of
/// the `content` kinds (JavaScript's `string_fragment`, Ruby's and PHP's `string_content`).
/// `None` when it holds anything else (an escape, an interpolation) or a backslash.
pub fn plain_string(node: Node, source: &[u8], content: &[&str]) -> Option<String> {
    let mut cursor = node.walk();
    let mut value = String::new();
    for child in node.named_children(&mut cursor) {
        if !content.contains(&child.kind()) {
            return None;
        }
        value.push_str(text(child, source));
    }
    (!value.contains('\\')).then_some(value)
}
