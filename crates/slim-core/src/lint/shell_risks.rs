//! Risky things to do in RUN: SL015 (sudo) and SL016 (piping a download into a shell).

use std::sync::OnceLock;

use regex::Regex;

use super::Findings;
use super::rules::{PIPE_TO_SHELL, SUDO};
use super::shell::{self, is_shell};
use crate::dockerfile::{Dockerfile, InstructionKind};

const DOWNLOADERS: [&str; 3] = ["curl", "wget", "fetch"];

pub(super) fn check(dockerfile: &Dockerfile, out: &mut Findings) {
    for instruction in dockerfile.instructions() {
        if instruction.kind != InstructionKind::Run {
            continue;
        }
        let scripts = shell::run_scripts(instruction);
        let commands: Vec<_> = scripts.iter().flat_map(|s| shell::commands(s)).collect();

        if commands.iter().any(|c| c.uses_sudo()) {
            out.add(
                SUDO,
                instruction.lines,
                "RUN uses sudo; build steps already run as root unless a USER changed that".into(),
                Some("drop sudo and put the steps that need root before USER (or switch with USER root … USER 65532 around them)".into()),
            );
        }

        // A download anywhere upstream in a pipeline that ends in a shell (`curl | tee | sh`).
        let mut download: Option<&str> = None;
        let mut piped = None;
        for command in &commands {
            let name = command.program().map(|(name, _)| name);
            if let (Some(from), Some(run)) = (download, name)
                && is_shell(run)
            {
                piped = Some(format!("{from} … | {run}"));
                break;
            }
            if !command.pipes_to_next {
                download = None;
            } else if download.is_none() {
                download = name.filter(|n| DOWNLOADERS.contains(n));
            }
        }
        let substituted = scripts.iter().find_map(|s| substitution_into_shell(s));
        if let Some(how) = piped.or(substituted) {
            out.add(
                PIPE_TO_SHELL,
                instruction.lines,
                format!("RUN runs a downloaded script unverified ({how})"),
                Some("download to a file, check its sha256 (`echo \"<sha256>  install.sh\" | sha256sum -c -`), then run it; or use a package or a pinned release".into()),
            );
        }
    }
}

/// `bash <(curl …)`, `sh -c "$(wget -O- …)"`, `. <(curl …)`: a download run through a
/// process or command substitution.
fn substitution_into_shell(script: &str) -> Option<String> {
    static PATTERN: OnceLock<Option<Regex>> = OnceLock::new();
    let pattern = PATTERN.get_or_init(|| {
        Regex::new(
            r#"(?:^|[\s;&|(])((?:ba|da|z|k|a)?sh|source|\.)\s+(?:-\S+\s+)*["']?(?:<\(|\$\()\s*(curl|wget|fetch)\b"#,
        )
        .ok()
    });
    let captures = pattern.as_ref()?.captures(script)?;
    Some(format!("{} <({} …)", &captures[1], &captures[2]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutions() {
        assert!(substitution_into_shell("bash <(curl -fsSL https://x)").is_some());
        assert!(substitution_into_shell("sh -c \"$(wget -qO- https://x)\"").is_some());
        assert!(substitution_into_shell("apt-get update && . <(curl -s https://x)").is_some());
        assert!(substitution_into_shell("echo $(curl -s https://x)").is_none());
        assert!(substitution_into_shell("bash install.sh").is_none());
    }
}
