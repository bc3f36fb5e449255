//! `slim clean`: remove what killed runs left behind, and say what it was.

use slim::engine::Engine;

use super::{Outcome, report_error};
use crate::cli::CleanArgs;
use crate::printer::Printer;

pub async fn run(args: CleanArgs, printer: &Printer) -> Outcome {
    let engine = match Engine::connect().await {
        Ok(engine) => engine,
        Err(e) => return report_error(&e.into()),
    };
    let reaped = match engine.reap_gone_runs(args.dry_run).await {
        Ok(reaped) => reaped,
        Err(e) => return report_error(&e.into()),
    };
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    for container in &reaped.containers {
        printer.result(&format!(
            "{verb} container {} ({} of {}, left by {})",
            container.id, container.role, container.source, container.owner
        ));
    }
    for image in &reaped.images {
        printer.result(&format!("{verb} image {image}"));
    }
    for path in &reaped.paths {
        printer.result(&format!("{verb} {path}"));
    }
    if reaped.is_empty() {
        printer.result("nothing left behind by killed slim runs");
    }
    Outcome::Success
}
