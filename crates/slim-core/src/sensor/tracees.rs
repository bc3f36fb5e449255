//! Bookkeeping of the traced threads and processes.
//!
//! ptrace speaks in thread ids; cwd, memory and /proc/self belong to the process, so each
//! thread maps to its thread group id (tgid) and per-process state lives under the tgid.

use std::collections::HashMap;
use std::fs::File;

use nix::unistd::Pid;

use super::memory;
use super::paths;

/// How a new tracee was created, from the ptrace event that announced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creation {
    Fork,
    Vfork,
    /// clone(); usually a thread, but clone without CLONE_THREAD makes a process
    Clone,
}

#[derive(Debug)]
struct Thread {
    tgid: Pid,
    /// the SIGSTOP every auto-attached tracee starts with has not been seen yet
    awaiting_initial_stop: bool,
}

/// Access to a process's memory file, opened on first use.
#[derive(Debug, Default)]
enum MemoryFile {
    #[default]
    Unopened,
    Open(File),
    /// opening failed (no ptrace access rights): PTRACE_PEEKDATA only
    Unavailable,
}

#[derive(Debug, Default)]
struct Process {
    /// cwd as last set by chdir/fchdir or inherited at fork; used when /proc cannot tell
    tracked_cwd: Option<String>,
    /// the path of the last exec that succeeded, or inherited at fork
    program: Option<String>,
    /// the path of the exec the process is in, which becomes `program` if it succeeds
    pending_exec: Option<String>,
    memory: MemoryFile,
    warned_foreign_abi: bool,
}

impl Process {
    /// Take what a forked child shares with its parent, where nothing is known yet.
    fn inherit(&mut self, parent: &Inherited) {
        if self.tracked_cwd.is_none() {
            self.tracked_cwd = parent.cwd.clone();
        }
        if self.program.is_none() {
            self.program = parent.program.clone();
        }
    }
}

/// What a new process starts with from its parent.
#[derive(Debug, Default)]
struct Inherited {
    cwd: Option<String>,
    program: Option<String>,
}

#[derive(Debug, Default)]
pub struct Tracees {
    threads: HashMap<Pid, Thread>,
    processes: HashMap<Pid, Process>,
}

impl Tracees {
    /// The program the sensor started; its cwd is the sensor's. It still owes its
    /// SIGSTOP if another signal stopped it first.
    pub fn add_main(&mut self, pid: Pid, cwd: Option<String>, awaiting_initial_stop: bool) {
        self.threads.insert(
            pid,
            Thread {
                tgid: pid,
                awaiting_initial_stop,
            },
        );
        self.processes.insert(
            pid,
            Process {
                tracked_cwd: cwd,
                ..Process::default()
            },
        );
    }

    pub fn is_known(&self, tid: Pid) -> bool {
        self.threads.contains_key(&tid)
    }

    pub fn tgid(&self, tid: Pid) -> Option<Pid> {
        self.threads.get(&tid).map(|t| t.tgid)
    }

    /// The parent's event announced `child`. Returns whether the tracee is new (its own
    /// initial stop may have come first, in which case it is already known).
    pub fn on_created(&mut self, parent: Pid, child: Pid, how: Creation) -> bool {
        let parent_tgid = self.tgid(parent).unwrap_or(parent);
        let inherited = self
            .processes
            .get(&parent_tgid)
            .map(|p| Inherited {
                cwd: p.tracked_cwd.clone(),
                program: p.program.clone(),
            })
            .unwrap_or_default();
        if let Some(thread) = self.threads.get(&child) {
            let tgid = thread.tgid;
            if tgid != parent_tgid {
                self.processes.entry(tgid).or_default().inherit(&inherited);
            }
            return false;
        }
        let tgid = read_tgid(child).unwrap_or(match how {
            Creation::Clone => parent_tgid,
            Creation::Fork | Creation::Vfork => child,
        });
        self.threads.insert(
            child,
            Thread {
                tgid,
                awaiting_initial_stop: true,
            },
        );
        if tgid != parent_tgid {
            self.processes.entry(tgid).or_default().inherit(&inherited);
        }
        true
    }

