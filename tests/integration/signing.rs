//! Signatures by digest against a real registry on 127.0.0.1, checked both ways with cosign
//! itself: slim's signatures verify with `cosign verify`, cosign's with `slim verify`, and
//! neither holds once the tag points at another image.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::*;

/// cosign from `SLIM_TEST_COSIGN` (tests/run.sh installs it), else from PATH.
fn cosign(password: &str, args: &[&str]) -> Output {
    let program = std::env::var("SLIM_TEST_COSIGN").unwrap_or_else(|_| "cosign".into());
    Command::new(&program)
        .env("COSIGN_PASSWORD", password)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}); tests/run.sh installs cosign (tests/tools/install-cosign.sh)")
        })
}

fn cosign_verify(public: &Path, image: &str) -> Output {
    cosign(
        "",
        &[
            "verify",
            "--key",
            public.to_str().unwrap(),
            "--insecure-ignore-tlog=true",
            "--allow-http-registry",
            image,
        ],
    )
}

fn slim_with_password(password: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slim"))
        .env("COSIGN_PASSWORD", password)
        .args(args)
        .output()
        .unwrap()
}

/// Point `reference` at another image, as a later push of the same tag does.
fn move_tag(reference: &str) {
    echo_app("slim-test/signing-other:1", "someone else's image");
    push_to("slim-test/signing-other:1", reference);
}

#[test]
fn slim_signs_the_pushed_slim_image_and_cosign_verifies_it() {
    let registry = LocalRegistry::start(None);
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("release");
    let output = slim_with_password(
        "s3cret",
        &[
            "generate-key-pair",
            "--output-key-prefix",
            prefix.to_str().unwrap(),
        ],
    );
    assert_exit(&output, 0);
    let (key, public) = (
        dir.path().join("release.key"),
        dir.path().join("release.pub"),
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "the private key is private");
    // a second run never overwrites the keys
    let again = slim_with_password(
        "x",
        &[
            "generate-key-pair",
            "--output-key-prefix",
            prefix.to_str().unwrap(),
        ],
    );
    assert_exit(&again, 2);

    echo_app("slim-test/signing-app:1", "signed hello");
    let target = registry.reference("signing-app:1");
    let report_path = dir.path().join("report.json");
    let output = slim_with_password(
        "s3cret",
        &[
            "build",
            "slim-test/signing-app:1",
            "--push",
            &target,
            "--sign-key",
            key.to_str().unwrap(),
            "--report",
            report_path.to_str().unwrap(),
        ],
    );
    assert_exit(&output, 0);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    let pinned = report["pinned"].as_str().expect("pushed").to_string();
    let digest = pinned.split_once('@').unwrap().1.to_string();
    assert_eq!(
        report["signature"]["stored_at"],
        format!(
            "{}:sha256-{}.sig",
            registry.reference("signing-app"),
            &digest[7..]
        )
    );
    assert!(
        text(&output.stdout).contains("signed"),
        "{}",
        text(&output.stdout)
    );

    // cosign accepts slim's signature, by tag and by digest
    let verified = cosign_verify(&public, &target);
    assert!(
        verified.status.success(),
        "cosign refused: {}",
        text(&verified.stderr)
    );
    assert!(
        text(&verified.stdout).contains(&digest),
        "{}",
        text(&verified.stdout)
    );
    assert!(cosign_verify(&public, &pinned).status.success());
    let output = slim(&["verify", &target, "--key", public.to_str().unwrap()]);
    assert_exit(&output, 0);
    assert!(
        text(&output.stdout).starts_with("verified: "),
        "{}",
        text(&output.stdout)
    );

    // another key: cosign and slim both refuse
    let stranger = dir.path().join("stranger");
    assert_exit(
        &slim_with_password(
            "",
            &[
                "generate-key-pair",
                "--output-key-prefix",
                stranger.to_str().unwrap(),
            ],
        ),
        0,
    );
    let stranger_pub = dir.path().join("stranger.pub");
    assert!(!cosign_verify(&stranger_pub, &target).status.success());
    let output = slim(&["verify", &target, "--key", stranger_pub.to_str().unwrap()]);
    assert_exit(&output, 3);
    assert!(
        text(&output.stdout).contains("not made by this key"),
        "{}",
        text(&output.stdout)
    );

    // the tag moves to another image: its digest has no signature, for cosign and for slim
    move_tag(&target);
    let moved = cosign_verify(&public, &target);
    assert!(
        !moved.status.success(),
        "cosign accepted a moved tag: {}",
        text(&moved.stdout)
    );
    assert!(
        text(&moved.stderr).contains("no signatures found"),
        "{}",
        text(&moved.stderr)
    );
    let output = slim(&[
        "verify",
        &target,
        "--key",
        public.to_str().unwrap(),
        "--json",
    ]);
    assert_exit(&output, 3);
    let verdict: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(verdict["verified"].as_array().unwrap().is_empty());
    assert_ne!(verdict["image"], pinned.as_str());
    // the signed digest itself still verifies
    assert_exit(
        &slim(&["verify", &pinned, "--key", public.to_str().unwrap()]),
        0,
    );
}

