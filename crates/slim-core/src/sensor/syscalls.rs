//! Which system calls touch files, and where in their arguments the files are named; and
//! which change the caller's user or groups, and where they name the ids.
//!
//! Everything architecture-specific (syscall numbers, the audit arch, the register
//! layout) lives in this module, so another architecture means another table here.

use nix::unistd::Pid;

use super::report::Access;

/// Where a syscall argument names a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A path string in argument `path`, relative to the directory fd in argument
    /// `dirfd`, or to the cwd when the call takes no dirfd.
    Path { dirfd: Option<usize>, path: usize },
    /// The file already open on the fd in argument `fd`.
    Fd(usize),
}

/// How the access kind of an open call is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// open flags in this argument
    FlagsArg(usize),
    /// flags are the first field of the `struct open_how` this argument points to (openat2)
    OpenHow(usize),
    /// creat(): always creates or truncates
    Create,
}

/// What a syscall does to the files it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Open {
        target: Target,
        mode: OpenMode,
    },
    /// `argv` is the argument holding the argument vector pointer
    Exec {
        target: Target,
        argv: usize,
    },
    /// also moves the process's cwd, which the tracer tracks as a fallback
    Chdir(Target),
    /// fixed accesses; rename-like calls name two files
    Touch(&'static [(Target, Access)]),
}

/// Argument patterns the seccomp filter lets through without a stop because they name
/// no path beyond an fd the process already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FastPath {
    Never,
    /// `fstatat(fd, "", AT_EMPTY_PATH)` (glibc's fstat): a non-negative `dirfd` with
    /// AT_EMPTY_PATH in `flags`. BPF cannot look at the path string, so a call that passes
    /// AT_EMPTY_PATH together with a non-empty relative path is not seen either.
    EmptyPathOnFd {
        dirfd: usize,
        flags: usize,
    },
    /// a NULL `path` means "the fd itself" (`utimensat(fd, NULL, ..)` is futimens)
    NullPath {
        path: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyscallSpec {
    pub nr: i64,
    pub name: &'static str,
    pub effect: Effect,
    pub fast_path: FastPath,
}

/// Where a credential-changing syscall names the ids it asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialArgs {
    /// this many uids or gids, in the first arguments (setuid: 1, setreuid: 2, setresuid: 3)
    Ids(usize),
    /// a gid count in argument `count` and a pointer to that many gids in argument `list`
    Groups { count: usize, list: usize },
}

/// A syscall that changes the caller's user or groups; stopped on so slim learns which
/// user a server switches to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialSpec {
    pub nr: i64,
    pub name: &'static str,
    pub args: CredentialArgs,
}

/// One stopped syscall: its number and raw arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyscallArgs {
    pub nr: i64,
    pub args: [u64; 6],
}

/// A seccomp stop: the filter's SECCOMP_RET_DATA and the syscall that triggered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeccompStop {
    pub data: u32,
    /// the caller's ABI, as an AUDIT_ARCH_* value
    pub arch: u32,
    pub call: SyscallArgs,
}

/// `op` of PTRACE_GET_SYSCALL_INFO for a seccomp stop
const PTRACE_SYSCALL_INFO_SECCOMP: u8 = 3;

