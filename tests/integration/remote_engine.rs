//! The engine reached the ways the docker CLI reaches it: TCP with TLS and client
//! certificates (stunnel in front of the engine's socket, requiring a certificate from the
//! test's CA), and a Docker context that names that endpoint. The app is a web server, and
//! it is probed with no port published: the probes go through the engine's API alone.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

use crate::support::*;

/// A TLS endpoint for the engine on 127.0.0.1, with its own CA, server and client certs.
struct TlsEngine {
    port: u16,
    /// ca.pem, cert.pem, key.pem: what a client needs (DOCKER_CERT_PATH)
    client_dir: PathBuf,
    dir: tempfile::TempDir,
    stunnel: Child,
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        text(&output.stderr)
    );
}

/// A P-256 key and certificate `name`, signed by `ca` (self-signed when `ca` is None).
fn certificate(dir: &Path, name: &str, subject: &str, ca: Option<&str>, extensions: &str) {
    let key = format!("{name}-key.pem");
    let cert = format!("{name}.pem");
    let csr = format!("{name}.csr");
    // a new key with a self-signed certificate, or with a request for `ca` to sign
    let mut request = vec![
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
    ];
    request.extend(["-nodes", "-keyout", &key, "-subj", subject]);
    match ca {
        None => request.extend(["-x509", "-days", "2", "-out", &cert]),
        Some(_) => request.extend(["-out", &csr]),
    }
    openssl(dir, &request);
    if let Some(ca) = ca {
        let ext = format!("{name}.ext");
        std::fs::write(dir.join(&ext), extensions).unwrap();
        let (ca_cert, ca_key) = (format!("{ca}.pem"), format!("{ca}-key.pem"));
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &ca_cert,
                "-CAkey",
                &ca_key,
                "-CAcreateserial",
                "-out",
                &cert,
                "-days",
                "2",
                "-extfile",
                &ext,
            ],
        );
    }
}

/// A directory laid out as DOCKER_CERT_PATH: `ca.pem`, `cert.pem`, `key.pem`.
fn cert_dir(dir: &Path, name: &str, ca: &str, client: &str) -> PathBuf {
    let out = dir.join(name);
    std::fs::create_dir_all(&out).unwrap();
    std::fs::copy(dir.join(format!("{ca}.pem")), out.join("ca.pem")).unwrap();
    std::fs::copy(dir.join(format!("{client}.pem")), out.join("cert.pem")).unwrap();
    std::fs::copy(dir.join(format!("{client}-key.pem")), out.join("key.pem")).unwrap();
    out
}

/// A port nothing listens on now, on 127.0.0.1.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Wait (up to 5 s) until `server` accepts connections on 127.0.0.1:`port`.
fn wait_for_listener(port: u16, server: &str) {
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{server} did not listen on port {port}");
}

impl TlsEngine {
    fn start() -> TlsEngine {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        certificate(path, "ca", "/CN=slim test CA", None, "");
        certificate(
            path,
            "server",
            "/CN=127.0.0.1",
            Some("ca"),
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        );
        certificate(
            path,
            "client",
            "/CN=slim",
            Some("ca"),
            "extendedKeyUsage=clientAuth\n",
        );
        let client_dir = cert_dir(path, "client-certs", "ca", "client");
        let port = free_port();
        let config = path.join("stunnel.conf");
        std::fs::write(
            &config,
            format!(
                "foreground = yes\npid =\n[engine]\naccept = 127.0.0.1:{port}\n\
                 connect = /var/run/docker.sock\ncert = {dir}/server.pem\nkey = {dir}/server-key.pem\n\
                 CAfile = {dir}/ca.pem\nverifyChain = yes\nrequireCert = yes\n",
                dir = path.display()
            ),
        )
        .unwrap();
        let stunnel = Command::new("stunnel")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("these tests need stunnel (Debian's stunnel4); tests/run.sh installs it");
        // owned from here: dropped (stunnel killed and waited for) on every path
        let engine = TlsEngine {
            port,
            client_dir,
            dir,
            stunnel,
        };
        wait_for_listener(port, "stunnel");
        engine
    }

    fn host(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }
}

impl Drop for TlsEngine {
    fn drop(&mut self) {
        let _ = self.stunnel.kill();
        let _ = self.stunnel.wait();
    }
}

fn slim_with_env(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_slim"));
    command
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_TLS_VERIFY");
    for (key, value) in env {
        command.env(key, value);
    }
    command.args(args).output().unwrap()
}