#[test]
fn slim_verifies_what_cosign_signed_and_signs_with_cosigns_key() {
    let registry = LocalRegistry::start(None);
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("cosign");
    let made = Command::new(std::env::var("SLIM_TEST_COSIGN").unwrap_or_else(|_| "cosign".into()))
        .current_dir(dir.path())
        .env("COSIGN_PASSWORD", "cosign-pw")
        .args([
            "generate-key-pair",
            "--output-key-prefix",
            prefix.to_str().unwrap(),
        ])
        .output()
        .expect("cosign runs");
    assert!(made.status.success(), "{}", text(&made.stderr));
    let (key, public) = (dir.path().join("cosign.key"), dir.path().join("cosign.pub"));

    echo_app("slim-test/cosigned-app:1", "cosigned hello");
    let target = registry.reference("cosigned-app:1");
    let pinned = push_to("slim-test/cosigned-app:1", &target);
    let pinned = format!("{}@{pinned}", registry.reference("cosigned-app"));
    let output = slim(&["verify", &target, "--key", public.to_str().unwrap()]);
    assert_exit(&output, 3);
    assert!(
        text(&output.stdout).contains("has no signature"),
        "{}",
        text(&output.stdout)
    );

    let signed = cosign(
        "cosign-pw",
        &[
            "sign",
            "--key",
            key.to_str().unwrap(),
            "--tlog-upload=false",
            "--allow-http-registry",
            "-y",
            &pinned,
        ],
    );
    assert!(
        signed.status.success(),
        "cosign sign: {}",
        text(&signed.stderr)
    );
    let output = slim(&["verify", &target, "--key", public.to_str().unwrap()]);
    assert_exit(&output, 0);

    // slim opens cosign's encrypted key: a wrong password stops it before anything is pushed
    echo_app("slim-test/cosigned-app:2", "second hello");
    let second = registry.reference("cosigned-app:2");
    let refused = slim_with_password(
        "wrong",
        &[
            "push",
            "slim-test/cosigned-app:2",
            &second,
            "--sign-key",
            key.to_str().unwrap(),
        ],
    );
    assert_exit(&refused, 2);
    assert!(
        text(&refused.stderr).contains("COSIGN_PASSWORD does not open it"),
        "{}",
        text(&refused.stderr)
    );
    let output = slim_with_password(
        "cosign-pw",
        &[
            "push",
            "slim-test/cosigned-app:2",
            &second,
            "--sign-key",
            key.to_str().unwrap(),
        ],
    );
    assert_exit(&output, 0);
    let verified = cosign_verify(&public, &second);
    assert!(
        verified.status.success(),
        "cosign refused slim's signature: {}",
        text(&verified.stderr)
    );
}

#[test]
fn signing_and_verifying_use_the_docker_login_of_a_private_registry() {
    use base64::Engine as _;
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let registry = LocalRegistry::start(Some(&format!("slim:{hash}\n")));
    let dir = tempfile::tempdir().unwrap();
    let login = |password: &str| {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("slim:{password}"));
        let config = dir.path().join(format!("config-{password}"));
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(
            config.join("config.json"),
            format!(
                "{{\"auths\":{{\"127.0.0.1:{}\":{{\"auth\":\"{auth}\"}}}}}}",
                registry.port
            ),
        )
        .unwrap();
        config
    };
    let run = |config: &Path, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_slim"))
            .env("DOCKER_CONFIG", config)
            .env("COSIGN_PASSWORD", "")
            .args(args)
            .output()
            .unwrap()
    };
    let prefix = dir.path().join("k");
    assert_exit(
        &run(
            &login("s3cret"),
            &[
                "generate-key-pair",
                "--output-key-prefix",
                prefix.to_str().unwrap(),
            ],
        ),
        0,
    );
    let (key, public) = (dir.path().join("k.key"), dir.path().join("k.pub"));

    echo_app("slim-test/private-signed:1", "private hello");
    let target = registry.reference("private-signed:1");
    let output = run(
        &login("s3cret"),
        &[
            "push",
            "slim-test/private-signed:1",
            &target,
            "--sign-key",
            key.to_str().unwrap(),
        ],
    );
    assert_exit(&output, 0);
    assert_exit(
        &run(
            &login("s3cret"),
            &["verify", &target, "--key", public.to_str().unwrap()],
        ),
        0,
    );

    // a wrong password: a clear error naming `docker login`, exit 1
    let output = run(
        &login("wrong"),
        &["verify", &target, "--key", public.to_str().unwrap()],
    );
    assert_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("docker login 127.0.0.1:"),
        "{}",
        text(&output.stderr)
    );
    let _ = Command::new("docker")
        .args(["image", "rm", &target])
        .output();
}
