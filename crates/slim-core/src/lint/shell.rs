//! Just enough shell to lint RUN: the scripts a RUN executes, split into simple commands
//! (`a && b | c; d` is four), each as words with quotes removed, and the program each runs.

use crate::dockerfile::{CommandForm, Instruction, InstructionKind};

/// Shells whose script we can read (for `RUN ["sh", "-c", "…"]` and `RUN bash <<EOF`).
const SHELLS: [&str; 6] = ["sh", "bash", "ash", "dash", "zsh", "ksh"];

pub(crate) fn is_shell(program: &str) -> bool {
    SHELLS.contains(&program)
}

/// One command of a script: its words, and whether its output is piped into the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SimpleCommand {
    pub words: Vec<String>,
    pub pipes_to_next: bool,
}

impl SimpleCommand {
    /// The program run (its file name, without the directory) and its arguments, past
    /// `VAR=value` prefixes and wrappers that run another program (`sudo`, `env`, `exec`…).
    pub fn program(&self) -> Option<(&str, &[String])> {
        let mut rest: &[String] = &self.words;
        loop {
            let (first, args) = rest.split_first()?;
            if is_assignment(first) {
                rest = args;
                continue;
            }
            let name = basename(first);
            let skip = match name {
                "sudo" => options_end(
                    args,
                    &["-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"],
                ),
                "env" => {
                    let mut at = options_end(args, &["-u", "-C", "-S"]);
                    while args.get(at).is_some_and(|w| is_assignment(w)) {
                        at += 1;
                    }
                    at
                }
                "nice" => options_end(args, &["-n"]),
                "exec" | "command" | "nohup" | "time" => options_end(args, &[]),
                _ => return Some((name, args)),
            };
            rest = &args[skip.min(args.len())..];
        }
    }

    /// The program and its arguments when the program is one of `names`.
    pub fn runs(&self, names: &[&str]) -> Option<&[String]> {
        self.program()
            .filter(|(name, _)| names.contains(name))
            .map(|(_, args)| args)
    }

    /// Whether the words, before the program, include `sudo`.
    pub fn uses_sudo(&self) -> bool {
        let program = self
            .program()
            .map(|(_, args)| self.words.len() - args.len());
        self.words[..program.unwrap_or(self.words.len())]
            .iter()
            .any(|w| basename(w) == "sudo")
    }
}

/// The first word of `args` after options (options in `with_value` take the next word).
fn options_end(args: &[String], with_value: &[&str]) -> usize {
    let mut at = 0;
    while let Some(word) = args.get(at) {
        if word == "--" {
            return at + 1;
        }
        if !word.starts_with('-') || word == "-" {
            break;
        }
        at += if with_value.contains(&word.as_str()) {
            2
        } else {
            1
        };
    }
    at
}

fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

pub(crate) fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// The first argument that is not an option: apt-get's, apk's, dnf's subcommand.
pub(crate) fn subcommand<'a>(args: &'a [String], with_value: &[&str]) -> Option<&'a str> {
    args.get(options_end(args, with_value)).map(String::as_str)
}

/// The shell scripts a RUN executes: its shell-form text, the script of an exec-form shell
/// (`["sh", "-c", "…"]`), and heredoc bodies that a shell reads (`RUN <<EOF`, `RUN bash <<EOF`).
pub(crate) fn run_scripts(instruction: &Instruction) -> Vec<String> {
    if instruction.kind != InstructionKind::Run {
        return Vec::new();
    }
    match instruction.command() {
        Some(CommandForm::Shell(text)) => {
            let mut scripts = vec![text.clone()];
            let first = commands(text).into_iter().next();
            let feeds_shell = first.as_ref().is_some_and(|c| {
                c.words.first().is_some_and(|w| {
                    w.trim_start_matches(|c: char| c.is_ascii_digit())
                        .starts_with("<<")
                }) || c.program().is_some_and(|(name, _)| is_shell(name))
            });
            if feeds_shell {
                scripts.extend(instruction.heredocs.iter().map(|h| h.content.clone()));
            }
            scripts
        }
        Some(CommandForm::Exec(argv)) => match argv.split_first() {
            Some((program, args)) if is_shell(basename(program)) => {
                match args.iter().position(|a| a == "-c") {
                    Some(at) => args.get(at + 1).cloned().into_iter().collect(),
                    None => vec![argv.join(" ")],
                }
            }
            _ => vec![argv.join(" ")],
        },
        None => Vec::new(),
    }
}

