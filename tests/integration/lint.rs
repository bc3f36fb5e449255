//! `slim lint`: the rules over the fixtures in tests/fixtures/lint/, and the command's
//! formats and exit codes. None of this needs the container engine.
//!
//! Each rule has a directory `SLxxx/` of cases: a `fires-*` case must produce the rule and a
//! `passes-*` case must not. In a `fires-*` Dockerfile, `# expect SLxxx` right above an
//! instruction says the finding starts on that instruction's line; when such lines exist the
//! rule must fire on exactly those lines.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use slim::dockerfile::Dockerfile;
use slim::lint::{self, BuildContext, Finding, LintOptions, Report};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint")
}

/// The Dockerfile of a case: `Dockerfile`, or another name ending in it (`app.Dockerfile`).
fn dockerfile_in(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_file() && p.to_string_lossy().ends_with("Dockerfile"))
        .unwrap_or_else(|| panic!("no Dockerfile in {}", dir.display()))
}

/// Lint a case the way the command does: the Dockerfile's directory is the context.
fn lint_case(dir: &Path) -> Vec<Finding> {
    let path = dockerfile_in(dir);
    let text = std::fs::read_to_string(&path).unwrap();
    let dockerfile = Dockerfile::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let context = BuildContext::read(dir, &path).unwrap();
    lint::lint(&dockerfile, "Dockerfile", &context, &LintOptions::default())
}

/// Lines of the instructions that `# expect RULE` comments point at.
fn expected_lines(dir: &Path, rule: &str) -> BTreeSet<usize> {
    let text = std::fs::read_to_string(dockerfile_in(dir)).unwrap();
    let dockerfile = Dockerfile::parse(&text).unwrap();
    let marked: BTreeSet<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| line.trim() == format!("# expect {rule}"))
        .map(|(index, _)| index + 1)
        .collect();
    dockerfile
        .instructions()
        .map(|i| i.lines.start)
        .filter(|start| {
            // the marker is in the comment block right above the instruction
            (1..*start)
                .rev()
                .take_while(|l| {
                    text.lines()
                        .nth(l - 1)
                        .is_some_and(|t| t.trim_start().starts_with('#'))
                })
                .any(|l| marked.contains(&l))
        })
        .collect()
}

