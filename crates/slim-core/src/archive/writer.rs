//! Writing a single-layer image (the slim result) as `docker-archive`, `oci` or
//! `oci-archive`. Reproducible: entries sorted, headers fixed (owner 0, fixed modes, mtime
//! = the given epoch), gzip without a timestamp, JSON canonical; equal inputs give equal
//! bytes. Output appears whole or not at all (staged next to it, then renamed).

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use super::error::ArchiveError;
use super::json::{ConfigFile, canonical_json};
use super::location::ImageLocation;
use super::media;
use crate::digest::Digest;
use crate::digest::HashingWriter;
use crate::leftovers::ScratchDir;

/// How the layer blob is stored in an OCI output; docker-archive layers are always plain
/// tar (`<id>/layer.tar`), which every `docker load` reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerCompression {
    #[default]
    None,
    Gzip,
}

#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    pub layer_compression: LayerCompression,
    /// mtime of the entries of the archive wrapper (the files of the image file itself)
    pub epoch: u64,
}

/// The image to write: one layer and a config that lists exactly its diff_id.
#[derive(Debug, Clone, Copy)]
pub struct ImageToWrite<'a> {
    pub config: &'a [u8],
    /// the uncompressed layer tar
    pub layer: &'a Path,
    /// `name:tag` for docker-archive's RepoTags and the OCI ref annotation, unless the
    /// location's REF says otherwise
    pub name: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WrittenLayer {
    pub media_type: String,
    pub digest: Digest,
    pub diff_id: Digest,
    pub size: u64,
}

/// Digests of what was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WrittenImage {
    /// the image ID
    pub config_digest: Digest,
    /// none for docker-archive, which has no manifest blob
    pub manifest_digest: Option<Digest>,
    pub layers: Vec<WrittenLayer>,
}

pub fn write_image(
    target: &ImageLocation,
    image: &ImageToWrite,
    options: &WriteOptions,
) -> Result<WrittenImage, ArchiveError> {
    let out = target.path();
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target.reference().or(image.name);
    let stage = ScratchDir::new_in(&parent, ".slim-write-").map_err(|e| {
        ArchiveError::io(
            format!("creating a staging directory in {}", parent.display()),
            e,
        )
    })?;
    let compression = match target {
        ImageLocation::DockerArchive { .. } => LayerCompression::None,
        _ => options.layer_compression,
    };
    let layer = stage_layer(image.layer, compression, stage.path())?;
    check_config_lists(image.config, &layer.diff_id)?;
    let config_digest = Digest::of_bytes(image.config);

    match target {
        ImageLocation::DockerArchive { .. } => {
            let manifest = canonical_json(&json!([{
                "Config": format!("{}.json", config_digest.hex()),
                "RepoTags": name.map(|n| vec![n.to_string()]).unwrap_or_default(),
                "Layers": [format!("{}/layer.tar", layer.diff_id.hex())],
            }]));
            let members = vec![
                Member::file(
                    format!("{}.json", config_digest.hex()),
                    Source::Bytes(image.config.to_vec()),
                ),
                Member::dir(format!("{}/", layer.diff_id.hex())),
                Member::file(
                    format!("{}/layer.tar", layer.diff_id.hex()),
                    Source::Path(layer.path.clone()),
                ),
                Member::file("manifest.json".into(), Source::Bytes(manifest)),
            ];
            write_tar_file(out, stage.path(), members, options.epoch)?;
            Ok(WrittenImage {
                config_digest,
                manifest_digest: None,
                layers: vec![layer.written],
            })
        }
        ImageLocation::OciDir { .. } | ImageLocation::OciArchive { .. } => {
            let layout = stage.path().join("layout");
            let (manifest_digest, members) =
                write_layout(&layout, image.config, &config_digest, &layer, name)?;
            if let ImageLocation::OciDir { .. } = target {
                place_dir(&layout, out)?;
            } else {
                write_tar_file(out, stage.path(), members, options.epoch)?;
            }
            Ok(WrittenImage {
                config_digest,
                manifest_digest: Some(manifest_digest),
                layers: vec![layer.written],
            })
        }
    }
}

struct StagedLayer {
    path: PathBuf,
    diff_id: Digest,
    written: WrittenLayer,
}

