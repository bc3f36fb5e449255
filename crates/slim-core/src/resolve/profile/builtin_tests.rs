//! The built-in profiles on MemTree fixtures shaped like the real layouts (Debian 12 as
//! in slim-fixture/debian:bookworm, and the official/Temurin images where noted): what
//! each adds, and what it leaves out.

use super::*;
use crate::resolve::elf_fixture::ElfSpec;
use crate::resolve::keep::Reason;
use crate::resolve::memtree::MemTree;
use crate::resolve::resolver::{Resolution, ResolveRequest, resolve};
use crate::resolve::test_trees::{LD, glibc_usr_merged, lib};
use crate::resolve::tree::FileTree;
use crate::sensor::report::Access::{self, Exec, Read, Stat};

/// Merged /usr, the glibc loader, libc and the loader configuration.
fn debian() -> MemTree {
    glibc_usr_merged()
        .file(
            "/etc/ld.so.conf.d/x86_64-linux-gnu.conf",
            0o644,
            b"/usr/lib/x86_64-linux-gnu\n".to_vec(),
        )
        .file(
            "/etc/ld.so.conf",
            0o644,
            b"include /etc/ld.so.conf.d/*.conf\n".to_vec(),
        )
        .file("/etc/ld.so.cache", 0o644, b"cache".to_vec())
        .dir("/proc/self", 0o555)
}

/// A dynamic executable needing `libs` (and libc).
fn exe(libs: &[&str]) -> Vec<u8> {
    let mut spec = ElfSpec::exe64(LD);
    for lib in libs {
        spec = spec.needed(lib);
    }
    spec.needed("libc.so.6").build()
}

/// A shared library needing `libs` (and libc).
fn so(libs: &[&str]) -> Vec<u8> {
    let mut spec = ElfSpec::lib64();
    for lib in libs {
        spec = spec.needed(lib);
    }
    spec.needed("libc.so.6").build()
}

fn builtin(names: &[&str]) -> Vec<Profile> {
    let all = builtin_profiles().unwrap();
    for name in names {
        assert!(all.iter().any(|p| p.name() == *name), "no profile {name}");
    }
    all.into_iter()
        .filter(|p| names.contains(&p.name()))
        .collect()
}

fn run_with(tree: &dyn FileTree, traced: &[(&str, &[Access])], profiles: &[&str]) -> Resolution {
    let request = ResolveRequest {
        traced: traced
            .iter()
            .map(|(p, a)| (p.to_string(), a.iter().copied().collect()))
            .collect(),
        exclude: vec!["/proc".into(), "/dev".into()],
        profiles: builtin(profiles),
        ..ResolveRequest::default()
    };
    resolve(tree, &request).unwrap()
}

/// Like [`run_with`], with the language closure following every language.
fn run_with_imports(
    tree: &dyn FileTree,
    traced: &[(&str, &[Access])],
    profiles: &[&str],
) -> Resolution {
    let request = ResolveRequest {
        traced: traced
            .iter()
            .map(|(p, a)| (p.to_string(), a.iter().copied().collect()))
            .collect(),
        exclude: vec!["/proc".into(), "/dev".into()],
        profiles: builtin(profiles),
        imports: crate::resolve::imports::Language::ALL.to_vec(),
        ..ResolveRequest::default()
    };
    resolve(tree, &request).unwrap()
}

/// Kept by the named profile (the path itself, not as a parent).
fn by(res: &Resolution, path: &str, profile: &str) -> bool {
    res.keep.paths.get(path).is_some_and(|k| {
        k.reason == Reason::Profile && k.via.as_deref() == Some(&format!("profile:{profile}"))
    })
}

fn kept(res: &Resolution, path: &str) -> bool {
    res.keep.contains(path)
}

fn fired(res: &Resolution) -> Vec<&str> {
    res.profiles_fired.iter().map(|f| f.name.as_str()).collect()
}

#[test]
fn every_builtin_profile_compiles_and_names_are_unique() {
    let all = builtin_profiles().unwrap();
    assert_eq!(all.len(), BUILTIN_SOURCES.len());
    let mut names: Vec<&str> = all.iter().map(|p| p.name()).collect();
    for (profile, (file, _)) in all.iter().zip(BUILTIN_SOURCES) {
        assert_eq!(format!("{}.toml", profile.name()), *file);
        assert!(!profile.about().is_empty(), "{file} has no about");
    }
    names.sort();
    names.dedup();
    assert_eq!(names.len(), all.len());
}

#[test]
fn every_key_of_every_builtin_file_is_commented() {
    for (file, text) in BUILTIN_SOURCES {
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let is_key = line
                .split_once(" = ")
                .is_some_and(|(key, _)| !key.starts_with([' ', '#', '{', '"']));
            if is_key {
                assert!(
                    i > 0 && lines[i - 1].starts_with('#'),
                    "{file}: key on line {} has no comment above it",
                    i + 1
                );
            }
        }
    }
}

#[test]
fn a_profile_that_does_not_apply_keeps_nothing() {
    let tree = debian()
        .file("/app/server", 0o755, ElfSpec::static64().build())
        .file("/usr/share/zoneinfo/UTC", 0o644, b"TZif".to_vec())
        .file("/etc/nginx/nginx.conf", 0o644, b"".to_vec());
    let all: Vec<&str> = BUILTIN_SOURCES
        .iter()
        .map(|(file, _)| file.trim_end_matches(".toml"))
        .collect();
    let res = run_with(&tree, &[("/app/server", &[Exec])], &all);
    assert!(res.profiles_fired.is_empty());
    assert_eq!(
        res.keep.paths.keys().collect::<Vec<_>>(),
        ["/app", "/app/server"]
    );
}

// ---- glibc ---------------------------------------------------------------------------

fn glibc_tree() -> MemTree {
    debian()
        .file("/usr/bin/app", 0o755, exe(&[]))
        .file(
            "/etc/nsswitch.conf",
            0o644,
            b"passwd: files\nhosts: files dns\n".to_vec(),
        )
        .file(&lib("libnss_files.so.2"), 0o644, so(&[]))
        .file("/etc/host.conf", 0o644, b"multi on\n".to_vec())
        .file("/etc/gai.conf", 0o644, b"".to_vec())
        .file("/usr/lib/locale/C.utf8/LC_CTYPE", 0o644, b"ctype".to_vec())
        .file(
            "/usr/lib/locale/C.utf8/LC_MESSAGES/SYS_LC_MESSAGES",
            0o644,
            b"m".to_vec(),
        )
        .file(
            "/usr/lib/locale/de_DE.utf8/LC_CTYPE",
            0o644,
            b"ctype".to_vec(),
        )
        .file(&lib("gconv/gconv-modules.cache"), 0o644, b"cache".to_vec())
        .file(
            &lib("gconv/gconv-modules.d/gconv-modules-extra.conf"),
            0o644,
            b"".to_vec(),
        )
        .file(&lib("gconv/ISO8859-1.so"), 0o644, so(&[]))
        .file(&lib("gconv/IBM850.so"), 0o644, so(&[]))
        .file(&lib("gconv/libJIS.so"), 0o644, so(&[]))
        .file(&lib("libgcc_s.so.1"), 0o644, so(&[]))
}

