//! Building an image: the build file → stage graph → selected stages → base images
//! resolved through the bridge → LLB → solved, returned with its image config.

use std::collections::BTreeMap;

use crate::dockerfile::Dockerfile;
use crate::graph;
use crate::llb::{Definition, LocalSource, OpOptions, Platform};
use crate::lower::{self, NamedContext, ResolvedBases};

use super::bridge::Bridge;
use super::frontend::{BuildFile, FrontendError, FrontendResult};
use super::lowering;
use super::opts::FrontendOpts;
use super::stored;

/// The platform builds are for when the client names none: the first worker's first.
pub(super) fn default_platform(
    pong: &crate::proto::moby::buildkit::v1::frontend::PongResponse,
) -> Platform {
    pong.workers
        .first()
        .and_then(|worker| worker.platforms.first())
        .map(|p| Platform::new(&p.os, &p.architecture, &p.variant))
        .unwrap_or_else(|| Platform::new("linux", "amd64", ""))
}

pub(super) fn has_cap(
    caps: &[crate::proto::moby::buildkit::v1::apicaps::ApiCap],
    id: &str,
) -> bool {
    caps.iter().any(|cap| cap.id == id && cap.enabled)
}

/// `.dockerignore` patterns: `<build file>.dockerignore` beside the build file wins over
/// the context's `.dockerignore`, as with the stock frontend.
pub(super) async fn read_dockerignore(
    bridge: &Bridge,
    opts: &FrontendOpts,
    build_file_ref: &str,
) -> Result<Vec<String>, FrontendError> {
    let specific = format!("{}.dockerignore", opts.filename);
    if bridge.stat_file(build_file_ref, &specific).await?.is_some() {
        let bytes = bridge.read_file(build_file_ref, &specific).await?;
        return Ok(crate::context::parse_dockerignore(
            &String::from_utf8_lossy(&bytes),
        ));
    }
    read_local_dockerignore(
        bridge,
        &opts.session_id,
        &opts.context_local,
        ".dockerignore",
        "[internal] load .dockerignore",
    )
    .await
}

/// The patterns of `.dockerignore` at the top of a directory the client sends.
async fn read_local_dockerignore(
    bridge: &Bridge,
    session_id: &str,
    local_name: &str,
    shared_key_hint: &str,
    vertex_name: &str,
) -> Result<Vec<String>, FrontendError> {
    let local = LocalSource {
        name: local_name.to_string(),
        session_id: session_id.to_string(),
        shared_key_hint: shared_key_hint.to_string(),
        follow_paths: vec![".dockerignore".into()],
        differ: "none".into(),
        options: OpOptions {
            custom_name: Some(vertex_name.to_string()),
            ..Default::default()
        },
        ..Default::default()
    };
    let reference = bridge.solve(&Definition::marshal(&local.state())).await?;
    if bridge
        .stat_file(&reference, ".dockerignore")
        .await?
        .is_none()
    {
        return Ok(Vec::new());
    }
    let bytes = bridge.read_file(&reference, ".dockerignore").await?;
    Ok(crate::context::parse_dockerignore(
        &String::from_utf8_lossy(&bytes),
    ))
}

/// The `context:NAME` options, each told apart; a `local:` directory's excludes read
/// from its own `.dockerignore`, an `input:` context's result asked of the bridge, as
/// the stock frontend does. Returns them with the image configs `input:` contexts
/// carry (`input-metadata:KEY`), by their reference.
async fn named_contexts(
    bridge: &Bridge,
    opts: &FrontendOpts,
) -> Result<(BTreeMap<String, NamedContext>, BTreeMap<String, Vec<u8>>), FrontendError> {
    let invalid = |name: &str, value: &str, reason: String| {
        FrontendError::Opts(super::opts::OptsError::Invalid {
            key: "context",
            reason: format!("{name}={value}: {reason}"),
        })
    };
    let mut out = BTreeMap::new();
    let mut input_configs = BTreeMap::new();
    let mut inputs = None;
    for (name, value) in &opts.named_contexts {
        if let Some(key) = value.strip_prefix("input:") {
            if inputs.is_none() {
                inputs = Some(bridge.inputs().await?);
            }
            let definition = inputs
                .as_ref()
                .and_then(|inputs| inputs.get(key))
                .cloned()
                .ok_or_else(|| invalid(name, value, format!("the client sent no input {key}")))?;
            let state = crate::llb::State::from_definition(definition)
                .map_err(|reason| invalid(name, value, reason))?;
            let config = match opts.input_metadata.get(key) {
                Some(json) => input_config(json).map_err(|reason| {
                    invalid(name, value, format!("input-metadata:{key}: {reason}"))
                })?,
                None => None,
            };
            let reference = value.clone();
            if let Some(config) = config {
                input_configs.insert(reference.clone(), config);
            }
            let has_config = input_configs.contains_key(&reference);
            out.insert(
                name.clone(),
                NamedContext::Input {
                    reference,
                    state,
                    has_config,
                },
            );
            continue;
        }
        // `NAME::PLATFORM` names the context NAME (for one platform).
        let bare = name
            .split_once("::")
            .map_or(name.as_str(), |(bare, _)| bare);
        let mut named =
            NamedContext::parse(bare, value).map_err(|reason| invalid(name, value, reason))?;
        if let NamedContext::Local {
            name: local_name,
            exclude_patterns,
        } = &mut named
        {
            *exclude_patterns = read_local_dockerignore(
                bridge,
                &opts.session_id,
                local_name,
                &format!("context:{name}-.dockerignore"),
                &format!("[context {name}] load .dockerignore"),
            )
            .await?;
        }
        out.insert(name.clone(), named);
    }
    Ok((out, input_configs))
}

