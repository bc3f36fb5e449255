//! Shared set-up for the integration tests: the real engine, locally built fixture images,
//! and running the slim binary.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use slim::engine::{Engine, SOURCE_LABEL};

pub const DEBIAN: &str = "slim-fixture/debian:bookworm";
pub const BUSYBOX: &str = "slim-fixture/busybox:static";

/// A runtime for the async engine calls the tests make (tests themselves are synchronous).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// The engine; a test that needs it fails loudly when it is missing, never skips.
pub fn engine() -> Engine {
    runtime().block_on(Engine::connect()).unwrap_or_else(|e| {
        panic!(
            "these tests need a running container engine (start dockerd, or set DOCKER_HOST): {e}"
        )
    })
}

/// Make sure the fixture base images exist, building them once if absent.
pub fn fixtures() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let engine = engine();
        let present = |tag: &str| {
            runtime()
                .block_on(engine.inspect_image(tag))
                .expect("inspect fixture")
                .is_some()
        };
        if present(DEBIAN) && present(BUSYBOX) {
            return;
        }
        let script = repo_root().join("tests/fixtures/build-bases.sh");
        let status = Command::new("sh")
            .arg(&script)
            .status()
            .expect("running build-bases.sh");
        assert!(
            status.success(),
            "building the fixture images with {} failed",
            script.display()
        );
    });
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Build `examples/NAME` into `tag` on the given base image.
pub fn build_example(name: &str, tag: &str, base: &str) {
    fixtures();
    let dir = repo_root().join("examples").join(name);
    build_context(
        &dir,
        tag,
        &BTreeMap::from([("BASE".to_string(), base.to_string())]),
    );
}

/// Build a directory as a Docker build context.
pub fn build_context(dir: &Path, tag: &str, args: &BTreeMap<String, String>) {
    let mut builder = tar::Builder::new(Vec::new());
    builder.append_dir_all(".", dir).expect("tar build context");
    let context = builder.into_inner().expect("tar build context");
    runtime()
        .block_on(engine().build_image(
            context,
            "Dockerfile",
            tag,
            args,
            slim::engine::Builder::Classic,
        ))
        .unwrap_or_else(|e| panic!("building {tag} from {}: {e}", dir.display()));
}

/// Drop a local name; the image goes with it when that was its last name, so a test that
/// makes an image with a changing ID does not leave the older ones dangling.
pub fn remove_image(reference: &str) {
    let _ = Command::new("docker")
        .args(["image", "rm", reference])
        .output();
}

/// A busybox image whose command prints `greeting`: the smallest app there is.
pub fn echo_app(tag: &str, greeting: &str) {
    build_dockerfile(
        tag,
        &format!("FROM {BUSYBOX}\nCMD [\"/bin/echo\", \"{greeting}\"]\n"),
        &[],
    );
}

/// Build an image from Dockerfile text and extra files.
pub fn build_dockerfile(tag: &str, dockerfile: &str, files: &[(&str, &[u8], u32)]) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).expect("write Dockerfile");
    for (name, data, mode) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, data).expect("write context file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode))
            .expect("chmod context file");
    }
    build_context(dir.path(), tag, &BTreeMap::new());
}

/// Run the slim binary with `args`; the report goes to a temp dir unless given.
pub fn slim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slim"))
        .args(args)
        .output()
        .expect("running slim")
}

/// `slim build` with a report in a fresh temp dir; returns the output and the parsed report.
pub fn slim_build(args: &[&str]) -> (Output, Option<serde_json::Value>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("report.json");
    let mut all: Vec<&str> = vec!["build", "--report", report.to_str().unwrap()];
    all.extend_from_slice(args);
    let output = slim(&all);
    let parsed = std::fs::read(&report)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    (output, parsed, dir)
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Panic with slim's output unless it exited with `code`.
pub fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "slim exited with {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
}

pub fn image_id(reference: &str) -> Option<String> {
    runtime()
        .block_on(engine().inspect_image(reference))
        .expect("inspect")
        .map(|s| s.id)
}

/// Containers (any state) that slim created for `source`.
pub fn leftover_containers(source: &str) -> Vec<String> {
    runtime()
        .block_on(engine().containers_labeled(SOURCE_LABEL, source))
        .expect("list containers")
}

