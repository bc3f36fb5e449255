//! The build report: a table for people and `slim.report.json` for tools.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::analyze::{ExecCheck, HttpCheck};
use crate::compare::Comparison;
use crate::resolve::account::RuleTally;
use crate::resolve::app_content::AppRoot;
use crate::resolve::keep::Kept;
use crate::resolve::packagedb::PackageDb;
use crate::resolve::profile::ProfileFiring;
use crate::resolve::{UnparsedFile, UnresolvedModule};
use crate::sensor::report::ExitStatus;
use crate::verify::Verification;

/// One side of the comparison.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImageSummary {
    pub reference: String,
    pub id: String,
    /// size as the engine reports it
    pub size: u64,
    /// regular files, symlinks and hardlinks (directories not counted)
    pub files: u64,
    pub user: String,
    /// the manifest digest, where one exists (an OCI output, a pushed image)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// How long one stage took.
#[derive(Debug, Clone, Serialize)]
pub struct StageTime {
    pub stage: String,
    pub seconds: f64,
}

/// What the analysis run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AnalysisSummary {
    pub command: Vec<String>,
    pub continue_after: String,
    pub exit: Option<ExitStatus>,
    pub stopped_by_slim: bool,
    pub processes: u64,
    pub file_syscalls: u64,
    pub traced_paths: usize,
    pub http_probes: Vec<HttpCheck>,
    /// where the HTTP probes came from: `inside` the app's network namespace, or the `host`
    /// through published ports (absent when none were sent)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probed_from: Option<crate::analyze::ProbeFrom>,
    pub exec_probes: Vec<ExecCheck>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sensor_warnings: Vec<String>,
    /// programs that changed their user or groups during the run (a server started as root
    /// switching to its own user)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user_switches: Vec<crate::sensor::report::UserSwitch>,
}

/// Everything `slim build` found and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BuildReport {
    pub slim_version: String,
    pub source: ImageSummary,
    pub output: ImageSummary,
    /// how the user was chosen: image, flag or added
    pub user_source: String,
    /// original size / slim size
    pub reduction: f64,
    pub stages: Vec<StageTime>,
    pub analysis: AnalysisSummary,
    pub verification: Option<Verification>,
    /// every path in the slim image that came from the source, with why it was kept
    pub kept: BTreeMap<String, Kept>,
    /// paths the app looked for that the image does not have
    pub missing: Vec<String>,
    /// shared libraries named by a kept ELF file that were not found (object, library)
    pub unresolved_libraries: Vec<(String, String)>,
    pub dropped_setuid: Vec<String>,
    pub made_writable: Vec<String>,
    /// paths the user could not read, enter or run, now owned by it
    pub made_accessible: Vec<String>,
    /// for each of those: what the app needs, mode and owner before and after, and why
    pub access_changes: Vec<crate::rebuild::access::AccessChange>,
    /// user-switching tools (gosu, su-exec, runuser, setpriv, ...) replaced by slim's
    /// stand-in, which runs the command as the image's user
    pub replaced_switch_tools: Vec<String>,
    /// paths slim created (user database, home, /tmp, WORKDIR)
    pub added: Vec<String>,
    /// the runtime profiles that applied, what set each off, and how many paths it added
    pub profiles_fired: Vec<ProfileFiring>,
    /// paths left out by --exclude-pattern
    pub excluded: Vec<String>,
    /// --include-exe names not found on the image's PATH
    pub missing_exe: Vec<String>,
    /// what `--from-report` needs to make the same layer and config again without an engine:
    /// the user's edits, the labels and the creation time written into the config
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rebuild: Option<crate::rebuild::RebuildRecord>,
    /// the original and the slim image side by side (layers, shell, setuid, package managers,
    /// efficiency)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    /// `NAME@sha256:…` of the pushed slim image, the reference to deploy (--push)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned: Option<String>,
    /// the packages the trimmed package database lists (--keep-package-db)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_db: Option<PackageDb>,
    /// files and bytes each rule kept (trace, ELF closure, imports per language, app
    /// content, each profile), largest first
    pub kept_by_rule: Vec<RuleTally>,
    /// the app's content roots, the evidence for each, and whether it was kept whole
    pub app_roots: Vec<AppRoot>,
    /// imports of kept source files that no file was found for
    pub unresolved_modules: Vec<UnresolvedModule>,
    /// source files the import closure could not fully parse, and why
    pub unparsed_files: Vec<UnparsedFile>,
    /// where the SBOM of the slim image was written (`--sbom`)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sbom: Option<String>,
    /// the seccomp profile written (`--seccomp-profile`) and how the slim image fared under it
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<crate::seccomp::SeccompReport>,
    /// the signature stored for the pushed slim image (`--sign-key`)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<crate::sign::Signed>,
}

