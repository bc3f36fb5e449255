//! cosign's password-protected key envelope: JSON holding scrypt parameters and salt, a
//! NaCl secretbox nonce, and the sealed PKCS#8 key (all binary fields base64, as Go writes
//! `[]byte`). The same format is read by cosign, skopeo and podman.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Key, Nonce, XSalsa20Poly1305};
use serde::{Deserialize, Serialize};

const KDF_NAME: &str = "scrypt";
const CIPHER_NAME: &str = "nacl/secretbox";
/// cosign's parameters: about 0.1 s of work per attempt.
const LOG_N: u8 = 15;
const R: u32 = 8;
const P: u32 = 1;
/// Refuse absurd work factors from a key file (2^20 is already ~1 GiB of memory).
const MAX_LOG_N: u8 = 20;
const SALT_LEN: usize = 32;
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("not a cosign key envelope: {0}")]
    Malformed(String),
    #[error("the password does not open this key")]
    WrongPassword,
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// Seal `secret` under `password` with fresh random salt and nonce.
pub fn seal(secret: &[u8], password: &[u8]) -> Vec<u8> {
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut salt).expect("the system's random source works");
    getrandom::fill(&mut nonce).expect("the system's random source works");
    let key = derive_key(password, &salt, LOG_N, R, P).expect("cosign's parameters are valid");
    let ciphertext = XSalsa20Poly1305::new(&key)
        .encrypt(Nonce::from_slice(&nonce), secret)
        .expect("secretbox seals any length");
    let envelope = Envelope {
        kdf: Kdf {
            name: KDF_NAME.into(),
            params: ScryptParams {
                n: 1 << LOG_N,
                r: R,
                p: P,
            },
            salt: BASE64.encode(salt),
        },
        cipher: Cipher {
            name: CIPHER_NAME.into(),
            nonce: BASE64.encode(nonce),
        },
        ciphertext: BASE64.encode(ciphertext),
    };
    serde_json::to_vec(&envelope).expect("the envelope serializes")
}

/// Open an envelope with `password`; the plaintext is the secret that was sealed.
pub fn open(json: &[u8], password: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    let malformed = |what: &str| EnvelopeError::Malformed(what.to_string());
    let envelope: Envelope =
        serde_json::from_slice(json).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
    if envelope.kdf.name != KDF_NAME {
        return Err(EnvelopeError::Malformed(format!(
            "key derivation {:?} (only scrypt is known)",
            envelope.kdf.name
        )));
    }
    if envelope.cipher.name != CIPHER_NAME {
        return Err(EnvelopeError::Malformed(format!(
            "cipher {:?} (only nacl/secretbox is known)",
            envelope.cipher.name
        )));
    }
    let params = &envelope.kdf.params;
    if !params.n.is_power_of_two() || params.n < 2 || params.n > 1 << MAX_LOG_N {
        return Err(EnvelopeError::Malformed(format!(
            "scrypt N={} (a power of two up to 2^{MAX_LOG_N})",
            params.n
        )));
    }
    let log_n = params.n.trailing_zeros() as u8;
    let salt = BASE64
        .decode(&envelope.kdf.salt)
        .map_err(|_| malformed("salt is not base64"))?;
    let nonce = BASE64
        .decode(&envelope.cipher.nonce)
        .map_err(|_| malformed("nonce is not base64"))?;
    if nonce.len() != NONCE_LEN {
        return Err(malformed("the nonce is not 24 bytes"));
    }
    let ciphertext = BASE64
        .decode(&envelope.ciphertext)
        .map_err(|_| malformed("ciphertext is not base64"))?;
    let key = derive_key(password, &salt, log_n, params.r, params.p)
        .ok_or_else(|| malformed("invalid scrypt parameters"))?;
    XSalsa20Poly1305::new(&key)
        .decrypt(Nonce::from_slice(&nonce), ciphertext.as_slice())
        .map_err(|_| EnvelopeError::WrongPassword)
}

fn derive_key(password: &[u8], salt: &[u8], log_n: u8, r: u32, p: u32) -> Option<Key> {
    let params = scrypt::Params::new(log_n, r, p).ok()?;
    let mut key = Key::default();
    scrypt::scrypt(password, salt, &params, &mut key).ok()?;
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secret_opens_with_its_password_only() {
        let sealed = seal(b"the key", b"hunter2");
        assert_eq!(open(&sealed, b"hunter2").unwrap(), b"the key");
        assert_eq!(open(&sealed, b"hunter3"), Err(EnvelopeError::WrongPassword));
        let json: serde_json::Value = serde_json::from_slice(&sealed).unwrap();
        assert_eq!(json["kdf"]["params"]["N"], 32768);
        assert_eq!(json["cipher"]["name"], "nacl/secretbox");
    }

    #[test]
    fn secretbox_is_nacl_compatible() {
        // NaCl puts the 16-byte tag before the ciphertext: seal "" gives just the tag.
        let sealed = seal(b"", b"");
        let json: serde_json::Value = serde_json::from_slice(&sealed).unwrap();
        let ciphertext = BASE64.decode(json["ciphertext"].as_str().unwrap()).unwrap();
        assert_eq!(ciphertext.len(), 16);
    }

    #[test]
    fn other_formats_and_hostile_parameters_are_refused() {
        assert!(matches!(open(b"{}", b""), Err(EnvelopeError::Malformed(_))));
        let sealed = String::from_utf8(seal(b"k", b"")).unwrap();
        let huge = sealed.replace("32768", &(1u64 << 30).to_string());
        assert!(matches!(
            open(huge.as_bytes(), b""),
            Err(EnvelopeError::Malformed(m)) if m.contains("scrypt N")
        ));
        let other = sealed.replace("nacl/secretbox", "aes-gcm");
        assert!(matches!(
            open(other.as_bytes(), b""),
            Err(EnvelopeError::Malformed(m)) if m.contains("aes-gcm")
        ));
    }
}