/// Read what `tid` is stopped for. PTRACE_GET_SYSCALL_INFO (Linux 5.3) answers in one
/// ptrace request, and every request waits for the tracee to be fully off its CPU; older
/// kernels take two.
pub fn read_seccomp_stop(tid: Pid) -> nix::Result<SeccompStop> {
    match nix::sys::ptrace::syscall_info(tid) {
        Ok(info) if info.op == PTRACE_SYSCALL_INFO_SECCOMP => {
            // SAFETY: for op == SECCOMP the kernel filled the `seccomp` member.
            let seccomp = unsafe { info.u.seccomp };
            Ok(SeccompStop {
                data: seccomp.ret_data,
                arch: info.arch,
                call: SyscallArgs {
                    nr: seccomp.nr as i64,
                    args: seccomp.args,
                },
            })
        }
        Err(nix::errno::Errno::ESRCH) => Err(nix::errno::Errno::ESRCH),
        _ => {
            let data = nix::sys::ptrace::getevent(tid)? as u32;
            let call = arch::read_syscall(tid)?;
            // the filter stops a foreign ABI only for this reason, and x86_64 has one
            let arch = if data == super::filter::DATA_FOREIGN_ARCH {
                AUDIT_ARCH_I386
            } else {
                AUDIT_ARCH
            };
            Ok(SeccompStop { data, arch, call })
        }
    }
}

/// Look up the spec of a traced syscall number.
pub fn lookup(nr: i64) -> Option<&'static SyscallSpec> {
    TABLE.iter().find(|spec| spec.nr == nr)
}

/// Look up the spec of a traced credential-changing syscall number.
pub fn lookup_credential(nr: i64) -> Option<&'static CredentialSpec> {
    CREDENTIAL_TABLE.iter().find(|spec| spec.nr == nr)
}

/// Access kind of an open with these flags.
pub fn open_access(flags: u64) -> Access {
    // open flags are an int; the upper half of the register is garbage for open/openat
    let flags = flags as u32 as libc::c_int;
    if flags & libc::O_PATH != 0 {
        // O_PATH ignores the access mode, O_CREAT and O_TRUNC: it only looks the file up
        return Access::Read;
    }
    let writes =
        flags & libc::O_ACCMODE != libc::O_RDONLY || flags & (libc::O_CREAT | libc::O_TRUNC) != 0;
    if writes { Access::Write } else { Access::Read }
}

const fn path(path: usize) -> Target {
    Target::Path { dirfd: None, path }
}

const fn path_at(dirfd: usize, path: usize) -> Target {
    Target::Path {
        dirfd: Some(dirfd),
        path,
    }
}

const fn spec(nr: i64, name: &'static str, effect: Effect) -> SyscallSpec {
    SyscallSpec {
        nr,
        name,
        effect,
        fast_path: FastPath::Never,
    }
}

const fn credential(nr: i64, name: &'static str, args: CredentialArgs) -> CredentialSpec {
    CredentialSpec { nr, name, args }
}

#[cfg(target_arch = "x86_64")]
mod arch {
    use super::*;
    use Access::{List, Stat, Write};

    /// The seccomp filter's architecture; syscalls of any other ABI are not decoded.
    pub const TARGET_ARCH: seccompiler::TargetArch = seccompiler::TargetArch::x86_64;
    pub const ABI_NAME: &str = "x86_64";
    pub const AUDIT_ARCH: u32 = 62 | 0x8000_0000 | 0x4000_0000;
    /// the 32-bit ABI an x86_64 kernel also runs
    pub const AUDIT_ARCH_I386: u32 = 3 | 0x4000_0000;

    const STAT_PATH0: &[(Target, Access)] = &[(path(0), Stat)];
    const STAT_AT: &[(Target, Access)] = &[(path_at(0, 1), Stat)];
    const WRITE_PATH0: &[(Target, Access)] = &[(path(0), Write)];
    const WRITE_AT: &[(Target, Access)] = &[(path_at(0, 1), Write)];
    const LIST_FD0: &[(Target, Access)] = &[(Target::Fd(0), List)];