/// `slim build SOURCE` (a web server on 8080) with `env`, watched: it passes, the server
/// answered the probes from inside its network, and no port was published at any point.
fn build_probed_inside(env: &[(&str, &str)], source: &str, report: &Path) {
    let build = [
        "build",
        source,
        "--force",
        "--report",
        report.to_str().unwrap(),
    ];
    let (output, seen) = watch_ports(source, || slim_with_env(env, &build));
    assert_exit(&output, 0);
    assert!(seen.iter().any(|c| c.role == "analysis"), "{seen:?}");
    assert!(
        seen.iter().all(|c| c.published.is_empty()),
        "a port was published: {seen:?}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    assert_eq!(report["analysis"]["probed_from"], "inside");
    assert_eq!(
        report["analysis"]["http_probes"][0]["answer"]["Ok"]["status"],
        200
    );
    let checks = report["verification"]["checks"]
        .as_array()
        .expect("verified");
    assert!(
        checks.iter().any(|c| c["name"] == "GET / on port 8080"),
        "{checks:?}"
    );
    assert!(checks.iter().all(|c| c["passed"] == true), "{checks:?}");
}

#[test]
fn builds_through_a_tls_endpoint_and_a_docker_context_and_says_what_is_wrong() {
    let engine = TlsEngine::start();
    let source = "slim-test/remote-app:1";
    httpd_app(source, "8080", "hello over TLS\n");
    let host = engine.host();
    let certs = engine.client_dir.to_str().unwrap();
    let tls = [
        ("DOCKER_HOST", host.as_str()),
        ("DOCKER_TLS_VERIFY", "1"),
        ("DOCKER_CERT_PATH", certs),
    ];
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    build_probed_inside(&tls, source, &report);

    // the same endpoint as a Docker context, made by the docker CLI in its own store
    let config = dir.path().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let created = Command::new("docker")
        .env("DOCKER_CONFIG", &config)
        .args([
            "context",
            "create",
            "slim-tls",
            "--docker",
            &format!("host={host},ca={certs}/ca.pem,cert={certs}/cert.pem,key={certs}/key.pem"),
        ])
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", text(&created.stderr));
    let config = config.to_str().unwrap();
    let output = slim_with_env(
        &[("DOCKER_CONFIG", config)],
        &[
            "--docker-context",
            "slim-tls",
            "build",
            source,
            "--force",
            "--report",
            dir.path().join("r2.json").to_str().unwrap(),
        ],
    );
    assert_exit(&output, 0);
    let listed = slim_with_env(
        &[("DOCKER_CONFIG", config), ("DOCKER_CONTEXT", "slim-tls")],
        &["images"],
    );
    assert_exit(&listed, 0);
    assert!(
        text(&listed.stdout).contains("slim-test/remote-app:1"),
        "{}",
        text(&listed.stdout)
    );

    // a client certificate of another CA: refused, and the message says where to look
    certificate(engine.dir.path(), "other-ca", "/CN=other CA", None, "");
    certificate(
        engine.dir.path(),
        "intruder",
        "/CN=intruder",
        Some("other-ca"),
        "extendedKeyUsage=clientAuth\n",
    );
    let wrong = cert_dir(engine.dir.path(), "wrong-client", "ca", "intruder");
    let output = slim_with_env(
        &[
            ("DOCKER_HOST", host.as_str()),
            ("DOCKER_TLS_VERIFY", "1"),
            ("DOCKER_CERT_PATH", wrong.to_str().unwrap()),
        ],
        &["images"],
    );
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("cannot reach the container engine") && stderr.contains("reached with TLS"),
        "{stderr}"
    );

    // nothing listening, and a context that does not exist
    let output = slim_with_env(&[("DOCKER_HOST", "tcp://127.0.0.1:1")], &["images"]);
    assert_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("Connection refused"),
        "{}",
        text(&output.stderr)
    );
    let output = slim_with_env(
        &[("DOCKER_CONFIG", config)],
        &["--docker-context", "nope", "images"],
    );
    assert_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("no Docker context \"nope\""),
        "{}",
        text(&output.stderr)
    );
}

/// sshd on 127.0.0.1 with its own host key, letting in this user with the test's key; and
/// an `ssh` first on PATH that uses that key and trusts that host key only.
struct SshEngine {
    port: u16,
    user: String,
    /// holds the `ssh` wrapper: put first on PATH
    bin_dir: PathBuf,
    _dir: tempfile::TempDir,
    sshd: Child,
}

