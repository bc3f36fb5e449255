//! The slim image's configuration: the source's runtime settings, the new user, one layer.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::image::ImageSpec;

/// Label naming the image a slim image was made from (OCI annotation key, used as a label).
pub const BASE_NAME_LABEL: &str = "org.opencontainers.image.base.name";
/// Label holding the digest (or ID) of the image a slim image was made from.
pub const BASE_DIGEST_LABEL: &str = "org.opencontainers.image.base.digest";

/// What goes into the config besides the source's settings.
pub struct ConfigInput<'a> {
    pub source: &'a ImageSpec,
    /// `UID:GID`
    pub user: &'a str,
    /// `sha256:…` of the layer
    pub diff_id: &'a str,
    /// RFC 3339; the source's creation time keeps the output reproducible
    pub created: &'a str,
    pub extra_labels: BTreeMap<String, String>,
    /// one line for the history entry ("slim build app:1")
    pub created_by: &'a str,
}

/// The config JSON, with keys in a stable order so equal inputs give equal digests.
pub fn image_config(input: &ConfigInput) -> Vec<u8> {
    let source = input.source;
    let mut config = Map::new();
    config.insert("User".into(), json!(input.user));
    if !source.env.is_empty() {
        config.insert("Env".into(), json!(source.env));
    }
    if !source.entrypoint.is_empty() {
        config.insert("Entrypoint".into(), json!(source.entrypoint));
    }
    if !source.cmd.is_empty() {
        config.insert("Cmd".into(), json!(source.cmd));
    }
    // Always stated: the root when the source names none, which is what both builders write.
    config.insert("WorkingDir".into(), json!(working_dir(&source.working_dir)));
    if !source.exposed_ports.is_empty() {
        config.insert(
            "ExposedPorts".into(),
            empty_object_map(&source.exposed_ports),
        );
    }
    if !source.volumes.is_empty() {
        config.insert("Volumes".into(), empty_object_map(&source.volumes));
    }
    let mut labels = source.labels.clone();
    labels.extend(input.extra_labels.clone());
    if !labels.is_empty() {
        config.insert("Labels".into(), json!(labels));
    }
    if let Some(signal) = &source.stop_signal {
        config.insert("StopSignal".into(), json!(signal));
    }
    if let Some(health) = &source.healthcheck {
        config.insert("Healthcheck".into(), json!(health));
    }
    let document = json!({
        "architecture": if source.architecture.is_empty() { "amd64" } else { &source.architecture },
        "os": if source.os.is_empty() { "linux" } else { &source.os },
        "created": input.created,
        "config": Value::Object(config),
        "rootfs": { "type": "layers", "diff_ids": [input.diff_id] },
        "history": [{ "created": input.created, "created_by": input.created_by, "comment": "slim: kept what the app needs" }],
    });
    // serde_json's map is ordered by key, so this serialization is canonical for our purposes.
    serde_json::to_vec(&document).unwrap_or_default()
}

/// The working directory an image runs in: its WORKDIR, or the root.
pub fn working_dir(workdir: &str) -> &str {
    if workdir.is_empty() { "/" } else { workdir }
}

fn empty_object_map(keys: &[String]) -> Value {
    Value::Object(keys.iter().map(|k| (k.clone(), json!({}))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Healthcheck;

    #[test]
    fn carries_runtime_settings_over() {
        let source = ImageSpec {
            architecture: "amd64".into(),
            os: "linux".into(),
            user: "root".into(),
            entrypoint: vec!["/docker-entrypoint.sh".into()],
            cmd: vec!["nginx".into(), "-g".into(), "daemon off;".into()],
            env: vec!["PATH=/usr/bin".into()],
            working_dir: "/srv".into(),
            exposed_ports: vec!["80/tcp".into()],
            volumes: vec!["/data".into()],
            labels: BTreeMap::from([("maintainer".into(), "x".into())]),
            stop_signal: Some("SIGQUIT".into()),
            healthcheck: Some(Healthcheck {
                test: Some(vec!["CMD".into(), "true".into()]),
                interval: Some(5_000_000_000),
                ..Default::default()
            }),
            ..Default::default()
        };
        let input = ConfigInput {
            source: &source,
            user: "65532:65532",
            diff_id: "sha256:abc",
            created: "2024-01-01T00:00:00Z",
            extra_labels: BTreeMap::from([(BASE_NAME_LABEL.into(), "app:1".into())]),
            created_by: "slim build app:1",
        };
        let bytes = image_config(&input);
        assert_eq!(bytes, image_config(&input), "same input, same bytes");
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        let c = &v["config"];
        assert_eq!(c["User"], "65532:65532");
        assert_eq!(c["Cmd"][2], "daemon off;");
        assert_eq!(c["ExposedPorts"]["80/tcp"], json!({}));
        assert_eq!(c["Volumes"]["/data"], json!({}));
        assert_eq!(c["Labels"]["maintainer"], "x");
        assert_eq!(c["Labels"][BASE_NAME_LABEL], "app:1");
        assert_eq!(c["StopSignal"], "SIGQUIT");
        assert_eq!(c["Healthcheck"]["Test"][1], "true");
        assert_eq!(c["Healthcheck"]["Interval"], 5_000_000_000i64);
        assert_eq!(c["WorkingDir"], "/srv");
        assert_eq!(v["rootfs"]["diff_ids"][0], "sha256:abc");
        assert_eq!(v["created"], "2024-01-01T00:00:00Z");
    }
}
