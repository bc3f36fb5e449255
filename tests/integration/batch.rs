//! Several images in one `slim build`: the images equal one-by-one builds (same IDs), the
//! summary and the batch report name every run, and the exit code is the worst run's.

use crate::support::*;

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("report written")).unwrap()
}

#[test]
fn images_on_the_command_line_build_like_one_by_one_and_a_failure_sets_the_exit_code() {
    echo_app("slim-test/batch-one:1", "one");
    echo_app("slim-test/batch-two:1", "two");
    // one by one first, to know the IDs a batch must give
    let mut single_ids = Vec::new();
    for source in ["slim-test/batch-one:1", "slim-test/batch-two:1"] {
        let (output, report, _dir) = slim_build(&[source]);
        assert_exit(&output, 0);
        let report = report.unwrap();
        single_ids.push(report["output"]["id"].as_str().unwrap().to_string());
        remove_image(report["output"]["reference"].as_str().unwrap());
    }

    // nothing listens on port 1: that image cannot be pulled
    let missing = "127.0.0.1:1/slim-test/batch-missing:1";
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("batch.json");
    let output = slim(&[
        "build",
        "slim-test/batch-one:1",
        "slim-test/batch-two:1",
        missing,
        "--jobs",
        "2",
        "--report",
        report_path.to_str().unwrap(),
    ]);
    assert_exit(&output, 1);
    let table = text(&output.stdout);
    for line in [
        "slim-test/batch-one.slim:1",
        "slim-test/batch-two.slim:1",
        "failed",
    ] {
        assert!(
            table.contains(line),
            "{line} missing from the summary:\n{table}"
        );
    }
    assert!(
        text(&output.stderr).contains(&format!("error: {missing}: ")),
        "{}",
        text(&output.stderr)
    );

    let report = read_json(&report_path);
    assert_eq!(report["exit_code"], 1);
    assert_eq!(report["jobs"], 2);
    let runs = report["runs"].as_array().unwrap();
    let outcomes: Vec<&str> = runs
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["built", "built", "failed"]);
    for (run, single) in runs.iter().zip(&single_ids) {
        assert_eq!(run["verify"], "passed");
        assert_eq!(
            &run["report"]["output"]["id"],
            single.as_str(),
            "{}",
            run["image"]
        );
        assert_eq!(
            image_id(run["output"].as_str().unwrap()).as_deref(),
            Some(single.as_str())
        );
    }
    assert!(
        runs[2]["error"]
            .as_str()
            .unwrap()
            .contains("pulling it failed"),
        "{}",
        runs[2]
    );
    assert!(leftover_containers("slim-test/batch-one:1").is_empty());
    assert!(leftover_containers("slim-test/batch-two:1").is_empty());
}

#[test]
fn a_batch_file_gives_each_example_its_own_probes_and_tag() {
    let (nginx, python) = ("slim-test/batch-nginx:1", "slim-test/batch-python:1");
    // Images of their own (a label apart from the examples): a registry digest another test
    // gives the shared example image would change the slim image's base label, and its ID.
    for (example, source) in [("nginx-static", nginx), ("python-script", python)] {
        let base = format!("slim-test/batch-{example}-base:1");
        build_example(example, &base, DEBIAN);
        build_dockerfile(
            source,
            &format!("FROM {base}\nLABEL dev.slim.test=batch\n"),
            &[],
        );
    }
    let (output, single_nginx, _d1) = slim_build(&[
        nginx,
        "--force",
        "--tag",
        "slim-test/single-nginx.slim:1",
        "--http-probe-cmd",
        "/style.css",
    ]);
    assert_exit(&output, 0);
    let (output, single_python, _d2) =
        slim_build(&[python, "--force", "--tag", "slim-test/single-python.slim:1"]);
    assert_exit(&output, 0);

    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("images.toml");
    std::fs::write(
        &batch,
        format!(
            r#"
jobs = 2

[defaults]
verify = true
force = true

[[image]]
image = "{nginx}"
tag = "slim-test/batch-nginx.slim:1"
http-probe-cmd = ["/style.css"]

[[image]]
image = "{python}"
tag = "slim-test/batch-python.slim:1"
"#
        ),
    )
    .unwrap();
    let report_path = dir.path().join("batch.json");
    let output = slim(&[
        "build",
        "--batch",
        batch.to_str().unwrap(),
        "--report",
        report_path.to_str().unwrap(),
    ]);
    assert_exit(&output, 0);
    let report = read_json(&report_path);
    assert_eq!(report["exit_code"], 0);
    let runs = report["runs"].as_array().unwrap();
    let checks = runs[0]["report"]["verification"]["checks"]
        .as_array()
        .unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c["name"].as_str().unwrap().contains("/style.css")),
        "the nginx probe ran: {checks:?}"
    );
    for (run, single) in runs
        .iter()
        .zip([single_nginx.unwrap(), single_python.unwrap()])
    {
        assert_eq!(run["outcome"], "built");
        assert_eq!(
            run["report"]["output"]["id"], single["output"]["id"],
            "{}",
            run["image"]
        );
    }

    // a flag slim does not know is found before anything runs: exit 2
    std::fs::write(
        &batch,
        format!("[[image]]\nimage = \"{python}\"\nprobe-everything = true\n"),
    )
    .unwrap();
    let output = slim(&["build", "--batch", batch.to_str().unwrap()]);
    assert_exit(&output, 2);
    assert!(
        text(&output.stderr).contains("--probe-everything"),
        "{}",
        text(&output.stderr)
    );
}
