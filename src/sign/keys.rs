//! ECDSA P-256 keys as cosign keeps them: a private key in cosign's encrypted envelope
//! (`ENCRYPTED SIGSTORE PRIVATE KEY`, formerly `ENCRYPTED COSIGN PRIVATE KEY`) or in plain
//! PKCS#8 / SEC1 PEM, and a public key in SubjectPublicKeyInfo PEM (`PUBLIC KEY`).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::elliptic_curve::Generate;
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use sha2::{Digest, Sha256};

use super::envelope::{self, EnvelopeError};

/// The password variable cosign and its users already set.
pub const PASSWORD_VARIABLE: &str = "COSIGN_PASSWORD";

const ENCRYPTED_LABELS: [&str; 2] = [
    "ENCRYPTED SIGSTORE PRIVATE KEY",
    "ENCRYPTED COSIGN PRIVATE KEY",
];
const WRITTEN_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the key {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a key slim can use: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error(
        "{path} is encrypted and {} does not open it{}",
        PASSWORD_VARIABLE,
        if *.password_given { "" } else { " (it is not set: set it to the key's password)" }
    )]
    WrongPassword { path: PathBuf, password_given: bool },
}

/// A signing key: ECDSA on P-256 with SHA-256, the only kind cosign's key files hold.
pub struct PrivateKey {
    key: SigningKey,
}

/// A key that checks signatures.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
}

impl PrivateKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self {
            key: SigningKey::generate(),
        }
    }

    /// Read a key file; an encrypted one is opened with `password` (none: try the empty
    /// password, which cosign allows).
    pub fn load(path: &Path, password: Option<&[u8]>) -> Result<Self, KeyError> {
        let text = std::fs::read(path).map_err(|source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let format = |reason: String| KeyError::Format {
            path: path.to_path_buf(),
            reason,
        };
        let (label, body) =
            pem_rfc7468::decode_vec(&text).map_err(|e| format(format!("no PEM block ({e})")))?;
        let der = if ENCRYPTED_LABELS.contains(&label) {
            envelope::open(&body, password.unwrap_or_default()).map_err(|e| match e {
                EnvelopeError::WrongPassword => KeyError::WrongPassword {
                    path: path.to_path_buf(),
                    password_given: password.is_some(),
                },
                EnvelopeError::Malformed(reason) => format(reason),
            })?
        } else {
            body
        };
        let key = match label {
            "EC PRIVATE KEY" => p256::SecretKey::from_sec1_der(&der)
                .map(SigningKey::from)
                .map_err(|e| format(format!("not a P-256 SEC1 key ({e})")))?,
            "PRIVATE KEY" => SigningKey::from_pkcs8_der(&der)
                .map_err(|e| format(format!("not a PKCS#8 ECDSA P-256 key ({e})")))?,
            label if ENCRYPTED_LABELS.contains(&label) => SigningKey::from_pkcs8_der(&der)
                .map_err(|e| format(format!("the sealed key is not ECDSA P-256 ({e})")))?,
            "ENCRYPTED PRIVATE KEY" => {
                return Err(format(
                    "a PKCS#8 key encrypted by openssl; decrypt it (`openssl pkcs8 -in KEY`) or use a cosign key"
                        .into(),
                ));
            }
            other => return Err(format(format!("a PEM block labelled {other:?}"))),
        };
        Ok(Self { key })
    }

    /// cosign's key file: the PKCS#8 key sealed under `password`.
    pub fn to_encrypted_pem(&self, password: &[u8]) -> String {
        let der = self
            .key
            .to_pkcs8_der()
            .expect("a P-256 key encodes as PKCS#8");
        let sealed = envelope::seal(der.as_bytes(), password);
        pem_rfc7468::encode_string(WRITTEN_LABEL, LineEnding::LF, &sealed)
            .expect("PEM encoding of bytes does not fail")
    }

    /// An ASN.1 DER ECDSA signature of SHA-256(`message`), as cosign stores it.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: Signature = self.key.sign(message);
        signature.to_der().as_bytes().to_vec()
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            key: *self.key.verifying_key(),
        }
    }
}

