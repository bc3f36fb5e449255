//! Command-line definitions and help text. No behaviour lives here.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};
use slim::analyze::ProbeFrom;
use slim::sbom::SbomFormat;
use slim::verify::judge::CompareMode;

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

    /// Talk to the engine of this Docker context (`docker context ls`), like `docker
    /// --context`. Without it: DOCKER_HOST (with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH),
    /// then DOCKER_CONTEXT, then the Docker config's current context, then the local socket.
    #[arg(long, global = true, value_name = "NAME")]
    pub docker_context: Option<String>,

    #[command(flatten)]
    pub build: BuildArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Trace an image, keep what it needs, and load a slim non-root image (the default command)
    Build(Box<BuildArgs>),
    /// Trace an image and write a multi-stage Dockerfile that builds the slim image
    Dockerfile(Box<DockerfileArgs>),
    /// List the runtime profiles: what slim keeps for a runtime beyond what the trace saw
    Profiles(ProfilesArgs),
    /// Check a Dockerfile for what makes images large or unsafe; exit 1 on an error-level finding
    Lint(LintArgs),
    /// Push an image to a registry with the credentials of your Docker config
    Push(PushArgs),
    /// Check an image's signatures in its registry (cosign's format) against a public key;
    /// exit 0 when one verifies, 3 when none does
    Verify(VerifyArgs),
    /// Write a new signing key pair in cosign's format (KEY.key sealed with COSIGN_PASSWORD,
    /// KEY.pub), for --sign-key and for skopeo, podman and cosign
    GenerateKeyPair(GenerateKeyPairArgs),
    /// Two images side by side: size, layers, files, user, shell, setuid files, package
    /// managers and layer efficiency
    Compare(CompareArgs),
    /// The slim images in the engine, with their sources and how much smaller they are
    Images(ImagesArgs),
    /// Remove what slim runs that were killed left behind: their containers, the images they
    /// loaded for themselves and their scratch directories (every run also does this first)
    Clean(CleanArgs),
}

#[derive(Debug, Clone, Args)]
pub struct CleanArgs {
    /// Only list what would be removed.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// An image in the engine (NAME[:TAG] or ID) or an image file
    /// (docker-archive:PATH, oci:DIR, oci-archive:PATH).
    #[arg(value_name = "IMAGE_A")]
    pub left: String,

