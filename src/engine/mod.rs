//! The only place that talks to the container engine (Docker, or Podman's Docker API).
//!
//! Every container slim creates is tracked here so that [`Engine::cleanup`] can remove it on
//! any path out: success, error or Ctrl-C.

mod buildkit;
mod containers;
pub mod credentials;
mod error;
mod images;
mod registry;

use std::sync::{Arc, Mutex};

use bollard::Docker;

pub use containers::{ContainerRun, ContainerState, ExecOutput, Logs, loopback_port_bindings};
pub use error::EngineError;
pub use images::{Builder, PullProgress};

/// Label put on every container slim creates, with the role as value.
pub const ROLE_LABEL: &str = "dev.slim.role";
/// Label naming the source image a container was made for.
pub const SOURCE_LABEL: &str = "dev.slim.source";
/// Label unique to one slim process, to find containers whose creation raced an interrupt.
pub const RUN_LABEL: &str = "dev.slim.run";

const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// A connection to the engine plus the list of containers slim must remove before it exits.
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    host: String,
    run_id: String,
    created: Arc<Mutex<Vec<String>>>,
    /// images slim loaded only for its own use (a source given as a file, a slim image
    /// written to a file but run for verification)
    temporary_images: Arc<Mutex<Vec<String>>>,
}

impl Engine {
    /// Connect through `DOCKER_HOST` (or the default socket), agree on an API version both sides
    /// speak, and check the engine answers.
    pub async fn connect() -> Result<Engine, EngineError> {
        let host = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| DEFAULT_HOST.to_string());
        let unreachable = |source| EngineError::Unreachable {
            host: host.clone(),
            source,
        };
        let docker = Docker::connect_with_defaults().map_err(unreachable)?;
        // Requests go out with bollard's newest version until negotiated; older engines refuse those.
        let docker = docker.negotiate_version().await.map_err(unreachable)?;
        docker.ping().await.map_err(unreachable)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let run_id = format!("{}-{nanos}", std::process::id());
        Ok(Engine {
            docker,
            host,
            run_id,
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
            let _ = self.remove_image_forced(&id).await;
        }
    }

    /// Remove `image` (an ID) when slim exits, like the containers it created.
    pub fn track_temporary_image(&self, image: &str) {
        if let Ok(mut images) = self.temporary_images.lock() {
            images.push(image.to_string());
        }
    }
}
