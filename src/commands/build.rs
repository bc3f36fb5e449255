//! `slim build IMAGE`: inspect → analyze → resolve → rebuild → load → verify → report.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use slim::archive::{self, ImageLocation, ImageToWrite, WriteOptions, WrittenImage};
use slim::compare::{Comparison, ImageFacts};
use slim::engine::{Builder, Engine};
use slim::image::{ImageRef, ImageSpec};
use slim::rebuild::{self, Assembled, BASE_NAME_LABEL, KeptIndex, LayerSummary, RebuildRecord};
use slim::report::{BuildReport, ImageSummary, human_bytes};
use slim::survey::{Survey, SurveyBuilder};
use slim::verify::judge::Judge;
use slim::verify::{self, Verification};

use super::dockerfile::{context_of, write_dockerfile};
use super::slimming::{
    Prepared, SlimRequest, Timeline, analysis_summary, inspect, prepare_from, provenance_labels,
    short, with_engine,
};
use super::{Outcome, UsageError, report_error};
use crate::cli::{BuildArgs, BuilderChoice};
use crate::printer::Printer;

/// What `build` adds to the shared request.
struct BuildOptions {
    output: Option<ImageRef>,
    force: bool,
    verify: bool,
    dockerfile_out: Option<PathBuf>,
    from_dockerfile: Option<FromDockerfile>,
    /// where to push the result
    push: Option<ImageRef>,
    /// where the slim image goes
    target: OutputTarget,
    /// how verification compares answers
    judge: Judge,
}

/// `--output`: the engine, or an image file.
pub enum OutputTarget {
    Engine,
    File(ImageLocation),
}

impl OutputTarget {
    pub fn parse(text: &str) -> Result<Self> {
        if text == "docker" {
            return Ok(OutputTarget::Engine);
        }
        match super::slimming::image_file(text)? {
            Some(location) => Ok(OutputTarget::File(location)),
            None => bail!(UsageError(format!(
                "--output {text:?}: expected docker, docker-archive:PATH, oci:DIR or oci-archive:PATH"
            ))),
        }
    }
}

/// `--dockerfile`: the image to slim is built first.
struct FromDockerfile {
    dockerfile: PathBuf,
    context: PathBuf,
    builder: Builder,
}

impl FromDockerfile {
    fn new(args: &BuildArgs) -> Option<Self> {
        let dockerfile = args.dockerfile.clone()?;
        let context = args
            .context
            .clone()
            .unwrap_or_else(|| context_of(&dockerfile));
        let builder = match args.builder {
            BuilderChoice::Buildkit => Builder::BuildKit,
            BuilderChoice::Classic => Builder::Classic,
        };
        Some(FromDockerfile {
            dockerfile,
            context,
            builder,
        })
    }

    /// The name the built image gets when the user gives none: after the context directory.
    fn default_name(&self) -> String {
        let dir = std::fs::canonicalize(&self.context).unwrap_or_else(|_| self.context.clone());
        let base: String = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let base = base
            .trim_matches(|c: char| !c.is_ascii_alphanumeric())
            .to_string();
        format!(
            "slim-build/{}:latest",
            if base.is_empty() { "app".into() } else { base }
        )
    }
}