    pub const TABLE: &[SyscallSpec] = &[
        // open family
        spec(
            libc::SYS_open,
            "open",
            Effect::Open {
                target: path(0),
                mode: OpenMode::FlagsArg(1),
            },
        ),
        spec(
            libc::SYS_openat,
            "openat",
            Effect::Open {
                target: path_at(0, 1),
                mode: OpenMode::FlagsArg(2),
            },
        ),
        spec(
            libc::SYS_openat2,
            "openat2",
            Effect::Open {
                target: path_at(0, 1),
                mode: OpenMode::OpenHow(2),
            },
        ),
        spec(
            libc::SYS_creat,
            "creat",
            Effect::Open {
                target: path(0),
                mode: OpenMode::Create,
            },
        ),
        // exec family
        spec(
            libc::SYS_execve,
            "execve",
            Effect::Exec {
                target: path(0),
                argv: 1,
            },
        ),
        spec(
            libc::SYS_execveat,
            "execveat",
            Effect::Exec {
                target: path_at(0, 1),
                argv: 2,
            },
        ),
        // looked at without opening
        spec(libc::SYS_stat, "stat", Effect::Touch(STAT_PATH0)),
        spec(libc::SYS_lstat, "lstat", Effect::Touch(STAT_PATH0)),
        SyscallSpec {
            fast_path: FastPath::EmptyPathOnFd { dirfd: 0, flags: 3 },
            ..spec(libc::SYS_newfstatat, "newfstatat", Effect::Touch(STAT_AT))
        },
        SyscallSpec {
            fast_path: FastPath::EmptyPathOnFd { dirfd: 0, flags: 2 },
            ..spec(libc::SYS_statx, "statx", Effect::Touch(STAT_AT))
        },
        spec(libc::SYS_access, "access", Effect::Touch(STAT_PATH0)),
        spec(libc::SYS_faccessat, "faccessat", Effect::Touch(STAT_AT)),
        spec(libc::SYS_faccessat2, "faccessat2", Effect::Touch(STAT_AT)),
        spec(libc::SYS_readlink, "readlink", Effect::Touch(STAT_PATH0)),
        spec(libc::SYS_readlinkat, "readlinkat", Effect::Touch(STAT_AT)),
        spec(libc::SYS_statfs, "statfs", Effect::Touch(STAT_PATH0)),
        spec(libc::SYS_getxattr, "getxattr", Effect::Touch(STAT_PATH0)),
        spec(libc::SYS_lgetxattr, "lgetxattr", Effect::Touch(STAT_PATH0)),
        spec(libc::SYS_listxattr, "listxattr", Effect::Touch(STAT_PATH0)),
        spec(
            libc::SYS_llistxattr,
            "llistxattr",
            Effect::Touch(STAT_PATH0),
        ),
        spec(
            libc::SYS_inotify_add_watch,
            "inotify_add_watch",
            Effect::Touch(&[(path(1), Stat)]),
        ),
        // directories
        spec(libc::SYS_getdents, "getdents", Effect::Touch(LIST_FD0)),
        spec(libc::SYS_getdents64, "getdents64", Effect::Touch(LIST_FD0)),
        spec(libc::SYS_chdir, "chdir", Effect::Chdir(path(0))),
        spec(libc::SYS_fchdir, "fchdir", Effect::Chdir(Target::Fd(0))),
        // changes to the file system
        spec(libc::SYS_mkdir, "mkdir", Effect::Touch(WRITE_PATH0)),
        spec(libc::SYS_mkdirat, "mkdirat", Effect::Touch(WRITE_AT)),
        spec(
            libc::SYS_rename,
            "rename",
            Effect::Touch(&[(path(0), Write), (path(1), Write)]),
        ),
        spec(
            libc::SYS_renameat,
            "renameat",
            Effect::Touch(&[(path_at(0, 1), Write), (path_at(2, 3), Write)]),
        ),
        spec(
            libc::SYS_renameat2,
            "renameat2",
            Effect::Touch(&[(path_at(0, 1), Write), (path_at(2, 3), Write)]),
        ),
        spec(libc::SYS_unlink, "unlink", Effect::Touch(WRITE_PATH0)),
        spec(libc::SYS_unlinkat, "unlinkat", Effect::Touch(WRITE_AT)),
        spec(libc::SYS_rmdir, "rmdir", Effect::Touch(WRITE_PATH0)),
        spec(
            libc::SYS_link,
            "link",
            Effect::Touch(&[(path(0), Stat), (path(1), Write)]),
        ),
        spec(
            libc::SYS_linkat,
            "linkat",
            Effect::Touch(&[(path_at(0, 1), Stat), (path_at(2, 3), Write)]),
        ),
        // the link target is only a string stored in the link, not a file looked up
        spec(
            libc::SYS_symlink,
            "symlink",
            Effect::Touch(&[(path(1), Write)]),
        ),
        spec(
            libc::SYS_symlinkat,
            "symlinkat",
            Effect::Touch(&[(path_at(1, 2), Write)]),
        ),
        spec(libc::SYS_chmod, "chmod", Effect::Touch(WRITE_PATH0)),
        spec(libc::SYS_fchmodat, "fchmodat", Effect::Touch(WRITE_AT)),
        spec(libc::SYS_fchmodat2, "fchmodat2", Effect::Touch(WRITE_AT)),
        spec(libc::SYS_chown, "chown", Effect::Touch(WRITE_PATH0)),
        spec(libc::SYS_lchown, "lchown", Effect::Touch(WRITE_PATH0)),
        spec(libc::SYS_fchownat, "fchownat", Effect::Touch(WRITE_AT)),
        spec(libc::SYS_truncate, "truncate", Effect::Touch(WRITE_PATH0)),
        spec(libc::SYS_mknod, "mknod", Effect::Touch(WRITE_PATH0)),
        spec(libc::SYS_mknodat, "mknodat", Effect::Touch(WRITE_AT)),
        spec(libc::SYS_utime, "utime", Effect::Touch(WRITE_PATH0)),
        spec(libc::SYS_utimes, "utimes", Effect::Touch(WRITE_PATH0)),
        spec(libc::SYS_futimesat, "futimesat", Effect::Touch(WRITE_AT)),
        SyscallSpec {
            fast_path: FastPath::NullPath { path: 1 },
            ..spec(libc::SYS_utimensat, "utimensat", Effect::Touch(WRITE_AT))
        },
        spec(libc::SYS_setxattr, "setxattr", Effect::Touch(WRITE_PATH0)),
        spec(libc::SYS_lsetxattr, "lsetxattr", Effect::Touch(WRITE_PATH0)),
        spec(
            libc::SYS_removexattr,
            "removexattr",
            Effect::Touch(WRITE_PATH0),
        ),
        spec(
            libc::SYS_lremovexattr,
            "lremovexattr",
            Effect::Touch(WRITE_PATH0),
        ),
    ];

