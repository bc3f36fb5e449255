//! The container operations the analysis, the collection and the verification use, as a
//! trait in slim's own types: the engine implements it over its API, and the lifecycles
//! above it are unit-tested against a fake ([`super::fake`]).

use std::path::Path;

use super::{
    ContainerRun, ContainerSpec, ContainerState, Engine, EngineError, ExecOutput, ExecStream, Logs,
};

#[allow(async_fn_in_trait)] // used generically, never as a trait object
pub trait Containers: Sync {
    /// Create a container; it is removed by [`Containers::cleanup`] unless removed before.
    async fn create_container(&self, spec: ContainerSpec) -> Result<ContainerRun, EngineError>;
    /// Extract a tar archive into the container at `dest` (works before it starts).
    async fn upload_tar(
        &self,
        run: &ContainerRun,
        dest: &str,
        tar: Vec<u8>,
    ) -> Result<(), EngineError>;
    /// The engine's tar of `path` written to `dest`; false if the path does not exist.
    async fn download_archive(
        &self,
        run: &ContainerRun,
        path: &str,
        dest: &Path,
    ) -> Result<bool, EngineError>;
    /// One small regular file, or `None` if it does not exist.
    async fn read_file(
        &self,
        run: &ContainerRun,
        path: &str,
    ) -> Result<Option<Vec<u8>>, EngineError>;
    async fn start(&self, run: &ContainerRun) -> Result<(), EngineError>;
    /// Wait until the container stops; its exit code.
    async fn wait_exit(&self, run: &ContainerRun) -> Result<i64, EngineError>;
    async fn state(&self, run: &ContainerRun) -> Result<ContainerState, EngineError>;
    /// The 127.0.0.1 port published for the container's TCP `port`.
    async fn host_port(&self, run: &ContainerRun, port: u16) -> Result<Option<u16>, EngineError>;
    /// Stop with the container's stop signal, then SIGKILL after `grace_secs`.
    async fn stop(&self, run: &ContainerRun, grace_secs: i32) -> Result<(), EngineError>;
    async fn kill(&self, run: &ContainerRun, signal: &str) -> Result<(), EngineError>;
    async fn logs(&self, run: &ContainerRun) -> Result<Logs, EngineError>;
    /// Run a command in the running container.
    async fn exec(
        &self,
        run: &ContainerRun,
        cmd: &[String],
        user: Option<&str>,
    ) -> Result<ExecOutput, EngineError>;
    /// Run a command in the running container, its stdin and stdout attached as one stream.
    async fn exec_stream(
        &self,
        run: &ContainerRun,
        cmd: &[String],
    ) -> Result<ExecStream, EngineError>;
    async fn remove_container(&self, run: &ContainerRun) -> Result<(), EngineError>;
    /// Remove every container created and not removed yet: the way out of every path.
    async fn cleanup(&self);
}

impl Containers for Engine {
    async fn create_container(&self, spec: ContainerSpec) -> Result<ContainerRun, EngineError> {
        Engine::create_container(self, spec).await
    }
    async fn upload_tar(
        &self,
        run: &ContainerRun,
        dest: &str,
        tar: Vec<u8>,
    ) -> Result<(), EngineError> {
        Engine::upload_tar(self, run, dest, tar).await
    }
    async fn download_archive(
        &self,
        run: &ContainerRun,
        path: &str,
        dest: &Path,
    ) -> Result<bool, EngineError> {
        Engine::download_archive(self, run, path, dest).await
    }
    async fn read_file(
        &self,
        run: &ContainerRun,
        path: &str,
    ) -> Result<Option<Vec<u8>>, EngineError> {
        Engine::read_file(self, run, path).await
    }
    async fn start(&self, run: &ContainerRun) -> Result<(), EngineError> {
        Engine::start(self, run).await
    }
    async fn wait_exit(&self, run: &ContainerRun) -> Result<i64, EngineError> {
        Engine::wait_exit(self, run).await
    }
    async fn state(&self, run: &ContainerRun) -> Result<ContainerState, EngineError> {
        Engine::state(self, run).await
    }
    async fn host_port(&self, run: &ContainerRun, port: u16) -> Result<Option<u16>, EngineError> {
        Engine::host_port(self, run, port).await
    }
    async fn stop(&self, run: &ContainerRun, grace_secs: i32) -> Result<(), EngineError> {
        Engine::stop(self, run, grace_secs).await
    }
    async fn kill(&self, run: &ContainerRun, signal: &str) -> Result<(), EngineError> {
        Engine::kill(self, run, signal).await
    }
    async fn logs(&self, run: &ContainerRun) -> Result<Logs, EngineError> {
        Engine::logs(self, run).await
    }
    async fn exec(
        &self,
        run: &ContainerRun,
        cmd: &[String],
        user: Option<&str>,
    ) -> Result<ExecOutput, EngineError> {
        Engine::exec(self, run, cmd, user).await
    }
    async fn exec_stream(
        &self,
        run: &ContainerRun,
        cmd: &[String],
    ) -> Result<ExecStream, EngineError> {
        Engine::exec_stream(self, run, cmd).await
    }
    async fn remove_container(&self, run: &ContainerRun) -> Result<(), EngineError> {
        Engine::remove_container(self, run).await
    }
    async fn cleanup(&self) {
        Engine::cleanup(self).await
    }
}
