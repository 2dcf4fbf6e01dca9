//! The few Docker Engine API calls the local stages storage needs, over `DOCKER_HOST`:
//! inspect an image (`GET /images/{name}/json`), list images by reference
//! (`GET /images/json`), and for werf import digests export an image
//! (`GET /images/{name}/get`) and load one (`POST /images/load`). dockerd's image
//! store is not a registry, so the registry client cannot read it; a whole Engine API
//! crate (bollard) is too much for four calls.

use std::collections::BTreeMap;

use http_body_util::{BodyExt as _, Full};
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
        self.request(http::Method::GET, path_and_query, Vec::new())
            .await
    }

    async fn request(
        &self,
        method: http::Method,
        path_and_query: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Vec<u8>), String> {
        let failed = |error: &dyn std::fmt::Display| {
            format!(
                "Docker Engine at {}: {method} {path_and_query}: {error}",
                self.endpoint
            )
        };
        let mut request = http::Request::builder()
            .method(method.clone())
            .uri(path_and_query)
            .header(http::header::HOST, "docker");
        if !body.is_empty() {
            request = request.header(http::header::CONTENT_TYPE, "application/x-tar");
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
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

    /// The image `name` exported as `docker save` writes it: a tar holding
    /// `manifest.json` and the config and layer files it names.
    pub async fn save(&self, name: &str) -> Result<Vec<u8>, String> {
        let (status, body) = self.get(&format!("/images/{name}/get")).await?;
        if status != 200 {
            return Err(format!(
                "Docker Engine: export of image {name}: {status} {}",
                String::from_utf8_lossy(&body).trim()
            ));
        }
        Ok(body)
    }

    /// Loads images from a tar in `docker save`'s layout.
    pub async fn load(&self, archive: Vec<u8>) -> Result<(), String> {
        let (status, body) = self
            .request(http::Method::POST, "/images/load?quiet=1", archive)
            .await?;
        // A failed load still answers 200, with the error in the JSON stream.
        let text = String::from_utf8_lossy(&body);
        if status != 200 || text.contains("\"error") {
            return Err(format!(
                "Docker Engine: image load: {status} {}",
                text.trim()
            ));
        }
        Ok(())
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
    request: http::Request<Full<Bytes>>,
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