impl BuildReport {
    /// "4.1 MB: app-content 1.2 MB, python-import 2.8 MB, profile:tzdata 0.1 MB", or
    /// `None` when nothing was kept beyond what the traced run needed.
    pub fn beyond_trace(&self) -> Option<String> {
        let beyond: Vec<&RuleTally> = self
            .kept_by_rule
            .iter()
            .filter(|t| !t.is_trace() && t.files > 0)
            .collect();
        if beyond.is_empty() {
            return None;
        }
        let total: u64 = beyond.iter().map(|t| t.bytes).sum();
        let parts: Vec<String> = beyond
            .iter()
            .map(|t| format!("{} {}", t.rule, human_bytes(t.bytes)))
            .collect();
        Some(format!("{}: {}", human_bytes(total), parts.join(", ")))
    }

    pub fn total_seconds(&self) -> f64 {
        self.stages.iter().map(|s| s.seconds).sum()
    }

    /// The human summary printed at the end of a build.
    pub fn table(&self) -> String {
        let rows = [
            (
                "image",
                self.source.reference.clone(),
                self.output.reference.clone(),
            ),
            ("id", short_id(&self.source.id), short_id(&self.output.id)),
            (
                "size",
                human_bytes(self.source.size),
                format!(
                    "{}  ({})",
                    human_bytes(self.output.size),
                    ratio_text(self.reduction)
                ),
            ),
            (
                "files",
                thousands(self.source.files),
                format!("{} kept", thousands(self.output.files)),
            ),
            (
                "user",
                display_user(&self.source.user),
                format!("{} ({})", self.output.user, self.user_source),
            ),
        ];
        let mut rows = rows.to_vec();
        if let Some(comparison) = &self.comparison {
            let wanted = ["layers", "shell", "setuid", "pkg mgr", "efficiency"];
            rows.extend(
                comparison
                    .rows()
                    .into_iter()
                    .filter(|(label, _, _)| wanted.contains(label)),
            );
        }
        let mut out = String::new();
        let _ = writeln!(out, "{:<14}{:<34}slim", "", "original");
        for (label, left, right) in rows {
            let _ = writeln!(out, "{label:<14}{left:<34}{right}");
        }
        let verdict = match &self.verification {
            None => "skipped (--verify=false)".to_string(),
            Some(v) if v.passed() => format!("PASS ({} check(s))", v.checks.len()),
            Some(v) => format!(
                "FAIL ({} of {} check(s) differ)",
                v.failures().count(),
                v.checks.len()
            ),
        };
        if let Some(from) = self.analysis.probed_from {
            let _ = writeln!(
                out,
                "{:<14}{} HTTP request(s) {}",
                "probes",
                self.analysis.http_probes.len(),
                from.describe()
            );
        }
        let _ = writeln!(out, "{:<14}{:<34}{}", "verify", "", verdict);
        if let Some(seccomp) = &self.seccomp {
            let _ = writeln!(out, "{:<14}{}", "seccomp", seccomp.summary());
        }
        if let Some(pinned) = &self.pinned {
            let _ = writeln!(out, "{:<14}{pinned}", "pushed");
        }
        if let Some(signed) = &self.signature {
            let _ = writeln!(
                out,
                "{:<14}{} (key {})",
                "signed", signed.stored_at, signed.key
            );
        }
        if let Some(beyond) = self.beyond_trace() {
            let _ = writeln!(out, "{:<14}{}", "beyond trace", beyond);
        }
        if !self.profiles_fired.is_empty() {
            let fired: Vec<String> = self
                .profiles_fired
                .iter()
                .map(|p| format!("{} (+{})", p.name, p.kept))
                .collect();
            let _ = writeln!(out, "{:<14}{}", "profiles", fired.join(", "));
        }
        let stages: Vec<String> = self
            .stages
            .iter()
            .map(|s| format!("{} {:.1}s", s.stage, s.seconds))
            .collect();
        let _ = writeln!(
            out,
            "\ntime    {} · total {:.1}s",
            stages.join(" · "),
            self.total_seconds()
        );
        if !self.dropped_setuid.is_empty() {
            let _ = writeln!(
                out,
                "setuid/setgid bits dropped from: {}",
                self.dropped_setuid.join(", ")
            );
        }
        out
    }
}

