//! The verification container's lifecycle against a scripted engine.

use std::time::Duration;

use super::*;
use crate::analyze::{Analysis, ContinueAfter};
use crate::engine::fake::{FakeEngine, Script};
use crate::progress::Silent;
use crate::sensor::report::{ExitStatus, TraceReport};

/// An analysis of a command that printed `stdout` and exited with 0.
fn analysis(stdout: &[u8]) -> Analysis {
    Analysis {
        command: vec!["/app/run".into()],
        mode: ContinueAfter::Exit,
        trace: TraceReport::default(),
        exit: Some(ExitStatus {
            code: 0,
            signal: None,
        }),
        stopped_by_slim: false,
        logs: Logs {
            stdout: stdout.to_vec(),
            stderr: Vec::new(),
        },
        http: Vec::new(),
        execs: Vec::new(),
        duration: Duration::from_millis(100),
    }
}

async fn run_verify(engine: &FakeEngine, original: &Analysis) -> Verification {
    let sensor = tempfile::NamedTempFile::new().unwrap();
    let judge = Judge::default();
    let options = VerifyOptions {
        ports: &[],
        timeout: Duration::from_secs(30),
        sensor: sensor.path(),
        judge: &judge,
    };
    verify(engine, "app.slim:1", "app:1", original, &options, &Silent)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_same_answers_pass_and_the_container_is_removed() {
    let script = Script {
        stdout: b"items: 5\n".to_vec(),
        ..Script::default()
    };
    let engine = FakeEngine::with(&[("verify", script)]);
    let verification = run_verify(&engine, &analysis(b"items: 5\n")).await;
    assert!(verification.passed(), "{:?}", verification.checks);
    let names: Vec<&str> = verification
        .checks
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["exit status", "standard output"]);
    assert!(engine.live().is_empty());
    assert_eq!(
        engine.spec_of("verify").unwrap().image,
        "app.slim:1",
        "the slim image runs as it is"
    );
}

#[tokio::test]
async fn different_answers_fail_with_the_slim_output_attached() {
    let script = Script {
        exit_code: 1,
        stderr: b"No module named 'csv'\n".to_vec(),
        ..Script::default()
    };
    let engine = FakeEngine::with(&[("verify", script)]);
    let verification = run_verify(&engine, &analysis(b"items: 5\n")).await;
    assert!(!verification.passed());
    assert_eq!(verification.failures().count(), 2);
    let output = verification.slim_output.unwrap();
    assert!(output.contains("No module named 'csv'"), "{output}");
    assert!(engine.live().is_empty());
}