    /// A tracee we have not heard of stopped: a new tracee whose initial stop beat its
    /// parent's event. Registers it; its cwd comes with the parent's event.
    pub fn on_unannounced(&mut self, tid: Pid) {
        let tgid = read_tgid(tid).unwrap_or(tid);
        self.threads.insert(
            tid,
            Thread {
                tgid,
                awaiting_initial_stop: false,
            },
        );
        self.processes.entry(tgid).or_default();
    }

    /// If this stop is the tracee's initial SIGSTOP, consume it and say so.
    pub fn take_initial_stop(&mut self, tid: Pid) -> bool {
        match self.threads.get_mut(&tid) {
            Some(thread) if thread.awaiting_initial_stop => {
                thread.awaiting_initial_stop = false;
                true
            }
            _ => false,
        }
    }

    /// `tid` (the thread group leader's id after exec) finished an exec that
    /// `former_tid` started. A non-leader thread that execs takes over the leader's id and
    /// the old id vanishes without an exit report.
    pub fn on_exec(&mut self, tid: Pid, former_tid: Pid) {
        if former_tid != tid {
            self.threads.remove(&former_tid);
        }
        let tgid = tid;
        self.threads.insert(
            tid,
            Thread {
                tgid,
                awaiting_initial_stop: false,
            },
        );
        // the new program has a new address space: the old memory file reads the old one
        let process = self.processes.entry(tgid).or_default();
        process.memory = MemoryFile::Unopened;
        process.program = process.pending_exec.take();
    }

    /// The process is about to exec `path` (`None`: a path the sensor could not read).
    pub fn set_pending_exec(&mut self, tgid: Pid, path: Option<String>) {
        self.processes.entry(tgid).or_default().pending_exec = path;
    }

    /// The executable of a process: the path of its last exec, else /proc/PID/exe, which
    /// a sensor without CAP_SYS_PTRACE cannot read for a tracee of another user; empty
    /// when neither tells.
    pub fn program(&self, tgid: Pid) -> String {
        if let Some(program) = self.processes.get(&tgid).and_then(|p| p.program.clone()) {
            return program;
        }
        match paths::read_proc_link(&format!("/proc/{tgid}/exe")) {
            Ok(Some(exe)) => exe,
            Ok(None) | Err(_) => String::new(),
        }
    }

    /// A thread or process ended and was reaped.
    pub fn on_exit(&mut self, tid: Pid) {
        if let Some(thread) = self.threads.remove(&tid) {
            // the leader is reported last, once the whole group is gone
            if thread.tgid == tid {
                self.processes.remove(&tid);
            }
        }
    }

    pub fn tracked_cwd(&self, tgid: Pid) -> Option<&str> {
        self.processes
            .get(&tgid)
            .and_then(|p| p.tracked_cwd.as_deref())
    }

    pub fn set_tracked_cwd(&mut self, tgid: Pid, cwd: String) {
        self.processes.entry(tgid).or_default().tracked_cwd = Some(cwd);
    }

    /// Open the process's memory file through `tid` if that was not tried yet.
    pub fn open_memory_file(&mut self, tgid: Pid, tid: Pid) {
        let process = self.processes.entry(tgid).or_default();
        if matches!(process.memory, MemoryFile::Unopened) {
            process.memory = match memory::open_mem_file(tid) {
                Ok(file) => MemoryFile::Open(file),
                Err(_) => MemoryFile::Unavailable,
            };
        }
    }

    /// What decoding a syscall of the process needs: its memory file, if open, and the
    /// tracked cwd.
    pub fn call_context(&self, tgid: Pid) -> (Option<&File>, Option<&str>) {
        match self.processes.get(&tgid) {
            Some(process) => {
                let file = match &process.memory {
                    MemoryFile::Open(file) => Some(file),
                    MemoryFile::Unopened | MemoryFile::Unavailable => None,
                };
                (file, process.tracked_cwd.as_deref())
            }
            None => (None, None),
        }
    }

