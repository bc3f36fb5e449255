//! Exercising a running container: wait until its ports answer HTTP, send the probe requests,
//! run the exec commands. Used for the analysis run and again to verify the slim image.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::inject::SENSOR_PATH;
use crate::engine::{ContainerRun, ContainerSpec, Containers, EngineError};
use crate::probe::{HttpAnswer, HttpProbe, HttpProber, ProbeError};
use crate::progress::Progress;

/// How long the other ports get once one port answered: a port that stays silent that long
/// after the app is clearly up is not an HTTP port.
const OTHER_PORTS_GRACE: Duration = Duration::from_secs(5);
const RETRY_PAUSE: Duration = Duration::from_millis(200);
/// A listening port that closes this many HTTP requests without a byte does not speak HTTP.
const SILENT_CLOSES_BEFORE_GIVING_UP: u32 = 3;

/// One HTTP request and what came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpCheck {
    /// the container port (not the published one)
    pub port: u16,
    pub probe: HttpProbe,
    pub answer: Result<HttpAnswer, String>,
}

/// One exec command and what came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecCheck {
    /// as the user wrote it
    pub command: String,
    pub exit_code: i64,
    #[serde(skip)]
    pub stdout: Vec<u8>,
    #[serde(skip)]
    pub stderr: Vec<u8>,
}

/// Why probing stopped early.
#[derive(Debug, thiserror::Error)]
pub enum ProbeFailure {
    #[error("the app exited with status {code} before answering")]
    AppExited { code: i64 },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// The argv an exec command runs as: split like a shell would, or through `sh -c` when it
/// uses shell syntax (pipes, redirects, variables).
pub fn exec_argv(command: &str) -> Vec<String> {
    match shell_words::split(command) {
        Ok(words) if !uses_shell_syntax(command) && !words.is_empty() => words,
        _ => vec!["/bin/sh".into(), "-c".into(), command.to_string()],
    }
}

/// True if the command has shell operators or expansions outside quotes.
fn uses_shell_syntax(command: &str) -> bool {
    let (mut single, mut double, mut escaped) = (false, false, false);
    for c in command.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if !single => escaped = true,
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '$' | '`' if !single => return true,
            '|' | '&' | ';' | '<' | '>' | '(' | ')' | '*' | '?' | '~' | '\n'
                if !single && !double =>
            {
                return true;
            }
            _ => {}
        }
    }
    false
}

