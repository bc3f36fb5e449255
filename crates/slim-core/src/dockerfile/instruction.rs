//! One instruction: its keyword, flags and typed arguments, with the source it came from.

use std::fmt;

use super::LineRange;
use super::error::ParseError;
use super::heredoc::Heredoc;
use super::lines::LogicalLine;
use super::words::{UnclosedQuote, Word, next_word, split_words};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstructionKind {
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    Stopsignal,
    User,
    Volume,
    Workdir,
}

impl InstructionKind {
    const ALL: [InstructionKind; 18] = [
        InstructionKind::Add,
        InstructionKind::Arg,
        InstructionKind::Cmd,
        InstructionKind::Copy,
        InstructionKind::Entrypoint,
        InstructionKind::Env,
        InstructionKind::Expose,
        InstructionKind::From,
        InstructionKind::Healthcheck,
        InstructionKind::Label,
        InstructionKind::Maintainer,
        InstructionKind::Onbuild,
        InstructionKind::Run,
        InstructionKind::Shell,
        InstructionKind::Stopsignal,
        InstructionKind::User,
        InstructionKind::Volume,
        InstructionKind::Workdir,
    ];

    /// The kind for a keyword in any letter case.
    pub fn from_keyword(keyword: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.keyword().eq_ignore_ascii_case(keyword))
    }

    /// The keyword in upper case.
    pub fn keyword(self) -> &'static str {
        match self {
            InstructionKind::Add => "ADD",
            InstructionKind::Arg => "ARG",
            InstructionKind::Cmd => "CMD",
            InstructionKind::Copy => "COPY",
            InstructionKind::Entrypoint => "ENTRYPOINT",
            InstructionKind::Env => "ENV",
            InstructionKind::Expose => "EXPOSE",
            InstructionKind::From => "FROM",
            InstructionKind::Healthcheck => "HEALTHCHECK",
            InstructionKind::Label => "LABEL",
            InstructionKind::Maintainer => "MAINTAINER",
            InstructionKind::Onbuild => "ONBUILD",
            InstructionKind::Run => "RUN",
            InstructionKind::Shell => "SHELL",
            InstructionKind::Stopsignal => "STOPSIGNAL",
            InstructionKind::User => "USER",
            InstructionKind::Volume => "VOLUME",
            InstructionKind::Workdir => "WORKDIR",
        }
    }

    /// Instructions that take `--name[=value]` flags before their arguments.
    fn takes_flags(self) -> bool {
        matches!(
            self,
            InstructionKind::From
                | InstructionKind::Run
                | InstructionKind::Copy
                | InstructionKind::Add
                | InstructionKind::Healthcheck
        )
    }
}

impl fmt::Display for InstructionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// `--name=value` or `--name` before an instruction's arguments, with quotes removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub name: String,
    pub value: Option<String>,
}

impl Flag {
    /// The `key=value` items of a comma-separated value such as `--mount=type=cache,target=/x`;
    /// a bare item (`ro`) has an empty value.
    pub fn options(&self) -> Vec<(&str, &str)> {
        self.value
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter(|item| !item.is_empty())
            .map(|item| item.split_once('=').unwrap_or((item, "")))
            .collect()
    }
}

/// RUN, CMD, ENTRYPOINT, SHELL and HEALTHCHECK CMD take a command in one of two forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandForm {
    /// `["executable", "arg"]`, run without a shell
    Exec(Vec<String>),
    /// anything else, run by the stage's shell
    Shell(String),
}

