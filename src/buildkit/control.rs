//! The Control service: list workers, solve with the status stream alongside.

use std::collections::BTreeMap;
use std::time::Duration;

use prost::Message;
use tonic::transport::Channel;

use crate::proto::errdefs;
use crate::proto::google::rpc;
use crate::proto::moby::buildkit::v1::control_client::ControlClient;
use crate::proto::moby::buildkit::v1::types::WorkerRecord;
use crate::proto::moby::buildkit::v1::{ListWorkersRequest, StatusRequest, StatusResponse};

pub use crate::proto::moby::buildkit::v1::SolveRequest;

use super::BuildkitError;
use super::address::DaemonAddress;
use super::connect;
use super::status::BuildProgress;

/// BuildKit's Go clients accept messages up to 16 MiB; Definitions and status batches
/// of large builds exceed tonic's 4 MiB default.
pub(crate) const MAX_MESSAGE_SIZE: usize = 64 << 20;

/// A connected daemon.
#[derive(Clone)]
pub struct Daemon {
    pub address: DaemonAddress,
    channel: Channel,
}

impl Daemon {
    pub async fn connect(address: DaemonAddress) -> Result<Daemon, BuildkitError> {
        let channel = connect::channel(&address).await?;
        Ok(Daemon { address, channel })
    }

    /// The gRPC channel, for the other services the daemon serves on it (LLBBridge).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    pub(super) fn control(&self) -> ControlClient<Channel> {
        ControlClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE)
    }

    pub async fn list_workers(&self) -> Result<Vec<WorkerRecord>, BuildkitError> {
        let response = self
            .control()
            .list_workers(ListWorkersRequest::default())
            .await
            .map_err(|status| rpc_error("ListWorkers", &status))?;
        Ok(response.into_inner().record)
    }

    /// Runs `request` to completion, following its status stream: `on_status` sees each
    /// status batch as it arrives. Returns the exporter response and every vertex seen.
    /// A failed build returns `SolveFailed` naming the vertex that failed.
    pub async fn solve(
        &self,
        mut request: SolveRequest,
        mut on_status: impl FnMut(&StatusResponse),
    ) -> Result<(BTreeMap<String, String>, BuildProgress), BuildkitError> {
        if request.r#ref.is_empty() {
            request.r#ref = uuid::Uuid::new_v4().simple().to_string();
        }
        // Daemons older than v0.13 read only the first exporter, from the old fields.
        if let Some(first) = request.exporters.first() {
            request.exporter_deprecated = first.r#type.clone();
            request.exporter_attrs_deprecated = first.attrs.clone();
        }
        let build_ref = request.r#ref.clone();
        let mut control = self.control();
        let status_control = self.control();
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let status_task = tokio::spawn(async move {
            let Ok(stream) = status_control
                .clone()
                .status(StatusRequest { r#ref: build_ref })
                .await
            else {
                return;
            };
            let mut stream = stream.into_inner();
            while let Ok(Some(status)) = stream.message().await {
                if sender.send(status).is_err() {
                    return;
                }
            }
        });

        let mut progress = BuildProgress::default();
        let solve = control.solve(request);
        tokio::pin!(solve);
        let outcome = loop {
            tokio::select! {
                outcome = &mut solve => break outcome,
                Some(status) = receiver.recv() => {
                    progress.apply(&status);
                    on_status(&status);
                }
            }
        };
        // The status stream ends soon after the solve; take the rest of it (the failing
        // step's last log lines arrive late), but never wait on it for long.
        let drain = async {
            while let Some(status) = receiver.recv().await {
                progress.apply(&status);
                on_status(&status);
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
        status_task.abort();

        match outcome {
            Ok(response) => Ok((
                response
                    .into_inner()
                    .exporter_response
                    .into_iter()
                    .collect(),
                progress,
            )),
            Err(status) => {
                let digest = failed_vertex_digest(&status);
                let vertex = progress.failed(digest.as_deref());
                Err(BuildkitError::SolveFailed {
                    message: status.message().to_string(),
                    vertex,
                })
            }
        }
    }
}

pub(crate) fn rpc_error(call: &'static str, status: &tonic::Status) -> BuildkitError {
    let message = if status.message().is_empty() {
        format!("{:?}", status.code())
    } else {
        status.message().to_string()
    };
    BuildkitError::Rpc { call, message }
}

/// BuildKit attaches the failing vertex as an `errdefs.Vertex` detail of the gRPC
/// status (`grpc-status-details-bin`).
fn failed_vertex_digest(status: &tonic::Status) -> Option<String> {
    let details = rpc::Status::decode(status.details()).ok()?;
    details
        .details
        .iter()
        .filter(|any| any.type_url.ends_with("errdefs.Vertex"))
        .find_map(|any| errdefs::Vertex::decode(any.value.as_slice()).ok())
        .map(|vertex| vertex.digest)
}
