//! Two images side by side: what they cost and what they expose.

use std::fmt::Write as _;

use serde::Serialize;

use crate::image::ImageSpec;
use crate::report::human_bytes;
use crate::survey::{Survey, TreeFacts};

/// One side of a comparison.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImageFacts {
    pub reference: String,
    pub id: String,
    /// size as the engine reports it (stored layer bytes for an image file)
    pub size: u64,
    pub layers: usize,
    /// regular files, symlinks and hardlinks
    pub files: u64,
    pub user: String,
    pub shell: Option<String>,
    pub setuid: Vec<String>,
    pub package_managers: Vec<String>,
    /// dive's layer efficiency (0 to 1); `None` when the layers were not read
    pub efficiency: Option<f64>,
    pub wasted_bytes: Option<u64>,
}

impl ImageFacts {
    /// Facts from a full survey of the layers.
    pub fn from_survey(reference: &str, spec: &ImageSpec, size: u64, survey: &Survey) -> Self {
        ImageFacts {
            reference: reference.to_string(),
            id: spec.id.clone(),
            size,
            layers: survey.layers,
            files: survey.files,
            user: spec.user.clone(),
            shell: survey.shell.clone(),
            setuid: survey.setuid.clone(),
            package_managers: survey.package_managers.clone(),
            efficiency: Some(survey.efficiency),
            wasted_bytes: Some(survey.wasted_bytes),
        }
    }

    /// Facts from the merged tree only (no layer contents, so no efficiency).
    pub fn from_tree(reference: &str, spec: &ImageSpec, files: u64, facts: &TreeFacts) -> Self {
        ImageFacts {
            reference: reference.to_string(),
            id: spec.id.clone(),
            size: spec.size,
            layers: spec.layers,
            files,
            user: spec.user.clone(),
            shell: facts.shell.clone(),
            setuid: facts.setuid.clone(),
            package_managers: facts.package_managers.clone(),
            efficiency: None,
            wasted_bytes: None,
        }
    }
}

/// Two images, left and right.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Comparison {
    pub left: ImageFacts,
    pub right: ImageFacts,
}

impl Comparison {
    /// The rows of the comparison, aligned.
    pub fn table(&self) -> String {
        let rows = self.rows();
        let width = rows
            .iter()
            .map(|(_, left, _)| left.len())
            .max()
            .unwrap_or(0)
            .max(24)
            + 2;
        let mut out = String::new();
        for (label, left, right) in rows {
            let _ = writeln!(out, "{label:<12}{left:<width$}{right}");
        }
        out
    }

    /// (label, left, right) for every compared fact.
    pub fn rows(&self) -> Vec<(&'static str, String, String)> {
        let (l, r) = (&self.left, &self.right);
        vec![
            ("image", l.reference.clone(), r.reference.clone()),
            ("id", short_id(&l.id), short_id(&r.id)),
            ("size", human_bytes(l.size), human_bytes(r.size)),
            ("layers", l.layers.to_string(), r.layers.to_string()),
            ("files", l.files.to_string(), r.files.to_string()),
            ("user", user(&l.user), user(&r.user)),
            (
                "shell",
                l.shell.clone().unwrap_or_else(|| "none".into()),
                r.shell.clone().unwrap_or_else(|| "none".into()),
            ),
            ("setuid", setuid(&l.setuid), setuid(&r.setuid)),
            (
                "pkg mgr",
                list_or_none(&l.package_managers),
                list_or_none(&r.package_managers),
            ),
            ("efficiency", efficiency(l), efficiency(r)),
        ]
    }
}

fn user(user: &str) -> String {
    if user.is_empty() {
        "root (no USER)".into()
    } else {
        user.into()
    }
}

fn setuid(files: &[String]) -> String {
    match files.len() {
        0 => "none".into(),
        n => format!("{n} file(s)"),
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

fn efficiency(facts: &ImageFacts) -> String {
    match (facts.efficiency, facts.wasted_bytes) {
        (Some(e), Some(wasted)) if wasted > 0 => {
            format!("{:.1}% ({} wasted)", e * 100.0, human_bytes(wasted))
        }
        (Some(e), _) => format!("{:.1}%", e * 100.0),
        (None, _) => "not read (see slim compare)".into(),
    }
}

fn short_id(id: &str) -> String {
    let hex = id.trim_start_matches("sha256:");
    hex[..hex.len().min(12)].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_every_row() {
        let comparison = Comparison {
            left: ImageFacts {
                reference: "app:1".into(),
                id: "sha256:aaaaaaaaaaaaaaaa".into(),
                size: 500_000_000,
                layers: 5,
                files: 12000,
                shell: Some("/usr/bin/sh".into()),
                setuid: vec!["/usr/bin/passwd".into()],
                package_managers: vec!["apt-get".into(), "dpkg".into()],
                efficiency: Some(0.95),
                wasted_bytes: Some(25_000_000),
                ..Default::default()
            },
            right: ImageFacts {
                reference: "app.slim:1".into(),
                layers: 1,
                user: "65532:65532".into(),
                efficiency: Some(1.0),
                wasted_bytes: Some(0),
                ..Default::default()
            },
        };
        let table = comparison.table();
        for expected in [
            "app.slim:1",
            "500.0 MB",
            "root (no USER)",
            "65532:65532",
            "/usr/bin/sh",
            "1 file(s)",
            "apt-get, dpkg",
            "95.0% (25.0 MB wasted)",
            "100.0%",
        ] {
            assert!(table.contains(expected), "{expected} missing:\n{table}");
        }
        assert_eq!(table.lines().count(), 10);
    }
}
