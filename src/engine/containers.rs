//! Containers: create, copy files in and out, run, observe, remove.

use std::collections::HashMap;
use std::io::Read;

use bollard::container::LogOutput;
use bollard::errors::Error as BollardError;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{
    DownloadFromContainerOptions, KillContainerOptions, ListContainersOptions, LogsOptions,
    RemoveContainerOptions, StopContainerOptions, UploadToContainerOptions, WaitContainerOptions,
};
use futures_util::{StreamExt, TryStreamExt};

use super::error::is_not_found;
use super::{Engine, EngineError, ExecStream, Stderr};

/// A container to create, in slim's own terms (the engine API's body is built from it here).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerSpec {
    /// image name or ID
    pub image: String,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    /// `uid:gid` or a name; the image's USER when `None`
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub labels: HashMap<String, String>,
    /// container ports to publish on 127.0.0.1, at host ports the engine picks
    pub published_ports: Vec<u16>,
    /// capabilities added to the default set (`SYS_PTRACE`)
    pub cap_add: Vec<String>,
    /// no network at all
    pub no_network: bool,
    /// `--security-opt` values, e.g. `seccomp=<profile JSON>`
    pub security_opt: Vec<String>,
    /// share this container's network namespace (`--network container:ID`)
    pub network_of: Option<String>,
    /// do not run the image's HEALTHCHECK (for containers that only help slim)
    pub no_healthcheck: bool,
}

impl ContainerSpec {
    fn into_body(self) -> ContainerCreateBody {
        ContainerCreateBody {
            image: Some(self.image),
            entrypoint: self.entrypoint,
            cmd: self.cmd,
            user: self.user,
            working_dir: self.working_dir,
            labels: Some(self.labels),
            network_disabled: self.no_network.then_some(true),
            healthcheck: self.no_healthcheck.then(|| bollard::models::HealthConfig {
                test: Some(vec!["NONE".to_string()]),
                ..Default::default()
            }),
            host_config: Some(HostConfig {
                port_bindings: (!self.published_ports.is_empty())
                    .then(|| loopback_port_bindings(&self.published_ports)),
                cap_add: (!self.cap_add.is_empty()).then_some(self.cap_add),
                network_mode: match (self.no_network, self.network_of) {
                    (true, _) => Some("none".to_string()),
                    (false, Some(id)) => Some(format!("container:{id}")),
                    (false, None) => None,
                },
                security_opt: (!self.security_opt.is_empty()).then_some(self.security_opt),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// A container slim created, by ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRun {
    pub id: String,
}

/// Whether a container still runs, and how it ended if not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerState {
    pub running: bool,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    /// the engine's error, e.g. when the entrypoint could not be started
    pub error: String,
}

/// Everything a container wrote, split by stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Logs {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// The result of a command run with `exec` in a running container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Port bindings that publish each TCP port on 127.0.0.1 only, at a port the engine picks:
/// probes never reach beyond this machine.
fn loopback_port_bindings(ports: &[u16]) -> HashMap<String, Option<Vec<PortBinding>>> {
    ports
        .iter()
        .map(|port| {
            let binding = PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(String::new()),
            };
            (format!("{port}/tcp"), Some(vec![binding]))
        })
        .collect()
}

type AttachedOutput =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<LogOutput, BollardError>> + Send>>;
type AttachedInput = std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>;

fn exec_action(cmd: &[String]) -> String {
    format!("running {:?} in the container", cmd.join(" "))
}

impl Engine {
    /// Create a container; it is removed by [`Engine::cleanup`] unless removed before.
    pub async fn create_container(
        &self,
        mut spec: ContainerSpec,
    ) -> Result<ContainerRun, EngineError> {
        let image = spec.image.clone();
        spec.labels
            .insert(super::RUN_LABEL.to_string(), self.run_id.clone());
        spec.labels
            .insert(crate::owner::OWNER_LABEL.to_string(), self.owner.clone());
        let body = spec.into_body();
        let created = self
            .docker
            .create_container(None, body)
            .await
            .map_err(|e| EngineError::api(format!("creating a container from {image}"), e))?;
        self.track(&created.id);
        Ok(ContainerRun { id: created.id })
    }

    /// Extract a tar archive into the container at `dest` (works before the container starts).
    pub async fn upload_tar(
        &self,
        run: &ContainerRun,
        dest: &str,
        tar: Vec<u8>,
    ) -> Result<(), EngineError> {
        let options = UploadToContainerOptions {
            path: dest.to_string(),
            ..Default::default()
        };
        self.docker
            .upload_to_container(&run.id, Some(options), bollard::body_full(tar.into()))
            .await
            .map_err(|e| EngineError::api(format!("copying files into the container at {dest}"), e))
    }

    /// The archive the engine returns for `path` (a tar holding the path and, for a directory,
    /// everything below it), written to `dest`. Returns false if the path does not exist.
    pub async fn download_archive(
        &self,
        run: &ContainerRun,
        path: &str,
        dest: &std::path::Path,
    ) -> Result<bool, EngineError> {
        let options = DownloadFromContainerOptions {
            path: path.to_string(),
        };
        let mut stream = self.docker.download_from_container(&run.id, Some(options));
        let mut file = tokio::fs::File::create(dest)
            .await
            .map_err(|e| EngineError::io(format!("creating {}", dest.display()), e))?;
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(bytes) => tokio::io::AsyncWriteExt::write_all(&mut file, &bytes)
                    .await
                    .map_err(|e| EngineError::io(format!("writing {}", dest.display()), e))?,
                Err(e) if is_not_found(&e) => return Ok(false),
                Err(e) => {
                    return Err(EngineError::api(
                        format!("copying {path} out of the container"),
                        e,
                    ));
                }
            }
        }
        tokio::io::AsyncWriteExt::flush(&mut file)
            .await
            .map_err(|e| EngineError::io(format!("writing {}", dest.display()), e))?;
        Ok(true)
    }

