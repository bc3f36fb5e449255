//! Registry credentials from the user's Docker configuration, as `docker login` stores them:
//! `auths` entries (base64 `user:password`), or a credential helper (`credsStore`,
//! `credHelpers`) asked through its `get` protocol.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use bollard::auth::DockerCredentials;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default)]
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: HashMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// What a credential helper answers on `get`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperAnswer {
    username: String,
    secret: String,
}

/// `$DOCKER_CONFIG`, else `~/.docker`: where the docker CLI keeps its config and contexts.
pub fn docker_config_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker"))
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn docker_config_path() -> Option<PathBuf> {
    docker_config_dir().map(|dir| dir.join("config.json"))
}

/// The registry host of a reference: the first component when it looks like a host
/// (has a dot or a port, or is `localhost`), else Docker Hub.
pub fn registry_host(reference: &str) -> String {
    match reference.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first.to_string(),
        _ => "docker.io".to_string(),
    }
}

/// Credentials for `host` from the Docker configuration, if any are stored.
pub fn credentials_for(host: &str) -> Option<DockerCredentials> {
    let text = std::fs::read_to_string(docker_config_path()?).ok()?;
    let config: DockerConfig = serde_json::from_str(&text).ok()?;
    let keys = candidate_keys(host);
    if let Some(helper) = keys.iter().find_map(|k| config.cred_helpers.get(k)) {
        return ask_helper(helper, host);
    }
    if let Some(credentials) = keys
        .iter()
        .filter_map(|k| config.auths.get(k))
        .find_map(|e| from_entry(e, host))
    {
        return Some(credentials);
    }
    config
        .creds_store
        .as_deref()
        .and_then(|helper| ask_helper(helper, host))
}

/// The spellings `docker login` uses as keys for a registry.
fn candidate_keys(host: &str) -> Vec<String> {
    if host == "docker.io" {
        return vec![
            "https://index.docker.io/v1/".into(),
            "index.docker.io".into(),
            "docker.io".into(),
        ];
    }
    vec![
        host.to_string(),
        format!("https://{host}"),
        format!("http://{host}"),
        format!("https://{host}/v1/"),
    ]
}

fn from_entry(entry: &AuthEntry, host: &str) -> Option<DockerCredentials> {
    let (username, password) = match (&entry.username, &entry.password, &entry.auth) {
        (Some(u), Some(p), _) => (u.clone(), p.clone()),
        (_, _, Some(auth)) => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let (u, p) = text.split_once(':')?;
            (u.to_string(), p.to_string())
        }
        _ if entry.identitytoken.is_some() => (String::new(), String::new()),
        _ => return None,
    };
    Some(DockerCredentials {
        username: Some(username).filter(|u| !u.is_empty()),
        password: Some(password).filter(|p| !p.is_empty()),
        identitytoken: entry.identitytoken.clone(),
        serveraddress: Some(host.to_string()),
        ..Default::default()
    })
}

fn ask_helper(helper: &str, host: &str) -> Option<DockerCredentials> {
    let mut child = Command::new(format!("docker-credential-{helper}"))
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(host.as_bytes()).ok()?;
    let output = child.wait_with_output().ok()?;
    if !output.status.success() {
        return None;
    }
    let answer: HelperAnswer = serde_json::from_slice(&output.stdout).ok()?;
    Some(DockerCredentials {
        username: Some(answer.username),
        password: Some(answer.secret),
        serveraddress: Some(host.to_string()),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_hosts() {
        assert_eq!(registry_host("app:1"), "docker.io");
        assert_eq!(registry_host("team/app:1"), "docker.io");
        assert_eq!(registry_host("127.0.0.1:5000/app:1"), "127.0.0.1:5000");
        assert_eq!(registry_host("ghcr.io/org/app"), "ghcr.io");
        assert_eq!(registry_host("localhost/app"), "localhost");
    }

    #[test]
    fn decodes_auth_entries() {
        let entry = AuthEntry {
            auth: Some("YWxpY2U6czNjcjN0".into()),
            ..Default::default()
        };
        let creds = from_entry(&entry, "127.0.0.1:5000").unwrap();
        assert_eq!(
            (creds.username.as_deref(), creds.password.as_deref()),
            (Some("alice"), Some("s3cr3t"))
        );
        assert!(from_entry(&AuthEntry::default(), "x").is_none());
    }
}
