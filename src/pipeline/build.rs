//! `slim build` as a composition of the stages: [docker build] → inspect → analyze →
//! resolve → rebuild → load (or write a file) → [seccomp profile] → verify → [Dockerfile]
//! → [push] → [SBOM] → report.

use crate::archive::WrittenImage;
use crate::engine::Engine;
use crate::image::ImageSpec;
use crate::report::{BuildReport, human_bytes};
use crate::sbom;
use crate::sign::Signed;
use crate::verify::Verification;

use super::display::{Display, Timeline};
use super::dockerfile_out::{context_of, write_dockerfile};
use super::error::PipelineError;
use super::kept::{inspect, keep, short_id};
use super::output::{
    check_output_file, check_output_name, load, load_temporary, push, sign_pushed, write_file,
};
use super::rebuilt::{Rebuilt, rebuild};
use super::report::{Produced, build_report};
use super::request::{BuildPlan, OutputTarget, SlimRequest};
use super::source::build_source;
use super::verified::{verify_slim_image, write_seccomp_profile};

/// What a build made.
pub struct Built {
    pub report: BuildReport,
    /// the report as written to `request.report`
    pub json: String,
}

impl Built {
    /// Verification ran and found differences.
    pub fn failed_verification(&self) -> Option<&Verification> {
        self.report.verification.as_ref().filter(|v| !v.passed())
    }
}

pub async fn build(
    engine: &Engine,
    request: &SlimRequest,
    plan: &BuildPlan,
    display: &dyn Display,
) -> Result<Built, PipelineError> {
    let mut timeline = Timeline::default();
    let output_name = plan.tag.clone();
    if let Some(from) = &plan.from_dockerfile {
        timeline
            .stage(
                display,
                "docker build",
                async |progress| build_source(engine, from, &request.source_text, progress).await,
                |_| request.source_text.clone(),
            )
            .await?;
    }
    let source = inspect(engine, request, display, &mut timeline).await?;
    // Conflicts with what exists are found before the analysis, not after it.
    match &plan.output {
        OutputTarget::Engine => {
            check_output_name(
                engine,
                &output_name,
                &source,
                &request.source_text,
                plan.force,
            )
            .await?
        }
        OutputTarget::File(location) => check_output_file(location, plan.force)?,
    }
    let kept = keep(engine, request, source, display, &mut timeline).await?;
    let rebuilt = timeline
        .stage(
            display,
            "rebuild",
            async |_| {
                // Only an image that goes into the engine gets a tag in its archive.
                let tag =
                    matches!(plan.output, OutputTarget::Engine).then_some(output_name.as_str());
                rebuild(&kept, request, tag)
            },
            |r: &Rebuilt| {
                format!(
                    "one layer, {} · user {}",
                    human_bytes(r.layer.size),
                    kept.user.config_user()
                )
            },
        )
        .await?;
    let (loaded, written) =
        place(engine, plan, &rebuilt, &output_name, display, &mut timeline).await?;
    let profile = match &request.seccomp_profile {
        Some(path) => Some(write_seccomp_profile(&kept, path, display, &mut timeline).await?),
        None => None,
    };
    let checked = verify_slim_image(
        engine,
        request,
        plan,
        &kept,
        &loaded,
        profile,
        display,
        &mut timeline,
    )
    .await?;
    let verification = checked.verification;
    if let Some(dockerfile) = &plan.dockerfile_out {
        also_write_dockerfile(&kept, request, plan, dockerfile, display)?;
    }
    // Only an image that answers like the original is shipped.
    let verified = verification.as_ref().is_none_or(Verification::passed);
    let pinned = match &plan.push {
        Some(target) if verified => {
            let stage = display.stage("push");
            match push(engine, &loaded.id, target, stage.as_ref()).await {
                Ok(pinned) => {
                    stage.done(&pinned);
                    Some(pinned)
                }
                Err(e) => {
                    stage.fail();
                    return Err(e);
                }
            }
        }
        Some(target) => {
            display.warn(&format!(
                "not pushing to {target}: the slim image failed verification"
            ));
            None
        }
        None => None,
    };
    let produced = Produced::Image {
        name: &output_name,
        loaded: &loaded,
        rebuilt: &rebuilt,
    };
    let mut report = build_report(
        &kept,
        request,
        produced,
        verification,
        timeline.stages.clone(),
    );
    if let (OutputTarget::File(location), Some(written)) = (&plan.output, &written) {
        report.output.reference = location.to_string();
        report.output.digest = written.manifest_digest.as_ref().map(ToString::to_string);
    }
    if let Some(pinned) = &pinned {
        report.output.digest = pinned.split_once('@').map(|(_, d)| d.to_string());
    }
    if let (Some(key), Some(target), Some(digest)) = (&plan.sign, &plan.push, &report.output.digest)
    {
        let signed = timeline
            .stage(
                display,
                "sign",
                async |_| sign_pushed(key, target, digest).await,
                Signed::summary,
            )
            .await?;
        report.signature = Some(signed);
    }
    report.pinned = pinned;
    report.seccomp = checked.seccomp;
    if let Some((path, format)) = &plan.sbom {
        let image = sbom::ImageName {
            reference: report.output.reference.clone(),
            id: loaded.id.clone(),
            digest: report.output.digest.clone(),
        };
        timeline
            .stage(
                display,
                "sbom",
                async |_| write_sbom(&kept, request, &rebuilt, image, path, *format),
                |count: &usize| format!("{} · {count} package(s)", path.display()),
            )
            .await?;
        report.sbom = Some(path.display().to_string());
        report.stages = timeline.stages.clone();
    }
    let json = write_report(&report, &request.report)?;
    Ok(Built { report, json })
}

