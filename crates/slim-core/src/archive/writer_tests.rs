//! Writing each output format, reading it back, and reproducibility.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::fixtures::*;
use super::*;
use crate::resolve::FileTree;

/// A layer tar on disk and a config listing it.
fn slim_layer(dir: &Path) -> (PathBuf, Vec<u8>) {
    let tar = LayerTar::new()
        .dir("bin/")
        .exe("bin/app", b"#!/bin/sh\necho slim\n")
        .symlink("bin/sh", "app")
        .dir("etc/")
        .file(
            "etc/passwd",
            b"nonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n",
        )
        .build();
    let path = dir.join("layer.tar");
    fs::write(&path, &tar).unwrap();
    (path, config_with_diff_ids(&[Digest::of_bytes(&tar)]))
}

fn write(
    location: &str,
    layer: &Path,
    config: &[u8],
    compression: LayerCompression,
) -> WrittenImage {
    write_image(
        &location.parse().unwrap(),
        &ImageToWrite {
            config,
            layer,
            name: Some("app.slim:1"),
        },
        &WriteOptions {
            layer_compression: compression,
            epoch: 0,
        },
    )
    .unwrap()
}

fn members(archive: &Path) -> Vec<(String, u64, u64, u32)> {
    let mut tar = tar::Archive::new(fs::File::open(archive).unwrap());
    tar.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            (
                e.path().unwrap().display().to_string(),
                h.mtime().unwrap(),
                h.uid().unwrap(),
                h.mode().unwrap(),
            )
        })
        .collect()
}

#[test]
fn docker_archive_has_the_legacy_layout() {
    let dir = tempfile::tempdir().unwrap();
    let (layer, config) = slim_layer(dir.path());
    let out = dir.path().join("image.tar");
    let written = write(
        &format!("docker-archive:{}", out.display()),
        &layer,
        &config,
        LayerCompression::Gzip,
    );
    let diff_id = Digest::of_bytes(&fs::read(&layer).unwrap());
    assert_eq!(written.config_digest, Digest::of_bytes(&config));
    assert_eq!(written.manifest_digest, None);
    assert_eq!(written.layers[0].diff_id, diff_id);
    assert_eq!(
        written.layers[0].digest, diff_id,
        "docker-archive layers are plain tar"
    );
    let names: Vec<String> = members(&out).into_iter().map(|m| m.0).collect();
    assert_eq!(
        names,
        [
            format!("{}.json", written.config_digest.hex()),
            format!("{}/", diff_id.hex()),
            format!("{}/layer.tar", diff_id.hex()),
            "manifest.json".to_string(),
        ],
        "sorted"
    );
    assert!(members(&out).iter().all(|m| m.1 == 0 && m.2 == 0));
    let mut archive = tar::Archive::new(fs::File::open(&out).unwrap());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().ends_with("manifest.json") {
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            let m: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(m[0]["RepoTags"][0], "app.slim:1");
            assert_eq!(m[0]["Layers"][0], format!("{}/layer.tar", diff_id.hex()));
            assert_eq!(
                m[0]["Config"],
                format!("{}.json", written.config_digest.hex())
            );
        }
    }
}

#[test]
fn every_format_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let (layer, config) = slim_layer(dir.path());
    let cases = [
        ("docker-archive", "d.tar", LayerCompression::None),
        ("oci", "plain-dir", LayerCompression::None),
        ("oci", "gzip-dir", LayerCompression::Gzip),
        ("oci-archive", "plain.tar", LayerCompression::None),
        ("oci-archive", "gzip.tar", LayerCompression::Gzip),
    ];
    for (transport, name, compression) in cases {
        let location = format!("{transport}:{}", dir.path().join(name).display());
        let written = write(&location, &layer, &config, compression);
        let source = ImageSource::open(&location.parse().unwrap()).unwrap();
        assert_eq!(source.config_digest, written.config_digest, "{location}");
        assert_eq!(source.config, config);
        assert_eq!(
            source.manifest_digest, written.manifest_digest,
            "{location}"
        );
        assert_eq!(source.spec.repo_tags, ["app.slim:1"], "{location}");
        let layer_info = &source.layers[0];
        let expected = &written.layers[0];
        assert_eq!(layer_info.diff_id, expected.diff_id);
        assert_eq!(layer_info.size, expected.size);
        if transport != "docker-archive" {
            assert_eq!(layer_info.media_type, expected.media_type);
            assert_eq!(layer_info.digest.as_ref(), Some(&expected.digest));
        }
        let gzip = compression == LayerCompression::Gzip && transport != "docker-archive";
        assert_eq!(
            layer_info.compression == Compression::Gzip,
            gzip,
            "{location}"
        );
        assert_eq!(expected.digest != expected.diff_id, gzip);
        let work = tempfile::tempdir().unwrap();
        let tree = RootFs::flatten(&source, work.path(), &FlattenOptions::default()).unwrap();
        assert_eq!(tree.read("/bin/app").unwrap(), b"#!/bin/sh\necho slim\n");
        assert_eq!(source.spec.command(), ["/bin/app", "--serve"]);
    }
    // the OCI manifest media types
    let layout = dir.path().join("gzip-dir");
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["mediaType"], media::OCI_INDEX);
    assert_eq!(index["manifests"][0]["mediaType"], media::OCI_MANIFEST);
    assert_eq!(
        index["manifests"][0]["annotations"][media::REF_NAME],
        "app.slim:1"
    );
    assert_eq!(index["manifests"][0]["platform"]["architecture"], "amd64");
    let manifest_digest: Digest = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(layout.join(manifest_digest.blob_path())).unwrap())
            .unwrap();
    assert_eq!(manifest["mediaType"], media::OCI_MANIFEST);
    assert_eq!(manifest["config"]["mediaType"], media::OCI_CONFIG);
    assert_eq!(manifest["layers"][0]["mediaType"], media::OCI_LAYER_GZIP);
    assert_eq!(
        fs::read(layout.join("oci-layout")).unwrap(),
        br#"{"imageLayoutVersion":"1.0.0"}"#
    );
}

