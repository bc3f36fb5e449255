//! The analysis container's lifecycle against a scripted engine: what is created, run, read
//! and removed, on success, on failure, on an engine error and on an interrupt.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::analyze::ProbeFrom;
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
        probe_from: ProbeFrom::Inside,
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

/// A server exposing port 80, and a probing container that sees it listen and relays
/// `reply` (with the relay's `stderr`) for every request.
fn probed_server(reply: &[u8], stderr: &[u8]) -> (ImageSpec, FakeEngine) {
    let image = ImageSpec {
        exposed_ports: vec!["80/tcp".into()],
        ..image()
    };
    let server = Script {
        runs_until_stopped: true,
        ..analysis_script(0)
    };
    let probe = Script {
        runs_until_stopped: true,
        exec_stdout: b"80\n".to_vec(),
        stream_reply: reply.to_vec(),
        stream_stderr: stderr.to_vec(),
        ..Script::default()
    };
    (
        image,
        FakeEngine::with(&[("analysis", server), ("probe", probe)]),
    )
}

#[tokio::test]
async fn probes_from_inside_publish_nothing_and_go_through_the_container_beside() {
    let (image, engine) = probed_server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", b"");
    let sensor = sensor();
    let analysis = analyze(&engine, &image, "app:1", &options(sensor.path()), &Silent)
        .await
        .unwrap();
    assert_eq!(analysis.probed_from, Some(ProbeFrom::Inside));
    let answer = analysis.http[0].answer.as_ref().unwrap();
    assert_eq!((answer.status, answer.body.as_slice()), (200, &b"ok"[..]));
    let app = engine.spec_of("analysis").unwrap();
    assert!(app.published_ports.is_empty(), "{:?}", app.published_ports);
    let probe = engine.spec_of("probe").unwrap();
    assert_eq!(probe.network_of.as_deref(), Some("fake-0"));
    assert_eq!(probe.entrypoint.unwrap(), ["/.slim/sensor", "idle"]);
    assert_eq!(probe.user.as_deref(), Some("65534:65534"));
    assert!(probe.no_healthcheck);
    assert!(engine.log().contains(&"exec a stream in probe".to_string()));
    assert!(engine.live().is_empty(), "{:?}", engine.live());
}

#[tokio::test]
async fn probes_from_the_host_publish_the_exposed_ports() {
    let (image, engine) = probed_server(b"", b"");
    let sensor = sensor();
    let mut options = options(sensor.path());
    options.probe_from = ProbeFrom::Host;
    options.timeout = Duration::from_secs(1);
    // the fake engine publishes nothing, so no answer comes; what matters is the request
    let error = analyze(&engine, &image, "app:1", &options, &Silent)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("was not published"), "{error}");
    assert_eq!(engine.spec_of("analysis").unwrap().published_ports, [80]);
    assert!(!engine.log().contains(&"exec a stream in probe".to_string()));
}

#[tokio::test]
async fn a_port_listened_on_where_clients_cannot_connect_is_named() {
    let refused = b"slim-sensor: nothing accepts connections on 172.17.0.3:80: Connection refused (os error 111)\n";
    let (image, engine) = probed_server(b"", refused);
    let sensor = sensor();
    let error = analyze(&engine, &image, "app:1", &options(sensor.path()), &Silent)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, AnalyzeError::NoHttpAnswer { .. }), "{text}");
    assert!(text.contains("127.0.0.1 only"), "{text}");
    assert!(text.contains("172.17.0.3:80"), "{text}");
    engine.cleanup().await;
}

#[tokio::test]
async fn an_app_gone_before_the_probing_container_starts_is_reported_as_exited() {
    let image = ImageSpec {
        exposed_ports: vec!["80/tcp".into()],
        ..image()
    };
    let probe = Script {
        fail_start: true,
        ..Script::default()
    };
    let mut trace = analysis_script(2);
    trace.exit_code = 2;
    let engine = FakeEngine::with(&[("analysis", trace), ("probe", probe)]);
    let sensor = sensor();
    let error = analyze(&engine, &image, "app:1", &options(sensor.path()), &Silent)
        .await
        .unwrap_err();
    assert!(
        matches!(error, AnalyzeError::AppExitedEarly { code: 2, .. }),
        "{error}"
    );
    assert_eq!(
        engine.live(),
        ["analysis"],
        "the probing container is removed"
    );
    engine.cleanup().await;
}
