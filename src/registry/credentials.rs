//! Registry credentials from the docker CLI's `config.json` (`$DOCKER_CONFIG/config.json`,
//! else `~/.docker/config.json`): `auths` entries (`auth` = base64 `user:password`,
//! `username`/`password`, or an `identitytoken`), and credential helpers (`credHelpers`
//! per registry, `credsStore` for all) run as `docker-credential-<name> get`, as the
//! docker CLI does. One reader for every user of credentials: the registry client, the
//! session's Auth service (the daemon's pulls and pushes) and Docker Engine pushes.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde::Deserialize;

/// What a registry is accessed with.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Anonymous,
    Basic {
        username: String,
        password: String,
    },
    /// An OAuth refresh token (`identitytoken`, or a helper's `<token>` user).
    IdentityToken(String),
}

/// Why the registry client cannot use an identity token: docker trades it at the token
/// endpoint with a POST; oci-client only does the GET handshake with a user and password.
pub const NO_IDENTITY_TOKENS: &str = "holds an identity token (OAuth refresh token), which conveyor cannot use: log in with a username and password";

impl std::fmt::Debug for Credentials {
    /// Never prints a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Credentials::IdentityToken(_) => f.write_str("IdentityToken(***)"),
        }
    }
}

/// A docker CLI config file, read.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    /// The file it was read from, for messages.
    #[serde(skip)]
    path: Option<PathBuf>,
}

#[derive(Clone, Debug, Default, Deserialize)]
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

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

/// The docker CLI's config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json"))
}

/// The keys docker uses for a registry host in `auths`: Docker Hub is
/// `https://index.docker.io/v1/`, others their `host[:port]` (also written as a URL).
fn config_keys(registry: &str) -> Vec<String> {
    if registry == "docker.io"
        || registry == "index.docker.io"
        || registry == "registry-1.docker.io"
    {
        return vec![
            "https://index.docker.io/v1/".into(),
            "index.docker.io".into(),
            "docker.io".into(),
        ];
    }
    vec![
        registry.to_string(),
        format!("https://{registry}"),
        format!("http://{registry}"),
    ]
}

impl DockerConfig {
    /// The user's config (see [`docker_config_path`]); an absent file is an empty
    /// config (anonymous access), an unreadable one an error naming it.
    pub fn load() -> Result<DockerConfig, String> {
        match docker_config_path() {
            Some(path) => DockerConfig::read(&path),
            None => Ok(DockerConfig::default()),
        }
    }

    pub fn read(path: &Path) -> Result<DockerConfig, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(DockerConfig::default());
            }
            Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
        };
        let mut config: DockerConfig = serde_json::from_str(&text)
            .map_err(|error| format!("{}: not a docker config file: {error}", path.display()))?;
        config.path = Some(path.to_path_buf());
        Ok(config)
    }

    /// The credentials for `registry` (`host[:port]`, as references and the daemon name
    /// it); anonymous when the config names nothing for it.
    pub fn credentials(&self, registry: &str) -> Result<Credentials, String> {
        let keys = config_keys(registry);
        let helper = keys
            .iter()
            .find_map(|key| self.cred_helpers.get(key))
            .or(self.creds_store.as_ref())
            .filter(|helper| !helper.is_empty());
        if let Some(helper) = helper {
            return from_helper(helper, &keys[0]);
        }
        let entry = keys.iter().find_map(|key| self.auths.get(key)).or_else(|| {
            // Also written with a path: `https://host/v1/`.
            self.auths.iter().find_map(|(written, entry)| {
                let bare = written
                    .trim_start_matches("https://")
                    .trim_start_matches("http://");
                (bare.split('/').next() == Some(registry)).then_some(entry)
            })
        });
        let Some(entry) = entry else {
            return Ok(Credentials::Anonymous);
        };
        let file = self
            .path
            .as_ref()
            .map_or("config.json".to_string(), |p| p.display().to_string());
        from_entry(entry).map_err(|reason| format!("{file}: auths.{}: {reason}", keys[0]))
    }
}

/// The credentials the config at `path` holds for `registry`, for the registry client:
/// anonymous without a file; an identity token is refused with a clear reason.
pub fn for_registry(path: Option<&Path>, registry: &str) -> Result<Credentials, String> {
    let Some(path) = path else {
        return Ok(Credentials::Anonymous);
    };
    let config = DockerConfig::read(path)?;
    match config.credentials(registry)? {
        Credentials::IdentityToken(_) => Err(format!(
            "{}: auths.{}: {NO_IDENTITY_TOKENS}",
            path.display(),
            config_keys(registry)[0]
        )),
        credentials => Ok(credentials),
    }
}