#[test]
fn glibc_keeps_resolver_config_and_c_utf8_but_gconv_only_once_a_module_was_loaded() {
    let tree = glibc_tree();
    let res = run_with(
        &tree,
        &[
            ("/usr/bin/app", &[Exec]),
            (
                "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache",
                &[Read],
            ),
        ],
        &["glibc"],
    );
    assert_eq!(fired(&res), ["glibc"]);
    assert_eq!(res.profiles_fired[0].trigger, lib("libc.so.6"));
    for path in [
        "/etc/nsswitch.conf",
        "/etc/host.conf",
        "/etc/gai.conf",
        "/usr/lib/locale/C.utf8",
        "/usr/lib/locale/C.utf8/LC_CTYPE",
        "/usr/lib/locale/C.utf8/LC_MESSAGES/SYS_LC_MESSAGES",
        "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1",
    ] {
        assert!(by(&res, path, "glibc"), "{path}");
    }
    // nsswitch.conf kept by the profile brings the NSS modules it names
    assert_eq!(
        res.keep.paths[&lib("libnss_files.so.2")].reason,
        Reason::Nss
    );
    assert!(!kept(&res, "/usr/lib/locale/de_DE.utf8/LC_CTYPE"));
    assert!(!kept(&res, &lib("gconv/ISO8859-1.so")));
    assert!(!kept(
        &res,
        &lib("gconv/gconv-modules.d/gconv-modules-extra.conf")
    ));

    let res = run_with(
        &tree,
        &[
            ("/usr/bin/app", &[Exec]),
            ("/usr/lib/x86_64-linux-gnu/gconv/ISO8859-1.so", &[Read]),
        ],
        &["glibc"],
    );
    for name in [
        "IBM850.so",
        "libJIS.so",
        "gconv-modules.cache",
        "gconv-modules.d/gconv-modules-extra.conf",
    ] {
        assert!(by(&res, &lib(&format!("gconv/{name}")), "glibc"), "{name}");
    }
}

// ---- ca-certificates ------------------------------------------------------------------

fn tls_tree() -> MemTree {
    debian()
        .file(&lib("libssl.so.3"), 0o644, so(&["libcrypto.so.3"]))
        .file(&lib("libcrypto.so.3"), 0o644, so(&[]))
        .file("/usr/bin/curlish", 0o755, exe(&["libssl.so.3"]))
        .file("/usr/bin/plain", 0o755, exe(&[]))
        .file("/app/static-go", 0o755, ElfSpec::static64().build())
        .file(
            "/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt",
            0o644,
            b"-----BEGIN CERTIFICATE-----".to_vec(),
        )
        .symlink(
            "/etc/ssl/certs/ISRG_Root_X1.pem",
            "/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt",
        )
        .symlink("/etc/ssl/certs/4042bcee.0", "ISRG_Root_X1.pem")
        .file(
            "/etc/ssl/certs/ca-certificates.crt",
            0o644,
            b"bundle".to_vec(),
        )
        .file("/etc/ssl/certs/java/cacerts", 0o644, b"jks".to_vec())
        .file("/etc/ssl/openssl.cnf", 0o644, b"[openssl_init]".to_vec())
        .dir("/etc/ssl/private", 0o700)
        .file("/etc/ssl/private/server.key", 0o600, b"secret".to_vec())
        .symlink(
            "/usr/lib/ssl/cert.pem",
            "/etc/ssl/certs/ca-certificates.crt",
        )
        .symlink("/usr/lib/ssl/certs", "/etc/ssl/certs")
        .symlink("/usr/lib/ssl/openssl.cnf", "/etc/ssl/openssl.cnf")
        .symlink("/usr/lib/ssl/private", "/etc/ssl/private")
        .file(
            "/usr/lib/ssl/misc/CA.pl",
            0o755,
            b"#!/usr/bin/perl\n".to_vec(),
        )
        .file(
            "/etc/ca-certificates.conf",
            0o644,
            b"mozilla/ISRG_Root_X1.crt\n".to_vec(),
        )
}

#[test]
fn ca_certificates_follow_a_tls_library_in_the_elf_closure() {
    let tree = tls_tree();
    let res = run_with(
        &tree,
        &[("/usr/bin/curlish", &[Exec])],
        &["ca-certificates"],
    );
    assert_eq!(fired(&res), ["ca-certificates"]);
    assert_eq!(res.profiles_fired[0].trigger, lib("libcrypto.so.3"));
    // the bundle every TLS library reads, and OpenSSL's names for it
    for path in [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/ssl/openssl.cnf",
        "/usr/lib/ssl/cert.pem",
        "/usr/lib/ssl/openssl.cnf",
    ] {
        assert!(kept(&res, path), "{path}");
    }
    // not each certificate, its hashed link and its source (--include-cert-all)
    assert!(!kept(&res, "/etc/ssl/certs/4042bcee.0"));
    assert!(!kept(
        &res,
        "/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt"
    ));
    assert!(!kept(&res, "/usr/lib/ssl/certs"));
    // private keys and OpenSSL's helper scripts stay out
    assert!(!kept(&res, "/etc/ssl/private"));
    assert!(!kept(&res, "/etc/ssl/private/server.key"));
    assert!(!kept(&res, "/usr/lib/ssl/private"));
    assert!(!kept(&res, "/usr/lib/ssl/misc/CA.pl"));
}

#[test]
fn ca_certificates_follow_a_read_of_the_trust_store_and_nothing_else() {
    let tree = tls_tree();
    let res = run_with(
        &tree,
        &[
            ("/app/static-go", &[Exec]),
            ("/etc/ssl/certs/java/cacerts", &[Read]),
        ],
        &["ca-certificates"],
    );
    assert_eq!(fired(&res), ["ca-certificates"]);
    assert!(by(
        &res,
        "/etc/ssl/certs/ca-certificates.crt",
        "ca-certificates"
    ));

    let res = run_with(&tree, &[("/usr/bin/plain", &[Exec])], &["ca-certificates"]);
    assert!(res.profiles_fired.is_empty());
    assert!(!kept(&res, "/etc/ssl/certs/ca-certificates.crt"));
}

// ---- tzdata ---------------------------------------------------------------------------

