//! An image file turned into a `docker save` archive the engine can load, so an image given
//! as a file can be analysed: every layer is read through its digest checks on the way.
//! The archive names no tag, so loading it never moves a tag in the engine.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;

use serde_json::json;

use super::error::ArchiveError;
use super::json::canonical_json;
use super::source::ImageSource;

/// Write `source` as a legacy docker-archive at `out`; layer tars are staged in `work`.
pub fn to_docker_archive(
    source: &ImageSource,
    out: &Path,
    work: &Path,
) -> Result<(), ArchiveError> {
    let io_error = |what: &str, path: &Path| {
        let context = format!("{what} {}", path.display());
        move |e: io::Error| ArchiveError::io(context, e)
    };
    std::fs::create_dir_all(work).map_err(io_error("creating", work))?;
    let mut staged = Vec::new();
    for index in 0..source.layers.len() {
        let path = work.join(format!("layer-{index}.tar"));
        let mut stream = source.layer_stream(index)?;
        let mut file = BufWriter::new(File::create(&path).map_err(io_error("creating", &path))?);
        io::copy(&mut stream, &mut file).map_err(io_error("staging", &path))?;
        let check = stream.finish()?;
        file.into_inner()
            .map_err(|e| io_error("writing", &path)(e.into_error()))?;
        staged.push((check.diff_id, path));
    }
    let config_name = format!("{}.json", source.config_digest.hex());
    let layer_names: Vec<String> = staged
        .iter()
        .map(|(diff_id, _)| format!("{}/layer.tar", diff_id.hex()))
        .collect();
    let manifest =
        canonical_json(&json!([{ "Config": config_name, "RepoTags": [], "Layers": layer_names }]));

    let mut builder = tar::Builder::new(BufWriter::new(
        File::create(out).map_err(io_error("creating", out))?,
    ));
    let mut append = |name: &str, size: u64, data: &mut dyn io::Read| -> io::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(size);
        builder.append_data(&mut header, name, data)
    };
    append(
        &config_name,
        source.config.len() as u64,
        &mut source.config.as_slice(),
    )
    .map_err(io_error("writing", out))?;
    for ((_, path), name) in staged.iter().zip(&layer_names) {
        let file = File::open(path).map_err(io_error("reading", path))?;
        let size = file.metadata().map_err(io_error("reading", path))?.len();
        append(name, size, &mut io::BufReader::new(file)).map_err(io_error("writing", out))?;
        let _ = std::fs::remove_file(path);
    }
    append(
        "manifest.json",
        manifest.len() as u64,
        &mut manifest.as_slice(),
    )
    .map_err(io_error("writing", out))?;
    builder
        .into_inner()
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .map_err(io_error("writing", out))?;
    Ok(())
}
