//! Signatures by digest, the way cosign makes them and skopeo, podman and cosign check them:
//! an ECDSA P-256 signature of a small JSON payload naming the manifest digest, stored in the
//! image's own repository under the tag `sha256-<hex>.sig`.

pub mod attachment;
pub mod envelope;
pub mod keys;
pub mod payload;

use serde::{Deserialize, Serialize};

use crate::registry::{Registry, RegistryError, RegistryReference, parse_reference};
pub use keys::{KeyError, PASSWORD_VARIABLE, PrivateKey, PublicKey, password_from_env};

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("{0}")]
    Invalid(String),
}

/// A signature slim stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed {
    /// what was signed: `REPOSITORY@sha256:…`
    pub image: String,
    /// the name the signature vouches for
    pub identity: String,
    /// where the signature is: `REPOSITORY:sha256-<hex>.sig`
    pub stored_at: String,
    /// the public key's fingerprint
    pub key: String,
}

impl Signed {
    /// "REPO:sha256-….sig · key SHA256:…", the line a sign stage ends with.
    pub fn summary(&self) -> String {
        format!("{} · key {}", self.stored_at, self.key)
    }
}

/// What checking an image's signatures found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// `REPOSITORY@sha256:…` that was checked
    pub image: String,
    /// the signature tag looked at
    pub signatures_at: String,
    pub key: String,
    /// identities of the signatures that verify
    pub verified: Vec<String>,
    /// why each other signature was refused
    pub refused: Vec<String>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        !self.verified.is_empty()
    }
}

fn signature_reference(
    image: &RegistryReference,
    digest: &str,
) -> Result<RegistryReference, SignError> {
    let tag = attachment::signature_tag(digest)
        .ok_or_else(|| SignError::Invalid(format!("{digest:?} is not a sha256 manifest digest")))?;
    Ok(RegistryReference::with_tag(
        image.registry().to_string(),
        image.repository().to_string(),
        tag,
    ))
}

fn repository_of(reference: &RegistryReference) -> String {
    format!("{}/{}", reference.registry(), reference.repository())
}

/// Sign the manifest `digest` pushed as `target` (`NAME[:TAG]`) and store the signature next
/// to it, keeping any signatures already there.
pub async fn sign_image(key: &PrivateKey, target: &str, digest: &str) -> Result<Signed, SignError> {
    let target = parse_reference(target)?;
    let registry = Registry::for_reference(&target);
    let identity = target.whole();
    let payload = payload::simple_signing(&identity, digest);
    let signature = key.sign(&payload);
    let at = signature_reference(&target, digest)?;
    let existing = registry
        .manifest(&at, &[attachment::MANIFEST_MEDIA_TYPE])
        .await?;
    let manifest = attachment::with_signature(existing.as_deref(), &payload, &signature)
        .map_err(|reason| SignError::Invalid(format!("the signatures stored at {at}: {reason}")))?;
    let payload_digest = crate::digest::Digest::of_bytes(&payload).to_string();
    registry.put_blob(&at, payload, &payload_digest).await?;
    registry
        .put_blob(&at, manifest.config, &manifest.config_digest)
        .await?;
    registry
        .put_manifest(&at, manifest.manifest, attachment::MANIFEST_MEDIA_TYPE)
        .await?;
    Ok(Signed {
        image: format!("{}@{digest}", repository_of(&target)),
        identity,
        stored_at: at.whole(),
        key: key.public_key().fingerprint(),
    })
}

