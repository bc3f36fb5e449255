//! Heredocs (`RUN <<EOF`, `<<-EOF`, `<<'EOF'`, `COPY <<EOF /path`): finding the markers on an
//! instruction line, and reading their bodies from the lines that follow.

use super::LineRange;
use super::error::ParseError;
use super::words::next_word;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub delimiter: String,
    /// `<<-`: leading tabs are removed from the body lines and the closing line
    pub strip_tabs: bool,
    /// the delimiter was unquoted, so the build expands variables in the body
    pub expands: bool,
    /// the body, each line ending in a newline, tabs stripped for `<<-`
    pub content: String,
    /// the body lines and the closing delimiter line
    pub lines: LineRange,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marker {
    pub delimiter: String,
    pub strip_tabs: bool,
    pub expands: bool,
}

/// Heredoc markers in an instruction's (continuation-joined) line, in order. A marker is a
/// shell word of the form `[fd]<<[-]NAME` with an optionally quoted NAME; `<<<` is not one.
pub(crate) fn markers(line: &str, escape: char) -> Vec<Marker> {
    let mut found = Vec::new();
    let mut at = 0;
    // A line that does not split into words (an unclosed quote) has no markers after that point.
    while let Ok(Some(word)) = next_word(line, at, escape) {
        at = word.end;
        let raw = word
            .raw(line)
            .trim_start_matches(|c: char| c.is_ascii_digit());
        let Some(after) = raw.strip_prefix("<<") else {
            continue;
        };
        let (strip_tabs, name_raw) = match after.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, after),
        };
        if name_raw.is_empty() || name_raw.starts_with('<') {
            continue;
        }
        // The unquoted word is `[fd]<<[-]NAME`; NAME is what follows the same prefix there.
        let digits = word.text.len()
            - word
                .text
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .len();
        let prefix = digits + 2 + usize::from(strip_tabs);
        let Some(delimiter) = word.text.get(prefix..).filter(|d| !d.is_empty()) else {
            continue;
        };
        found.push(Marker {
            delimiter: delimiter.to_string(),
            strip_tabs,
            expands: !name_raw.contains(['\'', '"']),
        });
    }
    found
}

/// Read the bodies of `markers` from `lines` starting at index `next` (0-based), in order.
/// Returns the heredocs and the index of the first line after the last closing delimiter.
pub(crate) fn read_bodies(
    markers: Vec<Marker>,
    lines: &[&str],
    mut next: usize,
    instruction_line: usize,
) -> Result<(Vec<Heredoc>, usize), ParseError> {
    let mut heredocs = Vec::with_capacity(markers.len());
    for marker in markers {
        let first = next;
        let mut content = String::new();
        let closed = loop {
            let Some(&text) = lines.get(next) else {
                break false;
            };
            next += 1;
            let text = if marker.strip_tabs {
                text.trim_start_matches('\t')
            } else {
                text
            };
            if text == marker.delimiter {
                break true;
            }
            content.push_str(text);
            content.push('\n');
        };
        if !closed {
            return Err(ParseError::UnterminatedHeredoc {
                line: instruction_line,
                delimiter: marker.delimiter,
            });
        }
        heredocs.push(Heredoc {
            delimiter: marker.delimiter,
            strip_tabs: marker.strip_tabs,
            expands: marker.expands,
            content,
            lines: LineRange {
                start: first + 1,
                end: next,
            },
        });
    }
    Ok((heredocs, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(line: &str) -> Vec<(String, bool, bool)> {
        markers(line, '\\')
            .into_iter()
            .map(|m| (m.delimiter, m.strip_tabs, m.expands))
            .collect()
    }

    #[test]
    fn finds_markers_of_every_form() {
        assert_eq!(names("RUN <<EOF"), [("EOF".into(), false, true)]);
        assert_eq!(names("RUN <<-EOT bash"), [("EOT".into(), true, true)]);
        assert_eq!(names("RUN python3 <<'PY'"), [("PY".into(), false, false)]);
        assert_eq!(names(r#"RUN cat 3<<"A" >x"#), [("A".into(), false, false)]);
        assert_eq!(
            names("COPY <<one.txt <<two.txt /dst/"),
            [
                ("one.txt".into(), false, true),
                ("two.txt".into(), false, true)
            ]
        );
    }

    #[test]
    fn ignores_what_is_not_a_marker() {
        assert!(names("RUN cat <<<word").is_empty());
        assert!(names(r#"RUN echo "<<EOF""#).is_empty());
        assert!(names("RUN echo a<<b").is_empty());
        assert!(names("RUN echo <<").is_empty());
    }
}