#[test]
fn tzdata_keeps_the_zone_database_once_a_zone_was_looked_up_by_name() {
    let tree = debian()
        .file("/usr/bin/app", 0o755, exe(&[]))
        .file("/usr/share/zoneinfo/Etc/UTC", 0o644, b"TZif".to_vec())
        .file("/usr/share/zoneinfo/Europe/Paris", 0o644, b"TZif".to_vec())
        .hardlink(
            "/usr/share/zoneinfo/posix/Europe/Paris",
            "/usr/share/zoneinfo/Europe/Paris",
        )
        .file(
            "/usr/share/zoneinfo/right/Europe/Paris",
            0o644,
            b"TZif".to_vec(),
        )
        .symlink("/usr/share/zoneinfo/localtime", "/etc/localtime")
        .file("/usr/share/zoneinfo/zone1970.tab", 0o644, b"FR".to_vec())
        .symlink("/etc/localtime", "/usr/share/zoneinfo/Etc/UTC")
        .file("/etc/timezone", 0o644, b"Etc/UTC\n".to_vec())
        .file("/usr/share/doc/tzdata/changelog", 0o644, b"".to_vec());
    let res = run_with(
        &tree,
        &[
            ("/usr/bin/app", &[Exec]),
            ("/etc/localtime", &[Read]),
            ("/usr/share/zoneinfo/Europe/Paris", &[Read]),
        ],
        &["tzdata"],
    );
    assert_eq!(fired(&res), ["tzdata"]);
    assert_eq!(
        res.profiles_fired[0].trigger,
        "/usr/share/zoneinfo/Europe/Paris"
    );
    for path in [
        "/usr/share/zoneinfo/posix/Europe/Paris",
        "/usr/share/zoneinfo/right/Europe/Paris",
        "/usr/share/zoneinfo/zone1970.tab",
        "/usr/share/zoneinfo/localtime",
        "/etc/timezone",
    ] {
        assert!(by(&res, path, "tzdata"), "{path}");
    }
    assert!(!kept(&res, "/usr/share/doc/tzdata/changelog"));

    // the local time alone: that zone, through the link, and nothing else
    let res = run_with(
        &tree,
        &[("/usr/bin/app", &[Exec]), ("/etc/localtime", &[Read])],
        &["tzdata"],
    );
    assert!(res.profiles_fired.is_empty());
    assert!(kept(&res, "/usr/share/zoneinfo/Etc/UTC"));
    assert!(!kept(&res, "/usr/share/zoneinfo/Europe/Paris"));
}

// ---- shells ---------------------------------------------------------------------------

#[test]
fn shells_keep_login_and_interactive_start_up_files() {
    let tree = debian()
        .file("/usr/bin/dash", 0o755, exe(&[]))
        .symlink("/usr/bin/sh", "dash")
        .file("/usr/bin/bash", 0o755, exe(&[]))
        .file("/etc/profile", 0o644, b"PATH=/usr/bin\n".to_vec())
        .file(
            "/etc/profile.d/locale.sh",
            0o644,
            b"LANG=C.UTF-8\n".to_vec(),
        )
        .file("/etc/bash.bashrc", 0o644, b"PS1='$ '\n".to_vec())
        .file("/etc/inputrc", 0o644, b"set bell-style none\n".to_vec())
        .file("/etc/skel/.bashrc", 0o644, b"".to_vec())
        .file("/app/run.sh", 0o755, b"#!/bin/sh\nexec true\n".to_vec());
    let res = run_with(&tree, &[("/app/run.sh", &[Exec])], &["shells"]);
    assert_eq!(fired(&res), ["shells"]);
    for path in [
        "/etc/profile",
        "/etc/profile.d/locale.sh",
        "/etc/bash.bashrc",
        "/etc/inputrc",
    ] {
        assert!(by(&res, path, "shells"), "{path}");
    }
    assert!(!kept(&res, "/usr/bin/bash"));
    assert!(!kept(&res, "/etc/skel/.bashrc"));

    // Alpine: every applet is a symlink to busybox
    let alpine = MemTree::new()
        .file("/bin/busybox", 0o755, ElfSpec::static64().build())
        .symlink("/bin/sh", "/bin/busybox")
        .file("/etc/profile", 0o644, b"export PATH\n".to_vec())
        .file(
            "/etc/profile.d/color_prompt.sh.disabled",
            0o644,
            b"".to_vec(),
        );
    let res = run_with(&alpine, &[("/bin/sh", &[Exec])], &["shells"]);
    assert_eq!(fired(&res), ["shells"]);
    assert!(by(&res, "/etc/profile", "shells"));
    assert!(by(
        &res,
        "/etc/profile.d/color_prompt.sh.disabled",
        "shells"
    ));
}

// ---- python ---------------------------------------------------------------------------

const PY: &str = "/usr/lib/python3.11";
const DYNLOAD: &str = "/usr/lib/python3.11/lib-dynload";

fn py(rest: &str) -> String {
    format!("{PY}/{rest}")
}

fn ext(name: &str) -> String {
    format!("{DYNLOAD}/{name}.cpython-311-x86_64-linux-gnu.so")
}

fn python_tree() -> MemTree {
    debian()
        .file(
            "/app/server.py",
            0o644,
            b"import requests\n\ndef handler():\n    import json, sqlite3, numpy\n".to_vec(),
        )
        .file(
            &py("sqlite3/__init__.py"),
            0o644,
            b"from sqlite3.dbapi2 import *\n".to_vec(),
        )
        .file(
            &py("sqlite3/dbapi2.py"),
            0o644,
            b"from _sqlite3 import *\n".to_vec(),
        )
        .file(&py("ssl.py"), 0o644, b"import _ssl\n".to_vec())
        .file(&py("re.py"), 0o644, b"".to_vec())
        .file("/usr/bin/python3.11", 0o755, exe(&["libz.so.1"]))
        .symlink("/usr/bin/python3", "python3.11")
        .file(&lib("libz.so.1"), 0o644, so(&[]))
        .file(&lib("libsqlite3.so.0"), 0o644, so(&[]))
        .file(&lib("libdb-5.3.so"), 0o644, so(&[]))
        .file(&lib("libssl.so.3"), 0o644, so(&[]))
        .file(&py("os.py"), 0o644, b"# os".to_vec())
        .file(
            &py("__pycache__/os.cpython-311.pyc"),
            0o644,
            b"pyc".to_vec(),
        )
        .file(&py("abc.py"), 0o644, b"# abc".to_vec())
        .file(
            &py("__pycache__/abc.cpython-311.pyc"),
            0o644,
            b"pyc".to_vec(),
        )
        .file(
            &py("json/__init__.py"),
            0o644,
            b"from .decoder import JSONDecoder\n".to_vec(),
        )
        .file(
            &py("json/decoder.py"),
            0o644,
            b"import re\n\ndef scan():\n    import email\n".to_vec(),
        )
        .file(
            &py("json/__pycache__/__init__.cpython-311.pyc"),
            0o644,
            b"".to_vec(),
        )
        .file(
            &py("json/__pycache__/decoder.cpython-311.pyc"),
            0o644,
            b"".to_vec(),
        )
        .file(&py("email/__init__.py"), 0o644, b"".to_vec())
        .file(&py("encodings/__init__.py"), 0o644, b"".to_vec())
        .file(&py("encodings/cp1252.py"), 0o644, b"".to_vec())
        .file(&py("test/support/__init__.py"), 0o644, b"".to_vec())
        .file(&py("test/test_os.py"), 0o644, b"".to_vec())
        .file(
            &py("config-3.11-x86_64-linux-gnu/Makefile"),
            0o644,
            b"".to_vec(),
        )
        .file(
            &py("config-3.11-x86_64-linux-gnu/libpython3.11.a"),
            0o644,
            b"ar".to_vec(),
        )
        .file(&ext("_json"), 0o644, so(&[]))
        .file(&ext("_sqlite3"), 0o644, so(&["libsqlite3.so.0"]))
        .file(&ext("_ssl"), 0o644, so(&["libssl.so.3"]))
        .file(&ext("_dbm"), 0o644, so(&["libdb-5.3.so"]))
        .file(&ext("_testcapi"), 0o644, so(&[]))
        .file(
            "/usr/lib/python3/dist-packages/requests/__init__.py",
            0o644,
            b"from . import api\n".to_vec(),
        )
        .file(
            "/usr/lib/python3/dist-packages/requests/api.py",
            0o644,
            b"try:\n    import ssl\nexcept ImportError:\n    ssl = None\n".to_vec(),
        )
        .file(
            "/usr/lib/python3/dist-packages/idna/core.py",
            0o644,
            b"".to_vec(),
        )
        .file("/usr/lib/python3/dist-packages/six.py", 0o644, b"".to_vec())
        .file(
            "/etc/ssl/certs/ca-certificates.crt",
            0o644,
            b"bundle".to_vec(),
        )
}

