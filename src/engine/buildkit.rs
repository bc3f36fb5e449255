//! Builds with the engine's BuildKit. The engine takes the build context from the request
//! body (no client session needed), but answers with progress records that bollard's typed
//! stream cannot decode, so this one request is made directly over the engine's socket.

use std::collections::BTreeMap;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use super::{Engine, EngineError};

impl Engine {
    pub(super) async fn build_with_buildkit(
        &self,
        context_tar: Vec<u8>,
        dockerfile: &str,
        tag: &str,
        build_args: &BTreeMap<String, String>,
    ) -> Result<String, EngineError> {
        let action = || format!("building {tag} with BuildKit");
        let socket = self
            .host
            .strip_prefix("unix://")
            .ok_or_else(|| EngineError::Api {
                action: action(),
                message: format!(
                    "BuildKit builds need the engine on a unix socket; DOCKER_HOST is {}",
                    self.host
                ),
            })?;
        let stream = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(|e| EngineError::io(action(), e))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| EngineError::Api {
                action: action(),
                message: e.to_string(),
            })?;
        tokio::spawn(connection);

        let version = self.docker.client_version();
        let args = serde_json::to_string(build_args).unwrap_or_else(|_| "{}".into());
        let query = [
            ("version", "2"),
            ("t", tag),
            ("dockerfile", dockerfile),
            ("buildargs", args.as_str()),
            ("rm", "1"),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
        let request = hyper::Request::post(format!(
            "/v{}.{}/build?{query}",
            version.major_version, version.minor_version
        ))
        .header("Host", "docker")
        .header("Content-Type", "application/x-tar")
        .body(Full::new(Bytes::from(context_tar)))
        .map_err(|e| EngineError::Api {
            action: action(),
            message: e.to_string(),
        })?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| EngineError::Api {
                action: action(),
                message: e.to_string(),
            })?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| EngineError::Api {
                action: action(),
                message: e.to_string(),
            })?
            .to_bytes();
        let text = String::from_utf8_lossy(&body);
        if !status.is_success() {
            return Err(EngineError::Api {
                action: action(),
                message: format!("{status}: {}", text.trim()),
            });
        }
        let mut output = String::new();
        for record in text
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        {
            if let Some(error) = record
                .get("errorDetail")
                .and_then(|d| d.get("message"))
                .or_else(|| record.get("error"))
            {
                let message = error.as_str().unwrap_or_default();
                return Err(EngineError::Api {
                    action: action(),
                    message: format!("{message}\n{output}"),
                });
            }
            if let Some(line) = record.get("stream").and_then(|s| s.as_str()) {
                output.push_str(line);
            }
        }
        Ok(output)
    }
}

/// Percent-encode a query value (everything but unreserved characters).
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_query_values() {
        assert_eq!(
            super::percent_encode("a:b/c {\"x\"}"),
            "a%3Ab%2Fc%20%7B%22x%22%7D"
        );
    }
}
