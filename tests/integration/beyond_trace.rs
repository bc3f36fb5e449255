//! Apps with routes the probes never reach: each example is slimmed with its `probe` routes
//! only, then every route (probed or not) must answer on the slim image exactly as on the
//! original — pages and templates rendered for the first time, static files nobody asked
//! for, modules imported inside a request handler.

use std::time::{Duration, Instant};

use slim::probe::{HttpProbe, HttpProber};

use crate::support::*;

/// One line of an example's `routes` file.
struct Route {
    probed: bool,
    probe: HttpProbe,
}

fn routes(example: &str) -> Vec<Route> {
    let path = repo_root().join("examples").join(example).join("routes");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (kind, rest) = line.split_once(' ').expect("`probe|check METHOD PATH`");
            let spec = rest.trim().replacen(' ', ":", 1);
            Route {
                probed: kind == "probe",
                probe: HttpProbe::parse(&spec).unwrap_or_else(|e| panic!("{line}: {e}")),
            }
        })
        .collect()
}

/// A container of `image` with `port` published on 127.0.0.1, removed when dropped.
struct Running {
    id: String,
    host_port: u16,
}

impl Running {
    fn start(image: &str, port: u16) -> Running {
        let output = std::process::Command::new("docker")
            .args(["run", "-d", "-p", &format!("127.0.0.1::{port}"), image])
            .output()
            .expect("docker run");
        assert!(
            output.status.success(),
            "docker run {image}: {}",
            text(&output.stderr)
        );
        let id = text(&output.stdout).trim().to_string();
        let mut running = Running { id, host_port: 0 };
        let mapped = std::process::Command::new("docker")
            .args(["port", &running.id, &format!("{port}/tcp")])
            .output()
            .expect("docker port");
        running.host_port = text(&mapped.stdout)
            .lines()
            .next()
            .and_then(|l| l.rsplit(':').next())
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("{image}: port {port} not published"));
        running
    }

    fn logs(&self) -> String {
        let output = std::process::Command::new("docker")
            .args(["logs", "--tail", "30", &self.id])
            .output()
            .expect("docker logs");
        format!("{}{}", text(&output.stdout), text(&output.stderr))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", &self.id])
            .output();
    }
}

/// (status, body) of every route, once the app answers at all.
fn answers(image: &str, port: u16, routes: &[Route]) -> Vec<(u16, Vec<u8>)> {
    let running = Running::start(image, port);
    // Generous: a JSP or template compiled on its first request takes long when the
    // other integration tests share the two cores.
    let prober = HttpProber::new(Duration::from_secs(90));
    let deadline = Instant::now() + Duration::from_secs(120);
    runtime().block_on(async {
        while prober
            .send_to_local_port(running.host_port, &HttpProbe::get_root())
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "{image} never answered on port {port}:\n{}",
                running.logs()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let mut out = Vec::new();
        for route in routes {
            let answer = prober
                .send_to_local_port(running.host_port, &route.probe)
                .await
                .unwrap_or_else(|e| {
                    panic!("{image} {}: {e}\n{}", route.probe.path, running.logs())
                });
            out.push((answer.status, answer.body));
        }
        out
    })
}

/// Slim `examples/NAME` with its probe routes, then compare every route on both images.
fn every_route_answers_as_before(example: &str, port: u16) -> serde_json::Value {
    let source = format!("slim-test/example-{example}:1");
    let slim_image = format!("slim-test/example-{example}.slim:1");
    build_example(example, &source, DEBIAN);
    let routes = routes(example);
    let mut args = vec![source.clone()];
    for route in routes.iter().filter(|r| r.probed) {
        args.push("--http-probe-cmd".into());
        args.push(format!("{}:{}", route.probe.method, route.probe.path));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (output, report, _dir) = slim_build(&args);
    assert_exit(&output, 0);
    let report = report.expect("report written");
    let user = report["output"]["user"].as_str().unwrap_or_default();
    assert_ne!(uid_of(user), "0", "{example} runs as root: {user}");
    assert!(
        leftover_containers(&source).is_empty(),
        "containers left behind"
    );

    let original = answers(&source, port, &routes);
    let slimmed = answers(&slim_image, port, &routes);
    let mut failures = Vec::new();
    for ((route, before), after) in routes.iter().zip(&original).zip(&slimmed) {
        assert_eq!(
            before.0, 200,
            "{example}: the original fails {}",
            route.probe.path
        );
        if before != after {
            failures.push(format!(
                "{} {} ({}): {} -> {}: {:?}",
                route.probe.method,
                route.probe.path,
                if route.probed { "probed" } else { "not probed" },
                before.0,
                after.0,
                String::from_utf8_lossy(&after.1[..after.1.len().min(300)])
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{example}: routes answer differently on the slim image:\n{}",
        failures.join("\n")
    );
    report
}

fn kept_by(report: &serde_json::Value, path: &str) -> String {
    report["kept"][path]["reason"]
        .as_str()
        .unwrap_or("not kept")
        .to_string()
}

#[test]
fn flask_templates_static_files_and_lazy_imports() {
    let report = every_route_answers_as_before("flask-app", 8000);
    assert_eq!(kept_by(&report, "/app/templates/about.html"), "app-content");
    assert_eq!(
        kept_by(&report, "/usr/lib/python3.11/csv.py"),
        "python-import"
    );
    assert!(
        report["app_roots"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["path"] == "/app" && r["kept_whole"] == true),
        "{}",
        report["app_roots"]
    );
}

#[test]
fn express_static_folder_views_and_lazy_requires() {
    let report = every_route_answers_as_before("express-app", 3000);
    assert_eq!(kept_by(&report, "/app/lib/invoice.js"), "app-content");
}

#[test]
fn php_pages_behind_apache_that_nobody_requested() {
    let report = every_route_answers_as_before("php-apache", 80);
    assert_eq!(kept_by(&report, "/var/www/html/contact.php"), "app-content");
}

#[test]
fn jsp_pages_on_tomcat_compiled_on_first_request() {
    let report = every_route_answers_as_before("tomcat-jsp", 8080);
    assert_eq!(
        kept_by(&report, "/var/lib/tomcat10/webapps/ROOT/catalog.jsp"),
        "app-content"
    );
}

#[test]
fn static_site_on_lighttpd() {
    let report = every_route_answers_as_before("static-lighttpd", 80);
    assert_eq!(kept_by(&report, "/srv/www/docs/guide.html"), "app-content");
}
