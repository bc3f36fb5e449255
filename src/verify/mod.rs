//! Verification: run the slim image with the same probes as the analysis run and compare
//! what it answers with what the original answered ([`judge`] decides what counts as the
//! same).

pub mod judge;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::analyze::inject::{SensorError, sensor_archive};
use crate::analyze::probes::{self, HttpCheck, ProbeFailure};
use crate::analyze::run::{AnalyzeError, container_labels, output_tail, read_trace_file, traced};
use crate::analyze::vantage::{ProbeFrom, Vantage, VantageSpec};
use crate::analyze::{Analysis, ContinueAfter};
use crate::engine::{ContainerSpec, Containers, EngineError, Logs};
use crate::progress::Progress;
use judge::{Judge, Verdict};

/// The least time a command that exits by itself gets to do so in the slim image.
const MIN_EXIT_WAIT: Duration = Duration::from_secs(10);
/// The longest a stopped app's slim twin is watched for staying up.
const KEEP_RUNNING_CHECK: Duration = Duration::from_secs(10);
/// Where the sensor writes the syscalls of a [`SyscallWatch::Record`] run.
const VERIFY_TRACE_PATH: &str = "/.slim/verify-trace.json";

/// One comparison between the original and the slim image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// what was compared ("exit status", "GET / on port 80", "exec `redis-cli ping`")
    pub name: String,
    pub original: String,
    pub slim: String,
    pub passed: bool,
    /// the rule that judged it: `exact`, `exact after --verify-ignore`, `structure`
    pub judged_by: String,
}

/// All comparisons, plus the slim container's output when something differed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Verification {
    pub checks: Vec<Check>,
    /// the slim container's last output lines, when a check failed
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slim_output: Option<String>,
    /// where the HTTP probes came from, when any were sent
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probed_from: Option<ProbeFrom>,
    /// the syscalls the slim image made, in a [`SyscallWatch::Record`] run
    #[serde(skip)]
    pub seen_syscalls: Option<BTreeMap<String, BTreeSet<u32>>>,
}

impl Verification {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }
}

/// Why verification could not run at all (as opposed to finding differences).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Sensor(#[from] SensorError),
    #[error("reading the syscalls the slim image made: {0}")]
    Trace(#[from] AnalyzeError),
}

/// What the slim image's syscalls meet while it is verified.
#[derive(Debug, Clone, Copy, Default)]
pub enum SyscallWatch<'a> {
    /// the engine's default seccomp profile
    #[default]
    Default,
    /// this seccomp profile (Docker's JSON), as `--security-opt seccomp=` gives it
    Profile(&'a str),
    /// the engine's default, with the slim image's own entrypoint and command run under the
    /// sensor, which records every syscall (to tell what a profile missed)
    Record {
        entrypoint: &'a [String],
        cmd: &'a [String],
    },
}

/// How to run the slim image.
pub struct VerifyOptions<'a> {
    /// the source image's exposed TCP ports (the slim image exposes the same)
    pub ports: &'a [u16],
    pub timeout: Duration,
    /// the sensor: it runs in the probing container beside the slim one, and in the slim
    /// container itself only in a [`SyscallWatch::Record`] run
    pub sensor: &'a Path,
    /// where the HTTP probes are sent from
    pub probe_from: ProbeFrom,
    /// how answers are compared
    pub judge: &'a Judge,
    pub syscalls: SyscallWatch<'a>,
}