pub async fn run(args: BuildArgs, printer: &Printer) -> Outcome {
    if let Some(report) = args.from_report.clone() {
        return super::from_report::run(args, report, printer).await;
    }
    let parsed = (|| -> Result<(SlimRequest, BuildOptions)> {
        let from_dockerfile = FromDockerfile::new(&args);
        let image = match (&args.image, &from_dockerfile) {
            (Some(image), _) => image.clone(),
            (None, Some(from)) => from.default_name(),
            (None, None) => bail!(UsageError(
                "slim build needs an IMAGE or --dockerfile".into()
            )),
        };
        let request = SlimRequest::new(
            &image,
            args.user.as_deref(),
            args.analysis.clone(),
            args.keep.clone(),
            args.output.report.clone(),
        )?;
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
        let options = BuildOptions {
            output,
            force: args.force,
            verify: args.verify,
            dockerfile_out: args.dockerfile_out.clone(),
            from_dockerfile,
            push: args
                .push
                .as_deref()
                .map(super::push::parse_target)
                .transpose()?,
            target: OutputTarget::parse(&args.destination)?,
            judge: Judge {
                mode: args.verify_compare,
                ignore: args
                    .verify_ignore
                    .iter()
                    .map(|pattern| {
                        regex::bytes::Regex::new(pattern)
                            .map_err(|e| UsageError(format!("--verify-ignore {pattern:?}: {e}")))
                    })
                    .collect::<Result<_, _>>()?,
            },
        };
        let mut request = request;
        if let Some(digest) = &args.verify_source {
            if !digest.starts_with("sha256:") || digest.len() != 71 {
                bail!(UsageError(format!(
                    "--verify-source {digest:?}: expected sha256: and 64 hex digits"
                )));
            }
            request.verify_source = Some(digest.clone());
        }
        Ok((request, options))
    })();
    let (request, options) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return report_error(&e),
    };
    with_engine(printer, async |engine| {
        build(&engine, &request, &options, printer).await
    })
    .await
}

async fn build(
    engine: &Engine,
    request: &SlimRequest,
    options: &BuildOptions,
    printer: &Printer,
) -> Result<Outcome> {
    let mut timeline = Timeline::default();
    let output_name = match &options.output {
        Some(output) => output.to_string(),
        None => request.source.slim_name(),
    };
    if let Some(from) = &options.from_dockerfile {
        timeline
            .stage(
                printer,
                "docker build",
                async |stage| build_source(engine, from, &request.source_text, stage).await,
                |_| request.source_text.clone(),
            )
            .await?;
    }
    let source = inspect(engine, request, printer, &mut timeline).await?;
    // A file output names no image in the engine, so only a load can clobber a tag.
    if let OutputTarget::Engine = options.target {
        check_output_name(engine, &output_name, &source, request, options.force).await?;
    }
    let prepared = prepare_from(engine, request, source, printer, &mut timeline).await?;

    let rebuilt = timeline
        .stage(
            printer,
            "rebuild",
            async |_| {
                // Only an image that goes into the engine gets a tag in its archive.
                let tag =
                    matches!(options.target, OutputTarget::Engine).then_some(output_name.as_str());
                rebuild_image(&prepared, request, tag)
            },
            |r: &Rebuilt| {
                format!(
                    "one layer, {} · user {}",
                    human_bytes(r.layer.size),
                    prepared.user.config_user()
                )
            },
        )
        .await?;
    let (loaded, written) = match &options.target {
        OutputTarget::Engine => {
            let loaded = timeline
                .stage(
                    printer,
                    "load",
                    async |_| load(engine, &rebuilt.archive, &output_name).await,
                    |l: &ImageSpec| format!("{output_name} · {}", short(&l.id)),
                )
                .await?;
            (loaded, None)
        }
        OutputTarget::File(location) => {
            let written = timeline
                .stage(
                    printer,
                    "write",
                    async |_| write_file(location, &prepared, &output_name, options.force),
                    |w: &WrittenImage| {
                        format!(
                            "{location} · {}",
                            w.manifest_digest.as_ref().unwrap_or(&w.config_digest)
                        )
                    },
                )
                .await?;
            // Verification runs the image, so the engine gets a copy it forgets afterwards.
            let loaded =
                load_temporary(engine, &rebuilt.archive, &written.config_digest.to_string())
                    .await?;
            (loaded, Some(written))
        }
    };
    let verification = if options.verify {
        let verification = timeline
            .stage(
                printer,
                "verify",
                async |stage| {
                    let verify_options = verify::VerifyOptions {
                        ports: &prepared.source.tcp_ports(),
                        timeout: request.analysis.timeout,
                        sensor: &request.analysis.sensor,
                        judge: &options.judge,
                    };
                    Ok(verify::verify(
                        engine,
                        &loaded.id,
                        &request.source_text,
                        &prepared.analysis,
                        &verify_options,
                        stage,
                    )
                    .await?)
                },
                verdict,
            )
            .await?;
        Some(verification)
    } else {
        None
    };
    if let Some(dockerfile) = &options.dockerfile_out {
        // From the user's own Dockerfile: their stages first, side files in their context.
        let prelude = match &options.from_dockerfile {
            Some(from) => {
                let text = std::fs::read_to_string(&from.dockerfile)
                    .with_context(|| format!("reading {}", from.dockerfile.display()))?;
                let prelude = slim::dockerfile::prelude::prelude(&text)
                    .with_context(|| format!("parsing {}", from.dockerfile.display()))?;
                Some((prelude, from.context.clone()))
            }
            None => None,
        };
        let pinned = match &prelude {
            Some((prelude, context)) => {
                write_dockerfile(&prepared, request, dockerfile, context, Some(prelude))
                    .map(|_| true)?
            }
            None => write_dockerfile(
                &prepared,
                request,
                dockerfile,
                &context_of(dockerfile),
                None,
            )?,
        };
        printer.note(&format!(
            "wrote {} and its side files",
            dockerfile.display()
        ));
        if !pinned {
            printer.warn(&format!(
                "{} has no registry digest, so the Dockerfile names it by tag; push it and run slim again to pin it",
                request.source_text
            ));
        }
    }

    // Only an image that answers like the original is shipped.
    let verified = verification.as_ref().is_none_or(Verification::passed);
    let pinned = match &options.push {
        Some(target) if verified => {
            Some(super::push::push(engine, &loaded.id, target, printer).await?)
        }
        Some(target) => {
            printer.warn(&format!(
                "not pushing to {target}: the slim image failed verification"
            ));
            None
        }
        None => None,
    };
    let mut report = build_report(
        &prepared,
        request,
        &output_name,
        &loaded,
        &rebuilt,
        verification.clone(),
        timeline,
    );
    if let (OutputTarget::File(location), Some(written)) = (&options.target, &written) {
        report.output.reference = location.to_string();
        report.output.digest = written.manifest_digest.as_ref().map(ToString::to_string);
    }
    if let Some(pinned) = &pinned {
        report.output.digest = pinned.split_once('@').map(|(_, d)| d.to_string());
    }
    report.pinned = pinned;
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
            for hint in failure_hints(v, &report) {
                eprintln!("{hint}");
            }
            eprintln!("The image stays tagged as {output_name} so you can inspect it.");
            Ok(Outcome::VerifyFailed)
        }
        _ => Ok(Outcome::Success),
    }
}