    /// Contents of one small regular file in the container, or `None` if it does not exist.
    pub async fn read_file(
        &self,
        run: &ContainerRun,
        path: &str,
    ) -> Result<Option<Vec<u8>>, EngineError> {
        let options = DownloadFromContainerOptions {
            path: path.to_string(),
        };
        let chunks: Result<Vec<_>, _> = self
            .docker
            .download_from_container(&run.id, Some(options))
            .try_collect()
            .await;
        let archive: Vec<u8> = match chunks {
            Ok(chunks) => chunks.concat(),
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => {
                return Err(EngineError::api(
                    format!("reading {path} from the container"),
                    e,
                ));
            }
        };
        let bad = |e: std::io::Error| EngineError::io(format!("reading the archive of {path}"), e);
        let mut tar = tar::Archive::new(archive.as_slice());
        for entry in tar.entries().map_err(bad)? {
            let mut entry = entry.map_err(bad)?;
            if entry.header().entry_type().is_file() {
                let mut content = Vec::new();
                entry.read_to_end(&mut content).map_err(bad)?;
                return Ok(Some(content));
            }
        }
        Ok(None)
    }

    pub async fn start(&self, run: &ContainerRun) -> Result<(), EngineError> {
        self.docker
            .start_container(&run.id, None)
            .await
            .map_err(|e| EngineError::api("starting the container", e))
    }

