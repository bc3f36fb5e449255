//! The analysis run: the source image, started once with the sensor as its entrypoint,
//! exercised by probes, then stopped; its trace and answers are read back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use thiserror::Error;

use super::inject::{SENSOR_PATH, SensorError, sensor_archive};
use super::options::{AnalysisOptions, ContinueAfter};
use super::probes::{self, ExecCheck, HttpCheck, ProbeFailure, join_ports};
use super::vantage::{ProbeFrom, Vantage, VantageSpec};
use crate::engine::{
    ContainerRun, ContainerSpec, Containers, EngineError, Logs, ROLE_LABEL, SOURCE_LABEL,
};
use crate::image::ImageSpec;
use crate::progress::Progress;
use crate::sensor::report::{ExitStatus, TraceReport};

const TRACE_PATH: &str = "/.slim/trace.json";
/// Time the app gets to shut down after its stop signal before it is killed.
const STOP_GRACE_SECS: i32 = 10;

/// What one traced run of the image showed.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub command: Vec<String>,
    pub mode: ContinueAfter,
    /// the main command's trace with every exec command's trace merged in
    pub trace: TraceReport,
    /// how the main command ended
    pub exit: Option<ExitStatus>,
    /// true if slim stopped the app (probe/seconds/signal/enter), false if it exited by itself
    pub stopped_by_slim: bool,
    pub logs: Logs,
    pub http: Vec<HttpCheck>,
    /// where the HTTP probes came from, when any were sent
    pub probed_from: Option<ProbeFrom>,
    pub execs: Vec<ExecCheck>,
    pub duration: Duration,
}

