//! The last stage: everything a build found and did, as one `BuildReport`, whichever command
//! made it; and what to tell a user whose slim image does not answer like the original.

use std::collections::BTreeMap;
use std::path::Path;

use crate::analyze::Analysis;
use crate::compare::{Comparison, ImageFacts};
use crate::image::ImageSpec;
use crate::rebuild::{BASE_DIGEST_LABEL, BASE_NAME_LABEL};
use crate::report::{AnalysisSummary, BuildReport, ImageSummary, StageTime};
use crate::seccomp::SeccompReport;
use crate::verify::{Check, Verification};

use super::kept::KeptSet;
use super::rebuilt::Rebuilt;
use super::request::SlimRequest;

/// What a command produced from the kept set.
pub enum Produced<'a> {
    /// a slim image, loaded under `name` (or loaded untagged from a file)
    Image {
        name: &'a str,
        loaded: &'a ImageSpec,
        rebuilt: &'a Rebuilt,
    },
    /// a multi-stage Dockerfile that builds it
    Dockerfile { path: &'a Path },
}

/// The report of a run.
pub fn build_report(
    kept: &KeptSet,
    request: &SlimRequest,
    produced: Produced,
    verification: Option<Verification>,
    stages: Vec<StageTime>,
) -> BuildReport {
    let source = &kept.source;
    let total = kept.collected.outcome.total;
    let resolution = &kept.collected.outcome.resolution;
    let mut report = BuildReport {
        slim_version: env!("CARGO_PKG_VERSION").into(),
        source: ImageSummary {
            reference: request.source_text.clone(),
            id: source.id.clone(),
            size: source.size,
            files: total.files + total.symlinks,
            user: source.user.clone(),
            digest: source.repo_digest().map(str::to_string),
        },
        user_source: serde_json::to_value(kept.user.source)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        stages,
        analysis: analysis_summary(&kept.analysis),
        verification,
        kept: resolution.keep.paths.clone(),
        missing: resolution.missing.clone(),
        unresolved_libraries: resolution.unresolved_libs.clone(),
        profiles_fired: resolution.profiles_fired.clone(),
        excluded: resolution.excluded.iter().cloned().collect(),
        missing_exe: resolution.missing_exe.clone(),
        package_db: resolution.package_db.clone(),
        kept_by_rule: kept.collected.outcome.kept_by_rule.clone(),
        app_roots: resolution.app_roots.clone(),
        unresolved_modules: resolution.unresolved_modules.clone(),
        unparsed_files: resolution.unparsed.clone(),
        ..BuildReport::default()
    };
    match produced {
        Produced::Image {
            name,
            loaded,
            rebuilt,
        } => {
            let layer = &rebuilt.layer;
            report.comparison = Some(Comparison {
                left: ImageFacts::from_tree(
                    &request.source_text,
                    source,
                    total.files + total.symlinks,
                    &kept.collected.outcome.facts,
                ),
                right: ImageFacts::from_survey(name, loaded, loaded.size, &rebuilt.survey),
            });
            report.rebuild = Some(rebuilt.record.clone());
            report.output = ImageSummary {
                reference: name.to_string(),
                id: loaded.id.clone(),
                size: loaded.size,
                files: layer.files + layer.symlinks + layer.hardlinks,
                user: kept.user.config_user(),
                digest: None,
            };
            report.reduction = source.size as f64 / loaded.size.max(1) as f64;
            report.dropped_setuid = layer.dropped_setuid.clone();
            report.made_writable = layer.made_writable.clone();
            report.made_accessible = layer.made_accessible.clone();
            report.access_changes = layer.access_changes.clone();
            report.replaced_switch_tools = layer.replaced_switch_tools.clone();
            report.added = layer.added.clone();
        }
        Produced::Dockerfile { path } => {
            let packed = kept.collected.outcome.packed;
            report.output = ImageSummary {
                reference: path.display().to_string(),
                user: kept.user.config_user(),
                files: packed.files + packed.symlinks + packed.hardlinks,
                ..ImageSummary::default()
            };
        }
    }
    report
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
        probed_from: analysis.probed_from,
        exec_probes: analysis.execs.clone(),
        sensor_warnings: analysis.trace.warnings.clone(),
        user_switches: analysis.trace.user_switches.clone(),
    }
}

/// Labels every slim image carries: where it came from.
pub fn provenance_labels(source: &ImageSpec, source_text: &str) -> BTreeMap<String, String> {
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

/// "PASS (4 check(s))" or "FAIL (1 of 4 check(s) differ)".
pub fn verdict(verification: &Verification) -> String {
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

/// What a user can do about a failed verification, from what differed.
pub fn failure_hints(verification: &Verification, report: &BuildReport) -> Vec<String> {
    if let Some(hint) = report.seccomp.as_ref().and_then(seccomp_hint) {
        return vec![hint];
    }
    let mut hints = Vec::new();
    let exact = |c: &&Check| c.judged_by == "exact";
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
    let permission_trouble = verification
        .slim_output
        .as_deref()
        .is_some_and(|o| o.contains("ermission denied") || o.contains("not permitted"));
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

/// When the slim image failed under its seccomp profile but passes without it, the profile
/// is what to fix, and the other hints would mislead (EPERM reads like a permission problem).
fn seccomp_hint(seccomp: &SeccompReport) -> Option<String> {
    if seccomp.verified != Some(false) || seccomp.passes_without_profile != Some(true) {
        return None;
    }
    let what = if seccomp.denied.is_empty() {
        "it needs syscalls the analysis never saw".to_string()
    } else {
        format!(
            "it made {}, which the analysis never saw",
            seccomp.denied.join(", ")
        )
    };
    Some(format!(
        "The slim image passes without the seccomp profile {} and fails under it: {what}. \
         Probe the code paths that make them (--http-probe-cmd, --exec) so the analysis sees \
         them, or add them to the profile's first \"names\" list yourself.",
        seccomp.path
    ))
}
