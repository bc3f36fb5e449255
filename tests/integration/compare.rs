//! `slim compare` and `slim images` against the engine.

use crate::support::*;

#[test]
fn compare_reports_dives_efficiency_for_a_wasted_layer() {
    fixtures();
    let big = vec![7u8; 200_000];
    build_dockerfile(
        "slim-test/wasted-layer:1",
        &format!("FROM {BUSYBOX}\nCOPY big.bin /big.bin\nRUN rm /big.bin\nCMD [\"/bin/true\"]\n"),
        &[("big.bin", &big, 0o644)],
    );
    // The only regular file left is busybox itself; the 200 kB file was added, then deleted.
    let (_, busybox_size, _) = run_to_exit(
        BUSYBOX,
        None,
        Some(vec!["/bin/wc".into(), "-c".into(), "/bin/busybox".into()]),
    );
    let busybox: f64 = busybox_size
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let expected = busybox / (busybox + 200_000.0);

    let output = slim(&["compare", "slim-test/wasted-layer:1", BUSYBOX, "--json"]);
    assert_exit(&output, 0);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let efficiency = json["left"]["efficiency"].as_f64().unwrap();
    assert!(
        (efficiency - expected).abs() < 1e-9,
        "efficiency {efficiency}, expected {expected}"
    );
    assert_eq!(json["left"]["wasted_bytes"], 200_000);
    assert_eq!(json["right"]["efficiency"], 1.0);
    assert_eq!(json["left"]["layers"], 3);
    assert_eq!(json["left"]["shell"], "/bin/sh");

    // the table says the same
    let output = slim(&["compare", "slim-test/wasted-layer:1", BUSYBOX]);
    assert_exit(&output, 0);
    let table = text(&output.stdout);
    assert!(
        table.contains(&format!("{:.1}% (200.0 KB wasted)", expected * 100.0)),
        "{table}"
    );
}

#[test]
fn build_ends_with_the_comparison_and_images_lists_the_result() {
    let source = "slim-test/compare-build:1";
    build_example("shell-pipeline", source, DEBIAN);
    let (output, report, _dir) = slim_build(&[source]);
    assert_exit(&output, 0);
    let comparison = &report.unwrap()["comparison"];
    assert_eq!(comparison["left"]["shell"], "/usr/bin/sh");
    assert!(
        comparison["left"]["package_managers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "dpkg")
    );
    assert!(!comparison["left"]["setuid"].as_array().unwrap().is_empty());
    assert!(
        comparison["right"]["package_managers"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(comparison["right"]["setuid"].as_array().unwrap().is_empty());
    assert_eq!(comparison["right"]["efficiency"], 1.0);
    let table = text(&output.stdout);
    for row in ["layers", "shell", "setuid", "pkg mgr", "efficiency"] {
        assert!(table.contains(row), "{row} missing:\n{table}");
    }

    let output = slim(&["images", "--json"]);
    assert_exit(&output, 0);
    let images: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let entry = images
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["image"] == "slim-test/compare-build.slim:1")
        .expect("listed");
    assert_eq!(entry["source"], source);
    assert!(entry["source_size"].as_u64().unwrap() > entry["size"].as_u64().unwrap() * 10);
}
