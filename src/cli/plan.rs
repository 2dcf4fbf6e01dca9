//! `conveyor plan`: the stage graph of a build file with each stage's signature, without
//! a daemon. Base images are not resolved offline: they are signed by their reference
//! text (a build signs them by their config digest). With `--repo`, they are resolved
//! as a build resolves them, and each stage is looked up in the stages storage.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::graph::{Base, StageGraph, StageId};

use super::Failure;
use super::stages::{self, BuildSpec};

/// What `plan` was asked.
pub struct PlanRequest {
    pub spec: BuildSpec,
    /// The stages storage: resolve base images and say which stages are stored.
    pub repo: Option<String>,
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
    /// Empty for a stage that cannot be signed yet (see `waits_for`).
    signature: String,
    /// With `--repo`, for a werf stage (or one after it) importing from a stage not
    /// stored yet: the stages to be built first; their content signs it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    waits_for: Vec<String>,
    /// Stages this one reads (FROM, COPY --from, RUN --mount from=).
    depends_on: Vec<String>,
    /// With `--repo`: `reused` (stored as `stored`), `build`, `skip` (only stored
    /// stages need it), or `pending` (signed only once `waits_for` are stored: then
    /// reused or built).
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stored: Option<String>,
    inputs: Vec<PlannedInput>,
    /// With `--repo`: the labels the stage's image carries in the storage.
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<BTreeMap<String, String>>,
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

/// Per stage with `--repo`: where it is stored, if it is.
type StoredRefs = BTreeMap<StageId, String>;

pub fn plan(request: &PlanRequest) -> Result<String, Failure> {
    let file = request
        .spec
        .file
        .clone()
        .unwrap_or_else(|| stages::default_build_file(&request.spec.context));
    let file_name = file.display().to_string();
    let text = std::fs::read_to_string(&file)
        .map_err(|error| Failure::input(format!("cannot read {file_name}: {error}")))?;
    // With --repo a werf config is planned stage by stage as the build will see it
    // (see `stages::load`); without, as werf's conveyor per image.
    if crate::werf::is_werf_config(&file_name, &text) && request.repo.is_none() {
        let ignore = stages::dockerignore(&file, &request.spec.context);
        return super::plan_werf::plan(request, &file_name, &text, ignore);
    }
    let loaded = stages::load(&request.spec)?;
    let (signed, stored) = match &request.repo {
        None => (loaded.sign(&BTreeMap::new())?, None),
        Some(repo) => {
            let storage = stages::open_storage(repo, &loaded.platform)?;
            stages::runtime()?.block_on(async {
                let digests = stages::resolve_images(&loaded).await?;
                let mut imports = stages::ImportDigests::new();
                let signed = loaded
                    .sign_stored(&digests, &storage, &mut imports, &mut |_| {})
                    .await?;
                let mut stored = StoredRefs::new();
                for &id in &loaded.selection.order {
                    let Some(signature) = signed.signatures.get(&id) else {
                        continue;
                    };
                    let found = storage
                        .lookup(&signature.signature)
                        .await
                        .map_err(Failure::build)?;
                    if let Some(found) = found {
                        stored.insert(id, found.reference);
                    }
                }
                Ok::<_, Failure>((signed, Some(stored)))
            })?
        }
    };
    let mut labels = match stored {
        Some(_) => Some(loaded.stage_labels(&signed)?),
        None => None,
    };
    let stage_graph = &loaded.stage_graph;
    let selection = &loaded.selection;
    let needed = stored.as_ref().map(|stored| {
        crate::lower::prune_reused(stage_graph, selection, |id| stored.contains_key(&id)).order
    });

    let stages: Vec<PlannedStage> = selection
        .order
        .iter()
        .map(|&id| {
            let stage = stage_graph.stage(id);
            let signature = signed.signatures.get(&id);
            let stored_ref = stored.as_ref().and_then(|s| s.get(&id).cloned());
            let action = needed.as_ref().map(|needed| {
                match (&stored_ref, needed.contains(&id), signature) {
                    (Some(_), _, _) => "reused",
                    (None, true, None) => "pending",
                    (None, true, Some(_)) => "build",
                    (None, false, _) => "skip",
                }
            });
            let waits_for = match signature {
                Some(_) => Vec::new(),
                None => loaded.waits_for(&signed, id),
            };
            PlannedStage {
                index: stage.index,
                name: stage.display_name(),
                base: base_text(stage_graph, &stage.base),
                signature: signature.map_or_else(String::new, |s| s.signature.clone()),
                waits_for,
                depends_on: stage_graph
                    .stage_dependencies(id)
                    .into_iter()
                    .map(|dep| stage_graph.stage(dep).display_name())
                    .collect(),
                action,
                stored: stored_ref,
                labels: labels
                    .as_mut()
                    .and_then(|labels| labels.remove(&id))
                    .map(|labels| labels.to_labels()),
                inputs: signature
                    .map(|s| s.inputs.as_slice())
                    .unwrap_or_default()
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
        platform: loaded.platform.clone(),
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
        let signature = if stage.waits_for.is_empty() {
            stage.signature.clone()
        } else {
            format!("signature: after {} is built", stage.waits_for.join(", "))
        };
        out.push_str(&format!(
            "\nstage {} {}  {signature}\n",
            stage.index, stage.name
        ));
        out.push_str(&format!("  base: {}\n", stage.base));
        match (stage.action, &stage.stored) {
            (Some("reused"), Some(stored)) => out.push_str(&format!("  reused: {stored}\n")),
            (Some("skip"), _) => out.push_str("  skip: only stored stages need it\n"),
            (Some("pending"), _) => {
                out.push_str("  pending: signed by the content it imports, then reused or built\n")
            }
            (Some(_), _) => out.push_str("  build: not stored\n"),
            (None, _) => {}
        }
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