#[test]
fn python_keeps_the_source_of_traced_byte_code_and_imports_follow_the_code() {
    let tree = python_tree();
    let res = run_with_imports(
        &tree,
        &[
            ("/usr/bin/python3", &[Exec]),
            (
                "/usr/lib/python3.11/__pycache__/os.cpython-311.pyc",
                &[Read],
            ),
            ("/app/server.py", &[Read]),
        ],
        &["python", "ca-certificates"],
    );
    assert_eq!(fired(&res), ["python", "ca-certificates"]);
    assert_eq!(res.profiles_fired[0].trigger, "/usr/bin/python3");
    // the source of a traced byte-code file
    assert!(by(&res, &py("os.py"), "python"));
    // what the app imports, also inside a function, and what that imports in turn
    let imported = |path: &str| {
        res.keep
            .paths
            .get(path)
            .is_some_and(|k| k.reason == Reason::PythonImport)
    };
    assert!(imported(&py("json/__init__.py")), "{:?}", res.keep.paths);
    assert!(imported(&py("json/decoder.py")));
    assert!(imported(&ext("_sqlite3")));
    assert!(imported(
        "/usr/lib/python3/dist-packages/requests/__init__.py"
    ));
    assert!(imported("/usr/lib/python3/dist-packages/requests/api.py"));
    // an extension module brings its libraries, which can make other profiles apply
    assert_eq!(
        res.keep.paths[&lib("libsqlite3.so.0")].reason,
        Reason::ElfNeeded
    );
    assert!(imported(&ext("_ssl")));
    assert_eq!(res.profiles_fired[1].trigger, lib("libssl.so.3"));
    assert!(by(
        &res,
        "/etc/ssl/certs/ca-certificates.crt",
        "ca-certificates"
    ));
    // byte code of modules the trace did not load, and modules nothing imports, stay out
    assert!(!kept(&res, &py("json/__pycache__/decoder.cpython-311.pyc")));
    assert!(!kept(&res, &py("email/__init__.py")));
    assert!(!kept(&res, "/usr/lib/python3/dist-packages/idna/core.py"));
    assert!(!kept(&res, &ext("_dbm")));
    assert!(!kept(&res, &py("test/test_os.py")));
    // codecs beyond the start-up ones were not looked up: not kept
    assert!(!kept(&res, &py("encodings/cp1252.py")));
    assert_eq!(
        res.unresolved_modules
            .iter()
            .map(|m| m.module.as_str())
            .collect::<Vec<_>>(),
        ["numpy"]
    );
}

#[test]
fn python_in_the_official_image_layout() {
    let tree = debian()
        .file("/usr/local/lib/libpython3.12.so.1.0", 0o644, so(&[]))
        .file(
            "/usr/local/bin/python3.12",
            0o755,
            exe(&["libpython3.12.so.1.0"]),
        )
        .file(
            "/etc/ld.so.conf.d/local.conf",
            0o644,
            b"/usr/local/lib\n".to_vec(),
        )
        .file(
            "/usr/local/lib/python3.12/encodings/__init__.py",
            0o644,
            b"".to_vec(),
        )
        .file(
            "/usr/local/lib/python3.12/encodings/latin_1.py",
            0o644,
            b"".to_vec(),
        )
        .file(
            "/usr/local/lib/python3.12/encodings/koi8_r.py",
            0o644,
            b"".to_vec(),
        )
        .file(
            "/usr/local/lib/python3.12/site-packages/flask/__init__.py",
            0o644,
            b"from .app import Flask\n\ndef export():\n    import csv\n".to_vec(),
        )
        .file(
            "/usr/local/lib/python3.12/site-packages/flask/app.py",
            0o644,
            b"def render():\n    import jinja2\n".to_vec(),
        )
        .file(
            "/usr/local/lib/python3.12/csv.py",
            0o644,
            b"from _csv import reader\n".to_vec(),
        )
        .file(
            "/usr/local/lib/python3.12/site-packages/jinja2/__init__.py",
            0o644,
            b"".to_vec(),
        )
        .file(
            "/usr/local/lib/python3.12/lib-dynload/_csv.cpython-312-x86_64-linux-gnu.so",
            0o644,
            so(&[]),
        );
    let res = run_with_imports(
        &tree,
        &[
            ("/usr/local/bin/python3.12", &[Exec]),
            (
                "/usr/local/lib/python3.12/site-packages/flask/__init__.py",
                &[Read],
            ),
            ("/usr/local/lib/python3.12/encodings/koi8_r.py", &[Read]),
        ],
        &["python"],
    );
    assert_eq!(fired(&res), ["python"]);
    for path in [
        "/usr/local/lib/python3.12/site-packages/flask/app.py",
        "/usr/local/lib/python3.12/csv.py",
        "/usr/local/lib/python3.12/lib-dynload/_csv.cpython-312-x86_64-linux-gnu.so",
        // a codec looked up by name: the app may ask for any other
        "/usr/local/lib/python3.12/encodings/latin_1.py",
    ] {
        assert_eq!(res.keep.paths[path].reason, Reason::PythonImport, "{path}");
    }
    // flask/app.py was only kept because something imports it: its functions' imports
    // are not followed
    assert!(!kept(
        &res,
        "/usr/local/lib/python3.12/site-packages/jinja2/__init__.py"
    ));
}

// ---- node -----------------------------------------------------------------------------

