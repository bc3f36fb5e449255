//! A software bill of materials of the slim image: the packages still present (from the
//! package database, trimmed to the packages that own kept files: name, version, PURL, and
//! license where the database has one), and every file no package owns with its checksums;
//! the source image, pinned by digest, as the image's ancestor. As SPDX 2.3 JSON
//! ([`spdx`]) or CycloneDX 1.5 JSON ([`cyclonedx`]).

pub mod cyclonedx;
pub mod license;
pub mod spdx;

use std::collections::BTreeSet;
use std::io::Read;

use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::resolve::packagedb::{InstalledPackage, PackageDbFormat};

/// Which SBOM format to write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SbomFormat {
    /// SPDX 2.3 JSON
    #[default]
    Spdx,
    /// CycloneDX 1.5 JSON
    Cyclonedx,
}

/// An image as the SBOM names it.
#[derive(Debug, Clone, Default)]
pub struct ImageName {
    /// `name:tag` as the user knows it
    pub reference: String,
    /// `sha256:…` of the config
    pub id: String,
    /// the registry manifest digest, where there is one
    pub digest: Option<String>,
}

/// A file of the slim image that no package installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSums {
    pub path: String,
    pub sha256: String,
    pub sha1: String,
}

/// Everything an SBOM says.
pub struct SbomInput<'a> {
    pub image: ImageName,
    pub source: ImageName,
    /// RFC 3339, the slim image's creation time (so the same build gives the same SBOM)
    pub created: &'a str,
    pub packages: &'a [InstalledPackage],
    pub files: &'a [FileSums],
    /// `debian`, `alpine`, ... for package URLs (from /etc/os-release's ID)
    pub distro: Option<String>,
}

/// Render the SBOM as pretty JSON.
pub fn render(format: SbomFormat, input: &SbomInput) -> String {
    let value = match format {
        SbomFormat::Spdx => spdx::document(input),
        SbomFormat::Cyclonedx => cyclonedx::document(input),
    };
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}

/// The package URL of a package (`pkg:deb/debian/libc6@2.36-9?arch=amd64`).
pub fn purl(package: &InstalledPackage, distro: Option<&str>) -> String {
    let (kind, namespace) = match package.format {
        PackageDbFormat::Dpkg => ("deb", distro.unwrap_or("debian")),
        PackageDbFormat::Apk => ("apk", distro.unwrap_or("alpine")),
    };
    let mut purl = format!(
        "pkg:{kind}/{namespace}/{}@{}",
        encode(&package.name),
        encode(&package.version)
    );
    let mut qualifiers = Vec::new();
    if !package.architecture.is_empty() {
        qualifiers.push(format!("arch={}", encode(&package.architecture)));
    }
    if let Some(source) = package.source.as_ref().filter(|s| **s != package.name) {
        qualifiers.push(format!("upstream={}", encode(source)));
    }
    if !qualifiers.is_empty() {
        purl.push('?');
        purl.push_str(&qualifiers.join("&"));
    }
    purl
}

/// Percent-encoding of a PURL component (anything but unreserved characters).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `pkg:docker/name@sha256:…` for an image; a registry other than Docker Hub goes in the
/// `repository_url` qualifier, as the PURL spec's docker type asks.
pub fn image_purl(image: &ImageName) -> String {
    let name = image
        .reference
        .rsplit_once(':')
        .filter(|(_, tag)| !tag.contains('/'))
        .map_or(image.reference.as_str(), |(name, _)| name);
    let (registry, name) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (Some(first), rest)
        }
        _ => (None, name),
    };
    let version = image.digest.as_deref().unwrap_or(&image.id);
    let mut purl = format!(
        "pkg:docker/{}@{}",
        encode_path(&name.to_lowercase()),
        encode(version)
    );
    if let Some(registry) = registry {
        purl.push_str(&format!("?repository_url={}", encode(registry)));
    }
    purl
}

fn encode_path(name: &str) -> String {
    name.split('/').map(encode).collect::<Vec<_>>().join("/")
}

/// The checksums of every regular file in a layer tar that no package owns.
pub fn unowned_files(
    layer: impl Read,
    packages: &[InstalledPackage],
) -> std::io::Result<Vec<FileSums>> {
    let owned: BTreeSet<&str> = packages
        .iter()
        .flat_map(|p| p.files.iter().map(String::as_str))
        .collect();
    let mut archive = tar::Archive::new(layer);
    let mut files = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let path = format!(
            "/{}",
            entry.path()?.to_string_lossy().trim_start_matches("./")
        );
        if owned.contains(path.as_str()) {
            continue;
        }
        let (mut sha256, mut sha1) = (Sha256::new(), Sha1::new());
        let mut buffer = [0u8; 64 * 1024];
        loop {
            let n = entry.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            sha256.update(&buffer[..n]);
            sha1.update(&buffer[..n]);
        }
        files.push(FileSums {
            path,
            sha256: hex::encode(sha256.finalize()),
            sha1: hex::encode(sha1.finalize()),
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// A deterministic identifier made from the image ID (SBOMs of one image are one document).
fn stable_hex(seed: &str) -> String {
    hex::encode(Sha256::digest(seed.as_bytes()))
}

#[cfg(test)]
mod tests;
