//! The `frontend.outline` answer: the graph's outline of the target in the stock
//! frontend's JSON (`result.json`) and table (`result.txt`) forms.

use std::collections::BTreeMap;

use base64::prelude::{BASE64_STANDARD, Engine as _};
use serde::Serialize;

use crate::diag::LineIndex;
use crate::graph::{Outline, OutlineMount};

use super::subrequests::{Location, result, table};

#[derive(Serialize)]
struct OutlineJson {
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    args: Vec<ArgJson>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    secrets: Vec<MountJson>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ssh: Vec<MountJson>,
    /// The build file, base64 as Go writes `[][]byte`.
    sources: Vec<String>,
}

#[derive(Serialize)]
struct ArgJson {
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    value: String,
    location: Location,
}

#[derive(Serialize)]
struct MountJson {
    name: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    required: bool,
    location: Location,
}

/// The subrequest's metadata for `outline` of the build file `source`.
pub fn outline_result(outline: &Outline, source: &str) -> BTreeMap<String, Vec<u8>> {
    let index = LineIndex::new(source);
    let mounts = |mounts: &[OutlineMount]| -> Vec<MountJson> {
        mounts
            .iter()
            .map(|m| MountJson {
                name: m.id.clone(),
                required: m.required,
                location: Location::of_span(source, &index, m.span),
            })
            .collect()
    };
    let json = OutlineJson {
        name: outline.name.clone().unwrap_or_default(),
        description: outline.description.clone().unwrap_or_default(),
        args: outline
            .args
            .iter()
            .map(|a| ArgJson {
                name: a.name.clone(),
                description: a.description.clone().unwrap_or_default(),
                value: a.value.clone().unwrap_or_default(),
                location: Location::of_span(source, &index, a.span),
            })
            .collect(),
        secrets: mounts(&outline.secrets),
        ssh: mounts(&outline.ssh),
        sources: vec![BASE64_STANDARD.encode(source.as_bytes())],
    };
    let text = outline_text(&json);
    result(
        serde_json::to_vec_pretty(&json).expect("the outline is JSON"),
        text,
    )
}

/// The table BuildKit's `PrintOutline` writes: a TARGET block when the target has a
/// name or description, then build args, secrets and ssh, each followed by a blank line.
fn outline_text(outline: &OutlineJson) -> String {
    let mut text = String::new();
    if !outline.name.is_empty() || !outline.description.is_empty() {
        let name = match outline.name.as_str() {
            "" => "(default)",
            name => name,
        };
        let mut rows = vec![("TARGET:", name)];
        if !outline.description.is_empty() {
            rows.push(("DESCRIPTION:", &outline.description));
        }
        // tabwriter with padding 1: labels padded to the longest plus one space.
        let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0) + 1;
        for (label, value) in rows {
            text.push_str(&format!("{label:width$}{value}\n"));
        }
        text.push('\n');
    }
    if !outline.args.is_empty() {
        let rows: Vec<[String; 3]> = outline
            .args
            .iter()
            .map(|a| [a.name.clone(), a.value.clone(), a.description.clone()])
            .collect();
        text.push_str(&table(&["BUILD ARG", "VALUE", "DESCRIPTION"], &rows, 3));
        text.push('\n');
    }
    for (header, mounts) in [("SECRET", &outline.secrets), ("SSH", &outline.ssh)] {
        if mounts.is_empty() {
            continue;
        }
        let rows: Vec<[String; 2]> = mounts
            .iter()
            .map(|m| {
                let required = if m.required { "true" } else { "" };
                [m.name.clone(), required.to_string()]
            })
            .collect();
        text.push_str(&table(&[header, "REQUIRED"], &rows, 3));
        text.push('\n');
    }
    text
}
