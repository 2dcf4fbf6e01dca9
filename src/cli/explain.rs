//! `conveyor explain`: per selected stage, "reused" when the stages storage holds its
//! signature, else which inputs changed since the newest stored image of the same
//! stage (same `conveyor.config` and `conveyor.stage` labels).

use std::fmt::Write as _;

use crate::graph::{Base, StageGraph, StageId};
use crate::storage::diff::{self, FileChange, InputChange};
use crate::storage::{self, StageLabels};

use super::Failure;
use super::stages::{self, BuildSpec, Loaded};

pub fn explain(spec: &BuildSpec, repo: &str) -> Result<String, Failure> {
    let loaded = stages::load(spec)?;
    let storage = stages::open_storage(repo, &loaded.platform)?;
    stages::runtime()?.block_on(async {
        let digests = stages::resolve_images(&loaded).await?;
        let mut imports = stages::ImportDigests::new();
        let signed = loaded
            .sign_stored(&digests, &storage, &mut imports, &mut |_| {})
            .await?;
        let today = loaded.stage_labels(&signed)?;
        let records = storage.list().await.map_err(Failure::build)?;
        let mut out = String::new();
        for &id in &loaded.selection.order {
            let Some(labels) = today.get(&id) else {
                let name = loaded.stage_graph.stage(id).display_name();
                let waits_for = loaded.waits_for(&signed, id).join(", ");
                writeln!(
                    out,
                    "stage {name}: signature: after {waits_for} is built (the content imported from it signs this stage)"
                )
                .expect("a String");
                continue;
            };
            let heading = format!("stage {}", labels.stage);
            if let Some(found) = storage
                .lookup(&labels.signature)
                .await
                .map_err(Failure::build)?
            {
                writeln!(out, "{heading}: reused {}", found.reference).expect("a String");
                continue;
            }
            match storage::newest(&records, &labels.config, &labels.stage) {
                None => writeln!(
                    out,
                    "{heading}: built: no stored image of this stage in {}",
                    storage.repository()
                )
                .expect("a String"),
                Some(record) => {
                    writeln!(out, "{heading}: built: changed since {}", record.reference)
                        .expect("a String");
                    for line in describe(&loaded, id, &record.labels, labels) {
                        writeln!(out, "  {line}").expect("a String");
                    }
                }
            }
        }
        Ok(out)
    })
}

/// One line per changed input (one per file for context inputs with file lists).
fn describe(
    loaded: &Loaded,
    id: StageId,
    stored: &StageLabels,
    today: &StageLabels,
) -> Vec<String> {
    let stage_graph = &loaded.stage_graph;
    let mut lines = Vec::new();
    for change in diff::diff_inputs(&stored.inputs, &today.inputs) {
        match change {
            InputChange::Changed {
                name,
                old,
                new,
                files,
                ..
            } => {
                if name.starts_with("context ") && !files.is_empty() {
                    let what = step_text(loaded, id, &name);
                    for file in files {
                        lines.push(match file {
                            FileChange::Changed { path, old, new } => {
                                format!("{what}: file {path} changed: {old} -> {new}")
                            }
                            FileChange::Added { path, digest } => {
                                format!("{what}: file {path} added: {digest}")
                            }
                            FileChange::Removed { path, digest } => {
                                format!("{what}: file {path} removed (was {digest})")
                            }
                        });
                    }
                    continue;
                }
                lines.push(changed_line(loaded, stage_graph, id, &name, &old, &new));
            }
            InputChange::Added { name, .. } => lines.push(format!("{name}: new input")),
            InputChange::Removed { name, .. } => lines.push(format!("{name}: no longer an input")),
        }
    }
    lines
}

fn changed_line(
    loaded: &Loaded,
    stage_graph: &StageGraph,
    id: StageId,
    name: &str,
    old: &str,
    new: &str,
) -> String {
    let stage = stage_graph.stage(id);
    if name == "from" {
        return match &stage.base {
            Base::Stage(parent) => {
                format!(
                    "parent changed (stage {})",
                    stage_graph.stage(*parent).display_name()
                )
            }
            Base::Image { reference, .. } => {
                format!("base image {reference} changed: {old} -> {new}")
            }
            Base::Scratch => format!("base changed: {old} -> {new}"),
        };
    }
    if name == "platform" {
        return format!("platform changed (now {})", loaded.platform);
    }
    if let Some(arg) = name.strip_prefix("arg ") {
        let value = loaded
            .build_args
            .get(arg)
            .map_or_else(|| "its default".to_string(), |v| format!("{v:?}"));
        return format!("build arg {arg} changed (now {value})");
    }
    if name.starts_with("step ") {
        return format!("instruction changed: {}", step_text(loaded, id, name));
    }
    if name.starts_with("from-stage ") || name.starts_with("from-image ") {
        return format!(
            "{} reads a changed source: {old} -> {new}",
            step_text(loaded, id, name)
        );
    }
    if name.starts_with("context ") {
        return format!(
            "{}: context files changed: {old} -> {new}",
            step_text(loaded, id, name)
        );
    }
    format!("{name} changed: {old} -> {new}")
}

/// `step N …` / `context N` / `from-stage N` → today's instruction N as written (its
/// first line), or the input's name when the stage has no such step.
fn step_text(loaded: &Loaded, id: StageId, name: &str) -> String {
    let index = name
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse::<usize>().ok());
    let step = index.and_then(|i| loaded.stage_graph.stage(id).steps.get(i));
    match step {
        Some(step) => {
            let span = step.instruction.span;
            let text = loaded.text.get(span.start..span.end).unwrap_or_default();
            let first = text.lines().next().unwrap_or_default().trim();
            format!("`{first}`")
        }
        None => name.to_string(),
    }
}
