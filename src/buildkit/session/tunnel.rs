//! HTTP/2 inside the `Control.Session` stream: each `BytesMessage` carries the next
//! bytes of the connection in one direction. The daemon is the HTTP/2 client (it calls
//! the session's services), conveyor the server. This is how buildctl and buildx reach
//! buildkitd, and dockerd's `/grpc` endpoint accepts the same stream, so one transport
//! serves both daemons.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;

use crate::proto::moby::buildkit::v1::BytesMessage;

/// Bytes per message: what BuildKit's own tunnel reads at a time.
const CHUNK: usize = 32 << 10;

/// The server's end of the tunnel, a plain byte stream for the HTTP/2 server.
pub struct TunnelIo(DuplexStream);

impl tonic::transport::server::Connected for TunnelIo {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for TunnelIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TunnelIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// The two pumps between the gRPC stream and the byte stream, and their ends.
pub struct Tunnel {
    /// The server's end.
    pub io: TunnelIo,
    /// The messages to send on the `Control.Session` call.
    pub outgoing: ReceiverStream<BytesMessage>,
    /// Where the call's incoming messages go, once it is open.
    pub incoming: IncomingSide,
    /// Aborted when the session closes.
    pub pumps: [JoinHandle<()>; 2],
}

impl Tunnel {
    pub fn open() -> Tunnel {
        let (ours, theirs) = tokio::io::duplex(4 * CHUNK);
        let (mut reader, mut writer) = tokio::io::split(ours);
        let (sender, receiver) = mpsc::channel::<BytesMessage>(16);
        let out_pump = tokio::spawn(async move {
            let mut buf = vec![0u8; CHUNK];
            loop {
                match reader.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        let message = BytesMessage {
                            data: buf[..n].to_vec(),
                        };
                        if sender.send(message).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let (incoming_sender, incoming_receiver) =
            tokio::sync::oneshot::channel::<tonic::Streaming<BytesMessage>>();
        // The daemon's messages are written into the tunnel behind their reading
        // (`read_ahead`): a tunnel waiting for the session's services must not leave
        // them on the connection to the daemon, which carries the build too.
        let in_pump = tokio::spawn(async move {
            let Ok(incoming) = incoming_receiver.await else {
                return;
            };
            let mut arrived = super::read_ahead(incoming);
            while let Some(Ok(message)) = arrived.recv().await {
                if writer.write_all(&message.data).await.is_err() {
                    return;
                }
            }
            let _ = writer.shutdown().await;
        });
        Tunnel {
            io: TunnelIo(theirs),
            outgoing: ReceiverStream::new(receiver),
            incoming: IncomingSide(incoming_sender),
            pumps: [out_pump, in_pump],
        }
    }
}

/// Where the daemon's half of the call goes once the call is open.
pub struct IncomingSide(tokio::sync::oneshot::Sender<tonic::Streaming<BytesMessage>>);

impl IncomingSide {
    pub fn attach(self, incoming: tonic::Streaming<BytesMessage>) {
        let _ = self.0.send(incoming);
    }
}
