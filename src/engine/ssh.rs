//! Engines at `ssh://[USER@]HOST[:PORT]`, reached the way the docker CLI reaches them: each
//! connection is `ssh [-l USER] [-p PORT] HOST -- docker system dial-stdio`, and the engine
//! API is spoken over that process's stdin and stdout. It is the user's own `ssh` (first on
//! PATH), so their keys, agent, config, known hosts and jump hosts apply unchanged.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;
use std::task::{Context, Poll};

use bollard::Docker;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::AsyncReadExt;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::Stderr;

/// Where an `ssh://` address points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl SshTarget {
    /// `ssh://[USER@]HOST[:PORT]`; like the docker CLI, no path after the host.
    pub fn parse(address: &str) -> Result<SshTarget, String> {
        let bad = |why: &str| format!("{address:?} is not an ssh engine address: {why}");
        let rest = address
            .strip_prefix("ssh://")
            .ok_or_else(|| bad("it does not start with ssh://"))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if !path.is_empty() {
            return Err(bad(
                "a path after the host is not supported (the docker CLI refuses it too)",
            ));
        }
        let (user, host_port) = match authority.rsplit_once('@') {
            Some((user, host_port)) if !user.is_empty() => (Some(user.to_string()), host_port),
            Some(_) => return Err(bad("the user before @ is empty")),
            None => (None, authority),
        };
        let (host, port) = split_port(host_port).ok_or_else(|| bad("the port is not a number"))?;
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(SshTarget {
            user,
            host: host.to_string(),
            port,
        })
    }

    /// The ssh arguments that open one connection to the engine.
    pub fn ssh_args(&self) -> Vec<String> {
        let mut args = vec![
            "-o".to_string(),
            "ConnectTimeout=30".to_string(),
            "-T".to_string(),
        ];
        if let Some(user) = &self.user {
            args.extend(["-l".to_string(), user.clone()]);
        }
        if let Some(port) = self.port {
            args.extend(["-p".to_string(), port.to_string()]);
        }
        args.extend(
            ["--", &self.host, "docker", "system", "dial-stdio"]
                .iter()
                .map(|s| s.to_string()),
        );
        args
    }
}

/// `HOST[:PORT]` or `[V6]:PORT`; `None` when the port is not a number.
fn split_port(host_port: &str) -> Option<(&str, Option<u16>)> {
    if let Some(v6) = host_port.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port.parse().ok()?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match host_port.rsplit_once(':') {
        Some((host, port)) => Some((host, Some(port.parse().ok()?))),
        None => Some((host_port, None)),
    }
}

/// A bollard client whose connections are ssh processes; `stderr` collects what ssh says,
/// for the message when the engine cannot be reached.
pub fn connect(
    target: SshTarget,
    timeout_secs: u64,
    stderr: Stderr,
) -> Result<Docker, bollard::errors::Error> {
    let connector = SshConnector {
        target: Arc::new(target),
        stderr,
    };
    let client = Arc::new(
        hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector),
    );
    Docker::connect_with_custom_transport(
        move |request: bollard::BollardRequest| {
            let client = Arc::clone(&client);
            async move {
                client
                    .request(request)
                    .await
                    .map_err(|e| bollard::errors::Error::IOError {
                        err: io::Error::other(crate::error_chain::one_line(&e)),
                    })
            }
        },
        // Requests need some authority; the engine at the far end of ssh ignores it.
        Some("http://docker"),
        timeout_secs,
        bollard::API_DEFAULT_VERSION,
    )
}

/// Opens a connection by starting ssh.
#[derive(Clone)]
struct SshConnector {
    target: Arc<SshTarget>,
    stderr: Stderr,
}

impl tower_service::Service<hyper::Uri> for SshConnector {
    type Response = SshConnection;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<SshConnection>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: hyper::Uri) -> Self::Future {
        let (target, stderr) = (Arc::clone(&self.target), self.stderr.clone());
        Box::pin(async move { SshConnection::start(&target, stderr) })
    }
}

/// One ssh process: its stdout is read, its stdin written; it dies with the connection.
pub struct SshConnection {
    io: TokioIo<tokio::io::Join<ChildStdout, ChildStdin>>,
    _child: Child,
}

impl SshConnection {
    fn start(target: &SshTarget, stderr: Stderr) -> io::Result<SshConnection> {
        let mut child = Command::new("ssh")
            .args(target.ssh_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("starting ssh: {e}")))?;
        let (Some(stdin), Some(stdout), Some(mut errors)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(io::Error::other("ssh started without its pipes"));
        };
        tokio::spawn(async move {
            let mut said = Vec::new();
            let _ = errors.read_to_end(&mut said).await;
            stderr.push(&said);
        });
        Ok(SshConnection {
            io: TokioIo::new(tokio::io::join(stdout, stdin)),
            _child: child,
        })
    }
}

impl Connection for SshConnection {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl hyper::rt::Read for SshConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for SshConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_the_docker_cli_accepts() {
        assert_eq!(
            SshTarget::parse("ssh://deploy@build.example:2222").unwrap(),
            SshTarget {
                user: Some("deploy".into()),
                host: "build.example".into(),
                port: Some(2222)
            }
        );
        assert_eq!(
            SshTarget::parse("ssh://build.example").unwrap(),
            SshTarget {
                user: None,
                host: "build.example".into(),
                port: None
            }
        );
        assert_eq!(SshTarget::parse("ssh://me@[::1]:22").unwrap().host, "::1");
        for bad in [
            "ssh://",
            "ssh://@host",
            "ssh://host:port",
            "ssh://host/var/run/docker.sock",
            "tcp://host",
        ] {
            assert!(SshTarget::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn runs_dial_stdio_with_the_user_and_port() {
        let target = SshTarget::parse("ssh://deploy@10.0.0.5:2222").unwrap();
        let args = target.ssh_args();
        let tail: Vec<&str> = args.iter().map(String::as_str).skip(3).collect();
        assert_eq!(
            tail,
            [
                "-l",
                "deploy",
                "-p",
                "2222",
                "--",
                "10.0.0.5",
                "docker",
                "system",
                "dial-stdio"
            ]
        );
        assert!(
            !SshTarget::parse("ssh://h")
                .unwrap()
                .ssh_args()
                .contains(&"-p".to_string())
        );
    }
}
