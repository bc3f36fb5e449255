//! The profile engine with small hand-written profiles: captures, rounds, exclusion,
//! writable paths, ancestor files, twins.

use super::super::*;
use crate::resolve::elf_fixture::ElfSpec;
use crate::resolve::memtree::MemTree;
use crate::sensor::report::Access::{self, Exec, List, Read};

fn profile(toml: &str) -> Profile {
    Profile::from_toml(toml).unwrap()
}

fn request(traced: &[(&str, &[Access])], profiles: Vec<Profile>) -> ResolveRequest {
    ResolveRequest {
        traced: traced
            .iter()
            .map(|(p, a)| (p.to_string(), a.iter().copied().collect()))
            .collect(),
        exclude: vec!["/proc".into(), "/dev".into()],
        profiles,
        ..ResolveRequest::default()
    }
}

fn via(res: &Resolution, path: &str) -> Option<String> {
    res.keep.paths.get(path).and_then(|k| k.via.clone())
}

#[test]
fn captures_bind_keep_and_writable_for_every_match() {
    let tree = MemTree::new()
        .file("/opt/a/bin/app", 0o755, ElfSpec::static64().build())
        .file("/opt/a/share/data.bin", 0o644, b"a".to_vec())
        .file("/opt/a/share/more/x", 0o644, b"a".to_vec())
        .dir("/opt/a/var", 0o755)
        .file("/srv/b/bin/app", 0o755, ElfSpec::static64().build())
        .file("/srv/b/share/data.bin", 0o644, b"b".to_vec())
        .file("/opt/c/share/data.bin", 0o644, b"c".to_vec());
    let app = profile(
        r#"
        name = "app"
        about = "test"
        when = ["{home}/bin/app"]
        keep = ["{home}/share/**"]
        writable = ["{home}/var", "{home}/missing"]
        "#,
    );
    let req = request(
        &[("/opt/a/bin/app", &[Exec]), ("/srv/b/bin/app", &[Exec])],
        vec![app],
    );
    // the request crosses into the container as JSON
    let req: ResolveRequest = serde_json::from_str(&serde_json::to_string(&req).unwrap()).unwrap();
    let res = resolve(&tree, &req).unwrap();
    assert_eq!(
        via(&res, "/opt/a/share/more/x").as_deref(),
        Some("profile:app")
    );
    assert_eq!(
        via(&res, "/srv/b/share/data.bin").as_deref(),
        Some("profile:app")
    );
    assert!(!res.keep.contains("/opt/c/share/data.bin"));
    assert_eq!(res.keep.paths["/opt/a/var"].reason, Reason::Profile);
    let writable: Vec<&str> = res.writable_dirs.iter().map(String::as_str).collect();
    assert_eq!(writable, ["/opt/a/var"]);
    assert_eq!(res.profiles_fired.len(), 1);
    assert_eq!(res.profiles_fired[0].trigger, "/opt/a/bin/app");
    // share, data.bin, more, more/x, var for /opt/a; share, data.bin for /srv/b
    assert_eq!(res.profiles_fired[0].kept, 7);
}

#[test]
fn a_profile_that_applies_later_looks_at_earlier_paths_and_counts_its_closure() {
    let tree = MemTree::new()
        .file(
            "/usr/lib/libplugin.so",
            0o644,
            ElfSpec::lib64().needed("libfoo.so.1").build(),
        )
        .file("/usr/lib/libfoo.so.1", 0o644, ElfSpec::lib64().build())
        .file("/opt/app/run", 0o755, ElfSpec::static64().build())
        .file("/opt/data/one", 0o644, b"1".to_vec())
        .file("/opt/data/two", 0o644, b"2".to_vec());
    let first = profile(
        "name = \"first\"\nabout = \"t\"\nwhen = [\"/opt/app/run\"]\nkeep = [\"/usr/lib/libplugin.so\"]\n",
    );
    let second = profile(
        "name = \"second\"\nabout = \"t\"\nwhen = [\"**/libfoo.so*\"]\nwhole_dir = [\"/opt/data\"]\n",
    );
    // the second profile comes first: it can only apply in the next round
    let req = request(
        &[("/opt/app/run", &[Exec]), ("/opt/data/one", &[Read])],
        vec![second, first],
    );
    let res = resolve(&tree, &req).unwrap();
    let names: Vec<&str> = res.profiles_fired.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["first", "second"]);
    // libplugin.so and, through its closure, libfoo
    assert_eq!(res.profiles_fired[0].kept, 2);
    assert_eq!(
        res.keep.paths["/usr/lib/libfoo.so.1"].reason,
        Reason::ElfNeeded
    );
    // /opt/data/one was kept in the first round
    assert_eq!(
        via(&res, "/opt/data/two").as_deref(),
        Some("profile:second")
    );
    assert_eq!(res.profiles_fired[1].trigger, "/usr/lib/libfoo.so.1");
}

