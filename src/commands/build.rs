//! `slim build IMAGE`: the flags become a checked request and plan, every conflict found
//! before any work; the pipeline does the work; this prints the outcome.

use std::path::PathBuf;

use anyhow::{Result, bail};
use slim::engine::Builder;
use slim::image::ImageRef;
use slim::pipeline::dockerfile_out::context_of;
use slim::pipeline::report::failure_hints;
use slim::pipeline::request::image_file;
use slim::pipeline::{self, BuildPlan, FromDockerfile, OutputTarget, SlimRequest};
use slim::verify::judge::Judge;

use super::slimming::{from_pipeline, slim_request, with_engine};
use super::{Outcome, UsageError, report_error};
use crate::cli::{BuildArgs, BuilderChoice};
use crate::printer::Printer;

pub async fn run(args: BuildArgs, printer: &Printer) -> Outcome {
    if let Some(report) = args.from_report.clone() {
        return super::from_report::run(args, report, printer).await;
    }
    if args.batch.is_some() || args.images.len() > 1 {
        return super::batch::run(args, printer).await;
    }
    let (request, plan) = match build_plan(&args) {
        Ok(parsed) => parsed,
        Err(e) => return report_error(&e),
    };
    with_engine(printer, async |engine| {
        let built = pipeline::build(&engine, &request, &plan, printer)
            .await
            .map_err(from_pipeline)?;
        printer.build_report(&built.report, &built.json, &request.report);
        let Some(failed) = built.failed_verification() else {
            return Ok(Outcome::Success);
        };
        let name = &built.report.output.reference;
        eprintln!("error: the slim image {name} does not answer like the original:");
        for check in failed.failures() {
            eprintln!(
                "  {}: original {} · slim {}",
                check.name, check.original, check.slim
            );
        }
        if let Some(output) = &failed.slim_output {
            eprintln!("{output}");
        }
        for hint in failure_hints(failed, &built.report) {
            eprintln!("{hint}");
        }
        eprintln!("The image stays tagged as {name} so you can inspect it.");
        Ok(Outcome::VerifyFailed)
    })
    .await
}

/// Every flag of `slim build` checked and turned into the request and the plan.
pub fn build_plan(args: &BuildArgs) -> Result<(SlimRequest, BuildPlan)> {
    let from_dockerfile = from_dockerfile(args);
    let image = match (args.images.first(), &from_dockerfile) {
        (Some(image), _) => image.clone(),
        (None, Some(from)) => default_name(from),
        (None, None) => bail!(UsageError(
            "slim build needs an IMAGE or --dockerfile".into()
        )),
    };
    let mut request = slim_request(
        &image,
        args.user.as_deref(),
        args.analysis.clone(),
        args.keep.clone(),
        args.output.report.clone(),
    )?;
    if let Some(path) = &args.seccomp_profile {
        request.write_seccomp_profile(path.clone());
    }
    if let Some(digest) = &args.verify_source {
        if !digest.starts_with("sha256:") || digest.len() != 71 {
            bail!(UsageError(format!(
                "--verify-source {digest:?}: expected sha256: and 64 hex digits"
            )));
        }
        request.verify_source = Some(digest.clone());
    }
    let tag = match &args.tag {
        Some(tag) => {
            let tag = ImageRef::parse(tag).map_err(|e| UsageError(format!("--tag: {e}")))?;
            if tag.is_id || tag.digest.is_some() {
                bail!(UsageError(format!(
                    "--tag {tag}: give a NAME:TAG, not an ID or a digest"
                )));
            }
            tag.to_string()
        }
        None => request.source.slim_name(),
    };
    let plan = BuildPlan {
        tag,
        force: args.force,
        verify: args.verify,
        judge: Judge {
            mode: args.verify_compare,
            ignore: args
                .verify_ignore
                .iter()
                .map(|pattern| {
                    regex::bytes::Regex::new(pattern)
                        .map_err(|e| UsageError(format!("--verify-ignore {pattern:?}: {e}")))
                })
                .collect::<Result<_, _>>()?,
        },
        output: output_target(&args.destination)?,
        dockerfile_out: args.dockerfile_out.clone(),
        from_dockerfile,
        push: args
            .push
            .as_deref()
            .map(super::push::parse_target)
            .transpose()?,
        sign: super::sign::load_sign_key(args.sign_key.as_deref())?,
        sbom: args.sbom.clone().map(|path| (path, args.sbom_format)),
    };
    Ok((request, plan))
}

/// `--output`: `docker`, or an image file.
pub fn output_target(text: &str) -> Result<OutputTarget> {
    if text == "docker" {
        return Ok(OutputTarget::Engine);
    }
    match image_file(text).map_err(|e| UsageError(e.to_string()))? {
        Some(location) => Ok(OutputTarget::File(location)),
        None => bail!(UsageError(format!(
            "--output {text:?}: expected docker, docker-archive:PATH, oci:DIR or oci-archive:PATH"
        ))),
    }
}

fn from_dockerfile(args: &BuildArgs) -> Option<FromDockerfile> {
    let dockerfile = args.dockerfile.clone()?;
    let context = args
        .context
        .clone()
        .unwrap_or_else(|| context_of(&dockerfile));
    let builder = match args.builder {
        BuilderChoice::Buildkit => Builder::BuildKit,
        BuilderChoice::Classic => Builder::Classic,
    };
    Some(FromDockerfile {
        dockerfile,
        context,
        builder,
    })
}

/// The name the built image gets when the user gives none: after the context directory.
fn default_name(from: &FromDockerfile) -> String {
    let dir: PathBuf =
        std::fs::canonicalize(&from.context).unwrap_or_else(|_| from.context.clone());
    let base: String = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let base = base
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    format!(
        "slim-build/{}:latest",
        if base.is_empty() { "app".into() } else { base }
    )
}
