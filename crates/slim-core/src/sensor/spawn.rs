//! Starting the traced program: fork, ask to be traced, stop until the tracer has set its
//! options, install the seccomp filter, exec.
//!
//! The order matters: a SECCOMP_RET_TRACE with no tracer options set fails the syscall
//! with ENOSYS, so the filter goes in only after the parent saw the stop and set
//! PTRACE_O_TRACESECCOMP.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::{ForkResult, Pid};
use seccompiler::BpfProgram;

use super::filter;

/// Exit code of a child that could not exec, as shells use for "command not found".
pub const START_FAILED_EXIT_CODE: i32 = 127;

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("no program to run")]
    NoProgram,
    #[error("argument {0:?} contains a NUL byte")]
    NulInArgument(OsString),
    #[error("cannot create a pipe: {0}")]
    Pipe(Errno),
    #[error("cannot fork: {0}")]
    Fork(Errno),
}

/// The command line, converted before fork so the child does not allocate.
pub struct PreparedCommand {
    args: Vec<CString>,
    /// NULL-terminated pointers into `args`, as execvp wants them
    arg_pointers: Vec<*const libc::c_char>,
    display: Vec<String>,
}

impl PreparedCommand {
    pub fn new(argv: &[OsString]) -> Result<Self, SpawnError> {
        if argv.is_empty() {
            return Err(SpawnError::NoProgram);
        }
        let args = argv
            .iter()
            .map(|a| CString::new(a.as_bytes()).map_err(|_| SpawnError::NulInArgument(a.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        let mut arg_pointers: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
        arg_pointers.push(std::ptr::null());
        let display = argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        Ok(PreparedCommand {
            args,
            arg_pointers,
            display,
        })
    }

    /// The command as text, for the report and messages.
    pub fn display(&self) -> &[String] {
        &self.display
    }

    fn program_display(&self) -> &str {
        self.display.first().map(String::as_str).unwrap_or("")
    }
}

/// The step of the child's start-up that failed; sent through the pipe with the errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
enum Stage {
    TraceMe = 1,
    Filter = 2,
    Exec = 3,
}

/// A forked child that stops itself (SIGSTOP) under ptrace before it execs.
pub struct TracedChild {
    pub pid: Pid,
    /// read end of the CLOEXEC pipe: empty at EOF when exec succeeded
    failure_pipe: File,
}

impl TracedChild {
    /// Why the child could not start, read once the child has exited. `None` when it
    /// exec'ed successfully (the exec closed the pipe without writing).
    pub fn start_failure(&mut self, command: &PreparedCommand) -> Option<String> {
        let mut message = [0u8; 8];
        let mut filled = 0;
        while filled < message.len() {
            match self.failure_pipe.read(&mut message[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        if filled < message.len() {
            return None;
        }
        let stage = i32::from_ne_bytes([message[0], message[1], message[2], message[3]]);
        let errno = Errno::from_raw(i32::from_ne_bytes([
            message[4], message[5], message[6], message[7],
        ]));
        let program = command.program_display();
        Some(match stage {
            s if s == Stage::TraceMe as i32 => {
                format!("cannot trace {program}: ptrace: {}", errno.desc())
            }
            s if s == Stage::Filter as i32 => {
                format!("cannot trace {program}: seccomp filter: {}", errno.desc())
            }
            _ => format!("cannot run {program}: {}", errno.desc()),
        })
    }
}

/// Fork the child that will exec `command` under ptrace with `filter` installed.
pub fn spawn_traced(
    command: &PreparedCommand,
    filter: &BpfProgram,
) -> Result<TracedChild, SpawnError> {
    let (read_end, write_end) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(SpawnError::Pipe)?;
    // SAFETY: the sensor is single-threaded here and the child only makes
    // async-signal-safe calls on memory prepared before the fork.
    match unsafe { nix::unistd::fork() }.map_err(SpawnError::Fork)? {
        ForkResult::Child => run_child(command, filter, &write_end),
        ForkResult::Parent { child } => {
            drop(write_end);
            Ok(TracedChild {
                pid: child,
                failure_pipe: File::from(read_end),
            })
        }
    }
}

/// The child's side. Never returns: it execs or exits 127.
fn run_child(command: &PreparedCommand, filter: &BpfProgram, failure_pipe: &OwnedFd) -> ! {
    // Rust's runtime ignores SIGPIPE, and an ignored signal stays ignored across exec:
    // the program must start with the default, as it would without the sensor
    // SAFETY: async-signal-safe call with constant arguments.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    take_terminal();
    // SAFETY: raw syscalls with constant arguments.
    if unsafe { libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) } != 0 {
        fail(failure_pipe, Stage::TraceMe, Errno::last_raw());
    }
    // SAFETY: as above; the parent sees this stop and sets its ptrace options.
    unsafe {
        libc::raise(libc::SIGSTOP);
    }
    if let Err(errno) = filter::install(filter) {
        fail(failure_pipe, Stage::Filter, errno);
    }
    // SAFETY: both pointers come from `command`, which outlives this call; the array is
    // NULL-terminated.
    unsafe {
        libc::execvp(command.args[0].as_ptr(), command.arg_pointers.as_ptr());
    }
    fail(failure_pipe, Stage::Exec, Errno::last_raw())
}

/// Put the child in its own process group in the terminal's foreground, so Ctrl-C on a
/// terminal reaches the program once, not once from the tty and once forwarded by us.
fn take_terminal() {
    // SAFETY: plain syscalls on our own process and stdin; failures are harmless (no tty,
    // or stdin is another session's terminal) and leave the child where it was.
    unsafe {
        if libc::setpgid(0, 0) != 0 {
            return;
        }
        if libc::isatty(libc::STDIN_FILENO) == 1 {
            // a background group that calls tcsetpgrp gets SIGTTOU; ignore it meanwhile
            let previous = libc::signal(libc::SIGTTOU, libc::SIG_IGN);
            libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpid());
            libc::signal(libc::SIGTTOU, previous);
        }
    }
}

fn fail(failure_pipe: &OwnedFd, stage: Stage, errno: i32) -> ! {
    let mut message = [0u8; 8];
    message[..4].copy_from_slice(&(stage as i32).to_ne_bytes());
    message[4..].copy_from_slice(&errno.to_ne_bytes());
    // SAFETY: write and _exit are async-signal-safe; the buffer is on our stack.
    unsafe {
        libc::write(
            failure_pipe.as_raw_fd(),
            message.as_ptr().cast(),
            message.len(),
        );
        libc::_exit(START_FAILED_EXIT_CODE)
    }
}
