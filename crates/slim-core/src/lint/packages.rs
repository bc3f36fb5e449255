//! Distribution package managers in RUN: what a command does (install, remove, refresh,
//! clean), and the rules about it: SL013 (recommended packages installed) and SL014 (package
//! lists or caches left in the layer, unless a cache or tmpfs mount keeps them out).

use std::collections::BTreeSet;

use super::Findings;
use super::rules::{PACKAGE_CACHE_LEFT, RECOMMENDED_PACKAGES};
use super::shell::{self, SimpleCommand};
use crate::dockerfile::{Dockerfile, Instruction, InstructionKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Manager {
    Apt,
    Apk,
    Dnf,
    Yum,
    Zypper,
}

impl Manager {
    /// Directories where the manager keeps lists and caches.
    fn cache_dirs(self) -> &'static [&'static str] {
        match self {
            Manager::Apt => &["/var/lib/apt/lists", "/var/lib/apt"],
            Manager::Apk => &["/var/cache/apk", "/etc/apk/cache"],
            Manager::Dnf | Manager::Yum => {
                &["/var/cache/dnf", "/var/cache/yum", "/var/cache/libdnf5"]
            }
            Manager::Zypper => &["/var/cache/zypp"],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PackageCommand<'a> {
    Install {
        manager: Manager,
        program: &'a str,
        packages: Vec<String>,
        args: &'a [String],
    },
    Remove {
        manager: Manager,
    },
    /// apt-get update, apk update, zypper refresh: fetches the package lists
    Refresh {
        manager: Manager,
        program: &'a str,
    },
    Clean {
        manager: Manager,
    },
}

/// Options that take the next word as their value, per manager.
fn value_options(manager: Manager) -> &'static [&'static str] {
    match manager {
        Manager::Apt => &["-o", "-c", "-t", "-a", "--target-release"],
        Manager::Apk => &[
            "-X",
            "--repository",
            "-p",
            "--root",
            "-t",
            "--virtual",
            "--arch",
            "--cache-dir",
            "--keys-dir",
            "--repositories-file",
        ],
        Manager::Dnf | Manager::Yum => &[
            "-c",
            "--config",
            "-x",
            "--exclude",
            "--releasever",
            "--installroot",
            "--repo",
            "--repoid",
            "--enablerepo",
            "--disablerepo",
            "--setopt",
            "-d",
            "-e",
            "--forcearch",
        ],
        Manager::Zypper => &["-r", "--repo", "--from", "-t", "--type"],
    }
}

/// What a command does with the package manager, if it runs one.
pub(crate) fn package_command(command: &SimpleCommand) -> Option<PackageCommand<'_>> {
    let (program, args) = command.program()?;
    let manager = match program {
        "apt-get" | "apt" | "aptitude" => Manager::Apt,
        "apk" => Manager::Apk,
        "dnf" | "dnf5" | "microdnf" | "tdnf" => Manager::Dnf,
        "yum" => Manager::Yum,
        "zypper" => Manager::Zypper,
        _ => return None,
    };
    let with_value = value_options(manager);
    let at = args
        .iter()
        .enumerate()
        .scan(false, |skip_next, (i, word)| {
            let is_value = std::mem::replace(skip_next, with_value.contains(&word.as_str()));
            Some((i, word, is_value))
        })
        .find(|(_, word, is_value)| !is_value && !word.starts_with('-'))
        .map(|(i, _, _)| i)?;
    let sub = args[at].as_str();
    let rest = &args[at + 1..];
    let install = match (manager, sub) {
        (Manager::Apt, "install") | (Manager::Apk, "add") => true,
        (Manager::Dnf | Manager::Yum, "install" | "groupinstall") => true,
        (Manager::Dnf | Manager::Yum, "group") => rest.first().is_some_and(|w| w == "install"),
        (Manager::Zypper, "install" | "in") => true,
        _ => false,
    };
    if install {
        return Some(PackageCommand::Install {
            manager,
            program,
            packages: packages(rest, with_value),
            args,
        });
    }
    let is = |words: &[&str]| words.contains(&sub);
    let first_rest_is = |words: &[&str]| rest.first().is_some_and(|w| words.contains(&w.as_str()));
    let action = match manager {
        Manager::Apt if is(&["remove", "purge", "autoremove"]) => {
            PackageCommand::Remove { manager }
        }
        Manager::Apt if is(&["update"]) => PackageCommand::Refresh { manager, program },
        Manager::Apt if is(&["clean"]) => PackageCommand::Clean { manager },
        Manager::Apk if is(&["del"]) => PackageCommand::Remove { manager },
        Manager::Apk if is(&["update"]) => PackageCommand::Refresh { manager, program },
        Manager::Apk if is(&["cache"]) && first_rest_is(&["clean", "purge"]) => {
            PackageCommand::Clean { manager }
        }
        Manager::Dnf | Manager::Yum if is(&["remove", "erase", "autoremove"]) => {
            PackageCommand::Remove { manager }
        }
        Manager::Dnf | Manager::Yum if is(&["makecache"]) => {
            PackageCommand::Refresh { manager, program }
        }
        Manager::Dnf | Manager::Yum
            if is(&["clean"])
                && rest
                    .iter()
                    .any(|w| matches!(w.as_str(), "all" | "packages" | "metadata")) =>
        {
            PackageCommand::Clean { manager }
        }
        Manager::Zypper if is(&["remove", "rm"]) => PackageCommand::Remove { manager },
        Manager::Zypper if is(&["refresh", "ref"]) => PackageCommand::Refresh { manager, program },
        Manager::Zypper if is(&["clean", "cc"]) => PackageCommand::Clean { manager },
        _ => return None,
    };
    Some(action)
}

