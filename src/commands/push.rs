//! `slim push IMAGE [REF]`: push to a registry and print the pinned reference.

use anyhow::{Context, Result, bail};
use slim::engine::Engine;
use slim::image::ImageRef;

use super::slimming::with_engine;
use super::{Outcome, UsageError, report_error};
use crate::cli::PushArgs;
use crate::printer::Printer;

pub async fn run(args: PushArgs, printer: &Printer) -> Outcome {
    let target_text = args.target.clone().unwrap_or_else(|| args.image.clone());
    let target = match parse_target(&target_text) {
        Ok(target) => target,
        Err(e) => return report_error(&e),
    };
    with_engine(printer, async |engine| {
        let pinned = push(&engine, &args.image, &target, printer).await?;
        printer.result(&pinned);
        Ok(Outcome::Success)
    })
    .await
}

/// A push target: a name with an optional tag, never an ID or digest.
pub fn parse_target(text: &str) -> Result<ImageRef> {
    let target = ImageRef::parse(text).map_err(|e| UsageError(e.to_string()))?;
    if target.is_id || target.digest.is_some() {
        bail!(UsageError(format!(
            "cannot push to {text:?}: give a NAME[:TAG]"
        )));
    }
    Ok(target)
}

/// Tag `image` as `target` if needed, push it, and return `NAME@sha256:…`.
pub async fn push(
    engine: &Engine,
    image: &str,
    target: &ImageRef,
    printer: &Printer,
) -> Result<String> {
    use slim::progress::Progress;
    let stage = printer.stage("push");
    let result = async {
        if engine.inspect_image(image).await?.is_none() {
            bail!("no image {image} in the engine at {}", engine.host());
        }
        if image != target.to_string() {
            engine.tag(image, target).await?;
        }
        let digest = engine
            .push(target, &|status: &str| stage.step(status))
            .await
            .with_context(|| format!("pushing {target}"))?;
        Ok(format!("{}@{digest}", target.name))
    }
    .await;
    match result {
        Ok(pinned) => {
            stage.done(&pinned);
            Ok(pinned)
        }
        Err(e) => {
            stage.fail();
            Err(e)
        }
    }
}
