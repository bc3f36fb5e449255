//! SL010: secrets in ENV and ARG, by name (`DB_PASSWORD`, `API_KEY`, `GITHUB_TOKEN`…) and
//! by value (an AWS key id, a GitHub token, a private key, a URL with a password in it).

use std::sync::OnceLock;

use regex::Regex;

use super::Findings;
use super::rules::SECRET_IN_ENV_OR_ARG;
use crate::dockerfile::{Arguments, Dockerfile, InstructionKind};

/// Name words that by themselves mean a secret.
const SECRET_WORDS: [&str; 14] = [
    "PASSWORD",
    "PASSWD",
    "PASS",
    "PASSPHRASE",
    "SECRET",
    "SECRETS",
    "TOKEN",
    "TOKENS",
    "CREDENTIALS",
    "CREDENTIAL",
    "CREDS",
    "APIKEY",
    "PRIVATEKEY",
    "ACCESSKEY",
];

/// Last words that make the name about a secret rather than the secret itself
/// (`TOKEN_FILE`, `PASSWORD_PATH`, `SECRET_NAME`, `API_KEY_URL`, `AWS_ACCESS_KEY_ID`).
const NOT_THE_SECRET: [&str; 26] = [
    "FILE",
    "PATH",
    "DIR",
    "URL",
    "URI",
    "ENDPOINT",
    "HOST",
    "PORT",
    "ID",
    "NAME",
    "HEADER",
    "TYPE",
    "LENGTH",
    "SIZE",
    "TTL",
    "EXPIRY",
    "EXPIRES",
    "TIMEOUT",
    "ALGORITHM",
    "FORMAT",
    "LOCATION",
    "PREFIX",
    "FINGERPRINT",
    "ENABLED",
    "REQUIRED",
    "POLICY",
];

/// Words before KEY that make it something other than a secret key.
const HARMLESS_KEYS: [&str; 9] = [
    "PUBLIC",
    "GPG",
    "PGP",
    "CACHE",
    "SORT",
    "PRIMARY",
    "PARTITION",
    "FOREIGN",
    "HOT",
];

pub(super) fn check(dockerfile: &Dockerfile, out: &mut Findings) {
    for instruction in dockerfile.instructions() {
        let pairs: Vec<(&str, Option<&str>)> = match (&instruction.kind, &instruction.arguments) {
            (InstructionKind::Env, Arguments::KeyValues(pairs)) => pairs
                .iter()
                .map(|kv| (kv.key.as_str(), Some(kv.value.as_str())))
                .collect(),
            (InstructionKind::Arg, Arguments::Arg(decls)) => decls
                .iter()
                .map(|d| (d.name.as_str(), d.default.as_deref()))
                .collect(),
            _ => continue,
        };
        let keyword = instruction.kind.keyword();
        for (name, value) in pairs {
            if let Some(kind) = value.and_then(secret_value) {
                out.add(
                    SECRET_IN_ENV_OR_ARG,
                    instruction.lines,
                    format!("{keyword} {name} holds what looks like {kind}"),
                    Some(format!(
                        "revoke it, remove it from the Dockerfile, and pass it at build time with RUN --mount=type=secret,id={} (or at run time)",
                        name.to_ascii_lowercase()
                    )),
                );
                continue;
            }
            // An empty ENV stores nothing; an ARG without a default is filled in at build time.
            let stores_value = match instruction.kind {
                InstructionKind::Env => value.is_some_and(|v| !v.is_empty() && !is_flag_value(v)),
                _ => value.is_none_or(|v| !is_flag_value(v)),
            };
            if stores_value && is_secret_name(name) {
                let how = match instruction.kind {
                    InstructionKind::Env => {
                        "is stored in the image config, readable by anyone who pulls the image"
                    }
                    _ => "is recorded in the image history of every RUN that uses it",
                };
                out.add(
                    SECRET_IN_ENV_OR_ARG,
                    instruction.lines,
                    format!("{keyword} {name} looks like a secret, and its value {how}"),
                    Some(format!(
                        "use a build secret: RUN --mount=type=secret,id={0},env={1} … with `docker build --secret id={0},env={1}`; give it to the container at run time",
                        name.to_ascii_lowercase(),
                        name
                    )),
                );
            }
        }
    }
}

/// Booleans and small numbers: `REQUIRE_TOKEN=true` configures, it is not a token.
fn is_flag_value(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "0" | "1"
    )
}

/// The words of a name: split at `_`, `-`, `.` and lower-to-upper case changes, upper-cased.
fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if matches!(c, '_' | '-' | '.') {
            words.push(std::mem::take(&mut word));
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower {
            words.push(std::mem::take(&mut word));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        word.push(c.to_ascii_uppercase());
    }
    words.push(word);
    words.retain(|w| !w.is_empty());
    words
}

