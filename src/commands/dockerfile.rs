//! `slim dockerfile IMAGE`: trace the image and write a multi-stage Dockerfile (with its side
//! files) that builds the image `slim build` would load. Nothing is loaded or tagged.

use slim::pipeline::build::write_report;
use slim::pipeline::dockerfile_out::write_dockerfile;
use slim::pipeline::report::{Produced, build_report};
use slim::pipeline::verified::write_seccomp_profile;
use slim::pipeline::{Timeline, inspect_and_keep};
use slim::seccomp::SeccompReport;

use super::Outcome;
use super::slimming::{from_pipeline, slim_request, with_engine};
use crate::cli::DockerfileArgs;
use crate::printer::Printer;

pub async fn run(args: DockerfileArgs, printer: &Printer) -> Outcome {
    let mut request = match slim_request(
        &args.image,
        args.user.as_deref(),
        args.analysis,
        args.keep,
        args.output.report,
    ) {
        Ok(request) => request,
        Err(e) => return super::report_error(&e),
    };
    let out = args.out;
    if args.seccomp_profile {
        request.write_seccomp_profile(out.join("seccomp.json"));
    }
    with_engine(printer, async |engine| {
        let mut timeline = Timeline::default();
        let kept = inspect_and_keep(&engine, &request, printer, &mut timeline)
            .await
            .map_err(from_pipeline)?;
        let dockerfile = out.join("Dockerfile");
        let pinned = timeline
            .stage(
                printer,
                "dockerfile",
                async |_| write_dockerfile(&kept, &request, &dockerfile, &out, None),
                |pinned: &bool| {
                    let pin = if *pinned {
                        "pinned by digest"
                    } else {
                        "NOT pinned: the source has no registry digest"
                    };
                    format!("{} · {pin}", dockerfile.display())
                },
            )
            .await
            .map_err(from_pipeline)?;
        if !pinned {
            printer.warn(&format!(
                "{} has no registry digest, so the Dockerfile names it by tag; push it to a \
                 registry and run slim again to pin it",
                request.source_text
            ));
        }
        let seccomp = match &request.seccomp_profile {
            Some(path) => {
                let profile = write_seccomp_profile(&kept, path, printer, &mut timeline)
                    .await
                    .map_err(from_pipeline)?;
                Some(SeccompReport::unverified(path, profile))
            }
            None => None,
        };
        let produced = Produced::Dockerfile { path: &dockerfile };
        let mut report = build_report(&kept, &request, produced, None, timeline.stages);
        report.seccomp = seccomp;
        let json = write_report(&report, &request.report).map_err(from_pipeline)?;
        printer.note(&format!(
            "wrote {} and its side files; build it with: docker build {}",
            dockerfile.display(),
            out.display()
        ));
        if printer.is_json() {
            printer.result(&json);
        }
        Ok::<_, anyhow::Error>(Outcome::Success)
    })
    .await
}
