//! Opening a gRPC channel to the daemon: directly on buildkitd's socket, or through
//! Docker Engine's HTTP upgrade (`POST /grpc`, `Upgrade: h2c`), after which the socket
//! speaks HTTP/2 gRPC (this is how buildx's `docker` driver talks to dockerd).

use std::io;
use std::pin::Pin;

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};
use tonic::transport::{Channel, Uri};

use super::BuildkitError;
use super::address::{DaemonAddress, Endpoint};

/// A byte stream to the daemon, whatever the transport.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

pub type BoxedIo = Pin<Box<dyn Io>>;

pub(super) async fn dial(endpoint: &Endpoint) -> io::Result<BoxedIo> {
    Ok(match endpoint {
        Endpoint::Unix(path) => Box::pin(UnixStream::connect(path).await?),
        Endpoint::Tcp(host_port) => {
            let stream = TcpStream::connect(host_port.as_str()).await?;
            stream.set_nodelay(true)?;
            Box::pin(stream)
        }
    })
}

/// `POST path` with `Upgrade: h2c` on a fresh connection to dockerd; returns the raw
/// connection after `101 Switching Protocols`.
pub(super) async fn docker_upgrade(
    endpoint: &Endpoint,
    path: &str,
    headers: &[(&str, String)],
) -> io::Result<hyper::upgrade::Upgraded> {
    let stream = dial(endpoint).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(io::Error::other)?;
    tokio::spawn(async move {
        // Ends when the upgraded stream is handed over or the daemon hangs up.
        let _ = connection.with_upgrades().await;
    });
    let mut request = http::Request::post(path)
        .header(http::header::HOST, "docker")
        .header(http::header::CONNECTION, "Upgrade")
        .header(http::header::UPGRADE, "h2c");
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(io::Error::other)?;
    let response = sender
        .send_request(request)
        .await
        .map_err(io::Error::other)?;
    if response.status() != http::StatusCode::SWITCHING_PROTOCOLS {
        return Err(io::Error::other(format!(
            "dockerd answered {} to POST {path} (expected 101 Switching Protocols: is BuildKit enabled in this Docker Engine?)",
            response.status()
        )));
    }
    hyper::upgrade::on(response).await.map_err(io::Error::other)
}

/// The gRPC `:authority` conveyor sends; daemons ignore it on local sockets.
const AUTHORITY_URI: &str = "http://localhost";

/// The HTTP/2 connection window of every connection conveyor opens or serves. h2 ends
/// a connection that holds more small DATA frames unread than half its window allows
/// (at most 256 bytes of overhead each), and a build's session carries thousands of
/// them (one per small file and request), more than the default 64 KiB window's ~130
/// while the reader waits for a core on a busy machine.
pub const HTTP2_CONNECTION_WINDOW: u32 = 32 << 20;

/// Opens a gRPC channel to the daemon at `address`, connecting eagerly so that an
/// unreachable daemon is reported here, once, with its address.
pub async fn channel(address: &DaemonAddress) -> Result<Channel, BuildkitError> {
    let endpoint = tonic::transport::Endpoint::from_static(AUTHORITY_URI)
        .initial_connection_window_size(HTTP2_CONNECTION_WINDOW);
    let result = match address.clone() {
        DaemonAddress::Buildkitd(target) => {
            endpoint
                .connect_with_connector(tower::service_fn(move |_: Uri| {
                    let target = target.clone();
                    async move { dial(&target).await.map(TokioIo::new) }
                }))
                .await
        }
        DaemonAddress::DockerEngine(target) => {
            endpoint
                .connect_with_connector(tower::service_fn(move |_: Uri| {
                    let target = target.clone();
                    async move { docker_upgrade(&target, "/grpc", &[]).await }
                }))
                .await
        }
    };
    result.map_err(|error| BuildkitError::Connect {
        address: address.to_string(),
        reason: error_chain(&error),
    })
}

/// An error and its causes, `a: b: c`, without repeating a cause a wrapper already
/// quotes in its own text.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
