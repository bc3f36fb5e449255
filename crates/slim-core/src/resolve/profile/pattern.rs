//! Path patterns: the glob syntax of profiles, `--include-path` globs and exclude patterns.
//!
//! Patterns match absolute, normalized paths, one component at a time:
//!
//! | syntax      | matches                                                              |
//! |-------------|----------------------------------------------------------------------|
//! | `*`         | any run of characters inside one component (dot files included)     |
//! | `?`         | one character inside one component                                   |
//! | `[a-z_]`    | one character of a class; `[!...]` or `[^...]` negates it            |
//! | `**`        | as a whole component: zero or more components                        |
//! | `{name}`    | a capture (profiles only). As a whole component: at the start of a   |
//! |             | pattern the path prefix before the rest, possibly empty (`{p}/bin/sh` |
//! |             | matches `/bin/sh` with p = ""), elsewhere one or more components.     |
//! |             | Inside a component (`{base}.*.pyc`): any run of characters there.    |
//! | `\c`        | the character `c` itself                                             |
//!
//! A pattern is compiled once into a regex (for matching) and into its components (for
//! expanding it over a file tree from its literal prefix, see [`super::expand`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use regex::Regex;
use thiserror::Error;

/// Whether `{name}` is a capture (profile patterns) or two literal braces (user globs,
/// where a path may well contain braces).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Glob,
    WithCaptures,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("pattern {pattern:?}: {problem}")]
