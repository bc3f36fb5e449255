//! CycloneDX 1.5 JSON: the slim image as the BOM's subject, with the source image as its
//! pedigree ancestor, the packages as library components and the files no package owns as
//! file components.

use serde_json::{Value, json};

use super::license::License;
use super::{SbomInput, image_purl, purl, stable_hex};

pub fn document(input: &SbomInput) -> Value {
    let mut components: Vec<Value> = input
        .packages
        .iter()
        .map(|package| {
            let purl = purl(package, input.distro.as_deref());
            let mut component = json!({
                "type": "library",
                "bom-ref": purl,
                "name": package.name,
                "version": package.version,
                "purl": purl,
            });
            if let Some(license) = &package.license {
                component["licenses"] = licenses(&License::from_database(license));
            }
            component
        })
        .collect();
    components.extend(input.files.iter().map(|file| {
        json!({
            "type": "file",
            "bom-ref": format!("file:{}", file.path),
            "name": file.path,
            "hashes": [
                {"alg": "SHA-1", "content": file.sha1},
                {"alg": "SHA-256", "content": file.sha256},
            ],
        })
    }));
    let mut subject = image_component("slim-image", &input.image);
    subject["pedigree"] = json!({"ancestors": [image_component("source-image", &input.source)]});
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": serial_number(&input.image.id),
        "version": 1,
        "metadata": {
            "timestamp": input.created,
            "tools": {"components": [{
                "type": "application",
                "name": "slim",
                "version": env!("CARGO_PKG_VERSION"),
            }]},
            "component": subject,
        },
        "components": components,
    })
}

fn image_component(bom_ref: &str, image: &super::ImageName) -> Value {
    json!({
        "type": "container",
        "bom-ref": bom_ref,
        "name": image.reference,
        "version": image.digest.clone().unwrap_or_else(|| image.id.clone()),
        "purl": image_purl(image),
        "hashes": [{"alg": "SHA-256", "content": image.id.trim_start_matches("sha256:")}],
    })
}

/// `urn:uuid:` made from the image ID, shaped as a version 4 UUID.
fn serial_number(image_id: &str) -> String {
    let hex = stable_hex(image_id);
    format!(
        "urn:uuid:{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// A license identifier where SPDX has one, an expression for combinations, else the
/// database's name.
fn licenses(license: &License) -> Value {
    match license {
        License::Expression(id) if spdx::license_id(id).is_some_and(|l| l.name == id) => {
            json!([{"license": {"id": id}}])
        }
        License::Expression(expression) => json!([{"expression": expression}]),
        License::Other { name, .. } => json!([{"license": {"name": name}}]),
    }
}
