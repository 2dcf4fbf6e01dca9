//! Building a werf.yaml through the frontend: render and load it, expand the stage
//! conveyor into the stage graph, resolve base images through the bridge, lower, solve.
//!
//! The frontend sees the build context, not a git repository: templates render with
//! the context's files (`.Files`, the `.werf/**/*.tmpl` partials; see `werf_files`),
//! `.Commit.Hash` from the `vcs:revision` buildx sends for a context in a git work tree
//! (no `.Commit.Date`: buildx sends no date; using it, or `.Commit` without
//! `vcs:revision`, is an error saying so), `.Env` is the build arg
//! `CONVEYOR_WERF_ENV`, and `env "X"` reads the build arg `X`. Remote git mappings
//! are resolved to commits through BuildKit (see `werf_git`).

use std::collections::BTreeMap;

use crate::graph;
use crate::llb::{Definition, LocalSource, OpOptions, Platform};
use crate::lower::{self, ResolvedBases};
use crate::werf::{self, TemplateEnv, template::CommitInfo};

use super::bridge::Bridge;
use super::build::{default_platform, has_cap, read_dockerignore};
use super::frontend::{BuildFile, FrontendError, FrontendResult};
use super::lowering;
use super::opts::FrontendOpts;
use super::werf_files::with_context_files;
use super::werf_git::resolve_remote_commits;

/// The build arg that sets `.Env`.
pub const WERF_ENV_ARG: &str = "CONVEYOR_WERF_ENV";

/// `.Commit` as the frontend knows it: the hash from `vcs:revision`, no date.
pub fn frontend_commit(vcs_revision: Option<&str>) -> Result<CommitInfo, String> {
    match vcs_revision {
        Some(hash) => Ok(CommitInfo {
            hash: hash.to_string(),
            date: Err(
                "the buildx frontend gets the commit's hash (vcs:revision) but not its date; .Commit.Date is available with `conveyor plan`"
                    .into(),
            ),
        }),
        None => Err(
            "the buildx frontend got no git commit (buildx sends vcs:revision for a context in a git work tree unless BUILDX_GIT_INFO=0); .Commit is available with `conveyor plan`"
                .into(),
        ),
    }
}

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
            commit: frontend_commit(opts.vcs_revision.as_deref()),
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
    let mut loaded = load(bridge, opts, file).await?;
    for image in &mut loaded.config.dockerfile_images {
        image.text = read_context_file(bridge, opts, &image.dockerfile.value).await?;
    }
    resolve_remote_commits(bridge, opts, &mut loaded.config).await?;
    let pong = bridge.ping().await?;
    let build_platform = default_platform(&pong);
    let target = match &opts.target {
        Some(target) => target.clone(),
        None => loaded.config.last_image_name().unwrap_or_default(),
    };
    // `--platform` wins; else an image listing several platforms (its own `platform`
    // or `build.platform`) is built once for each, as werf does.
    let listed = loaded.config.image_platforms(&target);
    let platforms = if !opts.platforms.is_empty() {
        opts.platforms.clone()
    } else if listed.len() > 1 && opts.stage.is_none() {
        listed
            .iter()
            .map(|text| super::opts::parse_platform(text))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        vec![build_platform.clone()]
    };
    let shared = Shared {
        loaded: &loaded,
        file,
        target: &target,
        build_platform: &build_platform,
        merge_op: has_cap(&pong.llb_caps, "mergeop"),
        exclude_patterns: read_dockerignore(bridge, opts, &file.reference).await?,
    };
    if platforms.len() == 1 && !opts.multi_platform {
        let lowered = lower_for_platform(bridge, opts, &shared, &platforms[0]).await?;
        return super::build::solve_lowered(bridge, opts, lowered).await;
    }
    let builds = platforms.iter().map(|platform| {
        let shared = &shared;
        async move {
            let lowered = lower_for_platform(bridge, opts, shared, platform).await?;
            let solved = super::build::solve_lowered(bridge, opts, lowered).await?;
            Ok::<_, FrontendError>((platform.clone(), solved))
        }
    });
    Ok(super::build::multi_platform_result(
        futures_util::future::try_join_all(builds).await?,
    ))
}

/// What every platform of a werf build shares.
struct Shared<'a> {
    loaded: &'a werf::Loaded,
    file: &'a BuildFile,
    /// The image built (`--target`, else the file's last).
    target: &'a str,
    build_platform: &'a Platform,
    merge_op: bool,
    exclude_patterns: Vec<String>,
}

/// The build for one target platform: the stage graph with its platform ARGs, base
/// images resolved for it, stored stages, lowered.
async fn lower_for_platform(
    bridge: &Bridge,
    opts: &FrontendOpts,
    shared: &Shared<'_>,
    platform: &Platform,
) -> Result<lower::Lowered, FrontendError> {
    let (loaded, file) = (shared.loaded, shared.file);
    let rendered = &loaded.rendered;
    let input = |e: graph::GraphError| FrontendError::Input(e.located(&file.name, rendered));
    let platform_args = graph::platform_args(&shared.build_platform.id(), &platform.id());
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
        None => stage_graph.select(Some(shared.target)).map_err(input)?,
    };

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
            platform,
            build_args: &platform_args,
            config_digests: &config_digests,
            exclude_patterns: &shared.exclude_patterns,
            text: rendered,
            werf: true,
        },
    )
    .await?;
    let mut options = lowering::werf_options(
        platform.clone(),
        platform_args,
        lowering::context_ref(
            &opts.context_local,
            &opts.session_id,
            shared.exclude_patterns.clone(),
        ),
        shared.merge_op,
    );
    options.reused_stages = reused_stages;
    options.host_dirs =
        lowering::host_dir_refs(opts.host_dirs.iter().map(String::as_str), &opts.session_id);
    lower::lower(&stage_graph, &selection, &bases, &options)
        .map_err(|e| FrontendError::Input(e.located(&file.name, rendered)))
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
    let reference = bridge.solve(&Definition::marshal(&local.state())).await?;
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
