//! Turning one stopped file syscall into the accesses it makes: read its path arguments,
//! make them absolute, and for exec also find what the kernel will load with the file.

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;

use nix::unistd::Pid;

use super::binfmt::{self, ExecFormat};
use super::credentials;
use super::memory::{MemoryError, PATH_MAX, TraceeMemory};
use super::paths;
use super::report::{Access, ExecRecord};
use super::syscalls::{self, Effect, OpenMode, SyscallSpec, Target};

/// argv recorded per exec, in entries and bytes; the rest of a huge command line is
/// dropped.
const MAX_ARGV: usize = 1024;
const MAX_ARGV_BYTES: usize = 64 * 1024;
/// The kernel follows at most this many `#!` interpreters (BINPRM_MAX_RECURSION), plus
/// the final ELF file.
const MAX_INTERPRETER_DEPTH: usize = 5;
/// offset of `resolve` in `struct open_how`
const OPEN_HOW_RESOLVE: u64 = 16;

/// A tracee stopped at a file syscall, and what the tracer knows about it.
pub struct CallSite<'a> {
    pub tid: Pid,
    pub tgid: Pid,
    pub args: [u64; 6],
    pub memory: TraceeMemory<'a>,
    /// fallback for when /proc/TID/cwd cannot be read
    pub tracked_cwd: Option<&'a str>,
}

/// What one syscall did, for the tracer to record.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    pub accesses: Vec<(String, Access)>,
    pub exec: Option<ExecRecord>,
    /// the process is changing its cwd to this
    pub new_cwd: Option<String>,
    pub warnings: Vec<String>,
}

/// A path that could not be made absolute, with the reason as a report warning.
type Resolved = Result<Option<String>, String>;

pub fn decode(spec: &SyscallSpec, site: &CallSite) -> Decoded {
    let mut out = Decoded::default();
    match spec.effect {
        Effect::Open { target, mode } => {
            let (access, in_root) = open_mode(site, mode);
            if let Some(path) = out.keep(resolve(spec, site, target, in_root)) {
                out.accesses.push((path, access));
            }
        }
        Effect::Exec { target, argv } => {
            if let Some(path) = out.keep(resolve(spec, site, target, false)) {
                decode_exec(site, target, argv, path, &mut out);
            }
        }
        Effect::Chdir(target) => {
            if let Some(path) = out.keep(resolve(spec, site, target, false)) {
                out.accesses.push((path.clone(), Access::Chdir));
                out.new_cwd = Some(path);
            }
        }
        Effect::Touch(list) => {
            for &(target, access) in list {
                if let Some(path) = out.keep(resolve(spec, site, target, false)) {
                    out.accesses.push((path, access));
                }
            }
        }
    }
    out
}

impl Decoded {
    /// The path of a resolution, moving its warning (if any) into `self`.
    fn keep(&mut self, resolved: Resolved) -> Option<String> {
        match resolved {
            Ok(path) => path,
            Err(warning) => {
                self.warnings.push(warning);
                None
            }
        }
    }
}

/// Access kind of an open, and whether absolute paths are relative to the dirfd
/// (openat2 with RESOLVE_IN_ROOT).
fn open_mode(site: &CallSite, mode: OpenMode) -> (Access, bool) {
    match mode {
        OpenMode::FlagsArg(index) => (syscalls::open_access(site.args[index]), false),
        OpenMode::Create => (Access::Write, false),
        OpenMode::OpenHow(index) => {
            let how = site.args[index];
            // an unreadable open_how fails the syscall with EFAULT: nothing is opened
            let flags = site.memory.read_u64(how).unwrap_or(0);
            let resolve = site
                .memory
                .read_u64(how.wrapping_add(OPEN_HOW_RESOLVE))
                .unwrap_or(0);
            (
                syscalls::open_access(flags),
                resolve & libc::RESOLVE_IN_ROOT != 0,
            )
        }
    }
}

/// The absolute path a syscall argument names, as the tracee sees it.
fn resolve(spec: &SyscallSpec, site: &CallSite, target: Target, in_root: bool) -> Resolved {
    let (dirfd, path) = match target {
        Target::Fd(index) => return fd_path(site, site.args[index] as i32),
        Target::Path { dirfd, path } => (dirfd, path),
    };
    let text = match site.memory.read_c_string(site.args[path], PATH_MAX) {
        Ok(bytes) => bytes,
        // the kernel fails these calls (EFAULT, ENAMETOOLONG) before touching a file
        Err(MemoryError::Null | MemoryError::TooLong(_)) => return Ok(None),
        Err(error) => return Err(format!("{}: path argument unreadable: {error}", spec.name)),
    };
    let Ok(text) = String::from_utf8(text) else {
        return Err(format!("{}: skipped a path that is not UTF-8", spec.name));
    };
    if text.is_empty() && dirfd.is_none() {
        // stat("") and friends fail with ENOENT; with a dirfd, "" can name the fd itself
        return Ok(None);
    }
    let dirfd = dirfd.map_or(libc::AT_FDCWD, |index| site.args[index] as i32);
    let absolute = if text.starts_with('/') && !in_root {
        paths::normalize(&text)
    } else {
        let Some(base) = base_dir(site, dirfd)? else {
            return Ok(None);
        };
        paths::join(&base, text.trim_start_matches('/'))
    };
    Ok(Some(paths::rewrite_proc_self(
        absolute, site.tgid, site.tid,
    )))
}

