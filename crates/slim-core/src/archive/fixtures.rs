//! Image files built in tests: layer tars (hostile ones too: names and links are written
//! into the headers raw), compressed blobs, and the bundle formats around them.

use std::fs;
use std::io::Write;
use std::path::Path;

use serde_json::json;

use super::json::canonical_json;
use super::media::{self, Compression};
use crate::digest::Digest;

/// A layer tar written header by header, with no checks on names.
pub struct LayerTar {
    builder: tar::Builder<Vec<u8>>,
}

impl Default for LayerTar {
    fn default() -> Self {
        LayerTar::new()
    }
}

impl LayerTar {
    pub fn new() -> Self {
        LayerTar {
            builder: tar::Builder::new(Vec::new()),
        }
    }

    pub fn raw(
        mut self,
        name: &str,
        kind: tar::EntryType,
        mode: u32,
        link: Option<&str>,
        data: &[u8],
    ) -> Self {
        let mut header = tar::Header::new_gnu();
        let old = header.as_old_mut();
        assert!(name.len() <= 100, "fixture names fit the header");
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(link) = link {
            old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(1_700_000_000);
        header.set_size(data.len() as u64);
        if matches!(kind, tar::EntryType::Char | tar::EntryType::Block) {
            header.set_device_major(1).unwrap();
            header.set_device_minor(3).unwrap();
        }
        header.set_cksum();
        self.builder.append(&header, data).unwrap();
        self
    }

    pub fn dir(self, name: &str) -> Self {
        self.raw(name, tar::EntryType::Directory, 0o755, None, b"")
    }

    pub fn file(self, name: &str, data: &[u8]) -> Self {
        self.raw(name, tar::EntryType::Regular, 0o644, None, data)
    }

    pub fn exe(self, name: &str, data: &[u8]) -> Self {
        self.raw(name, tar::EntryType::Regular, 0o755, None, data)
    }

    pub fn symlink(self, name: &str, target: &str) -> Self {
        self.raw(name, tar::EntryType::Symlink, 0o777, Some(target), b"")
    }

    pub fn hardlink(self, name: &str, target: &str) -> Self {
        self.raw(name, tar::EntryType::Link, 0o644, Some(target), b"")
    }

    pub fn device(self, name: &str) -> Self {
        self.raw(name, tar::EntryType::Char, 0o666, None, b"")
    }

    pub fn build(self) -> Vec<u8> {
        self.builder.into_inner().unwrap()
    }
}

/// A layer as stored: its tar compressed (or not).
#[derive(Clone)]
pub struct Blob {
    pub tar: Vec<u8>,
    pub stored: Vec<u8>,
    pub media_type: &'static str,
}

impl Blob {
    pub fn new(tar: Vec<u8>, compression: Compression) -> Blob {
        let (stored, media_type) = match compression {
            Compression::None => (tar.clone(), media::OCI_LAYER),
            Compression::Gzip => {
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                enc.write_all(&tar).unwrap();
                (enc.finish().unwrap(), media::OCI_LAYER_GZIP)
            }
            Compression::Zstd => (
                zstd::stream::encode_all(&tar[..], 3).unwrap(),
                media::OCI_LAYER_ZSTD,
            ),
        };
        Blob {
            tar,
            stored,
            media_type,
        }
    }

    pub fn diff_id(&self) -> Digest {
        Digest::of_bytes(&self.tar)
    }

    pub fn digest(&self) -> Digest {
        Digest::of_bytes(&self.stored)
    }
}

pub fn config_for(layers: &[Blob]) -> Vec<u8> {
    config_with_diff_ids(&layers.iter().map(Blob::diff_id).collect::<Vec<_>>())
}

pub fn config_with_diff_ids(diff_ids: &[Digest]) -> Vec<u8> {
    canonical_json(&json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-02T03:04:05Z",
        "config": {
            "Cmd": ["/bin/app", "--serve"],
            "Env": ["PATH=/usr/bin:/bin"],
            "User": "app",
            "WorkingDir": "/srv",
            "ExposedPorts": {"8080/tcp": {}},
            "Labels": {"fixture": "yes"},
        },
        "rootfs": {
            "type": "layers",
            "diff_ids": diff_ids.iter().map(Digest::to_string).collect::<Vec<_>>(),
        },
    }))
}

fn write_blob(dir: &Path, bytes: &[u8]) -> Digest {
    let digest = Digest::of_bytes(bytes);
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    fs::write(blobs.join(digest.hex()), bytes).unwrap();
    digest
}

fn descriptor(media_type: &str, bytes: &[u8]) -> serde_json::Value {
    json!({"mediaType": media_type, "digest": Digest::of_bytes(bytes).to_string(), "size": bytes.len()})
}

/// Write blobs, config and manifest into `dir`; returns (manifest bytes, config bytes).
pub fn write_image_blobs(dir: &Path, layers: &[Blob], config: &[u8]) -> (Vec<u8>, Vec<u8>) {
    for layer in layers {
        write_blob(dir, &layer.stored);
    }
    write_blob(dir, config);
    let manifest = canonical_json(&json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_MANIFEST,
        "config": descriptor(media::OCI_CONFIG, config),
        "layers": layers.iter().map(|l| descriptor(l.media_type, &l.stored)).collect::<Vec<_>>(),
    }));
    write_blob(dir, &manifest);
    (manifest, config.to_vec())
}

