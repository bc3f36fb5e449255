//! The multi-stage Dockerfile a run can also write: the same kept files and user edits as
//! the slim image, gathered by the static sensor in the user's own build.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::dockerfile::prelude::Prelude;
use crate::image::ImageSpec;
use crate::rebuild::dockerfile::{
    BuildDirFiles, DockerfileInput, render_dockerfile, write_build_dir,
};
use crate::rebuild::gather::GatherPlan;

use super::error::PipelineError;
use super::kept::KeptSet;
use super::report::provenance_labels;
use super::request::SlimRequest;

/// Write the Dockerfile at `dockerfile` with its side files in `context`. With `prelude` (the
/// user's own stages, the last named `source`), those come first. Returns whether the source
/// is pinned by digest.
pub fn write_dockerfile(
    kept: &KeptSet,
    request: &SlimRequest,
    dockerfile: &Path,
    context: &Path,
    prelude: Option<&Prelude>,
) -> Result<bool, PipelineError> {
    let (from, pinned) = pinned_reference(&kept.source, request);
    let labels = provenance_labels(&kept.source, &request.source_text);
    let user = kept.user.config_user();
    let text = render_dockerfile(&DockerfileInput {
        source: &kept.source,
        source_name: &request.source_text,
        from: &from,
        user: &user,
        extra_labels: &labels,
        prelude,
    });
    let plan = GatherPlan {
        source: request.source_text.clone(),
        keep: kept
            .collected
            .outcome
            .resolution
            .keep
            .paths
            .keys()
            .cloned()
            .collect(),
        layer: kept.layer_plan.clone(),
    };
    let mut listing = String::from("# path\treason\tvia\n");
    for (path, kept) in &kept.collected.outcome.resolution.keep.paths {
        let reason = serde_json::to_value(kept.reason)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = writeln!(
            listing,
            "{path}\t{reason}\t{}",
            kept.via.as_deref().unwrap_or("")
        );
    }
    write_build_dir(&BuildDirFiles {
        dockerfile,
        context,
        text: &text,
        plan: &plan,
        sensor: &request.analysis.sensor,
        switch_shim: request.switch_shim.as_deref(),
        listing: &listing,
        users_context: prelude.is_some(),
    })
    .map_err(PipelineError::io(format!(
        "writing {}",
        dockerfile.display()
    )))?;
    Ok(pinned)
}

/// `name@sha256:…` for the source when the engine knows a registry digest for it.
fn pinned_reference(source: &ImageSpec, request: &SlimRequest) -> (String, bool) {
    if request.source.digest.is_some() {
        return (request.source_text.clone(), true);
    }
    let same_repo = source.repo_digests.iter().find(|d| {
        d.split_once('@')
            .is_some_and(|(repo, _)| repo == request.source.name)
    });
    match same_repo.or(source.repo_digests.first()) {
        Some(digest) => (digest.clone(), true),
        None => (request.source_text.clone(), false),
    }
}

/// Where `--dockerfile-out PATH` puts its side files: beside the Dockerfile.
pub fn context_of(dockerfile: &Path) -> PathBuf {
    dockerfile
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
