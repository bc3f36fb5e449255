//! The trace the sensor writes inside the container and slim reads back after it stops.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Current trace format version; bump when a field changes meaning.
pub const TRACE_VERSION: u32 = 1;

/// What a process did to a path. A path collects every kind of access it saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// opened for reading (or opened a directory)
    Read,
    /// executed (execve/execveat)
    Exec,
    /// looked at without opening: stat, access, readlink family
    Stat,
    /// directory listed (getdents)
    List,
    /// chdir'ed into
    Chdir,
    /// created, written, truncated, renamed, removed or had its metadata changed
    Write,
}

/// How the traced command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitStatus {
    /// exit code as a shell would report it: the code, or 128 + signal number
    pub code: i32,
    /// the signal that killed the process, if it was killed
    pub signal: Option<i32>,
}

/// One execve seen by the sensor, with what the kernel loads without a visible syscall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecRecord {
    pub pid: i32,
    /// absolute path as resolved against the caller's cwd/dirfd
    pub path: String,
    pub argv: Vec<String>,
    /// `#!` interpreter named by the file, if it is a script
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<String>,
    /// PT_INTERP of the ELF file, if it is a dynamic executable
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elf_interpreter: Option<String>,
    /// effective uid of the process that ran the program (None: /proc did not tell)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// effective gid of the process that ran the program
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// supplementary groups of the process that ran the program
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<u32>>,
}

/// A process asking the kernel to change its user or groups (setuid family, setgroups):
/// servers started as root that switch to their own user say so this way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSwitch {
    /// the process's executable: the path of its last exec, else /proc/PID/exe; empty
    /// when neither is known
    pub program: String,
    /// the syscall, e.g. `setuid`, `setresgid`, `setgroups`
    pub call: String,
    /// the uids or gids asked for, in argument order (`u32::MAX` is -1, "unchanged");
    /// for setgroups the group list, at most its first 64 entries
    pub ids: Vec<u32>,
    /// the caller's effective uid when it called (the call may fail, e.g. for non-root)
    pub from_uid: u32,
}

/// Everything one traced command did to the file system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceReport {
    pub version: u32,
    /// the command the sensor ran (argv)
    pub command: Vec<String>,
    /// `None` while the command still runs (a report flushed mid-run)
    pub exit: Option<ExitStatus>,
    /// set when the command could not be started at all (e.g. "No such file or directory")
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_error: Option<String>,
    /// absolute path -> the kinds of access seen
    pub files: BTreeMap<String, BTreeSet<Access>>,
    pub execs: Vec<ExecRecord>,
    /// number of processes and threads traced
    pub processes: u64,
    /// number of syscalls the filter handed to the tracer (file and credential calls)
    pub syscalls: u64,
    /// problems the sensor met but worked around (unreadable memory, unknown fd, ...)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// distinct requests to change user or groups, in the order first seen
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_switches: Vec<UserSwitch>,
    /// every syscall made, by ABI (`x86_64`, `x86`) and number (x32 calls carry bit 30);
    /// `None` unless the sensor stopped on all syscalls (`--all-syscalls`)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_syscalls: Option<BTreeMap<String, BTreeSet<u32>>>,
}

impl TraceReport {
    /// The user a program running as root switched to during the run (apache's `User`,
    /// nginx's workers, `gosu`, `setpriv`): the first non-root uid a root process asked for.
    pub fn switched_to_uid(&self) -> Option<u32> {
        self.user_switches
            .iter()
            .filter(|s| s.from_uid == 0)
            .filter_map(|s| match s.call.as_str() {
                "setuid" => s.ids.first().copied(),
                // (real, effective[, saved]): the effective one decides
                "setreuid" | "setresuid" => s.ids.get(1).copied().filter(|&e| e != u32::MAX),
                _ => None,
            })
            .find(|&uid| uid != 0 && uid != u32::MAX)
    }

    /// Record one access of `path`.
    pub fn record(&mut self, path: impl Into<String>, access: Access) {
        self.files.entry(path.into()).or_default().insert(access);
    }

    /// Record one access of `path` without allocating when it is already known.
    /// Returns whether the report changed.
    pub fn insert_access(&mut self, path: &str, access: Access) -> bool {
        match self.files.get_mut(path) {
            Some(accesses) => accesses.insert(access),
            None => {
                self.files
                    .insert(path.to_string(), BTreeSet::from([access]));
                true
            }
        }
    }

    /// Record a request to change user or groups unless an equal one is there already
    /// (every worker of a server asks the same). Returns whether the report changed.
    pub fn add_user_switch(&mut self, switch: UserSwitch) -> bool {
        if self.user_switches.contains(&switch) {
            return false;
        }
        self.user_switches.push(switch);
        true
    }

