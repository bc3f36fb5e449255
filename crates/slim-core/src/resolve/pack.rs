//! The resolver as it runs inside a container of the source image (`slim-sensor pack`):
//! read the request, resolve against the live root, write the kept tar and the outcome.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::account::{RuleTally, tally};
use super::exclude::ExcludeList;
use super::kept_tar::{PackError, PackStats, TreeStats, summarize_visiting, write_kept_tar};
use super::live::LiveTree;
use super::resolver::{Resolution, ResolveError, ResolveRequest, resolve};
use super::tree::{FileTree, Kind};
use crate::survey::TreeFacts;

/// File names inside the output directory.
pub const KEPT_TAR: &str = "kept.tar";
pub const OUTCOME_JSON: &str = "outcome.json";

/// What the resolver found, sent back next to the kept tar.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PackOutcome {
    pub resolution: Resolution,
    /// what went into the kept tar
    pub packed: PackStats,
    /// the whole image, for "kept N of M"
    pub total: TreeStats,
    /// the source's shell, package managers and setuid files, for the comparison
    #[serde(default)]
    pub facts: crate::survey::TreeFacts,
    /// files and bytes kept per rule
    #[serde(default)]
    pub kept_by_rule: Vec<RuleTally>,
}

#[derive(Debug, Error)]
pub enum AgentError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the request is not valid JSON: {0}")]
    Request(#[from] serde_json::Error),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error(transparent)]
    Pack(#[from] PackError),
    #[error(transparent)]
    Exclude(#[from] super::exclude::RelativeExclude),
}

/// Resolve `request` against the file system under `root` and write the results to `out`.
pub fn run_pack(root: &Path, request: &Path, out: &Path) -> Result<PackOutcome, AgentError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| AgentError::Io { path, source }
    };
    let request: ResolveRequest =
        serde_json::from_slice(&std::fs::read(request).map_err(io(request))?)?;
    let tree = LiveTree::new(root).map_err(io(root))?;
    let exclude = ExcludeList::new(&request.exclude)?;
    // Counting the whole tree is a cold walk of every directory (seconds on a fuse-backed
    // overlay); it needs nothing from the resolution, so it runs alongside it.
    let ((total, facts), packed) = std::thread::scope(|scope| {
        let counting = scope.spawn(|| {
            let mut facts = TreeFacts::default();
            let total = summarize_visiting(&tree, &exclude, &mut |path, entry| {
                facts.visit(path, entry.kind == Kind::File, entry.mode)
            });
            facts.look_up(|path| tree.entry(path).is_some());
            (total, facts)
        });
        let packing = || -> Result<(Resolution, PackStats), AgentError> {
            let resolution = resolve(&tree, &request)?;
            std::fs::create_dir_all(out).map_err(io(out))?;
            let tar_path = out.join(KEPT_TAR);
            let file = File::create(&tar_path).map_err(io(&tar_path))?;
            let packed = write_kept_tar(&tree, &resolution.keep, BufWriter::new(file))?;
            Ok((resolution, packed))
        };
        let packed = packing();
        (counting.join().unwrap_or_default(), packed)
    });
    let (resolution, packed) = packed?;
    let kept_by_rule = tally(&tree, &resolution.keep);
    let outcome = PackOutcome {
        resolution,
        packed,
        total,
        facts,
        kept_by_rule,
    };
    let outcome_path = out.join(OUTCOME_JSON);
    std::fs::write(&outcome_path, serde_json::to_vec(&outcome)?).map_err(io(&outcome_path))?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensor::report::Access;

    #[test]
    fn packs_a_live_tree() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("app")).unwrap();
        std::fs::write(root.path().join("app/main.sh"), b"echo hi\n").unwrap();
        std::fs::write(root.path().join("app/unused"), b"x").unwrap();
        std::os::unix::fs::symlink("app/main.sh", root.path().join("entry")).unwrap();
        let request = ResolveRequest {
            traced: [("/entry".to_string(), [Access::Read].into())].into(),
            exclude: vec!["/proc".into()],
            ..Default::default()
        };
        let work = tempfile::tempdir().unwrap();
        let request_path = work.path().join("request.json");
        std::fs::write(&request_path, serde_json::to_vec(&request).unwrap()).unwrap();
        let out = work.path().join("out");
        let outcome = run_pack(root.path(), &request_path, &out).unwrap();
        let kept: Vec<&str> = outcome
            .resolution
            .keep
            .paths
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(kept, ["/app", "/app/main.sh", "/entry"]);
        assert_eq!(outcome.total.files, 2);
        let written: PackOutcome =
            serde_json::from_slice(&std::fs::read(out.join(OUTCOME_JSON)).unwrap()).unwrap();
        assert_eq!(written.packed, outcome.packed);
        let mut archive = tar::Archive::new(File::open(out.join(KEPT_TAR)).unwrap());
        assert_eq!(archive.entries().unwrap().count(), 3);
    }
}
