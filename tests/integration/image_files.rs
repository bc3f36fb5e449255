//! Image files in and out: a `docker save` archive as the source, OCI and docker-archive
//! outputs checked with skopeo and `docker load`, and `--from-report` with no engine at all.

use std::process::Command;

use crate::support::*;

fn save(image: &str, path: &std::path::Path) {
    runtime()
        .block_on(engine().save_image(image, path))
        .expect("docker save");
}

fn skopeo_inspect(location: &str) -> serde_json::Value {
    let output = Command::new("skopeo")
        .args(["inspect", "--config", location])
        .output()
        .expect("these tests need skopeo (apt-get install skopeo); .ci/run installs it");
    assert!(
        output.status.success(),
        "skopeo inspect {location}: {}",
        text(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn manifest_digest(oci_dir: &std::path::Path) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(oci_dir.join("index.json")).unwrap()).unwrap();
    index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn saved_image_in_oci_and_docker_archive_out_and_rebuilt_without_an_engine() {
    let image = "slim-test/files-python:1";
    build_example("python-script", image, DEBIAN);
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("python.tar");
    save(image, &saved);
    let source = format!("docker-archive:{}", saved.display());

    // archive in, OCI layout out
    let oci = dir.path().join("oci");
    let report = dir.path().join("report.json");
    let output = slim(&[
        "build",
        &source,
        "--output",
        &format!("oci:{}", oci.display()),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_exit(&output, 0);
    let report_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert!(
        report_json["verification"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["passed"] == true)
    );
    let config = skopeo_inspect(&format!("oci:{}", oci.display()));
    assert_eq!(config["config"]["User"], "65532");
    assert_eq!(config["config"]["Cmd"][1], "/app/main.py");
    assert_eq!(
        config["config"]["Labels"]["org.opencontainers.image.base.name"],
        source.as_str()
    );
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 1);
    assert_eq!(
        report_json["output"]["digest"],
        manifest_digest(&oci).as_str()
    );

    // docker-archive out, loaded by the engine, runs like the original
    let archive = dir.path().join("slim.tar");
    let output = slim(&[
        "build",
        &source,
        "--output",
        &format!("docker-archive:{}", archive.display()),
        "--report",
        dir.path().join("r2.json").to_str().unwrap(),
    ]);
    assert_exit(&output, 0);
    let loaded = Command::new("docker")
        .args(["load", "-i", archive.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(loaded.status.success(), "{}", text(&loaded.stderr));
    let loaded_name = text(&loaded.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Loaded image: "))
        .expect("docker load names the image")
        .to_string();
    assert_eq!(
        run_to_exit(&loaded_name, None, None).1,
        run_to_exit(image, None, None).1
    );
    // its base label names this run's temporary file: a new image every run
    remove_image(&loaded_name);
    // an existing output file is not replaced silently
    let again = slim(&[
        "build",
        &source,
        "--output",
        &format!("docker-archive:{}", archive.display()),
        "--report",
        dir.path().join("r3.json").to_str().unwrap(),
    ]);
    assert_exit(&again, 2);
    assert!(
        text(&again.stderr).contains("already exists"),
        "{}",
        text(&again.stderr)
    );

    // the same report and source, no engine at all: the same digests
    let rebuilt = dir.path().join("rebuilt");
    let output = Command::new(env!("CARGO_BIN_EXE_slim"))
        .env("DOCKER_HOST", "unix:///tmp/slim-test-no-engine.sock")
        .args([
            "build",
            "--from-report",
            report.to_str().unwrap(),
            &source,
            "--output",
            &format!("oci:{}", rebuilt.display()),
        ])
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert_eq!(
        manifest_digest(&rebuilt),
        manifest_digest(&oci),
        "rebuilt image differs"
    );

    // a report for another image is refused
    let other = dir.path().join("busybox.tar");
    save(BUSYBOX, &other);
    let output = slim(&[
        "build",
        "--from-report",
        report.to_str().unwrap(),
        &format!("docker-archive:{}", other.display()),
        "--output",
        &format!("oci:{}", dir.path().join("x").display()),
    ]);
    assert_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("the report was made from"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_source_file_is_loaded_only_for_the_run_and_bad_files_are_refused() {
    let image = "slim-test/files-temporary:1";
    build_dockerfile(
        image,
        &format!("FROM {BUSYBOX}\nCMD [\"/bin/echo\", \"from a file\"]\n"),
        &[],
    );
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("app.tar");
    save(image, &saved);
    let id = image_id(image).unwrap();
    Command::new("docker")
        .args(["image", "rm", image])
        .output()
        .unwrap();
    assert!(image_id(&id).is_none(), "the engine still has the image");

    let (output, report, _d) = slim_build(&[
        &format!("docker-archive:{}", saved.display()),
        "--tag",
        "slim-test/files-temporary.slim:1",
        // the label names the file's (temporary) path, so a rerun is not "the same source"
        "--force",
    ]);
    assert_exit(&output, 0);
    assert_eq!(report.unwrap()["source"]["id"], id.as_str());
    assert_eq!(
        run_to_exit("slim-test/files-temporary.slim:1", None, None).1,
        "from a file\n"
    );
    assert!(
        image_id(&id).is_none(),
        "the source loaded for the analysis was left in the engine"
    );

    // a truncated archive is a clear error, not a panic
    let bytes = std::fs::read(&saved).unwrap();
    let cut = dir.path().join("cut.tar");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (output, _, _d) = slim_build(&[&format!("docker-archive:{}", cut.display())]);
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("error:") && !stderr.contains("panicked"),
        "{stderr}"
    );
}