    /// True the first time it is asked for a process: warn once per process only.
    pub fn first_foreign_abi_call(&mut self, tgid: Pid) -> bool {
        let process = self.processes.entry(tgid).or_default();
        !std::mem::replace(&mut process.warned_foreign_abi, true)
    }

    pub fn thread_count(&self) -> usize {
        self.threads.len()
    }
}

/// The thread group of a task, from /proc, which anyone may read.
fn read_tgid(tid: Pid) -> Option<Pid> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Tgid:"))?;
    line.trim().parse().ok().map(Pid::from_raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(n: i32) -> Pid {
        Pid::from_raw(n)
    }

    #[test]
    fn tgid_of_this_process() {
        let me = nix::unistd::getpid();
        assert_eq!(read_tgid(me), Some(me));
    }

    #[test]
    fn child_announced_first_waits_for_its_stop() {
        let mut t = Tracees::default();
        t.add_main(pid(1_000_000), Some("/srv".into()), false);
        // pids that do not exist make read_tgid fail, so the event kind decides
        assert!(t.on_created(pid(1_000_000), pid(1_000_001), Creation::Fork));
        assert_eq!(t.tgid(pid(1_000_001)), Some(pid(1_000_001)));
        assert_eq!(t.tracked_cwd(pid(1_000_001)), Some("/srv"));
        assert!(t.take_initial_stop(pid(1_000_001)));
        assert!(!t.take_initial_stop(pid(1_000_001)));
    }

    #[test]
    fn child_stopping_first_gets_cwd_from_the_later_event() {
        let mut t = Tracees::default();
        t.add_main(pid(1_000_000), Some("/srv".into()), false);
        t.on_unannounced(pid(1_000_002));
        assert!(!t.on_created(pid(1_000_000), pid(1_000_002), Creation::Fork));
        assert_eq!(t.tracked_cwd(pid(1_000_002)), Some("/srv"));
        assert!(!t.take_initial_stop(pid(1_000_002)));
    }

    #[test]
    fn program_comes_from_the_exec_that_succeeded_and_forks_inherit_it() {
        let mut t = Tracees::default();
        let (main, child) = (pid(1_000_000), pid(1_000_004));
        t.add_main(main, None, false);
        t.set_pending_exec(main, Some("/usr/sbin/apache2".into()));
        t.on_exec(main, main);
        assert_eq!(t.program(main), "/usr/sbin/apache2");
        // an exec that fails leaves the program as it was
        t.set_pending_exec(main, Some("/nonexistent".into()));
        assert_eq!(t.program(main), "/usr/sbin/apache2");
        assert!(t.on_created(main, child, Creation::Fork));
        assert_eq!(t.program(child), "/usr/sbin/apache2");
        // an exec whose path was unreadable: /proc/PID/exe of a pid that does not exist
        t.set_pending_exec(child, None);
        t.on_exec(child, child);
        assert_eq!(t.program(child), "");
    }

    #[test]
    fn program_of_an_unknown_process_is_its_exe() {
        let t = Tracees::default();
        let me = nix::unistd::getpid();
        let exe = std::fs::read_link("/proc/self/exe").expect("own exe");
        assert_eq!(t.program(me), exe.to_str().expect("utf-8"));
    }

    #[test]
    fn exec_by_a_thread_takes_the_leader_id() {
        let mut t = Tracees::default();
        t.add_main(pid(1_000_000), None, false);
        assert!(t.on_created(pid(1_000_000), pid(1_000_003), Creation::Clone));
        assert_eq!(t.tgid(pid(1_000_003)), Some(pid(1_000_000)));
        t.on_exec(pid(1_000_000), pid(1_000_003));
        assert!(!t.is_known(pid(1_000_003)));
        assert!(t.is_known(pid(1_000_000)));
        assert_eq!(t.thread_count(), 1);
        t.on_exit(pid(1_000_000));
        assert_eq!(t.thread_count(), 0);
    }
}