/// Run `slim_image` and compare it with `analysis`.
pub async fn verify(
    engine: &impl Containers,
    slim_image: &str,
    source_name: &str,
    analysis: &Analysis,
    options: &VerifyOptions<'_>,
    progress: &dyn Progress,
) -> Result<Verification, VerifyError> {
    let http_ports: Vec<u16> = analysis
        .http
        .iter()
        .filter(|c| c.answer.is_ok())
        .map(|c| c.port)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut body = ContainerSpec {
        image: slim_image.to_string(),
        labels: container_labels("verify", source_name),
        published_ports: options.probe_from.published_ports(options.ports),
        ..ContainerSpec::default()
    };
    let sensor = sensor_archive(options.sensor, &[])?;
    match options.syscalls {
        SyscallWatch::Profile(profile) => {
            body.security_opt = vec![format!("seccomp={profile}")];
        }
        SyscallWatch::Record { entrypoint, cmd } => {
            body.entrypoint = Some(traced(VERIFY_TRACE_PATH, true, entrypoint.to_vec()));
            body.cmd = Some(cmd.to_vec());
        }
        SyscallWatch::Default => {}
    }
    let recording = matches!(options.syscalls, SyscallWatch::Record { .. });
    progress.step("starting the slim image");
    let run = engine.create_container(body).await?;
    if recording {
        engine.upload_tar(&run, "/", sensor.clone()).await?;
    }
    engine.start(&run).await?;
    let started = Instant::now();
    // A command that finished in a second during analysis gets generous, but not endless, time.
    let timeout = if analysis.stopped_by_slim {
        options.timeout
    } else {
        options
            .timeout
            .min(MIN_EXIT_WAIT.max(analysis.duration * 5))
    };
    let deadline = started + timeout;
    let mut verification = Verification::default();

    let mut exited_early = None;
    let waits_for_ports = !analysis.execs.is_empty() && !options.ports.is_empty();
    let mut vantage = None;
    if !http_ports.is_empty() || waits_for_ports {
        progress.step("starting the probing container beside the slim image");
        // The slim image may hold nothing but the app: the sensor needs nothing from it.
        let spec = VantageSpec {
            image: slim_image,
            sensor: &sensor,
            labels: container_labels("probe", source_name),
            from: options.probe_from,
            ports: options.ports,
        };
        match Vantage::open(engine, &run, spec).await {
            Ok(opened) => vantage = Some(opened),
            Err(ProbeFailure::AppExited { code }) => exited_early = Some(code),
            Err(ProbeFailure::Engine(e)) => return Err(e.into()),
        }
    }
    if let (false, Some(vantage)) = (http_ports.is_empty(), &vantage) {
        verification.probed_from = Some(vantage.from());
        match probes::wait_for_http(engine, vantage, &http_ports, deadline, progress).await {
            Ok(roots) => {
                let extra: Vec<_> = analysis
                    .http
                    .iter()
                    .filter(|c| c.probe.path != "/" || c.probe.method != "GET")
                    .map(|c| c.probe.clone())
                    .collect::<Vec<_>>();
                let mut unique = Vec::new();
                for probe in extra {
                    if !unique.contains(&probe) {
                        unique.push(probe);
                    }
                }
                let answered: Vec<u16> = roots
                    .iter()
                    .filter(|c| c.answer.is_ok())
                    .map(|c| c.port)
                    .collect();
                let more =
                    probes::send_http_probes(engine, vantage, &answered, &unique, progress).await;
                compare_http(
                    &analysis.http,
                    &roots.into_iter().chain(more).collect::<Vec<_>>(),
                    options.judge,
                    &mut verification,
                );
            }
            Err(ProbeFailure::AppExited { code }) => exited_early = Some(code),
            Err(ProbeFailure::Engine(e)) => return Err(e.into()),
        }
    }
    if exited_early.is_none() && !analysis.execs.is_empty() {
        let commands: Vec<String> = analysis.execs.iter().map(|e| e.command.clone()).collect();
        if let (true, Some(vantage)) = (waits_for_ports, &vantage) {
            probes::wait_until_listening(engine, vantage, options.ports, deadline, progress)
                .await?;
        }
        if engine.state(&run).await?.running {
            let slim_execs =
                probes::run_execs(engine, &run, &commands, &|_, argv| argv, progress).await?;
            for (original, slim) in analysis.execs.iter().zip(&slim_execs) {
                let name = format!("exec `{}`", original.command);
                push_exact(
                    &mut verification,
                    format!("{name}: exit status"),
                    original.exit_code.to_string(),
                    slim.exit_code.to_string(),
                );
                push(
                    &mut verification,
                    format!("{name}: output"),
                    (
                        describe_output(&original.stdout),
                        describe_output(&slim.stdout),
                    ),
                    options.judge.same(&original.stdout, &slim.stdout, None),
                );
            }
        } else {
            exited_early = Some(engine.state(&run).await?.exit_code.unwrap_or(-1));
        }
    }
    if let Some(vantage) = vantage {
        vantage.close(engine).await?;
    }

    let ran_to_exit = !analysis.stopped_by_slim
        && matches!(
            analysis.mode,
            ContinueAfter::Exit
                | ContinueAfter::Seconds(_)
                | ContinueAfter::Signal
                | ContinueAfter::Enter
        );
    if ran_to_exit {
        progress.step("waiting for the slim image's command to exit");
        let remaining = deadline.saturating_duration_since(Instant::now());
        let code = match tokio::time::timeout(remaining, engine.wait_exit(&run)).await {
            Ok(code) => Some(code?),
            Err(_) => None,
        };
        let logs = engine.logs(&run).await?;
        let original_code = analysis.exit.map_or(-1, |e| e.code);
        push_exact(
            &mut verification,
            "exit status".into(),
            original_code.to_string(),
            code.map_or_else(
                || format!("still running after {}s", timeout.as_secs()),
                |c| c.to_string(),
            ),
        );
        push(
            &mut verification,
            "standard output".into(),
            (
                describe_output(&analysis.logs.stdout),
                describe_output(&logs.stdout),
            ),
            options
                .judge
                .same(&analysis.logs.stdout, &logs.stdout, None),
        );
        attach_output(&mut verification, &logs);
    } else {
        // The original was still up when slim stopped it; the slim one must last as long.
        if exited_early.is_none() {
            let until = started + analysis.duration.min(KEEP_RUNNING_CHECK);
            exited_early = exit_before(engine, &run, until).await?;
        }
        let slim_state = match exited_early {
            Some(code) => format!("exited with status {code}"),
            None => "running".into(),
        };
        push_exact(
            &mut verification,
            "app keeps running".into(),
            "running".into(),
            slim_state,
        );
        let logs = engine.logs(&run).await?;
        attach_output(&mut verification, &logs);
    }
    if matches!(options.syscalls, SyscallWatch::Record { .. }) {
        // stopped, the sensor writes its final trace (running, the last second may be missing)
        engine.stop(&run, 10).await?;
        verification.seen_syscalls = read_trace_file(engine, &run, VERIFY_TRACE_PATH)
            .await?
            .and_then(|trace| trace.seen_syscalls);
    }
    engine.remove_container(&run).await?;
    Ok(verification)
}

