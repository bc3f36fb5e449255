//! Signatures: `slim verify IMAGE --key PUB`, `slim generate-key-pair`, and reading the
//! `--sign-key` of `slim build` and `slim push` before any work starts.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use slim::sign::{self, PASSWORD_VARIABLE, PrivateKey, PublicKey, Verdict};

use super::{Outcome, UsageError, report_error};
use crate::cli::{GenerateKeyPairArgs, VerifyArgs};
use crate::printer::Printer;

/// Open `--sign-key` now, so a wrong path or password stops slim before the analysis.
pub fn load_sign_key(path: Option<&Path>) -> Result<Option<PrivateKey>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let password = sign::password_from_env();
    let key = PrivateKey::load(path, password.as_deref())
        .map_err(|e| UsageError(format!("--sign-key: {e}")))?;
    Ok(Some(key))
}

pub async fn verify(args: VerifyArgs, printer: &Printer) -> Outcome {
    let key = match PublicKey::load(&args.key) {
        Ok(key) => key,
        Err(e) => return report_error(&UsageError(format!("--key: {e}")).into()),
    };
    let stage = printer.stage("verify signatures");
    let verdict = match sign::verify_image(&key, &args.image).await {
        Ok(verdict) => {
            stage.done(&format!(
                "{} verified, {} refused",
                verdict.verified.len(),
                verdict.refused.len()
            ));
            verdict
        }
        Err(e) => {
            stage.fail();
            let error =
                anyhow::Error::new(e).context(format!("checking the signatures of {}", args.image));
            return report_error(&error);
        }
    };
    if printer.is_json() {
        printer.result(&serde_json::to_string_pretty(&verdict).expect("the verdict serializes"));
    } else {
        printer.result(&describe(&verdict));
    }
    if verdict.passed() {
        Outcome::Success
    } else {
        Outcome::VerifyFailed
    }
}

fn describe(verdict: &Verdict) -> String {
    let mut out = String::new();
    if verdict.passed() {
        out.push_str(&format!(
            "verified: {} is signed by key {}\n",
            verdict.image, verdict.key
        ));
        for identity in &verdict.verified {
            out.push_str(&format!("  signed as {identity}\n"));
        }
    } else if verdict.refused.is_empty() {
        out.push_str(&format!(
            "not verified: {} has no signature (none stored at {})\n",
            verdict.image, verdict.signatures_at
        ));
    } else {
        out.push_str(&format!(
            "not verified: no signature of {} verifies with key {}\n",
            verdict.image, verdict.key
        ));
    }
    for reason in &verdict.refused {
        out.push_str(&format!("  {reason}\n"));
    }
    out
}

pub fn generate_key_pair(args: GenerateKeyPairArgs, printer: &Printer) -> Outcome {
    match write_key_pair(&args.output_key_prefix, printer) {
        Ok((private, public)) => {
            printer.result(&format!(
                "wrote {} (private, sealed with {PASSWORD_VARIABLE}) and {} (public)",
                private.display(),
                public.display()
            ));
            Outcome::Success
        }
        Err(e) => report_error(&e),
    }
}

fn write_key_pair(prefix: &Path, printer: &Printer) -> Result<(PathBuf, PathBuf)> {
    let with_extension = |extension: &str| {
        let mut path = prefix.as_os_str().to_owned();
        path.push(extension);
        PathBuf::from(path)
    };
    let (private_path, public_path) = (with_extension(".key"), with_extension(".pub"));
    for path in [&private_path, &public_path] {
        if path.exists() {
            bail!(UsageError(format!(
                "{} exists; slim does not overwrite keys (move it away or give --output-key-prefix)",
                path.display()
            )));
        }
    }
    let password = match sign::password_from_env() {
        Some(password) => password,
        None => {
            printer.warn(&format!(
                "{PASSWORD_VARIABLE} is not set: the private key is sealed with an empty password"
            ));
            Vec::new()
        }
    };
    let key = PrivateKey::generate();
    // The private key is created 0600 and never exists with wider permissions.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&private_path)
        .with_context(|| format!("creating {}", private_path.display()))?;
    file.write_all(key.to_encrypted_pem(&password).as_bytes())
        .with_context(|| format!("writing {}", private_path.display()))?;
    std::fs::write(&public_path, key.public_key().to_pem())
        .with_context(|| format!("writing {}", public_path.display()))?;
    Ok((private_path, public_path))
}