/// The image config in an `input-metadata:KEY` value: a JSON object whose
/// `containerimage.config` is the config JSON, base64-encoded (Go's `[]byte`).
fn input_config(json: &str) -> Result<Option<Vec<u8>>, String> {
    use base64::Engine;
    let metadata: BTreeMap<String, String> =
        serde_json::from_str(json).map_err(|error| error.to_string())?;
    metadata
        .get("containerimage.config")
        .map(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|error| format!("containerimage.config: {error}"))
        })
        .transpose()
}

/// The named contexts of one platform's build: `NAME::PLATFORM` (bake's per-platform
/// results of a multi-platform target) wins over `NAME` for that platform, and is
/// left out of the others.
fn contexts_for_platform(
    all: &BTreeMap<String, NamedContext>,
    platform: &Platform,
) -> BTreeMap<String, NamedContext> {
    let id = platform.id();
    let mut out: BTreeMap<String, NamedContext> = all
        .iter()
        .filter(|(name, _)| !name.contains("::"))
        .map(|(name, named)| (name.clone(), named.clone()))
        .collect();
    for (name, named) in all {
        if let Some((bare, for_platform)) = name.split_once("::")
            && for_platform == id
        {
            out.insert(bare.to_string(), named.clone());
        }
    }
    out
}

/// An image the daemon could not resolve, placed where the build file names it, with
/// the stage the user may have meant (`COPY --from=biuld` for a stage `build`).
fn unresolvable(
    stage_graph: &graph::StageGraph,
    reference: &str,
    reason: &str,
    file: &BuildFile,
) -> FrontendError {
    let span = stage_graph
        .stages
        .iter()
        .flat_map(|stage| {
            std::iter::once(&stage.base).chain(
                stage
                    .steps
                    .iter()
                    .flat_map(|step| step.dependencies.iter().map(|d| &d.on)),
            )
        })
        .find_map(|base| match base {
            graph::Base::Image {
                reference: written,
                span,
            } if written == reference => Some(*span),
            _ => None,
        })
        .unwrap_or_default();
    let hint = match stage_graph.suggest_stage(reference) {
        Some(stage) => format!("; did you mean stage {stage:?}?"),
        None => String::new(),
    };
    let message = format!("cannot resolve image {reference:?}: {reason}{hint}");
    FrontendError::Input(crate::diag::Located::new(
        &file.name, &file.text, span, message,
    ))
}

/// What every platform of a build shares.
struct Shared<'a> {
    file: &'a BuildFile,
    dockerfile: &'a Dockerfile,
    build_platform: Platform,
    merge_op: bool,
    exclude_patterns: Vec<String>,
    /// Every `context:` option, `NAME::PLATFORM` ones included.
    named_contexts: BTreeMap<String, NamedContext>,
    /// The image configs of `input:` contexts, by their reference.
    input_configs: BTreeMap<String, Vec<u8>>,
}

