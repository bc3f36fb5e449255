//! The `docker save` archive format (manifest.json, config, layer), which every Docker and
//! Podman engine can load.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use serde_json::json;

use crate::digest::sha256_hex;

/// Write a single-layer image as a docker-archive tar at `out`; returns the image ID
/// (`sha256:` of the config).
pub fn write_docker_archive(
    out: &Path,
    config: &[u8],
    layer: &Path,
    diff_id: &str,
    repo_tag: Option<&str>,
) -> std::io::Result<String> {
    let config_hex = sha256_hex(config);
    let layer_hex = diff_id.trim_start_matches("sha256:");
    let manifest = json!([{
        "Config": format!("{config_hex}.json"),
        "RepoTags": repo_tag.map(|t| vec![t.to_string()]).unwrap_or_default(),
        "Layers": [format!("{layer_hex}/layer.tar")],
    }]);
    let manifest = serde_json::to_vec(&manifest)?;
    let mut builder = tar::Builder::new(BufWriter::new(File::create(out)?));
    let mut append_bytes = |name: &str, data: &[u8]| {
        let mut header = regular_header(data.len() as u64);
        builder.append_data(&mut header, name, data)
    };
    append_bytes(&format!("{config_hex}.json"), config)?;
    append_bytes("manifest.json", &manifest)?;
    let layer_file = File::open(layer)?;
    let mut header = regular_header(layer_file.metadata()?.len());
    builder.append_data(&mut header, format!("{layer_hex}/layer.tar"), layer_file)?;
    builder
        .into_inner()?
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()?;
    Ok(format!("sha256:{config_hex}"))
}

fn regular_header(size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o644);
    header.set_size(size);
    header.set_mtime(0);
    header
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn archive_has_manifest_config_and_layer() {
        let dir = tempfile::tempdir().unwrap();
        let layer = dir.path().join("layer.tar");
        std::fs::write(&layer, b"layer-bytes").unwrap();
        let diff_id = format!("sha256:{}", sha256_hex(b"layer-bytes"));
        let out = dir.path().join("image.tar");
        let id =
            write_docker_archive(&out, b"{\"a\":1}", &layer, &diff_id, Some("app.slim:1")).unwrap();
        assert_eq!(id, format!("sha256:{}", sha256_hex(b"{\"a\":1}")));
        let mut archive = tar::Archive::new(File::open(&out).unwrap());
        let mut names = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            if name == "manifest.json" {
                let mut text = String::new();
                entry.read_to_string(&mut text).unwrap();
                let m: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert_eq!(m[0]["RepoTags"][0], "app.slim:1");
                assert_eq!(m[0]["Layers"][0], format!("{}/layer.tar", &diff_id[7..]));
            }
            names.push(name);
        }
        assert_eq!(names.len(), 3);
    }
}