fn node_tree() -> MemTree {
    debian()
        .file(&lib("libnode.so.108"), 0o644, so(&[]))
        .file("/usr/bin/node", 0o755, exe(&["libnode.so.108"]))
        .symlink("/usr/bin/nodejs", "node")
        .file(&lib("libfoo.so.1"), 0o644, so(&[]))
        .file(
            "/usr/share/nodejs/acorn/package.json",
            0o644,
            b"{}".to_vec(),
        )
        .file("/usr/share/nodejs/acorn/dist/acorn.js", 0o644, b"".to_vec())
        .file(
            "/usr/share/nodejs/acorn/dist/acorn.mjs",
            0o644,
            b"".to_vec(),
        )
        .file(
            "/usr/share/nodejs/@types/node/index.d.ts",
            0o644,
            b"".to_vec(),
        )
        .file("/usr/share/nodejs/undici/index.js", 0o644, b"".to_vec())
        .file(
            "/app/package.json",
            0o644,
            b"{\"type\":\"module\"}".to_vec(),
        )
        .file(
            "/app/src/server.js",
            0o644,
            b"import express from 'express'".to_vec(),
        )
        .file("/app/src/worker.js", 0o644, b"".to_vec())
        .file(
            "/app/node_modules/express/package.json",
            0o644,
            b"{}".to_vec(),
        )
        .file("/app/node_modules/express/index.js", 0o644, b"".to_vec())
        .file(
            "/app/node_modules/express/lib/router.js",
            0o644,
            b"".to_vec(),
        )
        .file(
            "/app/node_modules/@scope/pkg/package.json",
            0o644,
            b"{}".to_vec(),
        )
        .file("/app/node_modules/@scope/pkg/index.js", 0o644, b"".to_vec())
        .file(
            "/app/node_modules/@scope/pkg/build/Release/addon.node",
            0o755,
            so(&["libfoo.so.1"]),
        )
        .file(
            "/app/node_modules/@scope/other/index.js",
            0o644,
            b"".to_vec(),
        )
        .file("/app/node_modules/unused/index.js", 0o644, b"".to_vec())
        .file("/app/node_modules/cli/index.js", 0o644, b"".to_vec())
        .file("/app/node_modules/cli/bin/cli.js", 0o755, b"".to_vec())
        .symlink("/app/node_modules/.bin/cli", "../cli/bin/cli.js")
        .file("/app/node_modules/tool/bin/tool.js", 0o755, b"".to_vec())
        .symlink("/app/node_modules/.bin/tool", "../tool/bin/tool.js")
        .file(
            "/app/node_modules/.package-lock.json",
            0o644,
            b"{}".to_vec(),
        )
}

#[test]
fn node_keeps_the_package_json_files_above_every_kept_module() {
    let tree = node_tree();
    let res = run_with(
        &tree,
        &[
            ("/usr/bin/node", &[Exec]),
            ("/app/src/server.js", &[Read]),
            ("/app/node_modules/@scope/pkg/index.js", &[Read]),
            ("/usr/share/nodejs/acorn/dist/acorn.js", &[Read]),
        ],
        &["node"],
    );
    assert_eq!(fired(&res), ["node"]);
    assert!(by(&res, "/app/package.json", "node"));
    assert!(by(
        &res,
        "/app/node_modules/@scope/pkg/package.json",
        "node"
    ));
    assert!(by(&res, "/usr/share/nodejs/acorn/package.json", "node"));
    // modules are the closure's business, not the profile's
    assert!(!kept(&res, "/app/node_modules/express/lib/router.js"));
    assert!(!kept(&res, "/app/node_modules/unused/index.js"));
    assert!(!kept(&res, "/app/src/worker.js"));
}

// ---- java -----------------------------------------------------------------------------

const JDK: &str = "/usr/lib/jvm/java-17-openjdk-amd64";

fn jdk(rest: &str) -> String {
    format!("{JDK}/{rest}")
}

/// Debian's openjdk-17-jre-headless: configuration symlinked into /etc/java-17-openjdk,
/// the trust store into /etc/ssl/certs/java.
fn java_tree() -> MemTree {
    let etc = "/etc/java-17-openjdk";
    debian()
        .file(&jdk("bin/java"), 0o755, exe(&["libjli.so"]))
        .symlink("/etc/alternatives/java", &jdk("bin/java"))
        .symlink("/usr/bin/java", "/etc/alternatives/java")
        .symlink(
            "/usr/lib/jvm/java-1.17.0-openjdk-amd64",
            "java-17-openjdk-amd64",
        )
        .symlink("/usr/lib/jvm/default-java", "java-1.17.0-openjdk-amd64")
        .file(&jdk("lib/libjli.so"), 0o644, so(&[]))
        .file(&jdk("lib/server/libjvm.so"), 0o644, so(&[]))
        .file(&jdk("lib/server/classes.jsa"), 0o644, b"cds".to_vec())
        .file(
            &jdk("lib/server/classes_nocoops.jsa"),
            0o644,
            b"cds".to_vec(),
        )
        .file(&jdk("lib/libjava.so"), 0o644, so(&[]))
        .file(&jdk("lib/libnet.so"), 0o644, so(&[]))
        .file(&jdk("lib/libnio.so"), 0o644, so(&["libnet.so"]))
        .file(&jdk("lib/libjsound.so"), 0o644, so(&["libasound.so.2"]))
        .file(&lib("libasound.so.2"), 0o644, so(&[]))
        .file(&jdk("lib/modules"), 0o644, b"jimage".to_vec())
        .file(&jdk("lib/tzdb.dat"), 0o644, b"tzdb".to_vec())
        .file(&jdk("lib/ct.sym"), 0o644, b"big".to_vec())
        .file(&jdk("lib/jspawnhelper"), 0o755, exe(&[]))
        .file(
            &format!("{etc}/jvm-amd64.cfg"),
            0o644,
            b"-server KNOWN".to_vec(),
        )
        .symlink(&jdk("lib/jvm.cfg"), &format!("{etc}/jvm-amd64.cfg"))
        .file(
            &format!("{etc}/security/java.security"),
            0o644,
            b"".to_vec(),
        )
        .file(
            &format!("{etc}/security/default.policy"),
            0o644,
            b"".to_vec(),
        )
        .file(
            &format!("{etc}/security/policy/unlimited/default_local.policy"),
            0o644,
            b"".to_vec(),
        )
        .file(&format!("{etc}/net.properties"), 0o644, b"".to_vec())
        .file(
            &format!("{etc}/management/management.properties"),
            0o644,
            b"".to_vec(),
        )
        .symlink(
            &jdk("conf/net.properties"),
            &format!("{etc}/net.properties"),
        )
        .symlink(
            &jdk("conf/security/java.security"),
            &format!("{etc}/security/java.security"),
        )
        .dir(&jdk("conf/security/policy/unlimited"), 0o755)
        .file(&jdk("conf/security/policy/README.txt"), 0o644, b"".to_vec())
        .symlink(
            &jdk("lib/security/default.policy"),
            &format!("{etc}/security/default.policy"),
        )
        .symlink(&jdk("lib/security/cacerts"), "/etc/ssl/certs/java/cacerts")
        .file("/etc/ssl/certs/java/cacerts", 0o644, b"jks".to_vec())
        .file(&jdk("legal/java.base/LICENSE"), 0o644, b"GPL".to_vec())
        .file(&jdk("man/man1/java.1.gz"), 0o644, b"man".to_vec())
}

