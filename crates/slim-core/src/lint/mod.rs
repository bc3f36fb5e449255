//! Dockerfile lint: rules with stable ids (`SL001`…) about what makes an image large or
//! unsafe, run over a parsed [`Dockerfile`] and its build context. Pure: the caller reads
//! the files ([`BuildContext::read`] does it for a directory on disk).

mod add;
mod base_image;
mod build_tools;
mod context;
pub mod ignore_file;
mod packages;
mod report;
mod rules;
mod sarif;
mod secrets;
mod shell;
mod shell_risks;
mod user;

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::dockerfile::{Dockerfile, LineRange};

pub use context::{BuildContext, IgnoreFileText};
pub use report::{Report, Summary};
pub use rules::{RULES, Rule, rule};
pub use sarif::INFORMATION_URI;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
    Info,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "info",
        })
    }
}

/// One problem found: where, which rule, what exactly, why it matters, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub level: Level,
    /// the file the finding is in (the Dockerfile or the .dockerignore), as the caller named it
    pub file: String,
    pub line: usize,
    pub end_line: usize,
    pub message: String,
    pub why: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// rule ids not to report
    pub ignore: BTreeSet<String>,
}

/// Run every rule. `dockerfile_path` is how findings name the Dockerfile.
pub fn lint(
    dockerfile: &Dockerfile,
    dockerfile_path: &str,
    context: &BuildContext,
    options: &LintOptions,
) -> Vec<Finding> {
    let mut findings = Findings {
        file: dockerfile_path.to_string(),
        list: Vec::new(),
    };
    user::check(dockerfile, &mut findings);
    base_image::check(dockerfile, &mut findings);
    build_tools::check(dockerfile, &mut findings);
    add::check(dockerfile, &mut findings);
    secrets::check(dockerfile, &mut findings);
    context::check(dockerfile, context, &mut findings);
    packages::check(dockerfile, &mut findings);
    shell_risks::check(dockerfile, &mut findings);

    let inline = inline_ignores(dockerfile);
    let mut list: Vec<Finding> = findings
        .list
        .into_iter()
        .filter(|f| {
            !options
                .ignore
                .iter()
                .any(|id| id.eq_ignore_ascii_case(&f.rule))
        })
        .filter(|f| {
            f.file != dockerfile_path
                || !inline
                    .iter()
                    .any(|(line, id)| *line == f.line && id.eq_ignore_ascii_case(&f.rule))
        })
        .collect();
    list.sort_by(|a, b| {
        (a.file != dockerfile_path, a.line, &a.rule).cmp(&(
            b.file != dockerfile_path,
            b.line,
            &b.rule,
        ))
    });
    list
}

/// Where the rules put what they find; fills in the level and the why from the rule table.
pub(crate) struct Findings {
    file: String,
    list: Vec<Finding>,
}

impl Findings {
    /// A finding in the Dockerfile.
    fn add(&mut self, rule_id: &str, lines: LineRange, message: String, fix: Option<String>) {
        let file = self.file.clone();
        self.add_in(&file, rule_id, lines, message, fix);
    }

    /// A finding in another file of the build context.
    fn add_in(
        &mut self,
        file: &str,
        rule_id: &str,
        lines: LineRange,
        message: String,
        fix: Option<String>,
    ) {
        let Some(rule) = rule(rule_id) else {
            return;
        };
        self.list.push(Finding {
            rule: rule.id.to_string(),
            level: rule.level,
            file: file.to_string(),
            line: lines.start,
            end_line: lines.end,
            message,
            why: rule.why.to_string(),
            fix,
        });
    }
}

/// `# slim-lint ignore=SL003,SL004` in the comment lines right above an instruction: the
/// (instruction line, rule id) pairs they silence.
fn inline_ignores(dockerfile: &Dockerfile) -> Vec<(usize, String)> {
    let mut pairs = Vec::new();
    for instruction in dockerfile.instructions() {
        let mut line = instruction.lines.start;
        while let Some(comment) = line
            .checked_sub(1)
            .and_then(|above| dockerfile.comments.iter().find(|c| c.line == above))
        {
            line = comment.line;
            let Some(ids) = comment
                .text
                .strip_prefix("slim-lint")
                .map(str::trim_start)
                .and_then(|rest| rest.strip_prefix("ignore="))
            else {
                continue;
            };
            let ids = ids.split_whitespace().next().unwrap_or_default();
            for id in ids.split(',').filter(|id| !id.is_empty()) {
                pairs.push((instruction.lines.start, id.to_string()));
            }
        }
    }
    pairs
}

#[cfg(test)]
mod tests;
