//! The Auth service: registry credentials for the daemon's pulls and pushes, from the
//! user's `~/.docker/config.json` (`$DOCKER_CONFIG/config.json`) — inline `auths`
//! entries, `credHelpers` and `credsStore` (`docker-credential-<name> get`), as the
//! docker CLI and buildx read them. There is no token authority: like buildx without
//! token keys, conveyor answers `Unimplemented` and the daemon fetches tokens itself
//! with the credentials.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::prelude::{BASE64_STANDARD, Engine as _};
use serde::Deserialize;
use tonic::{Request, Response, Status};

use crate::proto::moby::filesync::v1::auth_server::Auth;
use crate::proto::moby::filesync::v1::{
    CredentialsRequest, CredentialsResponse, FetchTokenRequest, FetchTokenResponse,
    GetTokenAuthorityRequest, GetTokenAuthorityResponse, VerifyTokenAuthorityRequest,
    VerifyTokenAuthorityResponse,
};

/// Docker Hub's key in config.json; the daemon asks for `registry-1.docker.io`.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

#[derive(Clone, Debug, Default, Deserialize)]
pub struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default, rename = "identitytoken")]
    identity_token: String,
}

/// A user name and secret (a password, or an identity token with no user name).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub secret: String,
}

impl DockerConfig {
    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`; an absent file is an
    /// empty config (anonymous access), an unreadable one an error naming it.
    pub fn load() -> Result<DockerConfig, String> {
        let dir = match std::env::var_os("DOCKER_CONFIG") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => match std::env::var_os("HOME") {
                Some(home) => PathBuf::from(home).join(".docker"),
                None => return Ok(DockerConfig::default()),
            },
        };
        DockerConfig::read(&dir.join("config.json"))
    }

    pub fn read(path: &Path) -> Result<DockerConfig, String> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|error| format!("{}: {error}", path.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                Ok(DockerConfig::default())
            }
            Err(error) => Err(format!("{}: {error}", path.display())),
        }
    }

    /// The credentials for registry `host` (as the daemon names it); empty for
    /// anonymous access.
    pub fn credentials(&self, host: &str) -> Result<Credentials, String> {
        let key = if host == "registry-1.docker.io" || host == "docker.io" {
            DOCKER_HUB_KEY
        } else {
            host
        };
        if let Some(helper) = self
            .cred_helpers
            .get(key)
            .or(self.creds_store.as_ref())
            .filter(|helper| !helper.is_empty())
        {
            return run_helper(helper, key);
        }
        let entry = self.auths.get(key).or_else(|| {
            // Entries are also written as URLs: `https://host`, `http://host/v1/`.
            self.auths.iter().find_map(|(written, entry)| {
                let bare = written
                    .trim_start_matches("https://")
                    .trim_start_matches("http://");
                let bare = bare.split('/').next().unwrap_or(bare);
                (bare == key).then_some(entry)
            })
        });
        let Some(entry) = entry else {
            return Ok(Credentials::default());
        };
        if !entry.identity_token.is_empty() {
            return Ok(Credentials {
                username: String::new(),
                secret: entry.identity_token.clone(),
            });
        }
        if !entry.auth.is_empty() {
            let decoded = BASE64_STANDARD
                .decode(entry.auth.trim())
                .map_err(|_| format!("the auth of {key} in config.json is not base64"))?;
            let decoded = String::from_utf8_lossy(&decoded);
            let (username, password) = decoded
                .split_once(':')
                .ok_or_else(|| format!("the auth of {key} in config.json is not user:password"))?;
            return Ok(Credentials {
                username: username.to_string(),
                secret: password.to_string(),
            });
        }
        Ok(Credentials {
            username: entry.username.clone(),
            secret: entry.password.clone(),
        })
    }
}

/// `docker-credential-<helper> get` with the server on stdin; JSON
/// `{"Username":…,"Secret":…}` on stdout. A helper that knows no credentials for the
/// host answers with an error: that is anonymous access.
fn run_helper(helper: &str, server: &str) -> Result<Credentials, String> {
    #[derive(Deserialize)]
    struct HelperAnswer {
        #[serde(rename = "Username")]
        username: String,
        #[serde(rename = "Secret")]
        secret: String,
    }
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot run {program}: {error}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(server.as_bytes());
    }
    let output = child
        .wait_with_output()
        .map_err(|error| format!("{program}: {error}"))?;
    if !output.status.success() {
        return Ok(Credentials::default());
    }
    let answer: HelperAnswer = serde_json::from_slice(&output.stdout).map_err(|error| {
        format!("{program} answered with something other than credentials: {error}")
    })?;
    Ok(Credentials {
        username: answer.username,
        secret: answer.secret,
    })
}

pub struct AuthService {
    pub config: DockerConfig,
}

#[tonic::async_trait]
impl Auth for AuthService {
    async fn credentials(
        &self,
        request: Request<CredentialsRequest>,
    ) -> Result<Response<CredentialsResponse>, Status> {
        let host = request.into_inner().host;
        let config = self.config.clone();
        let credentials = tokio::task::spawn_blocking(move || config.credentials(&host))
            .await
            .map_err(|error| Status::internal(error.to_string()))?
            .map_err(Status::internal)?;
        Ok(Response::new(CredentialsResponse {
            username: credentials.username,
            secret: credentials.secret,
        }))
    }

    async fn fetch_token(
        &self,
        _request: Request<FetchTokenRequest>,
    ) -> Result<Response<FetchTokenResponse>, Status> {
        Err(Status::unimplemented("conveyor has no token authority"))
    }

    async fn get_token_authority(
        &self,
        _request: Request<GetTokenAuthorityRequest>,
    ) -> Result<Response<GetTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("conveyor has no token authority"))
    }

    async fn verify_token_authority(
        &self,
        _request: Request<VerifyTokenAuthorityRequest>,
    ) -> Result<Response<VerifyTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("conveyor has no token authority"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> DockerConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn reads_inline_auths_by_host_and_by_url() {
        let config = config(
            r#"{"auths": {
                "127.0.0.1:5001": {"auth": "YWxpY2U6czNjcjN0"},
                "https://index.docker.io/v1/": {"username": "bob", "password": "pw"},
                "https://ghcr.io": {"identitytoken": "tok"}
            }}"#,
        );
        let creds = |host| config.credentials(host).unwrap();
        assert_eq!(
            creds("127.0.0.1:5001"),
            Credentials {
                username: "alice".into(),
                secret: "s3cr3t".into()
            }
        );
        assert_eq!(
            creds("registry-1.docker.io"),
            Credentials {
                username: "bob".into(),
                secret: "pw".into()
            }
        );
        assert_eq!(
            creds("ghcr.io"),
            Credentials {
                username: String::new(),
                secret: "tok".into()
            }
        );
        assert_eq!(creds("quay.io"), Credentials::default());
    }

    #[test]
    fn a_missing_config_is_anonymous_and_a_broken_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        assert!(DockerConfig::read(&path).unwrap().auths.is_empty());
        std::fs::write(&path, "{").unwrap();
        let error = DockerConfig::read(&path).unwrap_err();
        assert!(
            error.starts_with(&format!("{}: ", path.display())),
            "{error}"
        );
    }
}
