//! `#!` lines: which interpreter the kernel runs for a script, and which program
//! `#!/usr/bin/env NAME` ends up running.

/// Bytes of a script the kernel looks at for its `#!` line (BINPRM_BUF_SIZE since 5.1).
pub const SHEBANG_LIMIT: usize = 256;

/// PATH that `env` uses when the image sets none (Docker's default).
pub const DEFAULT_PATH: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// A parsed `#!` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shebang {
    pub interpreter: String,
    /// Everything after the interpreter, as the single argument Linux passes.
    pub argument: Option<String>,
}

/// Parse the start of a file; `None` unless it begins with `#!` and names an interpreter.
pub fn parse_shebang(head: &[u8]) -> Option<Shebang> {
    let rest = head.strip_prefix(b"#!")?;
    let line = rest.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = std::str::from_utf8(line).ok()?;
    let line = line.trim_matches(|c| c == ' ' || c == '\t' || c == '\r');
    let (interpreter, argument) = match line.find([' ', '\t']) {
        Some(i) => (&line[..i], line[i..].trim_matches([' ', '\t'])),
        None => (line, ""),
    };
    if interpreter.is_empty() {
        return None;
    }
    Some(Shebang {
        interpreter: interpreter.to_string(),
        argument: (!argument.is_empty()).then(|| argument.to_string()),
    })
}

/// True if the interpreter is `env`, which looks its argument up in PATH.
pub fn is_env(interpreter: &str) -> bool {
    interpreter.rsplit('/').next() == Some("env")
}

/// The program `env` would run given the `#!` argument: the first word that is neither an
/// option (and its value), nor a NAME=VALUE assignment. Handles `-S`/`--split-string`,
/// where the command line follows in the same argument.
pub fn env_command(argument: &str) -> Option<String> {
    let mut words = argument.split_whitespace();
    while let Some(word) = words.next() {
        match word {
            "--" => return words.next().map(str::to_string),
            // options that take the next word as their value
            "-u" | "--unset" | "-C" | "--chdir" | "-P" => {
                words.next();
            }
            // `-S` alone: the command line follows as further words
            "-S" | "--split-string" | "-" => {}
            _ if word.starts_with("--split-string=") => {
                let first = &word["--split-string=".len()..];
                if !first.is_empty() {
                    return Some(first.to_string());
                }
            }
            _ if word.starts_with("-S") && !word.starts_with("--") => {
                // `-Spython3 -u`: the command starts right after -S
                return Some(word[2..].to_string());
            }
            _ if word.starts_with('-') => {}
            _ if word.contains('=') => {}
            _ => return Some(word.to_string()),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sb(text: &str) -> Option<(String, Option<String>)> {
        parse_shebang(text.as_bytes()).map(|s| (s.interpreter, s.argument))
    }

    #[test]
    fn parses_interpreter_and_argument() {
        assert_eq!(sb("#!/bin/sh\necho"), Some(("/bin/sh".into(), None)));
        assert_eq!(
            sb("#! /bin/bash -e \n"),
            Some(("/bin/bash".into(), Some("-e".into())))
        );
        assert_eq!(
            sb("#!/usr/bin/env python3\r\nimport x"),
            Some(("/usr/bin/env".into(), Some("python3".into())))
        );
        assert_eq!(sb("#!\n"), None);
        assert_eq!(sb("echo"), None);
        assert_eq!(sb("#!/bin/sh"), Some(("/bin/sh".into(), None)));
    }

    #[test]
    fn env_skips_options_and_assignments() {
        assert_eq!(env_command("python3").as_deref(), Some("python3"));
        assert_eq!(env_command("-S python3 -u").as_deref(), Some("python3"));
        assert_eq!(env_command("-Spython3 -u").as_deref(), Some("python3"));
        assert_eq!(env_command("-u HOME -i node").as_deref(), Some("node"));
        assert_eq!(
            env_command("--split-string=perl -w").as_deref(),
            Some("perl")
        );
        assert_eq!(
            env_command("-S LANG=C ruby --disable-gems").as_deref(),
            Some("ruby")
        );
        assert_eq!(env_command("-- bash").as_deref(), Some("bash"));
        assert_eq!(env_command("-i"), None);
        assert!(is_env("/usr/bin/env"));
        assert!(!is_env("/usr/bin/envoy"));
    }
}