    /// The image to compare it with, in the same forms.
    #[arg(value_name = "IMAGE_B")]
    pub right: String,

    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ImagesArgs {
    /// Print the list as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct PushArgs {
    /// The local image to push (name or ID).
    #[arg(value_name = "IMAGE")]
    pub image: String,

    /// Push under this reference (NAME[:TAG]) instead of the image's own name.
    #[arg(value_name = "REF")]
    pub target: Option<String>,

    /// Sign the pushed manifest digest with this key (see `slim build --sign-key`).
    #[arg(long, value_name = "KEY")]
    pub sign_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The image in its registry: NAME[:TAG] (its current digest is checked) or NAME@sha256:….
    #[arg(value_name = "IMAGE")]
    pub image: String,

    /// The public key (PEM `PUBLIC KEY`, as `slim generate-key-pair` and cosign write it).
    #[arg(long, value_name = "PUB")]
    pub key: PathBuf,

    /// Print the verdict as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct GenerateKeyPairArgs {
    /// Write PREFIX.key and PREFIX.pub; existing files are never overwritten.
    #[arg(long, value_name = "PREFIX", default_value = "cosign")]
    pub output_key_prefix: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ProfilesArgs {
    /// Also load this profile file (as `build --profile` would). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub profile: Vec<PathBuf>,

    /// Print the profiles as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Build")]
pub struct BuildArgs {
    /// The image to slim: NAME[:TAG], NAME@sha256:DIGEST or an image ID. Pulled if the engine
    /// lacks it. With --dockerfile, the name the built image gets. Several images are built
    /// as a batch (see --jobs), each with the same flags.
    #[arg(value_name = "IMAGE", required_unless_present_any = ["dockerfile", "batch"])]
    pub images: Vec<String>,

    /// Build the images a TOML file lists, each with its own flags: `[[image]]` tables with
    /// `image = "NAME:TAG"` and any of these flags by their long name
    /// (`http-probe-cmd = ["/health"]`, `tag = "…"`, `verify = false`), and a `[defaults]`
    /// table of flags for every image. `jobs = N` at the top sets --jobs.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["images", "dockerfile", "from_report"])]
    pub batch: Option<PathBuf>,

    /// With several images: how many to build at once. Each build runs one analysis
    /// container at a time and its own verification.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// Build the image from this Dockerfile first (through the engine), then slim it.
    #[arg(long, value_name = "PATH")]
    pub dockerfile: Option<PathBuf>,

    /// Build context for --dockerfile [default: the Dockerfile's directory].
    #[arg(long, value_name = "DIR", requires = "dockerfile")]
    pub context: Option<PathBuf>,

    /// Which builder runs --dockerfile: buildkit needs the engine on a unix socket.
    #[arg(long, value_enum, default_value_t = BuilderChoice::Buildkit, requires = "dockerfile")]
    pub builder: BuilderChoice,

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

    /// Run the slim image with the same probes and compare its answers with the original's.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub verify: bool,

    /// How verification compares answers: `exact` (the same bytes) or `structure` (the same
    /// status and content type; for JSON the same keys at every level, otherwise the same
    /// number of lines and a length within a tenth), for output that changes between runs.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = CompareMode::Exact)]
    pub verify_compare: CompareMode,

    /// Cut what matches this regular expression from both answers before comparing them (a
    /// date, a request id, a token). Repeatable.
    #[arg(long, value_name = "REGEX")]
    pub verify_ignore: Vec<String>,

    /// Where the slim image goes: `docker` (load it into the engine as NAME.slim:TAG),
    /// `docker-archive:PATH`, `oci:DIR` or `oci-archive:PATH` (an image file; the engine still
    /// runs it once to verify it, then forgets it).
    #[arg(long = "output", value_name = "WHERE", default_value = "docker")]
    pub destination: String,

    /// Rebuild from a recorded report and an image file, with no engine and no analysis: the
    /// same kept files and user changes as the run that wrote REPORT.
    #[arg(long, value_name = "REPORT")]
    pub from_report: Option<PathBuf>,

    /// Push the slim image to this registry reference (NAME[:TAG]) with the credentials of your
    /// Docker config, and print the pinned reference (NAME@sha256:…) to deploy.
    #[arg(long, value_name = "REF", conflicts_with = "from_report")]
    pub push: Option<String>,

    /// Sign the pushed manifest digest with this key, cosign's way: the signature goes to the
    /// same repository under the tag `sha256-<hex>.sig`, where cosign, skopeo and podman
    /// look. KEY is cosign's encrypted key (its password in COSIGN_PASSWORD) or a plain
    /// PKCS#8 PEM ECDSA P-256 key. Check it with `slim verify IMAGE --key PUB`.
    #[arg(long, value_name = "KEY", requires = "push")]
    pub sign_key: Option<PathBuf>,

    /// Refuse to run unless the source is this image: its ID or registry digest (sha256:…).
    #[arg(long, value_name = "DIGEST")]
    pub verify_source: Option<String>,

    /// Also write a multi-stage Dockerfile that builds this same image (side files go next to it).
    #[arg(long, value_name = "PATH", conflicts_with = "from_report")]
    pub dockerfile_out: Option<PathBuf>,

    /// Write a seccomp profile (Docker's JSON) here that allows exactly the syscalls the app
    /// made during analysis plus what the container runtime needs to start it, and denies
    /// the rest with EPERM; verification then runs the slim image under it. Run the image
    /// with `docker run --security-opt seccomp=PATH`. The analysis stops on every syscall
    /// to record it, which makes it slower.
    #[arg(long, value_name = "PATH", conflicts_with = "from_report")]
    pub seccomp_profile: Option<PathBuf>,

    /// Write a software bill of materials of the slim image here: the packages still in it
    /// (name, version, package URL, license where the package database has one), every file
    /// no package owns with its checksums, and the source image as its ancestor.
    #[arg(long, value_name = "PATH", conflicts_with = "from_report")]
    pub sbom: Option<PathBuf>,

    /// The SBOM's format: SPDX 2.3 JSON or CycloneDX 1.5 JSON.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = SbomFormat::Spdx, requires = "sbom")]
    pub sbom_format: SbomFormat,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub analysis: AnalysisArgs,

    #[command(flatten)]
    pub keep: KeepArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BuilderChoice {
    Buildkit,
    Classic,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Dockerfile")]
pub struct DockerfileArgs {
    /// The image to trace: NAME[:TAG], NAME@sha256:DIGEST or an image ID.
    #[arg(value_name = "IMAGE")]
    pub image: String,

    /// Directory for the Dockerfile and its side files (the kept-file plan, the sensor that
    /// gathers the files during `docker build`, a file list and a .dockerignore).
    #[arg(long, value_name = "DIR", default_value = "slim-dockerfile")]
    pub out: PathBuf,

    /// Run the slim image as this user (see `slim build --user`).
    #[arg(long, value_name = "UID[:GID]")]
    pub user: Option<String>,

    /// Also write `seccomp.json` beside the Dockerfile: a seccomp profile that allows the
    /// syscalls the app made during analysis (see `slim build --seccomp-profile`).
    #[arg(long)]
    pub seccomp_profile: bool,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub analysis: AnalysisArgs,

    #[command(flatten)]
    pub keep: KeepArgs,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Where to write the JSON report (every kept path with its reason, probes, timings).
    #[arg(long, value_name = "PATH", default_value = "slim.report.json")]
    pub report: PathBuf,

    /// Print the report as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,

    /// Print nothing but errors and, at the end, the result's name.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Analysis")]
pub struct AnalysisArgs {
    /// Send `GET /` to every exposed TCP port until the app answers (see --probe-from).
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

    /// Where the HTTP probes of the analysis and the verification come from. `inside`: a
    /// helper container in the app's network namespace, so no port is published and a
    /// remote or rootless engine works the same. `host`: this machine, through the exposed
    /// ports published on the engine's 127.0.0.1 (the engine must run on this machine).
    #[arg(long, value_name = "WHERE", value_enum, default_value_t = ProbeFrom::Inside)]
    pub probe_from: ProbeFrom,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "What to keep")]
pub struct KeepArgs {
    /// Keep this file, directory (with everything in it) or glob as well. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub include_path: Vec<String>,

    /// Keep the paths listed in this file (one per line; blank lines and # comments ignored).
    #[arg(long, value_name = "FILE")]
    pub include_path_file: Vec<PathBuf>,

    /// Keep this executable with the libraries and interpreter it needs. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub include_bin: Vec<String>,

    /// Keep the program of this name found on the image's PATH, with what it needs. Repeatable.
    #[arg(long, value_name = "NAME")]
    pub include_exe: Vec<String>,

    /// Keep a shell (`sh`), so that `docker exec -it CONTAINER sh` works in the slim image.
    #[arg(long)]
    pub include_shell: bool,

    /// Never keep paths matching this glob, even ones the app touched (`**` matches any
    /// depth: `/usr/share/doc/**`). Repeatable.
    #[arg(long, value_name = "GLOB")]
    pub exclude_pattern: Vec<String>,

    /// Keep this path as it is in the source image. slim always copies from the untouched
    /// source, never from the analysed container, so this is the same as --include-path.
    #[arg(long, value_name = "PATH")]
    pub preserve_path: Vec<String>,

    /// Keep the paths listed in this file as they are in the source image.
    #[arg(long, value_name = "FILE")]
    pub preserve_path_file: Vec<PathBuf>,

    /// Keep every CA certificate the image has (each certificate file, the hashed links, the
    /// sources). Without it the CA bundle is kept when a kept program links a TLS library or
    /// the app read the trust store (profile ca-certificates).
    #[arg(long, value_name = "BOOL", default_value_t = false, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub include_cert_all: bool,

    /// Keep the app's own files whole: files no package owns under each content root the app
    /// used (its WORKDIR, the paths in its command, the document roots of the web servers it
    /// runs, directories it read from). The report lists each root with its evidence.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub include_app_dir: bool,

    /// Count the image's WORKDIR as one of the app's content roots (with --include-app-dir).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub include_workdir: bool,

    /// Keep what every kept Python, Node.js, PHP, Ruby and Perl file can import, also inside
    /// functions and conditionals (parsed, and resolved like the runtime does), not only
    /// what the probes happened to load.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub include_imports: bool,

    /// Do not follow the imports of this language (python, node, php, ruby, perl). Repeatable.
    #[arg(long, value_name = "LANGUAGE")]
    pub skip_imports: Vec<String>,

    /// Keep all time zone data (/usr/share/zoneinfo), not only the zones the app read.
    #[arg(long)]
    pub include_zoneinfo: bool,

    /// Keep all compiled locales (/usr/lib/locale) and locale sources.
    #[arg(long)]
    pub include_locale: bool,

    /// Keep the package database (dpkg, apk), trimmed to the packages that still have files
    /// in the slim image, so vulnerability scanners keep working on it.
    #[arg(long)]
    pub keep_package_db: bool,

    /// A runtime profile (TOML, see `slim profiles`) to apply besides the built-in ones; one
    /// with a built-in's name replaces it. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub profile: Vec<PathBuf>,

    /// Do not apply this runtime profile (by name, see `slim profiles`, or `all`); e.g.
    /// `tzdata` when the image will never run with a TZ other than its own. Repeatable.
    #[arg(long, value_name = "NAME")]
    pub skip_profile: Vec<String>,
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