    /// Wait until the container exits; returns its exit code.
    pub async fn wait_exit(&self, run: &ContainerRun) -> Result<i64, EngineError> {
        let options = WaitContainerOptions {
            condition: "not-running".into(),
        };
        let mut stream = self.docker.wait_container(&run.id, Some(options));
        match stream.next().await {
            Some(Ok(response)) => Ok(response.status_code),
            // bollard reports a non-zero exit as an error; for us it is just a status.
            Some(Err(BollardError::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) => Err(EngineError::api("waiting for the container to exit", e)),
            None => Ok(self.state(run).await?.exit_code.unwrap_or(-1)),
        }
    }

    pub async fn state(&self, run: &ContainerRun) -> Result<ContainerState, EngineError> {
        let inspect = self
            .docker
            .inspect_container(&run.id, None)
            .await
            .map_err(|e| EngineError::api("inspecting the container", e))?;
        let state = inspect.state.unwrap_or_default();
        let running = state.running.unwrap_or(false);
        Ok(ContainerState {
            running,
            exit_code: if running { None } else { state.exit_code },
            oom_killed: state.oom_killed.unwrap_or(false),
            error: state.error.unwrap_or_default(),
        })
    }

    /// The 127.0.0.1 port the engine published for the container's TCP `port`.
    pub async fn host_port(
        &self,
        run: &ContainerRun,
        port: u16,
    ) -> Result<Option<u16>, EngineError> {
        let inspect = self
            .docker
            .inspect_container(&run.id, None)
            .await
            .map_err(|e| EngineError::api("inspecting the container's ports", e))?;
        let bindings = inspect
            .network_settings
            .and_then(|n| n.ports)
            .unwrap_or_default();
        let published = bindings
            .get(&format!("{port}/tcp"))
            .and_then(|b| b.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|b| b.host_port.as_deref()?.parse().ok())
            .next();
        Ok(published)
    }

    /// Stop with the container's stop signal, then SIGKILL after `grace_secs`.
    pub async fn stop(&self, run: &ContainerRun, grace_secs: i32) -> Result<(), EngineError> {
        let options = StopContainerOptions {
            t: Some(grace_secs),
            signal: None,
        };
        match self.docker.stop_container(&run.id, Some(options)).await {
            Ok(()) => Ok(()),
            // 304: already stopped
            Err(BollardError::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            Err(e) => Err(EngineError::api("stopping the container", e)),
        }
    }

    pub async fn kill(&self, run: &ContainerRun, signal: &str) -> Result<(), EngineError> {
        let options = KillContainerOptions {
            signal: signal.to_string(),
        };
        match self.docker.kill_container(&run.id, Some(options)).await {
            Ok(()) => Ok(()),
            // 409: not running any more, which is what we wanted
            Err(BollardError::DockerResponseServerError {
                status_code: 409, ..
            }) => Ok(()),
            Err(e) => Err(EngineError::api("killing the container", e)),
        }
    }

    pub async fn logs(&self, run: &ContainerRun) -> Result<Logs, EngineError> {
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            follow: false,
            tail: "all".into(),
            ..Default::default()
        };
        let mut stream = self.docker.logs(&run.id, Some(options));
        let mut logs = Logs::default();
        while let Some(item) = stream.next().await {
            match item.map_err(|e| EngineError::api("reading the container's output", e))? {
                bollard::container::LogOutput::StdErr { message } => {
                    logs.stderr.extend_from_slice(&message)
                }
                bollard::container::LogOutput::StdOut { message }
                | bollard::container::LogOutput::Console { message } => {
                    logs.stdout.extend_from_slice(&message)
                }
                bollard::container::LogOutput::StdIn { .. } => {}
            }
        }
        Ok(logs)
    }

    /// Run a command in a running container and collect its output and exit code.
    pub async fn exec(
        &self,
        run: &ContainerRun,
        cmd: &[String],
        user: Option<&str>,
    ) -> Result<ExecOutput, EngineError> {
        let (exec_id, mut stream, _) = self.attach_exec(run, cmd, user, false).await?;
        let mut output = ExecOutput::default();
        while let Some(item) = stream.next().await {
            match item.map_err(|e| EngineError::api(exec_action(cmd), e))? {
                LogOutput::StdErr { message } => output.stderr.extend_from_slice(&message),
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    output.stdout.extend_from_slice(&message)
                }
                LogOutput::StdIn { .. } => {}
            }
        }
        let inspect = self
            .docker
            .inspect_exec(&exec_id)
            .await
            .map_err(|e| EngineError::api(exec_action(cmd), e))?;
        output.exit_code = inspect.exit_code.unwrap_or(-1);
        Ok(output)
    }