    /// The 16-bit-id and 32-bit variants (setuid32, ...) exist only in the i386 ABI, whose
    /// calls are not decoded; capset changes no id and is left out.
    pub const CREDENTIAL_TABLE: &[CredentialSpec] = &[
        credential(libc::SYS_setuid, "setuid", CredentialArgs::Ids(1)),
        credential(libc::SYS_setgid, "setgid", CredentialArgs::Ids(1)),
        credential(libc::SYS_setreuid, "setreuid", CredentialArgs::Ids(2)),
        credential(libc::SYS_setregid, "setregid", CredentialArgs::Ids(2)),
        credential(libc::SYS_setresuid, "setresuid", CredentialArgs::Ids(3)),
        credential(libc::SYS_setresgid, "setresgid", CredentialArgs::Ids(3)),
        credential(
            libc::SYS_setgroups,
            "setgroups",
            CredentialArgs::Groups { count: 0, list: 1 },
        ),
        credential(libc::SYS_setfsuid, "setfsuid", CredentialArgs::Ids(1)),
        credential(libc::SYS_setfsgid, "setfsgid", CredentialArgs::Ids(1)),
    ];

    /// The number and arguments of the syscall `tid` is stopped in, from its registers.
    pub fn read_syscall(tid: Pid) -> nix::Result<SyscallArgs> {
        let regs = nix::sys::ptrace::getregs(tid)?;
        Ok(SyscallArgs {
            nr: regs.orig_rax as i64,
            args: [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9],
        })
    }
}

