//! A lint run's result and its text and JSON forms.

use serde::{Deserialize, Serialize};

use super::{Finding, Level};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub info: usize,
}

/// What `slim lint --format json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub dockerfile: String,
    pub findings: Vec<Finding>,
    pub summary: Summary,
}

impl Report {
    pub fn new(dockerfile: &str, findings: Vec<Finding>) -> Self {
        let count = |level| findings.iter().filter(|f| f.level == level).count();
        let summary = Summary {
            errors: count(Level::Error),
            warnings: count(Level::Warning),
            info: count(Level::Info),
        };
        Report {
            dockerfile: dockerfile.to_string(),
            findings,
            summary,
        }
    }

    /// Whether an error-level rule fired (the command then exits 1).
    pub fn has_errors(&self) -> bool {
        self.summary.errors > 0
    }

    /// One line per finding (`FILE:LINE LEVEL ID message`), its why and fix indented under
    /// it, and a closing count.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        for f in &self.findings {
            text.push_str(&format!(
                "{}:{} {} {} {}\n",
                f.file, f.line, f.level, f.rule, f.message
            ));
            text.push_str(&format!("    why: {}\n", f.why));
            if let Some(fix) = &f.fix {
                text.push_str(&format!("    fix: {fix}\n"));
            }
        }
        let Summary {
            errors,
            warnings,
            info,
        } = self.summary;
        if self.findings.is_empty() {
            text.push_str(&format!("{}: no findings\n", self.dockerfile));
        } else {
            text.push_str(&format!(
                "{}: {} ({}, {}, {})\n",
                self.dockerfile,
                plural(self.findings.len(), "finding"),
                plural(errors, "error"),
                plural(warnings, "warning"),
                format_args!("{info} info"),
            ));
        }
        text
    }

    pub fn to_json(&self) -> String {
        // A tree of strings and numbers always serializes.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
