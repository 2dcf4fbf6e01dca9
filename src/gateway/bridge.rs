//! The `Bridge`: conveyor's handle on BuildKit's LLBBridge service, opened two ways —
//! over stdin/stdout when the daemon runs conveyor as a frontend image, or on a daemon
//! connection with the build id of a client-side solve. Code above never asks which.

use std::collections::BTreeMap;
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};

use hyper_util::rt::TokioIo;
use tokio::net::unix::pipe;
use tonic::metadata::AsciiMetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Uri};

use crate::buildkit::{BuildkitError, Daemon, error_chain, rpc_error};
use crate::llb::Definition;
use crate::proto::fsutil::types::Stat;
use crate::proto::moby::buildkit::v1::frontend::llb_bridge_client::LlbBridgeClient;
use crate::proto::moby::buildkit::v1::frontend::{
    self as gw, PingRequest, PongResponse, ReadFileRequest, ResolveImageConfigRequest,
    ReturnRequest, StatFileRequest,
};
use crate::proto::{google, pb};

/// `ResolveImageConfigRequest.ResolverType` of an image in a client's content store
/// (0 is the registry).
const OCI_LAYOUT_RESOLVER: i32 = 1;

/// Adds `buildkit-controlapi-buildid` to each call when the bridge belongs to a
/// client-side build on a daemon connection.
#[derive(Clone)]
pub struct BuildId(Option<AsciiMetadataValue>);

impl Interceptor for BuildId {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(id) = &self.0 {
            request
                .metadata_mut()
                .insert("buildkit-controlapi-buildid", id.clone());
        }
        Ok(request)
    }
}

/// Messages as large as BuildKit's Go side accepts (and then some): Definitions of
/// thousands of ops, whole files read back.
const MAX_MESSAGE_SIZE: usize = 64 << 20;

#[derive(Clone)]
pub struct Bridge {
    client: LlbBridgeClient<InterceptedService<Channel, BuildId>>,
}

/// A base image's config as the daemon resolved it.
#[derive(Clone, Debug)]
pub struct ResolvedImage {
    pub digest: String,
    pub config: Vec<u8>,
}

