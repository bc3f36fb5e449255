//! Every example app, built on the shared Debian fixture and slimmed with its probes: each
//! probe answer of the slim image must equal the original's, with the app running as non-root
//! under the seccomp profile slim wrote from the trace.

use crate::support::*;

/// Build `examples/NAME` on the Debian fixture, slim it with `args` and a seccomp profile,
/// and check the result.
fn slim_example(name: &str, args: &[&str]) -> serde_json::Value {
    let source = format!("slim-test/example-{name}:1");
    build_example(name, &source, DEBIAN);
    let source_id = image_id(&source).unwrap();
    let profile_dir = tempfile::tempdir().unwrap();
    let profile = profile_dir.path().join("seccomp.json");
    let mut all = vec![
        source.as_str(),
        "--seccomp-profile",
        profile.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let (output, report, _dir) = slim_build(&all);
    assert_exit(&output, 0);
    let report = report.expect("report written");
    assert_seccomp_verified(&report, &profile);

    let checks = report["verification"]["checks"]
        .as_array()
        .expect("verification ran");
    assert!(!checks.is_empty(), "{name}: nothing was compared");
    for check in checks {
        assert_eq!(check["passed"], true, "{name}: {check}");
    }
    let user = report["output"]["user"].as_str().unwrap();
    assert_ne!(uid_of(user), "0", "{name} runs as root: {user}");
    assert_eq!(
        image_id(&source).unwrap(),
        source_id,
        "{name}: the source image changed"
    );
    assert!(
        leftover_containers(&source).is_empty(),
        "{name}: containers left behind"
    );
    report
}

/// The slim image passed verification under the profile slim wrote, and the profile denies
/// with EPERM what the app never did.
pub fn assert_seccomp_verified(report: &serde_json::Value, path: &std::path::Path) {
    assert_eq!(
        report["seccomp"]["verified"], true,
        "{:#}",
        report["seccomp"]
    );
    let profile: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("profile written")).unwrap();
    assert_eq!(profile["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(profile["defaultErrnoRet"], 1);
    let allowed: Vec<&str> = profile["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|rule| rule["action"] == "SCMP_ACT_ALLOW")
        .flat_map(|rule| rule["names"].as_array().unwrap())
        .map(|name| name.as_str().unwrap())
        .collect();
    for never in ["ptrace", "mount", "bpf", "kexec_load", "init_module"] {
        assert!(!allowed.contains(&never), "{never} allowed: {allowed:?}");
    }
}

/// The names of all checks that were compared.
fn check_names(report: &serde_json::Value) -> Vec<String> {
    report["verification"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn python_api_with_sqlite_and_zoneinfo() {
    let report = slim_example(
        "python-api",
        &[
            "--http-probe-cmd",
            "/items",
            "--http-probe-cmd",
            "/restocked?tz=Asia/Tokyo",
        ],
    );
    let names = check_names(&report);
    assert!(
        names.contains(&"GET /restocked?tz=Asia/Tokyo on port 8000".to_string()),
        "{names:?}"
    );
    // the app writes its database at start: /app must be writable for the non-root user
    let writable = report["made_writable"].as_array().unwrap();
    assert!(writable.iter().any(|p| p == "/app"), "{writable:?}");
}

#[test]
fn node_http_server() {
    let report = slim_example(
        "node-http",
        &[
            "--http-probe-cmd",
            "/quote?n=1",
            "--http-probe-cmd",
            "/digest?text=slim",
        ],
    );
    assert_eq!(check_names(&report).len(), 4);
}

#[test]
fn java_http_server() {
    let report = slim_example(
        "java-http",
        &["--http-probe-cmd", "/digest", "--http-probe-cmd", "/tokyo"],
    );
    assert_eq!(check_names(&report).len(), 4);
}

#[test]
fn ruby_script() {
    slim_example("ruby-script", &[]);
}

#[test]
fn perl_script() {
    slim_example("perl-script", &[]);
}

#[test]
fn redis_server_probed_with_exec() {
    let report = slim_example("redis-server", &["--exec", "redis-cli ping"]);
    let names = check_names(&report);
    assert!(
        names.contains(&"exec `redis-cli ping`: output".to_string()),
        "{names:?}"
    );
    let probes = report["analysis"]["exec_probes"].as_array().unwrap();
    assert_eq!(probes[0]["exit_code"], 0);
}

#[test]
fn shell_pipeline_with_coreutils_awk_sed() {
    slim_example("shell-pipeline", &[]);
}

#[test]
fn tls_client_trusting_the_system_bundle() {
    let report = slim_example("tls-client", &[]);
    let kept = report["kept"].as_object().unwrap();
    assert!(kept.contains_key("/etc/ssl/certs/ca-certificates.crt"));
    // the server key is root-only in the source; the non-root user needs to read it
    let accessible = report["made_accessible"].as_array().unwrap();
    assert!(
        accessible.iter().any(|p| p == "/app/server.key"),
        "{accessible:?}"
    );
}

#[test]
fn keep_controls_shape_the_image() {
    let source = "slim-test/controls:1";
    build_example("python-script", source, DEBIAN);
    let (output, report, _dir) = slim_build(&[
        source,
        "--tag",
        "slim-test/controls.slim:1",
        "--include-shell",
        "--include-path",
        "/etc/os-release",
        "--include-exe",
        "env",
        "--exclude-pattern",
        "/usr/lib/python3.11/json/**",
        "--keep-package-db",
    ]);
    // Leaving out a package the app imports breaks it, and verification says so (exit 3).
    assert_exit(&output, 3);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("does not answer like the original")
            && stderr.contains("No module named 'json'"),
        "{stderr}"
    );
    let excluded = report.unwrap()["excluded"].clone();
    assert!(
        excluded
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "/usr/lib/python3.11/json/__init__.py"),
        "{excluded}"
    );

    let (output, report, _dir) = slim_build(&[
        source,
        "--tag",
        "slim-test/controls.slim:1",
        "--include-shell",
        "--include-path",
        "/etc/os-release",
        "--include-exe",
        "env",
        "--exclude-pattern",
        "/usr/share/doc/**",
        "--keep-package-db",
        "--skip-profile",
        "tzdata",
    ]);
    assert_exit(&output, 0);
    let report = report.unwrap();
    let fired: Vec<&str> = report["profiles_fired"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        fired.contains(&"python") && !fired.contains(&"tzdata"),
        "{fired:?}"
    );
    assert!(
        !report["kept"]
            .as_object()
            .unwrap()
            .contains_key("/usr/share/zoneinfo/Europe/Berlin")
    );
    let kept = report["kept"].as_object().unwrap();
    assert_eq!(kept["/etc/os-release"]["reason"], "include");
    assert!(kept.contains_key("/usr/bin/env"));
    // the shell works in the slim image
    let (code, stdout, stderr) = run_to_exit(
        "slim-test/controls.slim:1",
        None,
        Some(vec!["sh".into(), "-c".into(), "echo shell works".into()]),
    );
    assert_eq!((code, stdout.as_str()), (0, "shell works\n"), "{stderr}");
    // the package database lists only packages that still have files
    let (_, status, _) = run_to_exit(
        "slim-test/controls.slim:1",
        None,
        Some(vec![
            // grep is not in the slim image; python is
            "python3".into(),
            "-c".into(),
            "print(open('/var/lib/dpkg/status').read())".into(),
        ]),
    );
    assert!(status.contains("Package: libc6"), "{status}");
    assert!(status.contains("Package: python3.11-minimal"), "{status}");
    assert!(
        !status.contains("Package: nginx-light"),
        "nginx left in the package db: {status}"
    );
    assert!(
        !report["package_db"]["packages"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}
