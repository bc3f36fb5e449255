//! A seccomp profile in Docker's JSON format from the trace: allow exactly the syscalls the
//! app made during analysis (every traced process, every ABI it used) and what the container
//! runtime needs to start it ([`runtime`]); every other syscall fails with EPERM.

pub mod runtime;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};

/// bit 30 of an x86_64 syscall number marks the x32 ABI
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// errno of a denied syscall
const EPERM: u32 = 1;
/// errno of a syscall that does not exist: libc falls back to an older call on it
const ENOSYS: u32 = 38;
/// Syscalls engines' default profiles answer with ENOSYS, so libc uses the older call the
/// analysis then saw (glibc's threads use `clone` when `clone3` is "not implemented"; on
/// EPERM they fail). The app never made them under analysis; the profile answers the same.
const ANSWERED_NOT_IMPLEMENTED: &[&str] = &["clone3"];

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error(
        "the trace has no record of the syscalls made (the sensor did not run with --all-syscalls)"
    )]
    NotRecorded,
}

/// The syscalls a profile allows, and where each came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeccompProfile {
    /// the ABIs the app used: `x86_64`, and `x86` or `x32` if it ran such code
    pub abis: Vec<String>,
    /// seen during analysis, by name
    pub observed: BTreeSet<String>,
    /// needed by the container runtime and not seen in the app
    pub runtime: BTreeSet<String>,
    /// syscall numbers no table names (they stay denied)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unnamed: Vec<String>,
}

impl SeccompProfile {
    /// From the sensor's record: ABI name → syscall numbers.
    pub fn from_seen(seen: Option<&BTreeMap<String, BTreeSet<u32>>>) -> Result<Self, SeccompError> {
        let seen = seen.ok_or(SeccompError::NotRecorded)?;
        let mut abis = BTreeSet::from(["x86_64".to_string()]);
        let mut observed = BTreeSet::new();
        let mut unnamed = Vec::new();
        for (abi, numbers) in seen {
            for &nr in numbers {
                let (abi, name) = name_of(abi, nr);
                match name {
                    Some(name) => {
                        abis.insert(abi.to_string());
                        observed.insert(name.to_string());
                    }
                    None => unnamed.push(format!("{abi} {nr}")),
                }
            }
        }
        let runtime = runtime::RUNTIME_SYSCALLS
            .iter()
            .map(|(name, _)| name.to_string())
            .filter(|name| !observed.contains(name))
            .collect();
        Ok(SeccompProfile {
            abis: abis.into_iter().collect(),
            observed,
            runtime,
            unnamed,
        })
    }

    /// The names of the syscalls in `seen` (as the sensor records them) this profile denies.
    pub fn denied(&self, seen: &BTreeMap<String, BTreeSet<u32>>) -> Vec<String> {
        let allowed: BTreeSet<&str> = self.allowed().collect();
        let mut denied = BTreeSet::new();
        for (abi, numbers) in seen {
            for &nr in numbers {
                match name_of(abi, nr) {
                    (_, Some(name)) if allowed.contains(name) => {}
                    (_, Some(name)) => {
                        denied.insert(name.to_string());
                    }
                    (abi, None) => {
                        denied.insert(format!("{abi} {nr}"));
                    }
                }
            }
        }
        denied.into_iter().collect()
    }

    /// The newer syscalls answered "not implemented" (those the app did not make itself).
    fn not_implemented(&self) -> Vec<&'static str> {
        ANSWERED_NOT_IMPLEMENTED
            .iter()
            .copied()
            .filter(|name| !self.observed.contains(*name))
            .collect()
    }

    /// Every allowed syscall.
    pub fn allowed(&self) -> impl Iterator<Item = &str> {
        self.observed
            .iter()
            .chain(&self.runtime)
            .map(String::as_str)
    }

    /// The profile as Docker reads it (`docker run --security-opt seccomp=PATH`).
    pub fn to_docker_json(&self) -> String {
        let architectures: Vec<&str> = self
            .abis
            .iter()
            .filter_map(|a| libseccomp_arch(a))
            .collect();
        let value: Value = json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": EPERM,
            "architectures": architectures,
            "syscalls": [
                {
                    "names": self.observed,
                    "action": "SCMP_ACT_ALLOW",
                    "comment": "made by the app while slim traced it",
                },
                {
                    "names": self.runtime,
                    "action": "SCMP_ACT_ALLOW",
                    "comment": "needed by the container runtime to start the app",
                },
                {
                    "names": self.not_implemented(),
                    "action": "SCMP_ACT_ERRNO",
                    "errnoRet": ENOSYS,
                    "comment": "not implemented, as under the engine's default profile during analysis, so libc falls back to the calls above",
                },
            ],
        });
        serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
    }
}

/// The syscall's name in its ABI (an x32 call is reported under `x86_64` with bit 30 set).
fn name_of(abi: &str, nr: u32) -> (&'static str, Option<&'static str>) {
    match abi {
        "x86_64" if nr & X32_SYSCALL_BIT != 0 => (
            "x32",
            // x32 shares x86_64's numbers below 512 (above are its own variants of a few)
            syscalls::x86_64::Sysno::new((nr & !X32_SYSCALL_BIT) as usize)
                .filter(|_| nr & !X32_SYSCALL_BIT < 512)
                .map(|s| s.name()),
        ),
        "x86_64" => (
            "x86_64",
            syscalls::x86_64::Sysno::new(nr as usize).map(|s| s.name()),
        ),
        "x86" => (
            "x86",
            syscalls::x86::Sysno::new(nr as usize).map(|s| s.name()),
        ),
        _ => ("unknown", None),
    }
}

