//! `slim build IMAGE`: inspect → analyze → resolve → rebuild → load → verify → report.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use slim::analyze::{self, AnalysisOptions, ContinueAfter};
use slim::archive::{self, ImageLocation, ImageToWrite, WriteOptions};
use slim::collect::{self, Collected};
use slim::engine::Engine;
use slim::image::{ImageRef, ImageSpec, UserSpec};
use slim::probe::HttpProbe;
use slim::rebuild::{self, BASE_DIGEST_LABEL, BASE_NAME_LABEL, ConfigInput, KeptIndex, LayerPlan};
use slim::report::{AnalysisSummary, BuildReport, ImageSummary, StageTime, human_bytes};
use slim::verify::{self, Verification};

use super::{Outcome, UsageError, report_error};
use crate::cli::BuildArgs;
use crate::printer::Printer;

/// The command line, checked: everything that can be wrong with it is found before any work.
struct BuildRequest {
    source: ImageRef,
    /// the reference exactly as given, passed to the engine
    source_text: String,
    output: Option<ImageRef>,
    force: bool,
    user: Option<UserSpec>,
    analysis: AnalysisOptions,
    verify: bool,
    report: PathBuf,
}

impl BuildRequest {
    fn from_args(args: BuildArgs) -> Result<Self> {
        let source_text = args.image.unwrap_or_default();
        let source = ImageRef::parse(&source_text).map_err(|e| UsageError(e.to_string()))?;
        let output = match &args.tag {
            Some(tag) => {
                let output = ImageRef::parse(tag).map_err(|e| UsageError(format!("--tag: {e}")))?;
                if output.is_id || output.digest.is_some() {
                    bail!(UsageError(format!(
                        "--tag {tag:?}: give a NAME:TAG, not an ID or a digest"
                    )));
                }
                Some(output)
            }
            None => None,
        };
        let user = args
            .user
            .as_deref()
            .map(UserSpec::parse)
            .transpose()
            .map_err(|e| UsageError(format!("--user: {e}")))?;
        let a = args.analysis;
        let continue_after = a
            .continue_after
            .as_deref()
            .map(str::parse::<ContinueAfter>)
            .transpose()
            .map_err(|e| UsageError(e.to_string()))?;
        let http_probe_cmds = a
            .http_probe_cmd
            .iter()
            .map(|c| HttpProbe::parse(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| UsageError(e.to_string()))?;
        if a.timeout == 0 {
            bail!(UsageError("--timeout must be at least 1 second".into()));
        }
        let sensor = analyze::locate_sensor()?;
        Ok(BuildRequest {
            source,
            source_text,
            output,
            force: args.force,
            user,
            analysis: AnalysisOptions {
                http_probe: a.http_probe,
                http_probe_cmds,
                execs: a.exec,
                continue_after,
                timeout: Duration::from_secs(a.timeout),
                cap_ptrace: a.cap_ptrace,
                allow_failure: a.allow_failure,
                sensor,
            },
            verify: a.verify,
            report: args.report,
        })
    }
}

pub async fn run(args: BuildArgs, printer: &Printer) -> Outcome {
    let request = match BuildRequest::from_args(args) {
        Ok(request) => request,
        Err(e) => return report_error(&e),
    };
    let engine = match Engine::connect().await {
        Ok(engine) => engine,
        Err(e) => return report_error(&e.into()),
    };
    let outcome = tokio::select! {
        result = build(&engine, &request, printer) => result.unwrap_or_else(|e| report_error(&e)),
        _ = interrupted() => {
            printer.warn("interrupted: removing the containers slim created");
            Outcome::Interrupted
        }
    };
    engine.cleanup().await;
    outcome
}

/// Resolves on Ctrl-C or SIGTERM.
async fn interrupted() {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return std::future::pending().await,
        };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

async fn build(engine: &Engine, request: &BuildRequest, printer: &Printer) -> Result<Outcome> {
    let mut stages = Vec::new();
    let mut timed = |name: &str, took: Duration| {
        stages.push(StageTime {
            stage: name.into(),
            seconds: took.as_secs_f64(),
        })
    };

    // inspect (and pull if needed)
    let stage = printer.stage("inspect");
    let source = match find_source(engine, request, &stage).await {
        Ok(source) => source,
        Err(e) => {
            stage.fail();
            return Err(e);
        }
    };
    let output_name = request
        .output
        .as_ref()
        .unwrap_or(&request.source)
        .to_string();
    let output_name = if request.output.is_some() {
        output_name
    } else {
        request.source.slim_name()
    };
    check_output_name(engine, &output_name, &source, request).await?;
    timed(
        "inspect",
        stage.done(&format!(
            "{} · {} · {} layer(s)",
            short(&source.id),
            human_bytes(source.size),
            source.layers
        )),
    );

    // analyze
    let stage = printer.stage("analyze");
    let analysis = match analyze::analyze(
        engine,
        &source,
        &request.source_text,
        &request.analysis,
        &stage,
    )
    .await
    {
        Ok(analysis) => analysis,
        Err(e) => {
            stage.fail();
            return Err(e.into());
        }
    };
    timed(
        "analyze",
        stage.done(&format!(
            "{} path(s) touched by {} process(es) · {}",
            analysis.trace.files.len(),
            analysis.trace.processes,
            ended(&analysis)
        )),
    );

    // resolve
    let workdir = tempfile::Builder::new()
        .prefix("slim-")
        .tempdir()
        .context("creating a temporary directory")?;
    let stage = printer.stage("resolve");
    let resolve_request = collect::resolve_request(&source, &analysis.trace);
    let collected = match collect::collect(
        engine,
        &source,
        &request.source_text,
        &request.analysis.sensor,
        &resolve_request,
        workdir.path(),
        &stage,
    )
    .await
    {
        Ok(collected) => collected,
        Err(e) => {
            stage.fail();
            return Err(e.into());
        }
    };
    let total = collected.outcome.total;
    timed(
        "resolve",
        stage.done(&format!(
            "keeping {} of {} path(s), {}",
            collected.outcome.resolution.keep.len(),
            total.files + total.symlinks + total.dirs,
            human_bytes(collected.outcome.packed.bytes)
        )),
    );

    // rebuild
    let stage = printer.stage("rebuild");
    let rebuilt = match rebuild_image(&source, request, &output_name, &collected, workdir.path()) {
        Ok(rebuilt) => rebuilt,
        Err(e) => {
            stage.fail();
            return Err(e);
        }
    };
    timed(
        "rebuild",
        stage.done(&format!(
            "one layer, {} · user {}",
            human_bytes(rebuilt.layer.size),
            rebuilt.user.config_user()
        )),
    );

    // load
    let stage = printer.stage("load");
    let previous = engine.inspect_image(&output_name).await?;
    engine.load_archive(&rebuilt.archive).await?;
    let loaded = engine
        .inspect_image(&output_name)
        .await?
        .with_context(|| format!("the engine did not list {output_name} after loading it"))?;
    if let Some(previous) = previous.filter(|p| p.id != loaded.id) {
        // The image this name pointed at before is ours and now untagged; drop it if unused.
        let _ = engine.remove_image(&previous.id).await;
    }
    timed(
        "load",
        stage.done(&format!("{output_name} · {}", short(&loaded.id))),
    );

    // verify
    let verification = if request.verify {
        let stage = printer.stage("verify");
        let options = verify::VerifyOptions {
            ports: &source.tcp_ports(),
            timeout: request.analysis.timeout,
            sensor: &request.analysis.sensor,
        };
        match verify::verify(
            engine,
            &loaded.id,
            &request.source_text,
            &analysis,
            &options,
            &stage,
        )
        .await
        {
            Ok(verification) => {
                let summary = verdict(&verification);
                timed("verify", stage.done(&summary));
                Some(verification)
            }
            Err(e) => {
                stage.fail();
                return Err(e.into());
            }
        }
    } else {
        None
    };

    let report = BuildReport {
        slim_version: env!("CARGO_PKG_VERSION").into(),
        source: ImageSummary {
            reference: request.source_text.clone(),
            id: source.id.clone(),
            size: source.size,
            files: total.files + total.symlinks,
            user: source.user.clone(),
        },
        output: ImageSummary {
            reference: output_name.clone(),
            id: loaded.id.clone(),
            size: loaded.size,
            files: rebuilt.layer.files + rebuilt.layer.symlinks + rebuilt.layer.hardlinks,
            user: rebuilt.user.config_user(),
        },
        user_source: serde_json::to_value(rebuilt.user.source)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        reduction: source.size as f64 / loaded.size.max(1) as f64,
        stages,
        analysis: AnalysisSummary {
            command: analysis.command.clone(),
            continue_after: analysis.mode.to_string(),
            exit: analysis.exit,
            stopped_by_slim: analysis.stopped_by_slim,
            processes: analysis.trace.processes,
            file_syscalls: analysis.trace.syscalls,
            traced_paths: analysis.trace.files.len(),
            http_probes: analysis.http.clone(),
            exec_probes: analysis.execs.clone(),
            sensor_warnings: analysis.trace.warnings.clone(),
        },
        verification: verification.clone(),
        kept: collected.outcome.resolution.keep.paths.clone(),
        missing: collected.outcome.resolution.missing.clone(),
        unresolved_libraries: collected.outcome.resolution.unresolved_libs.clone(),
        dropped_setuid: rebuilt.layer.dropped_setuid.clone(),
        made_writable: rebuilt.layer.made_writable.clone(),
        made_accessible: rebuilt.layer.made_accessible.clone(),
        added: rebuilt.layer.added.clone(),
    };
    let json = serde_json::to_string_pretty(&report).context("serializing the report")?;
    std::fs::write(&request.report, format!("{json}\n"))
        .with_context(|| format!("writing the report to {}", request.report.display()))?;
    printer.build_report(&report, &json, &request.report);

    match &verification {
        Some(v) if !v.passed() => {
            eprintln!("error: the slim image {output_name} does not answer like the original:");
            for check in v.failures() {
                eprintln!(
                    "  {}: original {} · slim {}",
                    check.name, check.original, check.slim
                );
            }
            if let Some(output) = &v.slim_output {
                eprintln!("{output}");
            }
            eprintln!("The image stays tagged as {output_name} so you can inspect it.");
            Ok(Outcome::VerifyFailed)
        }
        _ => Ok(Outcome::Success),
    }
}

async fn find_source(
    engine: &Engine,
    request: &BuildRequest,
    stage: &crate::printer::Stage,
) -> Result<ImageSpec> {
    use slim::progress::Progress;
    if let Some(spec) = engine.inspect_image(&request.source_text).await? {
        return Ok(spec);
    }
    if request.source.is_id {
        bail!(
            "no image with ID {} in the engine at {}",
            request.source_text,
            engine.host()
        );
    }
    stage.step(&format!(
        "{} is not in the engine; pulling it",
        request.source_text
    ));
    engine
        .pull(&request.source, &|message: &str| stage.step(message))
        .await?;
    engine
        .inspect_image(&request.source_text)
        .await?
        .with_context(|| {
            format!(
                "{} was pulled but the engine does not list it",
                request.source_text
            )
        })
}

/// The output name must not be the source, and an image already under that name is replaced
/// only if slim made it from the same source (or with --force).
async fn check_output_name(
    engine: &Engine,
    output_name: &str,
    source: &ImageSpec,
    request: &BuildRequest,
) -> Result<()> {
    let Some(existing) = engine.inspect_image(output_name).await? else {
        return Ok(());
    };
    if existing.id == source.id {
        bail!(UsageError(format!(
            "{output_name} is the source image itself; choose another name with --tag"
        )));
    }
    let made_from_source = existing
        .labels
        .get(BASE_NAME_LABEL)
        .is_some_and(|name| *name == request.source_text);
    if !made_from_source && !request.force {
        bail!(UsageError(format!(
            "{output_name} already names an image that slim did not make from {}; choose another name with --tag, or pass --force to replace it",
            request.source_text
        )));
    }
    Ok(())
}

struct Rebuilt {
    user: rebuild::UserPlan,
    layer: rebuild::LayerSummary,
    archive: PathBuf,
}

fn rebuild_image(
    source: &ImageSpec,
    request: &BuildRequest,
    output_name: &str,
    collected: &Collected,
    workdir: &std::path::Path,
) -> Result<Rebuilt> {
    let kept = KeptIndex::open(&collected.kept_tar)?;
    let user = rebuild::plan_user(
        &source.user,
        request.user.as_ref(),
        kept.read_text("/etc/passwd")?.as_deref(),
        kept.read_text("/etc/group")?.as_deref(),
    )
    .context("choosing the user of the slim image")?;
    let mtime_clamp = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or_else(|| source.created_epoch())
        .unwrap_or(i64::MAX);
    let plan = LayerPlan {
        user: user.clone(),
        writable: collected.outcome.resolution.writable_dirs.clone(),
        workdir: Some(source.working_dir.clone()).filter(|w| w.starts_with('/') && w != "/"),
        mtime_clamp,
    };
    let layer_path = workdir.join("layer.tar");
    let layer = rebuild::write_layer(&kept, &plan, &layer_path)?;
    let source_digest = source
        .repo_digest()
        .map(str::to_string)
        .unwrap_or_else(|| source.id.clone());
    let created = source
        .created
        .clone()
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into());
    let config = rebuild::image_config(&ConfigInput {
        source,
        user: &user.config_user(),
        diff_id: &layer.diff_id,
        created: &created,
        extra_labels: [
            (BASE_NAME_LABEL.to_string(), request.source_text.clone()),
            (BASE_DIGEST_LABEL.to_string(), source_digest),
        ]
        .into(),
        created_by: &format!("slim build {}", request.source_text),
    });
    let archive = workdir.join("image.tar");
    archive::write_image(
        &ImageLocation::DockerArchive {
            path: archive.clone(),
            reference: None,
        },
        &ImageToWrite {
            config: &config,
            layer: &layer_path,
            name: Some(output_name),
        },
        &WriteOptions::default(),
    )
    .context("writing the image archive")?;
    let _ = std::fs::remove_file(&collected.kept_tar);
    Ok(Rebuilt {
        user,
        layer,
        archive,
    })
}

fn ended(analysis: &analyze::Analysis) -> String {
    match (analysis.stopped_by_slim, analysis.exit) {
        (true, _) => format!("stopped after {:.1}s", analysis.duration.as_secs_f64()),
        (false, Some(exit)) => format!("exited with status {}", exit.code),
        (false, None) => "ended".into(),
    }
}

fn verdict(verification: &Verification) -> String {
    if verification.passed() {
        format!("PASS ({} check(s))", verification.checks.len())
    } else {
        format!(
            "FAIL ({} of {} check(s) differ)",
            verification.failures().count(),
            verification.checks.len()
        )
    }
}

fn short(id: &str) -> String {
    let hex = id.trim_start_matches("sha256:");
    hex[..hex.len().min(12)].to_string()
}
