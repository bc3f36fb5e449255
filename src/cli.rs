//! Command-line definitions and help text. No behaviour lives here.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

/// Make container images small and safe.
///
/// slim runs an image once with a tracer inside, keeps only the files the application touched
/// plus what those files need to load, and writes a new FROM-scratch image that runs as a
/// non-root user. It then runs the new image with the same probes and checks it answers the same.
///
/// `slim IMAGE` is short for `slim build IMAGE`.
#[derive(Debug, Parser)]
#[command(
    name = "slim",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub build: BuildArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Trace an image, keep what it needs, and load a slim non-root image (the default command)
    Build(BuildArgs),
    /// Check a Dockerfile for what makes images large or unsafe; exit 1 on an error-level finding
    Lint(LintArgs),
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Build")]
pub struct BuildArgs {
    /// The image to slim: NAME[:TAG], NAME@sha256:DIGEST or an image ID. Pulled if the engine lacks it.
    #[arg(value_name = "IMAGE", required = true)]
    pub image: Option<String>,

    /// Name of the slim image [default: NAME.slim:TAG]. An existing image under this name is
    /// replaced only if slim made it from the same source (see --force).
    #[arg(long, value_name = "NAME:TAG")]
    pub tag: Option<String>,

    /// Replace whatever image the output name points at.
    #[arg(long)]
    pub force: bool,

    /// Run the slim image as this user instead of the image's own non-root USER (or the
    /// `nonroot` user, 65532, that slim adds when the image runs as root).
    #[arg(long, value_name = "UID[:GID]")]
    pub user: Option<String>,

    /// Where to write the JSON report (every kept path with its reason, probes, timings).
    #[arg(long, value_name = "PATH", default_value = "slim.report.json")]
    pub report: PathBuf,

    /// Print the report as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,

    /// Print nothing but errors and, at the end, the slim image's name.
    #[arg(long, short)]
    pub quiet: bool,

    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Analysis")]
pub struct AnalysisArgs {
    /// Send `GET /` to every exposed TCP port (published on 127.0.0.1) until the app answers.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub http_probe: bool,

    /// Another request for every port that answered HTTP: METHOD:PATH or /PATH. Repeatable.
    #[arg(long, value_name = "METHOD:PATH")]
    pub http_probe_cmd: Vec<String>,

    /// A command to run (traced) in the container once the app is up. Repeatable.
    #[arg(long, value_name = "CMD")]
    pub exec: Vec<String>,

    /// When analysis ends: `exit` (the command exits by itself), `probe` (after the probes and
    /// exec commands), SECONDS (that long after the probes), `signal` (slim gets SIGUSR1) or
    /// `enter` [default: probe if there is something to probe, else exit].
    #[arg(long, value_name = "WHEN")]
    pub continue_after: Option<String>,

    /// Limit in seconds for the analysis run and for the verification run.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub timeout: u64,

    /// Accept a command that exits non-zero during analysis.
    #[arg(long)]
    pub allow_failure: bool,

    /// Add CAP_SYS_PTRACE to the analysis container, so the tracer can also follow processes
    /// that switch to another user (gosu, su-exec). Tracing works without it otherwise.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub cap_ptrace: bool,

    /// Run the slim image with the same probes and compare its answers with the original's.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub verify: bool,
}

#[derive(Debug, Clone, Args)]
pub struct LintArgs {
    /// The Dockerfile to check.
    #[arg(value_name = "DOCKERFILE", default_value = "Dockerfile")]
    pub dockerfile: PathBuf,

    /// The build context directory, where .dockerignore is looked for [default: the
    /// Dockerfile's directory].
    #[arg(long, value_name = "DIR")]
    pub context: Option<PathBuf>,

    /// How to print the findings: text for terminals and CI logs, json, or sarif (2.1.0) for
    /// code-scanning services.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = LintFormat::Text)]
    pub format: LintFormat,

    /// Do not report this rule (SL001…). Repeatable, or comma-separated. A comment line
    /// `# slim-lint ignore=SL004` right above an instruction silences a rule there only.
    #[arg(long, value_name = "ID", value_delimiter = ',')]
    pub ignore: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
    Sarif,
}