/// Every simple command of every script of a RUN.
pub(crate) fn run_commands(instruction: &Instruction) -> Vec<SimpleCommand> {
    run_scripts(instruction)
        .iter()
        .flat_map(|script| commands(script))
        .collect()
}

/// Split a script into simple commands at `;`, `&`, `&&`, `||`, `|`, newlines, parentheses
/// and braces; quotes group words, `#` at a word's start comments out the rest of the line.
/// Command substitutions are read as separate commands.
pub(crate) fn commands(script: &str) -> Vec<SimpleCommand> {
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = script.chars().peekable();

    fn end_word(words: &mut Vec<String>, word: &mut String, in_word: &mut bool) {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    }
    let mut end_command = |words: &mut Vec<String>, pipes_to_next: bool| {
        if !words.is_empty() {
            commands.push(SimpleCommand {
                words: std::mem::take(words),
                pipes_to_next,
            });
        }
    };

    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(next) => {
                    word.push(next);
                    in_word = true;
                }
                None => {}
            },
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(next) = chars.next() {
                                word.push(next);
                            }
                        }
                        c => word.push(c),
                    }
                }
            }
            '#' if !in_word => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                end_command(&mut words, false);
            }
            '|' => {
                end_word(&mut words, &mut word, &mut in_word);
                let pipe = chars.peek() != Some(&'|');
                if !pipe {
                    chars.next();
                }
                end_command(&mut words, pipe);
            }
            '$' if chars.peek() == Some(&'(') => {
                chars.next();
                end_word(&mut words, &mut word, &mut in_word);
                end_command(&mut words, false);
            }
            // `2>&1`, `>&2` and `&>file` are redirections, not `&`
            '&' if word.ends_with(['>', '<']) || chars.peek() == Some(&'>') => {
                word.push(c);
                in_word = true;
            }
            ';' | '&' | '\n' | '(' | ')' | '`' => {
                end_word(&mut words, &mut word, &mut in_word);
                end_command(&mut words, false);
            }
            '{' | '}' if !in_word && chars.peek().is_none_or(|c| c.is_whitespace()) => {
                end_command(&mut words, false);
            }
            c if c.is_whitespace() => end_word(&mut words, &mut word, &mut in_word),
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    end_word(&mut words, &mut word, &mut in_word);
    end_command(&mut words, false);
    commands
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::Dockerfile;

    fn programs(script: &str) -> Vec<(String, Vec<String>, bool)> {
        commands(script)
            .iter()
            .map(|c| {
                let (name, args) = c.program().unwrap_or(("", &[]));
                (name.to_string(), args.to_vec(), c.pipes_to_next)
            })
            .collect()
    }

    #[test]
    fn splits_commands_and_finds_programs() {
        let found = programs(
            "DEBIAN_FRONTEND=noninteractive apt-get install -y 'a b' && sudo -u app /usr/bin/make || echo \"x;y\" ; curl -fsSL https://x | sh # c | bash\nenv A=1 pip install q",
        );
        let names: Vec<&str> = found.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(names, ["apt-get", "make", "echo", "curl", "sh", "pip"]);
        assert_eq!(found[0].1, ["install", "-y", "a b"]);
        assert_eq!(found[2].1, ["x;y"]);
        assert!(found[3].2, "curl pipes into sh");
        assert!(!found[4].2);
    }

    #[test]
    fn sudo_before_the_program() {
        let cmds = commands("sudo apt-get update; apt-get install sudo");
        assert!(cmds[0].uses_sudo());
        assert!(!cmds[1].uses_sudo());
    }

    #[test]
    fn scripts_of_a_run() {
        let file = Dockerfile::parse(concat!(
            "FROM alpine\n",
            "RUN [\"/bin/sh\", \"-c\", \"apk add curl\"]\n",
            "RUN <<EOF\napk add git\nEOF\n",
            "RUN cat <<EOF > /etc/motd\napk add nothing\nEOF\n",
            "RUN [\"apk\", \"add\", \"bash\"]\n",
        ))
        .unwrap();
        let scripts: Vec<Vec<String>> = file
            .final_stage()
            .instructions
            .iter()
            .map(run_scripts)
            .collect();
        assert_eq!(scripts[0], ["apk add curl"]);
        assert_eq!(scripts[1], ["<<EOF", "apk add git\n"]);
        assert_eq!(scripts[2], ["cat <<EOF > /etc/motd"]);
        assert_eq!(scripts[3], ["apk add bash"]);
    }
}
