//! End-to-end tests against the real container engine: build fixture apps locally, slim them,
//! run the slim images.

mod archive;
mod batch;
mod beyond_trace;
mod compare;
mod dockerfile;
mod examples;
mod faults;
mod image_files;
mod lint;
mod non_root;
mod podman;
mod probe_from;
mod registry;
mod remote_engine;
mod sbom;
mod self_image;
mod signing;
mod support;
mod verify_modes;

use std::collections::BTreeSet;

use support::*;

/// Paths kept in the slim image, from the report.
fn kept_paths(report: &serde_json::Value) -> BTreeSet<String> {
    report["kept"]
        .as_object()
        .expect("kept map")
        .keys()
        .cloned()
        .collect()
}

#[test]
fn busybox_script_keeps_only_what_it_uses() {
    let source = "slim-test/shell-script:1";
    build_example("shell-script", source, BUSYBOX);
    let source_id = image_id(source).unwrap();
    let profile_dir = tempfile::tempdir().unwrap();
    let profile = profile_dir.path().join("seccomp.json");
    let (output, report, _dir) =
        slim_build(&[source, "--seccomp-profile", profile.to_str().unwrap()]);
    assert_exit(&output, 0);
    let report = report.expect("report written");
    examples::assert_seccomp_verified(&report, &profile);

    let (code, stdout, _) = run_to_exit("slim-test/shell-script.slim:1", None, None);
    let (_, original_stdout, _) = run_to_exit(source, None, None);
    assert_eq!(code, 0);
    assert_eq!(stdout, original_stdout);
    assert!(stdout.contains("items: 5"), "{stdout}");

    let kept = kept_paths(&report);
    // busybox's shell runs its applets in-process, so /bin/cat & co. are not needed at all.
    for needed in ["/app/report.sh", "/app/data.txt", "/bin/busybox", "/bin/sh"] {
        assert!(kept.contains(needed), "{needed} missing from {kept:?}");
    }
    // Everything else the script never touched stays out.
    let allowed: BTreeSet<&str> = [
        "/app",
        "/bin",
        "/app/report.sh",
        "/app/data.txt",
        "/bin/busybox",
        "/bin/sh",
        "/bin/cat",
        "/bin/wc",
        "/bin/sort",
        "/bin/head",
    ]
    .into();
    let extra: Vec<&String> = kept
        .iter()
        .filter(|p| !allowed.contains(p.as_str()))
        .collect();
    assert!(
        extra.is_empty(),
        "kept files the script did not need: {extra:?}"
    );
    assert_eq!(report["output"]["user"], "65532");

    // The sensor needs no capability at all: the same result without CAP_SYS_PTRACE.
    let (output, without_cap, _dir) = slim_build(&[
        source,
        "--cap-ptrace=false",
        "--tag",
        "slim-test/shell-script.slim:nocap",
    ]);
    assert_exit(&output, 0);
    assert_eq!(kept_paths(&without_cap.unwrap()), kept);
    assert_eq!(
        image_id(source).unwrap(),
        source_id,
        "the source image must not change"
    );
    assert!(leftover_containers(source).is_empty());
}

#[test]
fn python_script_is_ten_times_smaller_and_non_root() {
    let source = "slim-test/python-script:1";
    build_example("python-script", source, DEBIAN);
    let source_id = image_id(source).unwrap();
    let profile_dir = tempfile::tempdir().unwrap();
    let profile = profile_dir.path().join("seccomp.json");
    let (output, report, _dir) =
        slim_build(&[source, "--seccomp-profile", profile.to_str().unwrap()]);
    assert_exit(&output, 0);
    let report = report.expect("report written");
    examples::assert_seccomp_verified(&report, &profile);
    assert_eq!(
        report["verification"]["checks"].as_array().map(|c| c.len()),
        Some(2),
        "{report:#}"
    );

    let slim_image = "slim-test/python-script.slim:1";
    let (code, stdout, stderr) = run_to_exit(slim_image, None, None);
    let (_, original_stdout, _) = run_to_exit(source, None, None);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, original_stdout);
    let (_, id_out, _) = run_to_exit(
        slim_image,
        None,
        Some(vec![
            "python3".into(),
            "-c".into(),
            "import os; print(os.getuid(), os.getgid())".into(),
        ]),
    );
    assert_eq!(id_out.trim(), "65532 65532");

    // Under the profile the script runs as before, and a syscall it never made fails with
    // EPERM; without the profile that syscall works.
    let profile_json = std::fs::read_to_string(&profile).unwrap();
    let under_profile = |cmd: Option<Vec<String>>| {
        run_spec_to_exit(slim::engine::ContainerSpec {
            image: slim_image.into(),
            cmd,
            security_opt: vec![format!("seccomp={profile_json}")],
            ..Default::default()
        })
    };
    assert_eq!(under_profile(None).1, original_stdout);
    assert!(!profile_json.contains("\"getsid\""), "{profile_json}");
    let getsid = Some(vec![
        "python3".into(),
        "-c".into(),
        "import os\ntry:\n    os.getsid(0)\n    print('allowed')\nexcept OSError as e:\n    print('errno', e.errno)".into(),
    ]);
    assert_eq!(under_profile(getsid.clone()).1.trim(), "errno 1");
    assert_eq!(run_to_exit(slim_image, None, getsid).1.trim(), "allowed");

    let (source_size, slim_size) = (
        report["source"]["size"].as_f64().unwrap(),
        report["output"]["size"].as_f64().unwrap(),
    );
    assert!(
        source_size / slim_size >= 10.0,
        "only {source_size} -> {slim_size}"
    );
    assert_eq!(image_id(source).unwrap(), source_id);
    assert!(leftover_containers(source).is_empty());
}

