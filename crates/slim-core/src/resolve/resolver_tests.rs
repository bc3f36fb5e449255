//! Resolver tests on MemTree fixtures shaped like Debian 12 (merged /usr) and Alpine.

use super::*;
use crate::resolve::elf_fixture::ElfSpec;
use crate::resolve::memtree::MemTree;
use crate::resolve::test_trees::{LD, MULTIARCH, glibc_usr_merged, lib};
use Access::{Exec, List, Read, Stat, Write};

const EXCLUDES: &[&str] = &[
    "/proc",
    "/sys",
    "/dev",
    "/.slim",
    "/etc/hosts",
    "/etc/hostname",
    "/etc/resolv.conf",
];

/// A small Debian-like image: merged /usr, glibc loader and libraries, ld.so.conf.d,
/// python3 via a symlink, dash as /bin/sh, env.
fn debian() -> MemTree {
    glibc_usr_merged()
        .file(
            &lib("libm.so.6"),
            0o644,
            ElfSpec::lib64().needed("libc.so.6").build(),
        )
        .file(
            &lib("libz.so.1.2.13"),
            0o644,
            ElfSpec::lib64().needed("libc.so.6").build(),
        )
        .symlink(&lib("libz.so.1"), "libz.so.1.2.13")
        .file(
            &lib("libnss_files.so.2"),
            0o644,
            ElfSpec::lib64().needed("libc.so.6").build(),
        )
        .file(
            "/etc/ld.so.conf",
            0o644,
            b"include /etc/ld.so.conf.d/*.conf\n".to_vec(),
        )
        .file(
            "/etc/ld.so.conf.d/x86_64-linux-gnu.conf",
            0o644,
            b"/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n"
                .to_vec(),
        )
        .file(
            "/etc/ld.so.conf.d/libc.conf",
            0o644,
            b"/usr/local/lib\n".to_vec(),
        )
        .file("/etc/ld.so.cache", 0o644, b"ld.so-1.7.0".to_vec())
        .file(
            "/etc/nsswitch.conf",
            0o644,
            b"passwd: files systemd\nhosts: files [NOTFOUND=return] dns\n".to_vec(),
        )
        .file(
            "/etc/passwd",
            0o644,
            b"root:x:0:0:root:/root:/bin/sh\n".to_vec(),
        )
        .file(
            "/usr/bin/python3.11",
            0o755,
            ElfSpec::exe64(LD)
                .needed("libm.so.6")
                .needed("libz.so.1")
                .needed("libc.so.6")
                .build(),
        )
        .symlink("/usr/bin/python3", "python3.11")
        .file(
            "/usr/bin/dash",
            0o755,
            ElfSpec::exe64(LD).needed("libc.so.6").build(),
        )
        .symlink("/usr/bin/sh", "dash")
        .file(
            "/usr/bin/env",
            0o755,
            ElfSpec::exe64(LD).needed("libc.so.6").build(),
        )
        .file("/usr/lib/python3.11/os.py", 0o644, b"# os".to_vec())
        .file("/usr/lib/python3.11/re.py", 0o644, b"# re".to_vec())
        .dir("/proc/self", 0o555)
        .dir("/tmp", 0o1777)
        .dir("/run", 0o755)
        .symlink("/var/run", "/run")
        .special("/dev/null", 0o666)
}

fn request(traced: &[(&str, &[Access])]) -> ResolveRequest {
    ResolveRequest {
        traced: traced
            .iter()
            .map(|(p, a)| (p.to_string(), a.iter().copied().collect()))
            .collect(),
        exclude: EXCLUDES.iter().map(|s| s.to_string()).collect(),
        ..ResolveRequest::default()
    }
}

fn run(tree: &dyn FileTree, traced: &[(&str, &[Access])]) -> Resolution {
    resolve(tree, &request(traced)).unwrap()
}

fn reason(res: &Resolution, path: &str) -> Option<(Reason, Option<String>)> {
    res.keep.paths.get(path).map(|k| (k.reason, k.via.clone()))
}