/// What a user can do about a failed verification, from what differed.
fn failure_hints(verification: &Verification, report: &BuildReport) -> Vec<String> {
    let mut hints = Vec::new();
    let exact = |c: &&slim::verify::Check| c.judged_by == "exact";
    // same status and exit codes, different bytes: output that may change between runs
    let only_content = verification.failures().all(|c| {
        let status = |s: &str| s.split_whitespace().next().map(str::to_string);
        !c.name.ends_with("exit status")
            && c.name != "app keeps running"
            && status(&c.original) == status(&c.slim)
    });
    if only_content && verification.failures().any(|c| exact(&c)) {
        hints.push(
            "Only the content differs. If it changes from run to run (a date, an id, a token), \
             cut it with --verify-ignore REGEX or compare the shape with --verify-compare structure."
                .to_string(),
        );
    }
    let permission_trouble = verification
        .slim_output
        .as_deref()
        .is_some_and(|o| o.contains("ermission denied") || o.contains("not permitted"));
    let switched_as_root: Vec<String> = report
        .analysis
        .user_switches
        .iter()
        .filter(|s| s.from_uid == 0)
        .map(|s| {
            let ids: Vec<String> = s.ids.iter().map(u32::to_string).collect();
            format!("{} ({} {})", s.program, s.call, ids.join(","))
        })
        .collect();
    if !switched_as_root.is_empty() && !report.output.user.starts_with('0') {
        hints.push(format!(
            "During analysis these ran as root and changed their user or groups: {}. As {} \
             such calls fail unless they change nothing; a program that insists on them cannot \
             run non-root in the original's way.",
            switched_as_root.join(", "),
            report.output.user
        ));
    }
    if permission_trouble {
        hints.push(format!(
            "The slim image runs as {}; the app was refused something the original's user \
             could do. The report's access_changes and made_writable list what slim changed; \
             --include-path keeps more, --user picks another user.",
            report.output.user
        ));
    }
    hints
}

