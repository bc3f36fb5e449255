//! The request's controls: globs in `extra`, `include_exe`, `exclude_patterns`, the
//! package database, and compatibility with requests written before them.

use super::*;
use crate::resolve::elf_fixture::ElfSpec;
use crate::resolve::memtree::MemTree;
use crate::resolve::packagedb::PackageDbFormat;
use crate::resolve::test_trees::{LD, glibc_usr_merged, lib};
use Access::{Exec, Read};

fn debian() -> MemTree {
    glibc_usr_merged()
        .file(
            &lib("libz.so.1"),
            0o644,
            ElfSpec::lib64().needed("libc.so.6").build(),
        )
        .file(
            "/usr/bin/dash",
            0o755,
            ElfSpec::exe64(LD).needed("libc.so.6").build(),
        )
        .symlink("/usr/bin/sh", "dash")
        .file(
            "/usr/bin/gzip",
            0o755,
            ElfSpec::exe64(LD)
                .needed("libz.so.1")
                .needed("libc.so.6")
                .build(),
        )
        .dir("/proc/self", 0o555)
}

fn request(traced: &[(&str, &[Access])]) -> ResolveRequest {
    ResolveRequest {
        traced: traced
            .iter()
            .map(|(p, a)| (p.to_string(), a.iter().copied().collect()))
            .collect(),
        exclude: vec!["/proc".into(), "/dev".into()],
        ..ResolveRequest::default()
    }
}

fn reason(res: &Resolution, path: &str) -> Option<(Reason, Option<String>)> {
    res.keep.paths.get(path).map(|k| (k.reason, k.via.clone()))
}

// ---- globs in extra ------------------------------------------------------------------

#[test]
fn extra_globs_expand_over_the_tree() {
    let tree = debian()
        .file("/usr/share/zoneinfo/Europe/Paris", 0o644, b"TZif".to_vec())
        .file("/usr/share/zoneinfo/Europe/Berlin", 0o644, b"TZif".to_vec())
        .file("/usr/share/zoneinfo/Asia/Tokyo", 0o644, b"TZif".to_vec())
        .file("/opt/app/conf/a.conf", 0o644, b"".to_vec())
        .file("/opt/app/conf/deep/b.conf", 0o644, b"".to_vec())
        .file("/opt/app/conf/c.txt", 0o644, b"".to_vec())
        .file(
            "/opt/app/plugins/p1.so",
            0o644,
            ElfSpec::lib64().needed("libz.so.1").build(),
        )
        .file("/opt/app/data/cache/blob", 0o644, b"".to_vec());
    let mut req = request(&[]);
    req.extra = vec![
        ("/usr/share/zoneinfo/Europe/*".into(), Reason::Include),
        ("/opt/app/**/*.conf".into(), Reason::Include),
        ("/opt/app/plugins/p[0-9].so".into(), Reason::Include),
        ("/opt/app/dat?".into(), Reason::Include),
        ("/opt/nothing/*.conf".into(), Reason::Include),
    ];
    let res = resolve(&tree, &req).unwrap();
    for path in [
        "/usr/share/zoneinfo/Europe/Paris",
        "/usr/share/zoneinfo/Europe/Berlin",
        "/opt/app/conf/a.conf",
        "/opt/app/conf/deep/b.conf",
        "/opt/app/plugins/p1.so",
        "/opt/app/data",
    ] {
        assert_eq!(reason(&res, path), Some((Reason::Include, None)), "{path}");
    }
    // a matching directory brings its tree
    assert_eq!(
        reason(&res, "/opt/app/data/cache/blob"),
        Some((Reason::Include, Some("/opt/app/data".into())))
    );
    assert!(!res.keep.contains("/usr/share/zoneinfo/Asia/Tokyo"));
    assert!(!res.keep.contains("/opt/app/conf/c.txt"));
    // a kept library brings its dependencies
    assert_eq!(res.keep.paths[&lib("libz.so.1")].reason, Reason::ElfNeeded);
    assert_eq!(res.missing_extra, ["/opt/nothing/*.conf"]);

    let mut bad = request(&[]);
    bad.extra = vec![("/opt/[app".into(), Reason::Include)];
    assert!(matches!(
        resolve(&tree, &bad),
        Err(ResolveError::ExtraPattern(_))
    ));
}

// ---- include_exe ---------------------------------------------------------------------

