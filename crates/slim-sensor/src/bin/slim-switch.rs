//! `slim-switch`: put in a slim image in place of gosu, su-exec, runuser, setpriv, chpst and
//! s6-setuidgid (see `slim_core::switch_shim`). As root it switches users like the tool would; as
//! anyone else it runs the command as it is, since the slim image already starts as the user
//! the tool was there to switch to.

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

use slim_core::image::user::{parse_group, parse_passwd};
use slim_core::switch_shim::{GroupsRule, Invocation, parse};

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let tool = argv
        .first()
        .map(String::as_str)
        .unwrap_or("slim-switch")
        .to_string();
    let invocation = match parse(&argv) {
        Ok(invocation) => invocation,
        Err(problem) => {
            eprintln!("slim-switch: {problem}");
            return ExitCode::from(2);
        }
    };
    let users = read("/etc/passwd")
        .map(|t| parse_passwd(&t))
        .unwrap_or_default();
    let target = invocation.user.as_deref().and_then(|u| {
        users
            .iter()
            .find(|e| e.name == u || e.uid.to_string() == u)
            .cloned()
    });
    let mut command = build_command(&invocation, target.as_ref());
    if nix::unistd::geteuid().is_root() {
        if let Err(problem) = switch(&invocation, target.as_ref(), &mut command) {
            eprintln!("{tool}: {problem}");
            return ExitCode::from(126);
        }
    } else if let Some(wanted) = &invocation.user {
        let me = nix::unistd::getuid().as_raw();
        if target.as_ref().is_none_or(|t| t.uid != me) {
            eprintln!(
                "{tool} (slim-switch): asked to become {wanted}; running as uid {me}, the slim image's user"
            );
        }
    }
    let error = command.exec();
    eprintln!(
        "{tool}: {}: {error}",
        invocation
            .command
            .first()
            .map_or("the shell", String::as_str)
    );
    ExitCode::from(if error.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    })
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// The program to run: the command, or the user's shell for su-style calls.
fn build_command(
    invocation: &Invocation,
    target: Option<&slim_core::image::user::PasswdEntry>,
) -> Command {
    if invocation.through_shell {
        let shell = target
            .map(|t| t.shell.clone())
            .filter(|s| !s.is_empty() && !s.ends_with("nologin") && !s.ends_with("false"))
            .unwrap_or_else(|| "/bin/sh".to_string());
        let mut command = Command::new(shell);
        command.args(&invocation.command);
        return command;
    }
    let mut command = Command::new(&invocation.command[0]);
    command.args(&invocation.command[1..]);
    command
}

/// As root: set the groups, the group and the user the tool would have, and HOME.
fn switch(
    invocation: &Invocation,
    target: Option<&slim_core::image::user::PasswdEntry>,
    command: &mut Command,
) -> Result<(), String> {
    let Some(wanted) = &invocation.user else {
        return Ok(());
    };
    let groups = read("/etc/group")
        .map(|t| parse_group(&t))
        .unwrap_or_default();
    let (uid, primary, name) = match target {
        Some(t) => (t.uid, t.gid, Some(t.name.clone())),
        None => {
            let uid = wanted
                .parse::<u32>()
                .map_err(|_| format!("no user {wanted:?} in /etc/passwd"))?;
            (uid, uid, None)
        }
    };
    let gid = match &invocation.group {
        Some(g) => groups
            .iter()
            .find(|e| &e.name == g)
            .map(|e| e.gid)
            .or_else(|| g.parse().ok())
            .ok_or_else(|| format!("no group {g:?} in /etc/group"))?,
        None => primary,
    };
    let supplementary: Option<Vec<u32>> = match &invocation.groups {
        GroupsRule::Keep => None,
        GroupsRule::Clear => Some(Vec::new()),
        GroupsRule::These(list) => Some(
            list.iter()
                .filter_map(|g| {
                    groups
                        .iter()
                        .find(|e| &e.name == g)
                        .map(|e| e.gid)
                        .or_else(|| g.parse().ok())
                })
                .collect(),
        ),
        // as initgroups(3) does: the group itself, then the groups listing the user
        GroupsRule::OfUser => Some(
            std::iter::once(gid)
                .chain(
                    groups
                        .iter()
                        .filter(|e| name.as_ref().is_some_and(|n| e.members.contains(n)))
                        .map(|e| e.gid),
                )
                .collect(),
        ),
    };
    if let Some(home) = target.map(|t| t.home.clone()).filter(|h| !h.is_empty()) {
        command.env("HOME", home);
    }
    // in this order: groups and gid can only change while still root
    if let Some(list) = supplementary {
        let list: Vec<nix::unistd::Gid> =
            list.into_iter().map(nix::unistd::Gid::from_raw).collect();
        nix::unistd::setgroups(&list).map_err(|e| format!("setgroups: {e}"))?;
    }
    nix::unistd::setgid(nix::unistd::Gid::from_raw(gid))
        .map_err(|e| format!("setgid {gid}: {e}"))?;
    nix::unistd::setuid(nix::unistd::Uid::from_raw(uid))
        .map_err(|e| format!("setuid {uid}: {e}"))?;
    Ok(())
}