#[test]
fn java_keeps_what_the_jvm_opens_lazily_on_debian() {
    let tree = java_tree();
    let res = run_with(
        &tree,
        &[
            ("/usr/bin/java", &[Exec]),
            (&jdk("lib/server/libjvm.so"), &[Read]),
            (&jdk("lib/server/classes.jsa"), &[Read]),
            (&jdk("lib/modules"), &[Read]),
            (&jdk("lib/jvm.cfg"), &[Read]),
        ],
        &["java"],
    );
    assert_eq!(fired(&res), ["java"]);
    assert_eq!(res.profiles_fired[0].trigger, jdk("lib/server/libjvm.so"));
    for path in [
        jdk("lib/libnet.so"),
        jdk("lib/libnio.so"),
        jdk("lib/tzdb.dat"),
        jdk("lib/jspawnhelper"),
        jdk("lib/security/cacerts"),
        jdk("lib/security/default.policy"),
        jdk("conf/net.properties"),
        jdk("conf/security/java.security"),
        jdk("conf/security/policy/unlimited"),
        "/etc/java-17-openjdk/management/management.properties".into(),
    ] {
        assert!(by(&res, &path, "java"), "{path}");
    }
    // symlink targets come along
    assert!(kept(&res, "/etc/ssl/certs/java/cacerts"));
    assert!(kept(&res, "/etc/java-17-openjdk/security/java.security"));
    assert!(kept(
        &res,
        "/etc/java-17-openjdk/security/policy/unlimited/default_local.policy"
    ));
    // not needed to run
    for path in [
        jdk("lib/ct.sym"),
        jdk("lib/server/classes_nocoops.jsa"),
        jdk("legal/java.base/LICENSE"),
        jdk("man/man1/java.1.gz"),
        jdk("lib/libjsound.so"),
        lib("libasound.so.2"),
    ] {
        assert!(!kept(&res, &path), "{path}");
    }
}

#[test]
fn java_in_the_temurin_layout() {
    let home = "/opt/java/openjdk";
    let tree = debian()
        .file(&format!("{home}/bin/java"), 0o755, exe(&["libjli.so"]))
        .file(&format!("{home}/lib/libjli.so"), 0o644, so(&[]))
        .file(&format!("{home}/lib/server/libjvm.so"), 0o644, so(&[]))
        .file(&format!("{home}/lib/libnet.so"), 0o644, so(&[]))
        .file(
            &format!("{home}/lib/jvm.cfg"),
            0o644,
            b"-server KNOWN".to_vec(),
        )
        .file(&format!("{home}/lib/modules"), 0o644, b"jimage".to_vec())
        .file(&format!("{home}/lib/tzdb.dat"), 0o644, b"tzdb".to_vec())
        .file(
            &format!("{home}/lib/security/cacerts"),
            0o644,
            b"jks".to_vec(),
        )
        .file(
            &format!("{home}/lib/security/blocked.certs"),
            0o644,
            b"".to_vec(),
        )
        .file(
            &format!("{home}/conf/security/java.security"),
            0o644,
            b"".to_vec(),
        )
        .file(
            &format!("{home}/conf/logging.properties"),
            0o644,
            b"".to_vec(),
        )
        .file(
            &format!("{home}/jmods/java.base.jmod"),
            0o644,
            b"jmod".to_vec(),
        )
        .symlink("/usr/local/bin/java", &format!("{home}/bin/java"));
    let res = run_with(
        &tree,
        &[
            ("/usr/local/bin/java", &[Exec]),
            (&format!("{home}/lib/server/libjvm.so"), &[Read]),
        ],
        &["java"],
    );
    assert_eq!(fired(&res), ["java"]);
    for rest in [
        "lib/libnet.so",
        "lib/jvm.cfg",
        "lib/modules",
        "lib/tzdb.dat",
        "lib/security/cacerts",
        "lib/security/blocked.certs",
        "conf/security/java.security",
        "conf/logging.properties",
    ] {
        assert!(by(&res, &format!("{home}/{rest}"), "java"), "{rest}");
    }
    assert!(!kept(&res, &format!("{home}/jmods/java.base.jmod")));
}

// ---- ruby -----------------------------------------------------------------------------

fn ruby_tree() -> MemTree {
    let stdlib = "/usr/lib/ruby/3.1.0";
    let arch = "/usr/lib/x86_64-linux-gnu/ruby/3.1.0";
    let gems = "/usr/lib/ruby/gems/3.1.0";
    debian()
        .file(&lib("libruby-3.1.so.3.1"), 0o644, so(&[]))
        .file("/usr/bin/ruby3.1", 0o755, exe(&["libruby-3.1.so.3.1"]))
        .symlink("/usr/bin/ruby", "ruby3.1")
        .file(&format!("{stdlib}/json.rb"), 0o644, b"".to_vec())
        .file(&format!("{stdlib}/json/common.rb"), 0o644, b"".to_vec())
        .file(
            &format!("{stdlib}/json/generic_object.rb"),
            0o644,
            b"".to_vec(),
        )
        .file(&format!("{stdlib}/net/http.rb"), 0o644, b"".to_vec())
        .file(
            &format!("{stdlib}/net/http/response.rb"),
            0o644,
            b"".to_vec(),
        )
        .file(&format!("{stdlib}/rubygems.rb"), 0o644, b"".to_vec())
        .file(
            &format!("{stdlib}/rubygems/specification.rb"),
            0o644,
            b"".to_vec(),
        )
        .file(
            &format!("{stdlib}/rubygems/resolver.rb"),
            0o644,
            b"".to_vec(),
        )
        .file(&format!("{stdlib}/csv/parser.rb"), 0o644, b"".to_vec())
        .file(&format!("{arch}/enc/encdb.so"), 0o644, so(&[]))
        .file(&format!("{arch}/enc/shift_jis.so"), 0o644, so(&[]))
        .file(&format!("{arch}/enc/trans/single_byte.so"), 0o644, so(&[]))
        .file(&format!("{arch}/monitor.so"), 0o644, so(&[]))
        .file(&format!("{arch}/json/ext/parser.so"), 0o644, so(&[]))
        .file(
            "/usr/lib/ruby/vendor_ruby/rubygems/defaults/operating_system.rb",
            0o644,
            b"".to_vec(),
        )
        .file(
            &format!("{gems}/specifications/default/json-2.6.1.gemspec"),
            0o644,
            b"".to_vec(),
        )
        .file(
            &format!("{gems}/specifications/rake-13.0.6.gemspec"),
            0o644,
            b"".to_vec(),
        )
        .file(
            &format!("{gems}/gems/rake-13.0.6/lib/rake.rb"),
            0o644,
            b"".to_vec(),
        )
        .file(
            &format!("{gems}/gems/minitest-5.15.0/lib/minitest.rb"),
            0o644,
            b"".to_vec(),
        )
        .file(
            "/var/lib/gems/3.1.0/gems/sinatra-3.0.0/lib/sinatra.rb",
            0o644,
            b"".to_vec(),
        )
        .file(
            "/var/lib/gems/3.1.0/gems/sinatra-3.0.0/lib/sinatra/base.rb",
            0o644,
            b"".to_vec(),
        )
        .file(
            "/var/lib/gems/3.1.0/specifications/sinatra-3.0.0.gemspec",
            0o644,
            b"".to_vec(),
        )
        .file(
            "/var/lib/gems/3.1.0/specifications/rack-2.2.gemspec",
            0o644,
            b"".to_vec(),
        )
        .file(
            "/var/lib/gems/3.1.0/extensions/x86_64-linux/3.1.0/puma-6.0.0/puma/puma_http11.so",
            0o644,
            so(&[]),
        )
        .file(
            "/var/lib/gems/3.1.0/extensions/x86_64-linux/3.1.0/puma-6.0.0/gem.build_complete",
            0o644,
            b"".to_vec(),
        )
}

