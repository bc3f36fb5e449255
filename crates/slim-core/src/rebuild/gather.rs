//! The generated Dockerfile's middle stage: inside a build container of the source image,
//! `slim-sensor gather` copies the kept files into a directory, with the same edits the slim
//! layer gets, so `COPY --from=gather` gives the image `slim build` makes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::RebuildError;
use super::kept::KeptIndex;
use super::layer::{LayerPlan, write_layer};
use crate::resolve::keep::{KeepSet, Kept, Reason};
use crate::resolve::kept_tar::{PackError, write_kept_tar};
use crate::resolve::live::LiveTree;

/// Written next to the generated Dockerfile as `slim.plan.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatherPlan {
    /// the source image this plan was made for (for people reading the file)
    pub source: String,
    /// every kept path of the source image
    pub keep: Vec<String>,
    /// the edits that make the image run as its non-root user
    pub layer: LayerPlan,
}

#[derive(Debug, Error)]
pub enum GatherError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the plan is not valid JSON: {0}")]
    Plan(#[from] serde_json::Error),
    #[error(transparent)]
    Pack(#[from] PackError),
    #[error(transparent)]
    Rebuild(#[from] RebuildError),
}

/// Copy the plan's kept files from the file system under `root` into `out`, as the slim
/// layer would hold them. Scratch files go to `work` and are removed.
pub fn run_gather(
    root: &Path,
    plan_path: &Path,
    out: &Path,
    work: &Path,
) -> Result<(), GatherError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| GatherError::Io { path, source }
    };
    let plan: GatherPlan =
        serde_json::from_slice(&std::fs::read(plan_path).map_err(io(plan_path))?)?;
    let tree = LiveTree::new(root).map_err(io(root))?;
    let keep = KeepSet {
        paths: plan
            .keep
            .iter()
            .map(|p| {
                (
                    p.clone(),
                    Kept {
                        reason: Reason::Traced,
                        via: None,
                    },
                )
            })
            .collect::<BTreeMap<_, _>>(),
    };
    std::fs::create_dir_all(work).map_err(io(work))?;
    let kept_path = work.join("kept.tar");
    let layer_path = work.join("layer.tar");
    let file = File::create(&kept_path).map_err(io(&kept_path))?;
    write_kept_tar(&tree, &keep, BufWriter::new(file))?;
    let kept = KeptIndex::open(&kept_path)?;
    // the generated Dockerfile copies slim's stand-in for gosu & co. next to the plan
    let shim_path = plan_path.with_file_name(super::dockerfile::SWITCH_FILE);
    let shim = if plan.layer.switch_tools.is_empty() {
        None
    } else {
        Some(std::fs::read(&shim_path).map_err(io(&shim_path))?)
    };
    write_layer(&kept, &plan.layer, &layer_path, shim.as_deref())?;
    drop(kept);
    unpack_layer(&layer_path, out).map_err(io(out))?;
    let _ = std::fs::remove_file(&kept_path);
    let _ = std::fs::remove_file(&layer_path);
    Ok(())
}

/// Extract a layer keeping owners, modes (setuid bits are already gone), mtimes and links.
fn unpack_layer(layer: &Path, out: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    let mut archive = tar::Archive::new(File::open(layer)?);
    archive.set_preserve_permissions(true);
    archive.set_preserve_ownerships(true);
    archive.set_preserve_mtime(true);
    archive.set_unpack_xattrs(false);
    archive.set_overwrite(true);
    archive.unpack(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rebuild::user::plan_user;

    #[test]
    fn gathers_the_kept_files_with_the_layer_edits() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("app")).unwrap();
        std::fs::create_dir_all(root.path().join("etc")).unwrap();
        std::fs::write(root.path().join("app/run.sh"), b"echo hi\n").unwrap();
        std::fs::write(root.path().join("app/unused"), b"x").unwrap();
        std::fs::write(
            root.path().join("etc/passwd"),
            b"root:x:0:0:root:/root:/bin/sh\n",
        )
        .unwrap();
        let user = plan_user(
            "",
            None,
            Some("root:x:0:0:root:/root:/bin/sh\n"),
            None,
            None,
        )
        .unwrap();
        let plan = GatherPlan {
            source: "app:1".into(),
            keep: vec![
                "/app".into(),
                "/app/run.sh".into(),
                "/etc".into(),
                "/etc/passwd".into(),
            ],
            layer: LayerPlan {
                user,
                writable: ["/app".into()].into(),
                workdir: None,
                mtime_clamp: i64::MAX,
                package_db: None,
                accessed: BTreeMap::new(),
                switch_tools: Default::default(),
            },
        };
        let work = tempfile::tempdir().unwrap();
        let plan_path = work.path().join("plan.json");
        std::fs::write(&plan_path, serde_json::to_vec(&plan).unwrap()).unwrap();
        let out = work.path().join("root");
        run_gather(root.path(), &plan_path, &out, &work.path().join("scratch")).unwrap();
        assert_eq!(std::fs::read(out.join("app/run.sh")).unwrap(), b"echo hi\n");
        assert!(!out.join("app/unused").exists());
        let passwd = std::fs::read_to_string(out.join("etc/passwd")).unwrap();
        assert!(passwd.contains("nonroot:x:65532:65532"), "{passwd}");
        assert!(out.join("tmp").is_dir() && out.join("home/nonroot").is_dir());
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(out.join("app")).unwrap().uid(), 65532);
        assert!(!work.path().join("scratch/kept.tar").exists());
    }
}