pub async fn build_image(
    bridge: &Bridge,
    opts: &FrontendOpts,
    file: &BuildFile,
    dockerfile: &Dockerfile,
) -> Result<FrontendResult, FrontendError> {
    let pong = bridge.ping().await?;
    let (named_contexts, input_configs) = named_contexts(bridge, opts).await?;
    let shared = Shared {
        file,
        dockerfile,
        build_platform: default_platform(&pong),
        merge_op: has_cap(&pong.llb_caps, "mergeop"),
        exclude_patterns: read_dockerignore(bridge, opts, &file.reference).await?,
        named_contexts,
        input_configs,
    };
    let platforms = match opts.platforms.as_slice() {
        [] => vec![shared.build_platform.clone()],
        list => list.to_vec(),
    };
    if !opts.multi_platform {
        let lowered = lower_for_platform(bridge, opts, &shared, &platforms[0]).await?;
        return solve_lowered(bridge, opts, lowered).await;
    }
    // Several platforms: one build each, at once.
    let builds = platforms.iter().map(|platform| {
        let shared = &shared;
        async move {
            let lowered = lower_for_platform(bridge, opts, shared, platform).await?;
            let solved = solve_lowered(bridge, opts, lowered).await?;
            Ok::<_, FrontendError>((platform.clone(), solved))
        }
    });
    Ok(multi_platform_result(
        futures_util::future::try_join_all(builds).await?,
    ))
}

/// One build per platform as BuildKit's multi-platform result: a ref per platform
/// with `containerimage.config/<platform>`, and `refs.platforms` listing them (which
/// exporters turn into an image index).
pub(super) fn multi_platform_result(builds: Vec<(Platform, FrontendResult)>) -> FrontendResult {
    let mut result = FrontendResult {
        reference: None,
        platform_refs: BTreeMap::new(),
        metadata: BTreeMap::new(),
    };
    let mut listed = Vec::new();
    for (platform, solved) in builds {
        let id = platform.id();
        if let Some(reference) = solved.reference {
            result.platform_refs.insert(id.clone(), reference);
        }
        for (key, value) in solved.metadata {
            result.metadata.insert(format!("{key}/{id}"), value);
        }
        let mut oci =
            serde_json::json!({ "architecture": platform.architecture, "os": platform.os });
        if !platform.variant.is_empty() {
            oci["variant"] = platform.variant.clone().into();
        }
        listed.push(serde_json::json!({ "id": id, "platform": oci }));
    }
    result.metadata.insert(
        "refs.platforms".to_string(),
        serde_json::to_vec(&serde_json::json!({ "platforms": listed }))
            .expect("JSON values serialize"),
    );
    result
}

/// The build for one target platform: its stage graph (the platform ARGs differ),
/// base images resolved for it, stored stages, lowered.
async fn lower_for_platform(
    bridge: &Bridge,
    opts: &FrontendOpts,
    shared: &Shared<'_>,
    platform: &Platform,
) -> Result<lower::Lowered, FrontendError> {
    let file = shared.file;
    let input = |located| FrontendError::Input(located);
    let mut build_args = graph::platform_args(&shared.build_platform.id(), &platform.id());
    build_args.extend(opts.build_args.clone());
    let stage_graph = graph::from_dockerfile(shared.dockerfile, &build_args)
        .map_err(|e| input(e.located(&file.name, &file.text)))?;
    let selection = match opts.stage {
        Some(index) if index < stage_graph.stages.len() => {
            stage_graph.select_stage(graph::StageId(index))
        }
        Some(_) => {
            return Err(FrontendError::Opts(super::opts::OptsError::Invalid {
                key: "conveyor.stage",
                reason: format!("the build file has {} stages", stage_graph.stages.len()),
            }));
        }
        None => stage_graph
            .select(opts.target.as_deref())
            .map_err(|e| input(e.located(&file.name, &file.text)))?,
    };

    let named_contexts = &contexts_for_platform(&shared.named_contexts, platform);
    // A name a named context stands for is not an image; the image it names is.
    let mut references: Vec<String> = stage_graph
        .external_images(&selection)
        .into_iter()
        .filter(|reference| !named_contexts.contains_key(reference))
        .collect();
    references.extend(
        named_contexts
            .values()
            .filter_map(NamedContext::image)
            .map(str::to_string),
    );
    let mut bases = ResolvedBases::new();
    let mut config_digests = BTreeMap::new();
    for reference in references {
        if bases.contains_key(&reference) {
            continue;
        }
        let normalized = lower::normalize_reference(&reference);
        // BuildKit names the vertex `[linux/arm64 internal] …` in a multi-platform build.
        let internal = if opts.multi_platform {
            format!("{} internal", platform.id())
        } else {
            "internal".to_string()
        };
        let resolved = bridge
            .resolve_image_config(
                &normalized,
                &platform.to_pb(),
                &opts.image_resolve_mode,
                &format!("[{internal}] load metadata for {normalized}"),
            )
            .await
            .map_err(|error| unresolvable(&stage_graph, &reference, &error.to_string(), file))?;
        config_digests.insert(
            reference.clone(),
            crate::storage::config_digest(&resolved.config),
        );
        let base = lowering::resolved_base(&reference, resolved.digest, &resolved.config)?;
        bases.insert(reference, base);
    }

    // An OCI layout's config comes from the client's content store over the session,
    // as the stock frontend resolves it.
    for (name, named) in named_contexts {
        let NamedContext::OciLayout { store, reference } = named else {
            continue;
        };
        let resolved = bridge
            .resolve_oci_layout_config(
                reference,
                &platform.to_pb(),
                (&opts.session_id, store),
                &format!("[context {name}] load metadata for {reference}"),
            )
            .await?;
        config_digests.insert(
            reference.clone(),
            crate::storage::config_digest(&resolved.config),
        );
        let base = lowering::resolved_base(reference, resolved.digest, &resolved.config)?;
        bases.insert(reference.clone(), base);
    }

    for (reference, config) in &shared.input_configs {
        bases.insert(
            reference.clone(),
            lowering::resolved_base(reference, String::new(), config)?,
        );
    }

    for (name, named) in named_contexts {
        let digest = named
            .config_reference()
            .and_then(|image| config_digests.get(image).cloned());
        if let Some(digest) = digest {
            config_digests.insert(name.clone(), digest);
        }
    }
    // The storage is read only when every input has a digest to sign: a directory,
    // git or URL context or another build's result has none here, so its stages
    // always build.
    let reused_stages = if named_contexts.values().any(|n| !n.is_pinned_image()) {
        lower::ReusedStages::new()
    } else {
        stored::reused_stages(
            bridge,
            opts,
            &stage_graph,
            &selection,
            stored::Signing {
                platform,
                build_args: &build_args,
                config_digests: &config_digests,
                exclude_patterns: &shared.exclude_patterns,
                text: &file.text,
                werf: false,
            },
        )
        .await?
    };
    let options = lower::Options {
        named_contexts: named_contexts.clone(),
        reused_stages,
        prefix_platform: opts.multi_platform,
        ..lowering::dockerfile_options(
            platform.clone(),
            opts.build_args.clone(),
            lowering::context_ref(
                &opts.context_local,
                &opts.session_id,
                shared.exclude_patterns.clone(),
            ),
            &file.name,
            &file.text,
            shared.merge_op,
        )
    };
    lower::lower(&stage_graph, &selection, &bases, &options)
        .map_err(|e| input(e.located(&file.name, &file.text)))
}