/// The profile slim wrote, and how the slim image fared under it.
#[derive(Debug, Clone, Serialize)]
pub struct SeccompReport {
    /// where the profile was written
    pub path: String,
    #[serde(flatten)]
    pub profile: SeccompProfile,
    /// whether verification under the profile passed (`None`: it did not run)
    pub verified: Option<bool>,
    /// when it failed: whether the slim image passes without the profile
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passes_without_profile: Option<bool>,
    /// syscalls the slim image made in that run which the profile denies
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub denied: Vec<String>,
}

impl SeccompReport {
    /// A profile written to `path`, not verified yet.
    pub fn unverified(path: &std::path::Path, profile: SeccompProfile) -> Self {
        SeccompReport {
            path: path.display().to_string(),
            profile,
            verified: None,
            passes_without_profile: None,
            denied: Vec::new(),
        }
    }

    /// One line for the summary table.
    pub fn summary(&self) -> String {
        let allowed = self.profile.allowed().count();
        let seen = self.profile.observed.len();
        let outcome = match (self.verified, self.passes_without_profile) {
            (None, _) => "not verified".to_string(),
            (Some(true), _) => "verified under it".to_string(),
            (Some(false), Some(true)) if self.denied.is_empty() => {
                "FAILS under it, passes without".to_string()
            }
            (Some(false), Some(true)) => {
                format!("FAILS under it: denies {}", self.denied.join(", "))
            }
            (Some(false), _) => "the slim image fails with or without it".to_string(),
        };
        format!("{allowed} syscalls allowed ({seen} seen) · {outcome}")
    }
}

fn libseccomp_arch(abi: &str) -> Option<&'static str> {
    match abi {
        "x86_64" => Some("SCMP_ARCH_X86_64"),
        "x86" => Some("SCMP_ARCH_X86"),
        "x32" => Some("SCMP_ARCH_X32"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(entries: &[(&str, &[u32])]) -> BTreeMap<String, BTreeSet<u32>> {
        entries
            .iter()
            .map(|(abi, nrs)| (abi.to_string(), nrs.iter().copied().collect()))
            .collect()
    }

    #[test]
    fn numbers_become_names_per_abi() {
        // x86_64: 0 read, 257 openat, 41 socket; x86: 102 socketcall; x32: read
        let seen = seen(&[("x86_64", &[0, 257, 41, X32_SYSCALL_BIT]), ("x86", &[102])]);
        let profile = SeccompProfile::from_seen(Some(&seen)).unwrap();
        assert_eq!(profile.abis, ["x32", "x86", "x86_64"]);
        for name in ["read", "openat", "socket", "socketcall"] {
            assert!(profile.observed.contains(name), "{name}");
        }
        // what the app made is not listed again as the runtime's
        assert!(!profile.runtime.contains("read"));
        assert!(profile.runtime.contains("capset"));
    }

    #[test]
    fn the_docker_profile_denies_with_eperm_and_allows_both_groups() {
        let profile = SeccompProfile::from_seen(Some(&seen(&[("x86_64", &[0, 1, 231])]))).unwrap();
        let doc: Value = serde_json::from_str(&profile.to_docker_json()).unwrap();
        assert_eq!(doc["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(doc["defaultErrnoRet"], 1);
        assert_eq!(doc["architectures"], json!(["SCMP_ARCH_X86_64"]));
        let observed: Vec<&str> = doc["syscalls"][0]["names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        assert_eq!(observed, ["exit_group", "read", "write"]);
        assert!(
            doc["syscalls"][1]["names"]
                .as_array()
                .unwrap()
                .contains(&json!("execve"))
        );
        assert!(!profile.allowed().any(|n| n == "ptrace" || n == "mount"));
        // clone3 says "not implemented", so glibc falls back to clone
        assert_eq!(doc["syscalls"][2]["names"], json!(["clone3"]));
        assert_eq!(doc["syscalls"][2]["errnoRet"], 38);
    }

    #[test]
    fn denied_names_what_a_later_run_made_beyond_the_profile() {
        let profile = SeccompProfile::from_seen(Some(&seen(&[("x86_64", &[0, 1])]))).unwrap();
        // 0 read (seen), 59 execve (runtime), 101 ptrace and 165 mount (neither)
        let later = seen(&[("x86_64", &[0, 59, 101, 165])]);
        assert_eq!(profile.denied(&later), ["mount", "ptrace"]);
    }

    #[test]
    fn unknown_numbers_stay_denied_and_are_listed() {
        let profile = SeccompProfile::from_seen(Some(&seen(&[("x86_64", &[4000])]))).unwrap();
        assert_eq!(profile.unnamed, ["x86_64 4000"]);
    }

    #[test]
    fn a_trace_without_the_record_is_an_error() {
        assert!(matches!(
            SeccompProfile::from_seen(None),
            Err(SeccompError::NotRecorded)
        ));
    }
}
