//! Reading every input format, flattening with whiteouts and hardlinks, and running the
//! resolver on the result.

use std::collections::BTreeSet;

use super::fixtures::*;
use super::*;
use crate::resolve::{FileTree, Kind, ResolveRequest, resolve};
use crate::sensor::report::Access;

const BIG: usize = 300_000;

fn big() -> Vec<u8> {
    (0..BIG).map(|i| (i * 7 % 251) as u8).collect()
}

/// Three layers exercising overwrite, opaque dir, whiteouts of a file and a dir,
/// re-creation after a whiteout and hardlinks across layers.
fn layers(compressions: [Compression; 3]) -> Vec<Blob> {
    let base = LayerTar::new()
        .dir("etc/")
        .file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n")
        .file("etc/os-release", b"base")
        .dir("usr/")
        .dir("usr/bin/")
        .exe("usr/bin/sh", b"\x7fELF shell")
        .exe("usr/bin/app", b"#!/bin/sh\necho hi\n")
        .symlink("bin", "usr/bin")
        .dir("usr/lib/")
        .file("usr/lib/libbig.so", &big())
        .dir("var/")
        .dir("var/cache/")
        .file("var/cache/a", b"a")
        .file("var/cache/b", b"b")
        .dir("srv/")
        .file("srv/data.txt", b"first")
        .dir("opt/")
        .file("opt/keep", b"k")
        .build();
    let second = LayerTar::new()
        .dir("etc/")
        .file("etc/os-release", b"updated")
        .dir("var/cache/")
        .file("var/cache/.wh..wh..opq", b"")
        .file("var/cache/c", b"c")
        .file("srv/.wh.data.txt", b"")
        .file(".wh.opt", b"")
        .hardlink("usr/bin/app2", "usr/bin/app")
        .build();
    let third = LayerTar::new()
        .hardlink("usr/bin/app3", "/usr/bin/app2")
        .file("srv/data.txt", b"again")
        .file(".wh.never-existed", b"")
        .build();
    [base, second, third]
        .into_iter()
        .zip(compressions)
        .map(|(tar, c)| Blob::new(tar, c))
        .collect()
}

fn read_file(tree: &RootFs, path: &str) -> Vec<u8> {
    tree.read(path).unwrap()
}

/// What every format must produce from [`layers`].
fn check_tree(tree: &RootFs) {
    assert_eq!(read_file(tree, "/etc/os-release"), b"updated");
    assert_eq!(
        tree.list("/var/cache"),
        ["c"],
        "opaque dir hides lower entries"
    );
    assert_eq!(read_file(tree, "/srv/data.txt"), b"again");
    assert!(tree.entry("/opt").is_none() && tree.entry("/opt/keep").is_none());
    assert_eq!(
        tree.entry("/bin").unwrap().kind,
        Kind::Symlink("usr/bin".into())
    );
    let ids: BTreeSet<_> = ["/usr/bin/app", "/usr/bin/app2", "/usr/bin/app3"]
        .iter()
        .map(|p| tree.entry(p).unwrap().hardlink_id.expect("hardlinked"))
        .collect();
    assert_eq!(ids.len(), 1, "one file, three names");
    assert_eq!(read_file(tree, "/usr/bin/app3"), b"#!/bin/sh\necho hi\n");
    assert_eq!(read_file(tree, "/usr/lib/libbig.so"), big());
    assert_eq!(
        tree.read_at("/usr/lib/libbig.so", 299_990, 100).unwrap(),
        &big()[299_990..]
    );
    assert_eq!(
        tree.list("/"),
        ["bin", "etc", "srv", "usr", "var"],
        "sorted, whited-out dir gone"
    );
    assert_eq!(tree.list("/usr/bin"), ["app", "app2", "app3", "sh"]);
    let totals = tree.totals();
    assert_eq!(totals.layers, 3);
    assert_eq!(totals.hardlinks, 2);
    assert_eq!(totals.symlinks, 1);
    // passwd, os-release, sh, app (3 names), libbig.so, c, data.txt
    assert_eq!(totals.files, 7, "{totals:?}");
    let file_bytes = 26 + 7 + 10 + 18 + BIG as u64 + 1 + 5;
    assert_eq!(totals.file_bytes, file_bytes);
}

fn flatten(source: &ImageSource) -> (RootFs, tempfile::TempDir) {
    let work = tempfile::tempdir().unwrap();
    let tree = RootFs::flatten(source, work.path(), &FlattenOptions::default()).unwrap();
    (tree, work)
}

