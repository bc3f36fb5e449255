//! Who may do what to a path of the slim image, decided as the kernel does (owner, then the
//! group and the supplementary groups, then everyone else), and the one change slim makes
//! when the image's user could not do what the app needs: the user becomes the owner, and
//! group and other bits are cleared. Modes only ever narrow, so a private key the app could
//! not read stays private (0640 → 0600), as PostgreSQL, OpenSSH and MySQL insist.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::sensor::report::Access;

/// The process credentials of the slim image's user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub uid: u64,
    pub gid: u64,
    /// supplementary groups the runtime gives the user (from /etc/group)
    pub groups: BTreeSet<u64>,
}

impl Credentials {
    /// Whether a path owned by `owner:group` with `mode` grants all of `bits` (0o4 read,
    /// 0o2 write, 0o1 execute/search).
    pub fn allows(&self, owner: u64, group: u64, mode: u32, bits: u32) -> bool {
        let class = if owner == self.uid {
            mode >> 6
        } else if group == self.gid || self.groups.contains(&group) {
            mode >> 3
        } else {
            mode
        };
        class & bits == bits
    }
}

/// What the app needs of a kept path (0o4 read, 0o1 execute or search): what it did during
/// analysis, or, for a path it did not touch, what keeping it is for (files are read,
/// programs run, directories passed through).
pub fn needed(is_dir: bool, mode: u32, accesses: Option<&BTreeSet<Access>>) -> u32 {
    let Some(accesses) = accesses else {
        return match (is_dir, mode & 0o111 != 0) {
            (true, _) => 0o1,
            (false, true) => 0o5,
            (false, false) => 0o4,
        };
    };
    let mut bits = 0;
    for access in accesses {
        bits |= match (access, is_dir) {
            (Access::Read | Access::List, true) => 0o5,
            (Access::Chdir, true) => 0o1,
            (Access::Read, false) => 0o4,
            // a script is read by its interpreter too
            (Access::Exec, false) => 0o5,
            _ => 0,
        };
    }
    // a directory the app went through at all must be searchable
    if is_dir && !accesses.is_empty() {
        bits |= 0o1;
    }
    bits
}

/// `r-x` for 0o5.
pub fn bits_text(bits: u32) -> String {
    [(0o4, 'r'), (0o2, 'w'), (0o1, 'x')]
        .iter()
        .map(|(bit, c)| if bits & bit != 0 { *c } else { '-' })
        .collect()
}

/// Why the user could not do what the app needs, and what changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessChange {
    pub path: String,
    /// what the app needs (`r--`, `r-x`, `--x`)
    pub needs: String,
    /// mode and owner before (`0640 0:109`), and after
    pub before: String,
    pub after: String,
    /// what the app did during analysis, or what the path is kept for
    pub why: String,
}

/// The mode the user gets a path with: its own bits plus what it needs, group and other
/// bits cleared.
pub fn owner_only(mode: u32, needed: u32) -> u32 {
    (mode & 0o7700) | (needed << 6)
}

/// "read during analysis", "run during analysis", ... for the report.
pub fn why(accesses: Option<&BTreeSet<Access>>) -> &'static str {
    match accesses {
        None => "kept for the app, which ran as another user during analysis",
        Some(a) if a.contains(&Access::Exec) => "run during analysis",
        Some(a) if a.contains(&Access::List) => "listed during analysis",
        Some(a) if a.contains(&Access::Read) => "read during analysis",
        Some(_) => "passed through during analysis",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn postgres() -> Credentials {
        Credentials {
            uid: 105,
            gid: 110,
            groups: [109].into(),
        }
    }

    #[test]
    fn supplementary_groups_count_as_the_kernel_counts_them() {
        let me = postgres();
        // root:ssl-cert 0640, read through the ssl-cert group
        assert!(me.allows(0, 109, 0o640, 0o4));
        // root:ssl-cert 0710 directory: searchable, not listable
        assert!(me.allows(0, 109, 0o710, 0o1));
        assert!(!me.allows(0, 109, 0o710, 0o4));
        // the owner class decides for the owner, even if it grants less than the others
        assert!(!me.allows(105, 110, 0o044, 0o4));
        assert!(!me.allows(0, 0, 0o600, 0o4));
        assert!(me.allows(0, 0, 0o604, 0o4));
    }

    #[test]
    fn needs_follow_what_the_app_did() {
        let read = BTreeSet::from([Access::Read]);
        let stat = BTreeSet::from([Access::Stat]);
        let exec = BTreeSet::from([Access::Exec]);
        let listed = BTreeSet::from([Access::List]);
        assert_eq!(needed(false, 0o640, Some(&read)), 0o4);
        assert_eq!(needed(false, 0o600, Some(&stat)), 0);
        assert_eq!(needed(false, 0o700, Some(&exec)), 0o5);
        assert_eq!(needed(true, 0o700, Some(&listed)), 0o5);
        assert_eq!(needed(true, 0o700, Some(&stat)), 0o1);
        // untouched: files are read, programs run, directories passed through
        assert_eq!(needed(false, 0o600, None), 0o4);
        assert_eq!(needed(false, 0o700, None), 0o5);
        assert_eq!(needed(true, 0o700, None), 0o1);
    }

    #[test]
    fn access_is_given_by_ownership_never_by_widening() {
        assert_eq!(owner_only(0o640, 0o4), 0o600);
        assert_eq!(owner_only(0o4750, 0o5), 0o4700);
        assert_eq!(owner_only(0o000, 0o4), 0o400);
        assert_eq!(bits_text(0o5), "r-x");
    }
}