/// load into the engine, or write the image file (and load an untagged copy to verify it).
async fn place(
    engine: &Engine,
    plan: &BuildPlan,
    rebuilt: &Rebuilt,
    output_name: &str,
    display: &dyn Display,
    timeline: &mut Timeline,
) -> Result<(ImageSpec, Option<WrittenImage>), PipelineError> {
    match &plan.output {
        OutputTarget::Engine => {
            let loaded = timeline
                .stage(
                    display,
                    "load",
                    async |_| load(engine, &rebuilt.archive, output_name).await,
                    |l: &ImageSpec| format!("{output_name} · {}", short_id(&l.id)),
                )
                .await?;
            Ok((loaded, None))
        }
        OutputTarget::File(location) => {
            let written = timeline
                .stage(
                    display,
                    "write",
                    async |_| write_file(location, rebuilt, output_name, plan.force),
                    |w: &WrittenImage| {
                        format!(
                            "{location} · {}",
                            w.manifest_digest.as_ref().unwrap_or(&w.config_digest)
                        )
                    },
                )
                .await?;
            // Verification runs the image, so the engine gets a copy it forgets afterwards.
            let loaded =
                load_temporary(engine, &rebuilt.archive, &written.config_digest.to_string())
                    .await?;
            Ok((loaded, Some(written)))
        }
    }
}

/// `--dockerfile-out`: from the user's own Dockerfile, their stages first and the side files
/// in their context.
fn also_write_dockerfile(
    kept: &super::kept::KeptSet,
    request: &SlimRequest,
    plan: &BuildPlan,
    dockerfile: &std::path::Path,
    display: &dyn Display,
) -> Result<(), PipelineError> {
    let pinned = match &plan.from_dockerfile {
        Some(from) => {
            let text = std::fs::read_to_string(&from.dockerfile).map_err(PipelineError::io(
                format!("reading {}", from.dockerfile.display()),
            ))?;
            let prelude =
                crate::dockerfile::prelude::prelude(&text).map_err(|e| PipelineError::Other {
                    action: format!("parsing {}", from.dockerfile.display()),
                    message: e.to_string(),
                })?;
            write_dockerfile(kept, request, dockerfile, &from.context, Some(&prelude))?;
            true
        }
        None => write_dockerfile(kept, request, dockerfile, &context_of(dockerfile), None)?,
    };
    display.note(&format!(
        "wrote {} and its side files",
        dockerfile.display()
    ));
    if !pinned {
        display.warn(&format!(
            "{} has no registry digest, so the Dockerfile names it by tag; push it and run slim again to pin it",
            request.source_text
        ));
    }
    Ok(())
}

/// The SBOM of the slim image; returns how many packages it lists.
fn write_sbom(
    kept: &super::kept::KeptSet,
    request: &SlimRequest,
    rebuilt: &Rebuilt,
    image: sbom::ImageName,
    path: &std::path::Path,
    format: sbom::SbomFormat,
) -> Result<usize, PipelineError> {
    let packages = &kept.collected.outcome.resolution.packages;
    let layer = std::fs::File::open(&rebuilt.layer_path)
        .map_err(PipelineError::io("reading the slim layer"))?;
    let files = sbom::unowned_files(std::io::BufReader::new(layer), packages)
        .map_err(PipelineError::io("reading the slim layer"))?;
    let source = sbom::ImageName {
        reference: request.source_text.clone(),
        id: kept.source.id.clone(),
        digest: kept.source.repo_digest().map(str::to_string),
    };
    let text = sbom::render(
        format,
        &sbom::SbomInput {
            image,
            source,
            created: &rebuilt.record.created,
            packages,
            files: &files,
            distro: kept.collected.outcome.resolution.distro.clone(),
        },
    );
    std::fs::write(path, text).map_err(PipelineError::io(format!("writing {}", path.display())))?;
    Ok(packages.len())
}

/// Write the report as JSON where the request says; returns the JSON.
pub fn write_report(report: &BuildReport, path: &std::path::Path) -> Result<String, PipelineError> {
    let json = serde_json::to_string_pretty(report).map_err(|e| PipelineError::Other {
        action: "serializing the report".into(),
        message: e.to_string(),
    })?;
    std::fs::write(path, format!("{json}\n")).map_err(PipelineError::io(format!(
        "writing the report to {}",
        path.display()
    )))?;
    Ok(json)
}
