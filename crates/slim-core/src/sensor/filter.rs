//! The seccomp-bpf filter: stop in the tracer only for file syscalls and the rare calls that
//! change the caller's user or groups, let everything else run; or, to write a seccomp
//! profile, stop on every syscall once (`all_syscalls`).
//!
//! A seccomp stop costs two context switches; plain PTRACE_SYSCALL stops on every
//! syscall cost far more (two stops per call), so the filter is what keeps tracing
//! affordable, and it is still the cheapest way to see every syscall.

use std::collections::BTreeMap;

use seccompiler::{
    BackendError, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
    SeccompFilter, SeccompRule,
};

use super::syscalls::{self, FastPath, SyscallSpec};

/// SECCOMP_RET_DATA of a stop for a file or credential syscall of the traced architecture.
pub const DATA_NATIVE_SYSCALL: u32 = 0;
/// SECCOMP_RET_DATA of a stop for a syscall of another ABI (e.g. 32-bit `int 0x80`).
pub const DATA_FOREIGN_ARCH: u32 = 1;
/// SECCOMP_RET_DATA of a stop that is only there to record the syscall (`all_syscalls`).
pub const DATA_ANY_SYSCALL: u32 = 2;

/// BPF_LD | BPF_W | BPF_ABS
const BPF_LD_W_ABS: u16 = 0x20;
/// BPF_JMP | BPF_JEQ | BPF_K
const BPF_JMP_JEQ_K: u16 = 0x15;
/// BPF_RET | BPF_K
const BPF_RET_K: u16 = 0x06;
/// offset of `arch` in `struct seccomp_data`
const SECCOMP_DATA_ARCH: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("seccompiler rejected the filter: {0}")]
    Backend(#[from] BackendError),
    #[error("seccompiler produced an architecture check of an unexpected shape")]
    UnexpectedLayout,
}

/// Build the BPF program. Done before fork: the child must not allocate. With
/// `all_syscalls`, every other syscall stops too, so the tracer sees each one.
pub fn build(all_syscalls: bool) -> Result<BpfProgram, FilterError> {
    let mut rules = BTreeMap::new();
    for spec in syscalls::TABLE {
        rules.insert(spec.nr, trace_conditions(spec)?);
    }
    // always stopped on: they are rare, and the kernel's seccomp cache (Linux 5.11+) keeps
    // calls the filter always allows (read, mmap, ...) from running the longer program
    for spec in syscalls::CREDENTIAL_TABLE {
        rules.insert(spec.nr, Vec::new());
    }
    let otherwise = if all_syscalls {
        SeccompAction::Trace(DATA_ANY_SYSCALL)
    } else {
        SeccompAction::Allow
    };
    let filter = SeccompFilter::new(
        rules,
        otherwise,
        SeccompAction::Trace(DATA_NATIVE_SYSCALL),
        syscalls::TARGET_ARCH,
    )?;
    let mut program: BpfProgram = filter.try_into()?;
    trace_foreign_arch(&mut program)?;
    Ok(program)
}

/// The rules under which a syscall stops in the tracer; an empty list means "always".
/// Rules are alternatives, the conditions of one rule must all hold.
fn trace_conditions(spec: &SyscallSpec) -> Result<Vec<SeccompRule>, BackendError> {
    let arg = |index: usize| index as u8;
    match spec.fast_path {
        FastPath::Never => Ok(Vec::new()),
        FastPath::EmptyPathOnFd { dirfd, flags } => Ok(vec![
            // a negative dirfd (AT_FDCWD) names the cwd, not an fd the process holds
            SeccompRule::new(vec![SeccompCondition::new(
                arg(dirfd),
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::Ge,
                0x8000_0000,
            )?])?,
            SeccompRule::new(vec![SeccompCondition::new(
                arg(flags),
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::MaskedEq(libc::AT_EMPTY_PATH as u64),
                0,
            )?])?,
        ]),
        FastPath::NullPath { path } => Ok(vec![SeccompRule::new(vec![SeccompCondition::new(
            arg(path),
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::Ne,
            0,
        )?])?]),
    }
}

/// seccompiler kills a process whose syscall comes from another ABI; hand such calls to
/// the tracer instead, which warns that it cannot decode them, so the app keeps running.
fn trace_foreign_arch(program: &mut BpfProgram) -> Result<(), FilterError> {
    let shape_ok = program.len() > 3
        && program[0].code == BPF_LD_W_ABS
        && program[0].k == SECCOMP_DATA_ARCH
        && program[1].code == BPF_JMP_JEQ_K
        && program[1].k == syscalls::AUDIT_ARCH
        && program[1].jt == 1
        && program[1].jf == 0
        && program[2].code == BPF_RET_K
        && program[2].k == libc::SECCOMP_RET_KILL_PROCESS;
    if !shape_ok {
        return Err(FilterError::UnexpectedLayout);
    }
    program[2].k = libc::SECCOMP_RET_TRACE | DATA_FOREIGN_ARCH;
    Ok(())
}

