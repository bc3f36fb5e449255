//! ADD: SL008 (a URL fetched without --checksum) and SL009 (a local file or directory, which
//! COPY does without ADD's archive unpacking). Local tar archives are what ADD is for.

use super::Findings;
use super::rules::{ADD_LOCAL, ADD_URL};
use crate::dockerfile::{Arguments, Dockerfile, InstructionKind};

const ARCHIVE_SUFFIXES: [&str; 10] = [
    ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz", ".tar.zst", ".tzst",
];

pub(super) fn check(dockerfile: &Dockerfile, out: &mut Findings) {
    for instruction in dockerfile.instructions() {
        if instruction.kind != InstructionKind::Add {
            continue;
        }
        let Arguments::Copy {
            sources,
            destination,
        } = &instruction.arguments
        else {
            continue;
        };
        let (urls, local): (Vec<&String>, Vec<&String>) =
            sources.iter().partition(|s| is_remote(s));
        if !urls.is_empty() && instruction.flag("checksum").is_none() {
            let url = urls[0];
            let file = url
                .rsplit('/')
                .next()
                .filter(|f| !f.is_empty())
                .unwrap_or("download");
            out.add(
                ADD_URL,
                instruction.lines,
                format!("ADD fetches {url} and nothing checks what it gets"),
                Some(format!(
                    "ADD --checksum=sha256:<sha256 of the file> {url} {destination}, or RUN curl -fsSLo /tmp/{file} {url} && echo \"<sha256>  /tmp/{file}\" | sha256sum -c -"
                )),
            );
        }
        // A variable may name an archive; only flag what is plainly not one.
        let plain: Vec<&str> = local
            .iter()
            .filter(|s| !s.contains('$') && !is_archive(s))
            .map(|s| s.as_str())
            .collect();
        if !plain.is_empty() {
            let fix = instruction
                .text
                .replacen(&instruction.keyword, "COPY", 1)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string();
            out.add(
                ADD_LOCAL,
                instruction.lines,
                format!(
                    "ADD of {} which is not a tar archive: COPY does the same without unpacking surprises",
                    plain.join(", ")
                ),
                Some(fix),
            );
        }
    }
}

/// URLs and git sources, which ADD downloads.
fn is_remote(source: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    ["http://", "https://", "git://", "git@", "ssh://"]
        .iter()
        .any(|p| lower.starts_with(p))
}

fn is_archive(source: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    ARCHIVE_SUFFIXES
        .iter()
        .any(|suffix| lower.ends_with(suffix))
}
