//! `conveyor plan`: the stage graph of a build file with each stage's signature, without
//! a daemon. Base images are not resolved offline: they are signed by their reference
//! text (a build against a daemon signs them by their resolved digest).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::context::{self, Filter};
use crate::dockerfile;
use crate::graph::{self, Base, SignatureSources, StageGraph};

use super::Failure;

/// What `plan` was asked.
pub struct PlanRequest {
    pub file: Option<PathBuf>,
    pub context: PathBuf,
    pub target: Option<String>,
    pub build_args: BTreeMap<String, String>,
    pub platform: String,
    pub json: bool,
    /// `--env`: werf's environment name (`.Env` in werf.yaml templates).
    pub env: String,
}

#[derive(Serialize)]
struct Plan {
    target: String,
    platform: String,
    stages: Vec<PlannedStage>,
}

#[derive(Serialize)]
struct PlannedStage {
    index: usize,
    name: String,
    base: String,
    signature: String,
    /// Stages this one reads (FROM, COPY --from, RUN --mount from=).
    depends_on: Vec<String>,
    inputs: Vec<PlannedInput>,
}

#[derive(Serialize)]
struct PlannedInput {
    name: String,
    digest: String,
}

fn base_text(graph: &StageGraph, base: &Base) -> String {
    match base {
        Base::Image { reference, .. } => format!("image {reference}"),
        Base::Stage(id) => format!("stage {}", graph.stage(*id).display_name()),
        Base::Scratch => "scratch".into(),
    }
}

/// `.dockerignore` patterns: `<build file>.dockerignore` beside the build file wins over
/// the context's, as with the stock frontend.
fn dockerignore(file: &Path, context_dir: &Path) -> Vec<String> {
    let specific = PathBuf::from(format!("{}.dockerignore", file.display()));
    [specific, context_dir.join(".dockerignore")]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .map(|text| context::parse_dockerignore(&text))
        .unwrap_or_default()
}

pub fn plan(request: &PlanRequest) -> Result<String, Failure> {
    let file = request.file.clone().unwrap_or_else(|| {
        let dockerfile = request.context.join("Dockerfile");
        let werf_yaml = request.context.join("werf.yaml");
        if !dockerfile.exists() && werf_yaml.exists() {
            werf_yaml
        } else {
            dockerfile
        }
    });
    let file_name = file.display().to_string();
    let text = std::fs::read_to_string(&file)
        .map_err(|error| Failure::input(format!("cannot read {file_name}: {error}")))?;
    if crate::werf::is_werf_config(&file_name, &text) {
        let ignore = dockerignore(&file, &request.context);
        return super::plan_werf::plan(request, &file_name, &text, ignore);
    }
    let parsed =
        dockerfile::parse(&text).map_err(|e| Failure::input(e.located(&file_name, &text)))?;
    let mut build_args = graph::platform_args(&request.platform, &request.platform);
    build_args.extend(request.build_args.clone());
    let stage_graph = graph::from_dockerfile(&parsed, &build_args)
        .map_err(|e| Failure::input(e.located(&file_name, &text)))?;
    let selection = stage_graph
        .select(request.target.as_deref())
        .map_err(|e| Failure::input(e.located(&file_name, &text)))?;

    let filter = Filter {
        exclude_patterns: dockerignore(&file, &request.context),
        ..Filter::default()
    };
    let context_dir = request.context.clone();
    let mut context_digest = |paths: &[String]| -> Result<String, String> {
        let sources: Vec<&str> = paths.iter().map(String::as_str).collect();
        context::digest_paths(&context_dir, &sources, &filter).map_err(|error| error.to_string())
    };
    let mut sources = SignatureSources {
        dockerfile_text: &text,
        platform: &request.platform,
        build_args: &build_args,
        image_digests: &BTreeMap::new(),
        context_digest: &mut context_digest,
    };
    let signed =
        graph::signatures(&stage_graph, &selection, &mut sources).map_err(Failure::input)?;

    let stages: Vec<PlannedStage> = selection
        .order
        .iter()
        .map(|&id| {
            let stage = stage_graph.stage(id);
            let signature = &signed[&id];
            PlannedStage {
                index: stage.index,
                name: stage.display_name(),
                base: base_text(&stage_graph, &stage.base),
                signature: signature.signature.clone(),
                depends_on: stage_graph
                    .stage_dependencies(id)
                    .into_iter()
                    .map(|dep| stage_graph.stage(dep).display_name())
                    .collect(),
                inputs: signature
                    .inputs
                    .iter()
                    .map(|i| PlannedInput {
                        name: i.name.clone(),
                        digest: i.digest.clone(),
                    })
                    .collect(),
            }
        })
        .collect();
    let plan = Plan {
        target: stage_graph.stage(selection.target).display_name(),
        platform: request.platform.clone(),
        stages,
    };
    if request.json {
        return Ok(serde_json::to_string_pretty(&plan).expect("a plan is JSON") + "\n");
    }
    Ok(render_text(&plan))
}

fn render_text(plan: &Plan) -> String {
    let mut out = format!(
        "target {} for {}, {} stage(s)\n",
        plan.target,
        plan.platform,
        plan.stages.len()
    );
    for stage in &plan.stages {
        out.push_str(&format!(
            "\nstage {} {}  {}\n",
            stage.index, stage.name, stage.signature
        ));
        out.push_str(&format!("  base: {}\n", stage.base));
        if !stage.depends_on.is_empty() {
            out.push_str(&format!("  needs: {}\n", stage.depends_on.join(", ")));
        }
        for input in &stage.inputs {
            out.push_str(&format!("  {:<24} {}\n", input.name, short(&input.digest)));
        }
    }
    out
}

/// `sha256:` and the first 12 hex digits, as docker prints ids.
fn short(digest: &str) -> &str {
    &digest[..digest.len().min(19)]
}

/// `KEY=VALUE`, or `KEY` alone meaning the variable's value in this environment (as
/// docker does).
pub fn parse_build_arg(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        None if !text.is_empty() => Ok((text.to_string(), std::env::var(text).unwrap_or_default())),
        _ => Err(format!("invalid build arg {text:?}: expected KEY=VALUE")),
    }
}
