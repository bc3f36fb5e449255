//! The report being built during a trace: what changed since the last flush, and a
//! bounded, deduplicated list of warnings.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use super::report::{Access, ExecRecord, ExitStatus, TRACE_VERSION, TraceReport, UserSwitch};

/// More distinct warnings than this are counted, not kept: a misbehaving tracee must not
/// grow the report without bound.
pub const MAX_WARNINGS: usize = 100;
/// Exec records kept; a container that runs a script every second for days would
/// otherwise grow the report forever. Exec accesses are still recorded in `files`.
pub const MAX_EXEC_RECORDS: usize = 10_000;
/// Distinct user switches kept; each is checked against all kept ones, and a real app
/// has a handful.
pub const MAX_USER_SWITCHES: usize = 1_000;

#[derive(Debug)]
pub struct Recorder {
    report: TraceReport,
    report_path: PathBuf,
    /// something a reader would want to see was added since the last write
    dirty: bool,
    seen_warnings: HashSet<String>,
    suppressed_warnings: u64,
}

impl Recorder {
    pub fn new(report_path: PathBuf, command: Vec<String>) -> Self {
        Recorder {
            report: TraceReport {
                version: TRACE_VERSION,
                command,
                ..TraceReport::default()
            },
            report_path,
            dirty: true,
            seen_warnings: HashSet::new(),
            suppressed_warnings: 0,
        }
    }

    pub fn report(&self) -> &TraceReport {
        &self.report
    }

    pub fn report_path(&self) -> &Path {
        &self.report_path
    }

    pub fn record(&mut self, path: &str, access: Access) {
        if self.report.insert_access(path, access) {
            self.dirty = true;
        }
    }

    pub fn add_exec(&mut self, exec: ExecRecord) {
        if self.report.execs.len() < MAX_EXEC_RECORDS {
            self.report.execs.push(exec);
            self.dirty = true;
        } else {
            self.warn(format!(
                "more than {MAX_EXEC_RECORDS} execs: further exec records dropped"
            ));
        }
    }

    pub fn add_user_switch(&mut self, switch: UserSwitch) {
        let switches = &self.report.user_switches;
        if switches.len() >= MAX_USER_SWITCHES && !switches.contains(&switch) {
            self.warn(format!(
                "more than {MAX_USER_SWITCHES} distinct user switches: further ones dropped"
            ));
        } else if self.report.add_user_switch(switch) {
            self.dirty = true;
        }
    }

    /// Start the set of syscalls seen (empty until the first), so the report says that
    /// every syscall was watched.
    pub fn set_all_syscalls(&mut self, on: bool) {
        if on {
            self.report
                .seen_syscalls
                .get_or_insert_with(Default::default);
        }
    }

    /// Note a syscall of the ABI `audit_arch`; only in all-syscalls mode.
    pub fn record_syscall(&mut self, audit_arch: u32, nr: i64) {
        if self.report.seen_syscalls.is_none() {
            return;
        }
        let abi = super::syscalls::abi_name(audit_arch);
        let recorded = match (abi, u32::try_from(nr)) {
            (Some(abi), Ok(nr)) => self.report.insert_syscall(abi, nr),
            _ => {
                self.warn(format!(
                    "syscall {nr} of unknown ABI {audit_arch:#x} is not in the seccomp profile"
                ));
                false
            }
        };
        if recorded {
            self.dirty = true;
        }
    }

    pub fn count_syscall(&mut self) {
        self.report.syscalls += 1;
    }

    pub fn count_process(&mut self) {
        self.report.processes += 1;
    }

    pub fn warn(&mut self, message: String) {
        if self.seen_warnings.contains(&message) {
            return;
        }
        if self.seen_warnings.len() >= MAX_WARNINGS {
            self.suppressed_warnings += 1;
            return;
        }
        self.seen_warnings.insert(message.clone());
        self.report.warnings.push(message);
        self.dirty = true;
    }

    pub fn set_start_error(&mut self, message: String) {
        self.report.start_error = Some(message);
        self.dirty = true;
    }

    pub fn set_exit(&mut self, exit: ExitStatus) {
        self.report.exit = Some(exit);
        self.dirty = true;
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Write the report now, whether or not it changed.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.suppressed_warnings > 0 {
            let note = format!(
                "{} further distinct warnings were dropped",
                self.suppressed_warnings
            );
            let mut report = self.report.clone();
            report.warnings.push(note);
            report.write_atomically(&self.report_path)?;
        } else {
            self.report.write_atomically(&self.report_path)?;
        }
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorder() -> Recorder {
        Recorder::new(PathBuf::from("/nonexistent/report.json"), vec!["x".into()])
    }

    #[test]
    fn warnings_are_deduplicated_and_bounded() {
        let mut r = recorder();
        r.warn("same".into());
        r.warn("same".into());
        assert_eq!(r.report().warnings, vec!["same".to_string()]);
        for i in 0..MAX_WARNINGS * 2 {
            r.warn(format!("warning {i}"));
        }
        assert_eq!(r.report().warnings.len(), MAX_WARNINGS);
        assert_eq!(r.suppressed_warnings, MAX_WARNINGS as u64 + 1);
    }

    #[test]
    fn repeated_user_switches_are_kept_once() {
        let mut r = recorder();
        let switch = UserSwitch {
            program: "/usr/sbin/nginx".into(),
            call: "setuid".into(),
            ids: vec![33],
            from_uid: 0,
        };
        r.add_user_switch(switch.clone());
        r.dirty = false;
        r.add_user_switch(switch);
        assert!(!r.is_dirty());
        assert_eq!(r.report().user_switches.len(), 1);
    }

    #[test]
    fn only_new_accesses_make_it_dirty() {
        let mut r = recorder();
        r.dirty = false;
        r.record("/a", Access::Read);
        assert!(r.is_dirty());
        r.dirty = false;
        r.record("/a", Access::Read);
        r.count_syscall();
        assert!(!r.is_dirty());
    }
}