impl CommandForm {
    /// A JSON array of strings is the exec form; anything else, invalid JSON included, is the
    /// shell form (as in Docker).
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        if text.starts_with('[')
            && let Ok(argv) = serde_json::from_str::<Vec<String>>(text)
        {
            return CommandForm::Exec(argv);
        }
        CommandForm::Shell(text.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// `NAME` or `NAME=default` of an ARG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    pub name: String,
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arguments {
    /// FROM: the image as written (variables unexpanded) and the stage name after AS
    From {
        image: String,
        stage_name: Option<String>,
    },
    /// RUN, CMD, ENTRYPOINT, SHELL (always the exec form)
    Command(CommandForm),
    /// COPY and ADD; a heredoc source appears as `<<NAME`
    Copy {
        sources: Vec<String>,
        destination: String,
    },
    /// ENV and LABEL
    KeyValues(Vec<KeyValue>),
    Arg(Vec<ArgDecl>),
    User {
        user: String,
        group: Option<String>,
    },
    /// EXPOSE and VOLUME
    List(Vec<String>),
    /// WORKDIR, STOPSIGNAL, MAINTAINER
    Text(String),
    /// HEALTHCHECK CMD …, or None for HEALTHCHECK NONE
    Healthcheck(Option<CommandForm>),
    /// ONBUILD and the instruction it defers
    Onbuild(Box<Instruction>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub kind: InstructionKind,
    /// the keyword as written (`run`, `From`)
    pub keyword: String,
    pub flags: Vec<Flag>,
    pub arguments: Arguments,
    /// the arguments after the flags, continuations joined and inner comment lines dropped
    pub args_text: String,
    pub heredocs: Vec<Heredoc>,
    /// first and last source line, heredoc bodies included
    pub lines: LineRange,
    /// the source lines exactly as written, comment lines and heredoc bodies included
    pub text: String,
}

impl Instruction {
    /// The first flag called `name`.
    pub fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().find(|f| f.name == name)
    }

    /// Every flag called `name` (RUN may repeat --mount).
    pub fn flags_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Flag> + 'a {
        self.flags.iter().filter(move |f| f.name == name)
    }

    /// The command of RUN, CMD, ENTRYPOINT and SHELL.
    pub fn command(&self) -> Option<&CommandForm> {
        match &self.arguments {
            Arguments::Command(command) => Some(command),
            _ => None,
        }
    }

    pub fn heredoc(&self, delimiter: &str) -> Option<&Heredoc> {
        self.heredocs.iter().find(|h| h.delimiter == delimiter)
    }
}

/// Interpret one logical line; `source` holds every line of the file.
pub(crate) fn parse(
    logical: LogicalLine,
    source: &[&str],
    escape: char,
) -> Result<Instruction, ParseError> {
    let lines = logical.lines;
    let text = source[lines.start - 1..lines.end].join("\n");
    parse_content(&logical.content, logical.heredocs, lines, text, escape)
}

fn parse_content(
    content: &str,
    heredocs: Vec<Heredoc>,
    lines: LineRange,
    text: String,
    escape: char,
) -> Result<Instruction, ParseError> {
    let line = lines.start;
    let content = content.trim();
    let keyword_end = content.find(char::is_whitespace).unwrap_or(content.len());
    let keyword = &content[..keyword_end];
    let kind =
        InstructionKind::from_keyword(keyword).ok_or_else(|| ParseError::UnknownInstruction {
            line,
            keyword: keyword.to_string(),
        })?;
    let rest = content[keyword_end..].trim_start();
    let malformed = |reason: String| ParseError::Malformed {
        line,
        keyword: kind.keyword().to_string(),
        reason,
    };
    let unclosed = |q: UnclosedQuote| malformed(format!("unclosed {} quote", q.0));

    let (flags, args_text) = if kind.takes_flags() {
        take_flags(rest, escape).map_err(unclosed)?
    } else {
        (Vec::new(), rest)
    };
    if args_text.is_empty() && heredocs.is_empty() {
        return Err(match kind {
            InstructionKind::From => ParseError::MissingImage { line },
            _ => ParseError::MissingArguments {
                line,
                keyword: kind.keyword().to_string(),
            },
        });
    }
    let words = || split_words(args_text, escape).map_err(unclosed);
    let texts = |words: Vec<Word>| -> Vec<String> { words.into_iter().map(|w| w.text).collect() };

    let arguments = match kind {
        InstructionKind::From => {
            let words = texts(words()?);
            match words.as_slice() {
                [image] => Arguments::From {
                    image: image.clone(),
                    stage_name: None,
                },
                [image, as_word, name] if as_word.eq_ignore_ascii_case("as") => Arguments::From {
                    image: image.clone(),
                    stage_name: Some(name.clone()),
                },
                _ => return Err(malformed("expected FROM IMAGE [AS NAME]".into())),
            }
        }
        InstructionKind::Run | InstructionKind::Cmd | InstructionKind::Entrypoint => {
            Arguments::Command(CommandForm::parse(args_text))
        }
        InstructionKind::Shell => match CommandForm::parse(args_text) {
            exec @ CommandForm::Exec(_) => Arguments::Command(exec),
            CommandForm::Shell(_) => {
                return Err(malformed(
                    "SHELL needs the JSON form, such as [\"/bin/sh\", \"-c\"]".into(),
                ));
            }
        },
        InstructionKind::Copy | InstructionKind::Add => {
            let mut paths = match CommandForm::parse(args_text) {
                CommandForm::Exec(paths) => paths,
                CommandForm::Shell(_) => texts(words()?),
            };
            if paths.len() < 2 {
                return Err(malformed(
                    "expected one or more sources and a destination".into(),
                ));
            }
            let destination = paths.pop().unwrap_or_default();
            Arguments::Copy {
                sources: paths,
                destination,
            }
        }
        InstructionKind::Env | InstructionKind::Label => {
            Arguments::KeyValues(key_values(args_text, escape).map_err(malformed)?)
        }
        InstructionKind::Arg => {
            let decls = texts(words()?)
                .into_iter()
                .map(|word| match word.split_once('=') {
                    Some((name, default)) => ArgDecl {
                        name: name.to_string(),
                        default: Some(default.to_string()),
                    },
                    None => ArgDecl {
                        name: word,
                        default: None,
                    },
                })
                .collect::<Vec<_>>();
            if decls.iter().any(|d| d.name.is_empty()) {
                return Err(malformed("an ARG needs a name".into()));
            }
            Arguments::Arg(decls)
        }
        InstructionKind::User => {
            let words = texts(words()?);
            let [spec] = words.as_slice() else {
                return Err(malformed("expected USER NAME[:GROUP] or UID[:GID]".into()));
            };
            match spec.split_once(':') {
                Some((user, group)) => Arguments::User {
                    user: user.to_string(),
                    group: Some(group.to_string()),
                },
                None => Arguments::User {
                    user: spec.clone(),
                    group: None,
                },
            }
        }
        InstructionKind::Expose => Arguments::List(texts(words()?)),
        InstructionKind::Volume => match CommandForm::parse(args_text) {
            CommandForm::Exec(paths) => Arguments::List(paths),
            CommandForm::Shell(_) => Arguments::List(texts(words()?)),
        },
        InstructionKind::Workdir | InstructionKind::Stopsignal | InstructionKind::Maintainer => {
            Arguments::Text(args_text.to_string())
        }
        InstructionKind::Healthcheck => {
            let (first, after) = args_text
                .split_once(char::is_whitespace)
                .unwrap_or((args_text, ""));
            if first.eq_ignore_ascii_case("none") && after.trim().is_empty() {
                Arguments::Healthcheck(None)
            } else if first.eq_ignore_ascii_case("cmd") && !after.trim().is_empty() {
                Arguments::Healthcheck(Some(CommandForm::parse(after)))
            } else {
                return Err(malformed(
                    "expected HEALTHCHECK [OPTIONS] CMD COMMAND, or NONE".into(),
                ));
            }
        }
        InstructionKind::Onbuild => {
            let inner = parse_content(args_text, heredocs.clone(), lines, text.clone(), escape)?;
            if matches!(
                inner.kind,
                InstructionKind::Onbuild | InstructionKind::From | InstructionKind::Maintainer
            ) {
                return Err(malformed(format!("ONBUILD cannot defer {}", inner.kind)));
            }
            Arguments::Onbuild(Box::new(inner))
        }
    };
    Ok(Instruction {
        kind,
        keyword: keyword.to_string(),
        flags,
        arguments,
        args_text: args_text.to_string(),
        heredocs,
        lines,
        text,
    })
}

/// Leading `--name[=value]` words, and the text after them. A lone `--` ends the flags.
fn take_flags(text: &str, escape: char) -> Result<(Vec<Flag>, &str), UnclosedQuote> {
    let mut flags = Vec::new();
    let mut at = 0;
    while let Some(word) = next_word(text, at, escape)? {
        let raw = word.raw(text);
        if !raw.starts_with("--") {
            break;
        }
        at = word.end;
        if raw == "--" {
            break;
        }
        let body = &word.text[2..];
        let (name, value) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (body, None),
        };
        flags.push(Flag {
            name: name.to_string(),
            value,
        });
    }
    Ok((flags, text[at..].trim_start()))
}

/// `KEY=VALUE …`, or the older `KEY VALUE WITH SPACES` (one pair, the value taken as written).
fn key_values(text: &str, escape: char) -> Result<Vec<KeyValue>, String> {
    let words = split_words(text, escape).map_err(|q| format!("unclosed {} quote", q.0))?;
    let Some(first) = words.first() else {
        return Ok(Vec::new());
    };
    if !first.text.contains('=') {
        let value = text[first.end..].trim();
        if value.is_empty() {
            return Err(format!("{} has no value", first.text));
        }
        let value = split_words(value, escape)
            .map(|w| w.into_iter().map(|w| w.text).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|_| value.to_string());
        return Ok(vec![KeyValue {
            key: first.text.clone(),
            value,
        }]);
    }
    words
        .into_iter()
        .map(|word| match word.text.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok(KeyValue {
                key: key.to_string(),
                value: value.to_string(),
            }),
            _ => Err(format!("{:?} is not KEY=VALUE", word.text)),
        })
        .collect()
}
