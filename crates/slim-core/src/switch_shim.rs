//! What `slim-switch` does in place of gosu, su-exec, runuser, setpriv, chpst and
//! s6-setuidgid. A slim image starts as the user those tools switch to; there they fail,
//! since changing groups needs root ("operation not permitted"), and the entrypoint script
//! that calls them dies. The shim reads the tool's own command line, runs the command, and
//! switches users only when it runs as root, so an image started with `--user 0` still
//! behaves as the original did.

/// The tools the shim stands in for, by file name.
pub const TOOLS: &[&str] = &[
    "gosu",
    "su-exec",
    "runuser",
    "setpriv",
    "chpst",
    "s6-setuidgid",
];

/// What one invocation asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    /// the user to become, by name or number (none: stay)
    pub user: Option<String>,
    /// the group to become, by name or number (none: the user's own)
    pub group: Option<String>,
    /// how the supplementary groups are set when switching as root
    pub groups: GroupsRule,
    /// the command and its arguments; with `through_shell`, the arguments of the user's shell
    pub command: Vec<String>,
    /// su-style (`runuser [-c CMD] USER [ARGS]`): run the user's shell with `command`
    pub through_shell: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum GroupsRule {
    /// the groups /etc/group lists the user in (gosu, su-exec, runuser, `--init-groups`)
    #[default]
    OfUser,
    /// none (`setpriv --clear-groups`)
    Clear,
    /// as they are (`setpriv --keep-groups`)
    Keep,
    /// these (`setpriv --groups=a,b`)
    These(Vec<String>),
}

/// Why a command line cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageProblem {
    #[error("{0}: not one of the tools slim-switch stands in for ({tools})", tools = TOOLS.join(", "))]
    UnknownTool(String),
    #[error("{tool}: {problem}")]
    Arguments { tool: String, problem: String },
}

/// Parse `argv` (with argv[0]) as the tool argv[0] names.
pub fn parse(argv: &[String]) -> Result<Invocation, UsageProblem> {
    let tool = argv
        .first()
        .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
        .unwrap_or_default();
    let args = &argv[argv.len().min(1)..];
    let problem = |problem: &str| UsageProblem::Arguments {
        tool: tool.clone(),
        problem: problem.to_string(),
    };
    let invocation = match tool.as_str() {
        "gosu" | "su-exec" | "s6-setuidgid" => spec_then_command(args),
        "chpst" => chpst(args),
        "runuser" => runuser(args),
        "setpriv" => setpriv(args),
        _ => return Err(UsageProblem::UnknownTool(tool)),
    };
    let invocation = invocation.ok_or_else(|| problem("cannot read this command line"))?;
    if invocation.command.is_empty() && !invocation.through_shell {
        return Err(problem("no command to run"));
    }
    Ok(invocation)
}

/// `USER[:GROUP] COMMAND ARGS...`
fn spec_then_command(args: &[String]) -> Option<Invocation> {
    let (spec, command) = args.split_first()?;
    if command.is_empty() {
        return None;
    }
    let (user, group) = split_spec(spec);
    Some(Invocation {
        user,
        group,
        command: command.to_vec(),
        ..Invocation::default()
    })
}

fn split_spec(spec: &str) -> (Option<String>, Option<String>) {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    (non_empty(user), group.and_then(non_empty))
}

/// `chpst [-u USER[:GROUP]] [other options] COMMAND...`; options with a value take the next
/// argument.
fn chpst(args: &[String]) -> Option<Invocation> {
    const WITH_VALUE: &[&str] = &[
        "-U", "-b", "-e", "-/", "-C", "-n", "-l", "-L", "-m", "-d", "-o", "-p", "-f", "-c", "-r",
        "-t",
    ];
    let mut invocation = Invocation::default();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        if arg == "-u" {
            let (user, group) = split_spec(args.get(i + 1)?);
            invocation.user = user;
            invocation.group = group;
            i += 2;
        } else if WITH_VALUE.contains(&arg.as_str()) {
            i += 2;
        } else if arg.starts_with('-') && arg.len() > 1 {
            i += 1;
        } else {
            break;
        }
    }
    invocation.command = args.get(i..)?.to_vec();
    (!invocation.command.is_empty()).then_some(invocation)
}

/// `runuser [-u USER] [-g G] [-l] [--] COMMAND...` or, like su, `runuser [-l] [-c CMD] USER`.
fn runuser(args: &[String]) -> Option<Invocation> {
    let mut invocation = Invocation::default();
    let mut explicit_user = false;
    let mut shell_command = None;
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let value = |i: usize| args.get(i + 1).cloned();
        match arg.as_str() {
            "-u" | "--user" => {
                invocation.user = Some(value(i)?);
                explicit_user = true;
                i += 2;
            }
            "-g" | "--group" => {
                invocation.group = Some(value(i)?);
                i += 2;
            }
            "-c" | "--command" => {
                shell_command = Some(value(i)?);
                i += 2;
            }
            "-G" | "--supp-group" | "-s" | "--shell" | "-w" | "--whitelist-environment" => i += 2,
            "--" => {
                i += 1;
                break;
            }
            "-" => i += 1,
            a if a.starts_with('-') => i += 1,
            _ => break,
        }
    }
    let rest = args.get(i..).unwrap_or_default();
    if explicit_user && shell_command.is_none() {
        invocation.command = rest.to_vec();
        return Some(invocation);
    }
    let more = if explicit_user {
        rest
    } else {
        let (user, more) = rest.split_first()?;
        invocation.user = Some(user.clone());
        more
    };
    invocation.through_shell = true;
    if let Some(command) = shell_command {
        invocation.command = vec!["-c".to_string(), command];
    }
    invocation.command.extend(more.iter().cloned());
    Some(invocation)
}

