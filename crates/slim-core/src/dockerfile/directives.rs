//! Parser directives: `# syntax=…`, `# escape=…` and `# check=…`, only at the very top of the
//! file. The first line that is not a known directive (a comment, a blank line, an
//! instruction, or a comment that merely looks like `# name=value`) ends them, as in BuildKit.

use super::error::ParseError;

const KNOWN: [&str; 3] = ["syntax", "escape", "check"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// lowercase name: `syntax`, `escape` or `check`
    pub name: String,
    pub value: String,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    pub entries: Vec<Directive>,
    /// the escape character for line continuations and quoting: `\` unless `# escape=` says `` ` ``
    pub escape: char,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            entries: Vec::new(),
            escape: '\\',
        }
    }
}

impl Directives {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.value.as_str())
    }

    /// The frontend image named by `# syntax=`.
    pub fn syntax(&self) -> Option<&str> {
        self.get("syntax")
    }

    /// How many lines at the top the directives take.
    pub fn line_count(&self) -> usize {
        self.entries.len()
    }
}

/// Read the directives at the top of `lines`.
pub(crate) fn read(lines: &[&str]) -> Result<Directives, ParseError> {
    let mut directives = Directives::default();
    for (index, text) in lines.iter().enumerate() {
        let line = index + 1;
        let Some((name, value)) = split_directive(text) else {
            break;
        };
        let name = name.to_ascii_lowercase();
        if !KNOWN.contains(&name.as_str()) {
            break;
        }
        if directives.get(&name).is_some() {
            return Err(ParseError::DuplicateDirective {
                line,
                directive: name,
            });
        }
        if name == "escape" {
            directives.escape = match value {
                "\\" => '\\',
                "`" => '`',
                _ => {
                    return Err(ParseError::InvalidEscape {
                        line,
                        value: value.to_string(),
                    });
                }
            };
        }
        directives.entries.push(Directive {
            name,
            value: value.to_string(),
            line,
        });
    }
    Ok(directives)
}

/// `#name=value` with optional spaces around the name and the `=`; the name starts with a letter.
fn split_directive(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix('#')?.trim_start();
    let name_end = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let name = &rest[..name_end];
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let value = rest[name_end..].trim_start().strip_prefix('=')?.trim();
    (!value.is_empty()).then_some((name, value))
}
