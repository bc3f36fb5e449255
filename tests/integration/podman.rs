//! slim against Podman's Docker-compatible API (Debian's podman, `podman system service`).
//! Where Podman can run containers the whole build runs through it; on machines where it
//! cannot (no CAP_SYS_RESOURCE for the rlimits it sets, as on the CI machines), slim must
//! still get as far as starting the analysis, fail with Podman's own reason, and leave
//! nothing behind.

use std::process::{Command, Stdio};

use crate::support::*;

struct PodmanService {
    child: std::process::Child,
    socket: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl PodmanService {
    fn start() -> PodmanService {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("podman.sock");
        let child = Command::new("podman")
            .args([
                "system",
                "service",
                "--time=0",
                &format!("unix://{}", socket.display()),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "this test needs Debian's podman (apt-get install podman); .ci/run installs it",
            );
        for _ in 0..100 {
            if socket.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(
            socket.exists(),
            "podman system service did not create its socket"
        );
        PodmanService {
            child,
            socket,
            _dir: dir,
        }
    }

    fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }
}

impl Drop for PodmanService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn podman(args: &[&str]) -> std::process::Output {
    Command::new("podman")
        .args(args)
        .output()
        .expect("running podman")
}

#[test]
fn analysis_and_load_through_podman() {
    fixtures();
    let service = PodmanService::start();
    let source = "localhost/slim-test/podman-app:1";
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("busybox.tar");
    runtime()
        .block_on(engine().save_image(BUSYBOX, &saved))
        .unwrap();
    assert!(
        podman(&["load", "-i", saved.to_str().unwrap()])
            .status
            .success()
    );
    assert!(
        podman(&["tag", &format!("localhost/{BUSYBOX}"), source])
            .status
            .success()
    );

    let can_run = podman(&["run", "--rm", source, "/bin/true"]);
    let report = dir.path().join("report.json");
    let output = Command::new(env!("CARGO_BIN_EXE_slim"))
        .env("DOCKER_HOST", service.docker_host())
        .args(["build", source, "--report", report.to_str().unwrap()])
        .output()
        .unwrap();
    if can_run.status.success() {
        assert_exit(&output, 0);
        let listed = podman(&["image", "exists", "localhost/slim-test/podman-app.slim:1"]);
        assert!(listed.status.success(), "the slim image is not in podman");
    } else {
        // slim reached Podman, created and filled the analysis container, and got Podman's reason.
        assert_exit(&output, 1);
        let stderr = text(&output.stderr);
        assert!(stderr.contains("starting the container"), "{stderr}");
        eprintln!(
            "podman cannot run containers here ({}); checked that slim fails cleanly",
            text(&can_run.stderr).trim()
        );
    }
    let left = podman(&["ps", "-a", "--filter", "label=dev.slim.source", "-q"]);
    assert!(
        text(&left.stdout).trim().is_empty(),
        "containers left in podman: {}",
        text(&left.stdout)
    );
}
