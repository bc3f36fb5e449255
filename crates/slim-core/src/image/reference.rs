//! Image references as the user types them, checked against the distribution grammar.

use std::fmt;

use oci_spec::distribution::Reference;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid image reference {input:?}: {reason}")]
pub struct ReferenceError {
    pub input: String,
    pub reason: String,
}

/// A reference such as `app:1.2`, `registry:5000/team/app@sha256:…`, or an image ID.
///
/// The name is kept as the user wrote it (not expanded to `docker.io/library/…`), so the
/// engine sees exactly what the user asked for and derived names look familiar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// repository part as typed, without tag or digest (`registry:5000/team/app`)
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
    /// true when the input was an image ID (`sha256:…` or a bare hex ID), not a name
    pub is_id: bool,
}

impl ImageRef {
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let error = |reason: &str| ReferenceError {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(error("it is empty"));
        }
        if trimmed != input {
            return Err(error("it has leading or trailing spaces"));
        }
        if let Some(hex) = input.strip_prefix("sha256:") {
            return if is_hex(hex) && (hex.len() == 64 || hex.len() >= 12) {
                Ok(ImageRef {
                    name: input.to_string(),
                    tag: None,
                    digest: None,
                    is_id: true,
                })
            } else {
                Err(error("an image ID is sha256: followed by hex digits"))
            };
        }
        // A bare 12–64 hex-digit ID; a 64-hex *name* is ambiguous and the engine treats it as an ID too.
        if is_hex(input) && (12..=64).contains(&input.len()) {
            return Ok(ImageRef {
                name: input.to_string(),
                tag: None,
                digest: None,
                is_id: true,
            });
        }
        let parsed = Reference::try_from(input).map_err(|e| error(&e.to_string()))?;
        let digest = parsed.digest().map(str::to_string);
        let (rest, _) = match input.split_once('@') {
            Some((name, d)) => (name, Some(d)),
            None => (input, None),
        };
        // A ':' after the last '/' separates the tag; one before it belongs to a registry port.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (
                &rest[..last_slash + i],
                Some(rest[last_slash + i + 1..].to_string()),
            ),
            None => (rest, None),
        };
        Ok(ImageRef {
            name: name.to_string(),
            tag,
            digest,
            is_id: false,
        })
    }

    /// The tag, or `latest` when the reference names none (and has no digest either).
    pub fn tag_or_latest(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }

    /// The default name of the slim image: `NAME.slim:TAG`.
    pub fn slim_name(&self) -> String {
        if self.is_id {
            let short = self.name.trim_start_matches("sha256:");
            return format!("slim-{}:latest", &short[..short.len().min(12)]);
        }
        format!("{}.slim:{}", self.name, self.tag_or_latest())
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn is_hex(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_name_gets_latest() {
        let r = ImageRef::parse("myapp").unwrap();
        assert_eq!(r.name, "myapp");
        assert_eq!(r.tag, None);
        assert_eq!(r.slim_name(), "myapp.slim:latest");
        assert_eq!(r.to_string(), "myapp");
    }

    #[test]
    fn registry_port_is_not_a_tag() {
        let r = ImageRef::parse("127.0.0.1:5000/team/app").unwrap();
        assert_eq!(r.name, "127.0.0.1:5000/team/app");
        assert_eq!(r.tag, None);
        let r = ImageRef::parse("127.0.0.1:5000/team/app:1.2").unwrap();
        assert_eq!(r.name, "127.0.0.1:5000/team/app");
        assert_eq!(r.tag.as_deref(), Some("1.2"));
        assert_eq!(r.slim_name(), "127.0.0.1:5000/team/app.slim:1.2");
    }

    #[test]
    fn digest_reference() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = ImageRef::parse(&format!("app:1@{d}")).unwrap();
        assert_eq!(r.tag.as_deref(), Some("1"));
        assert_eq!(r.digest.as_deref(), Some(d.as_str()));
        let r = ImageRef::parse(&format!("app@{d}")).unwrap();
        assert_eq!(r.slim_name(), "app.slim:latest");
    }

    #[test]
    fn image_ids() {
        let id = format!("sha256:{}", "0123456789ab".repeat(5) + "cdef");
        let r = ImageRef::parse(&id).unwrap();
        assert!(r.is_id);
        assert_eq!(r.slim_name(), "slim-0123456789ab:latest");
        assert!(ImageRef::parse("0123456789ab").unwrap().is_id);
    }

    #[test]
    fn malformed_references_are_rejected() {
        for bad in [
            "",
            " app",
            "App:1",
            "app:",
            "app::1",
            "a b",
            "app@sha256:zz",
            "-app",
            "sha256:xyz",
        ] {
            let err = ImageRef::parse(bad).unwrap_err();
            assert!(
                err.to_string().contains("invalid image reference"),
                "{bad}: {err}"
            );
        }
    }
}
