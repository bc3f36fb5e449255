//! Where the slim image goes: loaded into the engine under its name, or written as an image
//! file (then loaded untagged for verification only), and pushed once it passed.

use std::path::Path;

use crate::archive::{self, ImageLocation, ImageToWrite, WriteOptions, WrittenImage};
use crate::engine::Engine;
use crate::image::{ImageRef, ImageSpec};
use crate::progress::Progress;
use crate::rebuild::BASE_NAME_LABEL;

use super::error::PipelineError;
use super::rebuilt::Rebuilt;

/// The output name must not be the source, and an image already under that name is replaced
/// only if slim made it from the same source (or with --force).
pub async fn check_output_name(
    engine: &Engine,
    output_name: &str,
    source: &ImageSpec,
    source_name: &str,
    force: bool,
) -> Result<(), PipelineError> {
    let Some(existing) = engine.inspect_image(output_name).await? else {
        return Ok(());
    };
    if existing.id == source.id {
        return Err(PipelineError::Refused(format!(
            "{output_name} is the source image itself; choose another name with --tag"
        )));
    }
    let made_from_source = existing
        .labels
        .get(BASE_NAME_LABEL)
        .is_some_and(|name| name == source_name);
    if !made_from_source && !force {
        return Err(PipelineError::Refused(format!(
            "{output_name} already names an image that slim did not make from {source_name}; choose another name with --tag, or pass --force to replace it"
        )));
    }
    Ok(())
}

/// An image file may be replaced only with --force.
pub fn check_output_file(location: &ImageLocation, force: bool) -> Result<(), PipelineError> {
    let path = location.path();
    if path.exists() && !force && !matches!(location, ImageLocation::OciDir { .. }) {
        return Err(PipelineError::Refused(format!(
            "{} already exists; choose another --output or pass --force to replace it",
            path.display()
        )));
    }
    Ok(())
}

/// Load the archive; drop the image the name pointed at before if it is now unused.
pub async fn load(
    engine: &Engine,
    archive: &Path,
    output_name: &str,
) -> Result<ImageSpec, PipelineError> {
    let previous = engine.inspect_image(output_name).await?;
    engine.load_archive(archive).await?;
    let loaded = engine.inspect_image(output_name).await?.ok_or_else(|| {
        PipelineError::Missing(format!(
            "the engine did not list {output_name} after loading it"
        ))
    })?;
    if let Some(previous) = previous.filter(|p| p.id != loaded.id) {
        let _ = engine.remove_image(&previous.id).await;
    }
    Ok(loaded)
}

/// Write the slim image as an image file; an existing file is replaced only with --force.
pub fn write_file(
    location: &ImageLocation,
    rebuilt: &Rebuilt,
    output_name: &str,
    force: bool,
) -> Result<WrittenImage, PipelineError> {
    check_output_file(location, force)?;
    let path = location.path();
    if force && path.is_file() {
        std::fs::remove_file(path)
            .map_err(PipelineError::io(format!("replacing {}", path.display())))?;
    }
    let image = ImageToWrite {
        config: &rebuilt.config,
        layer: &rebuilt.layer_path,
        name: Some(output_name),
    };
    Ok(archive::write_image(
        location,
        &image,
        &WriteOptions::default(),
    )?)
}

/// Load an untagged copy for slim's own use; it is removed when slim exits.
pub async fn load_temporary(
    engine: &Engine,
    archive: &Path,
    id: &str,
) -> Result<ImageSpec, PipelineError> {
    if engine.inspect_image(id).await?.is_none() {
        // recorded first: a run killed while the engine loads it still leaves a record
        engine.track_temporary_image(id);
        engine.load_archive(archive).await?;
    }
    engine.inspect_image(id).await?.ok_or_else(|| {
        PipelineError::Missing(format!("the engine did not list {id} after loading it"))
    })
}

/// Tag `image` as `target` if needed, push it, and return `NAME@sha256:…`.
pub async fn push(
    engine: &Engine,
    image: &str,
    target: &ImageRef,
    progress: &dyn Progress,
) -> Result<String, PipelineError> {
    if engine.inspect_image(image).await?.is_none() {
        return Err(PipelineError::Missing(format!(
            "no image {image} in the engine at {}",
            engine.host()
        )));
    }
    if image != target.to_string() {
        engine.tag(image, target).await?;
    }
    let digest = engine
        .push(target, &|status: &str| progress.step(status))
        .await
        .map_err(|source| PipelineError::Pushing {
            target: target.to_string(),
            source,
        })?;
    Ok(format!("{}@{digest}", target.name))
}

/// Sign the manifest `digest` pushed as `target` and store the signature beside it.
pub async fn sign_pushed(
    key: &crate::sign::PrivateKey,
    target: &ImageRef,
    digest: &str,
) -> Result<crate::sign::Signed, PipelineError> {
    crate::sign::sign_image(key, &target.to_string(), digest)
        .await
        .map_err(|source| PipelineError::Signing {
            target: target.to_string(),
            source,
        })
}
