//! Real servers with their own users and permission checks, run as non-root: supplementary
//! groups count, private keys are never loosened, and what a user truly cannot reach is
//! handed over owner-only.

use crate::support::*;

/// A PostgreSQL-style check of a private key: owned by root, at most 0640; owned by the
/// user running, at most 0600; anything else refused (as PostgreSQL, OpenSSH and MySQL do).
const KEY_CHECK: &str = r#"import os, sys
path = sys.argv[1]
st = os.stat(path)
mode = st.st_mode & 0o777
if st.st_uid == 0:
    if mode & 0o037:
        sys.exit(f"private key file {path} has group or world access")
elif st.st_uid == os.geteuid():
    if mode & 0o077:
        sys.exit(f"private key file {path} has group or world access")
else:
    sys.exit(f"private key file {path} must be owned by the user or root")
open(path).read()
print("key ok")
"#;

/// An image whose command checks a key like PostgreSQL; `setup` makes the key and the user.
fn key_image(tag: &str, setup: &str, user: Option<&str>) {
    let user_line = user.map(|u| format!("USER {u}\n")).unwrap_or_default();
    build_dockerfile(
        tag,
        &format!(
            "FROM {DEBIAN}\nRUN {setup}\nCOPY check_key.py /app/check_key.py\n{user_line}\
             CMD [\"python3\", \"/app/check_key.py\", \"/etc/ssl/app/server.key\"]\n"
        ),
        &[("check_key.py", KEY_CHECK.as_bytes(), 0o644)],
    );
}

/// mode and owner of a path inside an image, read with its own python.
fn mode_and_owner(image: &str, path: &str) -> String {
    let (code, stdout, stderr) = run_to_exit(
        image,
        None,
        Some(vec![
            "python3".into(),
            "-c".into(),
            format!(
                "import os; s = os.stat('{path}'); print(oct(s.st_mode & 0o7777), s.st_uid, s.st_gid)"
            ),
        ]),
    );
    assert_eq!(code, 0, "{stderr}");
    stdout.trim().to_string()
}

const KEY_SETUP: &str = "groupadd -g 2100 keyreaders && useradd -u 1500 -m app \
    && mkdir -p /etc/ssl/app && printf 'not really a key' > /etc/ssl/app/server.key";

#[test]
fn a_key_read_through_a_supplementary_group_is_left_alone() {
    let source = "slim-test/key-group:1";
    let setup = format!(
        "{KEY_SETUP} && usermod -aG keyreaders app && chgrp keyreaders /etc/ssl/app \
         && chmod 0710 /etc/ssl/app && chown root:keyreaders /etc/ssl/app/server.key \
         && chmod 0640 /etc/ssl/app/server.key"
    );
    key_image(source, &setup, Some("app"));
    let (output, report, _dir) = slim_build(&[source]);
    assert_exit(&output, 0);
    let report = report.unwrap();
    // USER names the uid alone, so the runtime still gives the user its groups
    assert_eq!(report["output"]["user"], "1500");
    assert!(
        report["made_accessible"].as_array().unwrap().is_empty(),
        "{}",
        report["access_changes"]
    );
    assert_eq!(
        mode_and_owner("slim-test/key-group.slim:1", "/etc/ssl/app/server.key"),
        "0o640 0 2100"
    );
}

#[test]
fn a_key_the_user_cannot_read_becomes_its_own_and_owner_only() {
    // the app ran as root; the key is root:keyreaders 0640 and the added user is no member
    let source = "slim-test/key-foreign-group:1";
    let setup = format!(
        "{KEY_SETUP} && chown root:keyreaders /etc/ssl/app/server.key \
         && chmod 0640 /etc/ssl/app/server.key"
    );
    key_image(source, &setup, None);
    let (output, report, _dir) = slim_build(&[source]);
    assert_exit(&output, 0);
    let report = report.unwrap();
    let changes = report["access_changes"].as_array().unwrap();
    let change = changes
        .iter()
        .find(|c| c["path"] == "/etc/ssl/app/server.key")
        .unwrap_or_else(|| panic!("{changes:?}"));
    assert_eq!(change["before"], "0640 0:2100");
    assert_eq!(change["after"], "0600 65532:2100");
    assert_eq!(change["why"], "read during analysis");
    // the check passed in the slim image (verification), and the mode was not widened
    assert_eq!(
        mode_and_owner(
            "slim-test/key-foreign-group.slim:1",
            "/etc/ssl/app/server.key"
        ),
        "0o600 65532 2100"
    );

    // an image that ran as root: the added user gets the 0600 root key, still 0600
    let source = "slim-test/key-root:1";
    let setup = format!("{KEY_SETUP} && chmod 0600 /etc/ssl/app/server.key");
    key_image(source, &setup, None);
    let (output, _report, _dir) = slim_build(&[source]);
    assert_exit(&output, 0);
    assert_eq!(
        mode_and_owner("slim-test/key-root.slim:1", "/etc/ssl/app/server.key"),
        "0o600 65532 0"
    );
}

