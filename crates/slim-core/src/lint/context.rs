//! The build context as the rules see it (its .dockerignore and top-level names), and the
//! rules about it: SL011 (no .dockerignore) and SL012 (one that lets secrets or build
//! output through).

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use super::Findings;
use super::ignore_file::IgnoreFile;
use super::rules::{DOCKERIGNORE_GAPS, NO_DOCKERIGNORE};
use super::shell;
use crate::dockerfile::{Dockerfile, InstructionKind, LineRange};

/// A .dockerignore's text and how findings name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreFileText {
    pub path: String,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildContext {
    /// the .dockerignore that applies to the build, if there is one
    pub dockerignore: Option<IgnoreFileText>,
    /// names of the entries at the top of the context directory
    pub top_level: BTreeSet<String>,
}

impl BuildContext {
    /// Read a context directory. As in BuildKit, `<Dockerfile>.dockerignore` next to the
    /// Dockerfile wins over the context's `.dockerignore`.
    pub fn read(dir: &Path, dockerfile: &Path) -> io::Result<Self> {
        let mut top_level = BTreeSet::new();
        for entry in std::fs::read_dir(dir)? {
            top_level.insert(entry?.file_name().to_string_lossy().into_owned());
        }
        let mut specific = dockerfile.as_os_str().to_owned();
        specific.push(".dockerignore");
        let mut dockerignore = None;
        for candidate in [
            Path::new(&specific).to_path_buf(),
            dir.join(".dockerignore"),
        ] {
            match std::fs::read_to_string(&candidate) {
                Ok(text) => {
                    dockerignore = Some(IgnoreFileText {
                        path: candidate.display().to_string(),
                        text,
                    });
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(BuildContext {
            dockerignore,
            top_level,
        })
    }
}

/// What a .dockerignore should keep out: a label, and context paths that stand for it.
struct Requirement {
    label: &'static str,
    probes: &'static [&'static str],
}

const ALWAYS: [Requirement; 5] = [
    Requirement {
        label: ".git",
        probes: &[".git/HEAD"],
    },
    Requirement {
        label: ".env",
        probes: &[".env"],
    },
    Requirement {
        label: "*.pem",
        probes: &["server.pem"],
    },
    Requirement {
        label: "*.key",
        probes: &["server.key"],
    },
    Requirement {
        label: "id_rsa*",
        probes: &["id_rsa", "id_rsa.pub"],
    },
];

/// Build output directories, with the programs whose use in the Dockerfile makes them likely.
const BUILD_OUTPUTS: [(&str, &[&str]); 4] = [
    ("target/", &["cargo", "rustc", "mvn", "mvnw", "sbt"]),
    (
        "node_modules/",
        &["npm", "yarn", "pnpm", "npx", "node", "bun"],
    ),
    ("dist/", &[]),
    ("build/", &["gradle", "gradlew"]),
];

pub(super) fn check(dockerfile: &Dockerfile, context: &BuildContext, out: &mut Findings) {
    let Some(source) = &context.dockerignore else {
        // The finding is about the build as a whole; it points at the first FROM.
        out.add(
            NO_DOCKERIGNORE,
            dockerfile.stages[0].from.lines,
            "the build context has no .dockerignore, so all of it is sent to the builder".into(),
            Some(format!(
                "add a .dockerignore beside the Dockerfile with at least: {}",
                wanted_lines(dockerfile, context, &IgnoreFile::default()).join(" ")
            )),
        );
        return;
    };
    let lines = source.text.lines().count().max(1);
    let whole_file = LineRange {
        start: 1,
        end: lines,
    };
    let ignore = match IgnoreFile::parse(&source.text) {
        Ok(ignore) => ignore,
        Err(e) => {
            out.add_in(
                &source.path,
                DOCKERIGNORE_GAPS,
                LineRange {
                    start: e.line,
                    end: e.line,
                },
                format!("{e}: Docker rejects the whole file"),
                None,
            );
            return;
        }
    };
    let missing = wanted_lines(dockerfile, context, &ignore);
    if !missing.is_empty() {
        out.add_in(
            &source.path,
            DOCKERIGNORE_GAPS,
            whole_file,
            format!(".dockerignore does not exclude {}", missing.join(", ")),
            Some(format!("add these lines: {}", missing.join(" "))),
        );
    }
}

/// The patterns the .dockerignore should have and does not.
fn wanted_lines(
    dockerfile: &Dockerfile,
    context: &BuildContext,
    ignore: &IgnoreFile,
) -> Vec<String> {
    let mut wanted: Vec<String> = ALWAYS
        .iter()
        .filter(|r| r.probes.iter().any(|p| !ignore.excludes(p)))
        .map(|r| r.label.to_string())
        .collect();
    let programs = programs_run(dockerfile);
    for (dir, hints) in BUILD_OUTPUTS {
        let name = dir.trim_end_matches('/');
        let relevant =
            context.top_level.contains(name) || hints.iter().any(|h| programs.contains(*h));
        if relevant && !ignore.excludes(&format!("{name}/x")) {
            wanted.push(dir.to_string());
        }
    }
    wanted
}

/// Every program a RUN of the Dockerfile starts.
fn programs_run(dockerfile: &Dockerfile) -> BTreeSet<String> {
    dockerfile
        .instructions()
        .filter(|i| i.kind == InstructionKind::Run)
        .flat_map(shell::run_commands)
        .filter_map(|c| c.program().map(|(name, _)| name.to_string()))
        .collect()
}