#[test]
fn include_exe_finds_programs_like_a_shell() {
    let tree = debian()
        .file(
            "/usr/local/bin/gzip",
            0o644, // not executable: the shell goes on looking
            b"not a program".to_vec(),
        )
        .symlink("/usr/local/bin/zcat-link", "/usr/bin/gzip")
        .file("/usr/bin/helper", 0o755, b"#!/bin/sh\necho hi\n".to_vec())
        .file("/opt/tools/run", 0o755, ElfSpec::static64().build());
    let mut req = request(&[]);
    req.env_path = vec!["/usr/local/bin:/usr/bin".into()];
    req.include_exe = vec![
        "gzip".into(),
        "zcat-link".into(),
        "helper".into(),
        "/opt/tools/run".into(),
        "nonesuch".into(),
    ];
    let res = resolve(&tree, &req).unwrap();
    assert_eq!(reason(&res, "/usr/bin/gzip"), Some((Reason::Include, None)));
    assert!(!res.keep.contains("/usr/local/bin/gzip"));
    assert_eq!(res.keep.paths[&lib("libz.so.1")].reason, Reason::ElfNeeded);
    // through a symlink: the link is what was asked for
    assert_eq!(
        reason(&res, "/usr/local/bin/zcat-link"),
        Some((Reason::Include, None))
    );
    // a script brings its interpreter
    assert_eq!(
        reason(&res, "/usr/bin/helper"),
        Some((Reason::Include, None))
    );
    assert_eq!(res.keep.paths["/usr/bin/dash"].reason, Reason::Shebang);
    assert_eq!(res.keep.paths["/bin"].reason, Reason::SymlinkHop);
    assert_eq!(
        reason(&res, "/opt/tools/run"),
        Some((Reason::Include, None))
    );
    assert_eq!(res.missing_exe, ["nonesuch"]);
}

#[test]
fn include_shell_passes_sh() {
    let tree = debian();
    let mut req = request(&[]);
    req.include_exe = vec!["sh".into()];
    let res = resolve(&tree, &req).unwrap();
    // Docker's default PATH: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    assert_eq!(reason(&res, "/usr/bin/sh"), Some((Reason::Include, None)));
    assert!(res.keep.contains("/usr/bin/dash"));
    assert!(res.keep.contains(&lib("libc.so.6")));
    assert!(res.missing_exe.is_empty());
}

// ---- exclude_patterns ----------------------------------------------------------------

#[test]
fn exclude_patterns_win_over_traced_paths() {
    let tree = debian()
        .file("/usr/share/doc/gzip/copyright", 0o644, b"GPL".to_vec())
        .file("/usr/share/doc/gzip/NEWS.gz", 0o644, b"news".to_vec())
        .file("/app/main.py", 0o644, b"print()".to_vec())
        .file(
            "/app/__pycache__/main.cpython-311.pyc",
            0o644,
            b"pyc".to_vec(),
        )
        .file("/app/static/logo.png", 0o644, b"png".to_vec());
    let mut req = request(&[
        ("/usr/bin/gzip", &[Exec]),
        ("/usr/share/doc/gzip/copyright", &[Read]),
        ("/app/main.py", &[Read]),
        ("/app/__pycache__/main.cpython-311.pyc", &[Read]),
    ]);
    req.extra = vec![("/app".into(), Reason::Include)];
    req.exclude_patterns = vec![
        "/usr/share/doc/**".into(),
        "**/__pycache__/**".into(),
        "/usr/lib/x86_64-linux-gnu/libz.so*".into(),
    ];
    let res = resolve(&tree, &req).unwrap();
    assert!(!res.keep.contains("/usr/share/doc/gzip/copyright"));
    assert!(!res.keep.contains("/usr/share/doc"));
    assert!(!res.keep.contains("/app/__pycache__/main.cpython-311.pyc"));
    assert!(!res.keep.contains("/app/__pycache__"));
    // an excluded library is not kept even though a kept program needs it
    assert!(!res.keep.contains(&lib("libz.so.1")));
    assert!(res.keep.contains(&lib("libc.so.6")));
    assert!(res.keep.contains("/app/static/logo.png"));
    let excluded: Vec<&str> = res.excluded.iter().map(String::as_str).collect();
    assert_eq!(
        excluded,
        [
            "/app/__pycache__",
            "/app/__pycache__/main.cpython-311.pyc",
            "/usr/lib/x86_64-linux-gnu/libz.so.1",
            "/usr/share/doc/gzip/copyright",
        ]
    );

    let mut bad = request(&[]);
    bad.exclude_patterns = vec!["relative/*".into()];
    assert!(matches!(
        resolve(&tree, &bad),
        Err(ResolveError::ExcludePattern(_))
    ));
}