/// Run an image to completion (optionally as `user`), returning (exit code, stdout, stderr).
pub fn run_to_exit(
    image: &str,
    user: Option<&str>,
    cmd: Option<Vec<String>>,
) -> (i64, String, String) {
    run_spec_to_exit(slim::engine::ContainerSpec {
        image: image.to_string(),
        user: user.map(str::to_string),
        cmd,
        ..Default::default()
    })
}

/// Run a container to completion, returning (exit code, stdout, stderr).
pub fn run_spec_to_exit(spec: slim::engine::ContainerSpec) -> (i64, String, String) {
    let engine = engine();
    runtime().block_on(async {
        let run = engine.create_container(spec).await.expect("create");
        engine.start(&run).await.expect("start");
        let code = engine.wait_exit(&run).await.expect("wait");
        let logs = engine.logs(&run).await.expect("logs");
        engine.remove_container(&run).await.expect("remove");
        (code, text(&logs.stdout), text(&logs.stderr))
    })
}

/// A registry (Debian's `docker-registry`) on a free 127.0.0.1 port, stopped when dropped.
pub struct LocalRegistry {
    child: std::process::Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl LocalRegistry {
    /// Start one; `htpasswd` (a file's contents) turns on basic authentication.
    pub fn start(htpasswd: Option<&str>) -> LocalRegistry {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut config = format!(
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some(htpasswd) = htpasswd {
            let path = dir.path().join("htpasswd");
            std::fs::write(&path, htpasswd).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: slim-test\n    path: {}\n",
                path.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new("docker-registry")
            .args(["serve", config_path.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("these tests need Debian's docker-registry (apt-get install docker-registry); .ci/run installs it");
        let registry = LocalRegistry {
            child,
            port,
            _dir: dir,
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return registry;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("docker-registry did not start on port {port}");
    }

    /// `127.0.0.1:PORT/NAME`
    pub fn reference(&self, name: &str) -> String {
        format!("127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for LocalRegistry {
    /// Stop the registry and drop the local names the test gave under it (the port is
    /// never reused, so they would only pile up in the engine).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let prefix = self.reference("");
        let Ok(listed) = Command::new("docker")
            .args([
                "images",
                "--digests",
                "--format",
                "{{.Repository}} {{.Tag}} {{.Digest}}",
            ])
            .output()
        else {
            return;
        };
        // An image pulled by digest has no tag, only `name@digest`.
        let names: Vec<String> = text(&listed.stdout)
            .lines()
            .filter_map(|line| match line.split(' ').collect::<Vec<_>>()[..] {
                [name, "<none>", digest] => Some(format!("{name}@{digest}")),
                [name, tag, _] => Some(format!("{name}:{tag}")),
                _ => None,
            })
            .filter(|name| name.starts_with(&prefix))
            .collect();
        if !names.is_empty() {
            let _ = Command::new("docker")
                .args(["image", "rm"])
                .args(&names)
                .output();
        }
    }
}

/// Tag a local image into a registry and push it; returns the pushed digest.
pub fn push_to(image: &str, target: &str) -> String {
    let engine = engine();
    let target = slim::image::ImageRef::parse(target).unwrap();
    runtime().block_on(async {
        engine.tag(image, &target).await.expect("tag");
        engine.push(&target, &|_: &str| {}).await.expect("push")
    })
}

/// Paths in an image's file system, as exported from a created (never started) container.
pub fn image_paths(image: &str) -> std::collections::BTreeSet<String> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "c=$(docker create {image} x) && docker export $c | tar -t; docker rm $c >/dev/null"
        ))
        .output()
        .expect("docker export");
    text(&output.stdout)
        .lines()
        .map(|l| l.trim_end_matches('/').to_string())
        .collect()
}

/// The runtime settings of an image's config that a Dockerfile controls.
pub fn runtime_config(image: &str) -> serde_json::Value {
    let output = Command::new("docker")
        .args(["image", "inspect", "--format", "{{json .Config}}", image])
        .output()
        .unwrap();
    let config: serde_json::Value = serde_json::from_slice(&output.stdout).expect("image config");
    let keys = [
        "User",
        "Env",
        "Entrypoint",
        "Cmd",
        "WorkingDir",
        "ExposedPorts",
        "Volumes",
        "Labels",
        "StopSignal",
        "Healthcheck",
    ];
    keys.iter()
        .map(|k| (k.to_string(), config[k].clone()))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Build a directory as a context with the classic builder or BuildKit.
pub fn build_dir_with(dir: &Path, tag: &str, builder: slim::engine::Builder) {
    let mut tar = tar::Builder::new(Vec::new());
    tar.append_dir_all(".", dir).expect("tar build context");
    let context = tar.into_inner().unwrap();
    runtime()
        .block_on(engine().build_image(context, "Dockerfile", tag, &BTreeMap::new(), builder))
        .unwrap_or_else(|e| panic!("building {tag} ({builder:?}) from {}: {e}", dir.display()));
}

/// Start `image` detached, run `command` in it with `docker exec` until it succeeds (a server
/// may take a moment to accept), and return its output; the container is removed after.
pub fn exec_in_running(image: &str, command: &[&str]) -> String {
    let started = Command::new("docker")
        .args(["run", "-d", image])
        .output()
        .expect("docker run");
    assert!(
        started.status.success(),
        "docker run {image}: {}",
        text(&started.stderr)
    );
    let id = text(&started.stdout).trim().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let result = loop {
        let output = Command::new("docker")
            .arg("exec")
            .arg(&id)
            .args(command)
            .output()
            .expect("docker exec");
        if output.status.success() {
            break Ok(text(&output.stdout));
        }
        if std::time::Instant::now() > deadline {
            break Err(format!("{}{}", text(&output.stdout), text(&output.stderr)));
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    let _ = Command::new("docker").args(["rm", "-f", &id]).output();
    result.unwrap_or_else(|e| panic!("{command:?} in {image} never succeeded: {e}"))
}

/// The uid part of an image's `USER` (`1000` of `1000:1000`).
pub fn uid_of(user: &str) -> &str {
    user.split(':').next().unwrap_or(user)
}

/// A static web server (busybox httpd) serving `page` at `/` on `listen` (`8080`, or
/// `127.0.0.1:8080` for a server outside clients cannot reach), port 8080 exposed.
pub fn httpd_app(tag: &str, listen: &str, page: &str) {
    build_dockerfile(
        tag,
        &format!(
            "FROM {BUSYBOX}\nCOPY index.html /www/index.html\nEXPOSE 8080\n\
             CMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"{listen}\", \"-h\", \"/www\"]\n"
        ),
        &[("index.html", page.as_bytes(), 0o644)],
    );
}

/// One container slim made, as seen while it ran: its role and what `docker port` said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenContainer {
    pub role: String,
    pub published: String,
}

/// Run `work` while watching, through the docker CLI, every container slim makes for
/// `source`: returns what `work` returned and each container seen (with every port
/// publication `docker port` ever showed for it).
pub fn watch_ports<T>(source: &str, work: impl FnOnce() -> T) -> (T, Vec<SeenContainer>) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let done = AtomicBool::new(false);
    let filter = format!("label={SOURCE_LABEL}={source}");
    let docker = |args: &[&str]| text(&Command::new("docker").args(args).output().unwrap().stdout);
    std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let mut seen: BTreeMap<String, SeenContainer> = BTreeMap::new();
            while !done.load(Ordering::SeqCst) {
                for id in docker(&["ps", "-q", "--filter", &filter]).split_whitespace() {
                    let role = docker(&[
                        "inspect",
                        "--format",
                        "{{index .Config.Labels \"dev.slim.role\"}}",
                        id,
                    ]);
                    let published = docker(&["port", id]);
                    let entry = seen.entry(id.to_string()).or_insert(SeenContainer {
                        role: role.trim().to_string(),
                        published: String::new(),
                    });
                    entry.published.push_str(published.trim());
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            seen.into_values().collect::<Vec<_>>()
        });
        let result = work();
        done.store(true, Ordering::SeqCst);
        (result, watcher.join().expect("port watcher"))
    })
}
