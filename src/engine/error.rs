use thiserror::Error;

/// Failures talking to the container engine, phrased for the person running slim.
#[derive(Debug, Error)]
pub enum EngineError {
    #[error("cannot reach the container engine at {host}: {source}\n{hint}")]
    Unreachable {
        host: String,
        /// what to check, for the kind of connection tried
        hint: String,
        #[source]
        source: Box<bollard::errors::Error>,
    },
    #[error(transparent)]
    Endpoint(#[from] super::endpoint::EndpointError),
    #[error("image {reference} is not in the engine and pulling it failed: {message}")]
    PullFailed { reference: String, message: String },
    #[error("{action}: {message}")]
    Api { action: String, message: String },
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
}

impl EngineError {
    pub(crate) fn api(action: impl Into<String>, source: bollard::errors::Error) -> Self {
        EngineError::Api {
            action: action.into(),
            message: describe(&source),
        }
    }

    pub(crate) fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        EngineError::Io {
            action: action.into(),
            source,
        }
    }
}

/// The engine's own message where there is one, without bollard's wrapping.
pub(crate) fn describe(error: &bollard::errors::Error) -> String {
    match error {
        bollard::errors::Error::DockerResponseServerError {
            status_code,
            message,
        } => {
            format!("{} (HTTP {status_code})", message.trim())
        }
        bollard::errors::Error::DockerStreamError { error } => error.trim().to_string(),
        other => other.to_string(),
    }
}

/// True if the engine answered "no such object".
pub(crate) fn is_not_found(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}
