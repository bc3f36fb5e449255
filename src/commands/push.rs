//! `slim push IMAGE [REF]`: push to a registry and print the pinned reference.

use anyhow::{Result, bail};
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
    let key = match super::sign::load_sign_key(args.sign_key.as_deref()) {
        Ok(key) => key,
        Err(e) => return report_error(&e),
    };
    with_engine(printer, async |engine| {
        let pinned = push(&engine, &args.image, &target, printer).await?;
        if let Some(key) = &key {
            let digest = pinned.split_once('@').map_or("", |(_, d)| d);
            let stage = printer.stage("sign");
            match slim::pipeline::output::sign_pushed(key, &target, digest).await {
                Ok(signed) => stage.done(&signed.summary()),
                Err(e) => {
                    stage.fail();
                    return Err(e.into());
                }
            };
        }
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

/// Push with a progress stage, and return `NAME@sha256:…`.
async fn push(
    engine: &Engine,
    image: &str,
    target: &ImageRef,
    printer: &Printer,
) -> Result<String> {
    let stage = printer.stage("push");
    match slim::pipeline::output::push(engine, image, target, &stage).await {
        Ok(pinned) => {
            stage.done(&pinned);
            Ok(pinned)
        }
        Err(e) => {
            stage.fail();
            Err(e.into())
        }
    }
}