/// `setpriv [--reuid=U] [--regid=G] [--init-groups|--clear-groups|--keep-groups|--groups=L]
/// [other options] [--] COMMAND...`
fn setpriv(args: &[String]) -> Option<Invocation> {
    const WITH_VALUE: &[&str] = &[
        "--reuid",
        "--ruid",
        "--euid",
        "--regid",
        "--rgid",
        "--egid",
        "--groups",
        "--inh-caps",
        "--ambient-caps",
        "--bounding-set",
        "--securebits",
        "--pdeathsig",
        "--selinux-label",
        "--apparmor-profile",
        "--landlock-access",
        "--landlock-rule",
    ];
    let mut invocation = Invocation::default();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        if arg == "--" {
            i += 1;
            break;
        }
        if !arg.starts_with('-') {
            break;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        let takes_value = WITH_VALUE.contains(&name);
        let value = match (takes_value, inline) {
            (true, Some(v)) => Some(v),
            (true, None) => {
                i += 1;
                Some(args.get(i)?.clone())
            }
            (false, _) => None,
        };
        match (name, value) {
            ("--reuid" | "--euid" | "--ruid", Some(v)) => invocation.user = Some(v),
            ("--regid" | "--egid" | "--rgid", Some(v)) => invocation.group = Some(v),
            ("--groups", Some(v)) => {
                invocation.groups = GroupsRule::These(v.split(',').map(str::to_string).collect())
            }
            ("--init-groups", _) => invocation.groups = GroupsRule::OfUser,
            ("--clear-groups", _) => invocation.groups = GroupsRule::Clear,
            ("--keep-groups", _) => invocation.groups = GroupsRule::Keep,
            _ => {}
        }
        i += 1;
    }
    invocation.command = args.get(i..)?.to_vec();
    (!invocation.command.is_empty()).then_some(invocation)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    fn parsed(line: &str) -> Invocation {
        parse(&argv(line)).unwrap()
    }

    #[test]
    fn gosu_su_exec_and_s6_take_a_spec_then_the_command() {
        let got = parsed("/usr/sbin/gosu postgres postgres -D /data");
        assert_eq!(got.user.as_deref(), Some("postgres"));
        assert_eq!(got.command, argv("postgres -D /data"));
        let got = parsed("su-exec 999:999 redis-server");
        assert_eq!(
            (got.user.as_deref(), got.group.as_deref()),
            (Some("999"), Some("999"))
        );
        assert_eq!(parsed("s6-setuidgid app run").command, ["run"]);
        assert!(parse(&argv("gosu postgres")).is_err());
    }

    #[test]
    fn runuser_both_ways() {
        let got = parsed("runuser -u www-data -- php-fpm -F");
        assert_eq!(got.user.as_deref(), Some("www-data"));
        assert_eq!(got.command, argv("php-fpm -F"));
        // su-style: what follows the user name goes to the user's shell
        let got = runuser(&[
            "-l".into(),
            "postgres".into(),
            "-c".into(),
            "pg_ctl start".into(),
        ])
        .unwrap();
        assert_eq!(got.user.as_deref(), Some("postgres"));
        assert!(got.through_shell);
        assert_eq!(got.command, ["-c", "pg_ctl start"]);
        let got = runuser(&["-c".into(), "pg_ctl start".into(), "postgres".into()]).unwrap();
        assert!(got.through_shell);
        assert_eq!(got.command, ["-c", "pg_ctl start"]);
    }

    #[test]
    fn setpriv_options_with_and_without_equals() {
        let got = parsed("setpriv --reuid=33 --regid 33 --init-groups --nnp -- nginx -g x");
        assert_eq!(
            (got.user.as_deref(), got.group.as_deref()),
            (Some("33"), Some("33"))
        );
        assert_eq!(got.groups, GroupsRule::OfUser);
        assert_eq!(got.command, argv("nginx -g x"));
        let got = parsed("setpriv --reuid app --clear-groups id");
        assert_eq!(got.groups, GroupsRule::Clear);
        assert_eq!(got.command, ["id"]);
    }

    #[test]
    fn chpst_user_among_other_options() {
        let got = parsed("chpst -u app:web -e /etc/app/env -P ./run");
        assert_eq!(
            (got.user.as_deref(), got.group.as_deref()),
            (Some("app"), Some("web"))
        );
        assert_eq!(got.command, ["./run"]);
    }

    #[test]
    fn other_names_are_refused() {
        assert!(matches!(
            parse(&argv("sudo ls")),
            Err(UsageProblem::UnknownTool(_))
        ));
    }
}
