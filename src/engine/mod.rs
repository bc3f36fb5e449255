//! The only place that talks to the container engine (Docker, or Podman's Docker API).
//!
//! Every container slim creates is tracked here so that [`Engine::cleanup`] can remove it on
//! any path out: success, error or Ctrl-C.

mod buildkit;
mod containers;
pub mod credentials;
pub mod endpoint;
mod error;
mod exec_stream;
mod images;
mod operations;

#[cfg(test)]
pub mod fake;
mod registry;
mod ssh;

use std::sync::{Arc, Mutex};

use bollard::Docker;

use crate::leftovers;
use crate::owner::{Liveness, OWNER_LABEL, RunOwner};

pub use containers::{ContainerRun, ContainerSpec, ContainerState, ExecOutput, Logs};
pub use error::EngineError;
pub use exec_stream::{ExecStream, Stderr};
pub use images::{Builder, ImageListing, PullProgress};
pub use operations::Containers;

/// Label put on every container slim creates, with the role as value.
pub const ROLE_LABEL: &str = "dev.slim.role";
/// Label naming the source image a container was made for.
pub const SOURCE_LABEL: &str = "dev.slim.source";
/// Label unique to one slim process, to find containers whose creation raced an interrupt.
pub const RUN_LABEL: &str = "dev.slim.run";

/// A connection to the engine plus the list of containers slim must remove before it exits.
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    host: String,
    run_id: String,
    /// [`RunOwner`] label of this process, put on every container it creates
    owner: String,
    created: Arc<Mutex<Vec<String>>>,
    /// images slim loaded only for its own use (a source given as a file, a slim image
    /// written to a file but run for verification)
    temporary_images: Arc<Mutex<Vec<String>>>,
}

enum OpenError {
    Unsupported(String),
    Bollard(bollard::errors::Error),
}

/// A client for `endpoint`: unix socket, plain TCP, TLS with the endpoint's certificates,
/// or ssh (whose complaints go to `ssh_said`).
fn open(endpoint: &endpoint::Endpoint, ssh_said: &Stderr) -> Result<Docker, OpenError> {
    const TIMEOUT_SECONDS: u64 = 120;
    let host = endpoint.host.as_str();
    let version = bollard::API_DEFAULT_VERSION;
    if host.starts_with("ssh://") {
        let target = ssh::SshTarget::parse(host).map_err(OpenError::Unsupported)?;
        return ssh::connect(target, TIMEOUT_SECONDS, ssh_said.clone()).map_err(OpenError::Bollard);
    }
    let docker = match (&endpoint.tls, host) {
        (Some(tls), _) => {
            crate::tls::install_crypto_provider();
            Docker::connect_with_ssl(host, &tls.key, &tls.cert, &tls.ca, TIMEOUT_SECONDS, version)
        }
        (None, h) if h.starts_with("unix://") => {
            Docker::connect_with_unix(h, TIMEOUT_SECONDS, version)
        }
        (None, h) if h.starts_with("tcp://") || h.starts_with("http://") => {
            Docker::connect_with_http(h, TIMEOUT_SECONDS, version)
        }
        (None, h) => {
            return Err(OpenError::Unsupported(format!(
                "{h:?} is not an engine address slim knows (unix://PATH, tcp://HOST:PORT, \
                 ssh://[USER@]HOST[:PORT])"
            )));
        }
    };
    docker.map_err(OpenError::Bollard)
}