/// The exit code if the container stops before `until`, else `None`.
async fn exit_before(
    engine: &impl Containers,
    run: &crate::engine::ContainerRun,
    until: Instant,
) -> Result<Option<i64>, EngineError> {
    loop {
        let state = engine.state(run).await?;
        if !state.running {
            return Ok(Some(state.exit_code.unwrap_or(-1)));
        }
        if Instant::now() >= until {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn attach_output(verification: &mut Verification, logs: &Logs) {
    if !verification.passed() {
        verification.slim_output = Some(output_tail(logs));
    }
}

fn compare_http(
    original: &[HttpCheck],
    slim: &[HttpCheck],
    judge: &Judge,
    verification: &mut Verification,
) {
    for before in original.iter().filter(|c| c.answer.is_ok()) {
        let after = slim
            .iter()
            .find(|c| c.port == before.port && c.probe == before.probe);
        let name = format!("{} on port {}", before.probe, before.port);
        let describe = |check: Option<&HttpCheck>| match check.map(|c| &c.answer) {
            Some(Ok(answer)) => format!(
                "{} with {} byte(s), sha256 {}",
                answer.status,
                answer.body_len,
                &answer.body_sha256[..12]
            ),
            Some(Err(e)) => format!("no answer: {e}"),
            None => "not probed".to_string(),
        };
        let verdict = match (&before.answer, after.map(|c| &c.answer)) {
            (Ok(a), Some(Ok(b))) if a.status == b.status => judge.same(
                &a.body,
                &b.body,
                Some((a.content_type.as_deref(), b.content_type.as_deref())),
            ),
            _ => Verdict {
                passed: false,
                judged_by: "exact",
            },
        };
        push(
            verification,
            name,
            (describe(Some(before)), describe(after)),
            verdict,
        );
    }
}

fn push(
    verification: &mut Verification,
    name: String,
    (original, slim): (String, String),
    verdict: Verdict,
) {
    verification.checks.push(Check {
        name,
        original,
        slim,
        passed: verdict.passed,
        judged_by: verdict.judged_by.to_string(),
    });
}

/// A check that only compares exactly (exit statuses, whether the app keeps running).
fn push_exact(verification: &mut Verification, name: String, original: String, slim: String) {
    let verdict = Verdict {
        passed: original == slim,
        judged_by: "exact",
    };
    push(verification, name, (original, slim), verdict);
}

/// Short, comparable description of an output: its size and digest, with the text if short.
fn describe_output(bytes: &[u8]) -> String {
    let digest = crate::digest::sha256_hex(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) if text.len() <= 80 && !text.trim_end_matches('\n').contains('\n') => {
            format!("{:?}", text)
        }
        _ => format!("{} byte(s), sha256 {}", bytes.len(), &digest[..12]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{HttpAnswer, HttpProbe};

    fn answer(status: u16, body: &[u8]) -> Result<HttpAnswer, String> {
        Ok(HttpAnswer::new(status, None, body.to_vec()))
    }

    #[test]
    fn http_answers_must_match() {
        let root = HttpProbe::get_root();
        let original = vec![HttpCheck {
            port: 80,
            probe: root.clone(),
            answer: answer(200, b"hello"),
        }];
        let judge = Judge::default();
        let mut v = Verification::default();
        compare_http(
            &original,
            &[HttpCheck {
                port: 80,
                probe: root.clone(),
                answer: answer(200, b"hello"),
            }],
            &judge,
            &mut v,
        );
        assert!(v.passed());
        let mut v = Verification::default();
        compare_http(
            &original,
            &[HttpCheck {
                port: 80,
                probe: root.clone(),
                answer: answer(404, b"nope"),
            }],
            &judge,
            &mut v,
        );
        assert!(!v.passed());
        assert!(v.checks[0].slim.starts_with("404"));
        let mut v = Verification::default();
        compare_http(&original, &[], &judge, &mut v);
        assert_eq!(v.checks[0].slim, "not probed");
    }

    #[test]
    fn outputs_are_described_compactly() {
        assert_eq!(describe_output(b"hi\n"), "\"hi\\n\"");
        assert!(describe_output(&[b'x'; 200]).starts_with("200 byte(s), sha256 "));
        assert!(describe_output(b"a\nb\n").starts_with("4 byte(s)"));
    }
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod lifecycle_tests;