#[derive(Debug, Error)]
pub enum AnalyzeError {
    #[error(
        "image {0} has no ENTRYPOINT or CMD, so there is nothing to run and trace.\n\
         Give it one (ENTRYPOINT/CMD in its Dockerfile) and slim it again."
    )]
    NoCommand(String),
    #[error("image {image} is for {platform}; slim's sensor runs on linux/amd64 images only")]
    UnsupportedPlatform { image: String, platform: String },
    #[error("the image's command {command:?} cannot start: {reason}")]
    CannotStart { command: String, reason: String },
    #[error(
        "the app failed during analysis (exit status {code}); slim needs a run that works to learn what it needs.\n{output}\nIf this exit status is expected, pass --allow-failure."
    )]
    AppFailed { code: i32, output: String },
    #[error("the app exited with status {code} before it answered on port {ports}.\n{output}")]
    AppExitedEarly {
        code: i64,
        ports: String,
        output: String,
    },
    #[error(
        "no exposed port ({ports}) answered HTTP within {seconds}s (last error: {last}).\n\
         Check the app listens on 0.0.0.0 inside the container, raise --timeout, or pass --http-probe=false."
    )]
    NoHttpAnswer {
        ports: String,
        seconds: u64,
        last: String,
    },
    #[error(
        "the app was still running after {seconds}s under --continue-after exit.\n\
         If it is a server, let slim stop it: --continue-after probe (it needs EXPOSEd ports or --exec) \
         or --continue-after SECONDS; or raise --timeout."
    )]
    NotExited { seconds: u64 },
    #[error("the sensor left no report in the container; its output was:\n{output}")]
    ReportMissing { output: String },
    #[error("the sensor's report is unreadable: {0}")]
    ReportInvalid(#[from] serde_json::Error),
    #[error(transparent)]
    Sensor(#[from] SensorError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Run `image` once under the sensor and collect what it did.
pub async fn analyze(
    engine: &impl Containers,
    image: &ImageSpec,
    source_name: &str,
    options: &AnalysisOptions,
    progress: &dyn Progress,
) -> Result<Analysis, AnalyzeError> {
    let command = image.command();
    if command.is_empty() {
        return Err(AnalyzeError::NoCommand(source_name.to_string()));
    }
    check_platform(image, source_name)?;
    let ports = image.tcp_ports();
    let mode = options.effective_mode(&ports);
    let probing_http = options.http_probe && !ports.is_empty();

    progress.step("creating the analysis container");
    let run = engine
        .create_container(analysis_container(image, source_name, &ports, options))
        .await?;
    let sensor = sensor_archive(&options.sensor, &[])?;
    engine.upload_tar(&run, "/", sensor.clone()).await?;
    let started = Instant::now();
    let deadline = started + options.timeout;
    progress.step(&format!("running {}", shell_words::join(&command)));
    engine.start(&run).await?;

    let mut http = Vec::new();
    let waits_for_ports = !options.execs.is_empty() && !ports.is_empty();
    let mut vantage = None;
    if probing_http || waits_for_ports {
        progress.step("starting the probing container beside the app");
        let spec = VantageSpec {
            image: &image.id,
            sensor: &sensor,
            labels: container_labels("probe", source_name),
            from: options.probe_from,
            ports: &ports,
        };
        match Vantage::open(engine, &run, spec).await {
            Ok(opened) => vantage = Some(opened),
            Err(ProbeFailure::AppExited { code }) => {
                return Err(exited_early(engine, &run, &command, &ports, code).await);
            }
            Err(ProbeFailure::Engine(e)) => return Err(e.into()),
        }
    }
    if let (true, Some(vantage)) = (probing_http, &vantage) {
        match probes::wait_for_http(engine, vantage, &ports, deadline, progress).await {
            Ok(checks) => http = checks,
            Err(ProbeFailure::AppExited { code }) => {
                return Err(exited_early(engine, &run, &command, &ports, code).await);
            }
            Err(ProbeFailure::Engine(e)) => return Err(e.into()),
        }
        let answered: Vec<u16> = http
            .iter()
            .filter(|c| c.answer.is_ok())
            .map(|c| c.port)
            .collect();
        let silent: Vec<&HttpCheck> = http.iter().filter(|c| is_silent(c)).collect();
        if answered.is_empty() && !silent.is_empty() {
            let last = silent
                .last()
                .and_then(|c| c.answer.clone().err())
                .unwrap_or_default();
            return Err(AnalyzeError::NoHttpAnswer {
                ports: join_ports(&ports),
                seconds: options.timeout.as_secs(),
                last,
            });
        }
        let extra = probes::send_http_probes(
            engine,
            vantage,
            &answered,
            &options.http_probe_cmds,
            progress,
        )
        .await;
        http.extend(extra);
    }
    let wrap = |i: usize, argv: Vec<String>| -> Vec<String> {
        let report = format!("/.slim/exec-{i}.json");
        traced(&report, options.all_syscalls, argv)
    };
    if let (true, Some(vantage)) = (waits_for_ports, &vantage) {
        probes::wait_until_listening(engine, vantage, &ports, deadline, progress).await?;
    }
    let execs = probes::run_execs(engine, &run, &options.execs, &wrap, progress).await?;
    if let Some(vantage) = vantage {
        vantage.close(engine).await?;
    }

    let stopped_by_slim =
        wait_for_end(engine, &run, mode, deadline, options.timeout, progress).await?;
    let logs = engine.logs(&run).await?;
    let mut trace = read_trace(engine, &run, &logs).await?;
    for i in 0..execs.len() {
        if let Some(bytes) = engine
            .read_file(&run, &format!("/.slim/exec-{i}.json"))
            .await?
        {
            trace.merge(&serde_json::from_slice(&bytes)?);
        }
    }
    engine.remove_container(&run).await?;

    if let Some(reason) = trace.start_error.clone() {
        return Err(AnalyzeError::CannotStart {
            command: shell_words::join(&command),
            reason,
        });
    }
    let exit = trace.exit;
    if let Some(status) = exit.filter(|s| s.code != 0 && !stopped_by_slim && !options.allow_failure)
    {
        return Err(AnalyzeError::AppFailed {
            code: status.code,
            output: output_tail(&logs),
        });
    }
    Ok(Analysis {
        command,
        mode,
        trace,
        exit,
        stopped_by_slim,
        logs,
        http,
        probed_from: probing_http.then_some(options.probe_from),
        execs,
        duration: started.elapsed(),
    })
}

/// The error for an app that exited before it answered: its start failed, or it ended.
async fn exited_early(
    engine: &impl Containers,
    run: &ContainerRun,
    command: &[String],
    ports: &[u16],
    code: i64,
) -> AnalyzeError {
    let logs = match engine.logs(run).await {
        Ok(logs) => logs,
        Err(e) => return e.into(),
    };
    match read_trace(engine, run, &logs).await {
        Ok(TraceReport {
            start_error: Some(reason),
            ..
        }) => AnalyzeError::CannotStart {
            command: shell_words::join(command),
            reason,
        },
        Ok(_) => AnalyzeError::AppExitedEarly {
            code,
            ports: join_ports(ports),
            output: output_tail(&logs),
        },
        Err(e) => e,
    }
}

fn check_platform(image: &ImageSpec, source_name: &str) -> Result<(), AnalyzeError> {
    let arch_ok = image.architecture.is_empty() || image.architecture == "amd64";
    let os_ok = image.os.is_empty() || image.os == "linux";
    if arch_ok && os_ok {
        return Ok(());
    }
    Err(AnalyzeError::UnsupportedPlatform {
        image: source_name.to_string(),
        platform: format!("{}/{}", image.os, image.architecture),
    })
}

/// The source image with the sensor as entrypoint; the image's own ENTRYPOINT and CMD become
/// the sensor's command, and its USER, WORKDIR and ENV apply unchanged.
fn analysis_container(
    image: &ImageSpec,
    source_name: &str,
    ports: &[u16],
    options: &AnalysisOptions,
) -> ContainerSpec {
    let entrypoint = traced(TRACE_PATH, options.all_syscalls, image.entrypoint.clone());
    let cap_ptrace = options.cap_ptrace;
    ContainerSpec {
        image: image.id.clone(),
        entrypoint: Some(entrypoint),
        // Overriding the entrypoint drops the image's CMD unless it is passed again.
        cmd: Some(image.cmd.clone()),
        labels: container_labels("analysis", source_name),
        published_ports: options.probe_from.published_ports(ports),
        cap_add: if cap_ptrace {
            vec!["SYS_PTRACE".to_string()]
        } else {
            Vec::new()
        },
        ..ContainerSpec::default()
    }
}

/// `argv` run under the injected sensor, its trace written to `report`.
pub fn traced(report: &str, all_syscalls: bool, argv: Vec<String>) -> Vec<String> {
    let mut traced: Vec<String> = [SENSOR_PATH, "trace", "--report", report]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if all_syscalls {
        traced.push("--all-syscalls".into());
    }
    traced.push("--".into());
    traced.extend(argv);
    traced
}

/// Labels that mark a container as slim's, so leftovers can be found.
pub fn container_labels(role: &str, source_name: &str) -> HashMap<String, String> {
    HashMap::from([
        (ROLE_LABEL.to_string(), role.to_string()),
        (SOURCE_LABEL.to_string(), source_name.to_string()),
    ])
}

/// Wait as `mode` says, stop the app if it still runs, and wait for it to exit.
/// Returns true if slim stopped it.
async fn wait_for_end(
    engine: &impl Containers,
    run: &ContainerRun,
    mode: ContinueAfter,
    deadline: Instant,
    timeout: Duration,
    progress: &dyn Progress,
) -> Result<bool, AnalyzeError> {
    let exited = engine.wait_exit(run);
    tokio::pin!(exited);
    let remaining = deadline.saturating_duration_since(Instant::now());
    match mode {
        ContinueAfter::Probe => {}
        ContinueAfter::Exit => {
            progress.step("waiting for the command to exit");
            tokio::select! {
                code = &mut exited => { code?; return Ok(false); }
                _ = tokio::time::sleep(remaining) => {
                    engine.kill(run, "SIGKILL").await?;
                    return Err(AnalyzeError::NotExited { seconds: timeout.as_secs() });
                }
            }
        }
        ContinueAfter::Seconds(n) => {
            progress.step(&format!("letting the app run for {n}s"));
            tokio::select! {
                code = &mut exited => { code?; return Ok(false); }
                _ = tokio::time::sleep(Duration::from_secs(n)) => {}
            }
        }
        ContinueAfter::Signal => {
            progress.step(&format!(
                "send SIGUSR1 to slim (kill -USR1 {}) to end the analysis",
                std::process::id()
            ));
            let mut usr1 =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())
                    .map_err(|e| EngineError::io("listening for SIGUSR1", e))?;
            tokio::select! {
                code = &mut exited => { code?; return Ok(false); }
                _ = usr1.recv() => {}
            }
        }
        ContinueAfter::Enter => {
            progress.step("press Enter to end the analysis");
            let enter = tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)
            });
            tokio::select! {
                code = &mut exited => { code?; return Ok(false); }
                _ = enter => {}
            }
        }
    }
    if !engine.state(run).await?.running {
        return Ok(false);
    }
    progress.step("stopping the app");
    engine.stop(run, STOP_GRACE_SECS).await?;
    exited.await?;
    Ok(true)
}

