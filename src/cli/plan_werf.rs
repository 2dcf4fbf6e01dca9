//! `conveyor plan werf.yaml`: each image's stage conveyor with every stage's signature,
//! the stages skipped as empty, and the edges between images.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::context::{self, Filter};
use crate::graph::{
    self, Base, GitFiles, Selection, SignatureSources, StageGraph, StageId, WerfSources,
};
use crate::werf::{self, TemplateEnv, template::ProjectDir};

use super::Failure;
use super::plan::PlanRequest;

#[derive(Serialize)]
struct WerfPlan {
    project: String,
    platform: String,
    images: Vec<PlannedImage>,
}

#[derive(Serialize)]
struct PlannedImage {
    name: String,
    artifact: bool,
    /// `final: false`: a helper image.
    is_final: bool,
    stages: Vec<PlannedWerfStage>,
}

#[derive(Serialize)]
struct PlannedWerfStage {
    name: String,
    /// `None` when skipped.
    signature: Option<String>,
    skipped: Option<String>,
    /// The stage it is built on: `image <ref>`, `scratch` or `stage <image>/<stage>`.
    base: Option<String>,
    /// Stages of other images it reads (imports).
    imports: Vec<String>,
    /// The last stages of the images it depends on (`dependencies`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dependencies: Vec<String>,
    inputs: Vec<PlannedInput>,
}

#[derive(Serialize)]
struct PlannedInput {
    name: String,
    digest: String,
}

/// The template environment for a project directory: its files, its git HEAD (or why
/// there is none), the process environment for `env`, and `--env`.
pub fn template_env(dir: &Path, env_name: &str) -> Result<TemplateEnv, Failure> {
    let files = ProjectDir::new(dir).map_err(|error| {
        Failure::input(format!(
            "cannot read the project directory {}: {error}",
            dir.display()
        ))
    })?;
    Ok(TemplateEnv {
        env: env_name.to_string(),
        commit: werf::commit_of(dir),
        files: Arc::new(files),
        env_vars: std::env::vars().collect(),
    })
}

/// Resolves the ref of every remote git mapping with `git ls-remote` and records the
/// commits in the config; returns them as the frontend option `conveyor.git-commits`
/// takes them, so that a build uses the commits its stages were signed with.
pub fn resolve_remote_commits(
    config: &mut werf::WerfConfig,
) -> Result<Vec<crate::gateway::GitCommit>, Failure> {
    let mut commits = BTreeMap::new();
    let mut given = Vec::new();
    for (url, git_ref) in config.remote_refs() {
        let commit = werf::resolve_remote_ref(&url, &git_ref)
            .map_err(|reason| Failure::input(format!("git {url}: {reason}")))?;
        given.push(crate::gateway::GitCommit {
            url: url.clone(),
            git_ref: git_ref.to_string(),
            commit: commit.clone(),
        });
        commits.insert((url, git_ref), commit);
    }
    config.set_resolved_commits(&commits);
    Ok(given)
}

/// The content digest of a git mapping's files in the context at `dir`.
pub fn git_digest(dir: &Path, ignore: &[String], files: &GitFiles) -> Result<String, String> {
    let mut exclude_patterns = ignore.to_vec();
    exclude_patterns.extend(files.exclude_patterns.iter().cloned());
    let filter = Filter {
        include_patterns: files.include_patterns.clone(),
        exclude_patterns,
        ..Filter::default()
    };
    let root = if files.root.is_empty() {
        "."
    } else {
        files.root.as_str()
    };
    context::digest_paths(dir, &[root], &filter).map_err(|error| error.to_string())
}

