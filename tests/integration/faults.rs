//! Faults: a build killed with SIGKILL at any stage, the engine going away in the middle of
//! the analysis, an app that never opens its port, a disk that fills while an image file is
//! written. Each ends with a clear error and exit 1 (SIGKILL: nothing left once the next run
//! has looked), and nothing half-written or running.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use crate::support::*;

/// A server that never exits and exposes nothing: the analysis runs as long as asked.
fn looping_image(tag: &str) {
    build_dockerfile(
        tag,
        &format!("FROM {BUSYBOX}\nCMD [\"/bin/sh\", \"-c\", \"while true; do sleep 1; done\"]\n"),
        &[],
    );
}

/// `slim ARGS` in the background, with its stderr lines arriving on a channel.
fn spawn_slim(args: &[&str], docker_host: Option<&str>) -> (Child, Receiver<String>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_slim"));
    command
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(host) = docker_host {
        command.env("DOCKER_HOST", host);
    }
    let mut child = command.spawn().expect("running slim");
    let stderr = child.stderr.take().unwrap();
    let (send, receive) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    (child, receive)
}

/// Wait for a stderr line containing `needle`; all lines seen so far on failure.
fn wait_for_line(lines: &Receiver<String>, needle: &str, seen: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) {
            let found = line.contains(needle);
            seen.push(line);
            if found {
                return;
            }
        }
    }
    panic!("slim never printed {needle:?}:\n{}", seen.join("\n"));
}

/// Containers in the engine at `docker_host` created by the process `pid`.
fn containers_of(pid: u32, docker_host: Option<&str>) -> Vec<String> {
    let mut command = Command::new("docker");
    command.args([
        "ps",
        "-a",
        "--filter",
        "label=dev.slim.owner",
        "--format",
        "{{.ID}} {{.Label \"dev.slim.owner\"}}",
    ]);
    if let Some(host) = docker_host {
        command.env("DOCKER_HOST", host);
    }
    let output = command.output().expect("docker ps");
    text(&output.stdout)
        .lines()
        .filter(|l| {
            l.split_once(' ')
                .is_some_and(|(_, owner)| owner.starts_with(&format!("{pid}:")))
        })
        .map(str::to_string)
        .collect()
}

/// The run record a process left in slim's state directory, if any.
fn record_of(pid: u32) -> Option<(PathBuf, serde_json::Value)> {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let runs = Path::new(&home).join(".local/state/slim/runs");
    let entries = std::fs::read_dir(runs).ok()?;
    entries.flatten().find_map(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with(&format!("run-{pid}-")) {
            return None;
        }
        let value = serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok()?;
        Some((e.path(), value))
    })
}

/// Kill slim with SIGKILL once `stage` started (plus `delay`), then check `slim clean`
/// removes every container, image and scratch path it left.
fn killed_at(source: &str, stage: &str, delay: Duration, extra: &[&str]) {
    let mut args = vec!["build", source, "--continue-after", "6", "--force"];
    args.extend_from_slice(extra);
    let (mut child, lines) = spawn_slim(&args, None);
    let mut seen = Vec::new();
    wait_for_line(&lines, &format!("==> {stage}"), &mut seen);
    std::thread::sleep(delay);
    child.kill().unwrap();
    child.wait().unwrap();
    let pid = child.id();
    let left_record = record_of(pid);

    let output = slim(&["clean"]);
    assert_exit(&output, 0);
    assert!(
        containers_of(pid, None).is_empty(),
        "killed during {stage}: containers left after `slim clean`: {:?}\n{}",
        containers_of(pid, None),
        text(&output.stdout)
    );
    assert!(
        record_of(pid).is_none(),
        "killed during {stage}: run record left"
    );
    if let Some((_, record)) = left_record {
        for path in record["dirs"].as_array().unwrap() {
            let path = path.as_str().unwrap();
            assert!(!Path::new(path).exists(), "{path} left after `slim clean`");
        }
        for image in record["images"].as_array().unwrap() {
            let image = image.as_str().unwrap();
            assert!(
                image_id(image).is_none(),
                "image {image} left after `slim clean`"
            );
        }
    }
}

#[test]
fn sigkill_at_any_stage_leaves_nothing_after_slim_clean() {
    let source = "slim-test/killed:1";
    looping_image(source);
    killed_at(source, "analyze", Duration::from_secs(2), &[]);
    killed_at(source, "resolve", Duration::from_millis(100), &[]);
    killed_at(source, "rebuild", Duration::ZERO, &[]);
    killed_at(source, "load", Duration::ZERO, &[]);
    killed_at(source, "verify", Duration::from_secs(2), &[]);

    // a source read from a file is loaded into the engine for the run: a temporary image
    let file_source = "slim-test/killed-file:1";
    looping_image(file_source);
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("source.tar");
    let saved = Command::new("docker")
        .args(["save", "-o", archive.to_str().unwrap(), file_source])
        .status()
        .unwrap();
    assert!(saved.success());
    let removed = Command::new("docker")
        .args(["rmi", file_source])
        .output()
        .unwrap();
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    let location = format!("docker-archive:{}", archive.display());
    killed_at(
        &location,
        "analyze",
        Duration::from_secs(2),
        &["--tag", "slim-test/killed-file.slim:1"],
    );
}

