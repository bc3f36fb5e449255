//! The `trace` mode: run a program under ptrace with the seccomp filter, record every
//! file it and its descendants touch, write the report, exit with the program's code.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::ptrace::{self, Event, Options};
use nix::unistd::Pid;

use super::credentials;
use super::decode::{self, CallSite};
use super::filter::{self, FilterError};
use super::memory::TraceeMemory;
use super::paths;
use super::recorder::Recorder;
use super::report::ExitStatus;
use super::signals;
use super::spawn::{self, PreparedCommand, SpawnError, TracedChild};
use super::syscalls::{self, CredentialSpec, Effect, SyscallSpec};
use super::tracees::{Creation, Tracees};

/// How often a changed report is written while the program runs, so that a container
/// killed with SIGKILL still leaves a recent trace behind.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// What `slim-sensor trace` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceOptions {
    pub report_path: PathBuf,
    /// program and its arguments
    pub command: Vec<OsString>,
    /// stop on every syscall and record which ones ran (for a seccomp profile)
    pub all_syscalls: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    #[error("cannot write the report {path}: {source}")]
    Report {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot set ptrace options on the program: {0}")]
    Options(Errno),
    #[error("cannot install signal handlers: {0}")]
    Signals(Errno),
    #[error("waiting for the traced program failed: {0}")]
    Wait(Errno),
}

/// Run the traced program to its end. Returns the exit code the sensor should exit with:
/// the program's code, 128 + signal if a signal killed it, 127 if it could not start.
pub fn run(options: &TraceOptions) -> Result<i32, TraceError> {
    // everything that allocates happens before the fork
    let program = filter::build(options.all_syscalls)?;
    let command = PreparedCommand::new(&options.command)?;
    let mut recorder = Recorder::new(options.report_path.clone(), command.display().to_vec());
    recorder.set_all_syscalls(options.all_syscalls);
    // an unwritable report path is found before the program runs, not after
    flush(&mut recorder)?;
    let cwd = std::env::current_dir()
        .ok()
        .and_then(|dir| dir.to_str().map(paths::normalize));

    let mut child = spawn::spawn_traced(&command, &program)?;
    let main = child.pid;
    // normally the child's own SIGSTOP; a signal that arrived between PTRACE_TRACEME and
    // raise() stops it first and is passed on below
    let mut pending_signal = 0;
    match wait_for(Some(main))? {
        WaitEvent::SignalStop { signal, .. } => {
            if signal != libc::SIGSTOP {
                pending_signal = signal;
            }
        }
        WaitEvent::Exited { code, .. } => {
            return finish_early(recorder, &mut child, &command, code, None);
        }
        WaitEvent::Killed { signal, .. } => {
            return finish_early(recorder, &mut child, &command, 128 + signal, Some(signal));
        }
        WaitEvent::PtraceEvent { .. } | WaitEvent::Other => {}
    }
    let trace_options = Options::PTRACE_O_TRACESECCOMP
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE
        | Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_EXITKILL;
    if let Err(errno) = ptrace::setoptions(main, trace_options) {
        // untraced, its first file syscall would fail with ENOSYS: do not let it run
        let _ = nix::sys::signal::kill(main, nix::sys::signal::Signal::SIGKILL);
        return Err(TraceError::Options(errno));
    }
    signals::forward_to(main).map_err(TraceError::Signals)?;
    signals::start_timer(FLUSH_INTERVAL).map_err(TraceError::Signals)?;

    let mut tracees = Tracees::default();
    tracees.add_main(main, cwd, pending_signal != 0);
    recorder.count_process();
    let mut tracer = Tracer {
        main,
        tracees,
        recorder,
    };
    tracer.resume(main, pending_signal);
    let exit = tracer.run_until_main_exits()?;
    let mut recorder = tracer.recorder;
    if exit.signal.is_none()
        && exit.code == spawn::START_FAILED_EXIT_CODE
        && let Some(message) = child.start_failure(&command)
    {
        recorder.set_start_error(message);
    }
    recorder.set_exit(exit);
    flush(&mut recorder)?;
    Ok(exit.code)
}

