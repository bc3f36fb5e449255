//! The parts of an image's configuration slim reads and carries over.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A Docker/OCI healthcheck, carried over unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Healthcheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<i64>,
}

/// What an image runs and how, independent of which engine or file it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSpec {
    /// content ID (`sha256:…` of the config)
    pub id: String,
    /// `name@sha256:…` digests the engine knows for this image (from a registry)
    pub repo_digests: Vec<String>,
    pub repo_tags: Vec<String>,
    pub architecture: String,
    pub os: String,
    /// RFC 3339 creation time, as the image states it
    pub created: Option<String>,
    /// uncompressed size in bytes as the engine reports it
    pub size: u64,
    pub layers: usize,
    pub user: String,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: String,
    /// `80/tcp`, `53/udp`, …
    pub exposed_ports: Vec<String>,
    pub volumes: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub stop_signal: Option<String>,
    pub healthcheck: Option<Healthcheck>,
}

impl ImageSpec {
    /// The command a container runs by default: ENTRYPOINT followed by CMD.
    pub fn command(&self) -> Vec<String> {
        self.entrypoint
            .iter()
            .chain(self.cmd.iter())
            .cloned()
            .collect()
    }

    /// Value of an environment variable from the image's ENV.
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
    }

    /// The image's PATH split into directories, with the engine's default when unset.
    pub fn path_dirs(&self) -> Vec<String> {
        let path = self
            .env_var("PATH")
            .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        split_dirs(path)
    }

    pub fn ld_library_path(&self) -> Vec<String> {
        self.env_var("LD_LIBRARY_PATH")
            .map(split_dirs)
            .unwrap_or_default()
    }

    /// Exposed TCP ports (the only ones the HTTP probe can reach).
    pub fn tcp_ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = self
            .exposed_ports
            .iter()
            .filter_map(|p| {
                let (port, proto) = p.split_once('/').unwrap_or((p, "tcp"));
                (proto == "tcp").then(|| port.parse().ok()).flatten()
            })
            .collect();
        ports.sort_unstable();
        ports.dedup();
        ports
    }

    /// Creation time as seconds since the epoch, if the image states a parseable one.
    pub fn created_epoch(&self) -> Option<i64> {
        let created = self.created.as_deref()?;
        let parsed =
            time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
                .ok()?;
        Some(parsed.unix_timestamp())
    }

    /// The image's first registry digest (`sha256:…`), if it came from a registry.
    pub fn repo_digest(&self) -> Option<&str> {
        self.repo_digests
            .first()
            .and_then(|d| d.split_once('@'))
            .map(|(_, d)| d)
    }
}

fn split_dirs(value: &str) -> Vec<String> {
    value
        .split(':')
        .filter(|d| d.starts_with('/'))
        .map(|d| d.trim_end_matches('/').to_string())
        .map(|d| if d.is_empty() { "/".into() } else { d })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_is_entrypoint_then_cmd() {
        let spec = ImageSpec {
            entrypoint: vec!["/bin/sh".into(), "-c".into()],
            cmd: vec!["echo hi".into()],
            ..Default::default()
        };
        assert_eq!(spec.command(), ["/bin/sh", "-c", "echo hi"]);
    }

    #[test]
    fn env_lookups() {
        let spec = ImageSpec {
            env: vec![
                "PATH=/opt/bin:/usr/bin/:relative".into(),
                "LD_LIBRARY_PATH=/opt/lib".into(),
                "PATHX=no".into(),
            ],
            ..Default::default()
        };
        assert_eq!(spec.path_dirs(), ["/opt/bin", "/usr/bin"]);
        assert_eq!(spec.ld_library_path(), ["/opt/lib"]);
        assert_eq!(spec.env_var("PATHX"), Some("no"));
        assert_eq!(ImageSpec::default().path_dirs().len(), 6);
    }

    #[test]
    fn tcp_ports_only() {
        let spec = ImageSpec {
            exposed_ports: vec![
                "8080/tcp".into(),
                "53/udp".into(),
                "80".into(),
                "80/tcp".into(),
            ],
            ..Default::default()
        };
        assert_eq!(spec.tcp_ports(), [80, 8080]);
    }

    #[test]
    fn created_epoch_parses_rfc3339() {
        let spec = ImageSpec {
            created: Some("2024-01-02T03:04:05.123456789Z".into()),
            ..Default::default()
        };
        assert_eq!(spec.created_epoch(), Some(1_704_164_645));
    }
}
