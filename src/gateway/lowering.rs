//! How a build file's selected stages become LLB, whoever resolved the base images: the
//! frontend (through the bridge) and `conveyor llb` (through the registry and Docker
//! Engine, no BuildKit) lower with these, so the two give the same Definition.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::graph::{self, GraphError, Selection, StageGraph};
use crate::llb::{self, Platform};
use crate::lower::{self, ContextRef, ImageConfig, ResolvedBase};
use crate::werf::WerfConfig;

use super::frontend::FrontendError;

/// The build context as the local source `local_name`; an empty `session_id` leaves
/// the session to the client that submits the Definition (as `buildctl` does).
pub fn context_ref(
    local_name: &str,
    session_id: &str,
    exclude_patterns: Vec<String>,
) -> ContextRef {
    ContextRef {
        local_name: local_name.to_string(),
        session_id: session_id.to_string(),
        exclude_patterns,
        shared_key_hint: local_name.to_string(),
    }
}

/// The session's local name for a werf `mount.fromPath` directory: local names travel
/// in gRPC metadata, so they are ASCII whatever the path.
pub fn host_dir_local_name(path: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(path.as_bytes());
    format!("werf-host-dir-{}", hex::encode(&digest[..12]))
}

/// The lowering's view of the host directories a client serves, by path as written.
pub fn host_dir_refs<'p>(
    paths: impl IntoIterator<Item = &'p str>,
    session_id: &str,
) -> BTreeMap<String, ContextRef> {
    paths
        .into_iter()
        .map(|path| {
            let name = host_dir_local_name(path);
            (path.to_string(), context_ref(&name, session_id, Vec::new()))
        })
        .collect()
}

/// A base image's digest and config JSON as the lowering takes them.
pub fn resolved_base(
    reference: &str,
    digest: String,
    config_json: &[u8],
) -> Result<ResolvedBase, FrontendError> {
    let config =
        ImageConfig::from_json(config_json).map_err(|error| FrontendError::BaseConfig {
            reference: reference.to_string(),
            reason: error.to_string(),
        })?;
    Ok(ResolvedBase { digest, config })
}

/// The options a Dockerfile lowers with: the user's build args, the Dockerfile as the
/// ops' source map. No named contexts, no stored stages; the caller adds those it has.
pub fn dockerfile_options(
    platform: Platform,
    build_args: BTreeMap<String, String>,
    context: ContextRef,
    file_name: &str,
    text: &str,
    merge_op: bool,
) -> lower::Options {
    lower::Options {
        platform,
        build_args,
        context,
        dockerfile_source: Some(Arc::new(llb::SourceMap {
            filename: file_name.to_string(),
            data: text.as_bytes().to_vec(),
            language: "Dockerfile".into(),
        })),
        named_contexts: BTreeMap::new(),
        merge_op,
        reused_stages: lower::ReusedStages::new(),
        host_dirs: BTreeMap::new(),
        prefix_platform: false,
    }
}

/// The options a werf config lowers with: only the platform ARGs (its Dockerfile
/// images take no build args), no source map.
pub fn werf_options(
    platform: Platform,
    platform_args: BTreeMap<String, String>,
    context: ContextRef,
    merge_op: bool,
) -> lower::Options {
    lower::Options {
        platform,
        build_args: platform_args,
        context,
        dockerfile_source: None,
        named_contexts: BTreeMap::new(),
        merge_op,
        reused_stages: lower::ReusedStages::new(),
        host_dirs: BTreeMap::new(),
        prefix_platform: false,
    }
}

/// A werf config's stage graph and the stages `target` needs; without a target, the
/// last image of the file.
pub fn werf_stages(
    config: &WerfConfig,
    platform_args: &BTreeMap<String, String>,
    target: Option<&str>,
) -> Result<(StageGraph, Selection), GraphError> {
    let stage_graph = graph::from_werf(config, platform_args)?;
    let target = match target {
        Some(target) => target.to_string(),
        None => config.last_image_name().unwrap_or_default(),
    };
    let selection = stage_graph.select(Some(&target))?;
    Ok((stage_graph, selection))
}