/// The package names among install arguments, without version pins (`curl=8.5.0-2`).
fn packages(args: &[String], with_value: &[&str]) -> Vec<String> {
    let mut names = Vec::new();
    let mut skip_next = false;
    for word in args {
        if std::mem::replace(&mut skip_next, with_value.contains(&word.as_str())) {
            continue;
        }
        if word.starts_with('-') {
            continue;
        }
        let name = word.split(['=', '<', '>', '~']).next().unwrap_or(word);
        if !name.is_empty() && !name.contains('$') {
            names.push(name.to_string());
        }
    }
    names
}

pub(super) fn check(dockerfile: &Dockerfile, out: &mut Findings) {
    // Settings written to a config file anywhere in the Dockerfile count for every install.
    let all_text: String = dockerfile
        .instructions()
        .map(|i| i.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let apt_config_off = mentions_false(&all_text, "Install-Recommends");
    let dnf_config_off = mentions_false(&all_text, "install_weak_deps");

    for stage in dockerfile.final_lineage() {
        for instruction in &stage.instructions {
            if instruction.kind != InstructionKind::Run {
                continue;
            }
            let commands = shell::run_commands(instruction);
            let actions: Vec<PackageCommand> =
                commands.iter().filter_map(package_command).collect();
            if actions.is_empty() {
                continue;
            }
            let mut recommends = BTreeSet::new();
            let mut caches = BTreeSet::new();
            for action in &actions {
                match action {
                    PackageCommand::Install {
                        manager,
                        program,
                        args,
                        ..
                    } => {
                        let has = |flag: &str| args.iter().any(|a| a == flag);
                        let pulls_recommends = match manager {
                            Manager::Apt => {
                                !has("--no-install-recommends")
                                    && !apt_config_off
                                    && !mentions_false(&args.join(" "), "Install-Recommends")
                            }
                            Manager::Dnf if *program != "tdnf" => {
                                !dnf_config_off
                                    && !mentions_false(&args.join(" "), "install_weak_deps")
                            }
                            Manager::Zypper => !has("--no-recommends"),
                            _ => false,
                        };
                        if pulls_recommends {
                            recommends.insert((*manager, program.to_string()));
                        }
                        let leaves_cache = match manager {
                            Manager::Apk => !has("--no-cache"),
                            Manager::Dnf | Manager::Yum | Manager::Zypper => true,
                            // apt's lists come from `update`; the official images drop the .debs
                            Manager::Apt => false,
                        };
                        if leaves_cache {
                            caches.insert((
                                *manager,
                                format!("{program} {}", install_word(*manager)),
                            ));
                        }
                    }
                    PackageCommand::Refresh {
                        manager: Manager::Apt,
                        program,
                    } => {
                        caches.insert((Manager::Apt, format!("{program} update")));
                    }
                    _ => {}
                }
            }
            for (manager, program) in recommends {
                let (flag, fix) = match manager {
                    Manager::Apt => (
                        "--no-install-recommends",
                        format!("{program} install -y --no-install-recommends …"),
                    ),
                    Manager::Dnf => (
                        "--setopt=install_weak_deps=False",
                        format!("{program} install -y --setopt=install_weak_deps=False …"),
                    ),
                    _ => (
                        "--no-recommends",
                        format!("{program} install -y --no-recommends …"),
                    ),
                };
                out.add(
                    RECOMMENDED_PACKAGES,
                    instruction.lines,
                    format!(
                        "{program} install without {flag} also installs every recommended package"
                    ),
                    Some(fix),
                );
            }
            for (manager, what) in caches {
                if cleaned(manager, &commands, &actions) || cache_mounted(instruction, manager) {
                    continue;
                }
                let (left, fix) = match manager {
                    Manager::Apt => (
                        "/var/lib/apt/lists",
                        "end the same RUN with `&& rm -rf /var/lib/apt/lists/*`, or mount it: RUN --mount=type=cache,target=/var/lib/apt …",
                    ),
                    Manager::Apk => ("/var/cache/apk", "use `apk add --no-cache …`"),
                    Manager::Dnf | Manager::Yum => (
                        "the package cache",
                        "end the same RUN with `&& dnf clean all` (yum clean all), or mount it: RUN --mount=type=cache,target=/var/cache/dnf …",
                    ),
                    Manager::Zypper => (
                        "/var/cache/zypp",
                        "end the same RUN with `&& zypper clean --all`",
                    ),
                };
                out.add(
                    PACKAGE_CACHE_LEFT,
                    instruction.lines,
                    format!("{what} leaves {left} in this layer"),
                    Some(fix.into()),
                );
            }
        }
    }
}

fn install_word(manager: Manager) -> &'static str {
    match manager {
        Manager::Apk => "add",
        _ => "install",
    }
}

