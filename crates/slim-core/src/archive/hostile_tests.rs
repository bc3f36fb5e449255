//! Hostile and broken inputs: each is a typed error naming the layer and path, and nothing
//! is ever written outside the work directory (the whole sandbox is listed after each).

use std::fs;
use std::path::{Path, PathBuf};

use super::fixtures::*;
use super::*;
use crate::resolve::{FileTree, Kind};

/// A sandbox: `in/` holds the image, `work/` is the work parent; nothing else may appear.
struct Sandbox {
    root: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir(root.path().join("in")).unwrap();
        fs::create_dir(root.path().join("work")).unwrap();
        Sandbox { root }
    }

    fn path(&self) -> &Path {
        self.root.path()
    }

    fn layout(&self) -> PathBuf {
        self.path().join("in/layout")
    }

    fn write(&self, layers: &[Blob]) -> Vec<Digest> {
        oci_dir(&self.layout(), &[(layers, None)])
    }

    fn open(&self) -> Result<ImageSource, ArchiveError> {
        ImageSource::open(&ImageLocation::OciDir {
            path: self.layout(),
            reference: None,
        })
    }

    fn flatten(&self, options: &FlattenOptions) -> Result<RootFs, ArchiveError> {
        let before = listing(self.path());
        let result = self
            .open()
            .and_then(|source| RootFs::flatten(&source, &self.path().join("work"), options));
        if result.is_err() {
            assert_eq!(
                listing(self.path()),
                before,
                "a failed read leaves nothing behind"
            );
        }
        let outside: Vec<String> = listing(self.path())
            .into_iter()
            .filter(|p| !p.starts_with("in") && !p.starts_with("work"))
            .collect();
        assert!(
            outside.is_empty(),
            "written outside the work dir: {outside:?}"
        );
        result
    }

    fn flatten_layers(&self, layers: &[Blob]) -> Result<RootFs, ArchiveError> {
        self.write(layers);
        self.flatten(&FlattenOptions::default())
    }

    /// Replace a blob's bytes, keeping its name (the digest it no longer has).
    fn tamper(&self, digest: &Digest, bytes: &[u8]) {
        fs::write(self.layout().join(digest.blob_path()), bytes).unwrap();
    }
}

fn one(tar: Vec<u8>) -> Vec<Blob> {
    vec![Blob::new(tar, Compression::None)]
}

#[test]
fn dot_dot_entry_is_refused() {
    let sandbox = Sandbox::new();
    let err = sandbox
        .flatten_layers(&one(LayerTar::new()
            .file("ok", b"1")
            .file("../../escaped", b"x")
            .build()))
        .unwrap_err();
    assert!(
        matches!(err, ArchiveError::UnsafePath { ref path, ref layer } if path == "../../escaped" && layer.starts_with("sha256:")),
        "{err}"
    );
    assert!(!sandbox.path().parent().unwrap().join("escaped").exists());
}

#[test]
fn absolute_names_are_made_relative() {
    let sandbox = Sandbox::new();
    let tree = sandbox
        .flatten_layers(&one(LayerTar::new().file("/etc/hostname", b"box").build()))
        .unwrap();
    assert_eq!(tree.read("/etc/hostname").unwrap(), b"box");
    assert_eq!(
        tree.entry("/etc").unwrap().kind,
        Kind::Dir,
        "parents are created"
    );
}

#[test]
fn symlink_escaping_the_root_is_never_followed() {
    let sandbox = Sandbox::new();
    // absolute: on a host this would land in the sandbox itself
    let target = sandbox.path().display().to_string();
    let err = sandbox
        .flatten_layers(&one(LayerTar::new()
            .symlink("evil", &target)
            .file("evil/pwned", b"x")
            .build()))
        .unwrap_err();
    assert!(
        matches!(err, ArchiveError::SymlinkEscape { ref path, ref symlink, .. } if path == "evil/pwned" && symlink == "/evil"),
        "{err}"
    );
    assert!(!sandbox.path().join("pwned").exists());

    // relative, climbing above the root, set up in a lower layer
    let sandbox = Sandbox::new();
    let layers = vec![
        Blob::new(
            LayerTar::new()
                .dir("a/")
                .symlink("a/up", "../../..")
                .build(),
            Compression::Gzip,
        ),
        Blob::new(
            LayerTar::new().file("a/up/pwned", b"x").build(),
            Compression::None,
        ),
    ];
    let err = sandbox.flatten_layers(&layers).unwrap_err();
    assert!(
        matches!(err, ArchiveError::SymlinkEscape { ref target, .. } if target == "../../.."),
        "{err}"
    );
}