/// The directory a relative path starts from: the dirfd's directory or the cwd.
fn base_dir(site: &CallSite, dirfd: i32) -> Resolved {
    if dirfd == libc::AT_FDCWD {
        cwd(site)
    } else {
        fd_path(site, dirfd)
    }
}

fn cwd(site: &CallSite) -> Resolved {
    let error = match paths::read_cwd(site.tid) {
        Ok(Some(cwd)) => return Ok(Some(cwd)),
        Ok(None) => "not a path".to_string(),
        Err(e) => e.to_string(),
    };
    match site.tracked_cwd {
        Some(cwd) => Ok(Some(cwd.to_string())),
        None => Err(format!(
            "cannot find the cwd of pid {}: {error}; relative paths skipped",
            site.tgid
        )),
    }
}

fn fd_path(site: &CallSite, fd: i32) -> Resolved {
    if fd < 0 {
        return Ok(None);
    }
    match paths::read_fd_path(site.tid, fd) {
        Ok(path) => Ok(path),
        // no such fd: the syscall fails with EBADF
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!(
            "cannot resolve file descriptors of pid {}: {e}",
            site.tgid
        )),
    }
}

/// Record an exec: the file, its argv, and the interpreters the kernel loads with it.
fn decode_exec(site: &CallSite, target: Target, argv: usize, path: String, out: &mut Decoded) {
    out.accesses.push((path.clone(), Access::Exec));
    let file = match open_exec_file(site, target, &path) {
        Ok(file) => Some(file),
        // the exec fails too (execvp tries every PATH entry): no program ran
        Err(e) if is_missing(&e) => return,
        Err(_) => None,
    };
    let argv = match site
        .memory
        .read_string_array(site.args[argv], MAX_ARGV, MAX_ARGV_BYTES)
    {
        Ok(argv) => argv,
        Err(error) => {
            out.warnings
                .push(format!("exec of {path}: argv unreadable: {error}"));
            Vec::new()
        }
    };
    // no_new_privs, set with the filter, keeps exec from changing ids: the caller's are
    // the program's
    let credentials = credentials::read(site.tid);
    let mut record = ExecRecord {
        pid: site.tgid.as_raw(),
        path,
        argv,
        interpreter: None,
        elf_interpreter: None,
        uid: credentials.as_ref().map(|c| c.uid),
        gid: credentials.as_ref().map(|c| c.gid),
        groups: credentials.map(|c| c.groups),
    };
    if let Some(file) = file {
        follow_interpreters(site, file, &mut record, out);
    }
    out.exec = Some(record);
}

/// Open the file an exec loads; for `execveat(fd, "", .., AT_EMPTY_PATH)` the path from
/// /proc may not open (deleted file, memfd), but the fd link still does.
fn open_exec_file(site: &CallSite, target: Target, path: &str) -> std::io::Result<File> {
    let error = match open_regular(path) {
        Ok(file) => return Ok(file),
        Err(error) => error,
    };
    if let Target::Path {
        dirfd: Some(index), ..
    } = target
        && let fd = site.args[index] as i32
        && fd >= 0
        && let Ok(file) = open_regular(&format!("/proc/{}/fd/{fd}", site.tid))
    {
        return Ok(file);
    }
    Err(error)
}

/// Open a file to read its head, only if it is a regular file. O_NONBLOCK keeps a FIFO
/// from blocking the whole trace; O_NOCTTY keeps a tty from becoming ours.
fn open_regular(path: &str) -> std::io::Result<File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    if file.metadata()?.is_file() {
        Ok(file)
    } else {
        Err(std::io::Error::from_raw_os_error(libc::EACCES))
    }
}

fn is_missing(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::NotFound || error.raw_os_error() == Some(libc::ENOTDIR)
}

fn follow_interpreters(site: &CallSite, file: File, record: &mut ExecRecord, out: &mut Decoded) {
    let mut file = file;
    for _ in 0..MAX_INTERPRETER_DEPTH {
        let format = match binfmt::probe(&file) {
            Ok(format) => format,
            Err(error) => {
                out.warnings.push(format!(
                    "cannot read {} to find its interpreter: {error}",
                    record.path
                ));
                return;
            }
        };
        match format {
            ExecFormat::Script { interpreter } => {
                let Some(interpreter) = out.keep(loaded_path(site, &interpreter)) else {
                    return;
                };
                out.accesses.push((interpreter.clone(), Access::Read));
                record
                    .interpreter
                    .get_or_insert_with(|| interpreter.clone());
                file = match open_regular(&interpreter) {
                    Ok(next) => next,
                    Err(_) => return,
                };
            }
            ExecFormat::Elf {
                interpreter: Some(loader),
            } => {
                if let Some(loader) = out.keep(loaded_path(site, &loader)) {
                    out.accesses.push((loader.clone(), Access::Read));
                    record.elf_interpreter = Some(loader);
                }
                return;
            }
            ExecFormat::Elf { interpreter: None } | ExecFormat::Other => return,
        }
    }
}

/// The kernel opens interpreters relative to the cwd, like open(2) does.
fn loaded_path(site: &CallSite, name: &str) -> Resolved {
    if name.starts_with('/') {
        return Ok(Some(paths::normalize(name)));
    }
    Ok(cwd(site)?.map(|base| paths::join(&base, name)))
}