/// Whether the same RUN cleans up after `manager`: its clean command, or `rm` of its cache.
fn cleaned(manager: Manager, commands: &[SimpleCommand], actions: &[PackageCommand]) -> bool {
    let clean_command = manager != Manager::Apt
        && actions
            .iter()
            .any(|a| matches!(a, PackageCommand::Clean { manager: m } if same_family(*m, manager)));
    clean_command
        || commands.iter().any(|c| {
            c.runs(&["rm"]).is_some_and(|args| {
                args.iter()
                    .any(|a| manager.cache_dirs().iter().any(|dir| a.starts_with(dir)))
            })
        })
}

fn same_family(a: Manager, b: Manager) -> bool {
    let family = |m| if m == Manager::Yum { Manager::Dnf } else { m };
    family(a) == family(b)
}

/// A `--mount=type=cache` or `type=tmpfs` over the manager's cache keeps it out of the layer.
fn cache_mounted(instruction: &Instruction, manager: Manager) -> bool {
    instruction.flags_named("mount").any(|mount| {
        let options = mount.options();
        let kind = options.iter().find(|(k, _)| *k == "type").map(|(_, v)| *v);
        let target = options
            .iter()
            .find(|(k, _)| matches!(*k, "target" | "dst" | "destination"))
            .map(|(_, v)| v.trim_end_matches('/'));
        matches!(kind, Some("cache" | "tmpfs"))
            && target.is_some_and(|t| {
                manager
                    .cache_dirs()
                    .iter()
                    .any(|dir| dir.starts_with(t) || t.starts_with(dir))
            })
    })
}

/// Whether `text` sets `setting` to false/0/no (`APT::Install-Recommends "false"`,
/// `--setopt=install_weak_deps=False`).
fn mentions_false(text: &str, setting: &str) -> bool {
    text.match_indices(setting).any(|(at, _)| {
        let after = text[at + setting.len()..]
            .trim_start_matches([' ', '=', '"', '\'', ':'])
            .to_ascii_lowercase();
        after.starts_with("false") || after.starts_with('0') || after.starts_with("no")
    })
}
