//! slim as an image (the Dockerfile at the top of the repository), run beside the engine's
//! socket, slims an example with an HTTP probe; and the CI examples are valid YAML.

use std::path::Path;
use std::process::Command;

use crate::support::*;

/// Build slim's image from the binaries this test run built.
fn build_self_image(tag: &str) {
    let context = tempfile::tempdir().unwrap();
    let bin = context.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let built = Path::new(env!("CARGO_BIN_EXE_slim"))
        .parent()
        .unwrap()
        .to_path_buf();
    for name in ["slim", "slim-sensor", "slim-switch"] {
        std::fs::copy(built.join(name), bin.join(name))
            .unwrap_or_else(|e| panic!("{name} beside slim in {}: {e}", built.display()));
    }
    std::fs::copy(
        repo_root().join("Dockerfile"),
        context.path().join("Dockerfile"),
    )
    .unwrap();
    let output = Command::new("docker")
        .args([
            "build",
            "-q",
            "-t",
            tag,
            "--build-arg",
            "BIN_DIR=bin",
            "--build-arg",
        ])
        .arg(format!("CERTS_FROM={DEBIAN}"))
        .arg(context.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "docker build: {}",
        text(&output.stderr)
    );
}

#[test]
fn slims_own_image_slims_an_example_as_a_non_root_user() {
    fixtures();
    let slim_image = "slim-test/slim-self:1";
    build_self_image(slim_image);
    assert_eq!(runtime_config(slim_image)["User"], "65532:65532");

    // the nginx example, as an image of its own (see batch.rs for why)
    let source = "slim-test/self-nginx:1";
    build_example("nginx-static", "slim-test/self-nginx-base:1", DEBIAN);
    build_dockerfile(
        source,
        "FROM slim-test/self-nginx-base:1\nLABEL dev.slim.test=self-image\n",
        &[],
    );
    let socket_group = std::os::unix::fs::MetadataExt::gid(
        &std::fs::metadata("/var/run/docker.sock").expect("the engine's socket"),
    );
    // slim's user (65532) writes its report into a directory of the test
    let out = tempfile::tempdir().unwrap();
    let open = std::os::unix::fs::PermissionsExt::from_mode(0o777);
    std::fs::set_permissions(out.path(), open).unwrap();
    let output = Command::new("docker")
        // the default network: the probes go through the engine, not slim's own network
        .args(["run", "--rm", "--group-add"])
        .arg(socket_group.to_string())
        .args(["-v", "/var/run/docker.sock:/var/run/docker.sock", "-v"])
        .arg(format!("{}:/out", out.path().display()))
        .arg(slim_image)
        .args(["build", source, "--http-probe-cmd", "/style.css", "--force"])
        .args(["--report", "/out/report.json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "slim in its image: {}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    let report = std::fs::read(out.path().join("report.json")).expect("report written");
    let report: serde_json::Value = serde_json::from_slice(&report).unwrap();
    let checks = report["verification"]["checks"]
        .as_array()
        .expect("verified");
    assert!(checks.iter().all(|c| c["passed"] == true), "{checks:?}");
    let probed = |c: &serde_json::Value| {
        c["name"]
            .as_str()
            .unwrap_or_default()
            .contains("/style.css")
    };
    assert!(checks.iter().any(probed), "the probe ran: {checks:?}");
    assert_eq!(report["analysis"]["probed_from"], "inside");
    assert_ne!(report["output"]["user"], "0", "{}", report["output"]);
    assert!(leftover_containers(source).is_empty());
    // both are new on every run (new binaries, a new source label)
    remove_image("slim-test/self-nginx.slim:1");
    remove_image(slim_image);
}

#[test]
fn the_ci_examples_are_valid_yaml() {
    let venv = std::env::var("SLIM_TEST_VENV").unwrap_or_else(|_| "/opt/slim-test-venv".into());
    for example in ["github-actions.yml", "gitlab-ci.yml"] {
        let path = repo_root().join("examples/ci").join(example);
        let output = Command::new(format!("{venv}/bin/python"))
            .args(["-c", "import sys, yaml; yaml.safe_load(open(sys.argv[1]))"])
            .arg(&path)
            .output()
            .expect("the test venv's python (tests/run.sh makes it)");
        assert!(
            output.status.success(),
            "{example}: {}",
            text(&output.stderr)
        );
    }
}