#[test]
fn symlink_inside_the_root_is_followed_like_an_extraction_in_a_chroot() {
    let sandbox = Sandbox::new();
    let tree = sandbox
        .flatten_layers(&one(LayerTar::new()
            .dir("usr/")
            .dir("usr/lib/")
            .symlink("lib", "usr/lib")
            .file("lib/libx.so", b"x")
            .build()))
        .unwrap();
    assert_eq!(tree.read("/usr/lib/libx.so").unwrap(), b"x");
    assert_eq!(
        tree.entry("/lib").unwrap().kind,
        Kind::Symlink("usr/lib".into())
    );
}

#[test]
fn hardlinks_outside_or_unseen_are_refused() {
    let sandbox = Sandbox::new();
    let err = sandbox
        .flatten_layers(&one(LayerTar::new()
            .hardlink("h", "../../etc/passwd")
            .build()))
        .unwrap_err();
    assert!(
        matches!(err, ArchiveError::HardlinkEscape { ref path, ref target, .. } if path == "h" && target == "../../etc/passwd"),
        "{err}"
    );

    let sandbox = Sandbox::new();
    let err = sandbox
        .flatten_layers(&one(LayerTar::new()
            .hardlink("early", "late")
            .file("late", b"x")
            .build()))
        .unwrap_err();
    assert!(
        matches!(err, ArchiveError::HardlinkTargetMissing { ref target, .. } if target == "late"),
        "{err}"
    );

    let sandbox = Sandbox::new();
    let err = sandbox
        .flatten_layers(&one(LayerTar::new().dir("d/").hardlink("h", "d").build()))
        .unwrap_err();
    assert!(
        matches!(err, ArchiveError::HardlinkTargetMissing { .. }),
        "a directory: {err}"
    );
}

#[test]
fn device_nodes_are_skipped_with_a_note_or_refused() {
    let sandbox = Sandbox::new();
    let layers = one(LayerTar::new()
        .dir("dev/")
        .device("dev/null")
        .file("ok", b"1")
        .build());
    let tree = sandbox.flatten_layers(&layers).unwrap();
    assert_eq!(tree.entry("/dev/null").unwrap().kind, Kind::Other);
    assert!(
        tree.notes()
            .iter()
            .any(|n| n.contains("dev/null") && n.contains("device node"))
    );
    assert_eq!(tree.totals().others, 1);
    assert!(
        fs::read_dir(tree.work_dir()).unwrap().next().is_none(),
        "nothing created"
    );

    let err = sandbox
        .flatten(&FlattenOptions {
            devices: DevicePolicy::Refuse,
        })
        .unwrap_err();
    assert!(
        matches!(err, ArchiveError::DeviceNode { ref path, .. } if path == "dev/null"),
        "{err}"
    );
}

#[test]
fn truncated_layer_names_layer_and_path() {
    let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
    let tar = LayerTar::new()
        .file("first", b"1")
        .file("usr/big", &data)
        .build();

    // an OCI blob shorter than its descriptor: found when the image is opened
    let sandbox = Sandbox::new();
    let layers = one(tar.clone());
    sandbox.write(&layers);
    sandbox.tamper(&layers[0].digest(), &tar[..2048 + 3000]);
    let err = sandbox.flatten(&FlattenOptions::default()).unwrap_err();
    assert!(
        matches!(err, ArchiveError::Truncated { ref object, path: None } if object.contains(&layers[0].digest().to_string())),
        "{err}"
    );

    // a docker-save layer.tar cut inside a file (the archive around it is whole): the
    // stream ends inside usr/big, which the error names
    let sandbox = Sandbox::new();
    let cut = Blob::new(tar[..2048 + 3000].to_vec(), Compression::None);
    let save = sandbox.path().join("in/save.tar");
    let whole = Blob::new(tar.clone(), Compression::None);
    docker_legacy(&save, &[(std::slice::from_ref(&whole), "app:1")]);
    // swap the layer bytes for the cut ones, keeping the config's diff_id
    let stage = tempfile::tempdir().unwrap();
    let mut archive = tar::Archive::new(fs::File::open(&save).unwrap());
    archive.unpack(stage.path()).unwrap();
    for entry in fs::read_dir(stage.path()).unwrap() {
        let layer = entry.unwrap().path().join("layer.tar");
        if layer.exists() {
            fs::write(&layer, &cut.tar).unwrap();
        }
    }
    tar_dir(stage.path(), &save);
    let before = listing(sandbox.path());
    let source = ImageSource::open(&ImageLocation::DockerArchive {
        path: save,
        reference: None,
    })
    .unwrap();
    let err = RootFs::flatten(
        &source,
        &sandbox.path().join("work"),
        &FlattenOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ArchiveError::Truncated { ref object, path: Some(ref p) } if p == "usr/big" && object.contains(&whole.diff_id().to_string())),
        "{err}"
    );
    assert_eq!(listing(sandbox.path()), before);

    // a gzip blob cut in half (its descriptor size matching): the decompressor hits the end
    let sandbox = Sandbox::new();
    let gz = Blob::new(tar, Compression::Gzip);
    let half = Blob {
        tar: gz.tar.clone(),
        stored: gz.stored[..gz.stored.len() / 2].to_vec(),
        media_type: media::OCI_LAYER_GZIP,
    };
    let err = sandbox.flatten_layers(&[half]).unwrap_err();
    assert!(matches!(err, ArchiveError::Truncated { .. }), "{err}");
}