pub(crate) fn is_secret_name(name: &str) -> bool {
    let words = name_words(name);
    let Some(last) = words.last() else {
        return false;
    };
    if NOT_THE_SECRET.contains(&last.as_str()) || words.iter().any(|w| w == "PUBLIC") {
        return false;
    }
    if words.iter().any(|w| SECRET_WORDS.contains(&w.as_str())) {
        // PASS and PWD are secrets only as the last word (`DB_PASS`, not `PASS_THROUGH_MODE`)
        return words
            .iter()
            .any(|w| SECRET_WORDS.contains(&w.as_str()) && (w != "PASS" || w == last));
    }
    if last == "PWD" && words.len() > 1 {
        return true;
    }
    // KEY is a secret at the end of a name, unless what comes before says it is not
    if last == "KEY" || last == "KEYS" {
        let before = words.len().checked_sub(2).and_then(|i| words.get(i));
        return before.is_none_or(|b| !HARMLESS_KEYS.contains(&b.as_str()));
    }
    false
}

/// What a value looks like when it is a credential.
fn secret_value(value: &str) -> Option<&'static str> {
    static PATTERNS: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| {
        [
            (r"\bA(KIA|SIA)[0-9A-Z]{16}\b", "an AWS access key id"),
            (r"\bgh[pousr]_[A-Za-z0-9]{36,}\b", "a GitHub token"),
            (r"\bgithub_pat_[A-Za-z0-9_]{40,}\b", "a GitHub token"),
            (r"\bglpat-[A-Za-z0-9_\-]{20,}\b", "a GitLab token"),
            (r"\bxox[abprs]-[A-Za-z0-9\-]{10,}", "a Slack token"),
            (r"\b[sr]k_live_[A-Za-z0-9]{16,}\b", "a Stripe key"),
            (r"\bAIza[0-9A-Za-z_\-]{35}\b", "a Google API key"),
            (r"\bnpm_[A-Za-z0-9]{36}\b", "an npm token"),
            (r"-----BEGIN [A-Z ]*PRIVATE KEY-----", "a private key"),
            (
                r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]+",
                "a JSON web token",
            ),
            (
                r"[a-zA-Z][a-zA-Z0-9+.\-]*://[^/\s:@]+:[^/\s@$]+@",
                "a URL with a password in it",
            ),
        ]
        .into_iter()
        .filter_map(|(pattern, kind)| Regex::new(pattern).ok().map(|r| (r, kind)))
        .collect()
    });
    patterns
        .iter()
        .find(|(regex, _)| regex.is_match(value))
        .map(|(_, kind)| *kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in [
            "PASSWORD",
            "DB_PASSWORD",
            "MYSQL_ROOT_PASSWD",
            "DB_PASS",
            "API_KEY",
            "apiKey",
            "PRIVATE_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "GITHUB_TOKEN",
            "npm_token",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "SECRET_KEY_BASE",
            "STRIPE_KEY",
            "clientSecret",
            "DB_PWD",
            "SSH_KEYS",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "KEYBOARD",
            "KEYBOARD_LAYOUT",
            "PUBLIC_KEY_URL",
            "PUBLIC_KEY",
            "GPG_KEY",
            "TOKEN_FILE",
            "PASSWORD_FILE",
            "AWS_ACCESS_KEY_ID",
            "SECRET_NAME",
            "PASS_THROUGH_MODE",
            "PWD",
            "MONKEY",
            "CACHE_KEY",
            "PATH",
            "HOME",
            "TOKENIZER_PARALLELISM",
            "API_KEY_URL",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn secret_values() {
        assert_eq!(
            secret_value("AKIAIOSFODNN7EXAMPLE"),
            Some("an AWS access key id")
        );
        assert_eq!(
            secret_value("ghp_0123456789abcdefghijABCDEFGHIJ012345"),
            Some("a GitHub token")
        );
        assert_eq!(
            secret_value("postgres://app:hunter2@db:5432/app"),
            Some("a URL with a password in it")
        );
        assert_eq!(
            secret_value("-----BEGIN RSA PRIVATE KEY-----"),
            Some("a private key")
        );
        assert_eq!(secret_value("postgres://db:5432/app"), None);
        assert_eq!(secret_value("https://${USER}:${PASS}@host"), None);
        assert_eq!(secret_value("/usr/local/bin:/usr/bin"), None);
        assert_eq!(
            secret_value("A035C8C19219BA821ECEA86B64E628F8D684696D"),
            None
        );
    }
}
