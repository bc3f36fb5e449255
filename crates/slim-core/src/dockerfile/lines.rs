//! From physical lines to instructions: comments, blank lines, line continuations (with
//! comment and blank lines allowed inside a continued instruction, as BuildKit allows) and
//! heredoc bodies.

use super::error::ParseError;
use super::heredoc::{self, Heredoc};
use super::{Comment, LineRange};

/// One instruction's text before it is interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogicalLine {
    pub lines: LineRange,
    /// the instruction with continuations joined and comment lines inside it dropped
    pub content: String,
    pub heredocs: Vec<Heredoc>,
}

#[derive(Debug, Default)]
pub(crate) struct Scanned {
    pub instructions: Vec<LogicalLine>,
    pub comments: Vec<Comment>,
}

/// Instructions that may take heredocs.
const HEREDOC_KEYWORDS: [&str; 3] = ["RUN", "COPY", "ADD"];

/// Scan `lines` from index `first` (0-based; the lines before hold parser directives).
pub(crate) fn scan(lines: &[&str], first: usize, escape: char) -> Result<Scanned, ParseError> {
    let mut scanned = Scanned::default();
    let mut next = first;
    while next < lines.len() {
        let line_number = next + 1;
        let text = lines[next].trim_start();
        next += 1;
        if text.is_empty() {
            continue;
        }
        if let Some(comment) = text.strip_prefix('#') {
            scanned.comments.push(Comment {
                line: line_number,
                text: comment.trim().to_string(),
            });
            continue;
        }
        let mut content = String::new();
        let mut end = line_number;
        let mut continued = match strip_continuation(text, escape) {
            Some(before) => {
                content.push_str(before);
                true
            }
            None => {
                content.push_str(text.trim_end());
                false
            }
        };
        while continued && next < lines.len() {
            let text = lines[next];
            next += 1;
            let trimmed = text.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            end = next;
            match strip_continuation(text, escape) {
                Some(before) => content.push_str(before),
                None => {
                    content.push_str(text.trim_end());
                    continued = false;
                }
            }
        }
        let keyword = content
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let mut heredocs = Vec::new();
        if HEREDOC_KEYWORDS.contains(&keyword.as_str()) && !is_json_array(&content[keyword.len()..])
        {
            let markers = heredoc::markers(&content, escape);
            if !markers.is_empty() {
                let (bodies, after) = heredoc::read_bodies(markers, lines, next, line_number)?;
                heredocs = bodies;
                next = after;
                end = after;
            }
        }
        scanned.instructions.push(LogicalLine {
            lines: LineRange {
                start: line_number,
                end,
            },
            content,
            heredocs,
        });
    }
    Ok(scanned)
}

/// The line without its trailing escape character, when it ends in one (spaces after it allowed).
fn strip_continuation(line: &str, escape: char) -> Option<&str> {
    line.trim_end_matches([' ', '\t']).strip_suffix(escape)
}

fn is_json_array(text: &str) -> bool {
    let text = text.trim();
    text.starts_with('[') && serde_json::from_str::<Vec<String>>(text).is_ok()
}
