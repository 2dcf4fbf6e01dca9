//! BuildKit's session: the services the client serves to the daemon during a build —
//! the context and build-file directories (FileSync), exporter output (FileSend),
//! registry credentials (Auth), secrets (Secrets), ssh-agent forwarding (SSH) and the
//! gRPC health check the daemon polls. The daemon is the gRPC client; the HTTP/2 connection runs inside the
//! `Control.Session` stream on the daemon connection (see `tunnel`).

mod auth;
mod filesend;
mod filesync;
mod secrets;
mod ssh;
mod tunnel;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tonic::metadata::AsciiMetadataValue;
use tonic::{Request, Response, Status};

use crate::proto::grpc::health::v1::health_check_response::ServingStatus;
use crate::proto::grpc::health::v1::health_server::{Health, HealthServer};
use crate::proto::grpc::health::v1::{HealthCheckRequest, HealthCheckResponse};
use crate::proto::moby::buildkit::secrets::v1::secrets_server::SecretsServer;
use crate::proto::moby::filesync::v1::auth_server::AuthServer;
use crate::proto::moby::filesync::v1::file_sync_server::FileSyncServer;
use crate::proto::moby::sshforward::v1::ssh_server::SshServer;

/// The messages of an incoming gRPC stream, read off the connection as they arrive
/// (by a task of their own) and queued for the caller, who may be slower: h2 ends a
/// connection that holds too many small DATA frames unread (its small-frame budget),
/// and a session's streams carry thousands of them. The queue ends after the stream's
/// end or its first error.
fn read_ahead<T: Send + 'static>(
    mut incoming: tonic::Streaming<T>,
) -> tokio::sync::mpsc::UnboundedReceiver<Result<T, Status>> {
    let (arrived, queue) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let next = match incoming.message().await {
                Ok(Some(message)) => Ok(message),
                Ok(None) => return,
                Err(status) => Err(status),
            };
            let failed = next.is_err();
            if arrived.send(next).is_err() || failed {
                return;
            }
        }
    });
    queue
}

pub use filesend::OutputTarget;
pub use secrets::{SecretSource, parse_secret};
pub use ssh::parse_ssh;

use super::BuildkitError;
use super::control::{Daemon, MAX_MESSAGE_SIZE};

/// What a session offers the daemon.
#[derive(Debug, Default)]
pub struct SessionServices {
    /// Directories by local name (`context`, `dockerfile`).
    pub dirs: BTreeMap<String, PathBuf>,
    pub secrets: BTreeMap<String, SecretSource>,
    /// Where a `local` or `tar` exporter writes.
    pub output: Option<OutputTarget>,
    /// Registry credentials (an empty config: anonymous).
    pub auth: crate::registry::DockerConfig,
    /// ssh-agent sockets by id, for `RUN --mount=type=ssh`.
    pub ssh_agents: BTreeMap<String, PathBuf>,
}

/// An open session; the daemon reaches its services until it is dropped.
pub struct Session {
    id: String,
    tasks: Vec<JoinHandle<()>>,
}

struct HealthService;

#[tonic::async_trait]
impl Health for HealthService {
    async fn check(
        &self,
        _request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        Ok(Response::new(HealthCheckResponse {
            status: ServingStatus::Serving as i32,
        }))
    }
}

const HEALTH_CHECK: &str = "/grpc.health.v1.Health/Check";

impl Session {
    /// Opens a session on `daemon`'s connection. `shared_key` keys the daemon's cache
    /// of what it received from earlier sessions for the same directories, so a
    /// stable key (conveyor uses a digest of the context's absolute path) makes the next upload
    /// incremental.
    pub async fn start(
        daemon: &Daemon,
        name: &str,
        shared_key: &str,
        services: SessionServices,
    ) -> Result<Session, BuildkitError> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut methods = vec![HEALTH_CHECK.to_string()];
        let router = tonic::transport::Server::builder()
            .initial_connection_window_size(super::HTTP2_CONNECTION_WINDOW)
            .add_service(HealthServer::new(HealthService));
        // TarStream is declared but BuildKit only asks for DiffCopy; it is not offered.
        methods.push("/moby.filesync.v1.FileSync/DiffCopy".into());
        let mut router = router.add_service(
            FileSyncServer::new(filesync::FileSyncService {
                dirs: Arc::new(services.dirs),
            })
            .max_decoding_message_size(MAX_MESSAGE_SIZE),
        );
        if !services.secrets.is_empty() {
            methods.push("/moby.buildkit.secrets.v1.Secrets/GetSecret".into());
            router = router.add_service(SecretsServer::new(secrets::SecretsService {
                secrets: Arc::new(services.secrets),
            }));
        }
        if !services.ssh_agents.is_empty() {
            methods.push("/moby.sshforward.v1.SSH/CheckAgent".into());
            methods.push("/moby.sshforward.v1.SSH/ForwardAgent".into());
            router = router.add_service(SshServer::new(ssh::SshService {
                agents: Arc::new(services.ssh_agents),
            }));
        }
        for method in [
            "Credentials",
            "FetchToken",
            "GetTokenAuthority",
            "VerifyTokenAuthority",
        ] {
            methods.push(format!("/moby.filesync.v1.Auth/{method}"));
        }
        router = router.add_service(AuthServer::new(auth::AuthService {
            config: services.auth,
        }));
        if let Some(target) = services.output {
            methods.push("/moby.filesync.v1.FileSend/DiffCopy".into());
            router = router.add_service(filesend::FileSendService { target });
        }

        let tunnel::Tunnel {
            io,
            outgoing,
            incoming,
            pumps,
        } = tunnel::Tunnel::open();
        let server = tokio::spawn(async move {
            let connections = tokio_stream::once(Ok::<_, std::io::Error>(io));
            let _ = router.serve_with_incoming(connections).await;
        });

        let mut request = Request::new(outgoing);
        let metadata = request.metadata_mut();
        let value = |text: &str| {
            AsciiMetadataValue::try_from(text).map_err(|_| BuildkitError::Rpc {
                call: "Session",
                message: format!("{text:?} cannot be sent as gRPC metadata"),
            })
        };
        metadata.insert("x-docker-expose-session-uuid", value(&id)?);
        metadata.insert("x-docker-expose-session-name", value(name)?);
        metadata.insert("x-docker-expose-session-sharedkey", value(shared_key)?);
        for method in &methods {
            metadata.append("x-docker-expose-session-grpc-method", value(method)?);
        }
        let response = daemon
            .control()
            .session(request)
            .await
            .map_err(|status| super::rpc_error("Session", &status))?;
        incoming.attach(response.into_inner());
        let mut tasks = vec![server];
        tasks.extend(pumps);
        Ok(Session { id, tasks })
    }

    /// The id builds name in `Control.Solve{Session}` and `local.session`.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