/// Send `GET /` to each port until it answers, the app exits, or `deadline` passes.
/// Returns one check per port: an answer, or why there was none.
pub async fn wait_for_http(
    engine: &impl Containers,
    run: &ContainerRun,
    ports: &[u16],
    check: &ListenCheck<'_>,
    prober: &HttpProber,
    deadline: Instant,
    progress: &dyn Progress,
) -> Result<Vec<HttpCheck>, ProbeFailure> {
    let mut published = Vec::new();
    for &port in ports {
        let host_port = engine.host_port(run, port).await?;
        published.push((port, host_port));
    }
    let root = HttpProbe::get_root();
    let mut results: Vec<Option<Result<HttpAnswer, ProbeError>>> = vec![None; ports.len()];
    let mut last_error: Vec<Option<ProbeError>> = vec![None; ports.len()];
    let mut silent_while_listening = vec![0u32; ports.len()];
    let mut first_answer: Option<Instant> = None;
    loop {
        // Through the engine's port proxy a closed connection looks the same whether the app
        // is not up yet or it is up and refuses HTTP; its listening sockets tell them apart.
        let listening = listening_ports(engine, run, check).await?;
        for (i, (port, host_port)) in published.iter().enumerate() {
            if results[i].is_some() {
                continue;
            }
            let Some(host_port) = host_port else {
                results[i] = Some(Err(ProbeError::NotReady(format!(
                    "port {port} was not published"
                ))));
                continue;
            };
            let is_listening = listening.as_ref().map(|l| l.contains(port));
            if is_listening == Some(false) {
                last_error[i] = Some(ProbeError::NotReady(format!(
                    "nothing listens on port {port} yet"
                )));
                continue;
            }
            match prober.send(*host_port, &root).await {
                Ok(answer) => {
                    first_answer.get_or_insert_with(Instant::now);
                    results[i] = Some(Ok(answer));
                }
                Err(e @ ProbeError::NotHttp(_)) => results[i] = Some(Err(e)),
                Err(e) if is_listening == Some(true) => {
                    silent_while_listening[i] += 1;
                    if silent_while_listening[i] >= SILENT_CLOSES_BEFORE_GIVING_UP {
                        results[i] = Some(Err(ProbeError::NotHttp(
                            "the app listens but closes the connection without an answer".into(),
                        )));
                    } else {
                        last_error[i] = Some(e);
                    }
                }
                Err(e) => last_error[i] = Some(e),
            }
        }
        let pending: Vec<u16> = ports
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.is_none())
            .map(|(p, _)| *p)
            .collect();
        if pending.is_empty() {
            break;
        }
        let now = Instant::now();
        if now >= deadline
            || first_answer.is_some_and(|t| now.duration_since(t) >= OTHER_PORTS_GRACE)
        {
            break;
        }
        let state = engine.state(run).await?;
        if !state.running {
            return Err(ProbeFailure::AppExited {
                code: state.exit_code.unwrap_or(-1),
            });
        }
        progress.step(&format!(
            "waiting for the app to answer HTTP on port {}",
            join_ports(&pending)
        ));
        tokio::time::sleep(RETRY_PAUSE).await;
    }
    Ok(ports
        .iter()
        .enumerate()
        .map(|(i, &port)| {
            let answer = match (results[i].take(), last_error[i].take()) {
                (Some(result), _) => result.map_err(|e| e.to_string()),
                (None, Some(e)) => Err(e.to_string()),
                (None, None) => Err("no answer".to_string()),
            };
            HttpCheck {
                port,
                probe: root.clone(),
                answer,
            }
        })
        .collect())
}

/// Where slim runs `slim-sensor listening` to learn which ports the app listens on.
pub enum ListenCheck<'a> {
    /// in the app's container (the sensor is injected there)
    InContainer,
    /// in a short-lived container of `image` that shares the app container's network
    /// namespace: for an app under a seccomp profile, which would deny the sensor's calls
    Beside {
        image: &'a str,
        /// the tar of the sensor, as [`sensor_archive`] makes it
        sensor: &'a [u8],
        labels: &'a HashMap<String, String>,
    },
}

/// TCP ports something listens on in the container, asked of the sensor;
/// `None` when that cannot be known (no sensor in the container, exec refused).
pub async fn listening_ports(
    engine: &impl Containers,
    run: &ContainerRun,
    check: &ListenCheck<'_>,
) -> Result<Option<BTreeSet<u16>>, EngineError> {
    let argv = vec![SENSOR_PATH.to_string(), "listening".to_string()];
    let (exit_code, stdout) = match check {
        ListenCheck::InContainer => match engine.exec(run, &argv, None).await {
            Ok(output) => (output.exit_code, output.stdout),
            // The container may have exited between two checks; its state tells the caller.
            Err(_) => return Ok(None),
        },
        ListenCheck::Beside {
            image,
            sensor,
            labels,
        } => {
            let spec = ContainerSpec {
                image: image.to_string(),
                entrypoint: Some(argv),
                cmd: Some(Vec::new()),
                labels: (*labels).clone(),
                network_of: Some(run.id.clone()),
                ..ContainerSpec::default()
            };
            let beside = engine.create_container(spec).await?;
            let outcome = listen_beside(engine, &beside, sensor).await;
            engine.remove_container(&beside).await?;
            match outcome {
                Ok(answer) => answer,
                Err(_) => return Ok(None),
            }
        }
    };
    if exit_code != 0 {
        return Ok(None);
    }
    Ok(Some(
        String::from_utf8_lossy(&stdout)
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .collect(),
    ))
}

