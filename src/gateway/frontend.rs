//! The frontend itself: read the build file through the bridge, answer a subrequest
//! or build, and return. The same code runs in the daemon (stdio bridge) and in the
//! CLI (bridge on the daemon connection).

use std::collections::BTreeMap;

use crate::buildkit::BuildkitError;
use crate::diag::Located;
use crate::dockerfile;
use crate::graph;
use crate::llb::{Definition, LocalSource, OpOptions};

use super::bridge::Bridge;
use super::build;
use super::opts::{FrontendOpts, OptsError};
use super::subrequests;

#[derive(Debug, thiserror::Error)]
pub enum FrontendError {
    #[error(transparent)]
    Opts(#[from] OptsError),
    #[error(transparent)]
    Daemon(#[from] BuildkitError),
    /// Bad input, rendered with file, line and column.
    #[error("{0}")]
    Input(Located),
    #[error("failed to read {filename} from the build context: {reason}")]
    ReadBuildFile { filename: String, reason: String },
    #[error("unsupported request {0}")]
    UnsupportedRequest(String),
    #[error("cannot read the image config of {reference}: {reason}")]
    BaseConfig { reference: String, reason: String },
    /// Reading the stages storage (`CONVEYOR_REPO`) failed.
    #[error("stages storage {repo}: {reason}")]
    Storage { repo: String, reason: String },
    /// A werf git mapping's remote ref could not be resolved to a commit.
    #[error("git {url}: {reason}")]
    RemoteGit { url: String, reason: String },
}

/// What the frontend hands back to BuildKit.
pub struct FrontendResult {
    /// The solved ref of the image's filesystem; `None` for subrequests and for a
    /// build for several platforms.
    pub reference: Option<String>,
    /// A build for several platforms: each platform's ref by its id (`linux/arm64`).
    pub platform_refs: BTreeMap<String, String>,
    pub metadata: BTreeMap<String, Vec<u8>>,
}

/// The build file as the user wrote it, and the solved ref it was read from (which
/// also holds `<name>.dockerignore` when there is one).
pub struct BuildFile {
    pub name: String,
    pub text: String,
    pub reference: String,
}

/// Reads the build file from the client's `dockerfile` local (with the
/// Dockerfile-specific `.dockerignore` beside it, as the stock frontend does).
pub async fn read_build_file(
    bridge: &Bridge,
    opts: &FrontendOpts,
) -> Result<BuildFile, FrontendError> {
    let local = LocalSource {
        name: opts.dockerfile_local.clone(),
        session_id: opts.session_id.clone(),
        shared_key_hint: opts.filename.clone(),
        follow_paths: vec![
            opts.filename.clone(),
            format!("{}.dockerignore", opts.filename),
        ],
        differ: "none".into(),
        options: OpOptions {
            custom_name: Some(format!(
                "[internal] load build definition from {}",
                opts.filename
            )),
            ..Default::default()
        },
        ..Default::default()
    };
    let reference = bridge.solve(&Definition::marshal(&local.state())).await?;
    let bytes = bridge
        .read_file(&reference, &opts.filename)
        .await
        .map_err(|error| FrontendError::ReadBuildFile {
            filename: opts.filename.clone(),
            reason: error.to_string(),
        })?;
    let text = String::from_utf8(bytes).map_err(|_| FrontendError::ReadBuildFile {
        filename: opts.filename.clone(),
        reason: "it is not UTF-8 text".into(),
    })?;
    Ok(BuildFile {
        name: opts.filename.clone(),
        text,
        reference,
    })
}

fn parse(file: &BuildFile) -> Result<dockerfile::Dockerfile, FrontendError> {
    dockerfile::parse(&file.text)
        .map_err(|error| FrontendError::Input(error.located(&file.name, &file.text)))
}

/// The `frontend.outline` answer for the requested target and build args.
async fn outline(
    bridge: &Bridge,
    opts: &FrontendOpts,
    file: &BuildFile,
    dockerfile: &dockerfile::Dockerfile,
) -> Result<FrontendResult, FrontendError> {
    let input = |error: crate::graph::GraphError| {
        FrontendError::Input(error.located(&file.name, &file.text))
    };
    let build_platform = build::default_platform(&bridge.ping().await?).id();
    let platform = opts
        .platforms
        .first()
        .map(|p| p.id())
        .unwrap_or_else(|| build_platform.clone());
    let mut build_args = graph::platform_args(&build_platform, &platform);
    build_args.extend(opts.build_args.clone());
    let stage_graph = graph::from_dockerfile(dockerfile, &build_args).map_err(input)?;
    let selection = stage_graph.select(opts.target.as_deref()).map_err(input)?;
    let found =
        graph::outline(dockerfile, &stage_graph, &selection, &opts.build_args).map_err(input)?;
    Ok(FrontendResult {
        reference: None,
        platform_refs: BTreeMap::new(),
        metadata: super::outline::outline_result(&found, &file.text),
    })
}

/// Runs the frontend for one request.
pub async fn run(bridge: &Bridge, opts: &FrontendOpts) -> Result<FrontendResult, FrontendError> {
    if opts.request_id.as_deref() == Some(subrequests::DESCRIBE) {
        return Ok(FrontendResult {
            reference: None,
            platform_refs: BTreeMap::new(),
            metadata: subrequests::describe(),
        });
    }
    let file = read_build_file(bridge, opts).await?;
    if crate::werf::is_werf_config(&file.name, &file.text) {
        return match opts.request_id.as_deref() {
            Some(subrequests::TARGETS) => {
                super::build_werf::werf_targets(bridge, opts, &file).await
            }
            Some(other) => Err(FrontendError::UnsupportedRequest(other.to_string())),
            None => super::build_werf::build_werf_image(bridge, opts, &file).await,
        };
    }
    let dockerfile = parse(&file)?;
    match opts.request_id.as_deref() {
        Some(subrequests::TARGETS) => Ok(FrontendResult {
            reference: None,
            platform_refs: BTreeMap::new(),
            metadata: subrequests::targets(&dockerfile, &file.text),
        }),
        Some(subrequests::OUTLINE) => outline(bridge, opts, &file, &dockerfile).await,
        Some(other) => Err(FrontendError::UnsupportedRequest(other.to_string())),
        None => build::build_image(bridge, opts, &file, &dockerfile).await,
    }
}

/// The frontend process: options from the environment, the bridge on stdio, one
/// request, and its result or error returned to BuildKit.
pub async fn serve_stdio() -> Result<(), FrontendError> {
    let bridge = Bridge::stdio().await?;
    let outcome = match FrontendOpts::from_env(std::env::vars()) {
        Ok(opts) => run(&bridge, &opts).await,
        Err(error) => Err(error.into()),
    };
    return_outcome(&bridge, outcome).await?;
    Ok(())
}

/// Ends the build with the frontend's outcome: its result, or its error (given back
/// too, for a client-side caller to show).
pub(super) async fn return_outcome(
    bridge: &Bridge,
    outcome: Result<FrontendResult, FrontendError>,
) -> Result<Option<FrontendError>, BuildkitError> {
    match outcome {
        Ok(result) => {
            bridge
                .return_result(result.reference, result.platform_refs, result.metadata)
                .await?;
            Ok(None)
        }
        Err(error) => {
            let code = match error {
                FrontendError::UnsupportedRequest(_) => tonic::Code::Unimplemented,
                FrontendError::Input(_) | FrontendError::Opts(_) => tonic::Code::InvalidArgument,
                _ => tonic::Code::Unknown,
            };
            bridge.return_error(code, &error.to_string()).await?;
            Ok(Some(error))
        }
    }
}