#[test]
fn a_directory_matching_an_exclude_pattern_still_holds_kept_paths() {
    let tree = debian()
        .file("/srv/site/index.html", 0o644, b"<h1>".to_vec())
        .file("/srv/site/drafts.html", 0o644, b"".to_vec());
    let mut req = request(&[("/srv/site/index.html", &[Read]), ("/srv/site", &[Read])]);
    req.exclude_patterns = vec!["/srv/site".into(), "/srv/site/drafts.*".into()];
    let res = resolve(&tree, &req).unwrap();
    assert!(res.keep.contains("/srv/site/index.html"));
    assert_eq!(res.keep.paths["/srv/site"].reason, Reason::Parent);
    // in the image after all, so not reported as left out
    assert!(res.excluded.is_empty());
}

// ---- package database ------------------------------------------------------------------

fn dpkg_tree() -> MemTree {
    let info = "/var/lib/dpkg/info";
    debian()
        .file(
            "/var/lib/dpkg/status",
            0o644,
            b"Package: dash\nStatus: install ok installed\n\nPackage: gzip\n\n".to_vec(),
        )
        .file(
            &format!("{info}/dash.list"),
            0o644,
            b"/.\n/bin\n/bin/dash\n/usr/share/doc/dash/copyright\n/usr/bin/sh\n".to_vec(),
        )
        .file(
            &format!("{info}/dash.md5sums"),
            0o644,
            b"abc  bin/dash\n".to_vec(),
        )
        .file(
            &format!("{info}/dash.postinst"),
            0o755,
            b"#!/bin/sh\n".to_vec(),
        )
        .file(
            &format!("{info}/libc6:amd64.list"),
            0o644,
            b"/.\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libc.so.6\n".to_vec(),
        )
        .file(&format!("{info}/libc6:amd64.md5sums"), 0o644, b"".to_vec())
        .file(&format!("{info}/libc6:amd64.triggers"), 0o644, b"".to_vec())
        .file(
            &format!("{info}/gzip.list"),
            0o644,
            b"/.\n/usr\n/usr/bin\n/usr/bin/gzip\n".to_vec(),
        )
        .file(&format!("{info}/gzip.md5sums"), 0o644, b"".to_vec())
        .file(
            &format!("{info}/usrmerge.list"),
            0o644,
            b"/.\n/bin\n/lib\n/lib64\n".to_vec(),
        )
        .file(
            &format!("{info}/base-files.list"),
            0o644,
            b"/.\n/usr/lib\n/usr/lib/x86_64-linux-gnu\n".to_vec(),
        )
}

#[test]
fn the_sbom_lists_packages_owning_kept_files_with_versions_and_licenses() {
    let tree = dpkg_tree()
        .file(
            "/var/lib/dpkg/status",
            0o644,
            b"Package: dash\nStatus: install ok installed\nVersion: 0.5.12-2\nArchitecture: amd64\n\nPackage: libc6\nVersion: 2.36-9\nArchitecture: amd64\nSource: glibc\n\nPackage: usrmerge\nVersion: 35\n\nPackage: base-files\nVersion: 12.4\n".to_vec(),
        )
        .file(
            "/usr/share/doc/dash/copyright",
            0o644,
            b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: BSD-3-clause\n".to_vec(),
        )
        .file("/etc/os-release", 0o644, b"ID=debian\n".to_vec());
    let res = resolve(&tree, &request(&[("/bin/sh", &[Exec])])).unwrap();
    // usrmerge owns only the /lib link to a directory, base-files only directories
    let listed: Vec<(&str, &str, Option<&str>)> = res
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str(), p.license.as_deref()))
        .collect();
    assert_eq!(
        listed,
        [
            ("dash", "0.5.12-2", Some("BSD-3-clause")),
            ("libc6", "2.36-9", None)
        ]
    );
    assert_eq!(res.packages[1].source.as_deref(), Some("glibc"));
    assert_eq!(res.distro.as_deref(), Some("debian"));
}