pub fn plan(
    request: &PlanRequest,
    file_name: &str,
    text: &str,
    ignore: Vec<String>,
) -> Result<String, Failure> {
    let env = template_env(&request.spec.context, &request.env)?;
    let mut loaded = werf::load(file_name, text, &env)
        .map_err(|e| Failure::input(e.located(file_name, text)))?;
    resolve_remote_commits(&mut loaded.config)?;
    let rendered = loaded.rendered.clone();
    let platform_args = graph::platform_args(&request.spec.platform, &request.spec.platform);
    let stage_graph = graph::from_werf(&loaded.config, &platform_args)
        .map_err(|e| Failure::input(e.located(file_name, &rendered)))?;
    let selection = match &request.spec.target {
        Some(target) => stage_graph
            .select(Some(target))
            .map_err(|e| Failure::input(e.located(file_name, &rendered)))?,
        None => Selection {
            target: StageId(stage_graph.stages.len() - 1),
            order: (0..stage_graph.stages.len()).map(StageId).collect(),
        },
    };
    let dir = request.spec.context.clone();
    // COPY/ADD of Dockerfile images read the context as in a Dockerfile build.
    let filter = Filter {
        exclude_patterns: ignore.clone(),
        ..Filter::default()
    };
    let mut context_digest = |paths: &[String]| -> Result<String, String> {
        let sources: Vec<&str> = paths.iter().map(String::as_str).collect();
        context::digest_paths(&dir, &sources, &filter).map_err(|error| error.to_string())
    };
    let mut digest_git = |files: &GitFiles| git_digest(&dir, &ignore, files);
    let mut werf_sources = WerfSources {
        git_digest: &mut digest_git,
        import_digest: None,
    };
    let mut sources = SignatureSources {
        dockerfile_text: &rendered,
        platform: &request.spec.platform,
        build_args: &platform_args,
        image_digests: &BTreeMap::new(),
        context_digest: &mut context_digest,
    };
    let signed = graph::signatures_with_werf(
        &stage_graph,
        &selection,
        &mut sources,
        Some(&mut werf_sources),
    )
    .map_err(Failure::input)?;

    let images = stage_graph
        .werf_images
        .iter()
        .filter(|image| {
            image
                .stages
                .iter()
                .any(|s| s.built.is_ok_and(|id| selection.order.contains(&id)))
        })
        .map(|image| PlannedImage {
            name: image.name.clone(),
            artifact: image.is_artifact,
            is_final: match loaded.config.images.iter().find(|i| i.name == image.name) {
                Some(stapel) => stapel.stapel.is_final && !stapel.is_artifact,
                None => loaded
                    .config
                    .dockerfile_images
                    .iter()
                    .find(|i| i.name == image.name)
                    .is_none_or(|i| i.is_final),
            },
            stages: image
                .stages
                .iter()
                .map(|planned| planned_stage(&stage_graph, &signed, planned))
                .collect(),
        })
        .collect();
    let plan = WerfPlan {
        project: loaded.config.project.clone(),
        platform: request.spec.platform.clone(),
        images,
    };
    if request.json {
        return Ok(serde_json::to_string_pretty(&plan).expect("a plan is JSON") + "\n");
    }
    Ok(render_text(&plan))
}

fn planned_stage(
    stage_graph: &StageGraph,
    signed: &BTreeMap<StageId, graph::StageSignature>,
    planned: &graph::WerfPlannedStage,
) -> PlannedWerfStage {
    let name = planned.kind.name().to_string();
    let id = match planned.built {
        Ok(id) => id,
        Err(reason) => {
            return PlannedWerfStage {
                name,
                signature: None,
                skipped: Some(reason.to_string()),
                base: None,
                imports: Vec::new(),
                dependencies: Vec::new(),
                inputs: Vec::new(),
            };
        }
    };
    let stage = stage_graph.stage(id);
    let display = |id: StageId| stage_graph.stage(id).display_name();
    let signature = &signed[&id];
    PlannedWerfStage {
        name,
        signature: Some(signature.signature.clone()),
        skipped: None,
        base: Some(match &stage.base {
            Base::Image { reference, .. } => format!("image {reference}"),
            Base::Stage(base) => format!("stage {}", display(*base)),
            Base::Scratch => "scratch".into(),
        }),
        imports: stage
            .werf
            .iter()
            .flat_map(|w| {
                w.imports.iter().map(|(_, on)| match on {
                    Base::Stage(id) => display(*id),
                    Base::Image { reference, .. } => format!("image {reference}"),
                    Base::Scratch => "scratch".into(),
                })
            })
            .collect(),
        dependencies: stage
            .werf
            .iter()
            .flat_map(|w| w.dependencies.iter().map(|&(_, on)| display(on)))
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
}

fn render_text(plan: &WerfPlan) -> String {
    let mut out = format!(
        "werf project {} for {}, {} image(s)\n",
        plan.project,
        plan.platform,
        plan.images.len()
    );
    for image in &plan.images {
        let kind = match (image.artifact, image.is_final) {
            (true, _) => " (artifact)",
            (false, false) => " (final: false)",
            (false, true) => "",
        };
        out.push_str(&format!("\nimage {}{kind}\n", image.name));
        for stage in &image.stages {
            match (&stage.signature, &stage.skipped) {
                (Some(signature), _) => {
                    out.push_str(&format!("  {:<26} {}\n", stage.name, short(signature)));
                }
                (None, reason) => {
                    out.push_str(&format!(
                        "  {:<26} skipped ({})\n",
                        stage.name,
                        reason.as_deref().unwrap_or_default()
                    ));
                    continue;
                }
            }
            // Only the edges worth reading: the base where it is not the stage before.
            if let Some(base) = &stage.base
                && (stage.name == "from" || stage.name == "dockerfile")
            {
                out.push_str(&format!("    base: {base}\n"));
            }
            for import in &stage.imports {
                out.push_str(&format!("    imports: {import}\n"));
            }
            for dependency in &stage.dependencies {
                out.push_str(&format!("    depends on: {dependency}\n"));
            }
            for input in &stage.inputs {
                out.push_str(&format!(
                    "    {:<24} {}\n",
                    input.name,
                    short(&input.digest)
                ));
            }
        }
    }
    out
}

fn short(digest: &str) -> &str {
    &digest[..digest.len().min(19)]
}

#[cfg(test)]
#[path = "plan_werf_tests.rs"]
mod tests;