#[test]
fn truncated_archive_file_is_an_error() {
    let sandbox = Sandbox::new();
    sandbox.write(&one(LayerTar::new().file("a", &[7u8; 5000]).build()));
    let tar = sandbox.path().join("in/layout.tar");
    tar_dir(&sandbox.layout(), &tar);
    let bytes = fs::read(&tar).unwrap();
    // cut right after the first blob's header, inside its data
    fs::write(&tar, &bytes[..512 * 4 + 100]).unwrap();
    let err = ImageSource::open(&ImageLocation::OciArchive {
        path: tar,
        reference: None,
    })
    .unwrap_err();
    assert!(matches!(err, ArchiveError::Truncated { .. }), "{err}");
}

#[test]
fn every_digest_is_checked() {
    // layer blob (plain): same length, other bytes
    let sandbox = Sandbox::new();
    let layers = one(LayerTar::new().file("a", b"original").build());
    sandbox.write(&layers);
    let mut evil = layers[0].stored.clone();
    let at = evil.windows(8).position(|w| w == b"original").unwrap();
    evil[at..at + 8].copy_from_slice(b"tampered");
    sandbox.tamper(&layers[0].digest(), &evil);
    let err = sandbox.flatten(&FlattenOptions::default()).unwrap_err();
    assert!(
        matches!(err, ArchiveError::DigestMismatch { ref object, .. } if object.contains(&layers[0].digest().to_string())),
        "{err}"
    );

    // a gzip layer whose config states the wrong diff_id
    let sandbox = Sandbox::new();
    let layer = Blob::new(LayerTar::new().file("a", b"x").build(), Compression::Gzip);
    let config = config_with_diff_ids(&[Digest::of_bytes(b"something else")]);
    write_image_blobs(&sandbox.layout(), std::slice::from_ref(&layer), &config);
    let (manifest, _) = write_image_blobs(&sandbox.layout(), std::slice::from_ref(&layer), &config);
    write_index(
        &sandbox.layout(),
        vec![
            serde_json::json!({"mediaType": media::OCI_MANIFEST, "digest": Digest::of_bytes(&manifest).to_string(), "size": manifest.len()}),
        ],
    );
    let err = sandbox.flatten(&FlattenOptions::default()).unwrap_err();
    assert!(
        matches!(err, ArchiveError::DigestMismatch { ref object, .. } if object.contains("diff_id")),
        "{err}"
    );

    // config and manifest blobs
    for which in ["config", "manifest"] {
        let sandbox = Sandbox::new();
        let layers = one(LayerTar::new().file("a", b"x").build());
        let manifests = sandbox.write(&layers);
        let digest = if which == "config" {
            Digest::of_bytes(&config_for(&layers))
        } else {
            manifests[0].clone()
        };
        let path = sandbox.layout().join(digest.blob_path());
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 2;
        bytes[last] = b' ';
        fs::write(&path, bytes).unwrap();
        let err = sandbox.open().unwrap_err();
        assert!(
            matches!(err, ArchiveError::DigestMismatch { ref object, .. } if object.starts_with(which)),
            "{which}: {err}"
        );
    }
}

#[test]
fn blob_longer_than_its_descriptor_is_refused() {
    let sandbox = Sandbox::new();
    let layers = vec![Blob::new(
        LayerTar::new().file("a", b"x").build(),
        Compression::Gzip,
    )];
    sandbox.write(&layers);
    let mut longer = layers[0].stored.clone();
    longer.extend_from_slice(b"trailing");
    sandbox.tamper(&layers[0].digest(), &longer);
    let err = sandbox.flatten(&FlattenOptions::default()).unwrap_err();
    assert!(matches!(err, ArchiveError::Oversize { .. }), "{err}");
}

#[test]
fn garbage_layer_is_a_typed_error_not_a_panic() {
    let sandbox = Sandbox::new();
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 31 % 256) as u8).collect();
    let layers = vec![Blob {
        tar: garbage.clone(),
        stored: garbage,
        media_type: media::OCI_LAYER,
    }];
    let err = sandbox.flatten_layers(&layers).unwrap_err();
    assert!(matches!(err, ArchiveError::BadLayer { .. }), "{err}");
}