/// Solves a lowered build and returns it with its image config: the storage's stage
/// labels added, every RUN and COPY uncached under `--no-cache`. Dockerfiles and werf
/// configs end the same way.
pub(super) async fn solve_lowered(
    bridge: &Bridge,
    opts: &FrontendOpts,
    mut lowered: lower::Lowered,
) -> Result<FrontendResult, FrontendError> {
    lowered
        .image_config
        .config
        .labels
        .extend(opts.stage_labels.clone());
    let mut definition = lowered.definition;
    if opts.no_cache {
        super::nocache::ignore_cache_of_runs_and_copies(&mut definition);
    }
    let reference = bridge.solve(&definition).await?;
    let metadata = BTreeMap::from([(
        "containerimage.config".to_string(),
        lowered.image_config.to_json(),
    )]);
    Ok(FrontendResult {
        reference: Some(reference),
        platform_refs: BTreeMap::new(),
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_config_is_the_base64_of_containerimage_config() {
        // As buildx writes it: Go's json of map[string][]byte.
        let json =
            r#"{"containerimage.buildinfo":"e30=","containerimage.config":"eyJvcyI6ImxpbnV4In0="}"#;
        assert_eq!(
            input_config(json).unwrap(),
            Some(br#"{"os":"linux"}"#.to_vec())
        );
        assert_eq!(
            input_config(r#"{"containerimage.buildinfo":"e30="}"#).unwrap(),
            None
        );
        assert!(
            input_config(r#"{"containerimage.config":"%%"}"#)
                .unwrap_err()
                .starts_with("containerimage.config: ")
        );
    }

    #[test]
    fn a_context_for_a_platform_wins_for_that_platform_only() {
        let image = |reference: &str| NamedContext::Image(reference.to_string());
        let all = BTreeMap::from([
            ("base".to_string(), image("any")),
            ("base::linux/arm64".to_string(), image("arm")),
            ("tools::linux/arm64".to_string(), image("arm-tools")),
        ]);
        let arm = contexts_for_platform(&all, &Platform::new("linux", "arm64", ""));
        assert_eq!(
            arm,
            BTreeMap::from([
                ("base".to_string(), image("arm")),
                ("tools".to_string(), image("arm-tools"))
            ])
        );
        let amd = contexts_for_platform(&all, &Platform::new("linux", "amd64", ""));
        assert_eq!(amd, BTreeMap::from([("base".to_string(), image("any"))]));
    }
}
