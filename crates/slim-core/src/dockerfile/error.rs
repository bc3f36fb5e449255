//! What can be wrong with a Dockerfile's text, each with the line it was found on.

use thiserror::Error;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("line {line}: the Dockerfile has no FROM instruction")]
    NoStage { line: usize },

    #[error("line {line}: unknown instruction {keyword:?}")]
    UnknownInstruction { line: usize, keyword: String },

    #[error("line {line}: {keyword} comes before the first FROM; only ARG may")]
    BeforeFirstFrom { line: usize, keyword: String },

    #[error("line {line}: {keyword} needs arguments")]
    MissingArguments { line: usize, keyword: String },

    #[error("line {line}: FROM needs an image")]
    MissingImage { line: usize },

    #[error("line {line}: malformed {keyword}: {reason}")]
    Malformed {
        line: usize,
        keyword: String,
        reason: String,
    },

    #[error("line {line}: the heredoc <<{delimiter} is never closed by a line reading {delimiter}")]
    UnterminatedHeredoc { line: usize, delimiter: String },

    #[error("line {line}: the {directive} parser directive is given twice")]
    DuplicateDirective { line: usize, directive: String },

    #[error("line {line}: invalid escape directive {value:?}: it must be \\ or `")]
    InvalidEscape { line: usize, value: String },

    #[error("line {line}: stage name {name:?} is used twice")]
    DuplicateStageName { line: usize, name: String },
}

impl ParseError {
    /// The 1-based line the problem was found on.
    pub fn line(&self) -> usize {
        match self {
            ParseError::NoStage { line }
            | ParseError::UnknownInstruction { line, .. }
            | ParseError::BeforeFirstFrom { line, .. }
            | ParseError::MissingArguments { line, .. }
            | ParseError::MissingImage { line }
            | ParseError::Malformed { line, .. }
            | ParseError::UnterminatedHeredoc { line, .. }
            | ParseError::DuplicateDirective { line, .. }
            | ParseError::InvalidEscape { line, .. }
            | ParseError::DuplicateStageName { line, .. } => *line,
        }
    }
}