#[test]
fn nginx_static_site_answers_the_same() {
    let source = "slim-test/nginx-static:1";
    build_example("nginx-static", source, DEBIAN);
    let source_id = image_id(source).unwrap();
    let profile_dir = tempfile::tempdir().unwrap();
    let profile = profile_dir.path().join("seccomp.json");
    let (output, report, _dir) = slim_build(&[
        source,
        "--http-probe-cmd",
        "/style.css",
        "--seccomp-profile",
        profile.to_str().unwrap(),
    ]);
    assert_exit(&output, 0);
    let report = report.expect("report written");
    examples::assert_seccomp_verified(&report, &profile);
    let checks = report["verification"]["checks"]
        .as_array()
        .expect("verification ran");
    assert!(
        checks.iter().any(|c| c["name"] == "GET / on port 80"),
        "{checks:?}"
    );
    assert!(
        checks
            .iter()
            .any(|c| c["name"] == "GET /style.css on port 80"),
        "{checks:?}"
    );
    assert!(checks.iter().all(|c| c["passed"] == true), "{checks:?}");
    assert_eq!(report["output"]["user"], "65532");
    let (source_size, slim_size) = (
        report["source"]["size"].as_f64().unwrap(),
        report["output"]["size"].as_f64().unwrap(),
    );
    assert!(
        source_size / slim_size >= 10.0,
        "only {source_size} -> {slim_size}"
    );

    // The page itself, fetched independently of slim's own verification.
    let page = std::fs::read(repo_root().join("examples/nginx-static/site/index.html")).unwrap();
    assert_eq!(fetch_page("slim-test/nginx-static.slim:1"), page);
    assert_eq!(image_id(source).unwrap(), source_id);
    assert!(leftover_containers(source).is_empty());
}

/// Start an image with port 80 published on loopback and GET / from it.
pub fn fetch_page(image: &str) -> Vec<u8> {
    let engine = engine();
    runtime().block_on(async {
        let body = slim::engine::ContainerSpec {
            image: image.into(),
            published_ports: vec![80],
            ..Default::default()
        };
        let run = engine.create_container(body).await.unwrap();
        engine.start(&run).await.unwrap();
        let port = engine.host_port(&run, 80).await.unwrap().unwrap();
        let prober = slim::probe::HttpProber::new(std::time::Duration::from_secs(5));
        let mut body = None;
        for _ in 0..100 {
            if let Ok(answer) = prober
                .send_to_local_port(port, &slim::probe::HttpProbe::get_root())
                .await
            {
                assert_eq!(answer.status, 200);
                body = Some(answer.body);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        engine.remove_container(&run).await.unwrap();
        body.expect("the slim nginx answered")
    })
}

#[test]
fn non_root_user_of_the_image_is_kept_and_user_flag_wins() {
    let source = "slim-test/already-nonroot:1";
    build_dockerfile(
        source,
        &format!(
            "FROM {BUSYBOX}\nCOPY passwd /etc/passwd\nCOPY group /etc/group\nUSER app\nCMD [\"/bin/id\"]\n"
        ),
        &[
            (
                "passwd",
                b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n",
                0o644,
            ),
            ("group", b"root:x:0:\napp:x:1000:\n", 0o644),
        ],
    );
    let (output, report, _dir) = slim_build(&[source]);
    assert_exit(&output, 0);
    let report = report.unwrap();
    assert_eq!(report["output"]["user"], "1000");
    assert_eq!(report["user_source"], "image");
    let (_, stdout, _) = run_to_exit("slim-test/already-nonroot.slim:1", None, None);
    assert!(
        stdout.starts_with("uid=1000(app) gid=1000(app)"),
        "{stdout}"
    );

    let (output, report, _dir) = slim_build(&[
        source,
        "--user",
        "1234",
        // `id` prints the user, so this run's output differs from the original's by design
        "--verify=false",
        "--tag",
        "slim-test/already-nonroot.slim:user1234",
    ]);
    assert_exit(&output, 0);
    assert_eq!(report.unwrap()["output"]["user"], "1234");
    let (_, stdout, _) = run_to_exit("slim-test/already-nonroot.slim:user1234", None, None);
    assert!(stdout.starts_with("uid=1234"), "{stdout}");
    assert!(leftover_containers(source).is_empty());
}

#[test]
fn bad_input_fails_clearly_and_leaves_nothing_behind() {
    fixtures();
    // malformed reference: usage error, no engine work
    let output = slim(&["build", "Not A Ref"]);
    assert_exit(&output, 2);
    assert!(
        text(&output.stderr).contains("invalid image reference"),
        "{}",
        text(&output.stderr)
    );

    // an engine that does not answer: the message names where slim looked
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_slim"))
        .env("DOCKER_HOST", "unix:///tmp/slim-test-no-engine.sock")
        .args(["build", "app:1"])
        .output()
        .unwrap();
    assert_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("unix:///tmp/slim-test-no-engine.sock"),
        "{}",
        text(&output.stderr)
    );

    // an image nobody can pull: a registry port where nothing listens
    let output = slim(&["build", "127.0.0.1:9/nothing/here:1"]);
    assert_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("pulling it failed"),
        "{}",
        text(&output.stderr)
    );

    // no ENTRYPOINT/CMD
    let source = "slim-test/no-command:1";
    build_dockerfile(source, &format!("FROM {BUSYBOX}\nCMD []\n"), &[]);
    let id = image_id(source).unwrap();
    let (output, _, _dir) = slim_build(&[source]);
    assert_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("no ENTRYPOINT or CMD"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(image_id(source).unwrap(), id);

    // crashes at start
    let source = "slim-test/crashes:1";
    build_dockerfile(
        source,
        &format!(
            "FROM {BUSYBOX}\nCMD [\"/bin/sh\", \"-c\", \"echo starting; echo broken config >&2; exit 3\"]\n"
        ),
        &[],
    );
    let id = image_id(source).unwrap();
    let (output, _, _dir) = slim_build(&[source]);
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("exit status 3") && stderr.contains("broken config"),
        "{stderr}"
    );
    assert_eq!(image_id(source).unwrap(), id);
    assert!(leftover_containers(source).is_empty());
    assert!(
        image_id("slim-test/crashes.slim:1").is_none(),
        "no half-written image"
    );

    // command that does not exist
    let source = "slim-test/missing-binary:1";
    build_dockerfile(
        source,
        &format!("FROM {BUSYBOX}\nCMD [\"/opt/app/server\"]\n"),
        &[],
    );
    let (output, _, _dir) = slim_build(&[source]);
    assert_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("cannot start"),
        "{}",
        text(&output.stderr)
    );
    assert!(leftover_containers(source).is_empty());

    // never exits under --continue-after exit
    let source = "slim-test/never-exits:1";
    build_dockerfile(
        source,
        &format!("FROM {BUSYBOX}\nCMD [\"/bin/sleep\", \"600\"]\n"),
        &[],
    );
    let (output, _, _dir) = slim_build(&[source, "--continue-after", "exit", "--timeout", "3"]);
    assert_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("still running after 3s"),
        "{}",
        text(&output.stderr)
    );
    assert!(leftover_containers(source).is_empty());
}

