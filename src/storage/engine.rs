//! The two Docker Engine API calls the local stages storage needs, over `DOCKER_HOST`:
//! inspect an image (`GET /images/{name}/json`) and list images by reference
//! (`GET /images/json`). dockerd's image store is not a registry, so the registry
//! client cannot read it; a whole Engine API crate (bollard) is too much for two GETs.

use std::collections::BTreeMap;

use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::{TcpStream, UnixStream};

use crate::buildkit::Endpoint;

pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

pub struct DockerEngine {
    endpoint: Endpoint,
}

/// `GET /images/{name}/json`, the parts we read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    pub id: String,
    #[serde(default)]
    pub created: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub variant: String,
    #[serde(default)]
    pub config: Option<serde_json::Value>,
    #[serde(default, rename = "RootFS")]
    pub root_fs: Option<RootFs>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootFs {
    #[serde(default)]
    pub layers: Vec<String>,
}

/// `GET /images/json`, one image.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageSummary {
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
}

impl ImageInspect {
    /// The image config as an image's config blob has it (the Engine API returns the
    /// same fields under other names; history is not in the inspect answer).
    pub fn config_json(&self) -> Vec<u8> {
        let value = serde_json::json!({
            "architecture": self.architecture,
            "os": self.os,
            "variant": self.variant,
            "created": self.created,
            "config": self.config.clone().unwrap_or_else(|| serde_json::json!({})),
            "rootfs": {
                "type": "layers",
                "diff_ids": self.root_fs.as_ref().map(|r| r.layers.clone()).unwrap_or_default(),
            },
        });
        serde_json::to_vec(&value).expect("a JSON value serializes")
    }
}

impl DockerEngine {
    /// The daemon at `docker_host` (`unix:///path` or `tcp://host:port`).
    pub fn new(docker_host: &str) -> Result<DockerEngine, String> {
        let endpoint = Endpoint::parse(docker_host)
            .map_err(|reason| format!("invalid DOCKER_HOST {docker_host:?}: {reason}"))?;
        Ok(DockerEngine { endpoint })
    }

    async fn get(&self, path_and_query: &str) -> Result<(u16, Vec<u8>), String> {
        let failed = |error: &dyn std::fmt::Display| {
            format!(
                "Docker Engine at {}: GET {path_and_query}: {error}",
                self.endpoint
            )
        };
        let request = http::Request::get(path_and_query)
            .header(http::header::HOST, "docker")
            .body(Empty::<Bytes>::new())
            .map_err(|e| failed(&e))?;
        let response = match &self.endpoint {
            Endpoint::Unix(path) => {
                let stream = UnixStream::connect(path).await.map_err(|e| failed(&e))?;
                send(TokioIo::new(stream), request).await
            }
            Endpoint::Tcp(host_port) => {
                let stream = TcpStream::connect(host_port.as_str())
                    .await
                    .map_err(|e| failed(&e))?;
                send(TokioIo::new(stream), request).await
            }
        };
        response.map_err(|e| failed(&e))
    }

    /// The image `name` (a reference or an id); `None` when the daemon has no such image.
    pub async fn inspect(&self, name: &str) -> Result<Option<ImageInspect>, String> {
        let (status, body) = self.get(&format!("/images/{name}/json")).await?;
        match status {
            200 => serde_json::from_slice(&body)
                .map(Some)
                .map_err(|error| format!("Docker Engine: image {name}: {error}")),
            404 => Ok(None),
            _ => Err(format!(
                "Docker Engine: image {name}: {status} {}",
                String::from_utf8_lossy(&body).trim()
            )),
        }
    }

    /// Every image with a tag in `repository`.
    pub async fn images_of(&self, repository: &str) -> Result<Vec<ImageSummary>, String> {
        let filters = serde_json::json!({"reference": [repository]}).to_string();
        let query: String = url_encode(&filters);
        let (status, body) = self.get(&format!("/images/json?filters={query}")).await?;
        if status != 200 {
            return Err(format!(
                "Docker Engine: images of {repository}: {status} {}",
                String::from_utf8_lossy(&body).trim()
            ));
        }
        serde_json::from_slice(&body)
            .map_err(|error| format!("Docker Engine: images of {repository}: {error}"))
    }
}

async fn send<T>(
    io: TokioIo<T>,
    request: http::Request<Empty<Bytes>>,
) -> Result<(u16, Vec<u8>), hyper::Error>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes().to_vec();
    Ok((status, body))
}

/// Percent-encoding for a query value: everything but unreserved characters.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}
