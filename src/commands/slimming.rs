//! What every command that slims an image shares: turning the command line into a checked
//! [`SlimRequest`], and running work against the engine with cleanup on every path out
//! (success, error, Ctrl-C, SIGTERM), after removing what killed runs left behind.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use slim::analyze::{self, AnalysisOptions, ContinueAfter};
use slim::collect::KeepControls;
use slim::engine::Engine;
use slim::image::{ImageRef, UserSpec};
use slim::pipeline::request::{image_file, naming_reference};
use slim::pipeline::{PipelineError, SlimRequest};
use slim::probe::HttpProbe;
use slim::resolve::imports::Language;
use slim::resolve::profile::load_profiles;

use super::{Outcome, UsageError, report_error};
use crate::cli::{AnalysisArgs, KeepArgs};
use crate::printer::Printer;

/// The request the flags every slimming command shares make, checked before any work.
pub fn slim_request(
    image: &str,
    user: Option<&str>,
    analysis: AnalysisArgs,
    keep: KeepArgs,
    report: PathBuf,
) -> Result<SlimRequest> {
    let source_file = image_file(image).map_err(|e| UsageError(e.to_string()))?;
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
            all_syscalls: false,
            probe_from: analysis.probe_from,
        },
        controls: keep_controls(keep)?,
        report,
        verify_source: None,
        switch_shim: analyze::locate_switch_shim(),
        seccomp_profile: None,
    })
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

/// A pipeline error as the command line reports it: refusals are the command line's fault
/// (exit 2).
pub fn from_pipeline(error: PipelineError) -> anyhow::Error {
    if error.is_refusal() {
        UsageError(error.to_string()).into()
    } else {
        error.into()
    }
}
