//! The first stage: the source image, found in the engine, pulled, built from the user's
//! Dockerfile, or read from an image file (every digest checked) and loaded for the run.

use crate::engine::Engine;
use crate::image::ImageSpec;
use crate::leftovers::ScratchDir;
use crate::progress::Progress;

use super::error::PipelineError;
use super::request::{FromDockerfile, SlimRequest};

/// Find the source and check it is the one `--verify-source` names.
pub async fn find_source(
    engine: &Engine,
    request: &SlimRequest,
    progress: &dyn Progress,
) -> Result<ImageSpec, PipelineError> {
    let source = locate_source(engine, request, progress).await?;
    if let Some(expected) = &request.verify_source {
        check_source_digest(&source, &request.source_text, expected)?;
    }
    Ok(source)
}

/// `--verify-source`: the source must be the image with this ID or registry digest.
fn check_source_digest(
    source: &ImageSpec,
    name: &str,
    expected: &str,
) -> Result<(), PipelineError> {
    let expected = expected.trim();
    let digests: Vec<&str> = source
        .repo_digests
        .iter()
        .filter_map(|d| d.split_once('@'))
        .map(|(_, d)| d)
        .collect();
    if source.id == expected || digests.contains(&expected) {
        return Ok(());
    }
    let known = std::iter::once(source.id.as_str())
        .chain(digests.iter().copied())
        .collect::<Vec<_>>()
        .join(", ");
    Err(PipelineError::Missing(format!(
        "{name} is not the expected image: it is {known}, not {expected}; refusing to use it (--verify-source)"
    )))
}

async fn locate_source(
    engine: &Engine,
    request: &SlimRequest,
    progress: &dyn Progress,
) -> Result<ImageSpec, PipelineError> {
    if let Some(location) = &request.source_file {
        return load_image_file(engine, location, progress).await;
    }
    if let Some(spec) = engine.inspect_image(&request.source_text).await? {
        return Ok(spec);
    }
    if request.source.is_id {
        return Err(PipelineError::Missing(format!(
            "no image with ID {} in the engine at {}",
            request.source_text,
            engine.host()
        )));
    }
    progress.step(&format!(
        "{} is not in the engine; pulling it",
        request.source_text
    ));
    engine
        .pull(&request.source, &|message: &str| progress.step(message))
        .await?;
    engine
        .inspect_image(&request.source_text)
        .await?
        .ok_or_else(|| {
            PipelineError::Missing(format!(
                "{} was pulled but the engine does not list it",
                request.source_text
            ))
        })
}

/// Read an image file (every digest checked) and load it into the engine, untagged, for the
/// analysis; it is removed again when slim exits unless the engine had it already.
async fn load_image_file(
    engine: &Engine,
    location: &crate::archive::ImageLocation,
    progress: &dyn Progress,
) -> Result<ImageSpec, PipelineError> {
    progress.step(&format!("reading {location} and checking its digests"));
    let work = ScratchDir::new("slim-source-")
        .map_err(PipelineError::io("creating a temporary directory"))?;
    let archive = work.path().join("source.tar");
    let (location_owned, archive_owned, staging) = (
        location.clone(),
        archive.clone(),
        work.path().join("layers"),
    );
    let id = tokio::task::spawn_blocking(move || -> Result<String, PipelineError> {
        let source = crate::archive::ImageSource::open(&location_owned)?;
        crate::archive::export::to_docker_archive(&source, &archive_owned, &staging)?;
        Ok(source.config_digest.to_string())
    })
    .await
    .map_err(|e| PipelineError::Other {
        action: format!("reading {location}"),
        message: e.to_string(),
    })??;
    if engine.inspect_image(&id).await?.is_none() {
        progress.step("loading it into the engine for the analysis");
        // recorded first: a run killed while the engine loads it still leaves a record
        engine.track_temporary_image(&id);
        engine.load_archive(&archive).await?;
    }
    engine.inspect_image(&id).await?.ok_or_else(|| {
        PipelineError::Missing(format!(
            "the engine did not list {id} after loading {location}"
        ))
    })
}

/// Build the user's Dockerfile into `name`.
pub async fn build_source(
    engine: &Engine,
    from: &FromDockerfile,
    name: &str,
    progress: &dyn Progress,
) -> Result<(), PipelineError> {
    progress.step(&format!("sending the context {}", from.context.display()));
    let context = crate::dockerfile::context::build_context(&from.context, &from.dockerfile)
        .map_err(|e| PipelineError::Other {
            action: format!("preparing the build context {}", from.context.display()),
            message: e.to_string(),
        })?;
    progress.step(&format!(
        "building {} with {:?}",
        from.dockerfile.display(),
        from.builder
    ));
    engine
        .build_image(
            context.tar,
            &context.dockerfile,
            name,
            &Default::default(),
            from.builder,
        )
        .await?;
    Ok(())
}