async fn read_trace(
    engine: &impl Containers,
    run: &ContainerRun,
    logs: &Logs,
) -> Result<TraceReport, AnalyzeError> {
    match read_trace_file(engine, run, TRACE_PATH).await? {
        Some(trace) => Ok(trace),
        None => Err(AnalyzeError::ReportMissing {
            output: output_tail(logs),
        }),
    }
}

/// The sensor's trace at `path` in the container, as last flushed.
pub async fn read_trace_file(
    engine: &impl Containers,
    run: &ContainerRun,
    path: &str,
) -> Result<Option<TraceReport>, AnalyzeError> {
    match engine.read_file(run, path).await? {
        Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        None => Ok(None),
    }
}

/// A port that never answered at all (as opposed to one that answered in another protocol).
fn is_silent(check: &HttpCheck) -> bool {
    matches!(&check.answer, Err(e) if !e.starts_with("the port answers"))
}

/// The last lines the app printed, for error messages.
pub fn output_tail(logs: &Logs) -> String {
    let mut text = String::new();
    for (name, bytes) in [("stdout", &logs.stdout), ("stderr", &logs.stderr)] {
        let all = String::from_utf8_lossy(bytes);
        let lines: Vec<&str> = all.lines().collect();
        if lines.is_empty() {
            continue;
        }
        let tail = &lines[lines.len().saturating_sub(15)..];
        text.push_str(&format!(
            "--- last {} line(s) of {name} ---\n{}\n",
            tail.len(),
            tail.join("\n")
        ));
    }
    if text.is_empty() {
        "(the app printed nothing)".to_string()
    } else {
        text
    }
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod lifecycle_tests;