#[test]
fn postgresql_with_ssl_runs_as_postgres_and_answers_every_query() {
    let source = "slim-test/example-postgres-ssl:1";
    let slim_image = "slim-test/example-postgres-ssl.slim:1";
    build_example("postgres-ssl", source, DEBIAN);
    let profile_dir = tempfile::tempdir().unwrap();
    let profile = profile_dir.path().join("seccomp.json");
    let (output, report, _dir) = slim_build(&[
        source,
        "--exec",
        "psql -tAc 'select count(*) from plants'",
        "--seccomp-profile",
        profile.to_str().unwrap(),
    ]);
    assert_exit(&output, 0);
    let report = report.unwrap();
    crate::examples::assert_seccomp_verified(&report, &profile);
    assert_eq!(report["user_source"], "image");
    assert_ne!(uid_of(report["output"]["user"].as_str().unwrap()), "0");
    // the snake-oil key is read through the ssl-cert group: untouched
    let touched: Vec<&str> = report["made_accessible"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    assert!(
        !touched.iter().any(|p| p.contains("/private")),
        "{touched:?}"
    );
    // queries nobody probed answer as on the original (the whole cluster is the app's data)
    for query in [
        "select name from thirsty",
        "select p.name, count(*) from waterings w join plants p on p.id = w.plant group by 1 order by 1",
        "show ssl",
    ] {
        let command = ["psql", "-tAc", query];
        assert_eq!(
            exec_in_running(slim_image, &command),
            exec_in_running(source, &command),
            "{query}"
        );
    }
}

const GOSU_ENTRYPOINT: &str = "#!/bin/sh\nset -e\nchown -R app:app /data\nexec gosu app \"$@\"\n";

const WHOAMI_SERVER: &str = r#"import http.server, os, pwd
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        user = pwd.getpwuid(os.getuid()).pw_name
        body = f"{user} reads {open('/data/greeting').read()}\n".encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
"#;

#[test]
fn a_server_started_through_gosu_runs_as_the_user_it_switched_to() {
    let source = "slim-test/gosu-server:1";
    build_dockerfile(
        source,
        &format!(
            "FROM {DEBIAN}\nRUN apt-get update && apt-get install -y --no-install-recommends gosu \
             && rm -rf /var/lib/apt/lists/* && useradd -u 1600 -m app && mkdir /data \
             && printf 'hello' > /data/greeting\nCOPY entrypoint.sh server.py /app/\n\
             EXPOSE 8000\nENTRYPOINT [\"/app/entrypoint.sh\"]\nCMD [\"python3\", \"/app/server.py\"]\n"
        ),
        &[
            ("entrypoint.sh", GOSU_ENTRYPOINT.as_bytes(), 0o755),
            ("server.py", WHOAMI_SERVER.as_bytes(), 0o644),
        ],
    );
    let (output, report, _dir) = slim_build(&[source]);
    assert_exit(&output, 0);
    let report = report.unwrap();
    assert_eq!(report["user_source"], "switched");
    assert_eq!(report["output"]["user"], "1600");
    assert_eq!(
        report["replaced_switch_tools"],
        serde_json::json!(["/usr/sbin/gosu"])
    );
    // started as root anyway (`docker run --user 0`), the stand-in switches like gosu does
    let (code, stdout, stderr) = run_to_exit(
        "slim-test/gosu-server.slim:1",
        Some("0"),
        Some(vec![
            "python3".into(),
            "-c".into(),
            "import os, pwd; print(pwd.getpwuid(os.getuid()).pw_name, os.getgroups())".into(),
        ]),
    );
    assert_eq!((code, stdout.as_str()), (0, "app [1600]\n"), "{stderr}");
}