async fn listen_beside(
    engine: &impl Containers,
    beside: &ContainerRun,
    sensor: &[u8],
) -> Result<(i64, Vec<u8>), EngineError> {
    engine.upload_tar(beside, "/", sensor.to_vec()).await?;
    engine.start(beside).await?;
    let code = engine.wait_exit(beside).await?;
    Ok((code, engine.logs(beside).await?.stdout))
}

/// Wait (until `deadline`) for every one of `ports` to be listened on, so exec probes that
/// talk to the app do not race its start-up. Gives up quietly: the probes then show the truth.
pub async fn wait_until_listening(
    engine: &impl Containers,
    run: &ContainerRun,
    ports: &[u16],
    check: &ListenCheck<'_>,
    deadline: Instant,
    progress: &dyn Progress,
) -> Result<(), EngineError> {
    while Instant::now() < deadline {
        let Some(listening) = listening_ports(engine, run, check).await? else {
            return Ok(());
        };
        let missing: Vec<u16> = ports
            .iter()
            .copied()
            .filter(|p| !listening.contains(p))
            .collect();
        if missing.is_empty() || !engine.state(run).await?.running {
            return Ok(());
        }
        progress.step(&format!(
            "waiting for the app to listen on port {}",
            join_ports(&missing)
        ));
        tokio::time::sleep(RETRY_PAUSE).await;
    }
    Ok(())
}

/// Send each extra probe to each port that answered HTTP.
pub async fn send_http_probes(
    engine: &impl Containers,
    run: &ContainerRun,
    ports: &[u16],
    probes: &[HttpProbe],
    prober: &HttpProber,
    progress: &dyn Progress,
) -> Result<Vec<HttpCheck>, EngineError> {
    let mut checks = Vec::new();
    for &port in ports {
        let Some(host_port) = engine.host_port(run, port).await? else {
            continue;
        };
        for probe in probes {
            progress.step(&format!("probing {probe} on port {port}"));
            let mut answer = prober.send(host_port, probe).await;
            // The app answered already; a brief hiccup (a worker restarting) deserves a second try.
            for _ in 0..3 {
                if !matches!(answer, Err(ProbeError::NotReady(_))) {
                    break;
                }
                tokio::time::sleep(RETRY_PAUSE).await;
                answer = prober.send(host_port, probe).await;
            }
            checks.push(HttpCheck {
                port,
                probe: probe.clone(),
                answer: answer.map_err(|e| e.to_string()),
            });
        }
    }
    Ok(checks)
}

/// Run each exec command in the container, each argv passed through `wrap` first
/// (the analysis wraps it in the sensor; verification runs it as is).
pub async fn run_execs(
    engine: &impl Containers,
    run: &ContainerRun,
    commands: &[String],
    wrap: &dyn Fn(usize, Vec<String>) -> Vec<String>,
    progress: &dyn Progress,
) -> Result<Vec<ExecCheck>, EngineError> {
    let mut checks = Vec::new();
    for (i, command) in commands.iter().enumerate() {
        progress.step(&format!("running {command:?} in the container"));
        let argv = wrap(i, exec_argv(command));
        let output = engine.exec(run, &argv, None).await?;
        checks.push(ExecCheck {
            command: command.clone(),
            exit_code: output.exit_code,
            stdout: output.stdout,
            stderr: output.stderr,
        });
    }
    Ok(checks)
}

pub fn join_ports(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_argv_splits_simple_commands() {
        assert_eq!(exec_argv("redis-cli ping"), ["redis-cli", "ping"]);
        assert_eq!(
            exec_argv("python3 -c 'print(1)'"),
            ["python3", "-c", "print(1)"]
        );
    }

    #[test]
    fn exec_argv_uses_a_shell_for_shell_syntax() {
        assert_eq!(exec_argv("ls / | wc -l"), ["/bin/sh", "-c", "ls / | wc -l"]);
        assert_eq!(exec_argv("echo $HOME"), ["/bin/sh", "-c", "echo $HOME"]);
        assert_eq!(
            exec_argv("echo 'unterminated"),
            ["/bin/sh", "-c", "echo 'unterminated"]
        );
    }
}
