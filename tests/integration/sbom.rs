//! SBOMs of slimmed example apps, checked by the SPDX project's own validator
//! (`pyspdxtools` from spdx-tools) and the CycloneDX 1.5 JSON schema (cyclonedx-python-lib),
//! both installed by tests/run.sh into $SLIM_TEST_VENV.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::support::*;

fn venv_tool(name: &str) -> PathBuf {
    let venv = std::env::var("SLIM_TEST_VENV").unwrap_or_else(|_| "/opt/slim-test-venv".into());
    let tool = Path::new(&venv).join("bin").join(name);
    assert!(
        tool.exists(),
        "{} is missing: run the tests through tests/run.sh, which installs spdx-tools and cyclonedx-python-lib",
        tool.display()
    );
    tool
}

fn assert_valid_spdx(path: &Path) {
    let output = Command::new(venv_tool("pyspdxtools"))
        .arg("-i")
        .arg(path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "pyspdxtools rejected {}: {}{}",
        path.display(),
        text(&output.stdout),
        text(&output.stderr)
    );
}

fn assert_valid_cyclonedx(path: &Path) {
    let script = "import sys\n\
from cyclonedx.schema import SchemaVersion\n\
from cyclonedx.validation.json import JsonStrictValidator\n\
error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(open(sys.argv[1]).read())\n\
if error is not None:\n    sys.exit(f'invalid: {error}')\n";
    let output = Command::new(venv_tool("python"))
        .args(["-c", script])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the CycloneDX 1.5 schema rejected {}: {}",
        path.display(),
        text(&output.stderr)
    );
}

/// Slim an example with an SBOM in `format`; returns the parsed SBOM and the report.
fn sbom_of(example: &str, format: &str, probes: &[&str]) -> (serde_json::Value, serde_json::Value) {
    let source = format!("slim-test/example-{example}:1");
    build_example(example, &source, DEBIAN);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{example}.{format}.json"));
    let tag = format!("slim-test/sbom-{example}:{format}");
    let mut args = vec![
        source.as_str(),
        "--tag",
        &tag,
        "--force",
        "--sbom",
        path.to_str().unwrap(),
        "--sbom-format",
        format,
    ];
    for probe in probes {
        args.extend(["--http-probe-cmd", probe]);
    }
    let (output, report, _report_dir) = slim_build(&args);
    assert_exit(&output, 0);
    let report = report.expect("report written");
    assert_eq!(report["sbom"], path.to_str().unwrap());
    match format {
        "spdx" => assert_valid_spdx(&path),
        _ => assert_valid_cyclonedx(&path),
    }
    let sbom = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    (sbom, report)
}

fn sha256_hex(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

fn spdx_package<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no package {name} in the SBOM"))
}

#[test]
fn spdx_sboms_of_three_examples_validate() {
    for (example, probes, app_file, packages) in [
        (
            "python-api",
            &["/items"][..],
            "server.py",
            &["libc6", "libpython3.11-minimal", "tzdata"][..],
        ),
        (
            "nginx-static",
            &["/style.css"][..],
            "site/index.html",
            &["libc6", "nginx"][..],
        ),
        (
            "node-http",
            &["/quote?n=1"][..],
            "server.js",
            &["libc6", "nodejs"][..],
        ),
    ] {
        let (doc, report) = sbom_of(example, "spdx", probes);
        // the app's own file, with the checksum of the file the example ships
        let local = repo_root().join("examples").join(example).join(app_file);
        let file = doc["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["fileName"].as_str().unwrap().ends_with(app_file))
            .unwrap_or_else(|| panic!("{example}: {app_file} not among the SBOM's files"));
        let sha256 = file["checksums"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["algorithm"] == "SHA256")
            .unwrap();
        assert_eq!(sha256["checksumValue"], sha256_hex(&local), "{example}");
        // the packages it still runs on, with their package URLs and versions
        for name in packages {
            let package = spdx_package(&doc, name);
            let purl = package["externalRefs"][0]["referenceLocator"]
                .as_str()
                .unwrap();
            assert!(
                purl.starts_with(&format!("pkg:deb/debian/{name}@")),
                "{example}: {purl}"
            );
            assert!(!package["versionInfo"].as_str().unwrap().is_empty());
        }
        // and nothing the slim image dropped: no package manager
        assert!(
            !doc["packages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "apt"),
            "{example}: apt is gone from the slim image but listed"
        );
        // the source image, by ID, is the ancestor
        let source = spdx_package(&doc, &format!("slim-test/example-{example}:1"));
        assert_eq!(source["versionInfo"], report["source"]["id"], "{example}");
        let image = spdx_package(&doc, &format!("slim-test/sbom-{example}:spdx"));
        assert_eq!(image["versionInfo"], report["output"]["id"], "{example}");
    }
}

#[test]
fn cyclonedx_sboms_of_three_examples_validate() {
    for (example, probes, package) in [
        ("python-api", &["/items"][..], "libpython3.11-minimal"),
        ("nginx-static", &["/style.css"][..], "nginx"),
        ("node-http", &["/quote?n=1"][..], "nodejs"),
    ] {
        let (bom, report) = sbom_of(example, "cyclonedx", probes);
        let components = bom["components"].as_array().unwrap();
        assert!(
            components.iter().any(|c| c["name"] == package
                && c["purl"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("pkg:deb/debian/{package}@"))),
            "{example}: {package} missing"
        );
        assert!(
            components
                .iter()
                .any(|c| c["type"] == "file" && c["hashes"][1]["alg"] == "SHA-256"),
            "{example}: no files"
        );
        let subject = &bom["metadata"]["component"];
        assert_eq!(subject["version"], report["output"]["id"]);
        assert_eq!(
            subject["pedigree"]["ancestors"][0]["version"],
            report["source"]["id"]
        );
    }
}
