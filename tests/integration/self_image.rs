//! slim as an image (the Dockerfile at the top of the repository), run beside the engine's
//! socket, slims an app; and the CI examples are valid YAML.

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
fn slims_own_image_slims_an_app_as_a_non_root_user() {
    fixtures();
    let slim_image = "slim-test/slim-self:1";
    build_self_image(slim_image);
    assert_eq!(runtime_config(slim_image)["User"], "65532:65532");

    echo_app("slim-test/self-app:1", "slimmed by slim's own image");
    let socket_group = std::os::unix::fs::MetadataExt::gid(
        &std::fs::metadata("/var/run/docker.sock").expect("the engine's socket"),
    );
    let output = Command::new("docker")
        .args(["run", "--rm", "--network", "host", "--group-add"])
        .arg(socket_group.to_string())
        .args([
            "-v",
            "/var/run/docker.sock:/var/run/docker.sock",
            slim_image,
        ])
        .args([
            "build",
            "slim-test/self-app:1",
            "--tag",
            "slim-test/self-app.slim:1",
            "--force",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "slim in its image: {}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    assert!(
        text(&output.stdout).contains("PASS"),
        "{}",
        text(&output.stdout)
    );
    assert_eq!(
        run_to_exit("slim-test/self-app.slim:1", None, None).1,
        "slimmed by slim's own image\n"
    );
    assert!(leftover_containers("slim-test/self-app:1").is_empty());
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
