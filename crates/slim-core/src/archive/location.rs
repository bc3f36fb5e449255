//! Where an image file is: `docker-archive:PATH[:REF]`, `oci:DIR[:REF]`,
//! `oci-archive:PATH[:REF]`, the transport names skopeo and podman use.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use thiserror::Error;

/// An image file or directory, and which image in it (REF) when it holds several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageLocation {
    /// `docker save` output; REF picks one of manifest.json's RepoTags
    DockerArchive {
        path: PathBuf,
        reference: Option<String>,
    },
    /// an OCI image layout directory; REF picks an `org.opencontainers.image.ref.name`
    OciDir {
        path: PathBuf,
        reference: Option<String>,
    },
    /// an OCI image layout in a tar file
    OciArchive {
        path: PathBuf,
        reference: Option<String>,
    },
}

pub const TRANSPORTS: [&str; 3] = ["docker-archive", "oci", "oci-archive"];

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum LocationError {
    #[error(
        "{0:?}: expected TRANSPORT:PATH[:REF] with TRANSPORT one of docker-archive, oci, oci-archive"
    )]
    NoTransport(String),
    #[error("{text:?}: unknown transport {transport:?} (known: docker-archive, oci, oci-archive)")]
    UnknownTransport { text: String, transport: String },
    #[error("{0:?}: the path is empty")]
    EmptyPath(String),
    #[error("{text:?}: reference {reference:?} {reason}")]
    BadReference {
        text: String,
        reference: String,
        reason: &'static str,
    },
}

impl ImageLocation {
    pub fn path(&self) -> &PathBuf {
        match self {
            ImageLocation::DockerArchive { path, .. }
            | ImageLocation::OciDir { path, .. }
            | ImageLocation::OciArchive { path, .. } => path,
        }
    }

    pub fn reference(&self) -> Option<&str> {
        match self {
            ImageLocation::DockerArchive { reference, .. }
            | ImageLocation::OciDir { reference, .. }
            | ImageLocation::OciArchive { reference, .. } => reference.as_deref(),
        }
    }

    pub fn transport(&self) -> &'static str {
        match self {
            ImageLocation::DockerArchive { .. } => "docker-archive",
            ImageLocation::OciDir { .. } => "oci",
            ImageLocation::OciArchive { .. } => "oci-archive",
        }
    }
}

impl FromStr for ImageLocation {
    type Err = LocationError;

    /// The path ends at the first `:` after the transport, as in skopeo: a REF may itself
    /// contain colons (`docker-archive:app.tar:app:1`), a path may not.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let Some((transport, rest)) = text.split_once(':') else {
            return Err(LocationError::NoTransport(text.into()));
        };
        if !TRANSPORTS.contains(&transport) {
            return Err(LocationError::UnknownTransport {
                text: text.into(),
                transport: transport.into(),
            });
        }
        let (path, reference) = match rest.split_once(':') {
            Some((path, reference)) => (path, Some(reference)),
            None => (rest, None),
        };
        if path.is_empty() {
            return Err(LocationError::EmptyPath(text.into()));
        }
        if let Some(reference) = reference {
            let bad = |reason| LocationError::BadReference {
                text: text.into(),
                reference: reference.into(),
                reason,
            };
            if reference.is_empty() {
                return Err(bad("is empty"));
            }
            if reference
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(bad("contains whitespace or control characters"));
            }
        }
        let path = PathBuf::from(path);
        let reference = reference.map(str::to_string);
        Ok(match transport {
            "docker-archive" => ImageLocation::DockerArchive { path, reference },
            "oci" => ImageLocation::OciDir { path, reference },
            _ => ImageLocation::OciArchive { path, reference },
        })
    }
}

impl fmt::Display for ImageLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport(), self.path().display())?;
        if let Some(reference) = self.reference() {
            write!(f, ":{reference}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ImageLocation, LocationError> {
        text.parse()
    }

    #[test]
    fn parses_each_transport() {
        assert_eq!(
            parse("docker-archive:/tmp/app.tar").unwrap(),
            ImageLocation::DockerArchive {
                path: "/tmp/app.tar".into(),
                reference: None
            }
        );
        assert_eq!(
            parse("docker-archive:app.tar:app:1").unwrap(),
            ImageLocation::DockerArchive {
                path: "app.tar".into(),
                reference: Some("app:1".into())
            }
        );
        assert_eq!(
            parse("oci:/srv/layout:latest").unwrap(),
            ImageLocation::OciDir {
                path: "/srv/layout".into(),
                reference: Some("latest".into())
            }
        );
        let archive = parse("oci-archive:out/img.tar").unwrap();
        assert_eq!(archive.transport(), "oci-archive");
        assert_eq!(archive.reference(), None);
        assert_eq!(
            parse("oci:dir:v1").unwrap().to_string(),
            "oci:dir:v1",
            "display round-trips"
        );
    }

    #[test]
    fn clear_errors() {
        assert_eq!(
            parse("/tmp/app.tar"),
            Err(LocationError::NoTransport("/tmp/app.tar".into()))
        );
        let err = parse("docker:app:1").unwrap_err();
        assert!(
            matches!(err, LocationError::UnknownTransport { ref transport, .. } if transport == "docker")
        );
        assert!(err.to_string().contains("docker-archive, oci, oci-archive"));
        assert_eq!(parse("oci:"), Err(LocationError::EmptyPath("oci:".into())));
        assert_eq!(
            parse("oci::ref"),
            Err(LocationError::EmptyPath("oci::ref".into()))
        );
        assert!(matches!(
            parse("oci:dir:"),
            Err(LocationError::BadReference {
                reason: "is empty",
                ..
            })
        ));
        assert!(matches!(
            parse("oci-archive:x.tar:a b"),
            Err(LocationError::BadReference { .. })
        ));
    }
}
