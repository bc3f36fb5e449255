//! SARIF 2.1.0, the format code-scanning services (GitHub, GitLab, Azure DevOps) read.

use serde_json::{Value, json};

use super::rules::RULES;
use super::{Level, Report};

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Where SARIF viewers link the tool's name to: the package's `repository`, once Cargo.toml
/// names one; until then a reserved `.invalid` address (RFC 2606), never someone else's site.
pub const INFORMATION_URI: &str = if env!("CARGO_PKG_REPOSITORY").is_empty() {
    "https://slim.invalid/"
} else {
    env!("CARGO_PKG_REPOSITORY")
};

fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Info => "note",
    }
}

/// A relative path as a URI reference: `/` separators, and characters a URI cannot hold escaped.
fn uri(path: &str) -> String {
    let mut out = String::new();
    for byte in path.replace('\\', "/").bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' | b':' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

impl Report {
    pub fn to_sarif(&self) -> Value {
        let rules: Vec<Value> = RULES
            .iter()
            .map(|rule| {
                json!({
                    "id": rule.id,
                    "name": rule.name,
                    "shortDescription": { "text": rule.summary },
                    "fullDescription": { "text": rule.why },
                    "help": { "text": rule.why },
                    "defaultConfiguration": { "level": sarif_level(rule.level) },
                })
            })
            .collect();
        let results: Vec<Value> = self
            .findings
            .iter()
            .map(|finding| {
                let index = RULES.iter().position(|r| r.id == finding.rule);
                let mut message = finding.message.clone();
                if let Some(fix) = &finding.fix {
                    message.push_str(&format!(". Fix: {fix}"));
                }
                json!({
                    "ruleId": finding.rule,
                    "ruleIndex": index,
                    "level": sarif_level(finding.level),
                    "message": { "text": message },
                    "locations": [{
                        "physicalLocation": {
                            "artifactLocation": { "uri": uri(&finding.file) },
                            "region": { "startLine": finding.line, "endLine": finding.end_line },
                        }
                    }],
                })
            })
            .collect();
        json!({
            "$schema": SCHEMA,
            "version": "2.1.0",
            "runs": [{
                "tool": {
                    "driver": {
                        "name": "slim",
                        "version": env!("CARGO_PKG_VERSION"),
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "results": results,
            }]
        })
    }
}
