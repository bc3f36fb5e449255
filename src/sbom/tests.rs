//! SBOM contents on fixtures; the output is validated with the SPDX and CycloneDX projects'
//! own tools in the integration tests.

use serde_json::json;

use super::*;

fn libc() -> InstalledPackage {
    InstalledPackage {
        name: "libc6".into(),
        version: "2.36-9+deb12u4".into(),
        architecture: "amd64".into(),
        source: Some("glibc".into()),
        license: None,
        format: PackageDbFormat::Dpkg,
        files: vec!["/usr/lib/x86_64-linux-gnu/libc.so.6".into()],
    }
}

fn layer() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in [
        ("app/main.py", &b"print('hi')\n"[..]),
        ("usr/lib/x86_64-linux-gnu/libc.so.6", &b"\x7fELF"[..]),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, path, data).unwrap();
    }
    builder.into_inner().unwrap()
}

fn input<'a>(packages: &'a [InstalledPackage], files: &'a [FileSums]) -> SbomInput<'a> {
    SbomInput {
        image: ImageName {
            reference: "registry.example:5000/app.slim:1".into(),
            id: "sha256:aaaa".into(),
            digest: None,
        },
        source: ImageName {
            reference: "app:1".into(),
            id: "sha256:bbbb".into(),
            digest: Some("sha256:cccc".into()),
        },
        created: "2024-06-01T12:00:00Z",
        packages,
        files,
        distro: Some("debian".into()),
    }
}

#[test]
fn package_urls_follow_the_purl_spec() {
    assert_eq!(
        purl(&libc(), Some("debian")),
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&upstream=glibc"
    );
    let image = ImageName {
        reference: "registry.example:5000/app.slim:1".into(),
        id: "sha256:aaaa".into(),
        digest: None,
    };
    assert_eq!(
        image_purl(&image),
        "pkg:docker/app.slim@sha256%3Aaaaa?repository_url=registry.example%3A5000"
    );
    let hub = ImageName {
        reference: "library/Python:3".into(),
        id: "sha256:bbbb".into(),
        digest: Some("sha256:cccc".into()),
    };
    assert_eq!(image_purl(&hub), "pkg:docker/library/python@sha256%3Acccc");
}

#[test]
fn files_no_package_owns_are_listed_with_their_checksums() {
    let files = unowned_files(layer().as_slice(), &[libc()]).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, "/app/main.py");
    assert_eq!(files[0].sha256.len(), 64);
    assert_eq!(files[0].sha1.len(), 40);
}

#[test]
fn spdx_describes_the_image_its_packages_files_and_ancestor() {
    let packages = [libc()];
    let files = unowned_files(layer().as_slice(), &packages).unwrap();
    let doc = spdx::document(&input(&packages, &files));
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    let relationships = doc["relationships"].as_array().unwrap();
    let has = |kind: &str, to: &str| {
        relationships
            .iter()
            .any(|r| r["relationshipType"] == kind && r["relatedSpdxElement"] == to)
    };
    assert!(has("DESCRIBES", "SPDXRef-Image"));
    assert!(has("DESCENDANT_OF", "SPDXRef-SourceImage"));
    assert!(has("CONTAINS", "SPDXRef-Package-0-libc6"));
    assert!(has("CONTAINS", "SPDXRef-File-0"));
    assert_eq!(doc["files"][0]["fileName"], "./app/main.py");
    // the image's own files are analyzed, with SPDX's verification code over their SHA-1s
    let image = &doc["packages"][0];
    assert_eq!(image["filesAnalyzed"], true);
    assert_eq!(image["hasFiles"], json!(["SPDXRef-File-0"]));
    let code = hex::encode(<Sha1 as Digest>::digest(files[0].sha1.as_bytes()));
    assert_eq!(
        image["packageVerificationCode"]["packageVerificationCodeValue"],
        code
    );
    assert_eq!(doc["creationInfo"]["created"], "2024-06-01T12:00:00Z");
    // the same image gives the same document
    assert_eq!(doc, spdx::document(&input(&packages, &files)));
}

#[test]
fn cyclonedx_has_the_source_as_ancestor_and_a_uuid_serial() {
    let packages = [libc()];
    let files = unowned_files(layer().as_slice(), &packages).unwrap();
    let doc = cyclonedx::document(&input(&packages, &files));
    assert_eq!(doc["specVersion"], "1.5");
    let serial = doc["serialNumber"].as_str().unwrap();
    let uuid = serial.strip_prefix("urn:uuid:").unwrap();
    let parts: Vec<&str> = uuid.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
    );
    assert!(parts[2].starts_with('4') && parts[3].starts_with('8'));
    assert_eq!(
        doc["metadata"]["component"]["pedigree"]["ancestors"][0]["version"],
        "sha256:cccc"
    );
    let kinds: Vec<&str> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["library", "file"]);
}

#[test]
fn spdx_defines_every_license_ref_it_uses() {
    let mut licensed = libc();
    licensed.license = Some("GPL-2+".into());
    let mut other = libc();
    other.name = "tzdata".into();
    other.license = Some("public-domain".into());
    let packages = [licensed, other];
    let mut input = input(&packages, &[]);
    input.created = "2024-06-01T12:00:00.123456Z";
    let doc = spdx::document(&input);
    assert_eq!(doc["packages"][2]["licenseDeclared"], "GPL-2.0-or-later");
    assert_eq!(
        doc["packages"][3]["licenseDeclared"],
        "LicenseRef-public-domain"
    );
    assert_eq!(
        doc["hasExtractedLicensingInfos"][0]["licenseId"],
        "LicenseRef-public-domain"
    );
    // SPDX times have no fractions of a second
    assert_eq!(doc["creationInfo"]["created"], "2024-06-01T12:00:00Z");
    let cdx = cyclonedx::document(&input);
    assert_eq!(
        cdx["components"][0]["licenses"][0]["license"]["id"],
        "GPL-2.0-or-later"
    );
    assert_eq!(
        cdx["components"][1]["licenses"][0]["license"]["name"],
        "public-domain"
    );
}