fn cases(rule_dir: &Path) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(rule_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

#[test]
fn lint_fixtures_fire_and_pass() {
    let mut failures = Vec::new();
    for rule in lint::RULES {
        let rule_dir = fixtures().join(rule.id);
        let cases = cases(&rule_dir);
        let fires = cases
            .iter()
            .filter(|c| {
                c.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("fires")
            })
            .count();
        let passes = cases
            .iter()
            .filter(|c| {
                c.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("passes")
            })
            .count();
        if fires == 0 || passes == 0 {
            failures.push(format!(
                "{}: needs fires-* and passes-* cases in {}",
                rule.id,
                rule_dir.display()
            ));
        }
        for case in cases {
            let name = format!(
                "{}/{}",
                rule.id,
                case.file_name().unwrap().to_string_lossy()
            );
            let findings = lint_case(&case);
            let lines: BTreeSet<usize> = findings
                .iter()
                .filter(|f| f.rule == rule.id)
                .map(|f| f.line)
                .collect();
            let fired: Vec<String> = findings
                .iter()
                .map(|f| format!("{}:{} {}", f.rule, f.line, f.message))
                .collect();
            if name.contains("/fires") {
                let expected = expected_lines(&case, rule.id);
                if lines.is_empty() {
                    failures.push(format!(
                        "{name}: {} did not fire; found {fired:#?}",
                        rule.id
                    ));
                } else if !expected.is_empty() && lines != expected {
                    failures.push(format!(
                        "{name}: {} fired on lines {lines:?}, expected {expected:?}",
                        rule.id
                    ));
                }
            } else if !lines.is_empty() {
                failures.push(format!(
                    "{name}: {} fired on lines {lines:?}: {fired:#?}",
                    rule.id
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn lint_findings_carry_level_why_and_fix() {
    for rule in lint::RULES {
        for case in cases(&fixtures().join(rule.id)) {
            for finding in lint_case(&case).iter().filter(|f| f.rule == rule.id) {
                assert_eq!(finding.level, rule.level);
                assert_eq!(finding.why, rule.why);
                assert!(finding.end_line >= finding.line, "{finding:?}");
                assert!(!finding.message.is_empty());
            }
        }
    }
}

#[test]
fn lint_realistic_single_stage_dockerfile_gets_every_matching_finding() {
    let findings = lint_case(&fixtures().join("realistic"));
    let found: Vec<(&str, usize)> = findings.iter().map(|f| (f.rule.as_str(), f.line)).collect();
    assert_eq!(
        found,
        [
            ("SL001", 1), // no USER: root
            ("SL003", 1), // python:latest
            ("SL004", 1), // no digest
            ("SL005", 1), // python:slim exists
            ("SL011", 1), // no .dockerignore
            ("SL007", 4), // build-essential installed
            ("SL013", 4), // no --no-install-recommends
            ("SL014", 4), // apt lists left
            ("SL008", 5), // ADD of a URL
            ("SL009", 6), // ADD of a local file
            ("SL007", 7), // pip install in a single-stage build
            ("SL010", 8), // SECRET_KEY in ENV
        ],
        "{findings:#?}"
    );
    let message = |rule: &str, line: usize| {
        findings
            .iter()
            .find(|f| f.rule == rule && f.line == line)
            .map(|f| f.message.clone())
            .unwrap_or_default()
    };
    assert!(message("SL007", 4).contains("build-essential"));
    assert!(!message("SL007", 4).contains("libpq-dev"));
    assert!(message("SL007", 7).contains("pip install"));
    assert!(message("SL009", 6).contains("requirements.txt"));
    assert!(message("SL010", 8).contains("SECRET_KEY"));
}

#[test]
fn lint_dockerignore_findings_name_what_is_missing() {
    let findings = lint_case(&fixtures().join("SL012/fires-misses-secrets"));
    let gap = findings.iter().find(|f| f.rule == "SL012").unwrap();
    assert!(gap.file.ends_with(".dockerignore"), "{gap:?}");
    for missing in [".git", ".env", "*.pem", "*.key", "id_rsa*"] {
        assert!(
            gap.message.contains(missing),
            "{missing} in {}",
            gap.message
        );
    }
    assert!(!gap.message.contains("node_modules"), "{}", gap.message);

    let findings = lint_case(&fixtures().join("SL012/fires-misses-build-output"));
    let gap = findings.iter().find(|f| f.rule == "SL012").unwrap();
    assert!(
        gap.message.ends_with("does not exclude target/"),
        "{}",
        gap.message
    );
}

// ---- the command ----

fn slim_lint(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slim"))
        .arg("lint")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("running slim lint")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn lint_cli_exit_codes() {
    let root = fixtures();
    // no findings at all
    let output = slim_lint(&[], &root.join("clean"));
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(stdout(&output), "Dockerfile: no findings\n");

    // warnings only
    let output = slim_lint(&["warnings-only/Dockerfile"], &root);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("warnings-only/Dockerfile:2 warning SL013 "));

    // an error-level rule fires
    let output = slim_lint(&["realistic/Dockerfile"], &root);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));

    // usage problems: missing file, parse error with its line, unknown rule, bad context
    let output = slim_lint(&["no/such/Dockerfile"], &root);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot read the Dockerfile no/such/Dockerfile"),
        "{}",
        stderr(&output)
    );

    let output = slim_lint(&["malformed/Dockerfile"], &root);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("line 3: the heredoc <<EOF is never closed"),
        "{}",
        stderr(&output)
    );

    let output = slim_lint(&["clean/Dockerfile", "--ignore", "SL999"], &root);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no such rule"),
        "{}",
        stderr(&output)
    );

    let output = slim_lint(&["clean/Dockerfile", "--context", "no/such/dir"], &root);
    assert_eq!(output.status.code(), Some(2));

    let output = slim_lint(&["clean/Dockerfile", "--format", "xml"], &root);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn lint_cli_text_output() {
    let output = slim_lint(&[], &fixtures().join("realistic"));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    let finding_lines: Vec<&&str> = lines
        .iter()
        .filter(|l| {
            l.strip_prefix("Dockerfile:")
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    assert_eq!(finding_lines.len(), 12, "{text}");
    assert!(lines.contains(&"Dockerfile:8 error SL010 ENV SECRET_KEY looks like a secret, and its value is stored in the image config, readable by anyone who pulls the image"), "{text}");
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("    why: ")).count(),
        12
    );
    assert_eq!(
        lines.last().copied(),
        Some("Dockerfile: 12 findings (3 errors, 8 warnings, 1 info)")
    );
}

#[test]
fn lint_cli_ignore_option() {
    let root = fixtures().join("realistic");
    let output = slim_lint(&["--ignore", "SL001", "--ignore", "SL003,SL010"], &root);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let text = stdout(&output);
    for id in ["SL001", "SL003", "SL010"] {
        assert!(!text.contains(&format!(" {id} ")), "{id} in {text}");
    }
    assert!(text.contains(" SL004 "));
}

#[test]
fn lint_cli_context_option() {
    let root = fixtures();
    // the realistic case has no .dockerignore; the clean case's context has one
    let output = slim_lint(
        &[
            "realistic/Dockerfile",
            "--context",
            "clean",
            "--format",
            "json",
        ],
        &root,
    );
    let report: Report = serde_json::from_slice(&output.stdout).unwrap();
    assert!(report.findings.iter().all(|f| f.rule != "SL011"));
    let output = slim_lint(&["realistic/Dockerfile", "--format", "json"], &root);
    let report: Report = serde_json::from_slice(&output.stdout).unwrap();
    assert!(report.findings.iter().any(|f| f.rule == "SL011"));
}

#[test]
fn lint_cli_json_round_trips() {
    let output = slim_lint(&["--format", "json"], &fixtures().join("realistic"));
    assert_eq!(output.status.code(), Some(1));
    let report: Report = serde_json::from_slice(&output.stdout).expect("JSON report");
    assert_eq!(report.dockerfile, "Dockerfile");
    assert_eq!(report.findings.len(), 12);
    assert_eq!(
        (
            report.summary.errors,
            report.summary.warnings,
            report.summary.info
        ),
        (3, 8, 1)
    );
    // what was printed is exactly what the report serializes to
    assert_eq!(stdout(&output).trim_end(), report.to_json());
    let again: Report = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(again, report);
}

#[test]
fn lint_cli_sarif_is_sarif_2_1_0() {
    let output = slim_lint(&["--format", "sarif"], &fixtures().join("realistic"));
    assert_eq!(output.status.code(), Some(1));
    let sarif: serde_json::Value = serde_json::from_slice(&output.stdout).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    assert!(
        sarif["$schema"]
            .as_str()
            .unwrap()
            .contains("sarif-schema-2.1.0")
    );
    let run = &sarif["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "slim");
    assert!(
        driver["informationUri"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), lint::RULES.len());
    for (rule, sarif_rule) in lint::RULES.iter().zip(rules) {
        assert_eq!(sarif_rule["id"], rule.id);
        assert_eq!(sarif_rule["shortDescription"]["text"], rule.summary);
        assert_eq!(sarif_rule["fullDescription"]["text"], rule.why);
        assert_eq!(sarif_rule["help"]["text"], rule.why);
        let level = sarif_rule["defaultConfiguration"]["level"]
            .as_str()
            .unwrap();
        assert!(["error", "warning", "note"].contains(&level));
    }
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 12);
    for result in results {
        let id = result["ruleId"].as_str().unwrap();
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], id);
        assert!(["error", "warning", "note"].contains(&result["level"].as_str().unwrap()));
        assert!(!result["message"]["text"].as_str().unwrap().is_empty());
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], "Dockerfile");
        assert!(location["region"]["startLine"].as_u64().unwrap() >= 1);
    }
    let root = results.iter().find(|r| r["ruleId"] == "SL005").unwrap();
    assert_eq!(root["level"], "note");
}

#[test]
fn lint_survives_every_truncation_of_every_fixture() {
    // Cut each fixture at every character: parsing either fails with a line or succeeds, and
    // linting what parses never panics.
    let mut dirs = vec![fixtures().join("realistic"), fixtures().join("clean")];
    for rule in lint::RULES {
        dirs.extend(cases(&fixtures().join(rule.id)));
    }
    let context = BuildContext::default();
    for dir in dirs {
        let text = std::fs::read_to_string(dockerfile_in(&dir)).unwrap();
        for (cut, _) in text.char_indices() {
            match Dockerfile::parse(&text[..cut]) {
                Ok(dockerfile) => {
                    lint::lint(&dockerfile, "Dockerfile", &context, &LintOptions::default());
                }
                Err(e) => assert!(e.line() >= 1, "{}: {e}", dir.display()),
            }
        }
    }
}
