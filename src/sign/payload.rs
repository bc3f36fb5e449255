//! The "simple signing" payload that a cosign signature signs: which manifest digest, under
//! which image name. Its bytes are stored as the signature layer, so what is signed is exactly
//! what a verifier reads back.

use serde::{Deserialize, Serialize};

/// `critical.type`, required by cosign and containers/image.
pub const SIGNATURE_TYPE: &str = "cosign container image signature";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Payload {
    critical: Critical,
    optional: Option<Optional>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Critical {
    identity: Identity,
    image: Image,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Optional {
    #[serde(skip_serializing_if = "Option::is_none")]
    creator: Option<String>,
}

/// What a payload claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// the image name it was signed under (`registry/repo:tag` or `registry/repo`)
    pub identity: String,
    /// the manifest digest it signs (`sha256:…`)
    pub digest: String,
}

/// The payload bytes for `identity` at `digest`, naming slim as the creator.
pub fn simple_signing(identity: &str, digest: &str) -> Vec<u8> {
    let payload = Payload {
        critical: Critical {
            identity: Identity {
                docker_reference: identity.to_string(),
            },
            image: Image {
                docker_manifest_digest: digest.to_string(),
            },
            kind: SIGNATURE_TYPE.to_string(),
        },
        optional: Some(Optional {
            creator: Some(format!("slim {}", env!("CARGO_PKG_VERSION"))),
        }),
    };
    serde_json::to_vec(&payload).expect("the payload serializes")
}

/// Read what a (verified) payload claims.
pub fn claims(bytes: &[u8]) -> Result<Claims, String> {
    let payload: Payload =
        serde_json::from_slice(bytes).map_err(|e| format!("not a simple-signing payload: {e}"))?;
    if payload.critical.kind != SIGNATURE_TYPE {
        return Err(format!(
            "payload type {:?}, not {SIGNATURE_TYPE:?}",
            payload.critical.kind
        ));
    }
    Ok(Claims {
        identity: payload.critical.identity.docker_reference,
        digest: payload.critical.image.docker_manifest_digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_has_cosigns_shape_and_reads_back() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let bytes = simple_signing("127.0.0.1:5000/app:1", &digest);
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["critical"]["type"], SIGNATURE_TYPE);
        assert_eq!(json["critical"]["image"]["docker-manifest-digest"], digest);
        assert_eq!(
            json["critical"]["identity"]["docker-reference"],
            "127.0.0.1:5000/app:1"
        );
        assert_eq!(
            claims(&bytes).unwrap(),
            Claims {
                identity: "127.0.0.1:5000/app:1".into(),
                digest
            }
        );
    }

    #[test]
    fn cosigns_null_optional_is_read_and_other_types_are_not() {
        let cosign = br#"{"critical":{"identity":{"docker-reference":"r/a"},"image":{"docker-manifest-digest":"sha256:00"},"type":"cosign container image signature"},"optional":null}"#;
        assert_eq!(claims(cosign).unwrap().identity, "r/a");
        let other = String::from_utf8(cosign.to_vec()).unwrap().replace(
            "cosign container image signature",
            "atomic container signature",
        );
        assert!(claims(other.as_bytes()).unwrap_err().contains("atomic"));
        assert!(claims(b"[]").is_err());
    }
}
