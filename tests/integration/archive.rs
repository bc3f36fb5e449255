//! Image files against the real engine: read what `docker save` writes, and have the
//! engine load and run what the archive writer writes (and skopeo inspect it).

use std::path::{Path, PathBuf};
use std::process::Command;

use slim::archive::{
    FlattenOptions, ImageLocation, ImageSource, ImageToWrite, LayerCompression, RootFs,
    WriteOptions, write_image,
};
use slim::rebuild::{self, ConfigInput, KeptIndex, LayerPlan};
use slim::resolve::{FileTree, Kind, ResolveRequest, resolve, write_kept_tar};
use slim::sensor::report::Access;

use super::support::*;

fn command(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{}",
        text(&output.stderr)
    );
    text(&output.stdout)
}

fn docker_save(image: &str, dir: &Path) -> PathBuf {
    let out = dir.join(format!("{}.tar", image.replace(['/', ':'], "_")));
    command("docker", &["save", "-o", out.to_str().unwrap(), image]);
    out
}

fn open(location: ImageLocation) -> ImageSource {
    ImageSource::open(&location).unwrap_or_else(|e| panic!("{e}"))
}

fn docker_archive(path: &Path) -> ImageLocation {
    ImageLocation::DockerArchive {
        path: path.into(),
        reference: None,
    }
}

fn traced_exec(paths: &[&str]) -> ResolveRequest {
    ResolveRequest {
        traced: paths
            .iter()
            .map(|p| (p.to_string(), [Access::Exec].into()))
            .collect(),
        exclude: vec!["/proc".into(), "/sys".into(), "/dev".into()],
        ..ResolveRequest::default()
    }
}

#[test]
fn docker_save_reads_as_the_engine_sees_it() {
    fixtures();
    let dir = tempfile::tempdir().unwrap();
    let source = open(docker_archive(&docker_save(BUSYBOX, dir.path())));
    let engine_spec = runtime()
        .block_on(engine().inspect_image(BUSYBOX))
        .unwrap()
        .unwrap();
    let spec = &source.spec;
    assert_eq!(spec.id, engine_spec.id, "image ID = sha256 of the config");
    assert_eq!(spec.repo_tags, [BUSYBOX]);
    assert_eq!(
        (&spec.cmd, &spec.entrypoint, &spec.env),
        (&engine_spec.cmd, &engine_spec.entrypoint, &engine_spec.env)
    );
    assert_eq!(
        (&spec.architecture, &spec.os, spec.layers),
        (
            &engine_spec.architecture,
            &engine_spec.os,
            engine_spec.layers
        )
    );

    let work = tempfile::tempdir().unwrap();
    let tree = RootFs::flatten(&source, work.path(), &FlattenOptions::default()).unwrap();
    assert_eq!(tree.read_prefix("/bin/busybox", 4).unwrap(), b"\x7fELF");
    let resolution = resolve(&tree, &traced_exec(&["/bin/sh"])).unwrap();
    assert!(resolution.keep.contains("/bin/busybox"), "{resolution:?}");
}

#[test]
fn docker_save_layers_apply_whiteouts_and_hardlinks() {
    let image = "slim-test/archive-layers:1";
    build_dockerfile(
        image,
        &format!(
            "FROM {BUSYBOX}\n\
             RUN mkdir -p /data/old && echo one > /data/f && echo x > /data/old/x && rm /bin/ls\n\
             RUN echo two > /data/f && ln /data/f /data/g && rm -r /data/old && mkdir /data/old\n"
        ),
        &[],
    );
    let dir = tempfile::tempdir().unwrap();
    let source = open(docker_archive(&docker_save(image, dir.path())));
    assert_eq!(source.layers.len(), 3);
    let work = tempfile::tempdir().unwrap();
    let tree = RootFs::flatten(&source, work.path(), &FlattenOptions::default()).unwrap();
    assert!(tree.entry("/bin/ls").is_none(), "whited out");
    assert_eq!(tree.read("/data/f").unwrap(), b"two\n");
    let (f, g) = (
        tree.entry("/data/f").unwrap(),
        tree.entry("/data/g").unwrap(),
    );
    assert!(f.hardlink_id.is_some() && f.hardlink_id == g.hardlink_id);
    assert_eq!(tree.entry("/data/old").unwrap().kind, Kind::Dir);
    assert!(
        tree.list("/data/old").is_empty(),
        "recreated directory is empty"
    );
}

#[test]
fn debian_save_resolves_an_elf_closure_on_the_host() {
    fixtures();
    let dir = tempfile::tempdir().unwrap();
    let path = docker_save(DEBIAN, dir.path());
    let started = std::time::Instant::now();
    let source = open(docker_archive(&path));
    let work = tempfile::tempdir().unwrap();
    let tree = RootFs::flatten(&source, work.path(), &FlattenOptions::default()).unwrap();
    let totals = tree.totals();
    eprintln!(
        "read {} ({} bytes) in {:.2}s: {totals:?}",
        path.display(),
        std::fs::metadata(&path).unwrap().len(),
        started.elapsed().as_secs_f64()
    );
    assert!(totals.files > 5000, "{totals:?}");
    assert_eq!(
        totals.spilled_bytes, 0,
        "docker save layers are read in place"
    );
    let resolution = resolve(&tree, &traced_exec(&["/usr/bin/python3"])).unwrap();
    let kept: Vec<&String> = resolution.keep.paths.keys().collect();
    assert!(
        kept.iter().any(|p| p.ends_with("/libc.so.6")),
        "libc kept: {kept:?}"
    );
    assert!(
        kept.iter().any(|p| p.contains("ld-linux-x86-64.so.2")),
        "{kept:?}"
    );
}

