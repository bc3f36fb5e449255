//! Private registries: pushing the slim image and pulling the source, with and without
//! authentication, through a real registry on 127.0.0.1.

use std::process::Command;

use crate::support::*;

/// Run slim with a Docker config holding `user:password` for the registry.
fn slim_with_login(
    registry: &LocalRegistry,
    user: &str,
    password: &str,
    args: &[&str],
) -> (std::process::Output, tempfile::TempDir) {
    use base64::Engine as _;
    let config = tempfile::tempdir().unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let json = format!(
        "{{\"auths\":{{\"127.0.0.1:{}\":{{\"auth\":\"{auth}\"}}}}}}",
        registry.port
    );
    std::fs::write(config.path().join("config.json"), json).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_slim"))
        .env("DOCKER_CONFIG", config.path())
        .args(args)
        .output()
        .unwrap();
    (output, config)
}

#[test]
fn push_the_slim_image_and_pull_the_source_without_auth() {
    let registry = LocalRegistry::start(None);
    echo_app("slim-test/registry-app:1", "hello from the registry");
    let source = registry.reference("registry-app:1");
    push_to("slim-test/registry-app:1", &source);
    remove_image(&source);

    let target = registry.reference("registry-app-slim:1");
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("r.json");
    let output = slim(&[
        "build",
        &source,
        "--push",
        &target,
        "--report",
        report_path.to_str().unwrap(),
    ]);
    assert_exit(&output, 0);
    assert!(
        text(&output.stderr).contains("pulling"),
        "the source was pulled: {}",
        text(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    let pinned = report["pinned"].as_str().expect("pushed").to_string();
    assert!(
        pinned.starts_with(&format!(
            "{}@sha256:",
            registry.reference("registry-app-slim")
        )),
        "{pinned}"
    );
    assert!(text(&output.stdout).contains(&pinned));

    // Pull what was pushed by its digest, and run it.
    remove_image(&target);
    let pulled = Command::new("docker")
        .args(["pull", &pinned])
        .output()
        .unwrap();
    assert!(pulled.status.success(), "{}", text(&pulled.stderr));
    assert_eq!(
        run_to_exit(&pinned, None, None).1,
        "hello from the registry\n"
    );
}

#[test]
fn authenticated_registry_push_pull_and_wrong_password() {
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let registry = LocalRegistry::start(Some(&format!("slim:{hash}\n")));
    echo_app("slim-test/private-app:1", "hello from the registry");
    let source = registry.reference("private-app:1");

    // slim push with the right credentials
    let (output, _config) = slim_with_login(
        &registry,
        "slim",
        "s3cret",
        &["push", "slim-test/private-app:1", &source],
    );
    assert_exit(&output, 0);
    assert!(
        text(&output.stdout).starts_with(&format!("{}@sha256:", registry.reference("private-app")))
    );

    // build pulls the private source and pushes the result with the same credentials
    remove_image(&source);
    let target = registry.reference("private-app-slim:1");
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let (output, _config) = slim_with_login(
        &registry,
        "slim",
        "s3cret",
        &[
            "build",
            &source,
            "--push",
            &target,
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_exit(&output, 0);

    // a wrong password is a clear error
    let (output, _config) = slim_with_login(
        &registry,
        "slim",
        "wrong",
        &[
            "push",
            "slim-test/private-app:1",
            &registry.reference("other:1"),
        ],
    );
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("refused the credentials") && stderr.contains("docker login"),
        "{stderr}"
    );

    // and so is pulling a private source without any credentials
    remove_image(&source);
    let (output, _config) = slim_with_login(&registry, "nobody", "nothing", &["build", &source]);
    assert_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("pulling it failed"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn verify_source_refuses_another_image() {
    echo_app("slim-test/verify-source:1", "hello from the registry");
    let id = image_id("slim-test/verify-source:1").unwrap();
    let wrong = format!("sha256:{}", "0".repeat(64));
    let (output, _, _dir) = slim_build(&["slim-test/verify-source:1", "--verify-source", &wrong]);
    assert_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("not the expected image"),
        "{}",
        text(&output.stderr)
    );
    let (output, _, _dir) = slim_build(&["slim-test/verify-source:1", "--verify-source", &id]);
    assert_exit(&output, 0);
}
