//! Which slim process made a container, an image or a scratch directory, so that what a
//! killed run left behind (SIGKILL, an OOM kill, a cancelled CI job) can be told from what
//! a run that is still going uses.
//!
//! A run is identified by its host, the kernel's boot id, its pid namespace, its pid and the
//! pid's start time (so a reused pid is not mistaken for the run). Only runs this process can
//! see can be checked: a run of another machine sharing a remote engine, or of another pid
//! namespace (slim in a container with `--network host` shares the host's name), is left
//! alone.

use serde::{Deserialize, Serialize};

/// Label on every container slim creates: `PID:START@BOOT_ID@HOST@PID_NS` of the creating
/// process (labels of older runs lack `@PID_NS`).
pub const OWNER_LABEL: &str = "dev.slim.owner";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOwner {
    pub pid: u32,
    /// clock ticks after boot at which the process started (`/proc/PID/stat`, field 22)
    pub start: u64,
    pub boot_id: String,
    pub host: String,
    /// the pid namespace (`pid:[4026531836]`), empty in labels of older runs
    #[serde(default)]
    pub pid_ns: String,
}

/// Whether the run that owns something still goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Running,
    /// the process is gone (or the machine rebooted since): what it owns is left over
    Gone,
    /// another machine's run: it cannot be checked from here
    Unknown,
}

impl RunOwner {
    /// The process this code runs in.
    pub fn this_process() -> RunOwner {
        let pid = std::process::id();
        RunOwner {
            pid,
            start: start_ticks(pid).unwrap_or(0),
            boot_id: boot_id(),
            host: host_name(),
            pid_ns: pid_namespace(),
        }
    }

    pub fn label(&self) -> String {
        format!(
            "{}:{}@{}@{}@{}",
            self.pid, self.start, self.boot_id, self.host, self.pid_ns
        )
    }

    pub fn from_label(label: &str) -> Option<RunOwner> {
        let (process, rest) = label.split_once('@')?;
        let (boot_id, rest) = rest.split_once('@')?;
        let (host, pid_ns) = rest.split_once('@').unwrap_or((rest, ""));
        let (pid, start) = process.split_once(':')?;
        Some(RunOwner {
            pid: pid.parse().ok()?,
            start: start.parse().ok()?,
            boot_id: boot_id.to_string(),
            host: host.to_string(),
            pid_ns: pid_ns.to_string(),
        })
    }

    pub fn liveness(&self) -> Liveness {
        if self.host != host_name() {
            return Liveness::Unknown;
        }
        // Its pid means nothing in another pid namespace.
        if !self.pid_ns.is_empty() && self.pid_ns != pid_namespace() {
            return Liveness::Unknown;
        }
        if self.boot_id != boot_id() {
            return Liveness::Gone;
        }
        match start_ticks(self.pid) {
            Some(start) if start == self.start => Liveness::Running,
            _ => Liveness::Gone,
        }
    }

    /// "pid 1234 on build-7", for messages.
    pub fn describe(&self) -> String {
        format!("pid {} on {}", self.pid, self.host)
    }
}

/// Field 22 of `/proc/PID/stat`; the command name (field 2) may hold spaces and parentheses,
/// so fields are counted after its closing parenthesis.
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn pid_namespace() -> String {
    std::fs::read_link("/proc/self/ns/pid")
        .map(|link| link.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_running_and_round_trips_through_its_label() {
        let me = RunOwner::this_process();
        assert!(me.start > 0);
        assert_eq!(me.liveness(), Liveness::Running);
        assert_eq!(RunOwner::from_label(&me.label()), Some(me.clone()));
    }

    #[test]
    fn a_finished_or_reused_pid_is_gone_and_another_host_unknown() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let gone = RunOwner {
            pid,
            ..RunOwner::this_process()
        };
        assert_eq!(gone.liveness(), Liveness::Gone);
        let reused = RunOwner {
            start: 1,
            ..RunOwner::this_process()
        };
        assert_eq!(reused.liveness(), Liveness::Gone);
        let elsewhere = RunOwner {
            host: "another-machine".into(),
            ..RunOwner::this_process()
        };
        assert_eq!(elsewhere.liveness(), Liveness::Unknown);
        let other_namespace = RunOwner {
            pid: 1,
            pid_ns: "pid:[1]".into(),
            ..RunOwner::this_process()
        };
        assert_eq!(other_namespace.liveness(), Liveness::Unknown);
        assert_eq!(RunOwner::from_label("garbage"), None);
    }

    #[test]
    fn labels_of_older_runs_have_no_namespace_and_are_still_checked() {
        let me = RunOwner::this_process();
        assert!(me.pid_ns.starts_with("pid:["), "{}", me.pid_ns);
        let old = format!("{}:{}@{}@{}", me.pid, me.start, me.boot_id, me.host);
        let read = RunOwner::from_label(&old).unwrap();
        assert_eq!(read.pid_ns, "");
        assert_eq!(read.liveness(), Liveness::Running);
    }
}