#[test]
fn ruby_keeps_gem_specifications_and_requires_follow_the_code() {
    let tree = ruby_tree()
        .file(
            "/app/main.rb",
            0o644,
            b"require 'json'\nrequire 'sinatra'\n\ndef fetch\n  require 'net/http'\nend\n".to_vec(),
        )
        .file(
            "/usr/lib/ruby/3.1.0/json.rb",
            0o644,
            b"require 'json/common'\n".to_vec(),
        )
        .file("/usr/lib/ruby/3.1.0/json/common.rb", 0o644, b"".to_vec())
        .file(
            "/usr/lib/ruby/3.1.0/net/http.rb",
            0o644,
            b"require 'net/protocol'\ndef x\n  require 'csv'\nend\n".to_vec(),
        )
        .file("/usr/lib/ruby/3.1.0/net/protocol.rb", 0o644, b"".to_vec())
        .file("/usr/lib/ruby/3.1.0/csv.rb", 0o644, b"".to_vec())
        .file(
            "/usr/lib/ruby/vendor_ruby/rubygems.rb",
            0o644,
            b"def self.install\n  require 'rubygems/installer'\nend\n".to_vec(),
        )
        .file(
            "/usr/lib/ruby/vendor_ruby/rubygems/installer.rb",
            0o644,
            b"".to_vec(),
        )
        .file(
            "/var/lib/gems/3.1.0/gems/sinatra-3.0.0/lib/sinatra.rb",
            0o644,
            b"require 'sinatra/base'\n".to_vec(),
        );
    let res = run_with_imports(
        &tree,
        &[
            ("/usr/bin/ruby", &[Exec]),
            ("/app/main.rb", &[Read]),
            ("/usr/lib/ruby/3.1.0/json.rb", &[Read]),
            ("/usr/lib/ruby/vendor_ruby/rubygems.rb", &[Read]),
            (
                "/usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec",
                &[Read],
            ),
        ],
        &["ruby"],
    );
    assert_eq!(fired(&res), ["ruby"]);
    let required = |path: &str| {
        res.keep
            .paths
            .get(path)
            .is_some_and(|k| k.reason == Reason::RubyRequire)
    };
    for path in [
        "/usr/lib/ruby/3.1.0/json/common.rb",
        "/usr/lib/ruby/3.1.0/net/http.rb",
        "/usr/lib/ruby/3.1.0/net/protocol.rb",
        "/var/lib/gems/3.1.0/gems/sinatra-3.0.0/lib/sinatra.rb",
        "/var/lib/gems/3.1.0/gems/sinatra-3.0.0/lib/sinatra/base.rb",
    ] {
        assert!(required(path), "{path}");
    }
    // RubyGems reads every specification of a directory it read one of
    assert!(by(
        &res,
        "/usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec",
        "ruby"
    ));
    for path in [
        // required only inside a method of a file nothing showed was loaded
        "/usr/lib/ruby/3.1.0/csv.rb",
        // the package manager's installer: never run by a deployed app
        "/usr/lib/ruby/vendor_ruby/rubygems/installer.rb",
        "/usr/lib/ruby/3.1.0/csv/parser.rb",
        "/usr/lib/ruby/gems/3.1.0/gems/rake-13.0.6/lib/rake.rb",
        "/usr/lib/x86_64-linux-gnu/ruby/3.1.0/enc/shift_jis.so",
    ] {
        assert!(!kept(&res, path), "{path}");
    }
}

#[test]
fn ruby_in_the_official_image_layout() {
    let tree = debian()
        .file("/usr/local/lib/libruby.so.3.3", 0o644, so(&[]))
        .file("/usr/local/bin/ruby", 0o755, exe(&[]))
        .file("/usr/local/lib/ruby/3.3.0/set.rb", 0o644, b"".to_vec())
        .file(
            "/usr/local/lib/ruby/3.3.0/x86_64-linux/socket.so",
            0o644,
            so(&[]),
        )
        .file(
            "/usr/local/bundle/gems/rack-3.0.8/lib/rack.rb",
            0o644,
            b"require 'rack/builder'\nrequire 'socket'\n".to_vec(),
        )
        .file(
            "/usr/local/bundle/gems/rack-3.0.8/lib/rack/builder.rb",
            0o644,
            b"".to_vec(),
        )
        .file(
            "/usr/local/bundle/specifications/rack-3.0.8.gemspec",
            0o644,
            b"".to_vec(),
        )
        .file(
            "/usr/local/bundle/specifications/puma-6.4.0.gemspec",
            0o644,
            b"".to_vec(),
        );
    let res = run_with_imports(
        &tree,
        &[
            ("/usr/local/bin/ruby", &[Exec]),
            ("/usr/local/bundle/gems/rack-3.0.8/lib/rack.rb", &[Read]),
            (
                "/usr/local/bundle/specifications/rack-3.0.8.gemspec",
                &[Read],
            ),
        ],
        &["ruby"],
    );
    assert_eq!(fired(&res), ["ruby"]);
    for path in [
        "/usr/local/bundle/gems/rack-3.0.8/lib/rack/builder.rb",
        "/usr/local/lib/ruby/3.3.0/x86_64-linux/socket.so",
    ] {
        assert_eq!(res.keep.paths[path].reason, Reason::RubyRequire, "{path}");
    }
    assert!(by(
        &res,
        "/usr/local/bundle/specifications/puma-6.4.0.gemspec",
        "ruby"
    ));
    assert!(!kept(&res, "/usr/local/lib/ruby/3.3.0/set.rb"));
}

// ---- perl -----------------------------------------------------------------------------

fn perl_tree() -> MemTree {
    let base = "/usr/lib/x86_64-linux-gnu/perl-base";
    let core = "/usr/share/perl/5.36.0";
    let arch = "/usr/lib/x86_64-linux-gnu/perl/5.36.0";
    debian()
        .file(&lib("libperl.so.5.36"), 0o644, so(&[]))
        .file("/usr/bin/perl", 0o755, exe(&["libperl.so.5.36"]))
        .file(&format!("{base}/POSIX.pm"), 0o644, b"".to_vec())
        .file(&format!("{base}/auto/POSIX/POSIX.so"), 0o644, so(&[]))
        .file(&format!("{base}/File/Spec.pm"), 0o644, b"".to_vec())
        .file(&format!("{base}/File/Spec/Unix.pm"), 0o644, b"".to_vec())
        .file(&format!("{base}/File/Temp.pm"), 0o644, b"".to_vec())
        .file(&format!("{base}/auto/Fcntl/Fcntl.so"), 0o644, so(&[]))
        .symlink("/usr/share/perl/5.36", "5.36.0")
        .file(&format!("{core}/JSON/PP.pm"), 0o644, b"".to_vec())
        .file(&format!("{core}/JSON/PP/Boolean.pm"), 0o644, b"".to_vec())
        .file(
            &format!("{core}/unicore/lib/Alpha/Y.pl"),
            0o644,
            b"".to_vec(),
        )
        .file(&format!("{core}/unicore/To/Upper.pl"), 0o644, b"".to_vec())
        .file(&format!("{core}/CPAN/Meta.pm"), 0o644, b"".to_vec())
        .symlink("/usr/lib/x86_64-linux-gnu/perl/5.36", "5.36.0")
        .file(&format!("{arch}/Encode.pm"), 0o644, b"".to_vec())
        .file(&format!("{arch}/Encode/Alias.pm"), 0o644, b"".to_vec())
        .file(&format!("{arch}/Encode/JP.pm"), 0o644, b"".to_vec())
        .file(&format!("{arch}/auto/Encode/Encode.so"), 0o644, so(&[]))
        .file(&format!("{arch}/auto/Encode/Byte/Byte.so"), 0o644, so(&[]))
        .file(&format!("{arch}/auto/Encode/JP/JP.so"), 0o644, so(&[]))
        .file(&format!("{arch}/CORE/perl.h"), 0o644, b"".to_vec())
        .file(&format!("{arch}/CORE/config.h"), 0o644, b"".to_vec())
        .file("/usr/share/perl5/Try/Tiny.pm", 0o644, b"".to_vec())
}