impl Engine {
    /// Connect to the engine the environment names (see [`endpoint`]: a context, `DOCKER_HOST`
    /// with TLS settings, or the local socket), agree on an API version both sides speak, and
    /// check the engine answers.
    pub async fn connect() -> Result<Engine, EngineError> {
        let endpoint = endpoint::resolve(&endpoint::Environment::of_process())
            .map_err(EngineError::Endpoint)?;
        let host = match &endpoint.context {
            Some(context) => format!("{} (context {context})", endpoint.host),
            None => endpoint.host.clone(),
        };
        let hint = match &endpoint.tls {
            Some(tls) => format!(
                "It is reached with TLS: {} must have signed the engine's certificate, and the \
                 engine must accept {} (with {}).",
                tls.ca.display(),
                tls.cert.display(),
                tls.key.display()
            ),
            None => "Is the Docker daemon running and may this user use it? Set DOCKER_HOST, \
                     DOCKER_CONTEXT or --docker-context to use another engine."
                .to_string(),
        };
        let ssh_said = Stderr::default();
        let unreachable = |source| EngineError::Unreachable {
            host: host.clone(),
            hint: match ssh_said.text() {
                said if said.is_empty() => hint.clone(),
                said => format!("ssh said: {said}"),
            },
            source: Box::new(source),
        };
        let docker = open(&endpoint, &ssh_said).map_err(|e| match e {
            OpenError::Unsupported(message) => {
                EngineError::Endpoint(endpoint::EndpointError::Unsupported(message))
            }
            OpenError::Bollard(source) => unreachable(source),
        })?;
        // Requests go out with bollard's newest version until negotiated; older engines refuse those.
        let negotiated = docker.negotiate_version().await;
        let answered = match negotiated {
            Ok(docker) => docker.ping().await.map(|_| docker),
            Err(e) => Err(e),
        };
        let docker = match answered {
            Ok(docker) => docker,
            Err(source) => {
                if endpoint.host.starts_with("ssh://") {
                    // ssh has exited; give its last words a moment to be read.
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                return Err(unreachable(source));
            }
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let run_id = format!("{}-{nanos}", std::process::id());
        Ok(Engine {
            docker,
            host,
            run_id,
            owner: RunOwner::this_process().label(),
            created: Arc::default(),
            temporary_images: Arc::default(),
        })
    }

    /// The engine address in use, for messages.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Engine version string, e.g. "20.10.24+dfsg1".
    pub async fn version(&self) -> Result<String, EngineError> {
        let v = self
            .docker
            .version()
            .await
            .map_err(|e| EngineError::api("asking the engine for its version", e))?;
        Ok(v.version.unwrap_or_default())
    }

    fn track(&self, id: &str) {
        if let Ok(mut created) = self.created.lock() {
            created.push(id.to_string());
        }
    }

    fn untrack(&self, id: &str) {
        if let Ok(mut created) = self.created.lock() {
            created.retain(|c| c != id);
        }
    }

    /// Remove every container this process created and has not removed yet, including one
    /// whose creation was still in flight when the work was interrupted.
    /// Errors are ignored: this runs on the way out, often after another error.
    pub async fn cleanup(&self) {
        let mut ids: Vec<String> = match self.created.lock() {
            Ok(mut created) => created.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        if let Ok(labeled) = self.containers_labeled(RUN_LABEL, &self.run_id).await {
            ids.extend(labeled);
        }
        ids.sort();
        ids.dedup();
        for id in ids {
            let _ = self.force_remove(&id).await;
        }
        let images: Vec<String> = match self.temporary_images.lock() {
            Ok(mut images) => images.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        for id in images {
            if self.remove_image_forced(&id).await.is_ok() {
                leftovers::this_run().remove_image(&id);
            }
        }
        // What is still listed could not be removed (the engine went away): a later run
        // or `slim clean` finds it once this process is gone.
        leftovers::this_run().forget_if_clean();
    }

    /// Remove `image` (an ID) when slim exits, like the containers it created.
    pub fn track_temporary_image(&self, image: &str) {
        if let Ok(mut images) = self.temporary_images.lock() {
            images.push(image.to_string());
        }
        leftovers::this_run().add_image(image);
    }

    /// Remove what slim runs on this machine that are gone (killed, crashed, their machine
    /// rebooted) left behind: their containers in this engine, the images they loaded and
    /// their scratch directories. With `dry_run`, only say what that would be.
    pub async fn reap_gone_runs(&self, dry_run: bool) -> Result<Reaped, EngineError> {
        let mut reaped = Reaped::default();
        for (id, labels) in self.containers_with_label(OWNER_LABEL).await? {
            let Some(owner) = labels
                .get(OWNER_LABEL)
                .and_then(|l| RunOwner::from_label(l))
            else {
                continue;
            };
            if owner.liveness() != Liveness::Gone {
                continue;
            }
            if !dry_run {
                self.force_remove(&id).await?;
            }
            reaped.containers.push(LeftContainer {
                id: id[..id.len().min(12)].to_string(),
                role: labels.get(ROLE_LABEL).cloned().unwrap_or_default(),
                source: labels.get(SOURCE_LABEL).cloned().unwrap_or_default(),
                owner: owner.describe(),
            });
        }
        for (record_file, record) in leftovers::left_by_gone_runs() {
            for image in &record.images {
                if self.inspect_image(image).await?.is_some() {
                    if !dry_run {
                        self.remove_image_forced(image).await?;
                    }
                    reaped.images.push(image.clone());
                }
            }
            for path in &record.dirs {
                if path.exists() {
                    if !dry_run {
                        let removed =
                            std::fs::remove_dir_all(path).or_else(|_| std::fs::remove_file(path));
                        removed.map_err(|e| {
                            EngineError::io(format!("removing {}", path.display()), e)
                        })?;
                    }
                    reaped.paths.push(path.display().to_string());
                }
            }
            if !dry_run {
                let _ = std::fs::remove_file(record_file);
            }
        }
        Ok(reaped)
    }
}

/// What gone runs left behind, and was (or, in a dry run, would be) removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reaped {
    pub containers: Vec<LeftContainer>,
    pub images: Vec<String>,
    pub paths: Vec<String>,
}

impl Reaped {
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.images.is_empty() && self.paths.is_empty()
    }

    /// "2 container(s), 1 image(s), 1 scratch path(s)"
    pub fn summary(&self) -> String {
        format!(
            "{} container(s), {} image(s), {} scratch path(s)",
            self.containers.len(),
            self.images.len(),
            self.paths.len()
        )
    }
}

/// A container a gone run left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftContainer {
    pub id: String,
    /// analyze, collect, verify, ...
    pub role: String,
    pub source: String,
    /// "pid 1234 on build-7"
    pub owner: String,
}
