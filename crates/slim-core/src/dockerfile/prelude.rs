//! A user's Dockerfile as the opening stages of a generated one: their stages stay as they
//! are, and their final stage gets a name the generated stages can start from.

use super::{Dockerfile, ParseError};

/// The user's Dockerfile, split for placing generated stages after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prelude {
    /// parser directives (`# syntax=…`, `# escape=…`); they must stay the first lines
    pub directives: String,
    /// everything after the directives, with the final stage named
    pub body: String,
    /// the final stage's name (theirs, or the one given to it)
    pub source_stage: String,
}

/// Split `text` and name its final stage (`source` unless that name is taken).
pub fn prelude(text: &str) -> Result<Prelude, ParseError> {
    let dockerfile = Dockerfile::parse(text)?;
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let directive_count = dockerfile.directives.line_count();
    let last = dockerfile
        .stages
        .last()
        .ok_or(ParseError::NoStage { line: 1 })?;
    let source_stage = match &last.name {
        Some(name) => name.clone(),
        None => {
            let taken = |candidate: &str| {
                dockerfile.stages.iter().any(|s| {
                    s.name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(candidate))
                })
            };
            let name = ["source", "slim-source"]
                .into_iter()
                .map(str::to_string)
                .chain((2..).map(|n| format!("slim-source-{n}")))
                .find(|n| !taken(n))
                .unwrap_or_else(|| "slim-source".into());
            // The FROM may continue over several lines; the name goes after its last one.
            let from_end = last.from.lines.end;
            if let Some(line) = lines.get_mut(from_end.saturating_sub(1)) {
                line.push_str(&format!(" AS {name}"));
            }
            name
        }
    };
    let split = directive_count.min(lines.len());
    let mut directives = lines[..split].join("\n");
    if !directives.is_empty() {
        directives.push('\n');
    }
    let mut body = lines[split..].join("\n");
    body.push('\n');
    Ok(Prelude {
        directives,
        body,
        source_stage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_an_unnamed_final_stage() {
        let text = "# syntax=docker/dockerfile:1\nFROM golang:1.22 AS build\nRUN go build -o /app\n\nFROM debian:bookworm-slim\nCOPY --from=build /app /app\nCMD [\"/app\"]\n";
        let p = prelude(text).unwrap();
        assert_eq!(p.directives, "# syntax=docker/dockerfile:1\n");
        assert_eq!(p.source_stage, "source");
        assert!(
            p.body
                .contains("FROM debian:bookworm-slim AS source\nCOPY --from=build")
        );
        assert!(p.body.starts_with("FROM golang:1.22 AS build"));
        Dockerfile::parse(&format!("{}{}", p.directives, p.body)).unwrap();
    }

    #[test]
    fn keeps_an_existing_name_and_avoids_taken_ones() {
        let p = prelude("FROM alpine AS runtime\nRUN true\n").unwrap();
        assert_eq!(p.source_stage, "runtime");
        assert_eq!(p.body, "FROM alpine AS runtime\nRUN true\n");
        let p = prelude("FROM alpine AS source\nRUN true\nFROM alpine\nCOPY --from=source / /\n")
            .unwrap();
        assert_eq!(p.source_stage, "slim-source");
        assert!(p.body.contains("FROM alpine AS slim-source\n"));
    }

    #[test]
    fn continued_from_lines_get_the_name_at_the_end() {
        let p = prelude("FROM \\\n  alpine:3.19\nRUN true\n").unwrap();
        assert!(
            p.body.starts_with("FROM \\\n  alpine:3.19 AS source\n"),
            "{}",
            p.body
        );
    }
}
