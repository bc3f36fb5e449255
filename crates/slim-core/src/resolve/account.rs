//! Every kept byte accounted for: how many files and bytes each rule (the trace, the ELF
//! closure, each language's imports, the app's content, each profile, the user's flags)
//! brought into the slim image. A path counts for the first rule that kept it.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use super::keep::{KeepSet, Kept, Reason};
use super::resolver::PACKAGE_DB_VIA;
use super::tree::{FileTree, Kind};

/// What one rule kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleTally {
    /// the reason as the report names it (`traced`, `python-import`, `app-content`, ...), or
    /// `profile:NAME`, or `package-db`
    pub rule: String,
    /// regular files and symlinks (directories are not counted)
    pub files: u64,
    /// bytes of file contents; a file with several hardlinks counts once
    pub bytes: u64,
}

impl RuleTally {
    /// True for what the traced run itself needs: the touched files and what loading them
    /// takes (libraries, interpreters, links, the user database). The rest is kept beyond
    /// the trace.
    pub fn is_trace(&self) -> bool {
        TRACE_RULES.contains(&self.rule.as_str())
    }
}

const TRACE_RULES: &[&str] = &[
    "traced",
    "elf-needed",
    "interp",
    "symlink-hop",
    "shebang",
    "parent",
    "nss",
    "ld-config",
    "user",
];

/// The rule a kept path counts for.
pub fn rule_of(kept: &Kept) -> String {
    match (kept.reason, kept.via.as_deref()) {
        (Reason::Profile, Some(via)) if via.starts_with("profile:") => via.to_string(),
        (Reason::Include, Some(PACKAGE_DB_VIA)) => PACKAGE_DB_VIA.to_string(),
        (reason, _) => serde_json::to_value(reason)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{reason:?}")),
    }
}

/// Files and bytes per rule, largest first.
pub fn tally(tree: &dyn FileTree, keep: &KeepSet) -> Vec<RuleTally> {
    let mut rules: BTreeMap<String, RuleTally> = BTreeMap::new();
    let mut linked: HashSet<(u64, u64)> = HashSet::new();
    for (path, kept) in &keep.paths {
        let Some(entry) = tree.entry(path) else {
            continue;
        };
        let bytes = match entry.kind {
            Kind::File => match entry.hardlink_id {
                Some(id) if !linked.insert(id) => 0,
                _ => entry.size,
            },
            Kind::Symlink(_) => 0,
            Kind::Dir | Kind::Other => continue,
        };
        let rule = rule_of(kept);
        let tally = rules.entry(rule.clone()).or_insert_with(|| RuleTally {
            rule,
            ..RuleTally::default()
        });
        tally.files += 1;
        tally.bytes += bytes;
    }
    let mut out: Vec<RuleTally> = rules.into_values().collect();
    out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.rule.cmp(&b.rule)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::memtree::MemTree;

    #[test]
    fn each_path_counts_once_for_its_rule_and_hardlinks_once() {
        let tree = MemTree::new()
            .file("/app/main.py", 0o644, vec![0; 100])
            .file("/app/page.html", 0o644, vec![0; 40])
            .file("/usr/lib/python3.11/csv.py", 0o644, vec![0; 7])
            .hardlink("/usr/bin/perl5.36.0", "/app/main.py")
            .symlink("/usr/bin/python3", "python3.11")
            .file("/usr/share/zoneinfo/UTC", 0o644, vec![0; 5]);
        let mut keep = KeepSet::default();
        keep.add("/app", Reason::Parent, None);
        keep.add("/app/main.py", Reason::Traced, None);
        keep.add("/usr/bin/perl5.36.0", Reason::Traced, None);
        keep.add("/usr/bin/python3", Reason::Traced, None);
        keep.add("/app/page.html", Reason::AppContent, Some("/app"));
        keep.add(
            "/usr/lib/python3.11/csv.py",
            Reason::PythonImport,
            Some("/app/main.py"),
        );
        keep.add(
            "/usr/share/zoneinfo/UTC",
            Reason::Profile,
            Some("profile:tzdata"),
        );
        let got = tally(&tree, &keep);
        let find = |rule: &str| got.iter().find(|t| t.rule == rule).cloned().unwrap();
        assert_eq!(find("traced").files, 3);
        assert_eq!(find("traced").bytes, 100);
        assert_eq!(find("app-content").bytes, 40);
        assert_eq!(find("python-import").bytes, 7);
        assert_eq!(find("profile:tzdata").bytes, 5);
        assert!(find("traced").is_trace() && !find("app-content").is_trace());
        assert_eq!(got[0].rule, "traced");
    }
}