fn display_user(user: &str) -> String {
    if user.is_empty() {
        "root (no USER)".into()
    } else {
        user.into()
    }
}

fn short_id(id: &str) -> String {
    let hex = id.trim_start_matches("sha256:");
    hex[..hex.len().min(12)].to_string()
}

fn ratio_text(ratio: f64) -> String {
    if ratio >= 1.0 {
        format!("{ratio:.1}x smaller")
    } else {
        format!("{:.1}x larger", 1.0 / ratio.max(f64::MIN_POSITIVE))
    }
}

/// 1536 → "1.5 KB" (decimal units, as `docker images` shows them).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Check;

    #[test]
    fn formats_numbers() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500), "1.5 KB");
        assert_eq!(human_bytes(566_300_000), "566.3 MB");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(ratio_text(45.66), "45.7x smaller");
        assert_eq!(ratio_text(0.5), "2.0x larger");
    }

    #[test]
    fn table_shows_both_sides_and_verdict() {
        let report = BuildReport {
            source: ImageSummary {
                reference: "app:1".into(),
                id: "sha256:0123456789abcdef".into(),
                size: 500_000_000,
                files: 20_000,
                user: String::new(),
                digest: None,
            },
            output: ImageSummary {
                reference: "app.slim:1".into(),
                id: "sha256:fedcba9876543210".into(),
                size: 10_000_000,
                files: 300,
                user: "65532:65532".into(),
                digest: None,
            },
            user_source: "added".into(),
            reduction: 50.0,
            stages: vec![
                StageTime {
                    stage: "analyze".into(),
                    seconds: 1.25,
                },
                StageTime {
                    stage: "rebuild".into(),
                    seconds: 0.5,
                },
            ],
            verification: Some(Verification {
                checks: vec![Check {
                    name: "exit status".into(),
                    original: "0".into(),
                    slim: "0".into(),
                    passed: true,
                    judged_by: "exact".into(),
                }],
                slim_output: None,
                probed_from: None,
                seen_syscalls: None,
            }),
            ..Default::default()
        };
        let table = report.table();
        assert!(table.contains("app:1"), "{table}");
        assert!(table.contains("app.slim:1"));
        assert!(table.contains("500.0 MB"));
        assert!(table.contains("10.0 MB  (50.0x smaller)"));
        assert!(table.contains("20,000"));
        assert!(table.contains("300 kept"));
        assert!(table.contains("root (no USER)"));
        assert!(table.contains("65532:65532 (added)"));
        assert!(table.contains("PASS (1 check(s))"));
        assert!(table.contains("analyze 1.2s · rebuild 0.5s · total 1.8s"));
    }
}
