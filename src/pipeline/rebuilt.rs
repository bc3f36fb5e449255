//! rebuild: the kept files become the slim image's one layer and config, and an image
//! archive the engine can load.

use std::path::PathBuf;

use crate::archive::{self, ImageLocation, ImageToWrite, WriteOptions};
use crate::rebuild::{self, Assembled, KeptIndex, LayerPlan, LayerSummary, RebuildRecord};
use crate::survey::{Survey, SurveyBuilder};

use super::error::PipelineError;
use super::kept::KeptSet;
use super::report::provenance_labels;
use super::request::SlimRequest;

/// The slim image, written in the work directory.
pub struct Rebuilt {
    pub layer: LayerSummary,
    /// a docker-archive of the image, to load
    pub archive: PathBuf,
    pub layer_path: PathBuf,
    pub config: Vec<u8>,
    /// what the slim layer holds, for the comparison
    pub survey: Survey,
    /// what decided the layer and config, for --from-report
    pub record: RebuildRecord,
}

/// Rebuild the kept set as an image; `tag` names it inside the archive (only an image that
/// goes into the engine gets one).
pub fn rebuild(
    kept: &KeptSet,
    request: &SlimRequest,
    tag: Option<&str>,
) -> Result<Rebuilt, PipelineError> {
    let workdir = kept.workdir.path();
    let index = KeptIndex::open(&kept.collected.kept_tar)?;
    let record = RebuildRecord {
        layer_plan: kept.layer_plan.clone(),
        labels: provenance_labels(&kept.source, &request.source_text),
        created: kept
            .source
            .created
            .clone()
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".into()),
        created_by: format!("slim build {}", request.source_text),
    };
    let shim = switch_shim_bytes(request, &record.layer_plan)?;
    let Assembled {
        layer,
        layer_path,
        config,
    } = rebuild::assemble(&index, &record, &kept.source, workdir, shim.as_deref())?;
    let archive = workdir.join("image.tar");
    let image = ImageToWrite {
        config: &config,
        layer: &layer_path,
        name: tag,
    };
    let location = ImageLocation::DockerArchive {
        path: archive.clone(),
        reference: None,
    };
    archive::write_image(&location, &image, &WriteOptions::default())?;
    let mut survey = SurveyBuilder::new();
    let read_back = || PipelineError::io("reading the slim layer back");
    survey
        .add_layer(std::fs::File::open(&layer_path).map_err(read_back())?)
        .map_err(read_back())?;
    Ok(Rebuilt {
        layer,
        archive,
        layer_path,
        config,
        survey: survey.finish(),
        record,
    })
}

/// The stand-in's bytes when the plan replaces tools with it.
pub fn switch_shim_bytes(
    request: &SlimRequest,
    plan: &LayerPlan,
) -> Result<Option<Vec<u8>>, PipelineError> {
    if plan.switch_tools.is_empty() {
        return Ok(None);
    }
    let Some(path) = &request.switch_shim else {
        return Ok(None); // the layer writer says what is missing
    };
    let bytes =
        std::fs::read(path).map_err(PipelineError::io(format!("reading {}", path.display())))?;
    Ok(Some(bytes))
}