/// Why installing the filter failed, as an errno the child can send to its parent.
pub fn install(program: &BpfProgram) -> Result<(), i32> {
    // sets PR_SET_NO_NEW_PRIVS first: an unprivileged process may only filter itself then
    seccompiler::apply_filter(program).map_err(|error| match error {
        seccompiler::Error::Prctl(e) | seccompiler::Error::Seccomp(e) => {
            e.raw_os_error().unwrap_or(libc::EINVAL)
        }
        _ => libc::EINVAL,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny classic-BPF interpreter for the instructions seccompiler emits, so the
    /// filter's decisions can be checked without installing it.
    fn run(program: &BpfProgram, nr: i64, arch: u32, args: [u64; 6]) -> u32 {
        let mut data = Vec::new();
        data.extend_from_slice(&(nr as i32).to_ne_bytes());
        data.extend_from_slice(&arch.to_ne_bytes());
        data.extend_from_slice(&0u64.to_ne_bytes());
        for a in args {
            data.extend_from_slice(&a.to_ne_bytes());
        }
        let mut acc: u32 = 0;
        let mut pc = 0usize;
        loop {
            let insn = &program[pc];
            pc += 1;
            match insn.code {
                BPF_LD_W_ABS => {
                    let at = insn.k as usize;
                    let word: [u8; 4] = data[at..at + 4].try_into().expect("in range");
                    acc = u32::from_ne_bytes(word);
                }
                0x54 => acc &= insn.k,         // ALU AND K
                0x05 => pc += insn.k as usize, // JA
                BPF_RET_K => return insn.k,
                code => {
                    let taken = match code {
                        BPF_JMP_JEQ_K => acc == insn.k,
                        0x25 => acc > insn.k,  // JGT
                        0x35 => acc >= insn.k, // JGE
                        other => panic!("unexpected BPF opcode {other:#x}"),
                    };
                    pc += if taken { insn.jt } else { insn.jf } as usize;
                }
            }
        }
    }

    const TRACE: u32 = libc::SECCOMP_RET_TRACE;
    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;

    fn decide(nr: i64, args: [u64; 6]) -> u32 {
        let program = build(false).expect("filter builds");
        run(&program, nr, syscalls::AUDIT_ARCH, args)
    }

    #[test]
    fn file_syscalls_stop_others_run() {
        assert_eq!(decide(libc::SYS_openat, [0; 6]), TRACE);
        assert_eq!(decide(libc::SYS_execve, [0; 6]), TRACE);
        assert_eq!(decide(libc::SYS_getdents64, [0; 6]), TRACE);
        assert_eq!(decide(libc::SYS_read, [0; 6]), ALLOW);
        assert_eq!(decide(libc::SYS_fstat, [0; 6]), ALLOW);
        assert_eq!(decide(libc::SYS_mmap, [0; 6]), ALLOW);
    }

    #[test]
    fn credential_changes_stop_queries_run() {
        for spec in syscalls::CREDENTIAL_TABLE {
            assert_eq!(
                decide(spec.nr, [33, 33, 33, 0, 0, 0]),
                TRACE,
                "{}",
                spec.name
            );
        }
        assert_eq!(decide(libc::SYS_setgroups, [0; 6]), TRACE);
        assert_eq!(decide(libc::SYS_getuid, [0; 6]), ALLOW);
        assert_eq!(decide(libc::SYS_getresuid, [0; 6]), ALLOW);
        assert_eq!(decide(libc::SYS_getgroups, [0; 6]), ALLOW);
        assert_eq!(decide(libc::SYS_capset, [0; 6]), ALLOW);
    }

    #[test]
    fn fstat_through_fstatat_runs_without_a_stop() {
        let empty = libc::AT_EMPTY_PATH as u64;
        let cwd = libc::AT_FDCWD as u32 as u64;
        let nr = libc::SYS_newfstatat;
        assert_eq!(decide(nr, [3, 0x1000, 0x2000, empty, 0, 0]), ALLOW);
        assert_eq!(decide(nr, [3, 0x1000, 0x2000, 0, 0, 0]), TRACE);
        assert_eq!(decide(nr, [cwd, 0x1000, 0x2000, empty, 0, 0]), TRACE);
        assert_eq!(decide(nr, [cwd, 0x1000, 0x2000, 0, 0, 0]), TRACE);
        let nr = libc::SYS_statx;
        assert_eq!(decide(nr, [3, 0x1000, empty, 0x7ff, 0x2000, 0]), ALLOW);
        assert_eq!(decide(nr, [cwd, 0x1000, 0, 0x7ff, 0x2000, 0]), TRACE);
    }

    #[test]
    fn futimens_runs_without_a_stop() {
        let nr = libc::SYS_utimensat;
        assert_eq!(decide(nr, [3, 0, 0x2000, 0, 0, 0]), ALLOW);
        assert_eq!(decide(nr, [3, 0x1000, 0x2000, 0, 0, 0]), TRACE);
        assert_eq!(decide(nr, [3, 0x1_0000_0000, 0x2000, 0, 0, 0]), TRACE);
    }

    #[test]
    fn foreign_abi_is_traced_not_killed() {
        let program = build(false).expect("filter builds");
        let i386 = 3 | 0x4000_0000;
        assert_eq!(run(&program, 5, i386, [0; 6]), TRACE | DATA_FOREIGN_ARCH);
    }

    #[test]
    fn all_syscalls_mode_stops_on_everything_and_says_why() {
        let program = build(true).expect("filter builds");
        let native = syscalls::AUDIT_ARCH;
        assert_eq!(
            run(&program, libc::SYS_read, native, [0; 6]),
            TRACE | DATA_ANY_SYSCALL
        );
        assert_eq!(
            run(&program, libc::SYS_mmap, native, [0; 6]),
            TRACE | DATA_ANY_SYSCALL
        );
        // file syscalls keep their own stop, decoded as before
        assert_eq!(
            run(&program, libc::SYS_openat, native, [0; 6]),
            TRACE | DATA_NATIVE_SYSCALL
        );
        // a fast-pathed fstat still stops, to be counted
        let empty = libc::AT_EMPTY_PATH as u64;
        assert_eq!(
            run(
                &program,
                libc::SYS_newfstatat,
                native,
                [3, 0x1000, 0x2000, empty, 0, 0]
            ),
            TRACE | DATA_ANY_SYSCALL
        );
    }
}
