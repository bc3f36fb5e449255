//! Opening an image file without any engine: find the image (by REF when the file holds
//! several), verify and read its manifest and config, and describe its layers. Layers
//! are only streamed later, through [`ImageSource::layer_stream`].

use std::path::PathBuf;

use serde::de::DeserializeOwned;

use super::bundle::Bundle;
use super::error::ArchiveError;
use super::json::{ConfigFile, Descriptor, DockerSaveEntry, Index, LayoutMarker, Manifest};
use super::layer::{LayerInfo, LayerStream};
use super::location::ImageLocation;
use super::media::{self, Compression};
use super::spec::image_spec;
use crate::digest::Digest;
use crate::image::ImageSpec;

/// JSON documents (manifests, indexes, configs) are read whole; none is legitimately this big.
pub const JSON_LIMIT: u64 = 16 << 20;
/// Indexes nest (a layout's index.json → a multi-platform index → a manifest); deeper is hostile.
const MAX_INDEX_DEPTH: usize = 4;

/// An image opened from a file: verified config and manifest, layers described.
#[derive(Debug)]
pub struct ImageSource {
    pub location: ImageLocation,
    pub spec: ImageSpec,
    /// the config exactly as stored (its sha256 is the image ID)
    pub config: Vec<u8>,
    pub config_digest: Digest,
    /// digest of the manifest, when the file has one (OCI layouts, Docker 25+ saves)
    pub manifest_digest: Option<Digest>,
    pub layers: Vec<LayerInfo>,
}

impl ImageSource {
    pub fn open(location: &ImageLocation) -> Result<ImageSource, ArchiveError> {
        let reference = location.reference();
        let (opened, bundle) = match location {
            ImageLocation::DockerArchive { path, .. } => {
                let bundle = Bundle::open_tar(path)?;
                (open_docker_save(&bundle, reference)?, bundle)
            }
            ImageLocation::OciDir { path, .. } => {
                let bundle = Bundle::open_dir(path)?;
                (open_oci(&bundle, reference)?, bundle)
            }
            ImageLocation::OciArchive { path, .. } => {
                let bundle = Bundle::open_tar(path)?;
                (open_oci(&bundle, reference)?, bundle)
            }
        };
        drop(bundle); // layers keep their own handles on the file
        let stored: u64 = opened.layers.iter().map(|l| l.size).sum();
        let config_digest = Digest::of_bytes(&opened.config);
        let spec = image_spec(&opened.parsed, &config_digest, opened.repo_tags, stored);
        Ok(ImageSource {
            location: location.clone(),
            spec,
            config: opened.config,
            config_digest,
            manifest_digest: opened.manifest_digest,
            layers: opened.layers,
        })
    }

    /// The uncompressed, verifying tar stream of layer `index` (0 = bottom).
    pub fn layer_stream(&self, index: usize) -> Result<LayerStream, ArchiveError> {
        let layer = self
            .layers
            .get(index)
            .ok_or_else(|| ArchiveError::Malformed {
                object: self.location.to_string(),
                reason: format!("no layer {index}"),
            })?;
        LayerStream::open(layer)
    }

    pub fn path(&self) -> &PathBuf {
        self.location.path()
    }
}

struct Opened {
    config: Vec<u8>,
    parsed: ConfigFile,
    manifest_digest: Option<Digest>,
    layers: Vec<LayerInfo>,
    repo_tags: Vec<String>,
}

fn parse<T: DeserializeOwned>(bytes: &[u8], object: &str) -> Result<T, ArchiveError> {
    serde_json::from_slice(bytes).map_err(|source| ArchiveError::Json {
        object: object.into(),
        source,
    })
}

fn read_json<T: DeserializeOwned>(bundle: &Bundle, name: &str) -> Result<T, ArchiveError> {
    let bytes = bundle.read_small(name, JSON_LIMIT)?;
    parse(&bytes, &format!("{}: {name}", bundle.path().display()))
}

/// A JSON blob named by a descriptor, checked against its size and digest.
fn read_blob(
    bundle: &Bundle,
    descriptor: &Descriptor,
    what: &str,
) -> Result<Vec<u8>, ArchiveError> {
    let object = format!("{what} {}", descriptor.digest);
    if descriptor.size > JSON_LIMIT {
        return Err(ArchiveError::TooLarge {
            object,
            size: descriptor.size,
            limit: JSON_LIMIT,
        });
    }
    let name = descriptor.digest.blob_path();
    let slice = bundle.locate(&name)?;
    if slice.size < descriptor.size {
        return Err(ArchiveError::Truncated {
            object,
            path: Some(name),
        });
    }
    if slice.size > descriptor.size {
        return Err(ArchiveError::Oversize {
            object,
            expected: descriptor.size,
        });
    }
    let bytes = bundle.read_small(&name, JSON_LIMIT)?;
    check_digest(&bytes, &descriptor.digest, &object)?;
    Ok(bytes)
}

