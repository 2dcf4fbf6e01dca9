//! The one Docker Engine API call a build needs besides BuildKit: pushing a tagged
//! image. dockerd's `moby` exporter only stores images, so with `--push` the image is
//! pushed afterwards with `POST /images/{name}/push`, as buildx's docker driver does.

use base64::prelude::{BASE64_URL_SAFE, Engine as _};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use super::BuildkitError;
use super::address::Endpoint;
use super::connect::{dial, error_chain};
use crate::registry::Credentials;

/// `registry/name:tag` split at the tag; a reference without one is `latest`.
pub fn split_tag(reference: &str) -> (&str, &str) {
    let last_slash = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[last_slash..].rfind(':') {
        Some(colon) => (
            &reference[..last_slash + colon],
            &reference[last_slash + colon + 1..],
        ),
        None => (reference, "latest"),
    }
}

/// The registry host of a reference, as the daemon and config.json name it.
pub fn registry_host(reference: &str) -> &str {
    match reference.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "docker.io",
    }
}

/// Pushes the daemon's image `reference` to its registry with `credentials`.
pub async fn push(
    endpoint: &Endpoint,
    reference: &str,
    credentials: &Credentials,
) -> Result<(), BuildkitError> {
    let failed = |message: String| BuildkitError::Push {
        reference: reference.to_string(),
        message,
    };
    if reference.contains('@') {
        return Err(failed(
            "a digest reference cannot be pushed; name a tag".into(),
        ));
    }
    let (name, tag) = split_tag(reference);
    // Docker Engine's X-Registry-Auth: a user and password, or an identity token.
    let server = registry_host(reference);
    let auth = match credentials {
        Credentials::Anonymous => serde_json::json!({ "serveraddress": server }),
        Credentials::Basic { username, password } => serde_json::json!({
            "username": username,
            "password": password,
            "serveraddress": server,
        }),
        Credentials::IdentityToken(token) => serde_json::json!({
            "identitytoken": token,
            "serveraddress": server,
        }),
    };
    let stream = dial(endpoint)
        .await
        .map_err(|error| failed(error.to_string()))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|error| failed(error_chain(&error)))?;
    tokio::spawn(connection);
    let query_tag: String = tag
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'_' | b'-' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    let request = http::Request::post(format!("/images/{name}/push?tag={query_tag}"))
        .header(http::header::HOST, "docker")
        .header(
            "X-Registry-Auth",
            BASE64_URL_SAFE.encode(auth.to_string().as_bytes()),
        )
        .body(Empty::<Bytes>::new())
        .map_err(|error| failed(error.to_string()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| failed(error_chain(&error)))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|error| failed(error_chain(&error)))?
        .to_bytes();
    let text = String::from_utf8_lossy(&body);
    if !status.is_success() {
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| text.trim().to_string());
        return Err(failed(format!("dockerd answered {status}: {message}")));
    }
    // The push reports progress as JSON lines; a failure is a line with `error`.
    for line in text.lines() {
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(line)
            && let Some(error) = value["error"].as_str()
        {
            return Err(failed(error.to_string()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_references() {
        assert_eq!(
            split_tag("127.0.0.1:5000/app:1"),
            ("127.0.0.1:5000/app", "1")
        );
        assert_eq!(
            split_tag("127.0.0.1:5000/app"),
            ("127.0.0.1:5000/app", "latest")
        );
        assert_eq!(split_tag("app:v2"), ("app", "v2"));
        assert_eq!(registry_host("127.0.0.1:5000/app:1"), "127.0.0.1:5000");
        assert_eq!(registry_host("ghcr.io/o/app"), "ghcr.io");
        assert_eq!(registry_host("library/busybox"), "docker.io");
        assert_eq!(registry_host("busybox"), "docker.io");
    }
}
