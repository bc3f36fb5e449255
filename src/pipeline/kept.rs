//! inspect → analyze → resolve: from the source to the set of files the slim image keeps,
//! with the user it runs as and the edits its layer gets.

use std::collections::BTreeSet;

use crate::analyze::{self, Analysis};
use crate::collect::{self, Collected};
use crate::engine::Engine;
use crate::image::ImageSpec;
use crate::leftovers::ScratchDir;
use crate::rebuild::kept::KeptKind;
use crate::rebuild::{self, KeptIndex, LayerPlan, UserPlan};
use crate::report::human_bytes;

use super::display::{Display, Timeline};
use super::error::PipelineError;
use super::request::SlimRequest;
use super::source::find_source;

/// The source, what it did, what it keeps, and how the slim layer will differ from it.
pub struct KeptSet {
    pub source: ImageSpec,
    pub analysis: Analysis,
    pub collected: Collected,
    pub user: UserPlan,
    pub layer_plan: LayerPlan,
    /// holds the kept tar and everything written from it; removed when dropped
    pub workdir: ScratchDir,
}

/// The inspect stage: find (pull, or load from a file) the source.
pub async fn inspect(
    engine: &Engine,
    request: &SlimRequest,
    display: &dyn Display,
    timeline: &mut Timeline,
) -> Result<ImageSpec, PipelineError> {
    timeline
        .stage(
            display,
            "inspect",
            async |progress| find_source(engine, request, progress).await,
            |s: &ImageSpec| {
                format!(
                    "{} · {} · {} layer(s)",
                    short_id(&s.id),
                    human_bytes(s.size),
                    s.layers
                )
            },
        )
        .await
}

/// inspect → analyze → resolve, and the plan for the slim layer.
pub async fn inspect_and_keep(
    engine: &Engine,
    request: &SlimRequest,
    display: &dyn Display,
    timeline: &mut Timeline,
) -> Result<KeptSet, PipelineError> {
    let source = inspect(engine, request, display, timeline).await?;
    keep(engine, request, source, display, timeline).await
}

/// analyze → resolve → plan, for a source already inspected.
pub async fn keep(
    engine: &Engine,
    request: &SlimRequest,
    source: ImageSpec,
    display: &dyn Display,
    timeline: &mut Timeline,
) -> Result<KeptSet, PipelineError> {
    if let Some(spec) = &request.user
        && matches!(spec.user.as_str(), "0" | "root")
    {
        display.warn(&format!(
            "--user {spec}: the slim image will run as root, which is what slim exists to avoid; \
             leave --user out to get a non-root user"
        ));
    }
    let analysis = timeline
        .stage(
            display,
            "analyze",
            async |progress| {
                analyze::analyze(
                    engine,
                    &source,
                    &request.source_text,
                    &request.analysis,
                    progress,
                )
                .await
                .map_err(PipelineError::from)
            },
            |a: &Analysis| {
                format!(
                    "{} path(s) touched by {} process(es) · {}",
                    a.trace.files.len(),
                    a.trace.processes,
                    ended(a)
                )
            },
        )
        .await?;
    let workdir =
        ScratchDir::new("slim-").map_err(PipelineError::io("creating a temporary directory"))?;
    let collected = timeline
        .stage(
            display,
            "resolve",
            async |progress| {
                let resolve_request =
                    collect::resolve_request(&source, &analysis.trace, &request.controls);
                collect::collect(
                    engine,
                    &source,
                    &request.source_text,
                    &request.analysis.sensor,
                    &resolve_request,
                    workdir.path(),
                    progress,
                )
                .await
                .map_err(PipelineError::from)
            },
            |c: &Collected| {
                let total = c.outcome.total;
                format!(
                    "keeping {} of {} path(s), {}",
                    c.outcome.resolution.keep.len(),
                    total.files + total.symlinks + total.dirs,
                    human_bytes(c.outcome.packed.bytes)
                )
            },
        )
        .await?;
    let kept = KeptIndex::open(&collected.kept_tar)?;
    let user = rebuild::plan_user(
        &source.user,
        request.user.as_ref(),
        kept.read_text("/etc/passwd")?.as_deref(),
        kept.read_text("/etc/group")?.as_deref(),
        analysis.trace.switched_to_uid(),
    )?;
    let layer_plan = LayerPlan {
        user: user.clone(),
        writable: collected.outcome.resolution.writable_dirs.clone(),
        workdir: Some(source.working_dir.clone()).filter(|w| w.starts_with('/') && w != "/"),
        mtime_clamp: mtime_clamp(&source),
        package_db: collected.outcome.resolution.package_db.clone(),
        accessed: collected.outcome.resolution.accessed.clone(),
        switch_tools: switch_tools(&kept),
    };
    Ok(KeptSet {
        source,
        analysis,
        collected,
        user,
        layer_plan,
        workdir,
    })
}

/// Kept user-switching tools (gosu, su-exec, runuser, setpriv, ...) that get slim's stand-in.
fn switch_tools(kept: &KeptIndex) -> BTreeSet<String> {
    kept.entries
        .iter()
        .filter(|(_, entry)| matches!(entry.kind, KeptKind::File { .. }))
        .map(|(path, _)| path)
        .filter(|path| {
            let name = path.rsplit('/').next().unwrap_or_default();
            crate::switch_shim::TOOLS.contains(&name)
        })
        .cloned()
        .collect()
}

/// No mtime in the layer is later than SOURCE_DATE_EPOCH or, without it, the source's creation.
fn mtime_clamp(source: &ImageSpec) -> i64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or_else(|| source.created_epoch())
        .unwrap_or(i64::MAX)
}

fn ended(analysis: &Analysis) -> String {
    match (analysis.stopped_by_slim, analysis.exit) {
        (true, _) => format!("stopped after {:.1}s", analysis.duration.as_secs_f64()),
        (false, Some(exit)) => format!("exited with status {}", exit.code),
        (false, None) => "ended".into(),
    }
}

/// The first 12 hex digits of an image ID.
pub fn short_id(id: &str) -> String {
    let hex = id.trim_start_matches("sha256:");
    hex[..hex.len().min(12)].to_string()
}
