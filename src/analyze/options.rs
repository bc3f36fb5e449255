//! What the analysis run does and when it ends.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use thiserror::Error;

use crate::probe::HttpProbe;

/// When the analysis ends (SlimToolkit's `--continue-after`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContinueAfter {
    /// the command runs until it exits by itself
    Exit,
    /// stop the app once the probes and exec commands are done
    Probe,
    /// let the app run this long (after the probes), then stop it
    Seconds(u64),
    /// wait until slim receives SIGUSR1 (or the app exits)
    Signal,
    /// wait until Enter is pressed (or the app exits)
    Enter,
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error(
    "invalid --continue-after value {0:?}: expected exit, probe, signal, enter or a number of seconds"
)]
pub struct ContinueAfterError(pub String);

impl FromStr for ContinueAfter {
    type Err = ContinueAfterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "exit" => Ok(ContinueAfter::Exit),
            "probe" => Ok(ContinueAfter::Probe),
            "signal" => Ok(ContinueAfter::Signal),
            "enter" => Ok(ContinueAfter::Enter),
            other => other
                .trim_end_matches('s')
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .map(ContinueAfter::Seconds)
                .ok_or_else(|| ContinueAfterError(s.to_string())),
        }
    }
}

impl fmt::Display for ContinueAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContinueAfter::Exit => f.write_str("exit"),
            ContinueAfter::Probe => f.write_str("probe"),
            ContinueAfter::Seconds(n) => write!(f, "{n}"),
            ContinueAfter::Signal => f.write_str("signal"),
            ContinueAfter::Enter => f.write_str("enter"),
        }
    }
}

/// Everything the analysis run needs besides the image.
#[derive(Debug, Clone)]
pub struct AnalysisOptions {
    /// send `GET /` to every exposed TCP port
    pub http_probe: bool,
    /// extra requests sent to every port that answered HTTP
    pub http_probe_cmds: Vec<HttpProbe>,
    /// commands run in the container (traced) once the app is up
    pub execs: Vec<String>,
    /// `None`: `probe` when there is something to probe, else `exit`
    pub continue_after: Option<ContinueAfter>,
    /// bound on the whole analysis run (start, probes, waiting for exit)
    pub timeout: Duration,
    /// add CAP_SYS_PTRACE so the sensor can follow processes that switch users
    pub cap_ptrace: bool,
    /// accept a non-zero exit of a command that runs to completion
    pub allow_failure: bool,
    /// the static sensor executable to inject
    pub sensor: std::path::PathBuf,
    /// record every syscall, not only file syscalls (for a seccomp profile)
    pub all_syscalls: bool,
    /// where the HTTP probes are sent from (the analysis and the verification alike)
    pub probe_from: super::ProbeFrom,
}

impl AnalysisOptions {
    /// The mode used for an image exposing `tcp_ports`.
    pub fn effective_mode(&self, tcp_ports: &[u16]) -> ContinueAfter {
        self.continue_after.unwrap_or({
            if (self.http_probe && !tcp_ports.is_empty()) || !self.execs.is_empty() {
                ContinueAfter::Probe
            } else {
                ContinueAfter::Exit
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_continue_after() {
        assert_eq!("exit".parse(), Ok(ContinueAfter::Exit));
        assert_eq!("probe".parse(), Ok(ContinueAfter::Probe));
        assert_eq!("30".parse(), Ok(ContinueAfter::Seconds(30)));
        assert_eq!("5s".parse(), Ok(ContinueAfter::Seconds(5)));
        assert_eq!("signal".parse(), Ok(ContinueAfter::Signal));
        assert!("0".parse::<ContinueAfter>().is_err());
        assert!("later".parse::<ContinueAfter>().is_err());
    }

    #[test]
    fn default_mode_follows_the_image() {
        let options = AnalysisOptions {
            http_probe: true,
            http_probe_cmds: vec![],
            execs: vec![],
            continue_after: None,
            timeout: Duration::from_secs(1),
            cap_ptrace: false,
            allow_failure: false,
            sensor: "/x".into(),
            all_syscalls: false,
            probe_from: crate::analyze::ProbeFrom::Inside,
        };
        assert_eq!(options.effective_mode(&[80]), ContinueAfter::Probe);
        assert_eq!(options.effective_mode(&[]), ContinueAfter::Exit);
        let no_probe = AnalysisOptions {
            http_probe: false,
            ..options.clone()
        };
        assert_eq!(no_probe.effective_mode(&[80]), ContinueAfter::Exit);
        let with_exec = AnalysisOptions {
            execs: vec!["true".into()],
            ..no_probe
        };
        assert_eq!(with_exec.effective_mode(&[]), ContinueAfter::Probe);
    }
}
