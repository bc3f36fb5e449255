//! What every command that slims an image shares: checking the request, running work against
//! the engine with cleanup on every path out, and the inspect → analyze → resolve → plan stages.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use slim::analyze::{self, Analysis, AnalysisOptions, ContinueAfter};
use slim::archive::ImageLocation;
use slim::collect::{self, Collected, KeepControls};
use slim::engine::Engine;
use slim::image::{ImageRef, ImageSpec, UserSpec};
use slim::leftovers::ScratchDir;
use slim::probe::HttpProbe;
use slim::progress::Progress;
use slim::rebuild::{self, BASE_DIGEST_LABEL, BASE_NAME_LABEL, KeptIndex, LayerPlan, UserPlan};
use slim::report::{AnalysisSummary, StageTime, human_bytes};
use slim::resolve::imports::Language;
use slim::resolve::profile::load_profiles;

use super::{Outcome, UsageError, report_error};
use crate::cli::{AnalysisArgs, KeepArgs};
use crate::printer::{Printer, Stage};

/// The parts of a command line every slimming command has, checked before any work.
pub struct SlimRequest {
    pub source: ImageRef,
    /// the reference exactly as given, passed to the engine
    pub source_text: String,
    pub user: Option<UserSpec>,
    pub analysis: AnalysisOptions,
    pub controls: KeepControls,
    pub report: PathBuf,
    /// the source given as an image file (docker-archive:, oci:, oci-archive:)
    pub source_file: Option<ImageLocation>,
    /// refuse to work on any other source than this digest (`--verify-source`)
    pub verify_source: Option<String>,
    /// slim's stand-in for gosu & co. (`slim-switch`), if it is installed
    pub switch_shim: Option<PathBuf>,
}

impl SlimRequest {
    pub fn new(
        image: &str,
        user: Option<&str>,
        analysis: AnalysisArgs,
        keep: KeepArgs,
        report: PathBuf,
    ) -> Result<Self> {
        let source_file = image_file(image)?;
        let source = match &source_file {
            Some(location) => naming_reference(location),
            None => ImageRef::parse(image).map_err(|e| UsageError(e.to_string()))?,
        };
        let user = user
            .map(UserSpec::parse)
            .transpose()
            .map_err(|e| UsageError(format!("--user: {e}")))?;
        let continue_after = analysis
            .continue_after
            .as_deref()
            .map(str::parse::<ContinueAfter>)
            .transpose()
            .map_err(|e| UsageError(e.to_string()))?;
        let http_probe_cmds = analysis
            .http_probe_cmd
            .iter()
            .map(|c| HttpProbe::parse(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| UsageError(e.to_string()))?;
        if analysis.timeout == 0 {
            bail!(UsageError("--timeout must be at least 1 second".into()));
        }
        Ok(SlimRequest {
            source,
            source_text: image.to_string(),
            source_file,
            user,
            analysis: AnalysisOptions {
                http_probe: analysis.http_probe,
                http_probe_cmds,
                execs: analysis.exec,
                continue_after,
                timeout: Duration::from_secs(analysis.timeout),
                cap_ptrace: analysis.cap_ptrace,
                allow_failure: analysis.allow_failure,
                sensor: analyze::locate_sensor()?,
            },
            controls: keep_controls(keep)?,
            report,
            verify_source: None,
            switch_shim: analyze::locate_switch_shim(),
        })
    }
}

/// The --include-*/--exclude-*/--profile flags, with their files read and profiles loaded.
fn keep_controls(keep: KeepArgs) -> Result<KeepControls> {
    let mut include_paths = keep.include_path;
    include_paths.extend(keep.preserve_path);
    for file in keep
        .include_path_file
        .iter()
        .chain(&keep.preserve_path_file)
    {
        let text = std::fs::read_to_string(file)
            .map_err(|e| UsageError(format!("reading the path list {}: {e}", file.display())))?;
        include_paths.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string),
        );
    }
    if let Some(relative) = include_paths
        .iter()
        .chain(&keep.include_bin)
        .find(|p| !p.starts_with('/'))
    {
        bail!(UsageError(format!(
            "paths to keep are absolute paths in the image; {relative:?} is not"
        )));
    }
    let mut include_exes = keep.include_exe;
    if keep.include_shell {
        include_exes.push("sh".into());
    }
    let mut profiles = load_profiles(&keep.profile).map_err(|e| UsageError(e.to_string()))?;
    for name in &keep.skip_profile {
        if name == "all" {
            profiles.clear();
            continue;
        }
        if !profiles.iter().any(|p| p.name() == name) {
            let known: Vec<&str> = profiles.iter().map(|p| p.name()).collect();
            bail!(UsageError(format!(
                "--skip-profile {name:?}: no such profile (known: {})",
                known.join(", ")
            )));
        }
        profiles.retain(|p| p.name() != name);
    }
    let mut imports = Vec::new();
    if keep.include_imports {
        imports = Language::ALL.to_vec();
    }
    for name in &keep.skip_imports {
        let Some(language) = Language::from_name(name) else {
            let known: Vec<&str> = Language::ALL.iter().map(|l| l.name()).collect();
            bail!(UsageError(format!(
                "--skip-imports {name:?}: no such language (known: {})",
                known.join(", ")
            )));
        };
        imports.retain(|l| *l != language);
    }
    Ok(KeepControls {
        imports,
        app_content: keep.include_app_dir,
        include_workdir: keep.include_workdir,
        include_paths,
        include_bins: keep.include_bin,
        include_exes,
        exclude_patterns: keep.exclude_pattern,
        profiles,
        include_cert_all: keep.include_cert_all,
        include_zoneinfo: keep.include_zoneinfo,
        include_locale: keep.include_locale,
        keep_package_db: keep.keep_package_db,
    })
}

