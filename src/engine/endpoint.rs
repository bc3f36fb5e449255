//! Which engine to talk to, decided the way the docker CLI decides it, and how to reach it:
//! a unix socket, plain TCP, or TCP with TLS and client certificates.
//!
//! The order: a context named by `--docker-context`, then `DOCKER_HOST` (with
//! `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`), then `DOCKER_CONTEXT`, then the Docker
//! config's `currentContext`, then the local socket. Contexts come from the docker CLI's
//! store: `contexts/meta/<sha256 of the name>/meta.json` and the TLS files beside it under
//! `contexts/tls/`, in `$DOCKER_CONFIG` or `~/.docker`.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::credentials::docker_config_dir;

pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";
/// Set by `slim --docker-context NAME`; wins over everything else, like `docker --context`.
pub const CONTEXT_OVERRIDE_VARIABLE: &str = "SLIM_DOCKER_CONTEXT";

/// Where the engine is and how to speak to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `unix://…`, `tcp://…`
    pub host: String,
    /// client certificate, key and CA, for TLS
    pub tls: Option<TlsFiles>,
    /// the context it came from, for messages
    pub context: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// `ca.pem`, `cert.pem` and `key.pem` in `dir`, the docker CLI's names.
    fn in_dir(dir: &Path) -> Self {
        TlsFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EndpointError {
    #[error("no Docker context {name:?} (looked for {meta}); `docker context ls` lists them")]
    NoSuchContext { name: String, meta: String },
    #[error("the Docker context {name:?} cannot be read: {reason}")]
    BadContext { name: String, reason: String },
    /// an address slim cannot speak to (from DOCKER_HOST or a context)
    #[error("{0}")]
    Unsupported(String),
}

/// What the process environment says, read once so the decision is a pure function.
#[derive(Debug, Default, Clone)]
pub struct Environment {
    pub context_override: Option<String>,
    pub docker_host: Option<String>,
    pub tls_verify: bool,
    pub cert_path: Option<PathBuf>,
    pub docker_context: Option<String>,
    /// the Docker config directory (`$DOCKER_CONFIG` or `~/.docker`)
    pub config_dir: Option<PathBuf>,
}

impl Environment {
    pub fn of_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Environment {
            context_override: var(CONTEXT_OVERRIDE_VARIABLE),
            docker_host: var("DOCKER_HOST"),
            tls_verify: var("DOCKER_TLS_VERIFY").is_some(),
            cert_path: var("DOCKER_CERT_PATH").map(PathBuf::from),
            docker_context: var("DOCKER_CONTEXT"),
            config_dir: docker_config_dir(),
        }
    }
}

/// The engine the environment names.
pub fn resolve(env: &Environment) -> Result<Endpoint, EndpointError> {
    if let Some(name) = &env.context_override {
        return from_context(env, name);
    }
    if env.docker_host.is_some() {
        return Ok(host_or_local(env));
    }
    if let Some(name) = &env.docker_context {
        return from_context(env, name);
    }
    if let Some(name) = current_context(env) {
        return from_context(env, &name);
    }
    Ok(host_or_local(env))
}

/// `DOCKER_HOST` (with TLS when `DOCKER_TLS_VERIFY` is set), else the local socket: what the
/// docker CLI's built-in `default` context means too.
fn host_or_local(env: &Environment) -> Endpoint {
    let Some(host) = &env.docker_host else {
        return Endpoint {
            host: DEFAULT_HOST.into(),
            tls: None,
            context: None,
        };
    };
    let tls = env.tls_verify.then(|| {
        let dir = env
            .cert_path
            .clone()
            .or_else(|| env.config_dir.clone())
            .unwrap_or_default();
        TlsFiles::in_dir(&dir)
    });
    Endpoint {
        host: host.clone(),
        tls,
        context: None,
    }
}

/// The config's `currentContext`, if it names one.
fn current_context(env: &Environment) -> Option<String> {
    #[derive(Deserialize)]
    struct Config {
        #[serde(rename = "currentContext", default)]
        current_context: String,
    }
    let text = std::fs::read_to_string(env.config_dir.as_ref()?.join("config.json")).ok()?;
    let config: Config = serde_json::from_str(&text).ok()?;
    Some(config.current_context).filter(|name| !name.is_empty())
}

#[derive(Deserialize)]
struct ContextMeta {
    #[serde(rename = "Endpoints", default)]
    endpoints: std::collections::HashMap<String, EndpointMeta>,
}

#[derive(Deserialize)]
struct EndpointMeta {
    #[serde(rename = "Host", default)]
    host: String,
    #[serde(rename = "SkipTLSVerify", default)]
    skip_tls_verify: bool,
}