pub struct PatternError {
    pub pattern: String,
    pub problem: PatternProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PatternProblem {
    #[error("is empty")]
    Empty,
    #[error("must start with '/', '**/' or a capture")]
    NotAbsolute,
    #[error("'.' and '..' components are not allowed (paths are normalized)")]
    DotComponent,
    #[error("unclosed '['")]
    UnclosedClass,
    #[error("empty character class")]
    EmptyClass,
    #[error("ends with a lone '\\'")]
    TrailingEscape,
    #[error("unclosed '{{'")]
    UnclosedCapture,
    #[error("capture name {0:?} is not a word ([A-Za-z_][A-Za-z0-9_]*)")]
    BadCaptureName(String),
    #[error("the value for capture {{{0}}} holds a '/' but the capture is part of a component")]
    SlashInValue(String),
    #[error("capture {{{0}}} appears twice")]
    DuplicateCapture(String),
    #[error("no value for capture {{{0}}}")]
    Unbound(String),
    #[error("a name pattern cannot hold '/'")]
    Separator,
    #[error("{0}")]
    Regex(String),
}

/// One component of a parsed pattern.
#[derive(Debug, Clone)]
pub(crate) enum Component {
    /// a name matched exactly (escapes removed)
    Literal(String),
    /// a name matched by a component regex (anchored)
    Wild(Arc<Regex>),
    /// `**`
    AnyDepth,
    /// `{name}` filling whole components
    Capture(String),
    /// a component mixing text and captures, e.g. `{base}.*.pyc`
    Partial {
        pieces: Vec<Piece>,
        fragment: String,
    },
}

/// Part of a component with captures.
#[derive(Debug, Clone)]
pub(crate) enum Piece {
    /// glob text
    Text(String),
    Capture(String),
}

/// A compiled path pattern.
#[derive(Debug, Clone)]
pub struct PathPattern {
    source: String,
    components: Vec<Component>,
    regex: Regex,
    captures: Vec<String>,
}

impl PartialEq for PathPattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for PathPattern {}

/// True if `text` holds a wildcard (`*`, `?` or `[`): user paths without one are plain paths.
pub fn has_wildcards(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

/// `text` with every character that is special in a pattern escaped, so it matches itself.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl PathPattern {
    pub fn parse(text: &str, syntax: Syntax) -> Result<Self, PatternError> {
        let fail = |problem| PatternError {
            pattern: text.to_string(),
            problem,
        };
        if text.is_empty() {
            return Err(fail(PatternProblem::Empty));
        }
        let raw: Vec<&str> = split_components(text);
        let first = raw.first().copied().unwrap_or_default();
        let starts_ok = text.starts_with('/')
            || first == "**"
            || (syntax == Syntax::WithCaptures && first.starts_with('{'));
        if !starts_ok {
            return Err(fail(PatternProblem::NotAbsolute));
        }
        let mut components = Vec::new();
        let mut captures: Vec<String> = Vec::new();
        for part in raw.iter().filter(|c| !c.is_empty()) {
            let component = parse_component(part, syntax).map_err(fail)?;
            for name in component.capture_names() {
                if captures.contains(&name) {
                    return Err(fail(PatternProblem::DuplicateCapture(name)));
                }
                captures.push(name);
            }
            components.push(component);
        }
        let regex = Regex::new(&full_regex(&components, text.starts_with('/')))
            .map_err(|e| fail(PatternProblem::Regex(e.to_string())))?;
        Ok(PathPattern {
            source: text.to_string(),
            components,
            regex,
            captures,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Names of the captures, in order of appearance.
    pub fn capture_names(&self) -> &[String] {
        &self.captures
    }

    pub fn is_match(&self, path: &str) -> bool {
        self.regex.is_match(path)
    }

    /// The captured values if `path` matches.
    pub fn captures(&self, path: &str) -> Option<BTreeMap<String, String>> {
        let caps = self.regex.captures(path)?;
        Some(
            self.captures
                .iter()
                .map(|name| {
                    let value = caps.name(name).map_or("", |m| m.as_str());
                    (name.clone(), value.to_string())
                })
                .collect(),
        )
    }

    /// True if the pattern starts with a fixed directory (or a capture that will be bound
    /// to one), so expanding it never walks the whole tree.
    pub fn is_anchored(&self) -> bool {
        !matches!(self.components.first(), Some(Component::AnyDepth))
    }

    /// The components with every capture replaced by the literal components of its value.
    pub(crate) fn bind(
        &self,
        values: &BTreeMap<String, String>,
    ) -> Result<Vec<Component>, PatternError> {
        let fail = |problem| PatternError {
            pattern: self.source.clone(),
            problem,
        };
        let mut out = Vec::with_capacity(self.components.len());
        for component in &self.components {
            match component {
                Component::Capture(name) => {
                    let value = values
                        .get(name)
                        .ok_or_else(|| fail(PatternProblem::Unbound(name.clone())))?;
                    out.extend(
                        value
                            .split('/')
                            .filter(|c| !c.is_empty())
                            .map(|c| Component::Literal(c.to_string())),
                    );
                }
                Component::Partial { pieces, .. } => {
                    let mut text = String::new();
                    for piece in pieces {
                        match piece {
                            Piece::Text(t) => text.push_str(t),
                            Piece::Capture(name) => {
                                let value = values
                                    .get(name)
                                    .ok_or_else(|| fail(PatternProblem::Unbound(name.clone())))?;
                                if value.contains('/') {
                                    return Err(fail(PatternProblem::SlashInValue(name.clone())));
                                }
                                text.push_str(&escape(value));
                            }
                        }
                    }
                    out.push(name_component(&text).map_err(fail)?);
                }
                other => out.push(other.clone()),
            }
        }
        Ok(out)
    }
}

impl Component {
    fn capture_names(&self) -> Vec<String> {
        match self {
            Component::Capture(name) => vec![name.clone()],
            Component::Partial { pieces, .. } => pieces
                .iter()
                .filter_map(|p| match p {
                    Piece::Capture(name) => Some(name.clone()),
                    Piece::Text(_) => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// A pattern for a single file name (`*`, `?`, classes, escapes; no '/').
#[derive(Debug, Clone)]
pub struct NamePattern {
    source: String,
    component: Component,
}

impl NamePattern {
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let fail = |problem| PatternError {
            pattern: text.to_string(),
            problem,
        };
        if text.is_empty() {
            return Err(fail(PatternProblem::Empty));
        }
        if text.contains('/') {
            return Err(fail(PatternProblem::Separator));
        }
        Ok(NamePattern {
            source: text.to_string(),
            component: name_component(text).map_err(fail)?,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn is_match(&self, name: &str) -> bool {
        match &self.component {
            Component::Literal(literal) => literal == name,
            Component::Wild(regex) => regex.is_match(name),
            _ => false,
        }
    }
}

/// Split on '/' outside character classes and escapes (a class never holds '/', but an
/// escaped '\/' must not split either).
fn split_components(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '/' => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn is_word(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_component(part: &str, syntax: Syntax) -> Result<Component, PatternProblem> {
    if part == "**" {
        return Ok(Component::AnyDepth);
    }
    if part == "." || part == ".." {
        return Err(PatternProblem::DotComponent);
    }
    let pieces = match syntax {
        Syntax::WithCaptures => split_pieces(part)?,
        Syntax::Glob => vec![Piece::Text(part.to_string())],
    };
    match pieces.as_slice() {
        [Piece::Capture(name)] => Ok(Component::Capture(name.clone())),
        [Piece::Text(text)] => name_component(text),
        _ => {
            let mut fragment = String::new();
            for piece in &pieces {
                match piece {
                    Piece::Text(text) => fragment.push_str(&translate(text)?.regex),
                    Piece::Capture(name) => fragment.push_str(&format!("(?P<{name}>[^/]*)")),
                }
            }
            Ok(Component::Partial { pieces, fragment })
        }
    }
}

/// A component without captures: a literal name or a component regex.
fn name_component(text: &str) -> Result<Component, PatternProblem> {
    let translated = translate(text)?;
    if !translated.wild {
        return Ok(Component::Literal(translated.literal));
    }
    Regex::new(&format!("^{}$", translated.regex))
        .map(|r| Component::Wild(Arc::new(r)))
        .map_err(|e| PatternProblem::Regex(e.to_string()))
}

/// Text and `{name}` captures of one component.
fn split_pieces(part: &str) -> Result<Vec<Piece>, PatternProblem> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = part.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                text.push(c);
                text.push(chars.next().ok_or(PatternProblem::TrailingEscape)?);
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => name.push(c),
                        None => return Err(PatternProblem::UnclosedCapture),
                    }
                }
                if !is_word(&name) {
                    return Err(PatternProblem::BadCaptureName(name));
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Capture(name));
            }
            other => text.push(other),
        }
    }
    if !text.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// A component's glob text as a regex fragment (unanchored) and, if it has no wildcard,
/// as the literal name it stands for.
struct Translated {
    literal: String,
    regex: String,
    wild: bool,
}

fn translate(text: &str) -> Result<Translated, PatternProblem> {
    let mut out = Translated {
        literal: String::new(),
        regex: String::new(),
        wild: false,
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let escaped = chars.next().ok_or(PatternProblem::TrailingEscape)?;
                out.literal.push(escaped);
                out.regex.push_str(&regex::escape(&escaped.to_string()));
            }
            '*' => {
                out.wild = true;
                out.regex.push_str("[^/]*");
            }
            '?' => {
                out.wild = true;
                out.regex.push_str("[^/]");
            }
            '[' => {
                out.wild = true;
                out.regex.push_str(&parse_class(&mut chars)?);
            }
            other => {
                out.literal.push(other);
                out.regex.push_str(&regex::escape(&other.to_string()));
            }
        }
    }
    Ok(out)
}

/// The rest of a `[...]` class (after the '['), as a regex class that never matches '/'.
fn parse_class(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
) -> Result<String, PatternProblem> {
    let negated = matches!(chars.peek(), Some('!' | '^'));
    if negated {
        chars.next();
    }
    let mut items = String::new();
    let mut first = true;
    loop {
        let c = chars.next().ok_or(PatternProblem::UnclosedClass)?;
        // a ']' right after the opening bracket is a member, as in glob(7)
        if c == ']' && !first {
            break;
        }
        first = false;
        let c = if c == '\\' {
            chars.next().ok_or(PatternProblem::UnclosedClass)?
        } else {
            c
        };
        items.push_str(&class_char(c));
        if chars.peek() == Some(&'-') {
            chars.next();
            match chars.peek() {
                Some(']') | None => items.push_str(&class_char('-')),
                Some(_) => {
                    let mut end = chars.next().ok_or(PatternProblem::UnclosedClass)?;
                    if end == '\\' {
                        end = chars.next().ok_or(PatternProblem::UnclosedClass)?;
                    }
                    items.push('-');
                    items.push_str(&class_char(end));
                }
            }
        }
    }
    if items.is_empty() {
        return Err(PatternProblem::EmptyClass);
    }
    Ok(if negated {
        format!("[^/{items}]")
    } else {
        format!("[{items}&&[^/]]")
    })
}

/// A class member as an escape the regex crate reads literally in any position.
fn class_char(c: char) -> String {
    format!("\\x{{{:x}}}", c as u32)
}

/// The regex of a whole pattern, anchored at both ends.
fn full_regex(components: &[Component], absolute: bool) -> String {
    let mut out = String::from("^");
    for (i, component) in components.iter().enumerate() {
        match component {
            Component::Literal(name) => {
                out.push('/');
                out.push_str(&regex::escape(name));
            }
            Component::Wild(regex) => {
                out.push('/');
                let source = regex.as_str();
                out.push_str(&source[1..source.len() - 1]);
            }
            Component::AnyDepth => out.push_str("(?:/[^/]+)*"),
            Component::Capture(name) if i == 0 && !absolute => {
                out.push_str(&format!("(?P<{name}>(?:/[^/]+)*)"));
            }
            Component::Capture(name) => {
                out.push_str(&format!("/(?P<{name}>[^/]+(?:/[^/]+)*)"));
            }
            Component::Partial { fragment, .. } => {
                out.push('/');
                out.push_str(fragment);
            }
        }
    }
    if components.is_empty() {
        out.push('/');
    }
    out.push('$');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(text: &str) -> PathPattern {
        PathPattern::parse(text, Syntax::Glob).unwrap()
    }

    fn profile(text: &str) -> PathPattern {
        PathPattern::parse(text, Syntax::WithCaptures).unwrap()
    }

    fn problem(text: &str, syntax: Syntax) -> PatternProblem {
        PathPattern::parse(text, syntax).unwrap_err().problem
    }

    #[test]
    fn star_and_question_stay_inside_one_component() {
        let p = glob("/usr/lib/python3.*/lib-dynload/*.so");
        assert!(p.is_match("/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so"));
        assert!(!p.is_match("/usr/lib/python3.11/lib-dynload/sub/x.so"));
        assert!(!p.is_match("/usr/lib/python3/lib-dynload/x.so"));
        let q = glob("/etc/rc?.d");
        assert!(q.is_match("/etc/rc2.d"));
        assert!(!q.is_match("/etc/rc.d"));
        assert!(!q.is_match("/etc/rc/.d"));
        // '*' matches dot files too
        assert!(glob("/a/*").is_match("/a/.hidden"));
    }

    #[test]
    fn any_depth_matches_zero_or_more_components() {
        let p = glob("**/node_modules/**");
        assert!(p.is_match("/app/node_modules"));
        assert!(p.is_match("/app/node_modules/a/b.js"));
        assert!(p.is_match("/node_modules/x"));
        assert!(!p.is_match("/app/node_modulesx/a"));
        let q = glob("/a/**/b");
        assert!(q.is_match("/a/b"));
        assert!(q.is_match("/a/x/y/b"));
        assert!(!q.is_match("/a/xb"));
        // '**' inside a component is just two stars
        assert!(glob("/a/x**").is_match("/a/xyz"));
        assert!(!glob("/a/x**").is_match("/a/x/y"));
    }

    #[test]
    fn classes_ranges_negation_and_escapes() {
        let p = glob("/usr/lib/python3.[0-9]*");
        assert!(p.is_match("/usr/lib/python3.11"));
        assert!(!p.is_match("/usr/lib/python3.x"));
        let n = glob("/x/[!._]*");
        assert!(n.is_match("/x/abc"));
        assert!(!n.is_match("/x/.abc"));
        assert!(!n.is_match("/x/_abc"));
        let special = glob("/x/[]a-]");
        assert!(special.is_match("/x/]"));
        assert!(special.is_match("/x/-"));
        assert!(special.is_match("/x/a"));
        assert!(!special.is_match("/x/b"));
        let escaped = glob(r"/x/\*.txt");
        assert!(escaped.is_match("/x/*.txt"));
        assert!(!escaped.is_match("/x/a.txt"));
        // a class ends at the separator
        assert_eq!(
            problem("/a[/]b", Syntax::Glob),
            PatternProblem::UnclosedClass
        );
    }

    #[test]
    fn captures_at_the_start_and_in_the_middle() {
        let p = profile("{prefix}/bin/python3*");
        let caps = p.captures("/usr/local/bin/python3.12").unwrap();
        assert_eq!(caps["prefix"], "/usr/local");
        assert_eq!(p.captures("/bin/python3").unwrap()["prefix"], "");
        assert!(p.captures("/usr/bin/python2").is_none());
        let jdk = profile("{jdk}/lib/*/libjvm.so");
        assert_eq!(
            jdk.captures("/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so")
                .unwrap()["jdk"],
            "/usr/lib/jvm/java-17-openjdk-amd64"
        );
        let mid = profile("/opt/{app}/bin/run");
        assert_eq!(mid.captures("/opt/a/b/bin/run").unwrap()["app"], "a/b");
        assert!(!mid.is_match("/opt/bin/run"));
        assert_eq!(mid.capture_names(), ["app"]);
        let part = profile("/usr/lib/python{v}/{m}.py");
        let caps = part.captures("/usr/lib/python3.11/os.py").unwrap();
        assert_eq!((caps["v"].as_str(), caps["m"].as_str()), ("3.11", "os"));
        assert!(!part.is_match("/usr/lib/python3/x/os.py"));
    }

    #[test]
    fn braces_are_literal_in_plain_globs() {
        let p = glob("/srv/{app}/*.conf");
        assert!(p.is_match("/srv/{app}/x.conf"));
        assert!(p.capture_names().is_empty());
    }

    #[test]
    fn anchoring_and_binding() {
        let p = profile("{jdk}/lib/security/**");
        let values = BTreeMap::from([("jdk".to_string(), "/opt/java/openjdk".to_string())]);
        let bound = p.bind(&values).unwrap();
        assert!(matches!(&bound[0], Component::Literal(n) if n == "opt"));
        assert_eq!(bound.len(), 6);
        let twin = profile("{dir}/__pycache__/{base}.*.pyc");
        let values = BTreeMap::from([
            ("dir".to_string(), "/usr/lib/python3.11".to_string()),
            ("base".to_string(), "os[1]".to_string()),
        ]);
        let bound = twin.bind(&values).unwrap();
        let Component::Wild(last) = &bound[4] else {
            panic!("last component is not a wildcard: {bound:?}");
        };
        assert!(last.is_match("os[1].cpython-311.pyc"));
        assert!(!last.is_match("os1.cpython-311.pyc"));
        let slash = BTreeMap::from([
            ("dir".to_string(), "/x".to_string()),
            ("base".to_string(), "a/b".to_string()),
        ]);
        assert_eq!(
            twin.bind(&slash).unwrap_err().problem,
            PatternProblem::SlashInValue("base".into())
        );
        assert!(!glob("**/x").is_anchored());
        assert!(glob("/etc/java-*/**").is_anchored());
        assert!(matches!(
            p.bind(&BTreeMap::new()).unwrap_err().problem,
            PatternProblem::Unbound(_)
        ));
    }

    #[test]
    fn bad_patterns_are_rejected() {
        assert_eq!(problem("", Syntax::Glob), PatternProblem::Empty);
        assert_eq!(
            problem("usr/lib", Syntax::Glob),
            PatternProblem::NotAbsolute
        );
        assert_eq!(problem("{p}/x", Syntax::Glob), PatternProblem::NotAbsolute);
        assert_eq!(
            problem("/a/../b", Syntax::Glob),
            PatternProblem::DotComponent
        );
        assert_eq!(
            problem("/a/[bc", Syntax::Glob),
            PatternProblem::UnclosedClass
        );
        assert_eq!(
            problem("/a/b\\", Syntax::Glob),
            PatternProblem::TrailingEscape
        );
        assert_eq!(
            problem("/a/{v", Syntax::WithCaptures),
            PatternProblem::UnclosedCapture
        );
        assert_eq!(
            problem("/a/{1v}", Syntax::WithCaptures),
            PatternProblem::BadCaptureName("1v".into())
        );
        assert_eq!(
            problem("{a}/x/{a}", Syntax::WithCaptures),
            PatternProblem::DuplicateCapture("a".into())
        );
        let message = PathPattern::parse("/a/[bc", Syntax::Glob)
            .unwrap_err()
            .to_string();
        assert_eq!(message, "pattern \"/a/[bc\": unclosed '['");
    }

    #[test]
    fn name_patterns() {
        let at = NamePattern::parse("@*").unwrap();
        assert!(at.is_match("@types"));
        assert!(!at.is_match("types"));
        assert!(
            NamePattern::parse("__pycache__")
                .unwrap()
                .is_match("__pycache__")
        );
        assert_eq!(
            NamePattern::parse("a/b").unwrap_err().problem,
            PatternProblem::Separator
        );
    }

    #[test]
    fn escape_round_trips() {
        let name = "/odd/[x]*{y}?\\";
        assert!(glob(&escape(name)).is_match(name));
        assert!(!has_wildcards("/usr/lib/x"));
        assert!(has_wildcards("/usr/lib/*.so"));
    }
}