/// The child ended before its first stop: it could not even ask to be traced.
fn finish_early(
    mut recorder: Recorder,
    child: &mut TracedChild,
    command: &PreparedCommand,
    code: i32,
    signal: Option<i32>,
) -> Result<i32, TraceError> {
    if let Some(message) = child.start_failure(command) {
        recorder.set_start_error(message);
    }
    recorder.set_exit(ExitStatus { code, signal });
    flush(&mut recorder)?;
    Ok(code)
}

fn flush(recorder: &mut Recorder) -> Result<(), TraceError> {
    recorder.flush().map_err(|source| TraceError::Report {
        path: recorder.report_path().to_path_buf(),
        source,
    })
}

/// One waitpid result, decoded from the raw status. Raw, because a stop with a
/// real-time signal is a normal event that nix's WaitStatus cannot represent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WaitEvent {
    Exited {
        tid: Pid,
        code: i32,
    },
    Killed {
        tid: Pid,
        signal: i32,
    },
    PtraceEvent {
        tid: Pid,
        event: i32,
    },
    /// signal-delivery-stop or group-stop, told apart with PTRACE_GETSIGINFO
    SignalStop {
        tid: Pid,
        signal: i32,
    },
    Other,
}

fn decode_status(tid: Pid, status: i32) -> WaitEvent {
    if libc::WIFEXITED(status) {
        WaitEvent::Exited {
            tid,
            code: libc::WEXITSTATUS(status),
        }
    } else if libc::WIFSIGNALED(status) {
        WaitEvent::Killed {
            tid,
            signal: libc::WTERMSIG(status),
        }
    } else if libc::WIFSTOPPED(status) {
        let signal = libc::WSTOPSIG(status);
        let event = (status >> 16) & 0xff;
        if signal == libc::SIGTRAP && event != 0 {
            WaitEvent::PtraceEvent { tid, event }
        } else {
            WaitEvent::SignalStop { tid, signal }
        }
    } else {
        WaitEvent::Other
    }
}

/// Wait for any tracee (or one), on threads too (__WALL). EINTR comes back to the caller,
/// which is how the signal handlers get the loop's attention.
fn wait_once(pid: Option<Pid>) -> Result<WaitEvent, Errno> {
    let mut status: libc::c_int = 0;
    let target = pid.map_or(-1, Pid::as_raw);
    // SAFETY: plain syscall writing into a local.
    let tid = unsafe { libc::waitpid(target, &mut status, libc::__WALL) };
    if tid < 0 {
        return Err(Errno::last());
    }
    Ok(decode_status(Pid::from_raw(tid), status))
}

fn wait_for(pid: Option<Pid>) -> Result<WaitEvent, TraceError> {
    loop {
        match wait_once(pid) {
            Err(Errno::EINTR) => continue,
            other => return other.map_err(TraceError::Wait),
        }
    }
}

struct Tracer {
    /// the program the sensor started; its end is the sensor's end
    main: Pid,
    tracees: Tracees,
    recorder: Recorder,
}

impl Tracer {
    fn run_until_main_exits(&mut self) -> Result<ExitStatus, TraceError> {
        loop {
            self.flush_if_due();
            let event = match wait_once(None) {
                Ok(event) => event,
                Err(Errno::EINTR) => continue,
                Err(errno) => return Err(TraceError::Wait(errno)),
            };
            match event {
                WaitEvent::Exited { tid, code } => {
                    self.tracees.on_exit(tid);
                    if tid == self.main {
                        return Ok(ExitStatus { code, signal: None });
                    }
                }
                WaitEvent::Killed { tid, signal } => {
                    self.tracees.on_exit(tid);
                    if tid == self.main {
                        return Ok(ExitStatus {
                            code: 128 + signal,
                            signal: Some(signal),
                        });
                    }
                }
                WaitEvent::PtraceEvent { tid, event } => self.on_ptrace_event(tid, event),
                WaitEvent::SignalStop { tid, signal } => self.on_signal_stop(tid, signal),
                // as PID 1 we also reap orphans that were never ours to trace
                WaitEvent::Other => {}
            }
        }
    }

