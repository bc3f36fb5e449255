//! `slim build IMAGE IMAGE…` and `slim build --batch FILE`: several builds, `--jobs` at a
//! time, each with its own progress line; one summary table, one JSON report, and the exit
//! code of the worst run. Every image's flags are checked before the first build starts.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{CommandFactory, Parser};
use futures_util::StreamExt;
use serde::Serialize;
use slim::pipeline::{self, BuildPlan, Built, SlimRequest};
use slim::report::human_bytes;

use super::slimming::{from_pipeline, with_engine};
use super::{Outcome, UsageError, report_error};
use crate::cli::{BuildArgs, Cli, Command};
use crate::printer::Printer;

/// Whether a flag was given.
type Given = fn(&BuildArgs) -> bool;

/// Flags that belong to one image (its output, its source); with several images each needs its
/// own, in a batch file.
const ONE_IMAGE_FLAGS: [(&str, Given); 8] = [
    ("--tag", |a| a.tag.is_some()),
    ("--dockerfile", |a| a.dockerfile.is_some()),
    ("--push", |a| a.push.is_some()),
    ("--dockerfile-out", |a| a.dockerfile_out.is_some()),
    ("--sbom", |a| a.sbom.is_some()),
    ("--seccomp-profile", |a| a.seccomp_profile.is_some()),
    ("--verify-source", |a| a.verify_source.is_some()),
    ("--output", |a| a.destination != "docker"),
];

/// One build of the batch, checked and ready.
struct Job {
    /// the image as the user named it
    label: String,
    request: SlimRequest,
    plan: BuildPlan,
}

/// How one build ended, for the summary and the batch report.
#[derive(Debug, Serialize)]
struct RunSummary {
    image: String,
    /// `built`, `verify-failed` or `failed`
    outcome: &'static str,
    #[serde(serialize_with = "as_exit_code")]
    exit_code: Outcome,
    seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_before: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_after: Option<u64>,
    /// `passed`, `failed` or `skipped`
    #[serde(skip_serializing_if = "Option::is_none")]
    verify: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// the build's own report, as a single build writes it
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<serde_json::Value>,
}

#[derive(Debug, Serialize)]
struct BatchReport {
    slim_version: &'static str,
    jobs: usize,
    #[serde(serialize_with = "as_exit_code")]
    exit_code: Outcome,
    runs: Vec<RunSummary>,
}

/// An outcome as the number the process exits with.
fn as_exit_code<S: serde::Serializer>(outcome: &Outcome, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u8(*outcome as u8)
}

pub async fn run(args: BuildArgs, printer: &Printer) -> Outcome {
    let scratch = match tempfile::Builder::new().prefix("slim-batch-").tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            return report_error(&anyhow::Error::new(e).context("creating a scratch directory"));
        }
    };
    let (jobs, parallel) = match plan_jobs(&args, scratch.path()) {
        Ok(planned) => planned,
        Err(e) => return report_error(&e),
    };
    let report_path = args.output.report.clone();
    with_engine(printer, async |engine| {
        printer.note(&format!(
            "building {} image(s), {parallel} at a time",
            jobs.len()
        ));
        let multi = printer.multi();
        // The builds run as futures of this task, `parallel` at a time: their work is mostly
        // waiting on the engine (analysis, collection, verification), which interleaves.
        let builds = jobs.into_iter().enumerate().map(|(index, job)| {
            let (engine, multi) = (&engine, &multi);
            async move {
                let display = printer.job(&job.label, multi);
                let started = Instant::now();
                let result = pipeline::build(engine, &job.request, &job.plan, &display).await;
                let summary = summarize(&job.label, result, started.elapsed());
                display.finish(&summary.line());
                (index, summary)
            }
        });
        let mut runs: Vec<(usize, RunSummary)> = futures_util::stream::iter(builds)
            .buffer_unordered(parallel)
            .collect()
            .await;
        runs.sort_by_key(|(index, _)| *index);
        let runs: Vec<RunSummary> = runs.into_iter().map(|(_, run)| run).collect();
        let worst = worst_outcome(runs.iter().map(|r| r.exit_code));
        let report = BatchReport {
            slim_version: env!("CARGO_PKG_VERSION"),
            jobs: parallel,
            exit_code: worst,
            runs,
        };
        let json = serde_json::to_string_pretty(&report).expect("the batch report serializes");
        std::fs::write(&report_path, format!("{json}\n"))
            .with_context(|| format!("writing the report {}", report_path.display()))?;
        if printer.is_json() {
            printer.result(&json);
        } else {
            printer.result(&table(&report.runs));
            for run in report.runs.iter().filter(|r| r.error.is_some()) {
                eprintln!(
                    "error: {}: {}",
                    run.image,
                    run.error.as_deref().unwrap_or_default()
                );
            }
            printer.note(&format!("report: {}", report_path.display()));
        }
        Ok(worst)
    })
    .await
}