/// An OCI image layout with one image per (layers, ref name).
pub fn oci_dir(dir: &Path, images: &[(&[Blob], Option<&str>)]) -> Vec<Digest> {
    let mut entries = Vec::new();
    let mut digests = Vec::new();
    for (layers, name) in images {
        let (manifest, _) = write_image_blobs(dir, layers, &config_for(layers));
        let mut entry = descriptor(media::OCI_MANIFEST, &manifest);
        if let Some(name) = name {
            entry["annotations"] = json!({ media::REF_NAME: name });
        }
        digests.push(Digest::of_bytes(&manifest));
        entries.push(entry);
    }
    write_index(dir, entries);
    digests
}

pub fn write_index(dir: &Path, manifests: Vec<serde_json::Value>) {
    fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = json!({"schemaVersion": 2, "mediaType": media::OCI_INDEX, "manifests": manifests});
    fs::write(dir.join("index.json"), canonical_json(&index)).unwrap();
}

/// Tar up a directory (sorted, relative names) into `out`.
pub fn tar_dir(dir: &Path, out: &Path) {
    let mut builder = tar::Builder::new(fs::File::create(out).unwrap());
    let mut paths: Vec<_> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .collect();
    paths.sort();
    for path in paths {
        let name = path.strip_prefix(dir).unwrap();
        if path.is_dir() {
            builder.append_dir(name, &path).unwrap();
        } else {
            builder.append_path_with_name(&path, name).unwrap();
        }
    }
    builder.finish().unwrap();
}

/// `docker save` as Docker before 25 writes it: `<id>/layer.tar`, `<config hex>.json`,
/// manifest.json, repositories. The second image (if any) reuses the first layer through
/// a symlinked layer.tar, as docker save does for shared layers.
pub fn docker_legacy(out: &Path, images: &[(&[Blob], &str)]) {
    let stage = tempfile::tempdir().unwrap();
    let dir = stage.path();
    let mut manifest = Vec::new();
    let mut seen: Vec<(Digest, String)> = Vec::new();
    for (layers, tag) in images {
        let config = config_for(layers);
        let config_name = format!("{}.json", Digest::of_bytes(&config).hex());
        fs::write(dir.join(&config_name), &config).unwrap();
        let mut names = Vec::new();
        for (i, layer) in layers.iter().enumerate() {
            // v1 ids are arbitrary; make them differ from the diff_id like real ones
            let id = Digest::of_bytes(format!("{tag}-{i}").as_bytes());
            let layer_dir = dir.join(id.hex());
            fs::create_dir_all(&layer_dir).unwrap();
            fs::write(layer_dir.join("VERSION"), b"1.0").unwrap();
            match seen.iter().find(|(d, _)| *d == layer.diff_id()) {
                Some((_, first)) => std::os::unix::fs::symlink(
                    format!("../{first}/layer.tar"),
                    layer_dir.join("layer.tar"),
                )
                .unwrap(),
                None => {
                    fs::write(layer_dir.join("layer.tar"), &layer.stored).unwrap();
                    seen.push((layer.diff_id(), id.hex().to_string()));
                }
            }
            names.push(format!("{}/layer.tar", id.hex()));
        }
        manifest.push(json!({"Config": config_name, "RepoTags": [tag], "Layers": names}));
    }
    fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    fs::write(dir.join("repositories"), b"{}").unwrap();
    tar_dir(dir, out);
}

/// `docker save` as Docker 25+ writes it: an OCI layout plus manifest.json into blobs.
pub fn docker_25(out: &Path, layers: &[Blob], tag: &str) -> Digest {
    let stage = tempfile::tempdir().unwrap();
    let dir = stage.path();
    let config = config_for(layers);
    let (manifest, _) = write_image_blobs(dir, layers, &config);
    let mut entry = descriptor(media::OCI_MANIFEST, &manifest);
    entry["annotations"] =
        json!({ media::CONTAINERD_NAME: format!("docker.io/library/{tag}"), media::REF_NAME: "1" });
    write_index(dir, vec![entry]);
    let save = json!([{
        "Config": format!("blobs/sha256/{}", Digest::of_bytes(&config).hex()),
        "RepoTags": [tag],
        "Layers": layers.iter().map(|l| format!("blobs/sha256/{}", l.digest().hex())).collect::<Vec<_>>(),
    }]);
    fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec(&save).unwrap(),
    )
    .unwrap();
    tar_dir(dir, out);
    Digest::of_bytes(&manifest)
}

/// Every path under `dir`, relative, sorted (to check nothing appeared outside the work dir).
pub fn listing(dir: &Path) -> Vec<String> {
    let mut paths: Vec<String> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| {
            e.unwrap()
                .path()
                .strip_prefix(dir)
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    paths.sort();
    paths
}