    /// Write the report on SIGTERM/SIGINT, and on the timer when it changed. Failures are
    /// not fatal here: the final write reports them.
    fn flush_if_due(&mut self) {
        let requested = signals::take_flush_request();
        let timer = signals::take_timer_tick();
        if requested || (timer && self.recorder.is_dirty()) {
            let _ = self.recorder.flush();
        }
    }

    /// Register a tracee whose initial stop arrived before its parent's event.
    fn adopt_if_unknown(&mut self, tid: Pid) -> bool {
        if self.tracees.is_known(tid) {
            return false;
        }
        self.tracees.on_unannounced(tid);
        self.recorder.count_process();
        true
    }

    fn on_ptrace_event(&mut self, tid: Pid, event: i32) {
        const SECCOMP: i32 = Event::PTRACE_EVENT_SECCOMP as i32;
        const FORK: i32 = Event::PTRACE_EVENT_FORK as i32;
        const VFORK: i32 = Event::PTRACE_EVENT_VFORK as i32;
        const CLONE: i32 = Event::PTRACE_EVENT_CLONE as i32;
        const EXEC: i32 = Event::PTRACE_EVENT_EXEC as i32;
        match event {
            SECCOMP => self.on_seccomp_stop(tid),
            FORK | VFORK | CLONE => {
                self.adopt_if_unknown(tid);
                let how = match event {
                    FORK => Creation::Fork,
                    VFORK => Creation::Vfork,
                    _ => Creation::Clone,
                };
                if let Ok(child) = ptrace::getevent(tid) {
                    let child = Pid::from_raw(child as libc::pid_t);
                    if self.tracees.on_created(tid, child, how) {
                        self.recorder.count_process();
                    }
                }
            }
            EXEC => {
                let former = ptrace::getevent(tid)
                    .map(|former| Pid::from_raw(former as libc::pid_t))
                    .unwrap_or(tid);
                self.tracees.on_exec(tid, former);
            }
            _ => {}
        }
        self.resume(tid, 0);
    }

    fn on_signal_stop(&mut self, tid: Pid, signal: i32) {
        let adopted = self.adopt_if_unknown(tid);
        if signal == libc::SIGSTOP && (adopted || self.tracees.take_initial_stop(tid)) {
            // the stop every new tracee starts with; it was never meant for the program
            self.resume(tid, 0);
            return;
        }
        match ptrace::getsiginfo(tid) {
            Ok(_) => self.resume(tid, signal),
            // a group-stop: injecting the stop signal again would stop it again, forever
            Err(Errno::EINVAL) => self.resume(tid, 0),
            Err(_) => {}
        }
    }

    /// A syscall the filter stopped; it runs unchanged once the tracee is resumed.
    fn on_seccomp_stop(&mut self, tid: Pid) {
        self.recorder.count_syscall();
        self.adopt_if_unknown(tid);
        let tgid = self.tracees.tgid(tid).unwrap_or(tid);
        // a tracee killed meanwhile (ESRCH) simply has nothing more to record
        let Ok(stop) = syscalls::read_seccomp_stop(tid) else {
            return;
        };
        self.recorder.record_syscall(stop.arch, stop.call.nr);
        if stop.data == filter::DATA_ANY_SYSCALL {
            return;
        }
        if stop.data == filter::DATA_FOREIGN_ARCH {
            if self.tracees.first_foreign_abi_call(tgid) {
                self.recorder.warn(format!(
                    "pid {tgid} makes syscalls of a non-native ABI (32-bit?); \
                     its file accesses are not recorded"
                ));
            }
            return;
        }
        let call = stop.call;
        if let Some(spec) = syscalls::lookup(call.nr) {
            self.on_file_syscall(tid, tgid, spec, call.args);
        } else if let Some(spec) = syscalls::lookup_credential(call.nr) {
            self.on_credential_syscall(tid, tgid, spec, call.args);
        } else {
            self.recorder
                .warn(format!("the filter stopped unexpected syscall {}", call.nr));
        }
    }