fn check_spec(source: &ImageSource) {
    assert_eq!(source.spec.command(), ["/bin/app", "--serve"]);
    assert_eq!(source.spec.user, "app");
    assert_eq!(source.spec.working_dir, "/srv");
    assert_eq!(source.spec.exposed_ports, ["8080/tcp"]);
    assert_eq!(source.spec.labels["fixture"], "yes");
    assert_eq!(source.spec.id, Digest::of_bytes(&source.config).to_string());
    assert_eq!(source.spec.layers, 3);
}

#[test]
fn legacy_docker_save_with_shared_layer_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("save.tar");
    let blobs = layers([Compression::None, Compression::None, Compression::Gzip]);
    let other = vec![blobs[0].clone()];
    docker_legacy(&path, &[(&blobs, "app:1"), (&other, "base:1")]);

    let err = ImageSource::open(
        &format!("docker-archive:{}", path.display())
            .parse()
            .unwrap(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ArchiveError::NoSuchImage { ref reason, .. } if reason.contains("app:1, base:1")),
        "{err}"
    );
    let location: ImageLocation = format!("docker-archive:{}:app:1", path.display())
        .parse()
        .unwrap();
    let source = ImageSource::open(&location).unwrap();
    check_spec(&source);
    assert_eq!(source.spec.repo_tags, ["app:1"]);
    assert_eq!(source.manifest_digest, None);
    assert_eq!(source.layers[0].digest, Some(blobs[0].diff_id()));
    assert_eq!(source.layers[2].compression, Compression::Gzip);
    assert_eq!(
        source.layers[2].digest, None,
        "legacy gzip blob: no digest recorded"
    );
    let (tree, _work) = flatten(&source);
    check_tree(&tree);
    // Plain layers are read in place; only the gzip layer spilled its file bytes.
    assert_eq!(tree.totals().spilled_bytes, 5);

    // the second image reaches its layer through docker save's layer.tar symlink
    let base = ImageSource::open(
        &format!("docker-archive:{}:base:1", path.display())
            .parse()
            .unwrap(),
    )
    .unwrap();
    let (tree, _work) = flatten(&base);
    assert_eq!(read_file(&tree, "/etc/os-release"), b"base");
}

#[test]
fn docker_25_save_is_read_through_its_oci_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("save.tar");
    let blobs = layers([Compression::None, Compression::None, Compression::None]);
    let manifest = docker_25(&path, &blobs, "app:1");
    let source = ImageSource::open(&ImageLocation::DockerArchive {
        path: path.clone(),
        reference: None,
    })
    .unwrap();
    check_spec(&source);
    assert_eq!(source.manifest_digest, Some(manifest));
    assert_eq!(source.spec.repo_tags, ["app:1"]);
    assert_eq!(source.layers[1].media_type, media::OCI_LAYER);
    assert_eq!(source.layers[1].digest, Some(blobs[1].digest()));
    let (tree, _work) = flatten(&source);
    check_tree(&tree);
}

#[test]
fn oci_dir_and_tar_with_gzip_and_zstd_layers() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let blobs = layers([Compression::Zstd, Compression::Gzip, Compression::None]);
    let manifests = oci_dir(&layout, &[(&blobs, Some("v1"))]);
    let tar = dir.path().join("layout.tar");
    tar_dir(&layout, &tar);
    for location in [
        format!("oci:{}", layout.display()),
        format!("oci:{}:v1", layout.display()),
        format!("oci-archive:{}", tar.display()),
    ] {
        let source = ImageSource::open(&location.parse().unwrap()).unwrap();
        check_spec(&source);
        assert_eq!(source.manifest_digest.as_ref(), Some(&manifests[0]));
        assert_eq!(source.spec.repo_tags, ["v1"]);
        let kinds: Vec<_> = source.layers.iter().map(|l| l.compression).collect();
        assert_eq!(
            kinds,
            [Compression::Zstd, Compression::Gzip, Compression::None]
        );
        assert_eq!(source.layers[0].media_type, media::OCI_LAYER_ZSTD);
        let (tree, _work) = flatten(&source);
        check_tree(&tree);
        // the zstd and gzip layers spill their files; the plain one is read in place
        assert_eq!(
            tree.totals().spilled_bytes,
            (26 + 4 + 10 + 18 + BIG as u64 + 1 + 1 + 5 + 1) + (7 + 1)
        );
    }
}