/// Every image's request and plan, and how many to run at once.
fn plan_jobs(args: &BuildArgs, scratch: &Path) -> Result<(Vec<Job>, usize)> {
    let (entries, file_jobs) = match &args.batch {
        Some(path) => read_batch_file(path)?,
        None => {
            if let Some((flag, _)) = ONE_IMAGE_FLAGS.iter().find(|(_, given)| given(args)) {
                bail!(UsageError(format!(
                    "{flag} belongs to one image; with several images give each its own in a --batch file"
                )));
            }
            let entries = args
                .images
                .iter()
                .map(|image| {
                    let mut single = args.clone();
                    single.images = vec![image.clone()];
                    (image.clone(), single)
                })
                .collect();
            (entries, None)
        }
    };
    if entries.is_empty() {
        bail!(UsageError("the batch lists no image".into()));
    }
    let mut jobs: Vec<Job> = Vec::new();
    for (n, (label, entry)) in entries.into_iter().enumerate() {
        let (mut request, plan) =
            super::build::build_plan(&entry).map_err(|e| UsageError(format!("{label}: {e}")))?;
        if let Some(other) = jobs.iter().find(|j| j.plan.tag == plan.tag) {
            bail!(UsageError(format!(
                "{label} and {} would both be written as {}; give one of them its own `tag`",
                other.label, plan.tag
            )));
        }
        // Each build's own report goes into the batch report, not next to the others.
        request.report = scratch.join(format!("{n}.json"));
        jobs.push(Job {
            label,
            request,
            plan,
        });
    }
    let parallel = args.jobs.map(usize::from).or(file_jobs).unwrap_or(1);
    let parallel = parallel.clamp(1, jobs.len());
    Ok((jobs, parallel))
}

/// An image as the user named it, and its flags.
type Entry = (String, BuildArgs);

/// `[[image]]` entries of a batch file, each turned into the flags of one `slim build`.
fn read_batch_file(path: &Path) -> Result<(Vec<Entry>, Option<usize>)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the batch file {}", path.display()))
        .map_err(|e| UsageError(format!("{e:#}")))?;
    let file: toml::Table = text
        .parse()
        .map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
    let problem = |what: String| UsageError(format!("{}: {what}", path.display()));
    let mut jobs = None;
    let mut defaults = toml::Table::new();
    let mut images = Vec::new();
    for (key, value) in file {
        match (key.as_str(), value) {
            ("jobs", toml::Value::Integer(n)) if n >= 1 => jobs = Some(n as usize),
            ("defaults", toml::Value::Table(table)) => defaults = table,
            ("image", toml::Value::Array(entries)) => images = entries,
            (other, _) => {
                return Err(problem(format!(
                    "unexpected `{other}` (expected `jobs = N`, a `[defaults]` table and `[[image]]` tables)"
                ))
                .into());
            }
        }
    }
    let mut entries = Vec::new();
    for (n, entry) in images.into_iter().enumerate() {
        let toml::Value::Table(mut table) = entry else {
            return Err(problem(format!("image {} is not a table", n + 1)).into());
        };
        let Some(toml::Value::String(image)) = table.remove("image") else {
            return Err(problem(format!("image {} has no `image = \"NAME:TAG\"`", n + 1)).into());
        };
        let mut merged = defaults.clone();
        merged.extend(table);
        let argv = flags_argv(&image, &merged).map_err(|e| problem(format!("{image}: {e}")))?;
        let args = match Cli::try_parse_from(&argv) {
            Ok(Cli {
                command: Some(Command::Build(args)),
                ..
            }) => *args,
            Ok(_) => unreachable!("the argv starts with `build`"),
            Err(e) => {
                let message = e.to_string();
                let first = message.lines().next().unwrap_or_default();
                return Err(
                    problem(format!("{image}: {}", first.trim_start_matches("error: "))).into(),
                );
            }
        };
        entries.push((image, args));
    }
    Ok((entries, jobs))
}