#[cfg(not(target_arch = "x86_64"))]
compile_error!("the sensor has a syscall table for x86_64 only; add one in syscalls.rs");

pub use arch::{AUDIT_ARCH, AUDIT_ARCH_I386, CREDENTIAL_TABLE, TABLE, TARGET_ARCH};

/// The ABI name of an AUDIT_ARCH_* value, as seccomp profiles' architectures know it.
pub fn abi_name(audit_arch: u32) -> Option<&'static str> {
    match audit_arch {
        AUDIT_ARCH => Some(arch::ABI_NAME),
        AUDIT_ARCH_I386 => Some("x86"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn open_flags_decide_read_or_write() {
        let f = |flags: libc::c_int| open_access(flags as u64);
        assert_eq!(f(libc::O_RDONLY), Access::Read);
        assert_eq!(
            f(libc::O_RDONLY | libc::O_CLOEXEC | libc::O_DIRECTORY),
            Access::Read
        );
        assert_eq!(f(libc::O_WRONLY), Access::Write);
        assert_eq!(f(libc::O_RDWR), Access::Write);
        assert_eq!(f(libc::O_RDONLY | libc::O_CREAT), Access::Write);
        assert_eq!(f(libc::O_RDONLY | libc::O_TRUNC), Access::Write);
        assert_eq!(f(libc::O_WRONLY | libc::O_APPEND), Access::Write);
        assert_eq!(f(libc::O_PATH | libc::O_RDWR), Access::Read);
    }

    #[test]
    fn open_flags_ignore_upper_register_half() {
        assert_eq!(open_access(0xdead_beef_0000_0000), Access::Read);
    }

    #[test]
    fn table_has_no_duplicates_and_sane_arguments() {
        let mut seen = HashSet::new();
        for spec in TABLE {
            assert!(seen.insert(spec.nr), "{} listed twice", spec.name);
            let targets: Vec<Target> = match spec.effect {
                Effect::Open { target, .. } | Effect::Exec { target, .. } => vec![target],
                Effect::Chdir(target) => vec![target],
                Effect::Touch(list) => list.iter().map(|(t, _)| *t).collect(),
            };
            for target in targets {
                let max = match target {
                    Target::Path { dirfd, path } => dirfd.unwrap_or(0).max(path),
                    Target::Fd(fd) => fd,
                };
                assert!(max < 6, "{} names argument {max}", spec.name);
            }
        }
    }

    #[test]
    fn credential_table_is_apart_from_the_file_table() {
        let mut seen = HashSet::new();
        for spec in CREDENTIAL_TABLE {
            assert!(seen.insert(spec.nr), "{} listed twice", spec.name);
            assert!(lookup(spec.nr).is_none(), "{} is in both tables", spec.name);
            let max = match spec.args {
                CredentialArgs::Ids(count) => count,
                CredentialArgs::Groups { count, list } => count.max(list) + 1,
            };
            assert!(
                (1..=6).contains(&max),
                "{} names {max} arguments",
                spec.name
            );
        }
        assert_eq!(
            lookup_credential(libc::SYS_setresuid).map(|s| s.args),
            Some(CredentialArgs::Ids(3))
        );
        assert!(lookup_credential(libc::SYS_getuid).is_none());
        assert!(lookup_credential(libc::SYS_openat).is_none());
    }

    #[test]
    fn lookup_finds_common_calls() {
        assert_eq!(lookup(libc::SYS_openat).map(|s| s.name), Some("openat"));
        assert_eq!(lookup(libc::SYS_execve).map(|s| s.name), Some("execve"));
        assert!(lookup(libc::SYS_read).is_none());
        assert!(lookup(libc::SYS_fstat).is_none());
    }
}
