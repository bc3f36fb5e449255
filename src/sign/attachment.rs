//! Where cosign keeps signatures: an OCI manifest tagged `sha256-<hex>.sig` in the image's own
//! repository, one layer per signature. A layer's blob is the signed payload; its
//! `dev.cosignproject.cosign/signature` annotation holds the base64 DER signature.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::digest::Digest;

pub const PAYLOAD_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";

/// The tag holding the signatures of the manifest `digest` (`sha256:…`).
pub fn signature_tag(digest: &str) -> Option<String> {
    let digest: Digest = digest.parse().ok()?;
    Some(format!("sha256-{}.sig", digest.hex()))
}

/// One signature as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureLayer {
    /// digest of the payload blob
    pub payload_digest: String,
    pub payload_size: u64,
    /// DER signature, decoded from the annotation
    pub signature: Vec<u8>,
}

/// The signature layers of a signature manifest; layers of other kinds are skipped.
pub fn signature_layers(manifest: &[u8]) -> Result<Vec<SignatureLayer>, String> {
    let manifest: Value =
        serde_json::from_slice(manifest).map_err(|e| format!("not a manifest: {e}"))?;
    let layers = manifest["layers"]
        .as_array()
        .ok_or("the manifest has no layers")?;
    Ok(layers
        .iter()
        .filter(|layer| layer["mediaType"] == PAYLOAD_MEDIA_TYPE)
        .filter_map(|layer| {
            Some(SignatureLayer {
                payload_digest: layer["digest"].as_str()?.to_string(),
                payload_size: layer["size"].as_u64()?,
                signature: BASE64
                    .decode(layer["annotations"][SIGNATURE_ANNOTATION].as_str()?)
                    .ok()?,
            })
        })
        .collect())
}

/// A signature manifest and its config blob.
pub struct SignatureManifest {
    pub manifest: Vec<u8>,
    pub config: Vec<u8>,
    pub config_digest: String,
}

/// The manifest after adding a signature of `payload` to `existing` (the signatures already
/// stored, kept as they are, so signatures by others survive). The same signature twice is
/// stored once.
pub fn with_signature(
    existing: Option<&[u8]>,
    payload: &[u8],
    signature: &[u8],
) -> Result<SignatureManifest, String> {
    let mut layers: Vec<Value> = match existing {
        Some(bytes) => {
            let manifest: Value =
                serde_json::from_slice(bytes).map_err(|e| format!("not a manifest: {e}"))?;
            manifest["layers"].as_array().cloned().unwrap_or_default()
        }
        None => Vec::new(),
    };
    let encoded = BASE64.encode(signature);
    let layer = json!({
        "mediaType": PAYLOAD_MEDIA_TYPE,
        "size": payload.len(),
        "digest": Digest::of_bytes(payload).to_string(),
        "annotations": { SIGNATURE_ANNOTATION: encoded },
    });
    if !layers.contains(&layer) {
        layers.push(layer);
    }
    let diff_ids: Vec<&Value> = layers.iter().map(|l| &l["digest"]).collect();
    let config = serde_json::to_vec(&json!({
        "architecture": "",
        "os": "",
        "config": {},
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
    }))
    .expect("JSON serializes");
    let config_digest = Digest::of_bytes(&config).to_string();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {
            "mediaType": CONFIG_MEDIA_TYPE,
            "size": config.len(),
            "digest": config_digest,
        },
        "layers": layers,
    }))
    .expect("JSON serializes");
    Ok(SignatureManifest {
        manifest,
        config,
        config_digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_is_cosigns() {
        let hex = "0f".repeat(32);
        assert_eq!(
            signature_tag(&format!("sha256:{hex}")),
            Some(format!("sha256-{hex}.sig"))
        );
        assert_eq!(signature_tag("sha256:abc"), None);
        assert_eq!(signature_tag(&format!("sha512:{hex}")), None);
    }

    #[test]
    fn signatures_accumulate_once_each_and_read_back() {
        let first = with_signature(None, b"payload-1", b"sig-1").unwrap();
        let second = with_signature(Some(&first.manifest), b"payload-2", b"sig-2").unwrap();
        let again = with_signature(Some(&second.manifest), b"payload-2", b"sig-2").unwrap();
        assert_eq!(again.manifest, second.manifest);
        let layers = signature_layers(&second.manifest).unwrap();
        assert_eq!(layers.len(), 2);
        assert_eq!(
            layers[0].payload_digest,
            Digest::of_bytes(b"payload-1").to_string()
        );
        assert_eq!(layers[1].signature, b"sig-2");
        assert_eq!(layers[1].payload_size, 9);
        let config: Value = serde_json::from_slice(&second.config).unwrap();
        assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
        let manifest: Value = serde_json::from_slice(&second.manifest).unwrap();
        assert_eq!(manifest["config"]["digest"], second.config_digest);
    }

    #[test]
    fn layers_without_a_signature_are_skipped() {
        let manifest = json!({"layers": [
            {"mediaType": PAYLOAD_MEDIA_TYPE, "digest": "sha256:00", "size": 1},
            {"mediaType": "application/octet-stream", "digest": "sha256:01", "size": 1,
             "annotations": {SIGNATURE_ANNOTATION: "AA=="}},
        ]});
        let bytes = serde_json::to_vec(&manifest).unwrap();
        assert!(signature_layers(&bytes).unwrap().is_empty());
        assert!(signature_layers(b"{}").is_err());
    }
}
