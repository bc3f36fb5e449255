//! SL001 (the final image runs as root) and SL002 (USER by name, not uid).

use super::Findings;
use super::rules::{NAMED_USER, ROOT_USER};
use super::shell::{self, SimpleCommand};
use crate::dockerfile::{Arguments, BaseSource, Dockerfile, Instruction, InstructionKind};
use crate::image::ImageRef;

const NON_ROOT_FIX: &str = "add `USER 65532:65532` (or the uid of a user the image creates) after the last step that needs root";

pub(super) fn check(dockerfile: &Dockerfile, out: &mut Findings) {
    let lineage = dockerfile.final_lineage();
    let last_user = lineage
        .iter()
        .flat_map(|stage| stage.instructions.iter())
        .rfind(|i| i.kind == InstructionKind::User);
    let Some(instruction) = last_user else {
        let final_stage = dockerfile.final_stage();
        let base = &lineage[0].base;
        let runs_as = match base.source {
            BaseSource::Scratch => "an image FROM scratch runs as root".to_string(),
            _ if looks_non_root(&base.expanded) => return,
            _ if !base.unset.is_empty() => {
                format!("{} runs as root unless it sets a USER of its own", base.raw)
            }
            _ => format!(
                "{} runs as root unless it sets a USER of its own",
                base.expanded
            ),
        };
        out.add(
            ROOT_USER,
            final_stage.from.lines,
            format!("the final stage has no USER instruction: {runs_as}"),
            Some(NON_ROOT_FIX.into()),
        );
        return;
    };
    let Arguments::User { user, group } = &instruction.arguments else {
        return;
    };
    // A user given through a build argument cannot be judged here.
    if user.contains('$') {
        return;
    }
    if user == "root" || user == "0" {
        out.add(
            ROOT_USER,
            instruction.lines,
            format!(
                "the final stage switches to USER {} and stays root",
                instruction.args_text
            ),
            Some(NON_ROOT_FIX.into()),
        );
        return;
    }
    if user.parse::<u32>().is_err() {
        let created = lineage
            .iter()
            .flat_map(|stage| stage.instructions.iter())
            .find_map(|i| created_uid(i, user));
        let fix = match (created, group.as_deref()) {
            (Some(uid), None) => format!("USER {uid}:{uid} (the uid this Dockerfile gives {user})"),
            (Some(uid), Some(group)) => {
                format!("USER {uid}:<gid of {group}> (the uid this Dockerfile gives {user})")
            }
            (None, _) => format!(
                "USER <uid>:<gid> with the numeric ids of {user} (`id {user}` in the image shows them)"
            ),
        };
        out.add(
            NAMED_USER,
            instruction.lines,
            format!(
                "USER {} names the user; give its numeric uid",
                instruction.args_text
            ),
            Some(fix),
        );
    }
}

/// Base images whose tag says they run as a non-root user (distroless `:nonroot`, `-nonroot`).
fn looks_non_root(image: &str) -> bool {
    ImageRef::parse(image).is_ok_and(|r| r.tag.is_some_and(|tag| tag.contains("nonroot")))
}

/// The uid a `useradd -u UID NAME` / `adduser -u UID NAME` in this RUN gives `name`.
fn created_uid(instruction: &Instruction, name: &str) -> Option<u32> {
    if instruction.kind != InstructionKind::Run {
        return None;
    }
    shell::run_commands(instruction)
        .iter()
        .find_map(|command| uid_option(command, name))
}

fn uid_option(command: &SimpleCommand, name: &str) -> Option<u32> {
    let args = command.runs(&["useradd", "adduser"])?;
    if args.last().map(String::as_str) != Some(name) {
        return None;
    }
    args.iter()
        .enumerate()
        .find_map(|(i, arg)| match arg.as_str() {
            "-u" | "--uid" => args.get(i + 1)?.parse().ok(),
            other => other.strip_prefix("--uid=")?.parse().ok(),
        })
}
