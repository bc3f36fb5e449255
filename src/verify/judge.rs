//! How two answers are compared. Exact by default: the same status and the same bytes. Output
//! that changes between runs (a date header, a request id, a random token) makes that fail
//! when the slim image is fine, so two ways out, chosen by the user:
//!
//! - `--verify-ignore REGEX`: what matches is cut from both answers before they are compared;
//! - `--verify-compare structure`: the same status and content type, and for JSON the same
//!   keys at every level (values may differ), for anything else the same number of lines
//!   and a length within a tenth (or 64 bytes).
//!
//! Every check says which judged it.

use regex::bytes::Regex;
use serde_json::Value;

/// How bodies and outputs are compared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum CompareMode {
    /// the same bytes
    #[default]
    Exact,
    /// the same shape: JSON keys, or line count and length
    Structure,
}

/// The comparison rules of one verification.
#[derive(Debug, Clone, Default)]
pub struct Judge {
    pub mode: CompareMode,
    /// cut from both sides first
    pub ignore: Vec<Regex>,
}

/// Whether two things count as the same, and by which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub passed: bool,
    pub judged_by: &'static str,
}

impl Judge {
    /// Compare two outputs (a body, standard output). `content_types` are the answers'
    /// Content-Type headers, where there are answers.
    pub fn same(
        &self,
        original: &[u8],
        slim: &[u8],
        content_types: Option<(Option<&str>, Option<&str>)>,
    ) -> Verdict {
        let (original, slim) = (self.cut(original), self.cut(slim));
        match self.mode {
            CompareMode::Exact => Verdict {
                passed: original == slim,
                judged_by: if self.ignore.is_empty() {
                    "exact"
                } else {
                    "exact after --verify-ignore"
                },
            },
            CompareMode::Structure => {
                let types_match = content_types.is_none_or(|(a, b)| media_type(a) == media_type(b));
                Verdict {
                    passed: types_match && same_shape(&original, &slim),
                    judged_by: "structure",
                }
            }
        }
    }

    fn cut(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        for pattern in &self.ignore {
            out = pattern.replace_all(&out, &b""[..]).into_owned();
        }
        out
    }
}

/// `application/json` of `application/json; charset=utf-8`.
fn media_type(header: Option<&str>) -> Option<String> {
    header.map(|h| {
        h.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    })
}

fn same_shape(original: &[u8], slim: &[u8]) -> bool {
    if let (Ok(a), Ok(b)) = (
        serde_json::from_slice::<Value>(original),
        serde_json::from_slice::<Value>(slim),
    ) {
        return same_json_shape(&a, &b);
    }
    let lines = |b: &[u8]| b.iter().filter(|&&c| c == b'\n').count();
    let (a, b) = (original.len() as i64, slim.len() as i64);
    let tolerance = (a / 10).max(64);
    lines(original) == lines(slim) && (a - b).abs() <= tolerance
}

/// The same kinds of value with the same object keys at every level; arrays may differ in
/// length, their first elements must have the same shape.
fn same_json_shape(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json_shape(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => match (x.first(), y.first()) {
            (Some(v), Some(w)) => same_json_shape(v, w),
            (None, None) => true,
            _ => false,
        },
        (Value::Null, Value::Null) | (Value::Bool(_), Value::Bool(_)) => true,
        (Value::Number(_), Value::Number(_)) | (Value::String(_), Value::String(_)) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(mode: CompareMode, ignore: &[&str]) -> Judge {
        Judge {
            mode,
            ignore: ignore.iter().map(|p| Regex::new(p).unwrap()).collect(),
        }
    }

    #[test]
    fn exact_is_exact_and_ignore_cuts_what_changes() {
        let exact = judge(CompareMode::Exact, &[]);
        assert!(exact.same(b"hello", b"hello", None).passed);
        let a = b"{\"at\": \"2026-12-01T10:00:00Z\", \"n\": 1}";
        let b = b"{\"at\": \"2026-12-01T10:00:07Z\", \"n\": 1}";
        assert!(!exact.same(a, b, None).passed);
        let ignoring = judge(CompareMode::Exact, &[r"\d{4}-\d\d-\d\dT[\d:]+Z"]);
        let verdict = ignoring.same(a, b, None);
        assert!(verdict.passed);
        assert_eq!(verdict.judged_by, "exact after --verify-ignore");
        assert!(!ignoring.same(a, b"{\"at\": \"x\", \"n\": 2}", None).passed);
    }

    #[test]
    fn structure_compares_json_keys_not_values() {
        let structure = judge(CompareMode::Structure, &[]);
        let json = Some((
            Some("application/json"),
            Some("application/json; charset=utf-8"),
        ));
        let a = br#"{"id": "a1", "items": [{"name": "x", "at": 1}], "ok": true}"#;
        let b = br#"{"id": "f9", "items": [{"name": "y", "at": 2}, {"name": "z", "at": 3}], "ok": false}"#;
        assert!(structure.same(a, b, json).passed);
        let missing_key = br#"{"id": "f9", "items": [], "ok": false}"#;
        assert!(!structure.same(a, missing_key, json).passed);
        let other_type = Some((Some("application/json"), Some("text/html")));
        assert!(!structure.same(a, b, other_type).passed);
        // not JSON: same lines, length within a tenth or 64 bytes
        assert!(
            structure
                .same(b"token abc123\n", b"token zz9\n", None)
                .passed
        );
        assert!(!structure.same(b"one\n", b"one\ntwo\n", None).passed);
        assert!(!structure.same(&[b'x'; 1000], &[b'x'; 800], None).passed);
    }
}