impl Bridge {
    fn new(channel: Channel, build_id: Option<AsciiMetadataValue>) -> Bridge {
        let client = LlbBridgeClient::with_interceptor(channel, BuildId(build_id))
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE);
        Bridge { client }
    }

    /// The bridge of a frontend process: HTTP/2 gRPC (prior knowledge) on
    /// stdin/stdout, opened once. Nothing else may write to stdout.
    pub async fn stdio() -> Result<Bridge, BuildkitError> {
        let stdio_error = |error: std::io::Error| BuildkitError::Connect {
            address: "stdio".into(),
            reason: error.to_string(),
        };
        let stdio = Arc::new(Mutex::new(Some(stdio_pipes().map_err(stdio_error)?)));
        let channel = tonic::transport::Endpoint::from_static("http://localhost")
            .initial_connection_window_size(crate::buildkit::HTTP2_CONNECTION_WINDOW)
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let taken = stdio.lock().expect("stdio lock").take();
                async move {
                    taken.map(TokioIo::new).ok_or_else(|| {
                        std::io::Error::other("the stdio connection to BuildKit was lost")
                    })
                }
            }))
            .await
            .map_err(|error| BuildkitError::Connect {
                address: "stdio".into(),
                reason: error_chain(&error),
            })?;
        Ok(Bridge::new(channel, None))
    }

    /// The bridge of a client-side build `build_id` running on `daemon` (its
    /// Control.Solve must have been started with no Definition and no Frontend).
    pub fn on_daemon(daemon: &Daemon, build_id: &str) -> Bridge {
        let id = AsciiMetadataValue::try_from(build_id).expect("build ids are ASCII");
        Bridge::new(daemon.channel(), Some(id))
    }

    pub async fn ping(&self) -> Result<PongResponse, BuildkitError> {
        let response = self
            .client
            .clone()
            .ping(PingRequest {})
            .await
            .map_err(|s| rpc_error("Ping", &s))?;
        Ok(response.into_inner())
    }

    /// Resolves an image reference (fully qualified) to its digest and config.
    pub async fn resolve_image_config(
        &self,
        reference: &str,
        platform: &pb::Platform,
        resolve_mode: &str,
        log_name: &str,
    ) -> Result<ResolvedImage, BuildkitError> {
        self.resolve(ResolveImageConfigRequest {
            r#ref: reference.to_string(),
            platform: Some(platform.clone()),
            resolve_mode: resolve_mode.to_string(),
            log_name: log_name.to_string(),
            ..Default::default()
        })
        .await
    }

    /// `resolve_image_config` under a progress name of the caller's: BuildKit shows
    /// every resolution as a vertex, and a miss as its error.
    pub async fn resolve_image_config_as(
        &self,
        reference: &str,
        platform: &pb::Platform,
        log_name: &str,
    ) -> Result<ResolvedImage, BuildkitError> {
        self.resolve(ResolveImageConfigRequest {
            r#ref: reference.to_string(),
            platform: Some(platform.clone()),
            resolve_mode: "default".to_string(),
            log_name: log_name.to_string(),
            ..Default::default()
        })
        .await
    }

    /// The config of an image in a content store the client serves over session
    /// `session_id` as `store_id` (an `oci-layout://` named context): the OCI-layout
    /// resolver (type 1) instead of the registry's.
    pub async fn resolve_oci_layout_config(
        &self,
        reference: &str,
        platform: &pb::Platform,
        store: (&str, &str),
        log_name: &str,
    ) -> Result<ResolvedImage, BuildkitError> {
        let (session_id, store_id) = store;
        self.resolve(ResolveImageConfigRequest {
            r#ref: reference.to_string(),
            platform: Some(platform.clone()),
            log_name: log_name.to_string(),
            resolver_type: OCI_LAYOUT_RESOLVER,
            session_id: session_id.to_string(),
            store_id: store_id.to_string(),
            ..Default::default()
        })
        .await
    }

    async fn resolve(
        &self,
        request: ResolveImageConfigRequest,
    ) -> Result<ResolvedImage, BuildkitError> {
        let response = self
            .client
            .clone()
            .resolve_image_config(request)
            .await
            .map_err(|s| rpc_error("ResolveImageConfig", &s))?
            .into_inner();
        Ok(ResolvedImage {
            digest: response.digest,
            config: response.config,
        })
    }

    /// Solves a definition (lazily: the daemon runs it when the ref is read or
    /// returned) and gives the ref's id.
    pub async fn solve(&self, definition: &Definition) -> Result<String, BuildkitError> {
        let request = gw::SolveRequest {
            definition: definition.encode(),
            allow_result_return: true,
            allow_result_array_ref: true,
            ..Default::default()
        };
        let response = self
            .client
            .clone()
            .solve(request)
            .await
            .map_err(|s| solve_error(&s))?
            .into_inner();
        Ok(match response.result.and_then(|r| r.result) {
            Some(gw::result::Result::Ref(reference)) => reference.id,
            Some(gw::result::Result::RefDeprecated(id)) => id,
            _ => response.r#ref,
        })
    }

    /// The definitions the client passed as frontend inputs (bake's results of other
    /// targets), by name.
    pub async fn inputs(&self) -> Result<BTreeMap<String, pb::Definition>, BuildkitError> {
        let response = self
            .client
            .clone()
            .inputs(gw::InputsRequest {})
            .await
            .map_err(|s| rpc_error("Inputs", &s))?;
        Ok(response.into_inner().definitions.into_iter().collect())
    }

    /// Reads a whole file from a solved ref.
    pub async fn read_file(&self, reference: &str, path: &str) -> Result<Vec<u8>, BuildkitError> {
        self.read(reference, path, None).await
    }

    /// Stats a path in a solved ref; `None` if it does not exist.
    pub async fn stat_file(
        &self,
        reference: &str,
        path: &str,
    ) -> Result<Option<Stat>, BuildkitError> {
        let request = StatFileRequest {
            r#ref: reference.to_string(),
            path: path.to_string(),
        };
        match self.client.clone().stat_file(request).await {
            Ok(response) => Ok(response.into_inner().stat),
            Err(status) if is_not_found(&status) => Ok(None),
            Err(status) => Err(solve_error(&status)),
        }
    }

    /// The entries of a directory in a solved ref (not recursive), in no set order.
    pub async fn read_dir(&self, reference: &str, path: &str) -> Result<Vec<Stat>, BuildkitError> {
        let request = gw::ReadDirRequest {
            r#ref: reference.to_string(),
            dir_path: path.to_string(),
            include_pattern: String::new(),
        };
        let response = self
            .client
            .clone()
            .read_dir(request)
            .await
            .map_err(|s| solve_error(&s))?;
        Ok(response.into_inner().entries)
    }

    /// Reads `length` bytes of a file in a solved ref from `offset` (fewer at its end).
    pub async fn read_file_range(
        &self,
        reference: &str,
        path: &str,
        offset: u64,
        length: u64,
    ) -> Result<Vec<u8>, BuildkitError> {
        let range = gw::FileRange {
            offset: offset as i64,
            length: length as i64,
        };
        self.read(reference, path, Some(range)).await
    }

    async fn read(
        &self,
        reference: &str,
        path: &str,
        range: Option<gw::FileRange>,
    ) -> Result<Vec<u8>, BuildkitError> {
        let request = ReadFileRequest {
            r#ref: reference.to_string(),
            file_path: path.to_string(),
            range,
        };
        let response = self
            .client
            .clone()
            .read_file(request)
            .await
            .map_err(|s| solve_error(&s))?;
        Ok(response.into_inner().data)
    }

    /// Ends the build with a result: a ref (empty for none), or a ref per platform
    /// when `platform_refs` is not empty, and metadata.
    pub async fn return_result(
        &self,
        reference: Option<String>,
        platform_refs: BTreeMap<String, String>,
        metadata: BTreeMap<String, Vec<u8>>,
    ) -> Result<(), BuildkitError> {
        let refs = if platform_refs.is_empty() {
            gw::result::Result::Ref(gw::Ref {
                id: reference.unwrap_or_default(),
                def: None,
            })
        } else {
            gw::result::Result::Refs(gw::RefMap {
                refs: platform_refs
                    .into_iter()
                    .map(|(platform, id)| (platform, gw::Ref { id, def: None }))
                    .collect(),
            })
        };
        let result = gw::Result {
            result: Some(refs),
            metadata,
        };
        let request = ReturnRequest {
            result: Some(result),
            error: None,
        };
        self.client
            .clone()
            .r#return(request)
            .await
            .map_err(|s| rpc_error("Return", &s))?;
        Ok(())
    }

    /// Ends the build with an error the client shows to the user.
    pub async fn return_error(
        &self,
        code: tonic::Code,
        message: &str,
    ) -> Result<(), BuildkitError> {
        let error = google::rpc::Status {
            code: code as i32,
            message: message.to_string(),
            details: Vec::new(),
        };
        let request = ReturnRequest {
            result: None,
            error: Some(error),
        };
        self.client
            .clone()
            .r#return(request)
            .await
            .map_err(|s| rpc_error("Return", &s))?;
        Ok(())
    }
}

/// stdin and stdout as non-blocking pipes driven by the reactor. tokio's `stdin()`
/// reads on a blocking thread, which stalled the HTTP/2 handshake inside BuildKit's
/// frontend container; the daemon hands frontends pipes, so use them as pipes.
fn stdio_pipes() -> std::io::Result<tokio::io::Join<pipe::Receiver, pipe::Sender>> {
    let stdin = std::io::stdin().as_fd().try_clone_to_owned()?;
    let stdout = std::io::stdout().as_fd().try_clone_to_owned()?;
    let receiver = pipe::Receiver::from_owned_fd(stdin)?;
    let sender = pipe::Sender::from_owned_fd(stdout)?;
    Ok(tokio::io::join(receiver, sender))
}

fn is_not_found(status: &tonic::Status) -> bool {
    status.code() == tonic::Code::NotFound || status.message().contains("no such file or directory")
}

fn solve_error(status: &tonic::Status) -> BuildkitError {
    BuildkitError::SolveFailed {
        message: status.message().to_string(),
        vertex: None,
    }
}
