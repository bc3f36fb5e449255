//! Why a build stopped.

use thiserror::Error;

use crate::analyze::AnalyzeError;
use crate::analyze::inject::SensorError;
use crate::archive::ArchiveError;
use crate::collect::CollectError;
use crate::engine::EngineError;
use crate::image::UserError;
use crate::rebuild::RebuildError;
use crate::verify::VerifyError;

#[derive(Debug, Error)]
pub enum PipelineError {
    /// what was asked cannot be done as asked (a name in use, a file that exists): the
    /// command line has to change
    #[error("{0}")]
    Refused(String),
    /// something slim needs is not where it should be
    #[error("{0}")]
    Missing(String),
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    #[error("choosing the user of the slim image: {0}")]
    User(#[from] UserError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Analyze(#[from] AnalyzeError),
    #[error(transparent)]
    Collect(#[from] CollectError),
    #[error(transparent)]
    Rebuild(#[from] RebuildError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Sensor(#[from] SensorError),
    #[error("pushing {target}")]
    Pushing {
        target: String,
        #[source]
        source: EngineError,
    },
    #[error("signing {target} (it is pushed, but unsigned)")]
    Signing {
        target: String,
        #[source]
        source: crate::sign::SignError,
    },
    #[error("{action}: {message}")]
    Other { action: String, message: String },
}

impl PipelineError {
    /// An I/O error with what slim was doing.
    pub fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> PipelineError {
        let action = action.into();
        move |source| PipelineError::Io { action, source }
    }

    /// Whether the command line is at fault (exit code 2) rather than the work.
    pub fn is_refusal(&self) -> bool {
        matches!(self, PipelineError::Refused(_))
    }
}
