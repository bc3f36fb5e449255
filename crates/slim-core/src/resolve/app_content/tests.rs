//! Content roots on a Debian-shaped tree with a dpkg database.

use super::*;
use crate::resolve::memtree::MemTree;
use crate::resolve::packagedb::owned_paths;

/// dpkg owns the system directories, nginx's files and Python's; the app's files are
/// not in any list.
fn debian_with_app() -> MemTree {
    let base_files = "/.\n/etc\n/srv\n/usr\n/usr/lib\n/usr/share\n/var\n/var/www\n/var/log\n/opt\n";
    let nginx = "/etc/nginx\n/etc/nginx/nginx.conf\n/usr/share/nginx\n/usr/share/nginx/html\n\
                 /usr/share/nginx/html/index.html\n";
    let python = "/usr/lib/python3\n/usr/lib/python3/dist-packages\n\
                  /usr/lib/python3/dist-packages/flask\n/usr/lib/python3/dist-packages/flask/app.py\n";
    MemTree::new()
        .file(
            "/var/lib/dpkg/status",
            0o644,
            b"Package: base-files\n".to_vec(),
        )
        .file(
            "/var/lib/dpkg/info/base-files.list",
            0o644,
            base_files.as_bytes().to_vec(),
        )
        .file(
            "/var/lib/dpkg/info/nginx.list",
            0o644,
            nginx.as_bytes().to_vec(),
        )
        .file(
            "/var/lib/dpkg/info/python3-flask.list",
            0o644,
            python.as_bytes().to_vec(),
        )
        .file(
            "/etc/nginx/nginx.conf",
            0o644,
            b"http { server { root /var/www/html; location /docs { alias /opt/docs/; } } }\n"
                .to_vec(),
        )
        .file(
            "/usr/share/nginx/html/index.html",
            0o644,
            b"default".to_vec(),
        )
        .file(
            "/usr/lib/python3/dist-packages/flask/app.py",
            0o644,
            b"".to_vec(),
        )
        .file(
            "/usr/lib/python3/dist-packages/flask/__pycache__/app.cpython-311.pyc",
            0o644,
            b"".to_vec(),
        )
        .file("/srv/site/index.html", 0o644, b"<h1>hi</h1>".to_vec())
        .file("/srv/site/css/site.css", 0o644, b"body{}".to_vec())
        .file("/srv/site/node_modules/x/index.js", 0o644, b"".to_vec())
        .file("/srv/site/.git/HEAD", 0o644, b"".to_vec())
        .file("/var/www/html/index.php", 0o644, b"<?php".to_vec())
        .file("/var/www/html/about.php", 0o644, b"<?php".to_vec())
        .file("/opt/docs/guide.html", 0o644, b"".to_vec())
        .file("/app/main.py", 0o644, b"".to_vec())
        .file("/app/templates/page.html", 0o644, b"".to_vec())
        .file("/app/__pycache__/main.cpython-311.pyc", 0o644, b"".to_vec())
        .file("/var/log/app/old.log", 0o644, b"".to_vec())
}

fn found(tree: &MemTree, hints: &[RootHint], read: &[&str], kept: &[&str]) -> AppContent {
    let mut warnings = Vec::new();
    let owned = owned_paths(tree, &|_| false, &mut warnings);
    let read: Vec<String> = read.iter().map(|s| s.to_string()).collect();
    let kept: Vec<String> = kept.iter().map(|s| s.to_string()).collect();
    find(
        tree,
        &|_| false,
        owned.as_ref(),
        &Evidence {
            hints,
            read_files: &read,
            kept_files: &kept,
        },
        DEFAULT_LIMITS,
    )
}

fn files(content: &AppContent) -> Vec<&str> {
    content.files.iter().map(|(f, _)| f.as_str()).collect()
}

#[test]
fn a_directory_the_app_read_from_is_kept_whole_without_dependencies() {
    let tree = debian_with_app();
    let content = found(&tree, &[], &["/srv/site/index.html"], &[]);
    assert_eq!(
        files(&content),
        ["/srv/site/css/site.css", "/srv/site/index.html"]
    );
    assert_eq!(content.roots.len(), 1);
    assert_eq!(content.roots[0].path, "/srv/site");
    assert!(content.roots[0].evidence.contains("/srv/site/index.html"));
    assert!(content.roots[0].kept_whole);
}

#[test]
fn server_configuration_names_roots_inside_package_directories() {
    let tree = debian_with_app();
    let content = found(&tree, &[], &[], &["/etc/nginx/nginx.conf"]);
    let roots: Vec<&str> = content.roots.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(roots, ["/opt/docs", "/var/www/html"]);
    assert_eq!(
        files(&content),
        [
            "/opt/docs/guide.html",
            "/var/www/html/about.php",
            "/var/www/html/index.php"
        ]
    );
    assert!(
        content.roots[1]
            .evidence
            .contains("nginx root in /etc/nginx/nginx.conf")
    );
}

#[test]
fn workdir_hints_keep_the_app_but_not_its_byte_code() {
    let tree = debian_with_app();
    let hint = RootHint {
        path: "/app".into(),
        evidence: "WORKDIR".into(),
    };
    let content = found(&tree, &[hint], &["/app/main.py"], &[]);
    assert_eq!(
        files(&content),
        ["/app/main.py", "/app/templates/page.html"]
    );
    // the trace names /app as well; it is one root, with the first evidence
    assert_eq!(content.roots.len(), 1);
    assert_eq!(content.roots[0].evidence, "WORKDIR");
}

#[test]
fn system_places_are_never_roots() {
    let tree = debian_with_app();
    let content = found(
        &tree,
        &[
            RootHint {
                path: "/usr/lib".into(),
                evidence: "command argument /usr/lib/x".into(),
            },
            RootHint {
                path: "/".into(),
                evidence: "WORKDIR".into(),
            },
        ],
        &[
            "/usr/lib/python3/dist-packages/flask/__pycache__/app.cpython-311.pyc",
            "/var/log/app/old.log",
            "/usr/share/nginx/html/index.html",
        ],
        &[],
    );
    assert!(content.roots.is_empty(), "{:?}", content.roots);
    assert!(content.files.is_empty());
}

#[test]
fn without_a_package_database_only_the_image_config_names_roots() {
    let tree = MemTree::new()
        .file("/app/run.sh", 0o755, b"".to_vec())
        .file("/app/data.txt", 0o644, b"".to_vec())
        .file("/srv/other/x.html", 0o644, b"".to_vec());
    let hint = RootHint {
        path: "/app".into(),
        evidence: "command argument /app/run.sh".into(),
    };
    let content = find(
        &tree,
        &|_| false,
        None,
        &Evidence {
            hints: &[hint],
            read_files: &["/srv/other/x.html".to_string()],
            kept_files: &[],
        },
        DEFAULT_LIMITS,
    );
    assert_eq!(files(&content), ["/app/data.txt", "/app/run.sh"]);
}

#[test]
fn a_root_over_the_limits_is_reported_and_not_kept() {
    let tree = debian_with_app();
    let mut warnings = Vec::new();
    let owned = owned_paths(&tree, &|_| false, &mut warnings);
    let content = find(
        &tree,
        &|_| false,
        owned.as_ref(),
        &Evidence {
            hints: &[],
            read_files: &["/srv/site/index.html".to_string()],
            kept_files: &[],
        },
        Limits {
            files: 1,
            bytes: 1 << 20,
        },
    );
    assert!(content.files.is_empty());
    assert_eq!(content.roots.len(), 1);
    assert!(!content.roots[0].kept_whole);
}
