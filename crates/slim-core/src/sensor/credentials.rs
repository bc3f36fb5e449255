//! Who a process is, and whom it asks to become: credentials from /proc/TID/status, and
//! the ids a setuid-family or setgroups call asks for.

use nix::unistd::Pid;

use super::memory::{MemoryError, TraceeMemory};
use super::report::UserSwitch;
use super::syscalls::{CredentialArgs, CredentialSpec};

/// setgroups lists are recorded up to this many gids; the rest is left out with a warning.
pub const MAX_GROUPS: usize = 64;
/// The kernel's NGROUPS_MAX: a longer setgroups list fails with EINVAL.
const NGROUPS_MAX: i64 = 65536;

/// The effective ids and supplementary groups of a thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// The credentials of a thread, per thread: glibc switches the threads of a process one
/// by one. `None` when /proc does not tell (the thread is gone).
pub fn read(tid: Pid) -> Option<Credentials> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    parse_status(&status)
}

/// `Uid:` and `Gid:` list real, effective, saved and fs ids; `Groups:` may be empty.
pub fn parse_status(status: &str) -> Option<Credentials> {
    let field = |name: &str| status.lines().find_map(|line| line.strip_prefix(name));
    let effective = |line: &str| line.split_whitespace().nth(1)?.parse().ok();
    let groups = field("Groups:")?
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    Some(Credentials {
        uid: effective(field("Uid:")?)?,
        gid: effective(field("Gid:")?)?,
        groups,
    })
}

/// The ids a credential call asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requested {
    pub ids: Vec<u32>,
    /// gids of a setgroups list beyond MAX_GROUPS, not read
    pub left_out: usize,
}

/// The ids asked for, from the registers and for setgroups the tracee's memory. `None`
/// when the kernel rejects the call before changing anything (a bad group count).
pub fn requested(
    spec: &CredentialSpec,
    args: &[u64; 6],
    memory: &TraceeMemory,
) -> Result<Option<Requested>, MemoryError> {
    match spec.args {
        CredentialArgs::Ids(count) => Ok(Some(Requested {
            ids: ids_in_registers(args, count),
            left_out: 0,
        })),
        CredentialArgs::Groups { count, list } => {
            let Some(count) = group_count(args[count]) else {
                return Ok(None);
            };
            let read = count.min(MAX_GROUPS);
            let ids = match read {
                0 => Vec::new(),
                _ => memory.read_u32_array(args[list], read)?,
            };
            Ok(Some(Requested {
                ids,
                left_out: count - read,
            }))
        }
    }
}

/// uid_t and gid_t are 32 bits: the upper half of the register is not the caller's, and
/// -1 ("leave unchanged") reads as u32::MAX.
pub fn ids_in_registers(args: &[u64; 6], count: usize) -> Vec<u32> {
    args[..count].iter().map(|&arg| arg as u32).collect()
}

/// setgroups' size is an int; negative or above NGROUPS_MAX fails with EINVAL.
pub fn group_count(arg: u64) -> Option<usize> {
    let count = i64::from(arg as u32 as i32);
    (0..=NGROUPS_MAX).contains(&count).then_some(count as usize)
}

/// One credential call, decoded for the report.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DecodedSwitch {
    pub switch: Option<UserSwitch>,
    pub warning: Option<String>,
}

