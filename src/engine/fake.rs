//! A scripted stand-in for the engine, so the container lifecycles (analysis, collection,
//! verification, cleanup on every path) are tested without Docker. Each container behaves
//! as the [`Script`] for its role label says, and every operation is logged.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use super::{
    ContainerRun, ContainerSpec, ContainerState, Containers, EngineError, ExecOutput, ExecStream,
    Logs, ROLE_LABEL, Stderr,
};

/// What a container of one role does once started.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// the exit code when it ends
    pub exit_code: i64,
    /// a server: it runs until stopped (otherwise it has ended as soon as it started)
    pub runs_until_stopped: bool,
    /// ...and a stop does not end it either (only cleanup's forced removal does)
    pub ignores_stop: bool,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// files `read_file` finds once it started
    pub files: BTreeMap<String, Vec<u8>>,
    /// what `download_archive` returns for a path (a tar)
    pub archives: BTreeMap<String, Vec<u8>>,
    /// `start` fails as an engine that went away would
    pub fail_start: bool,
    /// what every `exec` prints
    pub exec_stdout: Vec<u8>,
    /// what an `exec_stream` sends back once it has read a request (nothing: it closes,
    /// having written `stream_stderr`)
    pub stream_reply: Vec<u8>,
    pub stream_stderr: Vec<u8>,
}

#[derive(Debug)]
struct FakeContainer {
    role: String,
    spec: ContainerSpec,
    script: Script,
    started: bool,
    running: bool,
    removed: bool,
}

#[derive(Default)]
pub struct FakeEngine {
    scripts: BTreeMap<String, Script>,
    containers: Mutex<Vec<FakeContainer>>,
    log: Mutex<Vec<String>>,
}

impl FakeEngine {
    /// An engine whose containers of role `role` follow `script`.
    pub fn with(scripts: &[(&str, Script)]) -> FakeEngine {
        FakeEngine {
            scripts: scripts
                .iter()
                .map(|(role, script)| (role.to_string(), script.clone()))
                .collect(),
            ..FakeEngine::default()
        }
    }