    fn on_file_syscall(&mut self, tid: Pid, tgid: Pid, spec: &SyscallSpec, args: [u64; 6]) {
        self.tracees.open_memory_file(tgid, tid);
        let (mem_file, tracked_cwd) = self.tracees.call_context(tgid);
        let site = CallSite {
            tid,
            tgid,
            args,
            memory: TraceeMemory::new(tid, mem_file),
            tracked_cwd,
        };
        let decoded = decode::decode(spec, &site);
        for (path, access) in &decoded.accesses {
            self.recorder.record(path, *access);
        }
        if matches!(spec.effect, Effect::Exec { .. }) {
            // the program a later setuid is reported for, once the exec event confirms it
            let path = decoded.exec.as_ref().map(|exec| exec.path.clone());
            self.tracees.set_pending_exec(tgid, path);
        }
        if let Some(exec) = decoded.exec {
            self.recorder.add_exec(exec);
        }
        for warning in decoded.warnings {
            self.recorder.warn(warning);
        }
        if let Some(cwd) = decoded.new_cwd {
            self.tracees.set_tracked_cwd(tgid, cwd);
        }
    }

    /// Record whom the process asks to become; the call itself is left alone.
    fn on_credential_syscall(
        &mut self,
        tid: Pid,
        tgid: Pid,
        spec: &CredentialSpec,
        args: [u64; 6],
    ) {
        let program = self.tracees.program(tgid);
        self.tracees.open_memory_file(tgid, tid);
        let (mem_file, _) = self.tracees.call_context(tgid);
        let memory = TraceeMemory::new(tid, mem_file);
        let decoded = credentials::decode(spec, tid, &args, &memory, program);
        if let Some(switch) = decoded.switch {
            self.recorder.add_user_switch(switch);
        }
        if let Some(warning) = decoded.warning {
            self.recorder.warn(warning);
        }
    }

    /// PTRACE_CONT with a raw signal number (nix's Signal has no real-time signals).
    fn resume(&mut self, tid: Pid, signal: i32) {
        // SAFETY: PTRACE_CONT takes no pointers; data is the signal to deliver.
        let rc = unsafe {
            libc::ptrace(
                libc::PTRACE_CONT,
                tid.as_raw(),
                std::ptr::null_mut::<libc::c_void>(),
                signal as libc::c_long as *mut libc::c_void,
            )
        };
        if rc < 0 {
            let errno = Errno::last();
            // ESRCH: the tracee died meanwhile (e.g. SIGKILL); its exit is still to come
            if errno != Errno::ESRCH {
                self.recorder
                    .warn(format!("cannot resume pid {tid}: {errno}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_statuses_decode() {
        let tid = Pid::from_raw(7);
        assert_eq!(
            decode_status(tid, 3 << 8),
            WaitEvent::Exited { tid, code: 3 }
        );
        assert_eq!(
            decode_status(tid, libc::SIGKILL),
            WaitEvent::Killed {
                tid,
                signal: libc::SIGKILL
            }
        );
        let seccomp = 0x7f | (libc::SIGTRAP << 8) | ((Event::PTRACE_EVENT_SECCOMP as i32) << 16);
        assert_eq!(
            decode_status(tid, seccomp),
            WaitEvent::PtraceEvent {
                tid,
                event: Event::PTRACE_EVENT_SECCOMP as i32
            }
        );
        // a real-time signal stop, which nix::sys::wait cannot express
        let rt = libc::SIGRTMIN() + 1;
        assert_eq!(
            decode_status(tid, 0x7f | (rt << 8)),
            WaitEvent::SignalStop { tid, signal: rt }
        );
    }
}