fn from_context(env: &Environment, name: &str) -> Result<Endpoint, EndpointError> {
    if name == "default" {
        return Ok(host_or_local(env));
    }
    let store = env.config_dir.clone().unwrap_or_default().join("contexts");
    let id = hex::encode(Sha256::digest(name.as_bytes()));
    let meta_path = store.join("meta").join(&id).join("meta.json");
    let bad = |reason: String| EndpointError::BadContext {
        name: name.into(),
        reason,
    };
    let text = std::fs::read_to_string(&meta_path).map_err(|_| EndpointError::NoSuchContext {
        name: name.into(),
        meta: meta_path.display().to_string(),
    })?;
    let meta: ContextMeta =
        serde_json::from_str(&text).map_err(|e| bad(format!("{}: {e}", meta_path.display())))?;
    let docker = meta
        .endpoints
        .get("docker")
        .filter(|e| !e.host.is_empty())
        .ok_or_else(|| bad("it has no docker endpoint".into()))?;
    let tls_dir = store.join("tls").join(&id).join("docker");
    let tls = if tls_dir.join("cert.pem").exists() || tls_dir.join("ca.pem").exists() {
        if docker.skip_tls_verify {
            return Err(bad(
                "it skips TLS verification, which slim does not do; give the context the engine's CA"
                    .into(),
            ));
        }
        Some(TlsFiles::in_dir(&tls_dir))
    } else {
        None
    };
    Ok(Endpoint {
        host: docker.host.clone(),
        tls,
        context: Some(name.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_context(config: &Path, name: &str, host: &str, tls: bool) {
        let id = hex::encode(Sha256::digest(name.as_bytes()));
        let meta = config.join("contexts/meta").join(&id);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            format!(
                r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#
            ),
        )
        .unwrap();
        if tls {
            let dir = config.join("contexts/tls").join(&id).join("docker");
            std::fs::create_dir_all(&dir).unwrap();
            for file in ["ca.pem", "cert.pem", "key.pem"] {
                std::fs::write(dir.join(file), "x").unwrap();
            }
        }
    }

    #[test]
    fn the_docker_clis_order() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().to_path_buf();
        store_context(&config, "remote", "tcp://10.0.0.5:2376", true);
        store_context(&config, "other", "tcp://10.0.0.6:2375", false);
        let env = Environment {
            config_dir: Some(config.clone()),
            ..Environment::default()
        };
        assert_eq!(
            resolve(&env).unwrap(),
            Endpoint {
                host: DEFAULT_HOST.into(),
                tls: None,
                context: None
            }
        );

        std::fs::write(config.join("config.json"), r#"{"currentContext":"other"}"#).unwrap();
        let current = resolve(&env).unwrap();
        assert_eq!(
            (current.host.as_str(), current.tls),
            ("tcp://10.0.0.6:2375", None)
        );

        let env = Environment {
            docker_context: Some("remote".into()),
            ..env
        };
        let named = resolve(&env).unwrap();
        assert_eq!(named.host, "tcp://10.0.0.5:2376");
        assert!(named.tls.unwrap().ca.ends_with("docker/ca.pem"));

        // DOCKER_HOST wins over DOCKER_CONTEXT, and --docker-context over both
        let env = Environment {
            docker_host: Some("tcp://127.0.0.1:2376".into()),
            tls_verify: true,
            cert_path: Some("/certs".into()),
            ..env
        };
        let host = resolve(&env).unwrap();
        assert_eq!(host.host, "tcp://127.0.0.1:2376");
        assert_eq!(host.tls.unwrap().key, PathBuf::from("/certs/key.pem"));
        let env = Environment {
            context_override: Some("other".into()),
            ..env
        };
        assert_eq!(resolve(&env).unwrap().host, "tcp://10.0.0.6:2375");
    }

    #[test]
    fn unknown_contexts_say_where_they_were_looked_for() {
        let dir = tempfile::tempdir().unwrap();
        let env = Environment {
            docker_context: Some("nope".into()),
            config_dir: Some(dir.path().to_path_buf()),
            ..Environment::default()
        };
        let error = resolve(&env).unwrap_err().to_string();
        assert!(
            error.contains("no Docker context \"nope\"") && error.contains("meta.json"),
            "{error}"
        );
        let env = Environment {
            docker_context: Some("default".into()),
            ..env
        };
        assert_eq!(resolve(&env).unwrap().host, DEFAULT_HOST);
    }

    #[test]
    fn the_default_context_is_docker_host_with_its_tls_settings() {
        let env = Environment {
            context_override: Some("default".into()),
            docker_host: Some("tcp://127.0.0.1:2376".into()),
            tls_verify: true,
            cert_path: Some("/certs".into()),
            ..Environment::default()
        };
        let endpoint = resolve(&env).unwrap();
        assert_eq!(endpoint.host, "tcp://127.0.0.1:2376");
        assert_eq!(endpoint.tls.unwrap().ca, PathBuf::from("/certs/ca.pem"));
    }
}