    /// Write the report as JSON so that a reader sees either the old or the new file,
    /// never a torn one: write `PATH.tmp`, then rename it over `PATH`.
    pub fn write_atomically(&self, path: &Path) -> io::Result<()> {
        let json = serde_json::to_vec(self).map_err(io::Error::other)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, path)
    }

    /// Fold another trace (an `--exec` command traced in the same container) into this one.
    pub fn merge(&mut self, other: &TraceReport) {
        for (path, accesses) in &other.files {
            self.files
                .entry(path.clone())
                .or_default()
                .extend(accesses.iter().copied());
        }
        self.execs.extend(other.execs.iter().cloned());
        self.processes += other.processes;
        self.syscalls += other.syscalls;
        self.warnings.extend(other.warnings.iter().cloned());
        for switch in &other.user_switches {
            self.add_user_switch(switch.clone());
        }
        if let Some(theirs) = &other.seen_syscalls {
            let ours = self.seen_syscalls.get_or_insert_with(BTreeMap::new);
            for (abi, numbers) in theirs {
                ours.entry(abi.clone()).or_default().extend(numbers);
            }
        }
    }

    /// Record that a syscall ran; returns whether it is new.
    pub fn insert_syscall(&mut self, abi: &str, nr: u32) -> bool {
        let seen = self.seen_syscalls.get_or_insert_with(BTreeMap::new);
        match seen.get_mut(abi) {
            Some(numbers) => numbers.insert(nr),
            None => {
                seen.insert(abi.to_string(), BTreeSet::from([nr]));
                true
            }
        }
    }

    /// Paths that were written (created, modified, removed) during the run.
    pub fn written(&self) -> impl Iterator<Item = &str> {
        self.files
            .iter()
            .filter(|(_, a)| a.contains(&Access::Write))
            .map(|(p, _)| p.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_access_reports_changes() {
        let mut report = TraceReport::default();
        assert!(report.insert_access("/etc/hosts", Access::Read));
        assert!(!report.insert_access("/etc/hosts", Access::Read));
        assert!(report.insert_access("/etc/hosts", Access::Stat));
        assert_eq!(report.files.len(), 1);
    }

    fn switch(program: &str, call: &str, ids: &[u32]) -> UserSwitch {
        UserSwitch {
            program: program.into(),
            call: call.into(),
            ids: ids.to_vec(),
            from_uid: 0,
        }
    }

    #[test]
    fn user_switches_are_deduplicated_and_merged() {
        let mut report = TraceReport::default();
        assert!(report.add_user_switch(switch("/usr/sbin/apache2", "setuid", &[33])));
        assert!(!report.add_user_switch(switch("/usr/sbin/apache2", "setuid", &[33])));
        assert!(report.add_user_switch(switch("/usr/sbin/apache2", "setgid", &[33])));
        let mut other = TraceReport::default();
        other.add_user_switch(switch("/usr/sbin/apache2", "setgid", &[33]));
        other.add_user_switch(switch("/usr/sbin/gosu", "setgroups", &[]));
        report.merge(&other);
        let calls: Vec<&str> = report
            .user_switches
            .iter()
            .map(|s| s.call.as_str())
            .collect();
        assert_eq!(calls, ["setuid", "setgid", "setgroups"]);
    }

    #[test]
    fn new_fields_are_optional_in_json() {
        let old = r#"{"version":1,"command":["sh"],"exit":null,"files":{},
            "execs":[{"pid":1,"path":"/bin/sh","argv":["sh"]}],"processes":1,"syscalls":2}"#;
        let report: TraceReport = serde_json::from_str(old).expect("an older report parses");
        assert!(report.user_switches.is_empty());
        assert_eq!(report.execs[0].uid, None);
        assert_eq!(report.execs[0].groups, None);
        let json = serde_json::to_string(&report).expect("serializes");
        assert!(
            !json.contains("user_switches") && !json.contains("uid"),
            "{json}"
        );
    }

    #[test]
    fn write_atomically_round_trips() {
        let dir = std::env::temp_dir().join(format!("slim-report-test-{}", std::process::id()));
        let path = dir.join("nested").join("trace.json");
        let mut report = TraceReport {
            version: TRACE_VERSION,
            command: vec!["true".into()],
            ..TraceReport::default()
        };
        report.record("/bin/true", Access::Exec);
        report.write_atomically(&path).expect("write");
        let back: TraceReport =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("parse");
        assert_eq!(back, report);
        assert!(!dir.join("nested").join("trace.json.tmp").exists());
        let _ = std::fs::remove_dir_all(dir);
    }
}
