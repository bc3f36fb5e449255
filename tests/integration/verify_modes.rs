//! Output that changes from run to run: exact comparison fails (and says what to do about
//! it), `--verify-ignore` and `--verify-compare structure` pass when the slim image is fine.

use crate::support::*;

const SERVER: &str = r#"import json, uuid, http.server
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"request": uuid.uuid4().hex, "items": [{"name": "fern"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
"#;

fn changing_server() -> &'static str {
    let source = "slim-test/changing-answers:1";
    build_dockerfile(
        source,
        &format!(
            "FROM {DEBIAN}\nCOPY server.py /app/server.py\nEXPOSE 8000\n\
             CMD [\"python3\", \"/app/server.py\"]\n"
        ),
        &[("server.py", SERVER.as_bytes(), 0o644)],
    );
    source
}

fn judged_by(report: &serde_json::Value) -> Vec<String> {
    report["verification"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"].as_str().unwrap().starts_with("GET"))
        .map(|c| c["judged_by"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn answers_that_change_between_runs_have_ways_to_pass() {
    let source = changing_server();
    let (output, report, _dir) = slim_build(&[source, "--force"]);
    assert_exit(&output, 3);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("--verify-ignore"), "{stderr}");
    assert_eq!(judged_by(&report.unwrap()), ["exact"]);

    let (output, report, _dir) =
        slim_build(&[source, "--force", "--verify-ignore", "[0-9a-f]{32}"]);
    assert_exit(&output, 0);
    assert_eq!(judged_by(&report.unwrap()), ["exact after --verify-ignore"]);

    let (output, report, _dir) = slim_build(&[source, "--force", "--verify-compare", "structure"]);
    assert_exit(&output, 0);
    assert_eq!(judged_by(&report.unwrap()), ["structure"]);

    let output = slim(&["build", source, "--verify-ignore", "(unclosed"]);
    assert_exit(&output, 2);
}