/// Hash the layer (and compress it if asked) into the staging directory.
fn stage_layer(
    layer: &Path,
    compression: LayerCompression,
    stage: &Path,
) -> Result<StagedLayer, ArchiveError> {
    let context = || format!("reading the layer {}", layer.display());
    let mut input = File::open(layer).map_err(|e| ArchiveError::io(context(), e))?;
    let mut diff = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut pump = |sink: &mut dyn Write| -> io::Result<u64> {
        let mut total = 0;
        loop {
            let n = input.read(&mut buffer)?;
            if n == 0 {
                return Ok(total);
            }
            diff.update(&buffer[..n]);
            sink.write_all(&buffer[..n])?;
            total += n as u64;
        }
    };
    match compression {
        LayerCompression::None => {
            let size = pump(&mut io::sink()).map_err(|e| ArchiveError::io(context(), e))?;
            let diff_id = Digest::from_hex(&hex::encode(diff.finalize())).expect("sha256 hex");
            Ok(StagedLayer {
                path: layer.into(),
                diff_id: diff_id.clone(),
                written: WrittenLayer {
                    media_type: media::OCI_LAYER.into(),
                    digest: diff_id.clone(),
                    diff_id,
                    size,
                },
            })
        }
        LayerCompression::Gzip => {
            let path = stage.join("layer.tar.gz");
            let write_context = || format!("writing {}", path.display());
            let file = File::create(&path).map_err(|e| ArchiveError::io(write_context(), e))?;
            // GzBuilder writes mtime 0 and no file name: the blob depends on the bytes only.
            let mut encoder = flate2::GzBuilder::new().write(
                HashingWriter::new(BufWriter::new(file)),
                flate2::Compression::default(),
            );
            pump(&mut encoder).map_err(|e| ArchiveError::io(context(), e))?;
            let (writer, hex, size) = encoder
                .finish()
                .map_err(|e| ArchiveError::io(write_context(), e))?
                .finish();
            writer
                .into_inner()
                .map_err(|e| ArchiveError::io(write_context(), e.into_error()))?;
            let diff_id = Digest::from_hex(&hex::encode(diff.finalize())).expect("sha256 hex");
            Ok(StagedLayer {
                path,
                diff_id: diff_id.clone(),
                written: WrittenLayer {
                    media_type: media::OCI_LAYER_GZIP.into(),
                    digest: Digest::from_hex(&hex).expect("sha256 hex"),
                    diff_id,
                    size,
                },
            })
        }
    }
}

/// The config must describe exactly this one layer, or the image would not load.
fn check_config_lists(config: &[u8], diff_id: &Digest) -> Result<(), ArchiveError> {
    let parsed: ConfigFile =
        serde_json::from_slice(config).map_err(|source| ArchiveError::Json {
            object: "the config to write".into(),
            source,
        })?;
    let listed = parsed.rootfs.map(|r| r.diff_ids).unwrap_or_default();
    if listed != [diff_id.clone()] {
        return Err(ArchiveError::Malformed {
            object: "the config to write".into(),
            reason: format!(
                "its rootfs.diff_ids {:?} are not exactly the layer's {diff_id}",
                listed.iter().map(Digest::to_string).collect::<Vec<_>>()
            ),
        });
    }
    Ok(())
}

