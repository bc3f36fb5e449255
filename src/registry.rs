//! Talking to a registry directly, for what the engine's API cannot do: read and write
//! manifests and blobs by digest (where signatures live). oci-client speaks the distribution
//! protocol and its token dance; this adds Docker's conventions: credentials from the Docker
//! config, and plain HTTP for registries on loopback, which the engine also treats as insecure.

use std::net::IpAddr;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use reqwest::header::HeaderValue;

use crate::engine::credentials::credentials_for;

pub use oci_client::Reference as RegistryReference;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{input:?} is not a registry reference: {reason}")]
    Reference { input: String, reason: String },
    #[error("{action}: {message}")]
    Request { action: String, message: String },
}

/// A client for one registry host, authenticated as the Docker config says.
pub struct Registry {
    client: Client,
    auth: RegistryAuth,
    host: String,
}

/// Parse `NAME[:TAG][@DIGEST]` the way Docker does (`app` is `docker.io/library/app:latest`).
pub fn parse_reference(input: &str) -> Result<Reference, RegistryError> {
    input.parse().map_err(|e| RegistryError::Reference {
        input: input.to_string(),
        reason: format!("{e}"),
    })
}

impl Registry {
    pub fn for_reference(reference: &Reference) -> Self {
        crate::tls::install_crypto_provider();
        let host = reference.resolve_registry().to_string();
        let protocol = if is_loopback(&host) {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        };
        let auth = credentials_for(reference.registry())
            .and_then(|c| Some(RegistryAuth::Basic(c.username?, c.password?)))
            .unwrap_or(RegistryAuth::Anonymous);
        let config = ClientConfig {
            protocol,
            // one PUT per blob: signatures and configs are a few hundred bytes
            use_monolithic_push: true,
            ..Default::default()
        };
        Self {
            client: Client::new(config),
            auth,
            host,
        }
    }

    async fn authenticate(&self) {
        self.client
            .store_auth_if_needed(&self.host, &self.auth)
            .await;
    }

    /// The digest of the manifest `reference` names.
    pub async fn manifest_digest(&self, reference: &Reference) -> Result<String, RegistryError> {
        self.client
            .fetch_manifest_digest(reference, &self.auth)
            .await
            .map_err(|e| self.error(format!("resolving {reference}"), e))
    }

    /// The manifest `reference` names, as stored, in one of the `accepted` media types, or
    /// `None` when the registry has none.
    pub async fn manifest(
        &self,
        reference: &Reference,
        accepted: &[&str],
    ) -> Result<Option<Vec<u8>>, RegistryError> {
        match self
            .client
            .pull_manifest_raw(reference, &self.auth, accepted)
            .await
        {
            Ok((bytes, _)) => Ok(Some(bytes.to_vec())),
            Err(e) if is_unknown(&e) => Ok(None),
            Err(e) => Err(self.error(format!("reading the manifest {reference}"), e)),
        }
    }

    /// A blob of `reference`'s repository; its digest is checked while it is read.
    pub async fn blob(
        &self,
        reference: &Reference,
        digest: &str,
    ) -> Result<Vec<u8>, RegistryError> {
        self.authenticate().await;
        let mut out = Vec::new();
        self.client
            .pull_blob(reference, digest, &mut out)
            .await
            .map_err(|e| self.error(format!("reading the blob {digest} of {reference}"), e))?;
        Ok(out)
    }

    /// Upload a blob unless the repository already has it.
    pub async fn put_blob(
        &self,
        reference: &Reference,
        data: Vec<u8>,
        digest: &str,
    ) -> Result<(), RegistryError> {
        self.authenticate().await;
        let action = || format!("uploading the blob {digest} to {reference}");
        if self
            .client
            .blob_exists(reference, digest)
            .await
            .map_err(|e| self.error(action(), e))?
        {
            return Ok(());
        }
        self.client
            .push_blob(reference, data, digest)
            .await
            .map_err(|e| self.error(action(), e))?;
        Ok(())
    }

    /// Store a manifest under `reference`'s tag.
    pub async fn put_manifest(
        &self,
        reference: &Reference,
        data: Vec<u8>,
        media_type: &'static str,
    ) -> Result<(), RegistryError> {
        self.authenticate().await;
        self.client
            .push_manifest_raw(reference, data, HeaderValue::from_static(media_type))
            .await
            .map_err(|e| self.error(format!("storing the manifest {reference}"), e))?;
        Ok(())
    }

    fn error(&self, action: String, error: OciDistributionError) -> RegistryError {
        let message = match &error {
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => format!(
                "the registry refused access; log in with `docker login {}` (slim reads the same Docker config)",
                self.host
            ),
            OciDistributionError::RequestError(e) => crate::error_chain::one_line(e),
            other => other.to_string(),
        };
        RegistryError::Request { action, message }
    }
}

/// Whether the registry answered "no such manifest".
fn is_unknown(error: &OciDistributionError) -> bool {
    match error {
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(
                e.code,
                OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown
            )
        }),
        OciDistributionError::ServerError { code, .. } => *code == 404,
        _ => false,
    }
}

/// `localhost`, `127.x.x.x` or `::1`, with or without a port.
fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_are_plain_http() {
        for host in [
            "127.0.0.1:5000",
            "localhost",
            "localhost:5000",
            "[::1]:5000",
            "127.3.2.1",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "registry.example.com",
            "10.0.0.1:5000",
            "index.docker.io",
            "localhost.example",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn references_follow_dockers_rules() {
        let r = parse_reference("app").unwrap();
        assert_eq!(r.whole(), "docker.io/library/app:latest");
        let r = parse_reference("127.0.0.1:5000/team/app:1").unwrap();
        assert_eq!(
            (r.registry(), r.repository(), r.tag()),
            ("127.0.0.1:5000", "team/app", Some("1"))
        );
        assert!(parse_reference("app:has space").is_err());
    }
}
