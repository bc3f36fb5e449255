//! `slim dockerfile IMAGE`: trace the image and write a multi-stage Dockerfile (with its side
//! files) that builds the image `slim build` would load. Nothing is loaded or tagged.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use slim::image::ImageSpec;
use slim::rebuild::dockerfile::{
    BuildDirFiles, DockerfileInput, render_dockerfile, write_build_dir,
};
use slim::rebuild::gather::GatherPlan;
use slim::report::{BuildReport, ImageSummary};

use super::Outcome;
use super::slimming::{
    SlimRequest, Timeline, analysis_summary, prepare, provenance_labels, with_engine,
};
use crate::cli::DockerfileArgs;
use crate::printer::Printer;

pub async fn run(args: DockerfileArgs, printer: &Printer) -> Outcome {
    let request = match SlimRequest::new(
        &args.image,
        args.user.as_deref(),
        args.analysis,
        args.keep,
        args.output.report,
    ) {
        Ok(request) => request,
        Err(e) => return super::report_error(&e),
    };
    let out = args.out;
    with_engine(printer, async |engine| {
        let mut timeline = Timeline::default();
        let prepared = prepare(&engine, &request, printer, &mut timeline).await?;
        let dockerfile = out.join("Dockerfile");
        let written = timeline
            .stage(
                printer,
                "dockerfile",
                async |_| write_dockerfile(&prepared, &request, &dockerfile, &out, None),
                |pinned: &bool| {
                    let pin = if *pinned { "pinned by digest" } else { "NOT pinned: the source has no registry digest" };
                    format!("{} · {pin}", dockerfile.display())
                },
            )
            .await?;
        if !written {
            printer.warn(&format!(
                "{} has no registry digest, so the Dockerfile names it by tag; push it to a registry and run slim again to pin it",
                request.source_text
            ));
        }
        let total = prepared.collected.outcome.total;
        let report = BuildReport {
            slim_version: env!("CARGO_PKG_VERSION").into(),
            source: ImageSummary {
                reference: request.source_text.clone(),
                id: prepared.source.id.clone(),
                size: prepared.source.size,
                                files: total.files + total.symlinks,
                user: prepared.source.user.clone(),
                digest: prepared.source.repo_digest().map(str::to_string),
            },
            output: ImageSummary {
                reference: dockerfile.display().to_string(),
                user: prepared.user.config_user(),
                files: prepared.collected.outcome.packed.files
                    + prepared.collected.outcome.packed.symlinks
                    + prepared.collected.outcome.packed.hardlinks,
                ..Default::default()
            },
            stages: timeline.stages,
            analysis: analysis_summary(&prepared.analysis),
            kept: prepared.collected.outcome.resolution.keep.paths.clone(),
            missing: prepared.collected.outcome.resolution.missing.clone(),
            kept_by_rule: prepared.collected.outcome.kept_by_rule.clone(),
            app_roots: prepared.collected.outcome.resolution.app_roots.clone(),
            unresolved_modules: prepared.collected.outcome.resolution.unresolved_modules.clone(),
            unparsed_files: prepared.collected.outcome.resolution.unparsed.clone(),
            ..Default::default()
        };
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(&request.report, format!("{json}\n"))
            .with_context(|| format!("writing the report to {}", request.report.display()))?;
        printer.note(&format!("wrote {} and its side files; build it with: docker build {}", dockerfile.display(), out.display()));
        if printer.is_json() {
            printer.result(&json);
        }
        Ok(Outcome::Success)
    })
    .await
}

/// Write the Dockerfile at `dockerfile` with its side files in `context`. With `prelude` (the
/// user's own stages, the last named `source`), those come first. Returns whether the source
/// is pinned by digest.
pub fn write_dockerfile(
    prepared: &super::slimming::Prepared,
    request: &SlimRequest,
    dockerfile: &Path,
    context: &Path,
    prelude: Option<&slim::dockerfile::prelude::Prelude>,
) -> Result<bool> {
    let (from, pinned) = pinned_reference(&prepared.source, request);
    let labels = provenance_labels(&prepared.source, &request.source_text);
    let user = prepared.user.config_user();
    let text = render_dockerfile(&DockerfileInput {
        source: &prepared.source,
        source_name: &request.source_text,
        from: &from,
        user: &user,
        extra_labels: &labels,
        prelude,
    });
    let plan = GatherPlan {
        source: request.source_text.clone(),
        keep: prepared
            .collected
            .outcome
            .resolution
            .keep
            .paths
            .keys()
            .cloned()
            .collect(),
        layer: prepared.layer_plan.clone(),
    };
    let mut listing = String::from("# path\treason\tvia\n");
    for (path, kept) in &prepared.collected.outcome.resolution.keep.paths {
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
    .with_context(|| format!("writing {}", dockerfile.display()))?;
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