/// `slim build IMAGE --flag value…` from a table of flags: strings and numbers are values,
/// booleans switch a switch on (or leave it off) or are the value of a flag that takes one,
/// arrays repeat the flag.
fn flags_argv(image: &str, flags: &toml::Table) -> Result<Vec<String>, String> {
    let mut argv = vec!["slim".to_string(), "build".to_string(), image.to_string()];
    for (key, value) in flags {
        if matches!(
            key.as_str(),
            "batch" | "jobs" | "report" | "json" | "quiet" | "from-report" | "docker-context"
        ) {
            return Err(format!(
                "`{key}` applies to the whole batch, not to one image"
            ));
        }
        let flag = format!("--{key}");
        let values = match value {
            toml::Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        for value in values {
            match value {
                toml::Value::String(s) => argv.extend([flag.clone(), s]),
                toml::Value::Integer(i) => argv.extend([flag.clone(), i.to_string()]),
                toml::Value::Float(f) => argv.extend([flag.clone(), f.to_string()]),
                // a switch (`--force`) is given or left out; a flag with a value
                // (`--verify=false`) takes it
                toml::Value::Boolean(b) if is_switch(key) => {
                    if b {
                        argv.push(flag.clone());
                    }
                }
                toml::Value::Boolean(b) => argv.push(format!("{flag}={b}")),
                _ => {
                    return Err(format!(
                        "`{key}` must be a string, number, boolean or a list of them"
                    ));
                }
            }
        }
    }
    Ok(argv)
}

/// Whether `slim build --NAME` is a switch that takes no value.
fn is_switch(name: &str) -> bool {
    let command = Cli::command();
    command
        .find_subcommand("build")
        .and_then(|build| build.get_arguments().find(|a| a.get_long() == Some(name)))
        .is_some_and(|arg| matches!(arg.get_action(), clap::ArgAction::SetTrue))
}

fn summarize(
    label: &str,
    result: Result<Built, pipeline::PipelineError>,
    took: Duration,
) -> RunSummary {
    let mut run = RunSummary {
        image: label.to_string(),
        outcome: "failed",
        exit_code: Outcome::Failure,
        seconds: (took.as_secs_f64() * 10.0).round() / 10.0,
        output: None,
        size_before: None,
        size_after: None,
        verify: None,
        error: None,
        report: None,
    };
    match result {
        Ok(built) => {
            let (verify, outcome, exit_code) =
                match (&built.report.verification, built.failed_verification()) {
                    (None, _) => ("skipped", "built", Outcome::Success),
                    (Some(_), None) => ("passed", "built", Outcome::Success),
                    (Some(_), Some(_)) => ("failed", "verify-failed", Outcome::VerifyFailed),
                };
            run.outcome = outcome;
            run.exit_code = exit_code;
            run.output = Some(built.report.output.reference.clone());
            run.size_before = Some(built.report.source.size);
            run.size_after = Some(built.report.output.size);
            run.verify = Some(verify);
            run.report = serde_json::from_str(&built.json).ok();
        }
        Err(e) => {
            let error = from_pipeline(e);
            if error.downcast_ref::<UsageError>().is_some() {
                run.exit_code = Outcome::Usage;
            }
            run.error = Some(format!("{error:#}"));
        }
    }
    run
}

impl RunSummary {
    /// The line shown when the build ends.
    fn line(&self) -> String {
        match (self.outcome, &self.output) {
            ("failed", _) => format!("✗ failed ({:.1}s)", self.seconds),
            (outcome, Some(output)) => format!(
                "{} {output} ({:.1}s, {} → {}, verify {})",
                if outcome == "built" { "✓" } else { "✗" },
                self.seconds,
                human_bytes(self.size_before.unwrap_or_default()),
                human_bytes(self.size_after.unwrap_or_default()),
                self.verify.unwrap_or("skipped"),
            ),
            _ => String::new(),
        }
    }
}

/// The worst outcome: a failed build over a refused one over a failed verification over
/// success.
fn worst_outcome(outcomes: impl Iterator<Item = Outcome>) -> Outcome {
    let rank = |outcome: &Outcome| match outcome {
        Outcome::Success => 0,
        Outcome::VerifyFailed => 1,
        Outcome::Usage => 2,
        Outcome::Failure | Outcome::Interrupted => 3,
    };
    outcomes.max_by_key(rank).unwrap_or(Outcome::Success)
}

fn table(runs: &[RunSummary]) -> String {
    let width = runs.iter().map(|r| r.image.len()).max().unwrap_or(5).max(5);
    let mut out = format!(
        "{:<width$}  {:>10}  {:>10}  {:>7}  {:<8}  {:>7}  result\n",
        "image", "before", "after", "ratio", "verify", "time"
    );
    for run in runs {
        let size = |bytes: Option<u64>| bytes.map(human_bytes).unwrap_or_else(|| "-".into());
        let ratio = match (run.size_before, run.size_after) {
            (Some(before), Some(after)) if after > 0 => {
                format!("{:.1}x", before as f64 / after as f64)
            }
            _ => "-".into(),
        };
        let result = match (&run.output, run.outcome) {
            (Some(output), "built") => output.clone(),
            (Some(output), _) => format!("{output} (differs)"),
            (None, _) => "failed".into(),
        };
        out.push_str(&format!(
            "{:<width$}  {:>10}  {:>10}  {:>7}  {:<8}  {:>6.1}s  {result}\n",
            run.image,
            size(run.size_before),
            size(run.size_after),
            ratio,
            run.verify.unwrap_or("-"),
            run.seconds,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_become_an_argv_clap_reads() {
        let table: toml::Table = toml::from_str(
            r#"
            http-probe-cmd = ["/health", "POST:/items"]
            verify = false
            tag = "api.slim:2"
            continue-after = 5
            force = true
            keep-package-db = false
            "#,
        )
        .unwrap();
        let argv = flags_argv("api:2", &table).unwrap();
        let Cli {
            command: Some(Command::Build(args)),
            ..
        } = Cli::try_parse_from(&argv).unwrap()
        else {
            panic!("not a build: {argv:?}");
        };
        assert_eq!(args.images, vec!["api:2"]);
        assert_eq!(args.analysis.http_probe_cmd, vec!["/health", "POST:/items"]);
        assert!(!args.verify);
        assert_eq!(args.tag.as_deref(), Some("api.slim:2"));
        assert!(args.force && !args.keep.keep_package_db);
    }

    #[test]
    fn batch_wide_flags_and_tables_are_refused() {
        let table: toml::Table = toml::from_str("jobs = 2").unwrap();
        assert!(flags_argv("a", &table).unwrap_err().contains("whole batch"));
        let table: toml::Table = toml::from_str("x = { y = 1 }").unwrap();
        assert!(flags_argv("a", &table).is_err());
    }

    #[test]
    fn a_batch_file_with_defaults_and_per_image_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("batch.toml");
        std::fs::write(
            &path,
            r#"
            jobs = 3
            [defaults]
            verify = false
            [[image]]
            image = "a:1"
            [[image]]
            image = "b:1"
            verify = true
            http-probe-cmd = ["/b"]
            "#,
        )
        .unwrap();
        let (entries, jobs) = read_batch_file(&path).unwrap();
        assert_eq!(jobs, Some(3));
        assert_eq!(entries.len(), 2);
        assert!(!entries[0].1.verify);
        assert!(entries[1].1.verify);
        assert_eq!(entries[1].1.analysis.http_probe_cmd, vec!["/b"]);

        std::fs::write(&path, "[[image]]\nimage = \"a\"\nno-such-flag = 1\n").unwrap();
        let error = read_batch_file(&path).unwrap_err().to_string();
        assert!(
            error.contains("a: unexpected argument '--no-such-flag'"),
            "{error}"
        );
        std::fs::write(&path, "[[image]]\ntag = \"x\"\n").unwrap();
        assert!(
            read_batch_file(&path)
                .unwrap_err()
                .to_string()
                .contains("has no `image")
        );
        std::fs::write(&path, "images = []\n").unwrap();
        assert!(
            read_batch_file(&path)
                .unwrap_err()
                .to_string()
                .contains("unexpected `images`")
        );
    }

    #[test]
    fn the_worst_run_decides_the_exit_code() {
        use Outcome::{Failure, Success, VerifyFailed};
        assert_eq!(worst_outcome([Success, Success].into_iter()), Success);
        assert_eq!(
            worst_outcome([Success, VerifyFailed].into_iter()),
            VerifyFailed
        );
        assert_eq!(
            worst_outcome([VerifyFailed, Failure, Success].into_iter()),
            Failure
        );
        assert_eq!(worst_outcome(std::iter::empty()), Success);
    }
}