impl PublicKey {
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_pem(&text).map_err(|reason| KeyError::Format {
            path: path.to_path_buf(),
            reason,
        })
    }

    pub fn from_pem(text: &str) -> Result<Self, String> {
        let label = pem_rfc7468::decode_label(text.trim_start().as_bytes())
            .map_err(|e| format!("no PEM block ({e})"))?;
        if label != "PUBLIC KEY" {
            return Err(format!(
                "a PEM block labelled {label:?}; give the public key (`PUBLIC KEY`)"
            ));
        }
        VerifyingKey::from_public_key_pem(text.trim_start())
            .map(|key| Self { key })
            .map_err(|e| format!("not an ECDSA P-256 public key ({e})"))
    }

    pub fn to_pem(&self) -> String {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .expect("a P-256 public key encodes")
    }

    /// Whether `signature` (ASN.1 DER) signs `message` with this key.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        Signature::from_der(signature)
            .is_ok_and(|signature| self.key.verify(message, &signature).is_ok())
    }

    /// `SHA256:` and the base64 of the SHA-256 of the key's DER, as ssh prints fingerprints.
    pub fn fingerprint(&self) -> String {
        let der = self
            .key
            .to_public_key_der()
            .expect("a P-256 public key encodes");
        let hash = Sha256::digest(der.as_bytes());
        format!(
            "SHA256:{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(hash)
        )
    }
}

/// The password from `COSIGN_PASSWORD`, if set (an empty value is an empty password).
pub fn password_from_env() -> Option<Vec<u8>> {
    std::env::var_os(PASSWORD_VARIABLE).map(|value| value.into_encoded_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn encrypted_key_round_trip_signs_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let key = PrivateKey::generate();
        let pem = key.to_encrypted_pem(b"pw");
        assert!(pem.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        let path = write(dir.path(), "cosign.key", &pem);
        let loaded = PrivateKey::load(&path, Some(b"pw")).unwrap();
        let public = PublicKey::from_pem(&key.public_key().to_pem()).unwrap();
        assert!(public == loaded.public_key());
        let signature = loaded.sign(b"payload");
        assert!(public.verifies(b"payload", &signature));
        assert!(!public.verifies(b"payload!", &signature));
        assert!(!public.verifies(b"payload", b"not DER"));
        let other = PrivateKey::generate().public_key();
        assert!(!other.verifies(b"payload", &signature));
        assert!(public.fingerprint().starts_with("SHA256:"));
        assert_ne!(public.fingerprint(), other.fingerprint());
    }

    #[test]
    fn wrong_or_missing_password_says_which_variable() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "k",
            &PrivateKey::generate().to_encrypted_pem(b"pw"),
        );
        let wrong = PrivateKey::load(&path, Some(b"nope")).err().unwrap();
        assert!(matches!(
            wrong,
            KeyError::WrongPassword {
                password_given: true,
                ..
            }
        ));
        let missing = PrivateKey::load(&path, None).err().unwrap().to_string();
        assert!(
            missing.contains("COSIGN_PASSWORD") && missing.contains("not set"),
            "{missing}"
        );
        // cosign allows an empty password; no variable then works
        let empty = write(
            dir.path(),
            "e",
            &PrivateKey::generate().to_encrypted_pem(b""),
        );
        assert!(PrivateKey::load(&empty, None).is_ok());
    }

    #[test]
    fn the_old_cosign_label_and_plain_pkcs8_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let key = PrivateKey::generate();
        let old = key.to_encrypted_pem(b"").replace("SIGSTORE", "COSIGN");
        let path = write(dir.path(), "old", &old);
        assert!(PrivateKey::load(&path, None).unwrap().public_key() == key.public_key());
        let plain = key.key.to_pkcs8_pem(LineEnding::LF).unwrap();
        let path = write(dir.path(), "plain", &plain);
        assert!(PrivateKey::load(&path, None).unwrap().public_key() == key.public_key());
    }

    #[test]
    fn other_files_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let public = PrivateKey::generate().public_key().to_pem();
        let path = write(dir.path(), "pub", &public);
        let error = PrivateKey::load(&path, None).err().unwrap().to_string();
        assert!(error.contains("\"PUBLIC KEY\""), "{error}");
        let path = write(dir.path(), "junk", "hello");
        let error = PrivateKey::load(&path, None).err().unwrap().to_string();
        assert!(error.contains("no PEM block"), "{error}");
        let missing = PrivateKey::load(&dir.path().join("absent"), None);
        assert!(matches!(missing, Err(KeyError::Read { .. })));
        assert!(
            PublicKey::from_pem("-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n")
                .is_err()
        );
    }
}
