//! Where the probes come from: by default from a container in the app's network namespace,
//! with no port published at any point; `--probe-from host` through published ports.

use crate::support::*;

const PAGE: &str = "<h1>probed from inside</h1>\n";

/// `slim build` of `source` with `args`, watched: the report and the containers seen.
fn watched_build(source: &str, args: &[&str]) -> (serde_json::Value, Vec<SeenContainer>) {
    let mut all = vec![source, "--force"];
    all.extend_from_slice(args);
    let ((output, report, _dir), seen) = watch_ports(source, || slim_build(&all));
    assert_exit(&output, 0);
    (report.expect("a report"), seen)
}

fn roles(seen: &[SeenContainer]) -> Vec<&str> {
    seen.iter().map(|c| c.role.as_str()).collect()
}

#[test]
fn probes_from_inside_publish_no_port_and_host_probes_do() {
    let source = "slim-test/probe-from:1";
    httpd_app(source, "8080", PAGE);

    let (report, seen) = watched_build(source, &["--tag", "slim-test/probe-from.slim:1"]);
    // the watch saw the analysis, the verification and the probing containers beside them
    for role in ["analysis", "probe", "verify"] {
        assert!(roles(&seen).contains(&role), "{seen:?}");
    }
    assert!(
        seen.iter().all(|c| c.published.is_empty()),
        "a port was published: {seen:?}"
    );
    assert_eq!(report["analysis"]["probed_from"], "inside");
    let probe = &report["analysis"]["http_probes"][0];
    assert_eq!(probe["answer"]["Ok"]["status"], 200, "{probe}");
    assert_eq!(
        probe["answer"]["Ok"]["body_sha256"],
        slim::digest::sha256_hex(PAGE.as_bytes())
    );
    assert_eq!(report["verification"]["probed_from"], "inside");
    let checks = report["verification"]["checks"].as_array().unwrap();
    assert!(
        checks.iter().any(|c| c["name"] == "GET / on port 8080"),
        "{checks:?}"
    );
    assert!(checks.iter().all(|c| c["passed"] == true), "{checks:?}");
    assert!(leftover_containers(source).is_empty());

    // the same watch sees the ports host probing publishes: the check above can fail
    let (report, seen) = watched_build(
        source,
        &[
            "--tag",
            "slim-test/probe-from.slim:1",
            "--probe-from",
            "host",
        ],
    );
    assert_eq!(report["analysis"]["probed_from"], "host");
    let analysis = seen.iter().find(|c| c.role == "analysis").expect("seen");
    assert!(
        analysis.published.contains("8080/tcp -> 127.0.0.1:"),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .filter(|c| c.role == "probe")
            .all(|c| c.published.is_empty())
    );
    let checks = report["verification"]["checks"].as_array().unwrap();
    assert!(checks.iter().all(|c| c["passed"] == true), "{checks:?}");
    remove_image("slim-test/probe-from.slim:1");
    assert!(leftover_containers(source).is_empty());
    // The two tests' sources share their first layers and are built at the same time, so
    // the builder's cache may give either a new ID on the next run: none is kept.
    remove_image(source);
}

#[test]
fn an_app_listening_on_loopback_only_is_named_not_passed() {
    let source = "slim-test/probe-loopback:1";
    httpd_app(source, "127.0.0.1:8080", PAGE);
    let (output, _, _dir) = slim_build(&[source, "--force", "--timeout", "30"]);
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("port 8080 is listened on, but nothing accepts connections on")
            && stderr.contains("127.0.0.1 only"),
        "{stderr}"
    );
    assert!(leftover_containers(source).is_empty());
    remove_image(source);
}
