//! `slim compare A B` and `slim images`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use slim::archive::{ImageLocation, ImageSource};
use slim::compare::{Comparison, ImageFacts};
use slim::engine::Engine;
use slim::rebuild::BASE_NAME_LABEL;
use slim::report::human_bytes;
use slim::survey::survey_source;

use super::slimming::with_engine;
use super::{Outcome, report_error};
use crate::cli::{CompareArgs, ImagesArgs};
use crate::printer::Printer;

pub async fn compare(args: CompareArgs, printer: &Printer) -> Outcome {
    let needs_engine = [&args.left, &args.right]
        .iter()
        .any(|r| r.parse::<ImageLocation>().is_err());
    let work = async |engine: Option<Engine>| -> Result<Outcome> {
        let dir = tempfile::Builder::new().prefix("slim-compare-").tempdir()?;
        let stage = printer.stage("compare");
        let left = facts(engine.as_ref(), &args.left, dir.path(), &stage).await;
        let right = match &left {
            Ok(_) => facts(engine.as_ref(), &args.right, dir.path(), &stage).await,
            Err(_) => Ok(ImageFacts::default()),
        };
        let comparison = match (left, right) {
            (Ok(left), Ok(right)) => {
                stage.done("");
                Comparison { left, right }
            }
            (Err(e), _) | (_, Err(e)) => {
                stage.fail();
                return Err(e);
            }
        };
        if args.json {
            printer.result(&serde_json::to_string_pretty(&comparison)?);
        } else {
            printer.result(&comparison.table());
        }
        Ok(Outcome::Success)
    };
    if needs_engine {
        with_engine(printer, async |engine| work(Some(engine)).await).await
    } else {
        work(None).await.unwrap_or_else(|e| report_error(&e))
    }
}

/// Survey one image: from its file, or saved from the engine first.
async fn facts(
    engine: Option<&Engine>,
    reference: &str,
    dir: &Path,
    stage: &crate::printer::Stage,
) -> Result<ImageFacts> {
    use slim::progress::Progress;
    if let Ok(location) = reference.parse::<ImageLocation>() {
        stage.step(&format!("reading {location}"));
        let source = tokio::task::spawn_blocking(move || ImageSource::open(&location)).await??;
        let size = source.spec.size;
        let spec = source.spec.clone();
        let survey = tokio::task::spawn_blocking(move || survey_source(&source)).await??;
        return Ok(ImageFacts::from_survey(reference, &spec, size, &survey));
    }
    let engine = engine.context("an engine is needed for images that are not files")?;
    let spec = engine
        .inspect_image(reference)
        .await?
        .with_context(|| format!("no image {reference} in the engine at {}", engine.host()))?;
    stage.step(&format!("saving {reference} to read its layers"));
    let saved = dir.join(format!("{}.tar", spec.id.trim_start_matches("sha256:")));
    engine.save_image(&spec.id, &saved).await?;
    let location = ImageLocation::DockerArchive {
        path: saved.clone(),
        reference: None,
    };
    stage.step(&format!("reading the layers of {reference}"));
    let survey = tokio::task::spawn_blocking(move || -> Result<_> {
        let source = ImageSource::open(&location)?;
        Ok(survey_source(&source)?)
    })
    .await??;
    let _ = std::fs::remove_file(&saved);
    Ok(ImageFacts::from_survey(
        reference, &spec, spec.size, &survey,
    ))
}

/// One slim image in `slim images`.
#[derive(Debug, Serialize)]
struct SlimImage {
    image: String,
    id: String,
    size: u64,
    source: String,
    source_size: Option<u64>,
    user: String,
}

pub async fn images(args: ImagesArgs, printer: &Printer) -> Outcome {
    with_engine(printer, async |engine| {
        let mut found = Vec::new();
        for summary in engine.list_images().await? {
            let Some(source) = summary.labels.get(BASE_NAME_LABEL).cloned() else {
                continue;
            };
            let spec = engine.inspect_image(&summary.id).await?.unwrap_or_default();
            let source_size = engine
                .inspect_image(&source)
                .await
                .ok()
                .flatten()
                .map(|s| s.size);
            let names = if summary.repo_tags.is_empty() {
                vec![summary.id.clone()]
            } else {
                summary.repo_tags.clone()
            };
            for image in names {
                found.push(SlimImage {
                    image,
                    id: summary.id.clone(),
                    size: summary.size,
                    source: source.clone(),
                    source_size,
                    user: spec.user.clone(),
                });
            }
        }
        found.sort_by(|a, b| a.image.cmp(&b.image));
        if args.json {
            printer.result(&serde_json::to_string_pretty(&found)?);
        } else {
            printer.result(&images_table(&found));
        }
        Ok(Outcome::Success)
    })
    .await
}

fn images_table(images: &[SlimImage]) -> String {
    if images.is_empty() {
        return "no slim images in the engine (slim build IMAGE makes one)".into();
    }
    let width = images
        .iter()
        .map(|i| i.image.len())
        .max()
        .unwrap_or(5)
        .max(5)
        + 2;
    let source_width = images
        .iter()
        .map(|i| i.source.len())
        .max()
        .unwrap_or(6)
        .max(6)
        + 2;
    let mut out = format!(
        "{:<width$}{:<source_width$}{:>10}{:>12}{:>9}  USER\n",
        "IMAGE", "SOURCE", "SIZE", "SOURCE SIZE", "RATIO"
    );
    for image in images {
        let (source_size, ratio) = match image.source_size {
            Some(size) => (
                human_bytes(size),
                format!("{:.1}x", size as f64 / image.size.max(1) as f64),
            ),
            None => ("gone".into(), "-".into()),
        };
        let _ = writeln!(
            out,
            "{:<width$}{:<source_width$}{:>10}{:>12}{:>9}  {}",
            image.image,
            image.source,
            human_bytes(image.size),
            source_size,
            ratio,
            image.user
        );
    }
    out
}