    /// Every operation so far, as `"create analysis"`, `"start analysis"`, ...
    pub fn log(&self) -> Vec<String> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The roles of the containers not removed.
    pub fn live(&self) -> Vec<String> {
        self.containers
            .lock()
            .map(|c| {
                c.iter()
                    .filter(|c| !c.removed)
                    .map(|c| c.role.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The spec the first container of `role` was created with.
    pub fn spec_of(&self, role: &str) -> Option<ContainerSpec> {
        let containers = self.containers.lock().ok()?;
        containers
            .iter()
            .find(|c| c.role == role)
            .map(|c| c.spec.clone())
    }

    fn index(run: &ContainerRun) -> usize {
        run.id
            .trim_start_matches("fake-")
            .parse()
            .unwrap_or(usize::MAX)
    }

    /// Run `f` on the container, logging `action` with its role.
    fn with_container<T>(
        &self,
        run: &ContainerRun,
        action: &str,
        f: impl FnOnce(&mut FakeContainer) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let mut containers = self.containers.lock().expect("fake engine lock");
        let container = containers
            .get_mut(Self::index(run))
            .filter(|c| !c.removed)
            .ok_or_else(|| EngineError::Api {
                action: action.to_string(),
                message: format!("no such container {}", run.id),
            })?;
        if let Ok(mut log) = self.log.lock() {
            log.push(format!("{action} {}", container.role));
        }
        f(container)
    }
}

impl Containers for FakeEngine {
    async fn create_container(&self, spec: ContainerSpec) -> Result<ContainerRun, EngineError> {
        let role = spec.labels.get(ROLE_LABEL).cloned().unwrap_or_default();
        let script = self.scripts.get(&role).cloned().unwrap_or_default();
        let mut containers = self.containers.lock().expect("fake engine lock");
        containers.push(FakeContainer {
            role: role.clone(),
            spec,
            script,
            started: false,
            running: false,
            removed: false,
        });
        if let Ok(mut log) = self.log.lock() {
            log.push(format!("create {role}"));
        }
        Ok(ContainerRun {
            id: format!("fake-{}", containers.len() - 1),
        })
    }

    async fn upload_tar(
        &self,
        run: &ContainerRun,
        dest: &str,
        _tar: Vec<u8>,
    ) -> Result<(), EngineError> {
        self.with_container(run, &format!("upload {dest} to"), |_| Ok(()))
    }

    async fn download_archive(
        &self,
        run: &ContainerRun,
        path: &str,
        dest: &Path,
    ) -> Result<bool, EngineError> {
        let archive = self.with_container(run, "download from", |c| {
            Ok(c.script.archives.get(path).cloned())
        })?;
        match archive {
            Some(bytes) => {
                std::fs::write(dest, bytes).map_err(|e| EngineError::io("writing", e))?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn read_file(
        &self,
        run: &ContainerRun,
        path: &str,
    ) -> Result<Option<Vec<u8>>, EngineError> {
        self.with_container(run, "read from", |c| {
            Ok(c.started
                .then(|| c.script.files.get(path).cloned())
                .flatten())
        })
    }

    async fn start(&self, run: &ContainerRun) -> Result<(), EngineError> {
        self.with_container(run, "start", |c| {
            if c.script.fail_start {
                return Err(EngineError::Api {
                    action: "starting the container".into(),
                    message: "the engine went away".into(),
                });
            }
            c.started = true;
            c.running = c.script.runs_until_stopped;
            Ok(())
        })
    }

    async fn wait_exit(&self, run: &ContainerRun) -> Result<i64, EngineError> {
        loop {
            let ended = self.with_container(run, "wait for", |c| {
                Ok((!c.running).then_some(c.script.exit_code))
            })?;
            if let Some(code) = ended {
                return Ok(code);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    async fn state(&self, run: &ContainerRun) -> Result<ContainerState, EngineError> {
        self.with_container(run, "inspect", |c| {
            Ok(ContainerState {
                running: c.running,
                exit_code: (!c.running && c.started).then_some(c.script.exit_code),
                ..ContainerState::default()
            })
        })
    }

    async fn host_port(&self, run: &ContainerRun, _port: u16) -> Result<Option<u16>, EngineError> {
        self.with_container(run, "ports of", |_| Ok(None))
    }

    async fn stop(&self, run: &ContainerRun, _grace_secs: i32) -> Result<(), EngineError> {
        self.with_container(run, "stop", |c| {
            if !c.script.ignores_stop {
                c.running = false;
            }
            Ok(())
        })
    }

    async fn kill(&self, run: &ContainerRun, _signal: &str) -> Result<(), EngineError> {
        self.with_container(run, "kill", |c| {
            c.running = false;
            Ok(())
        })
    }

    async fn logs(&self, run: &ContainerRun) -> Result<Logs, EngineError> {
        self.with_container(run, "logs of", |c| {
            Ok(Logs {
                stdout: c.script.stdout.clone(),
                stderr: c.script.stderr.clone(),
            })
        })
    }

    async fn exec(
        &self,
        run: &ContainerRun,
        _cmd: &[String],
        _user: Option<&str>,
    ) -> Result<ExecOutput, EngineError> {
        self.with_container(run, "exec in", |c| {
            Ok(ExecOutput {
                stdout: c.script.exec_stdout.clone(),
                ..ExecOutput::default()
            })
        })
    }

    async fn exec_stream(
        &self,
        run: &ContainerRun,
        _cmd: &[String],
    ) -> Result<ExecStream, EngineError> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (reply, error) = self.with_container(run, "exec a stream in", |c| {
            Ok((
                c.script.stream_reply.clone(),
                c.script.stream_stderr.clone(),
            ))
        })?;
        let (ours, mut theirs) = tokio::io::duplex(64 * 1024);
        tokio::spawn(async move {
            let mut request = [0u8; 4096];
            let _ = theirs.read(&mut request).await;
            let _ = theirs.write_all(&reply).await;
            let _ = theirs.shutdown().await;
        });
        let stderr = Stderr::default();
        stderr.push(&error);
        let (stdout, stdin) = tokio::io::split(ours);
        Ok(ExecStream {
            io: tokio::io::join(Box::pin(stdout), Box::pin(stdin)),
            stderr,
        })
    }

    async fn remove_container(&self, run: &ContainerRun) -> Result<(), EngineError> {
        self.with_container(run, "remove", |c| {
            c.removed = true;
            c.running = false;
            Ok(())
        })
    }

    async fn cleanup(&self) {
        let mut containers = self.containers.lock().expect("fake engine lock");
        for container in containers.iter_mut().filter(|c| !c.removed) {
            container.removed = true;
            container.running = false;
            if let Ok(mut log) = self.log.lock() {
                log.push(format!("clean up {}", container.role));
            }
        }
    }
}
