//! The verification container's lifecycle against a scripted engine.

use std::time::Duration;

use super::*;
use crate::analyze::{Analysis, ContinueAfter, ProbeFrom};
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
        probed_from: None,
        execs: Vec::new(),
        duration: Duration::from_millis(100),
    }
}

async fn run_verify(engine: &FakeEngine, original: &Analysis) -> Verification {
    run_verify_with(engine, original, &[], SyscallWatch::Default).await
}

async fn run_verify_with(
    engine: &FakeEngine,
    original: &Analysis,
    ports: &[u16],
    syscalls: SyscallWatch<'_>,
) -> Verification {
    let sensor = tempfile::NamedTempFile::new().unwrap();
    let judge = Judge::default();
    let options = VerifyOptions {
        ports,
        timeout: Duration::from_secs(30),
        sensor: sensor.path(),
        probe_from: ProbeFrom::Inside,
        judge: &judge,
        syscalls,
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

#[tokio::test]
async fn under_a_profile_the_ports_are_read_from_a_container_beside_the_app() {
    let server = Script {
        runs_until_stopped: true,
        ..Script::default()
    };
    let probe = Script {
        runs_until_stopped: true,
        exec_stdout: b"6379\n".to_vec(),
        ..Script::default()
    };
    let engine = FakeEngine::with(&[("verify", server), ("probe", probe)]);
    let mut original = analysis(b"");
    original.mode = ContinueAfter::Probe;
    original.stopped_by_slim = true;
    original.execs = vec![crate::analyze::probes::ExecCheck {
        command: "redis-cli ping".into(),
        exit_code: 0,
        stdout: Vec::new(),
        stderr: Vec::new(),
    }];
    let profile = r#"{"defaultAction":"SCMP_ACT_ERRNO"}"#;
    let verification =
        run_verify_with(&engine, &original, &[6379], SyscallWatch::Profile(profile)).await;
    assert!(verification.passed(), "{:?}", verification.checks);
    let app = engine.spec_of("verify").unwrap();
    assert_eq!(app.security_opt, [format!("seccomp={profile}")]);
    assert!(app.published_ports.is_empty());
    // the sensor cannot run under the app's profile: a container sharing its network does
    let beside = engine.spec_of("probe").expect("a container beside the app");
    assert_eq!(beside.network_of.as_deref(), Some("fake-0"));
    assert!(beside.security_opt.is_empty());
    assert_eq!(beside.entrypoint.unwrap(), ["/.slim/sensor", "idle"]);
    assert!(
        !engine.log().contains(&"upload / to verify".to_string()),
        "nothing is put into the slim container"
    );
    assert!(engine.log().contains(&"exec in probe".to_string()));
    assert!(engine.live().is_empty(), "{:?}", engine.live());
}

#[tokio::test]
async fn http_answers_are_compared_through_the_container_beside() {
    let server = Script {
        runs_until_stopped: true,
        ..Script::default()
    };
    let probe = Script {
        runs_until_stopped: true,
        exec_stdout: b"80\n".to_vec(),
        stream_reply: b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".to_vec(),
        ..Script::default()
    };
    let engine = FakeEngine::with(&[("verify", server), ("probe", probe)]);
    let mut original = analysis(b"");
    original.mode = ContinueAfter::Probe;
    original.stopped_by_slim = true;
    original.probed_from = Some(ProbeFrom::Inside);
    original.http = vec![HttpCheck {
        port: 80,
        probe: crate::probe::HttpProbe::get_root(),
        answer: Ok(crate::probe::HttpAnswer::new(200, None, b"hello".to_vec())),
    }];
    let verification = run_verify_with(&engine, &original, &[80], SyscallWatch::Default).await;
    assert!(verification.passed(), "{:?}", verification.checks);
    assert_eq!(verification.probed_from, Some(ProbeFrom::Inside));
    assert!(
        verification
            .checks
            .iter()
            .any(|c| c.name.contains("GET / on port 80"))
    );
    assert!(engine.spec_of("verify").unwrap().published_ports.is_empty());
    assert!(engine.live().is_empty(), "{:?}", engine.live());
}

#[tokio::test]
async fn a_recording_run_traces_the_image_command_and_returns_its_syscalls() {
    let trace = TraceReport {
        seen_syscalls: Some([("x86_64".to_string(), [0u32, 1, 60].into())].into()),
        ..TraceReport::default()
    };
    let script = Script {
        stdout: b"items: 5\n".to_vec(),
        files: [(
            VERIFY_TRACE_PATH.to_string(),
            serde_json::to_vec(&trace).unwrap(),
        )]
        .into(),
        ..Script::default()
    };
    let engine = FakeEngine::with(&[("verify", script)]);
    let entrypoint = vec!["/app/run".to_string()];
    let watch = SyscallWatch::Record {
        entrypoint: &entrypoint,
        cmd: &[],
    };
    let verification = run_verify_with(&engine, &analysis(b"items: 5\n"), &[], watch).await;
    assert!(verification.passed());
    assert_eq!(verification.seen_syscalls, trace.seen_syscalls);
    let spec = engine.spec_of("verify").unwrap();
    let argv = spec.entrypoint.unwrap();
    assert_eq!(argv[..2], ["/.slim/sensor", "trace"]);
    assert!(argv.contains(&"--all-syscalls".to_string()));
    assert_eq!(argv.last().unwrap(), "/app/run");
    assert!(engine.live().is_empty());
}