/// An OCI image layout in `dir`; returns the manifest digest and the layout's members, sorted.
fn write_layout(
    dir: &Path,
    config: &[u8],
    config_digest: &Digest,
    layer: &StagedLayer,
    name: Option<&str>,
) -> Result<(Digest, Vec<Member>), ArchiveError> {
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs)
        .map_err(|e| ArchiveError::io(format!("creating {}", blobs.display()), e))?;
    let write = |path: &Path, bytes: &[u8]| {
        fs::write(path, bytes)
            .map_err(|e| ArchiveError::io(format!("writing {}", path.display()), e))
    };
    let layer_blob = blobs.join(layer.written.digest.hex());
    fs::copy(&layer.path, &layer_blob)
        .map_err(|e| ArchiveError::io(format!("writing {}", layer_blob.display()), e))?;
    write(&blobs.join(config_digest.hex()), config)?;
    let manifest = canonical_json(&json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_MANIFEST,
        "config": {
            "mediaType": media::OCI_CONFIG,
            "digest": config_digest.to_string(),
            "size": config.len(),
        },
        "layers": [{
            "mediaType": layer.written.media_type,
            "digest": layer.written.digest.to_string(),
            "size": layer.written.size,
        }],
    }));
    let manifest_digest = Digest::of_bytes(&manifest);
    write(&blobs.join(manifest_digest.hex()), &manifest)?;
    let platform: ConfigFile = serde_json::from_slice(config).unwrap_or_default();
    let mut entry = json!({
        "mediaType": media::OCI_MANIFEST,
        "digest": manifest_digest.to_string(),
        "size": manifest.len(),
        "platform": {
            "architecture": if platform.architecture.is_empty() { "amd64" } else { &platform.architecture },
            "os": if platform.os.is_empty() { "linux" } else { &platform.os },
        },
    });
    if let Some(name) = name {
        entry["annotations"] = json!({ media::REF_NAME: name });
    }
    let index = canonical_json(&json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_INDEX,
        "manifests": [entry],
    }));
    write(&dir.join("index.json"), &index)?;
    write(
        &dir.join("oci-layout"),
        &canonical_json(&json!({ "imageLayoutVersion": media::OCI_LAYOUT_VERSION })),
    )?;
    let mut members = vec![
        Member::dir("blobs/".into()),
        Member::dir("blobs/sha256/".into()),
        Member::file("index.json".into(), Source::Path(dir.join("index.json"))),
        Member::file("oci-layout".into(), Source::Path(dir.join("oci-layout"))),
    ];
    for digest in [&layer.written.digest, config_digest, &manifest_digest] {
        let name = format!("blobs/sha256/{}", digest.hex());
        if !members.iter().any(|m| m.name == name) {
            members.push(Member::file(name, Source::Path(blobs.join(digest.hex()))));
        }
    }
    members.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((manifest_digest, members))
}

/// Move a staged layout to `out`, which must not exist or be an empty directory.
fn place_dir(layout: &Path, out: &Path) -> Result<(), ArchiveError> {
    if let Ok(meta) = fs::symlink_metadata(out) {
        let empty_dir =
            meta.is_dir() && fs::read_dir(out).is_ok_and(|mut entries| entries.next().is_none());
        if !empty_dir {
            return Err(ArchiveError::OutputExists { path: out.into() });
        }
    }
    // rename(2) replaces an empty directory atomically.
    fs::rename(layout, out).map_err(|e| ArchiveError::io(format!("creating {}", out.display()), e))
}

enum Source {
    Bytes(Vec<u8>),
    Path(PathBuf),
}

struct Member {
    name: String,
    /// `None` for a directory
    source: Option<Source>,
}

impl Member {
    fn file(name: String, source: Source) -> Member {
        Member {
            name,
            source: Some(source),
        }
    }

    fn dir(name: String) -> Member {
        Member { name, source: None }
    }
}

/// A tar of `members` in name order with fixed headers, staged in `stage` (on the same file
/// system as `out`), renamed to `out`.
fn write_tar_file(
    out: &Path,
    stage: &Path,
    mut members: Vec<Member>,
    epoch: u64,
) -> Result<(), ArchiveError> {
    members.sort_by(|a, b| a.name.cmp(&b.name));
    let context = || format!("writing {}", out.display());
    let staged = tempfile::Builder::new()
        .prefix(".slim-archive-")
        .tempfile_in(stage)
        .map_err(|e| ArchiveError::io(context(), e))?;
    let mut builder = tar::Builder::new(BufWriter::new(staged.as_file()));
    for member in &members {
        let mut header = tar::Header::new_ustar();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(epoch);
        let result = match &member.source {
            None => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                builder.append_data(&mut header, &member.name, io::empty())
            }
            Some(Source::Bytes(bytes)) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(0o644);
                header.set_size(bytes.len() as u64);
                builder.append_data(&mut header, &member.name, bytes.as_slice())
            }
            Some(Source::Path(path)) => File::open(path).and_then(|file| {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(0o644);
                header.set_size(file.metadata()?.len());
                builder.append_data(&mut header, &member.name, file)
            }),
        };
        result.map_err(|e| {
            ArchiveError::io(format!("{}: adding {}", out.display(), member.name), e)
        })?;
    }
    builder
        .into_inner()
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .and_then(|f| f.sync_all())
        .map_err(|e| ArchiveError::io(context(), e))?;
    staged
        .persist(out)
        .map_err(|e| ArchiveError::io(context(), e.error))?;
    Ok(())
}