/// Build the user's Dockerfile into `name`.
async fn build_source(
    engine: &Engine,
    from: &FromDockerfile,
    name: &str,
    stage: &crate::printer::Stage,
) -> Result<()> {
    use slim::progress::Progress;
    stage.step(&format!("sending the context {}", from.context.display()));
    let context = slim::dockerfile::context::build_context(&from.context, &from.dockerfile)
        .with_context(|| format!("preparing the build context {}", from.context.display()))?;
    stage.step(&format!(
        "building {} with {:?}",
        from.dockerfile.display(),
        from.builder
    ));
    engine
        .build_image(
            context.tar,
            &context.dockerfile,
            name,
            &Default::default(),
            from.builder,
        )
        .await?;
    Ok(())
}

/// The output name must not be the source, and an image already under that name is replaced
/// only if slim made it from the same source (or with --force).
async fn check_output_name(
    engine: &Engine,
    output_name: &str,
    source: &ImageSpec,
    request: &SlimRequest,
    force: bool,
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
    if !made_from_source && !force {
        bail!(UsageError(format!(
            "{output_name} already names an image that slim did not make from {}; choose another name with --tag, or pass --force to replace it",
            request.source_text
        )));
    }
    Ok(())
}

struct Rebuilt {
    layer: LayerSummary,
    archive: PathBuf,
    /// what the slim layer holds, for the comparison
    survey: Survey,
    /// what decided the layer and config, for --from-report
    record: RebuildRecord,
}

/// Names of the rebuilt layer and config in the work directory.
const LAYER_FILE: &str = "layer.tar";
const CONFIG_FILE: &str = "config.json";

fn rebuild_image(
    prepared: &Prepared,
    request: &SlimRequest,
    output_name: Option<&str>,
) -> Result<Rebuilt> {
    let workdir = prepared.workdir.path();
    let kept = KeptIndex::open(&prepared.collected.kept_tar)?;
    let record = RebuildRecord {
        layer_plan: prepared.layer_plan.clone(),
        labels: provenance_labels(&prepared.source, &request.source_text),
        created: prepared
            .source
            .created
            .clone()
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".into()),
        created_by: format!("slim build {}", request.source_text),
    };
    let Assembled {
        layer,
        layer_path,
        config,
    } = rebuild::assemble(
        &kept,
        &record,
        &prepared.source,
        workdir,
        super::slimming::switch_shim_bytes(request, &record.layer_plan)?.as_deref(),
    )?;
    std::fs::write(workdir.join(CONFIG_FILE), &config)
        .context("writing the slim image's config")?;
    let archive = workdir.join("image.tar");
    let image = ImageToWrite {
        config: &config,
        layer: &layer_path,
        name: output_name,
    };
    let location = ImageLocation::DockerArchive {
        path: archive.clone(),
        reference: None,
    };
    archive::write_image(&location, &image, &WriteOptions::default())
        .context("writing the image archive")?;
    let mut survey = SurveyBuilder::new();
    survey
        .add_layer(std::fs::File::open(&layer_path).context("reading the slim layer back")?)
        .context("reading the slim layer back")?;
    Ok(Rebuilt {
        layer,
        archive,
        survey: survey.finish(),
        record,
    })
}

/// Write the slim image as an image file; an existing file is replaced only with --force.
fn write_file(
    location: &ImageLocation,
    prepared: &Prepared,
    output_name: &str,
    force: bool,
) -> Result<WrittenImage> {
    let path = location.path();
    if path.exists() && !force && !matches!(location, ImageLocation::OciDir { .. }) {
        bail!(UsageError(format!(
            "{} already exists; choose another --output or pass --force to replace it",
            path.display()
        )));
    }
    if force && path.is_file() {
        std::fs::remove_file(path).with_context(|| format!("replacing {}", path.display()))?;
    }
    let config = std::fs::read(prepared.workdir.path().join(CONFIG_FILE))
        .context("reading the slim image's config")?;
    let layer = prepared.workdir.path().join(LAYER_FILE);
    let image = ImageToWrite {
        config: &config,
        layer: &layer,
        name: Some(output_name),
    };
    Ok(archive::write_image(
        location,
        &image,
        &WriteOptions::default(),
    )?)
}

