//! SPDX 2.3 JSON: the slim image as the described package, which CONTAINS its packages and
//! its files and is a DESCENDANT_OF the source image.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use super::license::License;
use super::{SbomInput, image_purl, purl, stable_hex};

pub fn document(input: &SbomInput) -> Value {
    let image_ref = "SPDXRef-Image";
    let source_ref = "SPDXRef-SourceImage";
    let mut image = image_package(image_ref, &input.image);
    // The image's own files (those no package owns) are analyzed: SPDX then asks for
    // their list and a verification code over their SHA-1s.
    image["filesAnalyzed"] = json!(true);
    image["hasFiles"] = (0..input.files.len())
        .map(|i| format!("SPDXRef-File-{i}"))
        .collect();
    image["licenseInfoFromFiles"] = json!(["NOASSERTION"]);
    image["packageVerificationCode"] = json!({
        "packageVerificationCodeValue": verification_code(input.files.iter().map(|f| f.sha1.as_str())),
    });
    let mut packages = vec![image, image_package(source_ref, &input.source)];
    let mut relationships = vec![
        relationship("SPDXRef-DOCUMENT", "DESCRIBES", image_ref),
        relationship(image_ref, "DESCENDANT_OF", source_ref),
    ];
    let mut extracted = BTreeMap::new();
    for (i, package) in input.packages.iter().enumerate() {
        let id = format!("SPDXRef-Package-{i}-{}", id_part(&package.name));
        let license = package.license.as_deref().map(License::from_database);
        if let Some(License::Other { id, name }) = &license {
            extracted.insert(id.clone(), name.clone());
        }
        let declared = license
            .as_ref()
            .map_or("NOASSERTION", License::spdx_expression);
        packages.push(json!({
            "SPDXID": id,
            "name": package.name,
            "versionInfo": package.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": declared,
            "copyrightText": "NOASSERTION",
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": purl(package, input.distro.as_deref()),
            }],
        }));
        relationships.push(relationship(image_ref, "CONTAINS", &id));
    }
    let files: Vec<Value> = input
        .files
        .iter()
        .enumerate()
        .map(|(i, file)| {
            let id = format!("SPDXRef-File-{i}");
            relationships.push(relationship(image_ref, "CONTAINS", &id));
            json!({
                "SPDXID": id,
                "fileName": format!(".{}", file.path),
                "checksums": [
                    {"algorithm": "SHA1", "checksumValue": file.sha1},
                    {"algorithm": "SHA256", "checksumValue": file.sha256},
                ],
                "licenseConcluded": "NOASSERTION",
                "copyrightText": "NOASSERTION",
            })
        })
        .collect();
    // Every LicenseRef used must be defined in the document.
    let extracted: Vec<Value> = extracted
        .into_iter()
        .map(|(id, name)| {
            json!({
                "licenseId": id,
                "name": name,
                "extractedText": format!("The package database names this license \"{name}\"."),
            })
        })
        .collect();
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": input.image.reference,
        "documentNamespace": format!(
            "https://slim.invalid/spdx/{}",
            stable_hex(&input.image.id)
        ),
        "creationInfo": {
            "created": spdx_time(input.created),
            "creators": [format!("Tool: slim-{}", env!("CARGO_PKG_VERSION"))],
        },
        "packages": packages,
        "files": files,
        "relationships": relationships,
        "hasExtractedLicensingInfos": extracted,
    })
}

fn image_package(id: &str, image: &super::ImageName) -> Value {
    json!({
        "SPDXID": id,
        "name": image.reference,
        "versionInfo": image.digest.clone().unwrap_or_else(|| image.id.clone()),
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": "CONTAINER",
        "checksums": [{
            "algorithm": "SHA256",
            "checksumValue": image.id.trim_start_matches("sha256:"),
        }],
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "externalRefs": [{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": image_purl(image),
        }],
    })
}

fn relationship(from: &str, kind: &str, to: &str) -> Value {
    json!({"spdxElementId": from, "relationshipType": kind, "relatedSpdxElement": to})
}

/// SPDX identifiers allow letters, digits, `.` and `-`.
fn id_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// SPDX 2.3 §7.9: the SHA-1 of the files' sorted SHA-1s, concatenated.
fn verification_code<'a>(sha1s: impl Iterator<Item = &'a str>) -> String {
    let mut sorted: Vec<&str> = sha1s.collect();
    sorted.sort_unstable();
    hex::encode(Sha1::digest(sorted.concat().as_bytes()))
}

/// SPDX wants `YYYY-MM-DDThh:mm:ssZ`, without fractions of a second.
fn spdx_time(rfc3339: &str) -> String {
    match rfc3339.split_once('.') {
        Some((seconds, _)) => format!("{seconds}Z"),
        None => rfc3339.to_string(),
    }
}