/// Connect to the engine, run `work`, and remove every container slim created whether the work
/// succeeded, failed or was interrupted (Ctrl-C, SIGTERM).
pub async fn with_engine<F, Fut>(printer: &Printer, work: F) -> Outcome
where
    F: FnOnce(Engine) -> Fut,
    Fut: Future<Output = Result<Outcome>>,
{
    let engine = match Engine::connect().await {
        Ok(engine) => engine,
        Err(e) => return report_error(&e.into()),
    };
    reap_gone_runs(&engine, printer).await;
    let outcome = tokio::select! {
        result = work(engine.clone()) => result.unwrap_or_else(|e| report_error(&e)),
        _ = interrupted() => {
            printer.warn("interrupted: removing the containers slim created");
            Outcome::Interrupted
        }
    };
    engine.cleanup().await;
    outcome
}

/// Remove what earlier slim runs on this machine left when they were killed; a failure
/// here is only noted, it never stops this run.
async fn reap_gone_runs(engine: &Engine, printer: &Printer) {
    match engine.reap_gone_runs(false).await {
        Ok(reaped) if !reaped.is_empty() => printer.note(&format!(
            "removed {} left by slim runs that were killed (see `slim clean`)",
            reaped.summary()
        )),
        Ok(_) => {}
        Err(e) => printer.warn(&format!(
            "could not remove what killed slim runs left behind: {e}"
        )),
    }
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

/// Stage times, recorded as the stages finish.
#[derive(Default)]
pub struct Timeline {
    pub stages: Vec<StageTime>,
}

impl Timeline {
    /// Run one stage with its progress display; record its time when it succeeds.
    pub async fn stage<T>(
        &mut self,
        printer: &Printer,
        name: &str,
        work: impl AsyncFnOnce(&Stage) -> Result<T>,
        summary: impl FnOnce(&T) -> String,
    ) -> Result<T> {
        let stage = printer.stage(name);
        match work(&stage).await {
            Ok(value) => {
                let took = stage.done(&summary(&value));
                self.stages.push(StageTime {
                    stage: name.into(),
                    seconds: took.as_secs_f64(),
                });
                Ok(value)
            }
            Err(e) => {
                stage.fail();
                Err(e)
            }
        }
    }
}

/// The source, what it did, what it keeps, and how the slim layer will differ from it.
pub struct Prepared {
    pub source: ImageSpec,
    pub analysis: Analysis,
    pub collected: Collected,
    pub user: UserPlan,
    pub layer_plan: LayerPlan,
    /// holds the kept tar and everything written from it; removed when dropped
    pub workdir: ScratchDir,
}

/// inspect → analyze → resolve, and the plan for the slim layer.
pub async fn prepare(
    engine: &Engine,
    request: &SlimRequest,
    printer: &Printer,
    timeline: &mut Timeline,
) -> Result<Prepared> {
    let source = inspect(engine, request, printer, timeline).await?;
    prepare_from(engine, request, source, printer, timeline).await
}

/// The inspect stage: find (pull, or load from a file) the source.
pub async fn inspect(
    engine: &Engine,
    request: &SlimRequest,
    printer: &Printer,
    timeline: &mut Timeline,
) -> Result<ImageSpec> {
    timeline
        .stage(
            printer,
            "inspect",
            async |stage| find_source(engine, request, stage).await,
            |s: &ImageSpec| {
                format!(
                    "{} · {} · {} layer(s)",
                    short(&s.id),
                    human_bytes(s.size),
                    s.layers
                )
            },
        )
        .await
}

/// analyze → resolve → plan, for a source already inspected.
pub async fn prepare_from(
    engine: &Engine,
    request: &SlimRequest,
    source: ImageSpec,
    printer: &Printer,
    timeline: &mut Timeline,
) -> Result<Prepared> {
    if let Some(spec) = &request.user
        && matches!(spec.user.as_str(), "0" | "root")
    {
        printer.warn(&format!(
            "--user {spec}: the slim image will run as root, which is what slim exists to avoid; \
             leave --user out to get a non-root user"
        ));
    }
    let analysis = timeline
        .stage(
            printer,
            "analyze",
            async |stage| {
                Ok(analyze::analyze(
                    engine,
                    &source,
                    &request.source_text,
                    &request.analysis,
                    stage,
                )
                .await?)
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
    let workdir = ScratchDir::new("slim-").context("creating a temporary directory")?;
    let collected = timeline
        .stage(
            printer,
            "resolve",
            async |stage| {
                let resolve_request =
                    collect::resolve_request(&source, &analysis.trace, &request.controls);
                Ok(collect::collect(
                    engine,
                    &source,
                    &request.source_text,
                    &request.analysis.sensor,
                    &resolve_request,
                    workdir.path(),
                    stage,
                )
                .await?)
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
    )
    .context("choosing the user of the slim image")?;
    let layer_plan = LayerPlan {
        user: user.clone(),
        writable: collected.outcome.resolution.writable_dirs.clone(),
        workdir: Some(source.working_dir.clone()).filter(|w| w.starts_with('/') && w != "/"),
        mtime_clamp: mtime_clamp(&source),
        package_db: collected.outcome.resolution.package_db.clone(),
        accessed: collected.outcome.resolution.accessed.clone(),
        switch_tools: switch_tools(&kept),
    };
    Ok(Prepared {
        source,
        analysis,
        collected,
        user,
        layer_plan,
        workdir,
    })
}

/// Kept user-switching tools (gosu, su-exec, runuser, setpriv, ...) that get slim's stand-in.
fn switch_tools(kept: &KeptIndex) -> std::collections::BTreeSet<String> {
    kept.entries
        .iter()
        .filter(|(_, entry)| matches!(entry.kind, rebuild::kept::KeptKind::File { .. }))
        .map(|(path, _)| path)
        .filter(|path| {
            let name = path.rsplit('/').next().unwrap_or_default();
            slim::switch_shim::TOOLS.contains(&name)
        })
        .cloned()
        .collect()
}

/// The stand-in's bytes when the plan replaces tools with it.
pub fn switch_shim_bytes(request: &SlimRequest, plan: &LayerPlan) -> Result<Option<Vec<u8>>> {
    if plan.switch_tools.is_empty() {
        return Ok(None);
    }
    let Some(path) = &request.switch_shim else {
        return Ok(None); // the layer writer says what is missing
    };
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Some(bytes))
}

async fn find_source(engine: &Engine, request: &SlimRequest, stage: &Stage) -> Result<ImageSpec> {
    let source = locate_source(engine, request, stage).await?;
    if let Some(expected) = &request.verify_source {
        check_source_digest(&source, &request.source_text, expected)?;
    }
    Ok(source)
}

/// `--verify-source`: the source must be the image with this ID or registry digest.
fn check_source_digest(source: &ImageSpec, name: &str, expected: &str) -> Result<()> {
    let expected = expected.trim();
    let digests: Vec<&str> = source
        .repo_digests
        .iter()
        .filter_map(|d| d.split_once('@'))
        .map(|(_, d)| d)
        .collect();
    if source.id == expected || digests.contains(&expected) {
        return Ok(());
    }
    let known = std::iter::once(source.id.as_str())
        .chain(digests.iter().copied())
        .collect::<Vec<_>>()
        .join(", ");
    bail!(
        "{name} is not the expected image: it is {known}, not {expected}; refusing to use it (--verify-source)"
    )
}

async fn locate_source(engine: &Engine, request: &SlimRequest, stage: &Stage) -> Result<ImageSpec> {
    if let Some(location) = &request.source_file {
        return load_image_file(engine, location, stage).await;
    }
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

/// `docker-archive:PATH`, `oci:DIR` or `oci-archive:PATH`, if `text` names an image file.
pub fn image_file(text: &str) -> Result<Option<ImageLocation>> {
    let is_file = slim::archive::location::TRANSPORTS
        .iter()
        .any(|t| text.starts_with(&format!("{t}:")));
    if !is_file {
        return Ok(None);
    }
    Ok(Some(text.parse().map_err(
        |e: slim::archive::LocationError| UsageError(e.to_string()),
    )?))
}

/// The name an image file's slim result is derived from: its REF, else the file's stem.
fn naming_reference(location: &ImageLocation) -> ImageRef {
    let from_ref = location.reference().and_then(|r| ImageRef::parse(r).ok());
    from_ref.unwrap_or_else(|| {
        let stem = location
            .path()
            .file_stem()
            .map(|s| s.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let name: String = stem
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let name = name
            .trim_matches(|c: char| !c.is_ascii_alphanumeric())
            .to_string();
        ImageRef::parse(if name.is_empty() { "image" } else { &name }).unwrap_or_else(|_| {
            ImageRef {
                name: "image".into(),
                tag: None,
                digest: None,
                is_id: false,
            }
        })
    })
}

/// Read an image file (every digest checked) and load it into the engine, untagged, for the
/// analysis; it is removed again when slim exits unless the engine had it already.
async fn load_image_file(
    engine: &Engine,
    location: &ImageLocation,
    stage: &Stage,
) -> Result<ImageSpec> {
    stage.step(&format!("reading {location} and checking its digests"));
    let work = ScratchDir::new("slim-source-").context("creating a temporary directory")?;
    let archive = work.path().join("source.tar");
    let (location_owned, archive_owned, staging) = (
        location.clone(),
        archive.clone(),
        work.path().join("layers"),
    );
    let id = tokio::task::spawn_blocking(move || -> Result<String> {
        let source = slim::archive::ImageSource::open(&location_owned)?;
        slim::archive::export::to_docker_archive(&source, &archive_owned, &staging)?;
        Ok(source.config_digest.to_string())
    })
    .await??;
    if engine.inspect_image(&id).await?.is_none() {
        stage.step("loading it into the engine for the analysis");
        // recorded first: a run killed while the engine loads it still leaves a record
        engine.track_temporary_image(&id);
        engine.load_archive(&archive).await?;
    }
    engine
        .inspect_image(&id)
        .await?
        .with_context(|| format!("the engine did not list {id} after loading {location}"))
}

/// No mtime in the layer is later than SOURCE_DATE_EPOCH or, without it, the source's creation.
fn mtime_clamp(source: &ImageSpec) -> i64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or_else(|| source.created_epoch())
        .unwrap_or(i64::MAX)
}

/// Labels every slim image carries: where it came from.
pub fn provenance_labels(
    source: &ImageSpec,
    source_text: &str,
) -> std::collections::BTreeMap<String, String> {
    let digest = source
        .repo_digest()
        .map(str::to_string)
        .unwrap_or_else(|| source.id.clone());
    [
        (BASE_NAME_LABEL.to_string(), source_text.to_string()),
        (BASE_DIGEST_LABEL.to_string(), digest),
    ]
    .into()
}

pub fn analysis_summary(analysis: &Analysis) -> AnalysisSummary {
    AnalysisSummary {
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
        user_switches: analysis.trace.user_switches.clone(),
    }
}

fn ended(analysis: &Analysis) -> String {
    match (analysis.stopped_by_slim, analysis.exit) {
        (true, _) => format!("stopped after {:.1}s", analysis.duration.as_secs_f64()),
        (false, Some(exit)) => format!("exited with status {}", exit.code),
        (false, None) => "ended".into(),
    }
}

pub fn short(id: &str) -> String {
    let hex = id.trim_start_matches("sha256:");
    hex[..hex.len().min(12)].to_string()
}