/// Check the signatures of `image` (`NAME[:TAG]` or `NAME@sha256:…`) against `key`. A signature
/// counts when the key made it, it names this manifest digest, and it was made for this
/// repository (skopeo's `matchRepository`).
pub async fn verify_image(key: &PublicKey, image: &str) -> Result<Verdict, SignError> {
    let reference = parse_reference(image)?;
    let registry = Registry::for_reference(&reference);
    let digest = match reference.digest() {
        Some(digest) => digest.to_string(),
        None => registry.manifest_digest(&reference).await?,
    };
    let at = signature_reference(&reference, &digest)?;
    let mut verdict = Verdict {
        image: format!("{}@{digest}", repository_of(&reference)),
        signatures_at: at.whole(),
        key: key.fingerprint(),
        verified: Vec::new(),
        refused: Vec::new(),
    };
    let Some(manifest) = registry
        .manifest(&at, &[attachment::MANIFEST_MEDIA_TYPE])
        .await?
    else {
        return Ok(verdict);
    };
    let layers = attachment::signature_layers(&manifest)
        .map_err(|reason| SignError::Invalid(format!("the signatures stored at {at}: {reason}")))?;
    for (n, layer) in layers.iter().enumerate() {
        let payload = registry.blob(&at, &layer.payload_digest).await?;
        match judge(key, &reference, &digest, &payload, &layer.signature) {
            Ok(identity) => verdict.verified.push(identity),
            Err(reason) => verdict
                .refused
                .push(format!("signature {}: {reason}", n + 1)),
        }
    }
    Ok(verdict)
}

/// The signature's identity when it holds for this image, else why not.
fn judge(
    key: &PublicKey,
    image: &RegistryReference,
    digest: &str,
    payload: &[u8],
    signature: &[u8],
) -> Result<String, String> {
    if !key.verifies(payload, signature) {
        return Err("not made by this key".into());
    }
    let claims = payload::claims(payload)?;
    if claims.digest != digest {
        return Err(format!("signs {}, not this manifest", claims.digest));
    }
    let signed_for = parse_reference(&claims.identity)
        .map_err(|_| format!("names {:?}, which is not an image name", claims.identity))?;
    if repository_of(&signed_for) != repository_of(image) {
        return Err(format!(
            "was made for {}, not {}",
            repository_of(&signed_for),
            repository_of(image)
        ));
    }
    Ok(claims.identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_holds_only_for_its_key_digest_and_repository() {
        let key = PrivateKey::generate();
        let public = key.public_key();
        let digest = format!("sha256:{}", "1".repeat(64));
        let image = parse_reference("127.0.0.1:5000/app:1").unwrap();
        let payload = payload::simple_signing("127.0.0.1:5000/app:1", &digest);
        let signature = key.sign(&payload);
        assert_eq!(
            judge(&public, &image, &digest, &payload, &signature),
            Ok("127.0.0.1:5000/app:1".into())
        );
        // the same repository under another tag or by digest still matches
        let by_digest = parse_reference(&format!("127.0.0.1:5000/app@{digest}")).unwrap();
        assert!(judge(&public, &by_digest, &digest, &payload, &signature).is_ok());

        let other_key = PrivateKey::generate().public_key();
        assert_eq!(
            judge(&other_key, &image, &digest, &payload, &signature),
            Err("not made by this key".into())
        );
        let moved = format!("sha256:{}", "2".repeat(64));
        assert!(
            judge(&public, &image, &moved, &payload, &signature)
                .unwrap_err()
                .contains("not this manifest")
        );
        let elsewhere = parse_reference("127.0.0.1:5000/other:1").unwrap();
        assert!(
            judge(&public, &elsewhere, &digest, &payload, &signature)
                .unwrap_err()
                .contains("was made for 127.0.0.1:5000/app")
        );
        let mut tampered = payload.clone();
        tampered.push(b' ');
        assert!(judge(&public, &image, &digest, &tampered, &signature).is_err());
    }

    #[test]
    fn docker_hub_names_are_one_repository_however_written() {
        let key = PrivateKey::generate();
        let digest = format!("sha256:{}", "3".repeat(64));
        let payload = payload::simple_signing("docker.io/library/app:1", &digest);
        let signature = key.sign(&payload);
        let short = parse_reference("app:2").unwrap();
        assert!(judge(&key.public_key(), &short, &digest, &payload, &signature).is_ok());
    }
}
