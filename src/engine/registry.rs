//! Registries: tag and push, with the user's stored credentials.

use bollard::query_parameters::{PushImageOptions, TagImageOptions};
use futures_util::StreamExt;

use super::credentials::{credentials_for, registry_host};
use super::error::describe;
use super::{Engine, EngineError};
use crate::image::ImageRef;

impl Engine {
    /// Give an image (by ID or reference) another name.
    pub async fn tag(&self, image: &str, target: &ImageRef) -> Result<(), EngineError> {
        let options = TagImageOptions {
            repo: Some(target.name.clone()),
            tag: Some(target.tag_or_latest().to_string()),
        };
        self.docker
            .tag_image(image, Some(options))
            .await
            .map_err(|e| EngineError::api(format!("tagging {image} as {target}"), e))
    }

    /// Push `target` to its registry; returns the manifest digest the registry stored.
    pub async fn push(
        &self,
        target: &ImageRef,
        progress: &dyn super::PullProgress,
    ) -> Result<String, EngineError> {
        let host = registry_host(&target.name);
        let credentials = credentials_for(&host);
        let options = PushImageOptions {
            tag: Some(target.tag_or_latest().to_string()),
            ..Default::default()
        };
        let mut stream = self
            .docker
            .push_image(&target.name, Some(options), credentials);
        let mut digest = None;
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| EngineError::Api {
                action: format!("pushing {target}"),
                message: push_hint(&describe(&e), &host),
            })?;
            if let Some(status) = info.status {
                digest = digest.or_else(|| pushed_digest(&status));
                progress.status(&status);
            }
        }
        digest.ok_or_else(|| EngineError::Api {
            action: format!("pushing {target}"),
            message: "the registry did not report a digest".into(),
        })
    }
}

/// The digest in the engine's final push line: `1: digest: sha256:… size: 943`.
fn pushed_digest(status: &str) -> Option<String> {
    let start = status.find("digest: sha256:")? + "digest: ".len();
    let digest: String = status[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    (digest.len() == "sha256:".len() + 64).then_some(digest)
}

/// Add what to do about the usual push failures.
fn push_hint(message: &str, host: &str) -> String {
    let lower = message.to_lowercase();
    if lower.contains("unauthorized")
        || lower.contains("authentication required")
        || lower.contains("no basic auth")
    {
        format!(
            "{message}\nthe registry refused the credentials for {host}; log in with `docker login {host}` (slim reads the same Docker config)"
        )
    } else {
        message.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_pushed_digest() {
        let d = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(pushed_digest(&format!("1: digest: {d} size: 943")), Some(d));
        assert_eq!(pushed_digest("Pushed"), None);
    }
}