/// Load an untagged copy for slim's own use; it is removed when slim exits.
async fn load_temporary(engine: &Engine, archive: &Path, id: &str) -> Result<ImageSpec> {
    if engine.inspect_image(id).await?.is_none() {
        // recorded first: a run killed while the engine loads it still leaves a record
        engine.track_temporary_image(id);
        engine.load_archive(archive).await?;
    }
    engine
        .inspect_image(id)
        .await?
        .with_context(|| format!("the engine did not list {id} after loading it"))
}

/// Load the archive; drop the image the name pointed at before if it is now unused.
async fn load(engine: &Engine, archive: &Path, output_name: &str) -> Result<ImageSpec> {
    let previous = engine.inspect_image(output_name).await?;
    engine.load_archive(archive).await?;
    let loaded = engine
        .inspect_image(output_name)
        .await?
        .with_context(|| format!("the engine did not list {output_name} after loading it"))?;
    if let Some(previous) = previous.filter(|p| p.id != loaded.id) {
        let _ = engine.remove_image(&previous.id).await;
    }
    Ok(loaded)
}

fn build_report(
    prepared: &Prepared,
    request: &SlimRequest,
    output_name: &str,
    loaded: &ImageSpec,
    rebuilt: &Rebuilt,
    verification: Option<Verification>,
    timeline: Timeline,
) -> BuildReport {
    let source = &prepared.source;
    let layer = &rebuilt.layer;
    let total = prepared.collected.outcome.total;
    let resolution = &prepared.collected.outcome.resolution;
    let comparison = Comparison {
        left: ImageFacts::from_tree(
            &request.source_text,
            source,
            total.files + total.symlinks,
            &prepared.collected.outcome.facts,
        ),
        right: ImageFacts::from_survey(output_name, loaded, loaded.size, &rebuilt.survey),
    };
    BuildReport {
        comparison: Some(comparison),
        rebuild: Some(rebuilt.record.clone()),
        slim_version: env!("CARGO_PKG_VERSION").into(),
        source: ImageSummary {
            reference: request.source_text.clone(),
            id: source.id.clone(),
            size: source.size,
            files: total.files + total.symlinks,
            user: source.user.clone(),
            digest: source.repo_digest().map(str::to_string),
        },
        output: ImageSummary {
            reference: output_name.to_string(),
            id: loaded.id.clone(),
            size: loaded.size,
            files: layer.files + layer.symlinks + layer.hardlinks,
            user: prepared.user.config_user(),
            digest: None,
        },
        user_source: serde_json::to_value(prepared.user.source)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        reduction: source.size as f64 / loaded.size.max(1) as f64,
        stages: timeline.stages,
        analysis: analysis_summary(&prepared.analysis),
        verification,
        kept: resolution.keep.paths.clone(),
        missing: resolution.missing.clone(),
        unresolved_libraries: resolution.unresolved_libs.clone(),
        dropped_setuid: layer.dropped_setuid.clone(),
        made_writable: layer.made_writable.clone(),
        made_accessible: layer.made_accessible.clone(),
        access_changes: layer.access_changes.clone(),
        replaced_switch_tools: layer.replaced_switch_tools.clone(),
        added: layer.added.clone(),
        profiles_fired: resolution.profiles_fired.clone(),
        excluded: resolution.excluded.iter().cloned().collect(),
        missing_exe: resolution.missing_exe.clone(),
        package_db: resolution.package_db.clone(),
        pinned: None,
        kept_by_rule: prepared.collected.outcome.kept_by_rule.clone(),
        app_roots: resolution.app_roots.clone(),
        unresolved_modules: resolution.unresolved_modules.clone(),
        unparsed_files: resolution.unparsed.clone(),
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
