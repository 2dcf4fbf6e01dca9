//! Building a werf.yaml through the frontend: render and load it, expand the stage
//! conveyor into the stage graph, resolve base images through the bridge, lower, solve.
//!
//! The frontend sees the build context, not a git repository: templates render with
//! the context's files (`.Files`, the `.werf/**/*.tmpl` partials; see `werf_files`),
//! no `.Commit` (using it is an error saying so), `.Env` is the build arg
//! `CONVEYOR_WERF_ENV`, and `env "X"` reads the build arg `X`.

use std::collections::BTreeMap;

use crate::graph;
use crate::llb::{Definition, LocalSource, OpOptions};
use crate::lower::{self, ResolvedBases};
use crate::werf::{self, TemplateEnv};

use super::bridge::Bridge;
use super::build::{default_platform, has_cap, read_dockerignore};
use super::frontend::{BuildFile, FrontendError, FrontendResult};
use super::lowering;
use super::opts::FrontendOpts;
use super::werf_files::with_context_files;

/// The build arg that sets `.Env`.
pub const WERF_ENV_ARG: &str = "CONVEYOR_WERF_ENV";

/// Renders and loads the config as the frontend sees it (see the module doc).
async fn load(
    bridge: &Bridge,
    opts: &FrontendOpts,
    file: &BuildFile,
) -> Result<werf::Loaded, FrontendError> {
    with_context_files(bridge, opts, |files| {
        let env = TemplateEnv {
            env: opts
                .build_args
                .get(WERF_ENV_ARG)
                .cloned()
                .unwrap_or_default(),
            commit: Err(
                "the buildx frontend has no git repository; .Commit is available with `conveyor build` and `conveyor plan`"
                    .into(),
            ),
            files,
            env_vars: opts.build_args.clone(),
        };
        werf::load(&file.name, &file.text, &env)
            .map_err(|e| FrontendError::Input(e.located(&file.name, &file.text)))
    })
    .await
}

/// `--print=targets`: the config's images.
pub async fn werf_targets(
    bridge: &Bridge,
    opts: &FrontendOpts,
    file: &BuildFile,
) -> Result<FrontendResult, FrontendError> {
    let loaded = load(bridge, opts, file).await?;
    Ok(FrontendResult {
        reference: None,
        platform_refs: BTreeMap::new(),
        metadata: super::subrequests::werf_targets(&loaded.config, &loaded.rendered),
    })
}

pub async fn build_werf_image(
    bridge: &Bridge,
    opts: &FrontendOpts,
    file: &BuildFile,
) -> Result<FrontendResult, FrontendError> {
    if opts.platforms.len() > 1 {
        let list: Vec<String> = opts.platforms.iter().map(|p| p.id()).collect();
        return Err(FrontendError::Opts(super::opts::OptsError::Unsupported(
            format!(
                "building a werf config for several platforms at once (--platform {})",
                list.join(",")
            ),
        )));
    }
    let mut loaded = load(bridge, opts, file).await?;
    for image in &mut loaded.config.dockerfile_images {
        image.text = read_context_file(bridge, opts, &image.dockerfile.value).await?;
    }
    let rendered = loaded.rendered.clone();
    let input = |e: graph::GraphError| FrontendError::Input(e.located(&file.name, &rendered));
    let pong = bridge.ping().await?;
    let build_platform = default_platform(&pong);
    let platform = opts
        .platforms
        .first()
        .cloned()
        .unwrap_or_else(|| build_platform.clone());
    let platform_args = graph::platform_args(&build_platform.id(), &platform.id());
    let stage_graph = graph::from_werf(&loaded.config, &platform_args).map_err(input)?;
    let selection = match opts.stage {
        // One stage of a stage-by-stage build (`conveyor build --repo`).
        Some(index) if index < stage_graph.stages.len() => {
            stage_graph.select_stage(graph::StageId(index))
        }
        Some(_) => {
            return Err(FrontendError::Opts(super::opts::OptsError::Invalid {
                key: "conveyor.stage",
                reason: format!("the config has {} stages", stage_graph.stages.len()),
            }));
        }
        None => {
            let target = match &opts.target {
                Some(target) => target.clone(),
                None => loaded.config.last_image_name().unwrap_or_default(),
            };
            stage_graph.select(Some(&target)).map_err(input)?
        }
    };

    let exclude_patterns = read_dockerignore(bridge, opts, &file.reference).await?;
    let mut bases = ResolvedBases::new();
    let mut config_digests = BTreeMap::new();
    for reference in stage_graph.external_images(&selection) {
        let normalized = lower::normalize_reference(&reference);
        let resolved = bridge
            .resolve_image_config(
                &normalized,
                &platform.to_pb(),
                &opts.image_resolve_mode,
                &format!("[internal] load metadata for {normalized}"),
            )
            .await?;
        config_digests.insert(
            reference.clone(),
            crate::storage::config_digest(&resolved.config),
        );
        let base = lowering::resolved_base(&reference, resolved.digest, &resolved.config)?;
        bases.insert(reference, base);
    }
    let reused_stages = super::stored::reused_stages(
        bridge,
        opts,
        &stage_graph,
        &selection,
        super::stored::Signing {
            platform: &platform,
            build_args: &platform_args,
            config_digests: &config_digests,
            exclude_patterns: &exclude_patterns,
            text: &rendered,
            werf: true,
        },
    )
    .await?;
    let mut options = lowering::werf_options(
        platform,
        platform_args,
        lowering::context_ref(&opts.context_local, &opts.session_id, exclude_patterns),
        has_cap(&pong.llb_caps, "mergeop"),
    );
    options.reused_stages = reused_stages;
    let lowered = lower::lower(&stage_graph, &selection, &bases, &options)
        .map_err(|e| FrontendError::Input(e.located(&file.name, &rendered)))?;
    super::build::solve_lowered(bridge, opts, lowered).await
}

/// A file of the build context (a Dockerfile image's Dockerfile), or `None` if there is
/// no such file.
async fn read_context_file(
    bridge: &Bridge,
    opts: &FrontendOpts,
    path: &str,
) -> Result<Option<String>, FrontendError> {
    let path =
        crate::werf::template::normalize(path).map_err(|reason| FrontendError::ReadBuildFile {
            filename: path.to_string(),
            reason,
        })?;
    let local = LocalSource {
        name: opts.context_local.clone(),
        session_id: opts.session_id.clone(),
        shared_key_hint: path.clone(),
        follow_paths: vec![path.clone()],
        differ: "none".into(),
        options: OpOptions {
            custom_name: Some(format!("[internal] load {path}")),
            ..Default::default()
        },
        ..Default::default()
    };
    let reference = bridge.solve(Definition::marshal(&local.state()).pb).await?;
    if bridge.stat_file(&reference, &path).await?.is_none() {
        return Ok(None);
    }
    let bytes = bridge.read_file(&reference, &path).await?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| FrontendError::ReadBuildFile {
            filename: path,
            reason: "it is not UTF-8 text".into(),
        })
}
