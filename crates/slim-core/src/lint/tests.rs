//! Tests of the lint machinery: ignoring, ordering, levels. Each rule's behaviour is
//! covered by the fixtures under tests/fixtures/lint/.

use super::*;

fn findings(text: &str, options: &LintOptions) -> Vec<Finding> {
    let dockerfile = Dockerfile::parse(text).unwrap();
    let context = BuildContext {
        dockerignore: Some(IgnoreFileText {
            path: ".dockerignore".into(),
            text: ".git\n.env\n*.pem\n*.key\nid_rsa*\n".into(),
        }),
        ..Default::default()
    };
    lint(&dockerfile, "Dockerfile", &context, options)
}

fn rules_fired(findings: &[Finding]) -> Vec<(&str, usize)> {
    findings.iter().map(|f| (f.rule.as_str(), f.line)).collect()
}

#[test]
fn every_rule_has_a_unique_id_and_a_why() {
    let ids: BTreeSet<&str> = RULES.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), RULES.len());
    for rule in RULES {
        assert!(
            rule.id.starts_with("SL") && rule.id.len() == 5,
            "{}",
            rule.id
        );
        assert!(
            !rule.why.is_empty() && !rule.why.contains('\n'),
            "{}",
            rule.id
        );
    }
    assert_eq!(super::rule("sl001").map(|r| r.id), Some("SL001"));
}

#[test]
fn findings_are_sorted_and_carry_level_and_why() {
    let found = findings(
        "FROM alpine:3.20\nRUN sudo apk add curl\n",
        &LintOptions::default(),
    );
    assert_eq!(
        rules_fired(&found),
        [("SL001", 1), ("SL004", 1), ("SL014", 2), ("SL015", 2)]
    );
    assert_eq!(found[0].level, Level::Error);
    assert_eq!(found[0].why, super::rule("SL001").unwrap().why);
    assert_eq!(found[2].level, Level::Warning);
}

#[test]
fn ignore_option_and_inline_comments() {
    let text = "# slim-lint ignore=SL004\nFROM alpine:3.20\nUSER 1000\n# why we need it\n# slim-lint ignore=SL015,SL014 it is a test\nRUN sudo apk add curl\n\n# slim-lint ignore=SL015\n\nRUN sudo true\n";
    let found = findings(text, &LintOptions::default());
    // the comment separated by a blank line does not count
    assert_eq!(rules_fired(&found), [("SL015", 10)]);
    let options = LintOptions {
        ignore: ["sl015".to_string()].into(),
    };
    assert!(findings(text, &options).is_empty());
}