impl SshEngine {
    fn start() -> SshEngine {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        let keygen = |name: &str| {
            let output = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(path.join(name))
                .output()
                .expect("these tests need ssh-keygen (Debian's openssh-client)");
            assert!(output.status.success(), "{}", text(&output.stderr));
            std::fs::read_to_string(path.join(format!("{name}.pub"))).unwrap()
        };
        let host_key = keygen("host_key");
        let client_key = keygen("id");
        std::fs::write(path.join("authorized_keys"), &client_key).unwrap();
        let port = free_port();
        std::fs::write(
            path.join("known_hosts"),
            format!("[127.0.0.1]:{port} {host_key}"),
        )
        .unwrap();
        let p = path.display();
        std::fs::write(
            path.join("sshd_config"),
            format!(
                "ListenAddress 127.0.0.1\nPort {port}\nHostKey {p}/host_key\n\
                 AuthorizedKeysFile {p}/authorized_keys\nPidFile none\nStrictModes no\n\
                 UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\n"
            ),
        )
        .unwrap();
        std::fs::write(
            path.join("ssh_config"),
            format!(
                "Host *\n  IdentityFile {p}/id\n  IdentitiesOnly yes\n  \
                 UserKnownHostsFile {p}/known_hosts\n  StrictHostKeyChecking yes\n  \
                 BatchMode yes\n  LogLevel ERROR\n"
            ),
        )
        .unwrap();
        let bin_dir = path.join("bin");
        std::fs::create_dir(&bin_dir).unwrap();
        let wrapper = bin_dir.join("ssh");
        std::fs::write(
            &wrapper,
            format!("#!/bin/sh\nexec /usr/bin/ssh -F {p}/ssh_config \"$@\"\n"),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        // sshd's privilege separation directory, which only the package's service creates
        let _ = std::fs::create_dir_all("/run/sshd");
        let sshd = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(path.join("sshd_config"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("these tests need sshd (Debian's openssh-server); tests/run.sh installs it");
        let user = text(&Command::new("id").arg("-un").output().unwrap().stdout)
            .trim()
            .to_string();
        let engine = SshEngine {
            port,
            user,
            bin_dir,
            _dir: dir,
            sshd,
        };
        wait_for_listener(port, "sshd");
        engine
    }

    fn host(&self, user: &str) -> String {
        format!("ssh://{user}@127.0.0.1:{}", self.port)
    }

    /// PATH with the test's `ssh` first.
    fn path(&self) -> String {
        format!(
            "{}:{}",
            self.bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }
}

impl Drop for SshEngine {
    fn drop(&mut self) {
        let _ = self.sshd.kill();
        let _ = self.sshd.wait();
    }
}

#[test]
fn builds_over_ssh_and_through_an_ssh_context_and_says_what_ssh_refused() {
    let engine = SshEngine::start();
    let source = "slim-test/remote-ssh-app:1";
    httpd_app(source, "8080", "hello over ssh\n");
    let path = engine.path();
    let host = engine.host(&engine.user);
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let over_ssh = [("PATH", path.as_str()), ("DOCKER_HOST", host.as_str())];
    build_probed_inside(&over_ssh, source, &report);
    assert!(leftover_containers(source).is_empty());

    // a context the docker CLI made, naming the ssh address
    let config = dir.path().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let created = Command::new("docker")
        .env("DOCKER_CONFIG", &config)
        .args(["context", "create", "slim-ssh", "--docker"])
        .arg(format!("host={host}"))
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", text(&created.stderr));
    let config = config.to_str().unwrap();
    let through_context = [("PATH", path.as_str()), ("DOCKER_CONFIG", config)];
    let output = slim_with_env(
        &through_context,
        &[
            "--docker-context",
            "slim-ssh",
            "build",
            source,
            "--force",
            "--report",
            dir.path().join("r2.json").to_str().unwrap(),
        ],
    );
    assert_exit(&output, 0);

    // a user the server does not let in: ssh's own words, and no hint about local sockets
    let stranger = engine.host("nobody-here");
    let output = slim_with_env(
        &[("PATH", path.as_str()), ("DOCKER_HOST", stranger.as_str())],
        &["images"],
    );
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("cannot reach the container engine")
            && stderr.contains("Permission denied"),
        "{stderr}"
    );
    remove_image("slim-test/remote-ssh-app.slim:1");
}
