//! The analysis container's lifecycle against a scripted engine: what is created, run, read
//! and removed, on success, on failure, on an engine error and on an interrupt.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::engine::fake::{FakeEngine, Script};
use crate::engine::{Containers, ROLE_LABEL, SOURCE_LABEL};
use crate::progress::Silent;
use crate::sensor::report::{Access, ExitStatus, TraceReport};

fn image() -> ImageSpec {
    ImageSpec {
        id: "sha256:source".into(),
        cmd: vec!["/app/run".into()],
        ..ImageSpec::default()
    }
}

fn options(sensor: &std::path::Path) -> AnalysisOptions {
    AnalysisOptions {
        http_probe: true,
        http_probe_cmds: Vec::new(),
        execs: Vec::new(),
        continue_after: None,
        timeout: Duration::from_secs(60),
        cap_ptrace: true,
        allow_failure: false,
        sensor: sensor.to_path_buf(),
        all_syscalls: false,
    }
}

fn trace(code: i32) -> Vec<u8> {
    let mut trace = TraceReport {
        exit: Some(ExitStatus { code, signal: None }),
        ..TraceReport::default()
    };
    trace.record("/app/run", Access::Exec);
    serde_json::to_vec(&trace).unwrap()
}

fn analysis_script(code: i32) -> Script {
    Script {
        exit_code: i64::from(code),
        files: BTreeMap::from([(TRACE_PATH.to_string(), trace(code))]),
        ..Script::default()
    }
}

fn sensor() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), b"\x7fELF sensor").unwrap();
    file
}

#[tokio::test]
async fn a_command_that_exits_is_traced_under_the_sensor_and_removed() {
    let engine = FakeEngine::with(&[("analysis", analysis_script(0))]);
    let sensor = sensor();
    let analysis = analyze(&engine, &image(), "app:1", &options(sensor.path()), &Silent)
        .await
        .unwrap();
    assert!(analysis.trace.files.contains_key("/app/run"));
    assert!(!analysis.stopped_by_slim);
    assert_eq!(
        engine.log(),
        [
            "create analysis",
            "upload / to analysis",
            "start analysis",
            "wait for analysis",
            "logs of analysis",
            "read from analysis",
            "remove analysis"
        ]
    );
    assert!(engine.live().is_empty());
    let spec = engine.spec_of("analysis").unwrap();
    assert_eq!(spec.entrypoint.unwrap()[..2], ["/.slim/sensor", "trace"]);
    assert_eq!(spec.cmd.unwrap(), ["/app/run"]);
    assert_eq!(spec.labels[SOURCE_LABEL], "app:1");
    assert_eq!(spec.cap_add, ["SYS_PTRACE"]);
}

#[tokio::test]
async fn a_failing_command_is_an_error_and_leaves_nothing() {
    let engine = FakeEngine::with(&[("analysis", analysis_script(3))]);
    let sensor = sensor();
    let error = analyze(&engine, &image(), "app:1", &options(sensor.path()), &Silent)
        .await
        .unwrap_err();
    assert!(
        matches!(error, AnalyzeError::AppFailed { code: 3, .. }),
        "{error}"
    );
    assert!(engine.live().is_empty());
}

#[tokio::test]
async fn an_engine_error_leaves_the_container_to_cleanup() {
    let script = Script {
        fail_start: true,
        ..analysis_script(0)
    };
    let engine = FakeEngine::with(&[("analysis", script)]);
    let sensor = sensor();
    let error = analyze(&engine, &image(), "app:1", &options(sensor.path()), &Silent)
        .await
        .unwrap_err();
    assert!(matches!(error, AnalyzeError::Engine(_)), "{error}");
    assert_eq!(engine.live(), ["analysis"]);
    engine.cleanup().await;
    assert!(engine.live().is_empty());
}

#[tokio::test]
async fn an_interrupted_analysis_is_cleaned_up() {
    // a command that never ends, interrupted the way Ctrl-C interrupts the pipeline
    let script = Script {
        runs_until_stopped: true,
        ignores_stop: true,
        ..analysis_script(0)
    };
    let engine = FakeEngine::with(&[("analysis", script)]);
    let sensor = sensor();
    let (options, image) = (options(sensor.path()), image());
    let work = analyze(&engine, &image, "app:1", &options, &Silent);
    let interrupted = tokio::time::timeout(Duration::from_millis(200), work).await;
    assert!(interrupted.is_err(), "the analysis should still be waiting");
    assert_eq!(engine.live(), ["analysis"]);
    engine.cleanup().await;
    assert!(engine.live().is_empty());
    assert!(engine.log().contains(&"clean up analysis".to_string()));
}

#[tokio::test]
async fn a_server_is_stopped_after_its_time_and_counts_as_stopped_by_slim() {
    let script = Script {
        runs_until_stopped: true,
        ..analysis_script(0)
    };
    let engine = FakeEngine::with(&[("analysis", script)]);
    let sensor = sensor();
    let mut options = options(sensor.path());
    options.continue_after = Some(ContinueAfter::Seconds(0));
    let analysis = analyze(&engine, &image(), "app:1", &options, &Silent)
        .await
        .unwrap();
    assert!(analysis.stopped_by_slim);
    assert!(engine.log().contains(&"stop analysis".to_string()));
    assert!(engine.live().is_empty());
    assert_eq!(
        engine.spec_of("analysis").unwrap().labels[ROLE_LABEL],
        "analysis"
    );
}