fn has(res: &Resolution, path: &str, want: Reason) -> bool {
    res.keep.paths.get(path).is_some_and(|k| k.reason == want)
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn executable_gets_symlinks_interpreter_libraries_and_loader_config() {
    let res = run(&debian(), &[("/usr/bin/python3", &[Exec, Read])]);
    assert_eq!(
        reason(&res, "/usr/bin/python3"),
        Some((Reason::Traced, None))
    );
    assert_eq!(
        reason(&res, "/usr/bin/python3.11"),
        Some((Reason::Traced, None))
    );

    // PT_INTERP through /lib64 -> usr/lib64 and the ../lib link
    assert_eq!(
        reason(&res, "/lib64"),
        Some((Reason::SymlinkHop, Some(LD.into())))
    );
    assert_eq!(
        reason(&res, "/usr/lib64/ld-linux-x86-64.so.2"),
        Some((Reason::SymlinkHop, Some(LD.into())))
    );
    assert_eq!(
        reason(&res, &lib("ld-linux-x86-64.so.2")),
        Some((Reason::Interp, Some("/usr/bin/python3.11".into())))
    );

    // DT_NEEDED found through ld.so.conf's /lib/x86_64-linux-gnu, i.e. via /lib -> usr/lib
    for name in ["libm.so.6", "libz.so.1.2.13", "libc.so.6"] {
        assert!(has(&res, &lib(name), Reason::ElfNeeded), "{name}");
    }
    assert_eq!(
        reason(&res, &lib("libm.so.6")),
        Some((Reason::ElfNeeded, Some("/usr/bin/python3.11".into())))
    );
    assert!(has(&res, "/lib", Reason::SymlinkHop));
    assert!(has(&res, &lib("libz.so.1"), Reason::SymlinkHop));

    for conf in [
        "/etc/ld.so.conf",
        "/etc/ld.so.conf.d/libc.conf",
        "/etc/ld.so.conf.d/x86_64-linux-gnu.conf",
        "/etc/ld.so.cache",
    ] {
        assert!(has(&res, conf, Reason::LdConfig), "{conf}");
    }
    for dir in [
        "/usr",
        "/usr/bin",
        "/usr/lib",
        MULTIARCH,
        "/usr/lib64",
        "/etc",
        "/etc/ld.so.conf.d",
    ] {
        assert!(has(&res, dir, Reason::Parent), "{dir}");
    }
    // nothing else came along
    assert!(!res.keep.contains("/etc/passwd"));
    assert!(!res.keep.contains("/etc/nsswitch.conf"));
    assert!(!res.keep.contains(&lib("libnss_files.so.2")));
    assert!(!res.keep.contains("/usr/bin/dash"));
    assert!(!res.keep.contains("/"));
    assert!(res.unresolved_libs.is_empty(), "{:?}", res.unresolved_libs);
    assert!(res.missing.is_empty());
    assert!(res.warnings.is_empty(), "{:?}", res.warnings);
}

#[test]
fn traced_directory_keeps_only_itself() {
    let res = run(&debian(), &[("/usr/lib/python3.11", &[Read, List])]);
    assert!(has(&res, "/usr/lib/python3.11", Reason::Traced));
    assert!(!res.keep.contains("/usr/lib/python3.11/os.py"));
    let paths: Vec<&str> = res.keep.paths.keys().map(String::as_str).collect();
    assert_eq!(paths, vec!["/usr", "/usr/lib", "/usr/lib/python3.11"]);
}

#[test]
fn traced_path_through_symlinked_dir_and_traced_hop_reason() {
    let res = run(
        &debian(),
        &[
            ("/lib/x86_64-linux-gnu/libz.so.1", &[Read]),
            ("/usr/lib/x86_64-linux-gnu/libz.so.1", &[Stat]),
        ],
    );
    assert_eq!(
        reason(&res, "/lib"),
        Some((
            Reason::SymlinkHop,
            Some("/lib/x86_64-linux-gnu/libz.so.1".into())
        ))
    );
    // a hop that was itself traced is reported as traced
    assert_eq!(
        reason(&res, &lib("libz.so.1")),
        Some((Reason::Traced, None))
    );
    assert_eq!(
        reason(&res, &lib("libz.so.1.2.13")),
        Some((Reason::Traced, None))
    );
    // the library's own closure
    assert!(has(&res, &lib("libc.so.6"), Reason::ElfNeeded));
    // a traced library has no interpreter, but it is dynamic: loader config is kept
    assert!(has(&res, "/etc/ld.so.cache", Reason::LdConfig));
}

#[test]
fn dotdot_after_symlink_in_traced_path() {
    // /usr/bin/../lib seen from /bin/.. is /usr/lib, not /lib's lexical sibling
    let res = run(
        &debian(),
        &[("/bin/../lib/x86_64-linux-gnu/libm.so.6", &[Read])],
    );
    assert!(has(&res, &lib("libm.so.6"), Reason::Traced));
    assert_eq!(
        reason(&res, "/bin"),
        Some((
            Reason::SymlinkHop,
            Some("/bin/../lib/x86_64-linux-gnu/libm.so.6".into())
        ))
    );
    // /lib is only crossed later, by the library search for libc.so.6
    assert_eq!(
        reason(&res, "/lib"),
        Some((
            Reason::SymlinkHop,
            Some("/lib/x86_64-linux-gnu/libc.so.6".into())
        ))
    );
}

#[test]
fn symlink_loop_is_a_warning() {
    let tree = debian().symlink("/loop/a", "b").symlink("/loop/b", "a");
    let res = run(&tree, &[("/loop/a", &[Read]), ("/etc/passwd", &[Read])]);
    assert_eq!(res.warnings.len(), 1, "{:?}", res.warnings);
    assert!(res.keep.contains("/etc/passwd"));
}

#[test]
fn origin_runpath_applies_to_direct_dependencies_only() {
    let tree = debian()
        .file(
            "/opt/app/bin/app",
            0o755,
            ElfSpec::exe64(LD)
                .runpath("$ORIGIN/../lib")
                .needed("libapp.so")
                .needed("libc.so.6")
                .build(),
        )
        .symlink("/usr/local/bin/app", "/opt/app/bin/app")
        .file(
            "/opt/app/lib/libapp.so",
            0o644,
            ElfSpec::lib64().needed("libdep.so").build(),
        )
        .file("/opt/app/lib/libdep.so", 0o644, ElfSpec::lib64().build())
        .file(
            "/opt/app/lib/libself.so",
            0o644,
            ElfSpec::lib64()
                .runpath("${ORIGIN}")
                .needed("libdep.so")
                .build(),
        )
        .file(
            "/opt/app/bin/tool",
            0o755,
            ElfSpec::exe64(LD)
                .runpath("$ORIGIN/../lib")
                .needed("libself.so")
                .build(),
        );
    // reached through a symlink: $ORIGIN is tried for the link's directory and the real one
    let res = run(
        &tree,
        &[
            ("/usr/local/bin/app", &[Exec]),
            ("/opt/app/bin/tool", &[Exec]),
        ],
    );
    assert!(has(&res, "/usr/local/bin/app", Reason::Traced));
    assert_eq!(
        reason(&res, "/opt/app/lib/libapp.so"),
        Some((Reason::ElfNeeded, Some("/opt/app/bin/app".into())))
    );
    // DT_RUNPATH is not inherited: libapp.so's own libdep.so is not found through it...
    assert!(
        res.unresolved_libs
            .contains(&("/opt/app/lib/libapp.so".into(), "libdep.so".into()))
    );
    // ...but libself.so's own RUNPATH finds it
    assert_eq!(
        reason(&res, "/opt/app/lib/libdep.so"),
        Some((Reason::ElfNeeded, Some("/opt/app/lib/libself.so".into())))
    );
}

fn precedence_tree() -> MemTree {
    let x = ElfSpec::lib64().needed("liby.so").build();
    let y = ElfSpec::lib64().build();
    debian()
        .file(
            "/app/rpath-only",
            0o755,
            ElfSpec::exe64(LD).rpath("/opt/r").needed("libx.so").build(),
        )
        .file(
            "/app/both",
            0o755,
            ElfSpec::exe64(LD)
                .rpath("/opt/r")
                .runpath("/opt/u")
                .needed("libx.so")
                .build(),
        )
        .file(
            "/app/runpath-only",
            0o755,
            ElfSpec::exe64(LD)
                .runpath("/opt/u")
                .needed("libx.so")
                .build(),
        )
        .file("/opt/r/libx.so", 0o644, x.clone())
        .file("/opt/r/liby.so", 0o644, y.clone())
        .file("/opt/u/libx.so", 0o644, x.clone())
        .file("/opt/llp/libx.so", 0o644, x)
        .file(&lib("liby.so"), 0o644, y)
}

fn found_libx(res: &Resolution) -> Vec<&str> {
    ["/opt/r/libx.so", "/opt/u/libx.so", "/opt/llp/libx.so"]
        .into_iter()
        .filter(|p| res.keep.contains(p))
        .collect()
}

#[test]
fn rpath_runpath_and_ld_library_path_precedence() {
    let tree = precedence_tree();
    let with_llp = |exe: &str| {
        let mut req = request(&[(exe, &[Exec])]);
        req.ld_library_path = vec!["/opt/llp".into()];
        resolve(&tree, &req).unwrap()
    };
    // DT_RPATH comes before LD_LIBRARY_PATH
    assert_eq!(
        found_libx(&with_llp("/app/rpath-only")),
        vec!["/opt/r/libx.so"]
    );
    // with DT_RUNPATH, DT_RPATH is ignored and LD_LIBRARY_PATH comes first
    assert_eq!(found_libx(&with_llp("/app/both")), vec!["/opt/llp/libx.so"]);
    assert_eq!(
        found_libx(&run(&tree, &[("/app/both", &[Exec])])),
        vec!["/opt/u/libx.so"]
    );
    assert_eq!(
        found_libx(&run(&tree, &[("/app/runpath-only", &[Exec])])),
        vec!["/opt/u/libx.so"]
    );

    // the executable's DT_RPATH also serves the libraries it loads (liby.so from /opt/r)
    let res = run(&tree, &[("/app/rpath-only", &[Exec])]);
    assert!(has(&res, "/opt/r/liby.so", Reason::ElfNeeded));
    assert!(!res.keep.contains(&lib("liby.so")));
    // but not through an object with DT_RUNPATH: the default directories serve it
    let res = run(&tree, &[("/app/both", &[Exec])]);
    assert!(has(&res, &lib("liby.so"), Reason::ElfNeeded));
    assert!(!res.keep.contains("/opt/r/liby.so"));
}

#[test]
fn ld_so_conf_include_globs_feed_the_search() {
    let tree = debian()
        .file(
            "/etc/ld.so.conf.d/zz-custom.conf",
            0o644,
            b"# ours\n/opt/custom/lib\n".to_vec(),
        )
        .file(
            "/etc/ld.so.conf.d/ignored.txt",
            0o644,
            b"/opt/other\n".to_vec(),
        )
        .file(
            "/opt/custom/lib/libcustom.so.1",
            0o644,
            ElfSpec::lib64().build(),
        )
        .file("/opt/other/libcustom.so.1", 0o644, ElfSpec::lib64().build())
        .file(
            "/app/bin",
            0o755,
            ElfSpec::exe64(LD).needed("libcustom.so.1").build(),
        );
    let res = run(&tree, &[("/app/bin", &[Exec])]);
    assert!(has(
        &res,
        "/opt/custom/lib/libcustom.so.1",
        Reason::ElfNeeded
    ));
    assert!(has(
        &res,
        "/etc/ld.so.conf.d/zz-custom.conf",
        Reason::LdConfig
    ));
    assert!(!res.keep.contains("/etc/ld.so.conf.d/ignored.txt"));
    assert!(!res.keep.contains("/opt/other/libcustom.so.1"));
}

#[test]
fn incompatible_candidates_are_skipped() {
    let tree = debian()
        .file(&lib("libq.so"), 0o644, ElfSpec::lib32().build())
        .file("/usr/lib64/libq.so", 0o644, ElfSpec::lib64().build())
        .file(&lib("libonly32.so"), 0o644, ElfSpec::lib32().build())
        .file(&lib("libtext.so"), 0o644, b"INPUT(-lfoo)".to_vec())
        .file(
            "/app/bin",
            0o755,
            ElfSpec::exe64(LD)
                .needed("libq.so")
                .needed("libonly32.so")
                .needed("libtext.so")
                .build(),
        );
    let res = run(&tree, &[("/app/bin", &[Exec])]);
    assert!(has(&res, "/usr/lib64/libq.so", Reason::ElfNeeded));
    assert!(!res.keep.contains(&lib("libq.so")));
    assert!(!res.keep.contains(&lib("libonly32.so")));
    assert_eq!(
        res.unresolved_libs,
        vec![
            ("/app/bin".to_string(), "libonly32.so".to_string()),
            ("/app/bin".to_string(), "libtext.so".to_string())
        ]
    );
}

#[test]
fn shebang_interpreter_with_symlinks_and_closure() {
    let tree = debian()
        .file(
            "/app/run.sh",
            0o755,
            b"#!/bin/sh -e\nexec python3 app.py\n".to_vec(),
        )
        .file("/app/read-only.sh", 0o644, b"#!/usr/bin/perl\n".to_vec());
    let res = run(
        &tree,
        &[("/app/run.sh", &[Exec]), ("/app/read-only.sh", &[Read])],
    );
    assert_eq!(
        reason(&res, "/bin"),
        Some((Reason::SymlinkHop, Some("/bin/sh".into())))
    );
    assert_eq!(
        reason(&res, "/usr/bin/sh"),
        Some((Reason::SymlinkHop, Some("/bin/sh".into())))
    );
    assert_eq!(
        reason(&res, "/usr/bin/dash"),
        Some((Reason::Shebang, Some("/app/run.sh".into())))
    );
    assert!(has(&res, &lib("libc.so.6"), Reason::ElfNeeded));
    assert!(has(&res, &lib("ld-linux-x86-64.so.2"), Reason::Interp));
    // a script only read is not run: its (missing) interpreter does not matter
    assert!(res.warnings.is_empty(), "{:?}", res.warnings);
}

#[test]
fn env_shebang_keeps_the_command_found_on_path() {
    let tree = debian()
        .file(
            "/app/main.py",
            0o755,
            b"#!/usr/bin/env python3\nprint(1)\n".to_vec(),
        )
        .file(
            "/app/split.py",
            0o755,
            b"#!/usr/bin/env -S python3 -u\n".to_vec(),
        )
        // not executable: env skips it and goes on along PATH
        .file("/usr/local/bin/python3", 0o644, b"decoy".to_vec());
    let mut req = request(&[("/app/main.py", &[Exec])]);
    req.env_path = vec!["/usr/local/bin:/usr/bin".into(), "/bin".into()];
    let res = resolve(&tree, &req).unwrap();
    assert_eq!(
        reason(&res, "/usr/bin/env"),
        Some((Reason::Shebang, Some("/app/main.py".into())))
    );
    assert_eq!(
        reason(&res, "/usr/bin/python3"),
        Some((Reason::Shebang, Some("/app/main.py".into())))
    );
    assert!(has(&res, "/usr/bin/python3.11", Reason::Shebang));
    assert!(has(&res, &lib("libz.so.1.2.13"), Reason::ElfNeeded));
    assert!(!res.keep.contains("/usr/local/bin/python3"));

    let mut req = request(&[("/app/split.py", &[Exec])]);
    req.env_path = vec!["/usr/bin".into()];
    let res = resolve(&tree, &req).unwrap();
    assert!(has(&res, "/usr/bin/python3.11", Reason::Shebang));
}

#[test]
fn nss_modules_from_a_kept_nsswitch_conf() {
    let tree = debian();
    let res = run(
        &tree,
        &[("/usr/bin/dash", &[Exec]), ("/etc/nsswitch.conf", &[Read])],
    );
    assert_eq!(
        reason(&res, &lib("libnss_files.so.2")),
        Some((Reason::Nss, Some("/etc/nsswitch.conf".into())))
    );
    // systemd and dns modules do not exist: not an error, glibc skips them too
    assert!(res.unresolved_libs.is_empty(), "{:?}", res.unresolved_libs);
    let without = run(&tree, &[("/usr/bin/dash", &[Exec])]);
    assert!(!without.keep.contains(&lib("libnss_files.so.2")));
    // nsswitch.conf kept as a user database works the same way
    let mut req = request(&[("/usr/bin/dash", &[Exec])]);
    req.extra = vec![("/etc/nsswitch.conf".into(), Reason::User)];
    let res = resolve(&tree, &req).unwrap();
    assert!(has(&res, &lib("libnss_files.so.2"), Reason::Nss));
}

#[test]
fn excluded_prefixes_are_never_kept_even_through_symlinks() {
    let tree = debian()
        .file("/etc/hosts", 0o644, b"127.0.0.1 localhost\n".to_vec())
        .file("/etc/hosts.allow", 0o644, b"".to_vec())
        .file("/proc/self/mounts", 0o444, b"".to_vec())
        .symlink("/etc/mtab", "../proc/self/mounts")
        .dir("/dev/shm", 0o1777)
        .symlink("/app/shm", "/dev/shm")
        .file("/devices/x", 0o644, b"".to_vec())
        .file("/app/conf/a.conf", 0o644, b"".to_vec())
        .symlink("/app/conf/proc-link", "/proc/self")
        .special("/app/fifo", 0o600);
    let mut req = request(&[
        ("/etc/hosts", &[Read]),
        ("/etc/hosts.allow", &[Read]),
        ("/proc/self/mounts", &[Read]),
        ("/dev/null", &[Write]),
        ("/etc/mtab", &[Read]),
        ("/app/shm/segment", &[Write]),
        ("/devices/x", &[Read]),
        ("/app/fifo", &[Read]),
    ]);
    req.extra = vec![("/app/conf".into(), Reason::Include)];
    let res = resolve(&tree, &req).unwrap();
    assert!(res.keep.paths.keys().all(|p| !p.starts_with("/proc")
        && !p.starts_with("/dev/")
        && p != "/dev"
        && p != "/etc/hosts"));
    // the links themselves are fine: they work again once /proc and /dev are mounted
    assert!(has(&res, "/etc/mtab", Reason::Traced));
    assert!(has(&res, "/app/shm", Reason::SymlinkHop));
    assert!(has(&res, "/app/conf/proc-link", Reason::Include));
    assert!(has(&res, "/etc/hosts.allow", Reason::Traced));
    assert!(has(&res, "/devices/x", Reason::Traced));
    assert!(!res.keep.contains("/app/fifo"));
    assert!(res.missing.is_empty(), "{:?}", res.missing);
    assert!(res.writable_dirs.iter().all(|d| !d.starts_with("/dev")));
}

#[test]
fn missing_and_written_paths() {
    let tree = debian()
        .file("/app/data.db", 0o644, b"db".to_vec())
        .dir("/app/cache", 0o755);
    let res = run(
        &tree,
        &[
            ("/nonexistent/file", &[Read]),
            ("//usr//lib/python3.11/./missing.py", &[Stat]),
            ("/var/run/app.pid", &[Write]),
            ("/tmp/a/b/c", &[Write]),
            ("/app/data.db", &[Read, Write]),
            ("/app/cache", &[Write]),
            ("/app/gone-again", &[Write, Read]),
            ("relative/path", &[Read]),
        ],
    );
    assert_eq!(
        res.missing,
        strings(&["/nonexistent/file", "/usr/lib/python3.11/missing.py"])
    );
    assert_eq!(
        res.writable_dirs,
        ["/run", "/tmp", "/app/data.db", "/app", "/app/cache"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    assert!(has(&res, "/var/run", Reason::SymlinkHop));
    assert_eq!(
        reason(&res, "/run"),
        Some((Reason::Parent, Some("/var/run/app.pid".into())))
    );
    assert_eq!(
        reason(&res, "/tmp"),
        Some((Reason::Parent, Some("/tmp/a/b/c".into())))
    );
    assert!(has(&res, "/app/data.db", Reason::Traced));
    assert!(has(&res, "/app/cache", Reason::Traced));
    // an absent path that was only looked at keeps nothing
    assert!(!res.keep.contains("/usr/lib/python3.11"));
    assert_eq!(res.warnings.len(), 1); // the relative path
}

#[test]
fn extra_paths_files_symlinks_and_whole_trees() {
    let tree = debian()
        .file("/usr/share/zoneinfo/Europe/Berlin", 0o644, b"TZif".to_vec())
        .symlink("/usr/share/zoneinfo/CET", "Europe/Berlin")
        .symlink("/usr/share/zoneinfo/posix", ".")
        .symlink("/usr/share/zoneinfo/tools", "/opt/tzdir")
        .file(
            "/opt/tzdir/zdump",
            0o755,
            ElfSpec::exe64(LD).needed("libz.so.1").build(),
        )
        .symlink("/etc/localtime", "/usr/share/zoneinfo/Europe/Berlin")
        .file(
            "/opt/plugin.so",
            0o644,
            ElfSpec::lib64().needed("libm.so.6").build(),
        );
    let mut req = request(&[("/etc/localtime", &[Read])]);
    req.extra = vec![
        ("/etc/passwd".into(), Reason::User),
        ("/usr/share/zoneinfo/".into(), Reason::Include),
        ("/opt/plugin.so".into(), Reason::Include),
        ("/etc/nope".into(), Reason::Include),
    ];
    let res = resolve(&tree, &req).unwrap();
    assert_eq!(reason(&res, "/etc/passwd"), Some((Reason::User, None)));
    // traced first: Berlin is traced, the rest of the tree is included
    assert_eq!(
        reason(&res, "/usr/share/zoneinfo/Europe/Berlin"),
        Some((Reason::Traced, None))
    );
    assert_eq!(
        reason(&res, "/usr/share/zoneinfo"),
        Some((Reason::Include, None))
    );
    for path in [
        "/usr/share/zoneinfo/CET",
        "/usr/share/zoneinfo/posix",
        "/usr/share/zoneinfo/Europe",
    ] {
        assert_eq!(
            reason(&res, path),
            Some((Reason::Include, Some("/usr/share/zoneinfo".into()))),
            "{path}"
        );
    }
    // a symlinked directory inside the tree brings its target tree, with ELF closure
    assert!(has(&res, "/opt/tzdir/zdump", Reason::Include));
    assert!(has(&res, &lib("libz.so.1.2.13"), Reason::ElfNeeded));
    assert!(has(&res, &lib("libm.so.6"), Reason::ElfNeeded));
    assert_eq!(res.missing_extra, strings(&["/etc/nope"]));

    let mut bad = request(&[]);
    bad.extra = vec![("etc/passwd".into(), Reason::User)];
    assert!(matches!(
        resolve(&tree, &bad),
        Err(ResolveError::RelativeExtra(_))
    ));
    let mut bad = request(&[]);
    bad.exclude = vec!["proc".into()];
    assert!(matches!(
        resolve(&tree, &bad),
        Err(ResolveError::Exclude(_))
    ));
}

#[test]
fn missing_interpreter_is_reported() {
    let tree = MemTree::new().file("/app", 0o755, ElfSpec::exe64("/lib/ld-gone.so").build());
    let res = run(&tree, &[("/app", &[Exec])]);
    assert_eq!(
        res.unresolved_libs,
        vec![("/app".to_string(), "/lib/ld-gone.so".to_string())]
    );
}

#[test]
fn static_binary_needs_nothing_else() {
    let tree = debian().file("/app/static", 0o755, ElfSpec::static64().build());
    let res = run(&tree, &[("/app/static", &[Exec])]);
    let paths: Vec<&str> = res.keep.paths.keys().map(String::as_str).collect();
    assert_eq!(paths, vec!["/app", "/app/static"]);
}

fn alpine() -> MemTree {
    let musl = "/lib/ld-musl-x86_64.so.1";
    MemTree::new()
        .file(
            musl,
            0o755,
            ElfSpec::lib64().soname("libc.musl-x86_64.so.1").build(),
        )
        .symlink("/lib/libc.musl-x86_64.so.1", "ld-musl-x86_64.so.1")
        .file(
            "/usr/lib/libssl.so.3",
            0o644,
            ElfSpec::lib64().needed("libc.musl-x86_64.so.1").build(),
        )
        .file(
            "/usr/bin/app",
            0o755,
            ElfSpec::exe64(musl)
                .needed("libssl.so.3")
                .needed("libc.musl-x86_64.so.1")
                .needed("libpthread.so.0")
                .build(),
        )
}

#[test]
fn musl_default_path_and_builtins() {
    let res = run(&alpine(), &[("/usr/bin/app", &[Exec])]);
    assert!(has(&res, "/lib/ld-musl-x86_64.so.1", Reason::Interp));
    assert!(has(&res, "/usr/lib/libssl.so.3", Reason::ElfNeeded));
    assert!(has(&res, "/lib/libc.musl-x86_64.so.1", Reason::ElfNeeded));
    // libpthread is part of musl's libc
    assert!(res.unresolved_libs.is_empty(), "{:?}", res.unresolved_libs);
}

#[test]
fn musl_path_file_replaces_the_defaults() {
    let tree = alpine()
        .file(
            "/etc/ld-musl-x86_64.path",
            0o644,
            b"/lib\n/opt/ssl/lib\n".to_vec(),
        )
        .file("/opt/ssl/lib/libssl.so.3", 0o644, ElfSpec::lib64().build());
    let res = run(&tree, &[("/usr/bin/app", &[Exec])]);
    assert!(has(&res, "/opt/ssl/lib/libssl.so.3", Reason::ElfNeeded));
    assert!(!res.keep.contains("/usr/lib/libssl.so.3"));
    assert!(has(&res, "/etc/ld-musl-x86_64.path", Reason::LdConfig));
}

#[test]
fn traced_root_and_devices_are_not_kept() {
    let res = run(&debian(), &[("/", &[Stat]), ("/dev/null", &[Read])]);
    assert!(res.keep.is_empty());
    assert!(res.missing.is_empty());
}

#[test]
fn real_root_python3_keeps_libc_and_loader() {
    use crate::resolve::live::LiveTree;
    if !std::path::Path::new("/usr/bin/python3").exists() {
        eprintln!("no /usr/bin/python3 on this machine; skipped");
        return;
    }
    let tree = LiveTree::new("/").unwrap();
    let res = run(&tree, &[("/usr/bin/python3", &[Exec])]);
    assert!(has(&res, "/usr/bin/python3", Reason::Traced));
    let libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
    let loader = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2";
    assert!(
        has(&res, libc, Reason::ElfNeeded),
        "{:?}",
        res.keep.paths.get(libc)
    );
    assert!(
        has(&res, loader, Reason::Interp),
        "{:?}",
        res.keep.paths.get(loader)
    );
    // Debian 12: both are reached through merged-/usr symlinks
    assert!(has(&res, "/lib64", Reason::SymlinkHop));
    assert!(has(&res, "/lib", Reason::SymlinkHop));
    assert!(has(&res, "/etc/ld.so.cache", Reason::LdConfig));
    assert!(res.unresolved_libs.is_empty(), "{:?}", res.unresolved_libs);
    assert!(res.keep.paths.keys().all(|p| !p.starts_with("/proc/")));
}