#[test]
fn an_app_that_never_opens_its_port_is_a_clear_error() {
    let source = "slim-test/never-listens:1";
    build_dockerfile(
        source,
        &format!("FROM {BUSYBOX}\nEXPOSE 8080\nCMD [\"/bin/sleep\", \"600\"]\n"),
        &[],
    );
    let (output, _report, _dir) = slim_build(&[source, "--timeout", "6"]);
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("no exposed port (8080) answered HTTP within 6s"),
        "{stderr}"
    );
    assert!(leftover_containers(source).is_empty());
    assert!(image_id("slim-test/never-listens.slim:1").is_none());
}

/// A tmpfs of `size` mounted on a fresh directory, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount (these tests run as root, as CI does)");
        assert!(status.success(), "mounting a tmpfs needs root");
        SmallDisk { dir }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn a_full_disk_while_writing_an_image_file_leaves_nothing_half_written() {
    let source = "slim-test/shell-script:1";
    build_example("shell-script", source, BUSYBOX);
    let disk = SmallDisk::mount("256k");
    let out = disk.dir.path().join("slim.tar");
    let location = format!("docker-archive:{}", out.display());
    let (output, _report, _dir) = slim_build(&[source, "--output", &location]);
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("No space left on device"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(disk.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "left on the full disk: {left:?}");
    assert!(leftover_containers(source).is_empty());
}

/// A second engine in a network namespace of its own (its `--bridge=none` would otherwise
/// delete the machine engine's docker0), with its own storage, that a test can stop and
/// start again. `unshare --net`, not `ip netns exec`, which hides the cgroup mounts.
struct SecondEngine {
    dir: tempfile::TempDir,
    daemon: Option<Child>,
}

impl SecondEngine {
    fn start() -> SecondEngine {
        // a short path: the engine's sockets live below it
        let dir = tempfile::Builder::new()
            .prefix("se")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::write(dir.path().join("daemon.json"), "{}").unwrap();
        let mut engine = SecondEngine { dir, daemon: None };
        engine.run_daemon();
        engine
    }

    fn host(&self) -> String {
        format!("unix://{}/docker.sock", self.dir.path().display())
    }

    fn run_daemon(&mut self) {
        let dir = self.dir.path();
        let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
        let daemon = Command::new("unshare")
            .args(["--net", "dockerd"])
            .arg(format!(
                "--config-file={}",
                dir.join("daemon.json").display()
            ))
            .arg(format!("--host={}", self.host()))
            .arg(format!("--data-root={}", dir.join("data").display()))
            .arg(format!("--exec-root={}", dir.join("exec").display()))
            .arg(format!("--pidfile={}", dir.join("dockerd.pid").display()))
            .args(["--bridge=none", "--iptables=false", "--ip-masq=false"])
            // apart from the machine engine's containers, should both use one containerd
            .args([
                "--containerd-namespace=slim-test-engine",
                "--containerd-plugins-namespace=slim-test-engine-plugins",
            ])
            .arg("--storage-driver=vfs")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting a second dockerd");
        self.daemon = Some(daemon);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.answers() {
            assert!(
                Instant::now() < deadline,
                "the second dockerd never answered"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn answers(&self) -> bool {
        Command::new("docker")
            .env("DOCKER_HOST", self.host())
            .args(["version", "--format", "{{.Server.Version}}"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// SIGTERM, as a service manager stops an engine; its containers stop with it.
    fn stop(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            let pid = std::fs::read_to_string(self.dir.path().join("dockerd.pid"))
                .ok()
                .and_then(|p| p.trim().parse::<i32>().ok());
            if let Some(pid) = pid {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
            let _ = daemon.wait();
            let deadline = Instant::now() + Duration::from_secs(30);
            while self.answers() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }

    fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .env("DOCKER_HOST", self.host())
            .args(args)
            .output()
            .expect("docker")
    }
}

impl Drop for SecondEngine {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn the_engine_going_away_during_analysis_is_a_clear_error_and_nothing_stays() {
    fixtures();
    let mut engine = SecondEngine::start();
    let host = engine.host();
    // the busybox fixture, copied over, and a server on it
    let save = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "docker save {BUSYBOX} | DOCKER_HOST={host} docker load -q"
        ))
        .output()
        .unwrap();
    assert!(save.status.success(), "{}", text(&save.stderr));
    let context = tempfile::tempdir().unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        format!("FROM {BUSYBOX}\nCMD [\"/bin/sh\", \"-c\", \"while true; do sleep 1; done\"]\n"),
    )
    .unwrap();
    let built = engine.docker(&[
        "build",
        "-q",
        "-t",
        "slim-test/engine-goes:1",
        context.path().to_str().unwrap(),
    ]);
    assert!(built.status.success(), "{}", text(&built.stderr));

    let (mut child, lines) = spawn_slim(
        &["build", "slim-test/engine-goes:1", "--continue-after", "60"],
        Some(&host),
    );
    let mut seen = Vec::new();
    wait_for_line(&lines, "==> analyze", &mut seen);
    std::thread::sleep(Duration::from_secs(2));
    engine.stop();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "slim hangs without its engine");
        std::thread::sleep(Duration::from_millis(200));
    };
    seen.extend(lines.try_iter());
    let stderr = seen.join("\n");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error:"), "{stderr}");

    // back again: the analysis container of the gone run is still there, until slim looks
    engine.run_daemon();
    let output = Command::new(env!("CARGO_BIN_EXE_slim"))
        .arg("clean")
        .env("DOCKER_HOST", &host)
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let left = engine.docker(&["ps", "-aq"]);
    assert_eq!(text(&left.stdout).trim(), "", "{}", text(&output.stdout));
}
