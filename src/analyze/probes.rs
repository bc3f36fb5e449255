//! Exercising a running container: wait until its ports answer HTTP, send the probe requests,
//! run the exec commands. Used for the analysis run and again to verify the slim image.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::vantage::Vantage;
use crate::engine::{ContainerRun, Containers, EngineError};
use crate::probe::{HttpAnswer, HttpProbe, ProbeError};
use crate::progress::Progress;
use crate::sensor::relay::NOT_ACCEPTING;

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
    vantage: &Vantage,
    ports: &[u16],
    deadline: Instant,
    progress: &dyn Progress,
) -> Result<Vec<HttpCheck>, ProbeFailure> {
    let root = HttpProbe::get_root();
    let mut results: Vec<Option<Result<HttpAnswer, ProbeError>>> = vec![None; ports.len()];
    let mut last_error: Vec<Option<ProbeError>> = vec![None; ports.len()];
    let mut silent_while_listening = vec![0u32; ports.len()];
    let mut first_answer: Option<Instant> = None;
    loop {
        // A closed connection looks the same whether the app is not up yet or it is up and
        // refuses HTTP; its listening sockets tell them apart.
        let listening = vantage.listening_ports(engine).await?;
        for (i, port) in ports.iter().enumerate() {
            if results[i].is_some() {
                continue;
            }
            let is_listening = listening.as_ref().map(|l| l.contains(port));
            if is_listening == Some(false) {
                last_error[i] = Some(ProbeError::NotReady(format!(
                    "nothing listens on port {port} yet"
                )));
                continue;
            }
            match vantage.send(engine, *port, &root).await {
                Ok(answer) => {
                    first_answer.get_or_insert_with(Instant::now);
                    results[i] = Some(Ok(answer));
                }
                Err(e @ ProbeError::NotHttp(_)) => results[i] = Some(Err(e)),
                Err(e) if is_listening == Some(true) => {
                    silent_while_listening[i] += 1;
                    if silent_while_listening[i] >= SILENT_CLOSES_BEFORE_GIVING_UP {
                        results[i] = Some(Err(silent_listener(*port, e)));
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
        let state = engine.state(vantage.app()).await?;
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

/// The verdict on a port the app listens on that gave no answer several times over.
fn silent_listener(port: u16, last: ProbeError) -> ProbeError {
    match last {
        // Listened on, but not where clients connect: bound to 127.0.0.1 only, most likely.
        ProbeError::Refused(reason) if reason.starts_with(NOT_ACCEPTING) => {
            ProbeError::Refused(format!(
                "port {port} is listened on, but {reason}; an app that listens on 127.0.0.1 \
                 only cannot be reached from outside its container"
            ))
        }
        refused @ ProbeError::Refused(_) => refused,
        _ => ProbeError::NotHttp(
            "the app listens but closes the connection without an answer".into(),
        ),
    }
}

/// Wait (until `deadline`) for every one of `ports` to be listened on, so exec probes that
/// talk to the app do not race its start-up. Gives up quietly: the probes then show the truth.
pub async fn wait_until_listening(
    engine: &impl Containers,
    vantage: &Vantage,
    ports: &[u16],
    deadline: Instant,
    progress: &dyn Progress,
) -> Result<(), EngineError> {
    while Instant::now() < deadline {
        let Some(listening) = vantage.listening_ports(engine).await? else {
            return Ok(());
        };
        let missing: Vec<u16> = ports
            .iter()
            .copied()
            .filter(|p| !listening.contains(p))
            .collect();
        if missing.is_empty() || !engine.state(vantage.app()).await?.running {
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
    vantage: &Vantage,
    ports: &[u16],
    probes: &[HttpProbe],
    progress: &dyn Progress,
) -> Vec<HttpCheck> {
    let mut checks = Vec::new();
    for &port in ports {
        for probe in probes {
            progress.step(&format!("probing {probe} on port {port}"));
            let mut answer = vantage.send(engine, port, probe).await;
            // The app answered already; a brief hiccup (a worker restarting) deserves a second try.
            for _ in 0..3 {
                if !matches!(answer, Err(ProbeError::NotReady(_))) {
                    break;
                }
                tokio::time::sleep(RETRY_PAUSE).await;
                answer = vantage.send(engine, port, probe).await;
            }
            checks.push(HttpCheck {
                port,
                probe: probe.clone(),
                answer: answer.map_err(|e| e.to_string()),
            });
        }
    }
    checks
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