fn from_entry(entry: &AuthEntry) -> Result<Credentials, String> {
    if let Some(token) = entry.identitytoken.as_ref().filter(|t| !t.is_empty()) {
        return Ok(Credentials::IdentityToken(token.clone()));
    }
    if let Some(auth) = entry.auth.as_ref().filter(|a| !a.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| "`auth` is not base64".to_string())?;
        let decoded = String::from_utf8(decoded).map_err(|_| "`auth` is not UTF-8".to_string())?;
        let (username, password) = decoded
            .split_once(':')
            .ok_or_else(|| "`auth` is not base64 of user:password".to_string())?;
        return Ok(Credentials::Basic {
            username: username.into(),
            password: password.into(),
        });
    }
    match (&entry.username, &entry.password) {
        (Some(username), Some(password)) => Ok(Credentials::Basic {
            username: username.clone(),
            password: password.clone(),
        }),
        _ => Ok(Credentials::Anonymous),
    }
}

/// `docker-credential-<helper> get` with the registry on stdin, as the docker CLI runs it.
fn from_helper(helper: &str, server: &str) -> Result<Credentials, String> {
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot run {program}: {error}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server.as_bytes())
            .map_err(|error| format!("{program}: {error}"))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|error| format!("{program}: {error}"))?;
    if !output.status.success() {
        // The helpers' way of saying "nothing stored for this server".
        if String::from_utf8_lossy(&output.stdout).contains("credentials not found") {
            return Ok(Credentials::Anonymous);
        }
        return Err(format!(
            "{program} get failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let answer: HelperAnswer = serde_json::from_slice(&output.stdout)
        .map_err(|error| format!("{program} answered no credentials: {error}"))?;
    if answer.username == "<token>" {
        return Ok(Credentials::IdentityToken(answer.secret));
    }
    Ok(Credentials::Basic {
        username: answer.username,
        password: answer.secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_config(text: &str, registry: &str) -> Result<Credentials, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, text).unwrap();
        for_registry(Some(&path), registry)
    }

    #[test]
    fn auth_field_is_base64_user_password() {
        let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3:cret");
        let text = format!(r#"{{"auths": {{"127.0.0.1:5000": {{"auth": "{auth}"}}}}}}"#);
        assert_eq!(
            with_config(&text, "127.0.0.1:5000").unwrap(),
            Credentials::Basic {
                username: "alice".into(),
                password: "s3:cret".into()
            }
        );
        assert_eq!(
            with_config(&text, "127.0.0.1:5001").unwrap(),
            Credentials::Anonymous
        );
    }

    #[test]
    fn docker_hub_uses_the_index_key() {
        let text =
            r#"{"auths": {"https://index.docker.io/v1/": {"username": "bob", "password": "pw"}}}"#;
        assert_eq!(
            with_config(text, "docker.io").unwrap(),
            Credentials::Basic {
                username: "bob".into(),
                password: "pw".into()
            }
        );
    }

    #[test]
    fn identity_tokens_are_refused_clearly() {
        let text = r#"{"auths": {"r.example": {"auth": "eDp5", "identitytoken": "tok"}}}"#;
        let error = with_config(text, "r.example").unwrap_err();
        assert!(
            error.contains("auths.r.example: holds an identity token"),
            "{error}"
        );
        assert!(!error.contains("tok\""), "{error}");
    }

    #[test]
    fn bad_auth_names_the_file_and_entry_and_hides_the_secret() {
        let error =
            with_config(r#"{"auths": {"r.example": {"auth": "!!"}}}"#, "r.example").unwrap_err();
        assert!(
            error.ends_with("config.json: auths.r.example: `auth` is not base64"),
            "{error}"
        );
        let debug = format!(
            "{:?}",
            Credentials::Basic {
                username: "u".into(),
                password: "hunter2".into()
            }
        );
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn entries_written_as_urls_and_identity_tokens_for_the_daemon() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"auths": {"https://r.example/v1/": {"username": "u", "password": "p"},
                          "ghcr.io": {"identitytoken": "tok"}}}"#,
        )
        .unwrap();
        let config = DockerConfig::read(&path).unwrap();
        assert_eq!(
            config.credentials("r.example").unwrap(),
            Credentials::Basic {
                username: "u".into(),
                password: "p".into()
            }
        );
        // The daemon can use a refresh token; the registry client cannot.
        assert_eq!(
            config.credentials("ghcr.io").unwrap(),
            Credentials::IdentityToken("tok".into())
        );
        assert!(for_registry(Some(&path), "ghcr.io").is_err());
    }

    #[test]
    fn missing_file_is_anonymous_and_broken_file_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            for_registry(Some(&dir.path().join("none.json")), "r").unwrap(),
            Credentials::Anonymous
        );
        let error = with_config("{", "r").unwrap_err();
        assert!(error.contains("not a docker config file"), "{error}");
    }

    #[test]
    fn a_missing_helper_is_reported() {
        let text = r#"{"credHelpers": {"r.example": "conveyor-test-no-such-helper"}}"#;
        let error = with_config(text, "r.example").unwrap_err();
        assert!(
            error.starts_with("cannot run docker-credential-conveyor-test-no-such-helper"),
            "{error}"
        );
    }
}
