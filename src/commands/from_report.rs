//! `slim build --from-report REPORT SOURCE`: the image a recorded run made, made again from
//! an image file with no engine and no analysis. The same source and the same report give
//! the same layer, config and manifest digests.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use slim::archive::{
    self, FlattenOptions, ImageLocation, ImageSource, ImageToWrite, RootFs, WriteOptions,
    WrittenImage,
};
use slim::engine::Engine;
use slim::rebuild::{self, KeptIndex, RebuildRecord};
use slim::report::human_bytes;
use slim::resolve::keep::{KeepSet, Kept};
use slim::resolve::kept_tar::write_kept_tar;

use super::build::output_target;
use super::{Outcome, UsageError, report_error};
use crate::cli::BuildArgs;
use crate::printer::Printer;
use slim::pipeline::request::image_file;
use slim::pipeline::{OutputTarget, Timeline};

/// The parts of a report a rebuild needs.
#[derive(Debug, Deserialize)]
struct Recorded {
    source: RecordedSource,
    output: RecordedSource,
    kept: BTreeMap<String, Kept>,
    rebuild: Option<RebuildRecord>,
}

#[derive(Debug, Deserialize)]
struct RecordedSource {
    reference: String,
    id: String,
}

pub async fn run(args: BuildArgs, report: PathBuf, printer: &Printer) -> Outcome {
    if args.images.len() > 1 {
        return report_error(
            &UsageError("--from-report rebuilds one image; give one SOURCE".into()).into(),
        );
    }
    match rebuild_from(&args, &report, printer).await {
        Ok(outcome) => outcome,
        Err(e) => report_error(&e),
    }
}

async fn rebuild_from(
    args: &BuildArgs,
    report_path: &PathBuf,
    printer: &Printer,
) -> Result<Outcome> {
    let source_text = args.images.first().cloned().unwrap_or_default();
    let Some(location) = image_file(&source_text).map_err(|e| UsageError(e.to_string()))? else {
        bail!(UsageError(format!(
            "--from-report rebuilds from an image file (docker-archive:PATH, oci:DIR, oci-archive:PATH), not {source_text:?}"
        )));
    };
    let target = output_target(&args.destination)?;
    let text = std::fs::read(report_path)
        .with_context(|| format!("reading the report {}", report_path.display()))?;
    let recorded: Recorded = serde_json::from_slice(&text).map_err(|e| {
        UsageError(format!(
            "{} is not a slim build report: {e}",
            report_path.display()
        ))
    })?;
    let Some(record) = recorded.rebuild.clone() else {
        bail!(UsageError(format!(
            "{} has no rebuild record (it was written by `slim dockerfile` or an older slim)",
            report_path.display()
        )));
    };
    let work = tempfile::Builder::new()
        .prefix("slim-rebuild-")
        .tempdir()
        .context("creating a temporary directory")?;
    let mut timeline = Timeline::default();

    let source = timeline
        .stage(
            printer,
            "read",
            async |_| open_source(&location, &recorded, args.force),
            |s: &ImageSource| format!("{} · {} layer(s)", s.config_digest, s.layers.len()),
        )
        .await?;
    let work_path = work.path().to_path_buf();
    let assembled = timeline
        .stage(
            printer,
            "rebuild",
            async |_| {
                let rootfs = RootFs::flatten(&source, &work_path, &FlattenOptions::default())?;
                let keep = KeepSet {
                    paths: recorded.kept.clone(),
                };
                let kept_path = work_path.join("kept.tar");
                let file =
                    std::fs::File::create(&kept_path).context("creating the kept-files archive")?;
                write_kept_tar(&rootfs, &keep, std::io::BufWriter::new(file))?;
                let kept = KeptIndex::open(&kept_path)?;
                let shim = match slim::analyze::locate_switch_shim() {
                    Some(path) if !record.layer_plan.switch_tools.is_empty() => Some(
                        std::fs::read(&path)
                            .with_context(|| format!("reading {}", path.display()))?,
                    ),
                    _ => None,
                };
                Ok::<_, anyhow::Error>(rebuild::assemble(
                    &kept,
                    &record,
                    &source.spec,
                    &work_path,
                    shim.as_deref(),
                )?)
            },
            |a: &rebuild::Assembled| {
                format!(
                    "one layer, {} · user {}",
                    human_bytes(a.layer.size),
                    record.layer_plan.user.config_user()
                )
            },
        )
        .await?;

    let name = match &target {
        OutputTarget::Engine => Some(recorded.output.reference.clone()),
        OutputTarget::File(_) => None,
    };
    let destination = match &target {
        OutputTarget::File(location) => location.clone(),
        OutputTarget::Engine => ImageLocation::DockerArchive {
            path: work.path().join("image.tar"),
            reference: None,
        },
    };
    if let OutputTarget::File(location) = &target
        && location.path().exists()
        && !args.force
        && !matches!(location, ImageLocation::OciDir { .. })
    {
        bail!(UsageError(format!(
            "{} already exists; choose another --output or pass --force",
            location.path().display()
        )));
    }
    let written: WrittenImage = timeline
        .stage(
            printer,
            "write",
            async |_| {
                let image = ImageToWrite {
                    config: &assembled.config,
                    layer: &assembled.layer_path,
                    name: name.as_deref(),
                };
                Ok::<_, anyhow::Error>(archive::write_image(
                    &destination,
                    &image,
                    &WriteOptions::default(),
                )?)
            },
            |w: &WrittenImage| {
                w.manifest_digest
                    .as_ref()
                    .unwrap_or(&w.config_digest)
                    .to_string()
            },
        )
        .await?;
    if let OutputTarget::Engine = target {
        // Only loading needs an engine; everything before ran without one.
        let engine = Engine::connect().await?;
        engine.load_archive(destination.path()).await?;
    }
    let mut summary = format!(
        "rebuilt {} from {}\n",
        name.as_deref().unwrap_or(&destination.to_string()),
        location
    );
    summary.push_str(&format!(
        "layer     {}\nconfig    {}\n",
        assembled.layer.diff_id, written.config_digest
    ));
    if let Some(manifest) = &written.manifest_digest {
        summary.push_str(&format!("manifest  {manifest}\n"));
    }
    let stages: Vec<String> = timeline
        .stages
        .iter()
        .map(|s| format!("{} {:.1}s", s.stage, s.seconds))
        .collect();
    summary.push_str(&format!("time      {}", stages.join(" · ")));
    printer.result(&summary);
    Ok(Outcome::Success)
}

/// Open the image file and make sure it is the image the report was made from.
fn open_source(location: &ImageLocation, recorded: &Recorded, force: bool) -> Result<ImageSource> {
    let source = ImageSource::open(location)?;
    let id = source.config_digest.to_string();
    if id != recorded.source.id && !force {
        bail!(
            "{location} is {id}, but the report was made from {} ({}); pass --force to rebuild anyway",
            recorded.source.id,
            recorded.source.reference
        );
    }
    Ok(source)
}
