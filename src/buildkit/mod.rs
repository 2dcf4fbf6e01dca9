//! Talking to a BuildKit daemon: addresses, the connection (buildkitd or Docker
//! Engine's `/grpc` upgrade), the Control service (workers, solve) and its status
//! stream, and the session the client serves during a build.

mod address;
mod connect;
mod control;
mod engine;
mod session;
mod status;

pub use address::{DEFAULT_DOCKER_SOCKET, DaemonAddress, Endpoint};
pub use connect::{HTTP2_CONNECTION_WINDOW, channel, error_chain};
pub(crate) use control::rpc_error;
pub use control::{Daemon, SolveRequest};
pub use engine::{push as push_to_registry, registry_host};
pub use session::{OutputTarget, SecretSource, Session, SessionServices, parse_secret, parse_ssh};
pub use status::{BuildProgress, FailedVertex, VertexState};

/// What can go wrong talking to the daemon.
#[derive(Debug, thiserror::Error)]
pub enum BuildkitError {
    #[error("invalid daemon address \"{address}\": {reason}")]
    InvalidAddress { address: String, reason: String },
    #[error("cannot connect to the BuildKit daemon at {address}: {reason}")]
    Connect { address: String, reason: String },
    #[error("{call} failed: {message}")]
    Rpc { call: &'static str, message: String },
    #[error("cannot push {reference}: {message}")]
    Push { reference: String, message: String },
    #[error("{}", solve_failure(.message, .vertex))]
    SolveFailed {
        message: String,
        vertex: Option<FailedVertex>,
    },
}

fn solve_failure(message: &str, vertex: &Option<FailedVertex>) -> String {
    match vertex {
        Some(vertex) if !vertex.name.is_empty() => {
            format!("build failed at [{}]: {message}", vertex.name)
        }
        _ => format!("build failed: {message}"),
    }
}
