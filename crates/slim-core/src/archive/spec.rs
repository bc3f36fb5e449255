//! From an image config file to the [`ImageSpec`] the rest of slim works with.

use super::json::ConfigFile;
use crate::digest::Digest;
use crate::image::ImageSpec;

/// The spec of an image whose config is `config` (already parsed from `bytes`).
pub fn image_spec(
    config: &ConfigFile,
    config_digest: &Digest,
    repo_tags: Vec<String>,
    stored_size: u64,
) -> ImageSpec {
    let run = config.config.clone().unwrap_or_default();
    let keys = |map: Option<std::collections::BTreeMap<String, serde_json::Value>>| {
        map.map(|m| m.into_keys().collect()).unwrap_or_default()
    };
    ImageSpec {
        id: config_digest.to_string(),
        repo_digests: Vec::new(),
        repo_tags,
        architecture: config.architecture.clone(),
        os: config.os.clone(),
        created: config.created.clone(),
        size: stored_size,
        layers: config.rootfs.as_ref().map_or(0, |r| r.diff_ids.len()),
        user: run.user.unwrap_or_default(),
        entrypoint: run.entrypoint.unwrap_or_default(),
        cmd: run.cmd.unwrap_or_default(),
        env: run.env.unwrap_or_default(),
        working_dir: run.working_dir.unwrap_or_default(),
        exposed_ports: keys(run.exposed_ports),
        volumes: keys(run.volumes),
        labels: run.labels.unwrap_or_default(),
        stop_signal: run.stop_signal.filter(|s| !s.is_empty()),
        healthcheck: run.healthcheck,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_every_field() {
        let bytes = br#"{"architecture":"amd64","os":"linux","created":"2024-01-02T03:04:05Z",
            "config":{"User":"app","Entrypoint":["/e"],"Cmd":["c"],"Env":["A=1"],
            "WorkingDir":"/w","ExposedPorts":{"80/tcp":{},"53/udp":{}},"Volumes":{"/data":{}},
            "Labels":{"k":"v"},"StopSignal":"SIGQUIT",
            "Healthcheck":{"Test":["CMD","true"],"Interval":5000000000,"Retries":3}},
            "rootfs":{"type":"layers","diff_ids":["sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"]}}"#;
        let config: ConfigFile = serde_json::from_slice(bytes).unwrap();
        let digest = Digest::of_bytes(bytes);
        let spec = image_spec(&config, &digest, vec!["app:1".into()], 10);
        assert_eq!(spec.id, digest.to_string());
        assert_eq!(
            (spec.architecture.as_str(), spec.os.as_str()),
            ("amd64", "linux")
        );
        assert_eq!(spec.user, "app");
        assert_eq!(spec.command(), ["/e", "c"]);
        assert_eq!(spec.env, ["A=1"]);
        assert_eq!(spec.working_dir, "/w");
        assert_eq!(spec.exposed_ports, ["53/udp", "80/tcp"]);
        assert_eq!(spec.volumes, ["/data"]);
        assert_eq!(spec.labels["k"], "v");
        assert_eq!(spec.stop_signal.as_deref(), Some("SIGQUIT"));
        let health = spec.healthcheck.clone().unwrap();
        assert_eq!(health.interval, Some(5_000_000_000));
        assert_eq!(health.retries, Some(3));
        assert_eq!(spec.created_epoch(), Some(1_704_164_645));
        assert_eq!(spec.layers, 1);
        assert_eq!(spec.repo_tags, ["app:1"]);
    }
}