/// The switch a stopped credential call asks for, made by `program` in thread `tid`.
pub fn decode(
    spec: &CredentialSpec,
    tid: Pid,
    args: &[u64; 6],
    memory: &TraceeMemory,
    program: String,
) -> DecodedSwitch {
    let requested = match requested(spec, args, memory) {
        Ok(Some(requested)) => requested,
        Ok(None) => return DecodedSwitch::default(),
        // the kernel fails the call with EFAULT: nothing switches
        Err(error) => {
            return DecodedSwitch {
                switch: None,
                warning: Some(format!(
                    "{} by {program}: ids unreadable: {error}",
                    spec.name
                )),
            };
        }
    };
    // the call has not run yet: these are the caller's ids before it
    let Some(caller) = read(tid) else {
        return DecodedSwitch::default();
    };
    let warning = (requested.left_out > 0).then(|| {
        format!(
            "{} by {program}: {} groups asked for, only the first {MAX_GROUPS} recorded",
            spec.name,
            requested.ids.len() + requested.left_out
        )
    });
    DecodedSwitch {
        switch: Some(UserSwitch {
            program,
            call: spec.name.to_string(),
            ids: requested.ids,
            from_uid: caller.uid,
        }),
        warning,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensor::syscalls;

    const STATUS: &str = "Name:\tapache2\nUmask:\t0022\nState:\tS (sleeping)\n\
        Tgid:\t42\nUid:\t0\t33\t33\t33\nGid:\t0\t44\t44\t44\nFDSize:\t64\n\
        Groups:\t4 27 1000 \nNStgid:\t42\n";

    fn spec(nr: i64) -> &'static CredentialSpec {
        syscalls::lookup_credential(nr).expect("traced credential call")
    }

    fn own_memory() -> (Pid, std::fs::File) {
        let pid = nix::unistd::getpid();
        let file = crate::sensor::memory::open_mem_file(pid).expect("open own /proc mem");
        (pid, file)
    }

    #[test]
    fn status_gives_effective_ids_and_groups() {
        let credentials = parse_status(STATUS).expect("parses");
        assert_eq!(
            credentials,
            Credentials {
                uid: 33,
                gid: 44,
                groups: vec![4, 27, 1000]
            }
        );
        let no_groups = STATUS.replace("Groups:\t4 27 1000 \n", "Groups:\t\n");
        assert_eq!(parse_status(&no_groups).map(|c| c.groups), Some(Vec::new()));
    }

    #[test]
    fn status_without_ids_is_none() {
        assert_eq!(parse_status("Name:\tx\nGroups:\t\n"), None);
        assert_eq!(parse_status("Uid:\t0\nGid:\t0\t0\t0\t0\nGroups:\t\n"), None);
        assert_eq!(parse_status("Uid:\t0\t0\nGid:\t0\t0\n"), None);
    }

    #[test]
    fn this_process_reads_its_own_ids() {
        let me = read(nix::unistd::getpid()).expect("own status");
        assert_eq!(me.uid, nix::unistd::geteuid().as_raw());
        assert_eq!(me.gid, nix::unistd::getegid().as_raw());
    }

    #[test]
    fn register_ids_are_32_bit_and_keep_minus_one() {
        let args = [0xdead_0000_0000_0021, u64::MAX, 0xffff_ffff, 7, 8, 9];
        assert_eq!(ids_in_registers(&args, 1), vec![33]);
        assert_eq!(ids_in_registers(&args, 3), vec![33, u32::MAX, u32::MAX]);
    }

    #[test]
    fn group_counts_outside_the_kernel_range_are_rejected() {
        assert_eq!(group_count(0), Some(0));
        assert_eq!(group_count(3), Some(3));
        assert_eq!(group_count(0xffff_ffff_0000_0002), Some(2));
        assert_eq!(group_count(u64::MAX), None);
        assert_eq!(group_count(65537), None);
    }

    #[test]
    fn setgroups_reads_a_capped_list() {
        let (pid, file) = own_memory();
        let memory = TraceeMemory::new(pid, Some(&file));
        let gids: Vec<u32> = (1000..1100).collect();
        let list = gids.as_ptr() as u64;
        let setgroups = spec(libc::SYS_setgroups);
        let three = requested(setgroups, &[3, list, 0, 0, 0, 0], &memory);
        assert_eq!(
            three,
            Ok(Some(Requested {
                ids: vec![1000, 1001, 1002],
                left_out: 0
            }))
        );
        let all = requested(setgroups, &[100, list, 0, 0, 0, 0], &memory)
            .expect("readable")
            .expect("valid count");
        assert_eq!(all.ids, gids[..MAX_GROUPS]);
        assert_eq!(all.left_out, 100 - MAX_GROUPS);
        // setgroups(0, NULL) clears the groups; nothing is read
        let cleared = requested(setgroups, &[0; 6], &memory);
        assert_eq!(
            cleared,
            Ok(Some(Requested {
                ids: Vec::new(),
                left_out: 0
            }))
        );
        assert_eq!(
            requested(setgroups, &[u64::MAX, list, 0, 0, 0, 0], &memory),
            Ok(None)
        );
        assert_eq!(
            requested(setgroups, &[1, 0, 0, 0, 0, 0], &memory),
            Err(MemoryError::Null)
        );
    }

    #[test]
    fn decode_names_the_call_and_the_caller() {
        let (pid, file) = own_memory();
        let memory = TraceeMemory::new(pid, Some(&file));
        let args = [33, 33, u32::MAX as u64, 0, 0, 0];
        let decoded = decode(
            spec(libc::SYS_setresuid),
            pid,
            &args,
            &memory,
            "/usr/sbin/apache2".into(),
        );
        assert_eq!(decoded.warning, None);
        assert_eq!(
            decoded.switch,
            Some(UserSwitch {
                program: "/usr/sbin/apache2".into(),
                call: "setresuid".into(),
                ids: vec![33, 33, u32::MAX],
                from_uid: nix::unistd::geteuid().as_raw(),
            })
        );
        let gids: Vec<u32> = (0..70).collect();
        let long = [70, gids.as_ptr() as u64, 0, 0, 0, 0];
        let decoded = decode(spec(libc::SYS_setgroups), pid, &long, &memory, "/x".into());
        assert_eq!(decoded.switch.map(|s| s.ids.len()), Some(MAX_GROUPS));
        assert!(decoded.warning.is_some_and(|w| w.contains("70 groups")));
    }
}
