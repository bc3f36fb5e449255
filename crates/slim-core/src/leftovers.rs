//! What a run would leave behind if it were killed, written down while it runs: one small
//! record per run in slim's state directory, naming the temporary images it loaded and the
//! scratch directories it made (its containers carry an owner label instead). A run that
//! ends in any normal way (success, error, Ctrl-C) removes them and its record; the records
//! of runs that are gone tell a later run, or `slim clean`, what to remove.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use crate::owner::{Liveness, RunOwner};

/// What one run made that outlives it unless removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub owner: Option<RunOwner>,
    /// image IDs loaded for the run's own use
    pub images: Vec<String>,
    /// scratch directories on this machine
    pub dirs: Vec<PathBuf>,
}

/// The record of the running process, kept on disk as it changes.
pub struct Ledger {
    path: PathBuf,
    record: Mutex<RunRecord>,
}

/// Where run records live: `$SLIM_STATE_DIR`, else `$XDG_STATE_HOME/slim`, else
/// `~/.local/state/slim`, else a directory in the system's temporary directory.
pub fn state_dir() -> PathBuf {
    let from = |var: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = from("SLIM_STATE_DIR") {
        return dir;
    }
    if let Some(dir) = from("XDG_STATE_HOME") {
        return dir.join("slim");
    }
    if let Some(home) = from("HOME") {
        return home.join(".local/state/slim");
    }
    std::env::temp_dir().join(format!("slim-state-{}", nix::unistd::getuid().as_raw()))
}

/// This process's ledger, created on first use.
pub fn this_run() -> &'static Ledger {
    static LEDGER: OnceLock<Ledger> = OnceLock::new();
    LEDGER.get_or_init(|| {
        let owner = RunOwner::this_process();
        let file = format!("run-{}-{}.json", owner.pid, owner.start);
        Ledger {
            path: state_dir().join("runs").join(file),
            record: Mutex::new(RunRecord {
                owner: Some(owner),
                ..RunRecord::default()
            }),
        }
    })
}

impl Ledger {
    pub fn add_image(&self, id: &str) {
        self.change(|r| r.images.push(id.to_string()));
    }

    pub fn remove_image(&self, id: &str) {
        self.change(|r| r.images.retain(|i| i != id));
    }

    pub fn add_dir(&self, dir: &Path) {
        self.change(|r| r.dirs.push(dir.to_path_buf()));
    }

    pub fn remove_dir(&self, dir: &Path) {
        self.change(|r| r.dirs.retain(|d| d != dir));
    }

    /// Drop the record once nothing is left in it (scratch directories not yet dropped
    /// still count: they go when the run's values do).
    pub fn forget_if_clean(&self) {
        self.change(|_| {});
    }

    /// Best effort: a ledger that cannot be written only loses crash cleanup, never the run.
    fn change(&self, edit: impl FnOnce(&mut RunRecord)) {
        let Ok(mut record) = self.record.lock() else {
            return;
        };
        edit(&mut record);
        if record.images.is_empty() && record.dirs.is_empty() {
            let _ = std::fs::remove_file(&self.path);
            return;
        }
        let Ok(json) = serde_json::to_vec(&*record) else {
            return;
        };
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let tmp = self.path.with_extension("tmp");
        if std::fs::write(&tmp, json).is_ok() {
            let _ = std::fs::rename(&tmp, &self.path);
        }
    }
}

/// A scratch directory whose path is in this run's record while it exists.
pub struct ScratchDir {
    dir: tempfile::TempDir,
}

impl ScratchDir {
    /// A new directory `PREFIX…` in the system's temporary directory.
    pub fn new(prefix: &str) -> std::io::Result<ScratchDir> {
        let dir = tempfile::Builder::new().prefix(prefix).tempdir()?;
        this_run().add_dir(dir.path());
        Ok(ScratchDir { dir })
    }

    /// A new directory `PREFIX…` in `parent` (next to a file being written, so that a
    /// rename puts it in place).
    pub fn new_in(parent: &Path, prefix: &str) -> std::io::Result<ScratchDir> {
        let dir = tempfile::Builder::new().prefix(prefix).tempdir_in(parent)?;
        this_run().add_dir(dir.path());
        Ok(ScratchDir { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        this_run().remove_dir(self.dir.path());
    }
}

/// The records of runs on this machine that are gone, with the files they are in.
pub fn left_by_gone_runs() -> Vec<(PathBuf, RunRecord)> {
    gone_runs_in(&state_dir().join("runs"))
}

fn gone_runs_in(dir: &Path) -> Vec<(PathBuf, RunRecord)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut gone = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let Some(record) = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<RunRecord>(&b).ok())
        else {
            continue;
        };
        let is_gone = record
            .owner
            .as_ref()
            .is_none_or(|o| o.liveness() == Liveness::Gone);
        if is_gone {
            gone.push((path, record));
        }
    }
    gone.sort_by(|a, b| a.0.cmp(&b.0));
    gone
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_of_gone_runs_are_found_and_running_ones_are_not() {
        let state = tempfile::tempdir().unwrap();
        let runs = state.path().join("runs");
        std::fs::create_dir_all(&runs).unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = child.id();
        child.wait().unwrap();
        let gone = RunRecord {
            owner: Some(RunOwner {
                pid: dead_pid,
                ..RunOwner::this_process()
            }),
            images: vec!["sha256:abc".into()],
            dirs: vec!["/tmp/slim-gone".into()],
        };
        let running = RunRecord {
            owner: Some(RunOwner::this_process()),
            images: vec!["sha256:def".into()],
            dirs: Vec::new(),
        };
        std::fs::write(runs.join("a.json"), serde_json::to_vec(&gone).unwrap()).unwrap();
        std::fs::write(runs.join("b.json"), serde_json::to_vec(&running).unwrap()).unwrap();
        let found = gone_runs_in(&runs);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1, gone);
    }
}
