//! The verify stage, and the seccomp profile it checks: the slim image runs with the
//! analysis's probes, under the profile when there is one. When it fails under the profile,
//! a second run without it, with the sensor recording every syscall, tells whether the
//! profile is to blame and which syscalls it denied. A failing profile is reported, never
//! passed off as working.

use std::path::Path;

use crate::engine::Engine;
use crate::image::ImageSpec;
use crate::seccomp::{SeccompProfile, SeccompReport};
use crate::verify::{self, SyscallWatch, Verification};

use super::display::{Display, Timeline};
use super::error::PipelineError;
use super::kept::KeptSet;
use super::report::verdict;
use super::request::{BuildPlan, SlimRequest};

/// What verification found, with the seccomp profile's part in it.
pub struct Checked {
    pub verification: Option<Verification>,
    pub seccomp: Option<SeccompReport>,
}

/// The seccomp stage: the profile of what the app did during analysis, written to `path`.
pub async fn write_seccomp_profile(
    kept: &KeptSet,
    path: &Path,
    display: &dyn Display,
    timeline: &mut Timeline,
) -> Result<SeccompProfile, PipelineError> {
    timeline
        .stage(
            display,
            "seccomp",
            async |_| {
                let profile = SeccompProfile::from_seen(kept.analysis.trace.seen_syscalls.as_ref())
                    .map_err(|e| PipelineError::Other {
                        action: "making the seccomp profile".into(),
                        message: e.to_string(),
                    })?;
                std::fs::write(path, profile.to_docker_json())
                    .map_err(PipelineError::io(format!("writing {}", path.display())))?;
                Ok(profile)
            },
            |profile: &SeccompProfile| {
                format!(
                    "{} · {} syscalls allowed ({} seen)",
                    path.display(),
                    profile.allowed().count(),
                    profile.observed.len()
                )
            },
        )
        .await
}

/// Run the verify stage (if the plan asks for it) against the loaded slim image.
#[allow(clippy::too_many_arguments)]
pub async fn verify_slim_image(
    engine: &Engine,
    request: &SlimRequest,
    plan: &BuildPlan,
    kept: &KeptSet,
    loaded: &ImageSpec,
    profile: Option<SeccompProfile>,
    display: &dyn Display,
    timeline: &mut Timeline,
) -> Result<Checked, PipelineError> {
    let mut seccomp = request
        .seccomp_profile
        .as_deref()
        .zip(profile)
        .map(|(path, profile)| SeccompReport::unverified(path, profile));
    if !plan.verify {
        if let Some(report) = &seccomp {
            display.warn(&format!(
                "the seccomp profile {} was not tried (--verify=false); run the image under \
                 it before relying on it",
                report.path
            ));
        }
        return Ok(Checked {
            verification: None,
            seccomp,
        });
    }
    let profile_json = seccomp.as_ref().map(|s| s.profile.to_docker_json());
    let watch = match &profile_json {
        Some(json) => SyscallWatch::Profile(json),
        None => SyscallWatch::Default,
    };
    let verification = timeline
        .stage(
            display,
            "verify",
            async |progress| run_verify(engine, request, plan, kept, loaded, watch, progress).await,
            verdict,
        )
        .await?;
    if let Some(report) = &mut seccomp {
        report.verified = Some(verification.passed());
        if !verification.passed() {
            let watch = SyscallWatch::Record {
                entrypoint: &loaded.entrypoint,
                cmd: &loaded.cmd,
            };
            let without = timeline
                .stage(
                    display,
                    "verify without the profile",
                    async |progress| {
                        run_verify(engine, request, plan, kept, loaded, watch, progress).await
                    },
                    verdict,
                )
                .await?;
            report.passes_without_profile = Some(without.passed());
            if let Some(seen) = &without.seen_syscalls {
                report.denied = report.profile.denied(seen);
            }
        }
    }
    Ok(Checked {
        verification: Some(verification),
        seccomp,
    })
}

async fn run_verify(
    engine: &Engine,
    request: &SlimRequest,
    plan: &BuildPlan,
    kept: &KeptSet,
    loaded: &ImageSpec,
    syscalls: SyscallWatch<'_>,
    progress: &dyn crate::progress::Progress,
) -> Result<Verification, PipelineError> {
    let options = verify::VerifyOptions {
        ports: &kept.source.tcp_ports(),
        timeout: request.analysis.timeout,
        sensor: &request.analysis.sensor,
        probe_from: request.analysis.probe_from,
        judge: &plan.judge,
        syscalls,
    };
    verify::verify(
        engine,
        &loaded.id,
        &request.source_text,
        &kept.analysis,
        &options,
        progress,
    )
    .await
    .map_err(PipelineError::from)
}
