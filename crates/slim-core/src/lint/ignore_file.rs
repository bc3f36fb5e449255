//! `.dockerignore`: its syntax (comments, `!` exceptions, `*`, `?`, `**`, character classes,
//! `\` escapes) and which context paths it keeps out, with the same rules as Docker's
//! pattern matcher: patterns are cleaned paths relative to the context root, the last
//! matching pattern decides, and a path is excluded when it or a parent directory matches.

use regex::Regex;
use thiserror::Error;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("line {line}: invalid .dockerignore pattern {pattern:?}")]
pub struct PatternError {
    pub line: usize,
    pub pattern: String,
}

#[derive(Debug, Clone)]
pub struct IgnorePattern {
    pub line: usize,
    /// the cleaned pattern, without the `!`
    pub pattern: String,
    /// `!pattern`: brings back what earlier patterns excluded
    pub exception: bool,
    regex: Regex,
}

#[derive(Debug, Clone, Default)]
pub struct IgnoreFile {
    pub patterns: Vec<IgnorePattern>,
}

impl IgnoreFile {
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (exception, body) = match trimmed.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, trimmed),
            };
            let pattern = clean(body);
            let regex = Regex::new(&to_regex(&pattern)).map_err(|_| PatternError {
                line,
                pattern: raw.to_string(),
            })?;
            patterns.push(IgnorePattern {
                line,
                pattern,
                exception,
                regex,
            });
        }
        Ok(IgnoreFile { patterns })
    }

    /// Whether `path` (relative to the context root, `/`-separated) is left out of the context.
    pub fn excludes(&self, path: &str) -> bool {
        let path = clean(path);
        let parents: Vec<&str> = path.split('/').collect();
        let mut excluded = false;
        for pattern in &self.patterns {
            // Only a pattern that could change the answer needs to be tried.
            if pattern.exception != excluded {
                continue;
            }
            let matches = pattern.regex.is_match(&path)
                || (1..parents.len()).any(|n| pattern.regex.is_match(&parents[..n].join("/")));
            if matches {
                excluded = !pattern.exception;
            }
        }
        excluded
    }
}

/// Lexical clean as Go's filepath.Clean does it, then without a leading `/`.
fn clean(path: &str) -> String {
    let clean = crate::safe_path::clean_like_go(path);
    match clean.strip_prefix('/') {
        Some(relative) if !relative.is_empty() => relative.to_string(),
        _ => clean,
    }
}

/// The pattern as an anchored regex: `*` and `?` stay within one path component, `**`
/// crosses any number of them (zero included).
fn to_regex(pattern: &str) -> String {
    let mut regex = String::from("^");
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        if in_class {
            match c {
                ']' => in_class = false,
                '\\' | '[' => regex.push('\\'),
                _ => {}
            }
            regex.push(c);
            continue;
        }
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                if chars.peek() == Some(&'/') {
                    chars.next();
                }
                if chars.peek().is_none() {
                    regex.push_str(".*");
                } else {
                    regex.push_str("(.*/)?");
                }
            }
            '*' => regex.push_str("[^/]*"),
            '?' => regex.push_str("[^/]"),
            '\\' => match chars.next() {
                Some(next) => regex.push_str(&regex::escape(&next.to_string())),
                None => regex.push_str(r"\\"),
            },
            '[' => {
                in_class = true;
                regex.push(c);
            }
            c => regex.push_str(&regex::escape(&c.to_string())),
        }
    }
    regex.push('$');
    regex
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignore(text: &str) -> IgnoreFile {
        IgnoreFile::parse(text).unwrap()
    }

    #[test]
    fn comments_blank_lines_and_cleaning() {
        let file = ignore("# comment\n\n  /.git/  \n./target\n!  keep\n");
        let patterns: Vec<(&str, bool)> = file
            .patterns
            .iter()
            .map(|p| (p.pattern.as_str(), p.exception))
            .collect();
        assert_eq!(
            patterns,
            [(".git", false), ("target", false), ("keep", true)]
        );
        assert_eq!(file.patterns[0].line, 3);
    }

    #[test]
    fn a_directory_pattern_covers_what_is_inside() {
        let file = ignore(".git\nnode_modules/\n");
        assert!(file.excludes(".git"));
        assert!(file.excludes(".git/HEAD"));
        assert!(file.excludes("node_modules/left-pad/index.js"));
        assert!(!file.excludes("src/node_modules"));
        assert!(!file.excludes(".github/workflows/ci.yml"));
    }

    #[test]
    fn stars_stay_in_one_component_and_double_stars_cross() {
        let file = ignore("*.pem\n**/*.key\nsecrets/**\nid_rsa*\nfile?.txt\n[abc].log\n");
        assert!(file.excludes("server.pem"));
        assert!(!file.excludes("certs/server.pem"));
        assert!(file.excludes("server.key"));
        assert!(file.excludes("a/b/server.key"));
        assert!(file.excludes("secrets/x/y"));
        assert!(file.excludes("id_rsa.pub"));
        assert!(file.excludes("file1.txt"));
        assert!(!file.excludes("file12.txt"));
        assert!(file.excludes("b.log"));
        assert!(!file.excludes("d.log"));
    }

    #[test]
    fn the_last_matching_pattern_wins() {
        let file = ignore("*\n!src\n!Cargo.toml\nsrc/*.pem\n");
        assert!(file.excludes(".git"));
        assert!(file.excludes(".env"));
        assert!(!file.excludes("src/main.rs"));
        assert!(!file.excludes("Cargo.toml"));
        assert!(file.excludes("src/key.pem"));
        let file = ignore(".env*\n!.env.example\n");
        assert!(file.excludes(".env"));
        assert!(file.excludes(".env.local"));
        assert!(!file.excludes(".env.example"));
    }

    #[test]
    fn escapes_and_bad_patterns() {
        let file = ignore("\\*literal\n");
        assert!(file.excludes("*literal"));
        assert!(!file.excludes("xliteral"));
        assert_eq!(
            IgnoreFile::parse("ok\n[unclosed\n").unwrap_err(),
            PatternError {
                line: 2,
                pattern: "[unclosed".into()
            }
        );
    }
}