#[test]
fn same_input_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (layer, config) = slim_layer(dir.path());
    for (transport, compression) in [
        ("docker-archive", LayerCompression::None),
        ("oci-archive", LayerCompression::Gzip),
        ("oci", LayerCompression::Gzip),
    ] {
        let a = dir.path().join(format!("{transport}-a"));
        let b = dir.path().join(format!("{transport}-b"));
        let first = write(
            &format!("{transport}:{}", a.display()),
            &layer,
            &config,
            compression,
        );
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let second = write(
            &format!("{transport}:{}", b.display()),
            &layer,
            &config,
            compression,
        );
        assert_eq!(first, second, "{transport}");
        if transport == "oci" {
            assert_eq!(listing(&a), listing(&b));
            for name in listing(&a) {
                if a.join(&name).is_file() {
                    assert_eq!(
                        fs::read(a.join(&name)).unwrap(),
                        fs::read(b.join(&name)).unwrap(),
                        "{name}"
                    );
                }
            }
        } else {
            assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap(), "{transport}");
        }
    }
    // a given epoch stamps the wrapper entries and nothing else changes
    let c = dir.path().join("epoch.tar");
    let written = write_image(
        &format!("oci-archive:{}", c.display()).parse().unwrap(),
        &ImageToWrite {
            config: &config,
            layer: &layer,
            name: Some("app.slim:1"),
        },
        &WriteOptions {
            layer_compression: LayerCompression::Gzip,
            epoch: 1_700_000_000,
        },
    )
    .unwrap();
    assert!(members(&c).iter().all(|m| m.1 == 1_700_000_000));
    assert_eq!(
        Some(written.manifest_digest),
        Some(
            write(
                &format!("oci:{}", dir.path().join("again").display()),
                &layer,
                &config,
                LayerCompression::Gzip
            )
            .manifest_digest
        )
    );
}

#[test]
fn config_must_list_exactly_the_layer() {
    let dir = tempfile::tempdir().unwrap();
    let (layer, _) = slim_layer(dir.path());
    let wrong = config_with_diff_ids(&[Digest::of_bytes(b"another layer")]);
    let out = dir.path().join("x.tar");
    let err = write_image(
        &ImageLocation::DockerArchive {
            path: out.clone(),
            reference: None,
        },
        &ImageToWrite {
            config: &wrong,
            layer: &layer,
            name: None,
        },
        &WriteOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ArchiveError::Malformed { .. }), "{err}");
    assert!(!out.exists());
    assert_eq!(listing(dir.path()), ["layer.tar"], "no staging left behind");
}

#[test]
fn oci_dir_target_must_be_new_or_empty_and_ref_comes_from_the_location() {
    let dir = tempfile::tempdir().unwrap();
    let (layer, config) = slim_layer(dir.path());
    let busy = dir.path().join("busy");
    fs::create_dir(&busy).unwrap();
    fs::write(busy.join("keep"), b"mine").unwrap();
    let err = write_image(
        &ImageLocation::OciDir {
            path: busy.clone(),
            reference: None,
        },
        &ImageToWrite {
            config: &config,
            layer: &layer,
            name: None,
        },
        &WriteOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ArchiveError::OutputExists { .. }), "{err}");
    assert_eq!(fs::read(busy.join("keep")).unwrap(), b"mine");

    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    write(
        &format!("oci:{}:v2", empty.display()),
        &layer,
        &config,
        LayerCompression::None,
    );
    let source =
        ImageSource::open(&format!("oci:{}:v2", empty.display()).parse().unwrap()).unwrap();
    assert_eq!(source.spec.repo_tags, ["v2"]);
}
