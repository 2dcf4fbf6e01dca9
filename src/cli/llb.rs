//! `conveyor llb`: a build's LLB Definition without a BuildKit daemon, as binary
//! protobuf (what `buildctl build` reads on stdin) or as JSON. Base images are
//! resolved as a build resolves them (Docker Engine's store, else the registry) and the
//! stages are lowered exactly as the frontend lowers them (`gateway::lowering`). The
//! context is the local source `context` with no session: the client that submits the
//! Definition attaches its own.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::gateway::{self, lowering};
use crate::graph::{self, Selection, StageGraph};
use crate::lower::{self, Lowered, ResolvedBases};
use crate::werf;

use super::Failure;
use super::stages::{self, BuildSpec};

/// The local name the Definition reads the context from: `buildctl --local context=DIR`.
pub const CONTEXT_LOCAL: &str = "context";

/// The platform when `--platform` names none (there is no daemon to ask).
pub const DEFAULT_PLATFORM: &str = "linux/amd64";

/// How the Definition is written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LlbFormat {
    /// A serialized `pb.Definition`.
    Pb,
    /// A readable dump (`llb::Definition::to_json`).
    Json,
}

/// What `llb` was asked.
pub struct LlbRequest {
    pub file: Option<PathBuf>,
    pub context: PathBuf,
    pub target: Option<String>,
    pub build_args: Vec<(String, String)>,
    pub platform: Option<String>,
    pub format: LlbFormat,
}

/// The Definition of the build `request` names, as its format says.
pub fn definition_bytes(request: &LlbRequest) -> Result<Vec<u8>, Failure> {
    let lowered = lower_build(request)?;
    Ok(match request.format {
        LlbFormat::Pb => lowered.definition.encode(),
        LlbFormat::Json => {
            let json = lowered.definition.to_json();
            let mut text = serde_json::to_string_pretty(&json).expect("a definition is JSON");
            text.push('\n');
            text.into_bytes()
        }
    })
}

/// `conveyor llb`.
pub fn llb(request: &LlbRequest) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    if request.format == LlbFormat::Pb && stdout.is_terminal() {
        return Err(Failure::input(
            "the Definition is binary protobuf: redirect stdout (> def.pb) or use --format json",
        ));
    }
    let bytes = definition_bytes(request)?;
    stdout
        .write_all(&bytes)
        .and_then(|()| stdout.flush())
        .map_err(|error| Failure::build(format!("cannot write the Definition: {error}")))
}

/// The build file: `-f`, else CONTEXT/Dockerfile, else CONTEXT/werf.yaml.
fn build_file(request: &LlbRequest) -> PathBuf {
    request.file.clone().unwrap_or_else(|| {
        let dockerfile = request.context.join("Dockerfile");
        let werf_yaml = request.context.join("werf.yaml");
        if !dockerfile.exists() && werf_yaml.exists() {
            werf_yaml
        } else {
            dockerfile
        }
    })
}

/// The base name the frontend knows the build file by (BuildKit's `filename`).
fn base_name(file: &Path) -> String {
    file.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string())
}

fn lower_build(request: &LlbRequest) -> Result<Lowered, Failure> {
    let platform_text = request.platform.as_deref().unwrap_or(DEFAULT_PLATFORM);
    let platform = gateway::parse_platform(platform_text).map_err(Failure::input)?;
    let file = build_file(request);
    let file_name = file.display().to_string();
    let text = std::fs::read_to_string(&file)
        .map_err(|error| Failure::input(format!("cannot read {file_name}: {error}")))?;
    let exclude_patterns = stages::dockerignore(&file, &request.context);
    let context = lowering::context_ref(CONTEXT_LOCAL, "", exclude_patterns);
    // Without a daemon to ask for its caps: `COPY --link` as a plain copy, which every
    // daemon builds (Docker Engine's classic store has no MergeOp).
    let merge_op = false;
    if werf::is_werf_config(&file_name, &text) {
        let env = super::plan_werf::template_env(&request.context, "")?;
        let mut loaded = werf::load(&file_name, &text, &env)
            .map_err(|e| Failure::input(e.located(&file_name, &text)))?;
        super::plan_werf::resolve_remote_commits(&mut loaded.config)?;
        let rendered = loaded.rendered.clone();
        let located = |e: graph::GraphError| Failure::input(e.located(&file_name, &rendered));
        let platform_args = graph::platform_args(&platform.id(), &platform.id());
        let (stage_graph, selection) =
            lowering::werf_stages(&loaded.config, &platform_args, request.target.as_deref())
                .map_err(located)?;
        let bases = resolve(&stage_graph, &selection, platform_text)?;
        let mut options = lowering::werf_options(platform, platform_args, context, merge_op);
        // As `conveyor build` serves them.
        options.host_dirs = lowering::host_dir_refs(
            loaded
                .config
                .host_paths()
                .into_iter()
                .map(|p| p.value.as_str()),
            "",
        );
        return lower::lower(&stage_graph, &selection, &bases, &options)
            .map_err(|e| Failure::input(e.located(&file_name, &rendered)));
    }
    let spec = BuildSpec {
        file: Some(file.clone()),
        context: request.context.clone(),
        target: request.target.clone(),
        build_args: request.build_args.iter().cloned().collect(),
        platform: platform.id(),
    };
    let loaded = stages::load(&spec)?;
    let bases = resolve(&loaded.stage_graph, &loaded.selection, platform_text)?;
    let options = lowering::dockerfile_options(
        platform,
        spec.build_args.clone(),
        context,
        &base_name(&file),
        &text,
        merge_op,
    );
    lower::lower(&loaded.stage_graph, &loaded.selection, &bases, &options)
        .map_err(|e| Failure::input(e.located(&file_name, &text)))
}

/// The digest and config of every image the selected stages read.
fn resolve(
    stage_graph: &StageGraph,
    selection: &Selection,
    platform: &str,
) -> Result<ResolvedBases, Failure> {
    let references = stage_graph.external_images(selection);
    if references.is_empty() {
        return Ok(ResolvedBases::new());
    }
    let images = stages::runtime()?.block_on(stages::resolve_bases(platform, references))?;
    let mut bases = BTreeMap::new();
    for (reference, image) in images {
        let base = lowering::resolved_base(&reference, image.digest, &image.config)
            .map_err(Failure::build)?;
        bases.insert(reference, base);
    }
    Ok(bases)
}

#[cfg(test)]
#[path = "llb_tests.rs"]
mod tests;