#[test]
fn sigint_during_analysis_removes_everything() {
    let source = "slim-test/sleeper:1";
    build_dockerfile(
        source,
        &format!("FROM {BUSYBOX}\nCMD [\"/bin/sleep\", \"600\"]\n"),
        &[],
    );
    let id = image_id(source).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_slim"))
        .args([
            "build",
            "--report",
            report.to_str().unwrap(),
            "--continue-after",
            "exit",
            "--timeout",
            "300",
            source,
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while leftover_containers(source).is_empty() {
        assert!(
            started.elapsed().as_secs() < 60,
            "slim never created its analysis container"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", text(&output.stderr));
    assert!(
        leftover_containers(source).is_empty(),
        "containers left after SIGINT"
    );
    assert_eq!(image_id(source).unwrap(), id);
    assert!(!report.exists(), "no report for an interrupted run");
}

#[test]
fn continue_after_seconds_stops_a_server_that_exposes_nothing() {
    let source = "slim-test/quiet-server:1";
    build_dockerfile(
        source,
        &format!("FROM {BUSYBOX}\nCMD [\"/bin/sh\", \"-c\", \"echo up; exec sleep 600\"]\n"),
        &[],
    );
    let (output, report, _dir) = slim_build(&[source, "--continue-after", "2"]);
    assert_exit(&output, 0);
    let report = report.unwrap();
    assert_eq!(report["analysis"]["continue_after"], "2");
    assert_eq!(report["analysis"]["stopped_by_slim"], true);
    let checks = report["verification"]["checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c["name"] == "app keeps running" && c["passed"] == true),
        "{checks:?}"
    );
    assert!(
        report["kept"]
            .as_object()
            .unwrap()
            .contains_key("/bin/busybox")
    );
    assert!(leftover_containers(source).is_empty());
}

#[test]
fn same_source_and_probes_give_the_same_image() {
    let source = "slim-test/reproducible:1";
    build_example("python-script", source, DEBIAN);
    let (first, a, _d1) = slim_build(&[source, "--tag", "slim-test/reproducible-a:1"]);
    let (second, b, _d2) = slim_build(&[source, "--tag", "slim-test/reproducible-b:1"]);
    assert_exit(&first, 0);
    assert_exit(&second, 0);
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        a["output"]["id"], b["output"]["id"],
        "two runs gave different images"
    );
    assert_eq!(
        image_id("slim-test/reproducible-a:1"),
        image_id("slim-test/reproducible-b:1")
    );
}