/// The whole slim rebuild, with no engine until the load: image file in, image file out.
fn slim_busybox(dir: &Path, tag: &str) -> (PathBuf, Vec<u8>) {
    let source = open(docker_archive(&docker_save(BUSYBOX, dir)));
    let work = tempfile::tempdir().unwrap();
    let tree = RootFs::flatten(&source, work.path(), &FlattenOptions::default()).unwrap();
    let resolution = resolve(&tree, &traced_exec(&["/bin/sh", "/bin/id"])).unwrap();
    let kept_tar = dir.join("kept.tar");
    write_kept_tar(
        &tree,
        &resolution.keep,
        std::fs::File::create(&kept_tar).unwrap(),
    )
    .unwrap();
    let kept = KeptIndex::open(&kept_tar).unwrap();
    let user = rebuild::plan_user(&source.spec.user, None, None, None, None).unwrap();
    let plan = LayerPlan {
        user: user.clone(),
        writable: Default::default(),
        workdir: None,
        mtime_clamp: source.spec.created_epoch().unwrap_or(0),
        package_db: None,
        accessed: Default::default(),
        switch_tools: Default::default(),
    };
    let layer_path = dir.join("layer.tar");
    let layer = rebuild::write_layer(&kept, &plan, &layer_path, None).unwrap();
    let config = rebuild::image_config(&ConfigInput {
        source: &source.spec,
        user: &user.config_user(),
        diff_id: &layer.diff_id,
        created: source
            .spec
            .created
            .as_deref()
            .unwrap_or("1970-01-01T00:00:00Z"),
        extra_labels: Default::default(),
        created_by: &format!("test {tag}"),
    });
    (layer_path, config)
}

#[test]
fn written_docker_archive_loads_and_runs() {
    fixtures();
    let dir = tempfile::tempdir().unwrap();
    let tag = "slim-test/archive-writer.slim:1";
    let (layer, config) = slim_busybox(dir.path(), tag);
    let out = dir.path().join("slim.tar");
    let image = ImageToWrite {
        config: &config,
        layer: &layer,
        name: Some(tag),
    };
    let written = write_image(&docker_archive(&out), &image, &WriteOptions::default()).unwrap();
    command("docker", &["load", "-i", out.to_str().unwrap()]);
    assert_eq!(image_id(tag), Some(written.config_digest.to_string()));
    let output = command(
        "docker",
        &["run", "--rm", tag, "/bin/sh", "-c", "echo slim $(id -u)"],
    );
    assert_eq!(output.trim(), "slim 65532");
    // and the loaded image reads back the same through docker save
    let saved = open(docker_archive(&docker_save(tag, dir.path())));
    assert_eq!(saved.config_digest, written.config_digest);
    assert_eq!(saved.layers[0].diff_id, written.layers[0].diff_id);
    command("docker", &["rmi", tag]);
}

#[test]
fn skopeo_accepts_every_output_format() {
    fixtures();
    let dir = tempfile::tempdir().unwrap();
    let tag = "slim-test/archive-skopeo.slim:1";
    let (layer, config) = slim_busybox(dir.path(), tag);
    let image = ImageToWrite {
        config: &config,
        layer: &layer,
        name: Some(tag),
    };
    for (location, compression) in [
        (
            format!("docker-archive:{}", dir.path().join("d.tar").display()),
            LayerCompression::None,
        ),
        (
            format!("oci:{}:v1", dir.path().join("layout").display()),
            LayerCompression::Gzip,
        ),
        (
            format!("oci-archive:{}:v1", dir.path().join("o.tar").display()),
            LayerCompression::None,
        ),
    ] {
        let options = WriteOptions {
            layer_compression: compression,
            epoch: 0,
        };
        let written = write_image(&location.parse().unwrap(), &image, &options).unwrap();
        let inspected: serde_json::Value =
            serde_json::from_str(&command("skopeo", &["inspect", &location])).unwrap();
        assert_eq!(
            inspected["Architecture"], "amd64",
            "{location}: {inspected}"
        );
        assert_eq!(
            inspected["Layers"][0],
            written.layers[0].digest.to_string(),
            "{location}"
        );
        if let Some(manifest) = &written.manifest_digest {
            assert_eq!(inspected["Digest"], manifest.to_string(), "{location}");
        }
        let config_json: serde_json::Value =
            serde_json::from_str(&command("skopeo", &["inspect", "--config", &location])).unwrap();
        assert_eq!(config_json["config"]["User"], "65532", "{location}");
    }
}