#[test]
fn perl_keeps_unicode_tables_and_uses_follow_the_code() {
    let arch = "/usr/lib/x86_64-linux-gnu/perl/5.36.0";
    let tree = perl_tree()
        .file(
            "/app/main.pl",
            0o644,
            b"use strict;\nuse JSON::PP;\nuse File::Spec;\nsub later { require Encode; }\n"
                .to_vec(),
        )
        .file("/usr/share/perl/5.36.0/strict.pm", 0o644, b"".to_vec())
        .file(
            "/usr/share/perl/5.36.0/JSON/PP.pm",
            0o644,
            b"use JSON::PP::Boolean;\n".to_vec(),
        )
        .file(
            &format!("{arch}/Encode.pm"),
            0o644,
            b"use Encode::Alias;\n".to_vec(),
        );
    let res = run_with_imports(
        &tree,
        &[
            ("/usr/bin/perl", &[Exec]),
            ("/app/main.pl", &[Read]),
            ("/usr/share/perl/5.36/unicore/lib/Alpha/Y.pl", &[Read]),
            ("/usr/lib/x86_64-linux-gnu/perl/5.36/CORE/perl.h", &[Stat]),
        ],
        &["perl"],
    );
    assert_eq!(fired(&res), ["perl"]);
    let used = |path: &str| {
        res.keep
            .paths
            .get(path)
            .is_some_and(|k| k.reason == Reason::PerlUse)
    };
    for path in [
        "/usr/share/perl/5.36.0/JSON/PP.pm",
        "/usr/share/perl/5.36.0/JSON/PP/Boolean.pm",
        "/usr/lib/x86_64-linux-gnu/perl-base/File/Spec.pm",
        &format!("{arch}/Encode.pm"),
        &format!("{arch}/Encode/Alias.pm"),
        // an XS module's own shared object, not the ones of modules below it
        &format!("{arch}/auto/Encode/Encode.so"),
    ] {
        assert!(used(path), "{path}");
    }
    // regular expressions load Unicode tables by property name
    assert!(by(
        &res,
        "/usr/share/perl/5.36.0/unicore/To/Upper.pl",
        "perl"
    ));
    for path in [
        "/usr/share/perl/5.36.0/CPAN/Meta.pm",
        "/usr/share/perl5/Try/Tiny.pm",
        "/usr/lib/x86_64-linux-gnu/perl-base/File/Temp.pm",
        "/usr/lib/x86_64-linux-gnu/perl/5.36.0/CORE/config.h",
        "/usr/lib/x86_64-linux-gnu/perl/5.36.0/auto/Encode/JP/JP.so",
        "/usr/lib/x86_64-linux-gnu/perl/5.36.0/auto/Encode/Byte/Byte.so",
    ] {
        assert!(!kept(&res, path), "{path}");
    }
}

// ---- nginx ----------------------------------------------------------------------------

#[test]
fn nginx_keeps_its_configuration_and_makes_its_directories_writable() {
    let tree = debian()
        .file("/usr/sbin/nginx", 0o755, exe(&[]))
        .file(
            "/etc/nginx/nginx.conf",
            0o644,
            b"include mime.types;".to_vec(),
        )
        .file("/etc/nginx/mime.types", 0o644, b"types {}".to_vec())
        .file(
            "/etc/nginx/sites-available/default",
            0o644,
            b"server {}".to_vec(),
        )
        .symlink(
            "/etc/nginx/sites-enabled/default",
            "/etc/nginx/sites-available/default",
        )
        .file(
            "/usr/share/nginx/modules-available/mod-http-echo.conf",
            0o644,
            b"load_module modules/ngx_http_echo_module.so;".to_vec(),
        )
        .symlink(
            "/etc/nginx/modules-enabled/50-mod-http-echo.conf",
            "/usr/share/nginx/modules-available/mod-http-echo.conf",
        )
        .dir("/var/lib/nginx", 0o755)
        .file("/var/log/nginx/access.log", 0o640, b"old".to_vec())
        .dir("/run", 0o755)
        .symlink("/var/run", "/run")
        .file("/usr/share/nginx/html/index.html", 0o644, b"<h1>".to_vec());
    let res = run_with(
        &tree,
        &[
            ("/usr/sbin/nginx", &[Exec]),
            ("/etc/nginx/nginx.conf", &[Read]),
        ],
        &["nginx"],
    );
    assert_eq!(fired(&res), ["nginx"]);
    for path in [
        "/etc/nginx/mime.types",
        "/etc/nginx/sites-enabled/default",
        "/etc/nginx/sites-available/default",
        "/etc/nginx/modules-enabled/50-mod-http-echo.conf",
        "/usr/share/nginx/modules-available/mod-http-echo.conf",
        "/var/lib/nginx",
        "/var/log/nginx",
        "/run",
        "/var/run",
    ] {
        assert!(by(&res, path, "nginx"), "{path}");
    }
    let writable: Vec<&str> = res.writable_dirs.iter().map(String::as_str).collect();
    assert_eq!(writable, ["/run", "/var/lib/nginx", "/var/log/nginx"]);
    // directories alone: old logs and the default site stay out
    assert!(!kept(&res, "/var/log/nginx/access.log"));
    assert!(!kept(&res, "/usr/share/nginx/html/index.html"));

    // the official image: cache directory, logs linked to the container's output
    let official = debian()
        .file("/usr/sbin/nginx", 0o755, exe(&[]))
        .file("/etc/nginx/nginx.conf", 0o644, b"".to_vec())
        .file("/etc/nginx/conf.d/default.conf", 0o644, b"".to_vec())
        .dir("/var/cache/nginx", 0o755)
        .symlink("/var/log/nginx/access.log", "/dev/stdout")
        .dir("/run", 0o755)
        .symlink("/var/run", "/run");
    let res = run_with(&official, &[("/usr/sbin/nginx", &[Exec])], &["nginx"]);
    assert!(by(&res, "/etc/nginx/conf.d/default.conf", "nginx"));
    let writable: Vec<&str> = res.writable_dirs.iter().map(String::as_str).collect();
    assert_eq!(writable, ["/run", "/var/cache/nginx", "/var/log/nginx"]);
}