    /// Run a command in a running container with its stdin and stdout attached as one
    /// stream; its stderr is collected aside.
    pub async fn exec_stream(
        &self,
        run: &ContainerRun,
        cmd: &[String],
    ) -> Result<ExecStream, EngineError> {
        let (_, output, input) = self.attach_exec(run, cmd, None, true).await?;
        let stderr = Stderr::default();
        let sink = stderr.clone();
        let stdout = output.filter_map(move |item| {
            let chunk = match item {
                Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                    Some(Ok(message))
                }
                Ok(LogOutput::StdErr { message }) => {
                    sink.push(&message);
                    None
                }
                Ok(LogOutput::StdIn { .. }) => None,
                Err(e) => Some(Err(std::io::Error::other(e))),
            };
            std::future::ready(chunk)
        });
        Ok(ExecStream {
            io: tokio::io::join(Box::pin(tokio_util::io::StreamReader::new(stdout)), input),
            stderr,
        })
    }

    /// Create and start an exec of `cmd` with its stdout and stderr (and stdin, if `stdin`)
    /// attached: its ID, its output and its input.
    async fn attach_exec(
        &self,
        run: &ContainerRun,
        cmd: &[String],
        user: Option<&str>,
        stdin: bool,
    ) -> Result<(String, AttachedOutput, AttachedInput), EngineError> {
        let config = CreateExecOptions {
            attach_stdin: Some(stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(cmd.to_vec()),
            user: user.map(str::to_string),
            ..Default::default()
        };
        let created = self
            .docker
            .create_exec(&run.id, config)
            .await
            .map_err(|e| EngineError::api(exec_action(cmd), e))?;
        let options = StartExecOptions {
            detach: false,
            tty: false,
            output_capacity: None,
        };
        match self
            .docker
            .start_exec(&created.id, Some(options))
            .await
            .map_err(|e| EngineError::api(exec_action(cmd), e))?
        {
            StartExecResults::Attached { output, input } => Ok((created.id, output, input)),
            StartExecResults::Detached => Err(EngineError::Api {
                action: exec_action(cmd),
                message: "the engine started the command detached".into(),
            }),
        }
    }

    /// Remove a container and its anonymous volumes, running or not.
    pub async fn remove_container(&self, run: &ContainerRun) -> Result<(), EngineError> {
        self.force_remove(&run.id).await?;
        self.untrack(&run.id);
        Ok(())
    }

    pub(super) async fn force_remove(&self, id: &str) -> Result<(), EngineError> {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            link: false,
        };
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            // 409: removal already in progress (e.g. AutoRemove)
            Err(BollardError::DockerResponseServerError {
                status_code: 409, ..
            }) => Ok(()),
            Err(e) => Err(EngineError::api(
                format!("removing container {}", &id[..id.len().min(12)]),
                e,
            )),
        }
    }

    /// All containers (any state) carrying the label `key`, with their labels.
    pub async fn containers_with_label(
        &self,
        key: &str,
    ) -> Result<Vec<(String, HashMap<String, String>)>, EngineError> {
        self.containers_matching(key).await
    }

    /// IDs of all containers (any state) carrying `key=value`.
    pub async fn containers_labeled(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Vec<String>, EngineError> {
        let found = self.containers_matching(&format!("{key}={value}")).await?;
        Ok(found.into_iter().map(|(id, _)| id).collect())
    }

    /// Containers (any state) matching a `label` filter (`key` or `key=value`).
    async fn containers_matching(
        &self,
        label_filter: &str,
    ) -> Result<Vec<(String, HashMap<String, String>)>, EngineError> {
        let filters: HashMap<String, Vec<String>> =
            HashMap::from([("label".to_string(), vec![label_filter.to_string()])]);
        let options = ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        };
        let list = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| EngineError::api("listing containers", e))?;
        Ok(list
            .into_iter()
            .filter_map(|c| Some((c.id?, c.labels.unwrap_or_default())))
            .collect())
    }
}