#[test]
fn oci_ref_selection_and_nested_platform_index() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let a = vec![Blob::new(
        LayerTar::new().file("which", b"a").build(),
        Compression::Gzip,
    )];
    let b = vec![Blob::new(
        LayerTar::new().file("which", b"b").build(),
        Compression::None,
    )];
    oci_dir(&layout, &[(&a, Some("a")), (&b, Some("b"))]);
    let open = |text: String| ImageSource::open(&text.parse().unwrap());
    let err = open(format!("oci:{}", layout.display())).unwrap_err();
    assert!(err.to_string().contains("choose one with :REF"), "{err}");
    assert!(err.to_string().contains("names: a, b"), "{err}");
    let err = open(format!("oci:{}:c", layout.display())).unwrap_err();
    assert!(matches!(err, ArchiveError::NoSuchImage { .. }), "{err}");
    let source = open(format!("oci:{}:b", layout.display())).unwrap();
    let (tree, _work) = flatten(&source);
    assert_eq!(read_file(&tree, "/which"), b"b");

    // index.json → image index (arm64 + amd64 + attestation) → linux/amd64 manifest
    let multi = dir.path().join("multi");
    let (arm, _) = write_image_blobs(&multi, &a, &config_for(&a));
    let (amd, _) = write_image_blobs(&multi, &b, &config_for(&b));
    let platform_entry = |bytes: &[u8], arch: &str| {
        serde_json::json!({
            "mediaType": media::OCI_MANIFEST,
            "digest": Digest::of_bytes(bytes).to_string(),
            "size": bytes.len(),
            "platform": {"architecture": arch, "os": if arch == "unknown" { "unknown" } else { "linux" }},
        })
    };
    let nested = json::canonical_json(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_INDEX,
        "manifests": [platform_entry(&arm, "arm64"), platform_entry(&amd, "amd64"), platform_entry(&arm, "unknown")],
    }));
    std::fs::write(multi.join(Digest::of_bytes(&nested).blob_path()), &nested).unwrap();
    write_index(
        &multi,
        vec![serde_json::json!({
            "mediaType": media::OCI_INDEX,
            "digest": Digest::of_bytes(&nested).to_string(),
            "size": nested.len(),
            "annotations": {media::REF_NAME: "multi"},
        })],
    );
    let source = open(format!("oci:{}", multi.display())).unwrap();
    assert_eq!(source.manifest_digest, Some(Digest::of_bytes(&amd)));
    let (tree, _work) = flatten(&source);
    assert_eq!(read_file(&tree, "/which"), b"b");
}

#[test]
fn not_an_image_is_said_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let err =
        ImageSource::open(&format!("oci:{}", dir.path().display()).parse().unwrap()).unwrap_err();
    assert!(matches!(err, ArchiveError::NotAnImage { .. }), "{err}");
    let plain = dir.path().join("plain.tar");
    tar_dir(&tempfile::tempdir().unwrap().keep(), &plain);
    let err = ImageSource::open(
        &format!("docker-archive:{}", plain.display())
            .parse()
            .unwrap(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("not a docker save archive"),
        "{err}"
    );
    let err = ImageSource::open(
        &format!("oci-archive:{}", dir.path().join("none.tar").display())
            .parse()
            .unwrap(),
    )
    .unwrap_err();
    assert!(matches!(err, ArchiveError::Io { .. }), "{err}");
}

#[test]
fn resolver_runs_on_an_image_file() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let blobs = layers([Compression::Gzip, Compression::None, Compression::Zstd]);
    oci_dir(&layout, &[(&blobs, None)]);
    let source = ImageSource::open(&format!("oci:{}", layout.display()).parse().unwrap()).unwrap();
    let (tree, _work) = flatten(&source);
    let request = ResolveRequest {
        traced: [("/bin/app".to_string(), [Access::Exec].into())].into(),
        ..ResolveRequest::default()
    };
    let resolution = resolve(&tree, &request).unwrap();
    let kept: Vec<&str> = resolution.keep.paths.keys().map(String::as_str).collect();
    // the traced path through the /bin symlink, and the script's #! interpreter
    for path in ["/bin", "/usr/bin/app", "/usr/bin/sh"] {
        assert!(kept.contains(&path), "{path} not in {kept:?}");
    }
    // and the kept tar the rebuild reads can be written straight from the image file
    let mut kept_tar = Vec::new();
    crate::resolve::write_kept_tar(&tree, &resolution.keep, &mut kept_tar).unwrap();
    assert!(
        kept_tar
            .windows(9)
            .any(|w| w == b"echo hi\n\0" || w == b"#!/bin/sh")
    );
}
