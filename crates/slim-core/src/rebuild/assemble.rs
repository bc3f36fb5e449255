//! From the kept files to the slim image's layer and config, given everything that decides
//! them. The same inputs give the same bytes, whether the kept files came from a container
//! (`slim build`) or from an image file (`slim build --from-report`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::RebuildError;
use super::config::{ConfigInput, image_config};
use super::kept::KeptIndex;
use super::layer::{LayerPlan, LayerSummary, write_layer};
use crate::image::ImageSpec;

/// The inputs of a rebuild besides the kept files; recorded in the report so that
/// `--from-report` makes the same image again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebuildRecord {
    pub layer_plan: LayerPlan,
    /// labels slim adds to the source's (where the image came from)
    pub labels: BTreeMap<String, String>,
    /// RFC 3339 creation time written into the config (the source's, for reproducibility)
    pub created: String,
    pub created_by: String,
}

/// The layer and config of a slim image, in a work directory.
pub struct Assembled {
    pub layer: LayerSummary,
    pub layer_path: PathBuf,
    pub config: Vec<u8>,
}

/// Write the layer (`layer.tar`) and the config for `kept` under `record`.
pub fn assemble(
    kept: &KeptIndex,
    record: &RebuildRecord,
    source: &ImageSpec,
    workdir: &Path,
    switch_shim: Option<&[u8]>,
) -> Result<Assembled, RebuildError> {
    let layer_path = workdir.join("layer.tar");
    let layer = write_layer(kept, &record.layer_plan, &layer_path, switch_shim)?;
    let config = image_config(&ConfigInput {
        source,
        user: &record.layer_plan.user.config_user(),
        diff_id: &layer.diff_id,
        created: &record.created,
        extra_labels: record.labels.clone(),
        created_by: &record.created_by,
    });
    Ok(Assembled {
        layer,
        layer_path,
        config,
    })
}
