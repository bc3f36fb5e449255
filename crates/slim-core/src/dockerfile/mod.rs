//! A Dockerfile parser that keeps what it needs to reproduce the file: every instruction's
//! original text and line range next to its interpreted keyword, flags and arguments.
//!
//! It follows BuildKit's reading of the format: parser directives at the very top, comments,
//! line continuations with the escape character, heredocs on RUN/COPY/ADD, global ARGs before
//! the first FROM (substituted into FROM), the exec (JSON) and shell forms, and stages.

pub mod context;
mod directives;
mod error;
mod expand;
mod heredoc;
mod instruction;
mod lines;
pub mod prelude;
mod words;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use directives::{Directive, Directives};
pub use error::ParseError;
pub use expand::Expansion;
pub use heredoc::Heredoc;
pub use instruction::{
    ArgDecl, Arguments, CommandForm, Flag, Instruction, InstructionKind, KeyValue,
};

/// First and last line (1-based, inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineRange {
    pub start: usize,
    pub end: usize,
}

/// A comment line outside any instruction, with the `#` and surrounding spaces removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub line: usize,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    pub directives: Directives,
    /// ARG instructions before the first FROM; only FROM lines see them
    pub global_args: Vec<Instruction>,
    pub stages: Vec<Stage>,
    pub comments: Vec<Comment>,
}

/// One `FROM` and the instructions up to the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// position among the stages, from 0 (what `COPY --from=0` names)
    pub index: usize,
    /// the name after AS, as written
    pub name: Option<String>,
    pub base: BaseImage,
    pub from: Instruction,
    /// the instructions after FROM
    pub instructions: Vec<Instruction>,
}

/// What a stage starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImage {
    /// as written after FROM (`python:${VERSION}-slim`)
    pub raw: String,
    /// with the global ARGs' defaults substituted (`python:3.12-slim`)
    pub expanded: String,
    /// variables in `raw` that had no value, so `expanded` is incomplete
    pub unset: Vec<String>,
    /// the `--platform` flag, as written
    pub platform: Option<String>,
    pub source: BaseSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseSource {
    /// `FROM scratch`: an empty file system
    Scratch,
    /// an earlier stage of this Dockerfile, by index
    Stage(usize),
    /// an image from a registry or the engine's store
    Image,
}

impl Dockerfile {
    pub fn parse(text: &str) -> Result<Dockerfile, ParseError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let source: Vec<&str> = text
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line))
            .collect();
        let directives = directives::read(&source)?;
        let escape = directives.escape;
        let scanned = lines::scan(&source, directives.line_count(), escape)?;

        let mut global_args = Vec::new();
        let mut stages: Vec<Stage> = Vec::new();
        // Global ARG values as declared so far; None for an ARG without a default.
        let mut global_values: BTreeMap<String, Option<String>> = BTreeMap::new();
        for logical in scanned.instructions {
            let instruction = instruction::parse(logical, &source, escape)?;
            let line = instruction.lines.start;
            if instruction.kind == InstructionKind::From {
                let stage = new_stage(instruction, &stages, &global_values, escape)?;
                stages.push(stage);
            } else if let Some(stage) = stages.last_mut() {
                stage.instructions.push(instruction);
            } else if let Arguments::Arg(decls) = &instruction.arguments {
                for decl in decls {
                    let value = decl.default.as_ref().map(|default| {
                        expand::expand(default, escape, &|name| {
                            global_values.get(name).cloned().flatten()
                        })
                        .map(|e| e.text)
                        .unwrap_or_else(|_| default.clone())
                    });
                    global_values.insert(decl.name.clone(), value);
                }
                global_args.push(instruction);
            } else {
                return Err(ParseError::BeforeFirstFrom {
                    line,
                    keyword: instruction.keyword,
                });
            }
        }
        if stages.is_empty() {
            return Err(ParseError::NoStage { line: 1 });
        }
        Ok(Dockerfile {
            directives,
            global_args,
            stages,
            comments: scanned.comments,
        })
    }

    /// The stage the build produces by default: the last one.
    pub fn final_stage(&self) -> &Stage {
        // `parse` never returns a Dockerfile without stages.
        &self.stages[self.stages.len() - 1]
    }

    /// A stage by name (any letter case) or index, as `COPY --from=` and `FROM` name them.
    pub fn stage(&self, reference: &str) -> Option<&Stage> {
        match reference.parse::<usize>() {
            Ok(index) => self.stages.get(index),
            Err(_) => self.stages.iter().find(|s| {
                s.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(reference))
            }),
        }
    }

    /// Every instruction in source order (the ONBUILD's deferred one is inside it).
    pub fn instructions(&self) -> impl Iterator<Item = &Instruction> {
        self.global_args
            .iter()
            .chain(self.stages.iter().flat_map(Stage::all_instructions))
    }

    /// The stages the final image is made of, oldest first: the final stage, the stage it
    /// is built FROM, and so on back to a stage that starts from an image or scratch.
    pub fn final_lineage(&self) -> Vec<&Stage> {
        let mut chain = vec![self.final_stage()];
        while let Some(BaseSource::Stage(parent)) = chain.last().map(|s| s.base.source) {
            match self.stages.get(parent) {
                // A stage can only name earlier ones, so this ends.
                Some(stage) if stage.index < chain[chain.len() - 1].index => chain.push(stage),
                _ => break,
            }
        }
        chain.reverse();
        chain
    }
}

impl Stage {
    /// FROM and the instructions after it.
    pub fn all_instructions(&self) -> impl Iterator<Item = &Instruction> {
        std::iter::once(&self.from).chain(self.instructions.iter())
    }

    /// From the FROM line to the last line of the stage's last instruction.
    pub fn lines(&self) -> LineRange {
        LineRange {
            start: self.from.lines.start,
            end: self
                .instructions
                .last()
                .map_or(self.from.lines.end, |i| i.lines.end),
        }
    }
}

fn new_stage(
    from: Instruction,
    earlier: &[Stage],
    global_values: &BTreeMap<String, Option<String>>,
    escape: char,
) -> Result<Stage, ParseError> {
    let line = from.lines.start;
    let Arguments::From { image, stage_name } = &from.arguments else {
        return Err(ParseError::MissingImage { line });
    };
    let expansion = expand::expand(image, escape, &|name| {
        global_values.get(name).cloned().flatten()
    })
    .map_err(|reason| ParseError::Malformed {
        line,
        keyword: "FROM".into(),
        reason,
    })?;
    if expansion.text.is_empty() && expansion.unset.is_empty() {
        return Err(ParseError::MissingImage { line });
    }
    let source = if expansion.text.eq_ignore_ascii_case("scratch") {
        BaseSource::Scratch
    } else {
        earlier
            .iter()
            .find(|s| {
                s.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&expansion.text))
            })
            .map_or(BaseSource::Image, |s| BaseSource::Stage(s.index))
    };
    if let Some(name) = stage_name
        && earlier.iter().any(|s| {
            s.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
    {
        return Err(ParseError::DuplicateStageName {
            line,
            name: name.clone(),
        });
    }
    Ok(Stage {
        index: earlier.len(),
        name: stage_name.clone(),
        base: BaseImage {
            raw: image.clone(),
            expanded: expansion.text,
            unset: expansion.unset,
            platform: from.flag("platform").and_then(|f| f.value.clone()),
            source,
        },
        from,
        instructions: Vec::new(),
    })
}