fn check_digest(bytes: &[u8], expected: &Digest, object: &str) -> Result<(), ArchiveError> {
    let actual = Digest::of_bytes(bytes);
    if actual != *expected {
        return Err(ArchiveError::DigestMismatch {
            object: object.into(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(())
}

/// The kind of a manifest-ish blob: by its descriptor, else by its own mediaType, else shape.
fn is_index_blob(descriptor: &Descriptor, bytes: &[u8]) -> bool {
    if media::is_index(&descriptor.media_type) {
        return true;
    }
    if media::is_manifest(&descriptor.media_type) {
        return false;
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    match value.get("mediaType").and_then(|m| m.as_str()) {
        Some(m) => media::is_index(m),
        None => value.get("manifests").is_some(),
    }
}

fn ref_names(descriptor: &Descriptor) -> Vec<String> {
    [media::CONTAINERD_NAME, media::REF_NAME]
        .iter()
        .filter_map(|k| descriptor.annotations.get(*k).cloned())
        .collect()
}

fn is_attestation(descriptor: &Descriptor) -> bool {
    descriptor
        .annotations
        .get("vnd.docker.reference.type")
        .is_some_and(|t| t == "attestation-manifest")
        || descriptor
            .platform
            .as_ref()
            .is_some_and(|p| p.os == "unknown")
}

fn is_linux_amd64(descriptor: &Descriptor) -> bool {
    descriptor
        .platform
        .as_ref()
        .is_some_and(|p| p.os == "linux" && p.architecture == "amd64")
}

/// Among the entries of an index: the only image, else the linux/amd64 one.
fn pick_platform<'a>(manifests: &[&'a Descriptor]) -> Result<&'a Descriptor, String> {
    let images: Vec<&Descriptor> = manifests
        .iter()
        .copied()
        .filter(|d| !is_attestation(d))
        .collect();
    if let [only] = images.as_slice() {
        return Ok(only);
    }
    if let Some(amd64) = images.iter().find(|d| is_linux_amd64(d)) {
        return Ok(amd64);
    }
    let platforms: Vec<String> = images
        .iter()
        .map(|d| {
            d.platform
                .as_ref()
                .map_or("unknown".into(), |p| format!("{}/{}", p.os, p.architecture))
        })
        .collect();
    Err(format!(
        "has {} images and none for linux/amd64 (platforms: {})",
        images.len(),
        platforms.join(", ")
    ))
}

fn open_oci(bundle: &Bundle, reference: Option<&str>) -> Result<Opened, ArchiveError> {
    let path = bundle.path().to_path_buf();
    if !bundle.contains("oci-layout") || !bundle.contains("index.json") {
        return Err(ArchiveError::NotAnImage {
            path,
            reason: "no oci-layout and index.json: not an OCI image layout".into(),
        });
    }
    let marker: LayoutMarker = read_json(bundle, "oci-layout")?;
    if !marker.image_layout_version.starts_with("1.") {
        return Err(ArchiveError::NotAnImage {
            path,
            reason: format!(
                "OCI image layout version {} (this reader knows 1.x)",
                marker.image_layout_version
            ),
        });
    }
    let index: Index = read_json(bundle, "index.json")?;
    let candidates: Vec<&Descriptor> = match reference {
        Some(wanted) => index
            .manifests
            .iter()
            .filter(|d| ref_names(d).iter().any(|n| n == wanted))
            .collect(),
        None => index.manifests.iter().collect(),
    };
    let all_refs = || {
        let refs: Vec<String> = index.manifests.iter().flat_map(ref_names).collect();
        if refs.is_empty() {
            "none is named".to_string()
        } else {
            format!("names: {}", refs.join(", "))
        }
    };
    let chosen = match (candidates.as_slice(), reference) {
        ([], Some(wanted)) => {
            return Err(ArchiveError::NoSuchImage {
                path,
                reason: format!("no image named {wanted:?} ({})", all_refs()),
            });
        }
        ([], None) => {
            return Err(ArchiveError::NoSuchImage {
                path,
                reason: "index.json lists no image".into(),
            });
        }
        ([only], _) => *only,
        (several, _) => pick_platform(several).map_err(|_| ArchiveError::NoSuchImage {
            path: path.clone(),
            reason: format!(
                "holds {} images; choose one with :REF ({})",
                several.len(),
                all_refs()
            ),
        })?,
    };
    let repo_tags = ref_names(chosen).into_iter().take(1).collect();
    let (manifest_descriptor, manifest) = resolve_manifest(bundle, chosen, 0)?;
    let mut opened = from_manifest(bundle, &manifest_descriptor, &manifest)?;
    opened.repo_tags = repo_tags;
    Ok(opened)
}

/// Follow indexes down to one image manifest (verified all the way).
fn resolve_manifest(
    bundle: &Bundle,
    descriptor: &Descriptor,
    depth: usize,
) -> Result<(Descriptor, Manifest), ArchiveError> {
    let bytes = read_blob(bundle, descriptor, "manifest")?;
    let object = format!("manifest {}", descriptor.digest);
    if !is_index_blob(descriptor, &bytes) {
        return Ok((descriptor.clone(), parse(&bytes, &object)?));
    }
    if depth >= MAX_INDEX_DEPTH {
        return Err(ArchiveError::Malformed {
            object,
            reason: "indexes nested too deeply".into(),
        });
    }
    let index: Index = parse(&bytes, &object)?;
    let entries: Vec<&Descriptor> = index.manifests.iter().collect();
    let chosen = pick_platform(&entries).map_err(|reason| ArchiveError::NoSuchImage {
        path: bundle.path().into(),
        reason: format!("index {} {reason}", descriptor.digest),
    })?;
    resolve_manifest(bundle, chosen, depth + 1)
}

fn from_manifest(
    bundle: &Bundle,
    descriptor: &Descriptor,
    manifest: &Manifest,
) -> Result<Opened, ArchiveError> {
    let config = read_blob(bundle, &manifest.config, "config")?;
    let parsed: ConfigFile = parse(&config, &format!("config {}", manifest.config.digest))?;
    let diff_ids = diff_ids(&parsed, &manifest.config.digest.to_string())?;
    if diff_ids.len() != manifest.layers.len() {
        return Err(ArchiveError::Malformed {
            object: format!("manifest {}", descriptor.digest),
            reason: format!(
                "{} layers but the config lists {} diff_ids",
                manifest.layers.len(),
                diff_ids.len()
            ),
        });
    }
    let mut layers = Vec::new();
    for (layer, diff_id) in manifest.layers.iter().zip(diff_ids) {
        if !media::is_layer(&layer.media_type) {
            return Err(ArchiveError::NotAnImage {
                path: bundle.path().into(),
                reason: format!(
                    "layer {} has media type {:?}, not a file system layer",
                    layer.digest, layer.media_type
                ),
            });
        }
        let blob = bundle.locate(&layer.digest.blob_path())?;
        if blob.size < layer.size {
            return Err(ArchiveError::Truncated {
                object: format!("layer {}", layer.digest),
                path: None,
            });
        }
        let compression = Compression::sniff(&layer.media_type, &peek(&blob));
        layers.push(LayerInfo {
            media_type: layer.media_type.clone(),
            digest: Some(layer.digest.clone()),
            diff_id,
            size: layer.size,
            compression,
            blob,
        });
    }
    Ok(Opened {
        config,
        parsed,
        manifest_digest: Some(descriptor.digest.clone()),
        layers,
        repo_tags: Vec::new(),
    })
}

fn diff_ids(config: &ConfigFile, object: &str) -> Result<Vec<Digest>, ArchiveError> {
    config
        .rootfs
        .as_ref()
        .map(|r| r.diff_ids.clone())
        .ok_or_else(|| ArchiveError::Malformed {
            object: format!("config {object}"),
            reason: "no rootfs.diff_ids".into(),
        })
}

fn peek(blob: &super::bundle::FileSlice) -> Vec<u8> {
    blob.read_at(0, 4).unwrap_or_default()
}

fn open_docker_save(bundle: &Bundle, reference: Option<&str>) -> Result<Opened, ArchiveError> {
    let path = bundle.path().to_path_buf();
    if !bundle.contains("manifest.json") {
        return Err(ArchiveError::NotAnImage {
            path,
            reason: "no manifest.json: not a docker save archive".into(),
        });
    }
    let entries: Vec<DockerSaveEntry> = read_json(bundle, "manifest.json")?;
    let tags = |e: &DockerSaveEntry| e.repo_tags.clone().unwrap_or_default();
    let all_tags = || {
        let tags: Vec<String> = entries.iter().flat_map(tags).collect();
        if tags.is_empty() {
            "none is tagged".into()
        } else {
            format!("tags: {}", tags.join(", "))
        }
    };
    let entry = match reference {
        Some(wanted) => entries
            .iter()
            .find(|e| {
                tags(e)
                    .iter()
                    .any(|t| t == wanted || *t == format!("{wanted}:latest"))
            })
            .ok_or_else(|| ArchiveError::NoSuchImage {
                path: path.clone(),
                reason: format!("no image tagged {wanted:?} ({})", all_tags()),
            })?,
        None => match entries.as_slice() {
            [only] => only,
            [] => {
                return Err(ArchiveError::NoSuchImage {
                    path,
                    reason: "manifest.json lists no image".into(),
                });
            }
            several => {
                return Err(ArchiveError::NoSuchImage {
                    path,
                    reason: format!(
                        "holds {} images; choose one with :REF ({})",
                        several.len(),
                        all_tags()
                    ),
                });
            }
        },
    };

    let config = bundle.read_small(&entry.config, JSON_LIMIT)?;
    let config_digest = Digest::of_bytes(&config);
    let object = format!("config {}", entry.config);
    // Legacy saves name the config `<hex>.json`, Docker 25+ `blobs/sha256/<hex>`.
    if let Some(expected) = digest_in_name(&entry.config) {
        check_digest(&config, &expected, &object)?;
    }
    let parsed: ConfigFile = parse(&config, &object)?;

    // Docker 25+ saves are also OCI layouts: take manifest digest and descriptors from there.
    if bundle.contains("index.json") && bundle.contains("oci-layout") {
        let index: Index = read_json(bundle, "index.json")?;
        if let Some((descriptor, manifest)) =
            find_manifest_for(bundle, &index.manifests, &config_digest, 0)?
        {
            let mut opened = from_manifest(bundle, &descriptor, &manifest)?;
            opened.repo_tags = tags(entry);
            return Ok(opened);
        }
    }

    let diff_ids = diff_ids(&parsed, &entry.config)?;
    if diff_ids.len() != entry.layers.len() {
        return Err(ArchiveError::Malformed {
            object: format!("{}: manifest.json", path.display()),
            reason: format!(
                "{} layers but the config lists {} diff_ids",
                entry.layers.len(),
                diff_ids.len()
            ),
        });
    }
    let mut layers = Vec::new();
    for (name, diff_id) in entry.layers.iter().zip(diff_ids) {
        let blob = bundle.locate(name)?;
        let compression = Compression::sniff("", &peek(&blob));
        let (media_type, digest) = match compression {
            Compression::None => (
                media::DOCKER_LAYER,
                Some(digest_in_name(name).unwrap_or_else(|| diff_id.clone())),
            ),
            Compression::Gzip => (media::DOCKER_LAYER_GZIP, digest_in_name(name)),
            Compression::Zstd => (media::OCI_LAYER_ZSTD, digest_in_name(name)),
        };
        layers.push(LayerInfo {
            media_type: media_type.into(),
            digest,
            diff_id,
            size: blob.size,
            compression,
            blob,
        });
    }
    Ok(Opened {
        config,
        parsed,
        manifest_digest: None,
        layers,
        repo_tags: tags(entry),
    })
}

/// `blobs/sha256/<hex>` or `<hex>.json` → the digest the name promises.
fn digest_in_name(name: &str) -> Option<Digest> {
    let name = name.trim_start_matches("./");
    if let Some(hex) = name.strip_prefix("blobs/sha256/") {
        return Digest::from_hex(hex);
    }
    Digest::from_hex(name.strip_suffix(".json")?)
}

/// The manifest (under `manifests`, following indexes) whose config is `config`.
fn find_manifest_for(
    bundle: &Bundle,
    manifests: &[Descriptor],
    config: &Digest,
    depth: usize,
) -> Result<Option<(Descriptor, Manifest)>, ArchiveError> {
    if depth >= MAX_INDEX_DEPTH {
        return Ok(None);
    }
    for descriptor in manifests {
        let bytes = match read_blob(bundle, descriptor, "manifest") {
            // other platforms of an index are often not saved
            Err(ArchiveError::MissingFile { .. }) => continue,
            other => other?,
        };
        let object = format!("manifest {}", descriptor.digest);
        if is_index_blob(descriptor, &bytes) {
            let index: Index = parse(&bytes, &object)?;
            if let Some(found) = find_manifest_for(bundle, &index.manifests, config, depth + 1)? {
                return Ok(Some(found));
            }
        } else {
            let manifest: Manifest = parse(&bytes, &object)?;
            if manifest.config.digest == *config {
                return Ok(Some((descriptor.clone(), manifest)));
            }
        }
    }
    Ok(None)
}