#[test]
fn whole_dir_needs_something_inside_not_the_directory_itself() {
    let tree = MemTree::new()
        .file("/app/run", 0o755, ElfSpec::static64().build())
        .file("/app/plugins/a.so", 0o644, b"a".to_vec())
        .file("/app/plugins/b.so", 0o644, b"b".to_vec());
    let plugins = profile(
        "name = \"plugins\"\nabout = \"t\"\nwhen = [\"/app/run\"]\nwhole_dir = [\"/app/plugins\"]\n",
    );
    let res = resolve(
        &tree,
        &request(
            &[("/app/run", &[Exec]), ("/app/plugins", &[List])],
            vec![plugins.clone()],
        ),
    )
    .unwrap();
    assert!(!res.keep.contains("/app/plugins/a.so"));
    let res = resolve(
        &tree,
        &request(
            &[("/app/run", &[Exec]), ("/app/plugins/a.so", &[Read])],
            vec![plugins],
        ),
    )
    .unwrap();
    assert_eq!(
        via(&res, "/app/plugins/b.so").as_deref(),
        Some("profile:plugins")
    );
}

#[test]
fn excluded_prefixes_and_patterns_bind_profiles_too() {
    let tree = MemTree::new()
        .file("/app/run", 0o755, ElfSpec::static64().build())
        .file("/app/share/public.txt", 0o644, b"p".to_vec())
        .file("/app/share/secret/key", 0o600, b"k".to_vec())
        .file("/app/share/docs/manual.pdf", 0o644, b"m".to_vec())
        .symlink("/app/share/mounts", "/proc/self/mounts")
        .dir("/proc/self", 0o555);
    let app = profile(
        "name = \"app\"\nabout = \"t\"\nwhen = [\"/app/run\"]\nkeep = [\"/app/share/**\", \"/app/share/secret/key\"]\n",
    );
    let mut req = request(&[("/app/run", &[Exec])], vec![app]);
    req.exclude.push("/app/share/secret".into());
    req.exclude_patterns = vec!["**/*.pdf".into()];
    let res = resolve(&tree, &req).unwrap();
    assert!(res.keep.contains("/app/share/public.txt"));
    assert!(!res.keep.contains("/app/share/secret"));
    assert!(!res.keep.contains("/app/share/secret/key"));
    assert!(!res.keep.contains("/app/share/docs/manual.pdf"));
    assert!(res.excluded.contains("/app/share/docs/manual.pdf"));
    // a link into an excluded prefix is kept, its target never
    assert!(res.keep.contains("/app/share/mounts"));
    assert!(!res.keep.paths.keys().any(|p| p.starts_with("/proc")));
}

#[test]
fn ancestor_files_and_twins_use_the_file_path() {
    let tree = MemTree::new()
        .file("/app/run", 0o755, ElfSpec::static64().build())
        .file("/app/package.json", 0o644, b"{}".to_vec())
        .file("/app/lib/package.json", 0o644, b"{}".to_vec())
        .file("/app/lib/deep/mod.js", 0o644, b"".to_vec())
        .file("/app/lib/deep/mod.js.map", 0o644, b"".to_vec())
        .file("/app/lib/other.js", 0o644, b"".to_vec())
        .file("/app/lib/other.js.map", 0o644, b"".to_vec())
        .file("/app/lib/deep/README", 0o644, b"".to_vec());
    let js = profile(
        r#"
        name = "js"
        about = "t"
        when = ["/app/run"]
        ancestor_files = [{ of = "**/*.js", names = ["package.json", "README"] }]
        twins = [{ of = "/app/lib/**/*.js", keep = ["{dir}/{name}.map"] }]
        "#,
    );
    let res = resolve(
        &tree,
        &request(
            &[("/app/run", &[Exec]), ("/app/lib/deep/mod.js", &[Read])],
            vec![js],
        ),
    )
    .unwrap();
    for path in [
        "/app/lib/deep/README",
        "/app/lib/package.json",
        "/app/package.json",
        "/app/lib/deep/mod.js.map",
    ] {
        assert_eq!(via(&res, path).as_deref(), Some("profile:js"), "{path}");
    }
    assert!(!res.keep.contains("/app/lib/other.js"));
    assert!(!res.keep.contains("/app/lib/other.js.map"));
}