#[test]
fn dpkg_keeps_the_entries_of_packages_owning_kept_files() {
    let tree = dpkg_tree();
    let mut req = request(&[("/bin/sh", &[Exec])]);
    req.keep_package_db = true;
    let res = resolve(&tree, &req).unwrap();
    let db = res.package_db.as_ref().unwrap();
    assert_eq!(db.format, PackageDbFormat::Dpkg);
    assert_eq!(db.status_path, "/var/lib/dpkg/status");
    // dash lists /bin/dash, which is /usr/bin/dash on a merged-/usr system; libc6
    // owns the kept libc; base-files owns only kept directories, usrmerge only kept
    // symlinks to directories
    let packages: Vec<&str> = db.packages.iter().map(String::as_str).collect();
    assert_eq!(packages, ["dash", "libc6:amd64"]);
    let via = Some(PACKAGE_DB_VIA.to_string());
    for path in [
        "/var/lib/dpkg/status",
        "/var/lib/dpkg/info/dash.list",
        "/var/lib/dpkg/info/dash.md5sums",
        "/var/lib/dpkg/info/libc6:amd64.list",
        "/var/lib/dpkg/info/libc6:amd64.md5sums",
    ] {
        assert_eq!(
            reason(&res, path),
            Some((Reason::Include, via.clone())),
            "{path}"
        );
    }
    for path in [
        "/var/lib/dpkg/info/dash.postinst",
        "/var/lib/dpkg/info/libc6:amd64.triggers",
        "/var/lib/dpkg/info/gzip.list",
        "/var/lib/dpkg/info/base-files.list",
        "/var/lib/dpkg/info/usrmerge.list",
    ] {
        assert!(!res.keep.contains(path), "{path}");
    }

    // not asked for: nothing
    let res = resolve(&tree, &request(&[("/bin/sh", &[Exec])])).unwrap();
    assert!(res.package_db.is_none());
    assert!(!res.keep.contains("/var/lib/dpkg/status"));
}

#[test]
fn apk_keeps_the_installed_database_and_names_the_owners() {
    let tree = MemTree::new()
        .file("/bin/busybox", 0o755, ElfSpec::static64().build())
        .symlink("/bin/sh", "/bin/busybox")
        .file("/lib/libz.so.1.3", 0o644, b"z".to_vec())
        .symlink("/lib/libz.so.1", "libz.so.1.3")
        .file("/usr/bin/ssl_client", 0o755, b"x".to_vec())
        .file(
            "/lib/apk/db/installed",
            0o644,
            b"C:Q1=\nP:busybox\nV:1.36.1-r5\nF:bin\nR:busybox\nR:sh\n\n\
              P:zlib\nV:1.3-r2\nF:lib\nR:libz.so.1\nR:libz.so.1.3\n\n\
              P:ssl_client\nF:usr/bin\nR:ssl_client\n\n"
                .to_vec(),
        );
    let mut req = request(&[("/bin/sh", &[Exec]), ("/lib/libz.so.1", &[Read])]);
    req.keep_package_db = true;
    let res = resolve(&tree, &req).unwrap();
    let db = res.package_db.as_ref().unwrap();
    assert_eq!(db.format, PackageDbFormat::Apk);
    assert_eq!(db.status_path, "/lib/apk/db/installed");
    let packages: Vec<&str> = db.packages.iter().map(String::as_str).collect();
    assert_eq!(packages, ["busybox", "zlib"]);
    assert_eq!(
        reason(&res, "/lib/apk/db/installed"),
        Some((Reason::Include, Some(PACKAGE_DB_VIA.to_string())))
    );
}

// ---- compatibility -------------------------------------------------------------------

#[test]
fn requests_and_resolutions_without_the_new_fields_still_parse() {
    let old_request = r#"{"traced":{"/bin/sh":["exec"]},"extra":[["/etc/passwd","user"]],
        "env_path":[],"ld_library_path":[],"exclude":["/proc"]}"#;
    let req: ResolveRequest = serde_json::from_str(old_request).unwrap();
    assert!(req.profiles.is_empty() && req.include_exe.is_empty());
    assert!(!req.keep_package_db);
    let old_resolution = r#"{"keep":{"paths":{}},"missing":[],"missing_extra":[],
        "unresolved_libs":[],"writable_dirs":[],"warnings":[]}"#;
    let res: Resolution = serde_json::from_str(old_resolution).unwrap();
    assert!(res.package_db.is_none() && res.profiles_fired.is_empty());

    // a full request survives the trip into the container
    let mut req = request(&[("/bin/sh", &[Exec])]);
    req.profiles = crate::resolve::profile::builtin_profiles().unwrap();
    req.include_exe = vec!["sh".into()];
    req.exclude_patterns = vec!["/usr/share/doc/**".into()];
    req.keep_package_db = true;
    let json = serde_json::to_string(&req).unwrap();
    assert_eq!(serde_json::from_str::<ResolveRequest>(&json).unwrap(), req);
}
