//! Subrequests: answers to `requestid=frontend.*` instead of a build, what
//! `docker buildx build --print=targets|outline` (buildx ≥ 0.15: `--call`) shows.

use std::collections::BTreeMap;

use base64::prelude::{BASE64_STANDARD, Engine as _};
use serde::Serialize;

use crate::diag::{LineIndex, Span};
use crate::dockerfile::Dockerfile;

pub const DESCRIBE: &str = "frontend.subrequests.describe";
pub const TARGETS: &str = "frontend.targets";
pub const OUTLINE: &str = "frontend.outline";

const VERSION: &str = "1.0.0";

/// One subrequest in the `describe` answer; Go writes every field, nil lists as `null`.
#[derive(Serialize)]
struct Request {
    name: &'static str,
    version: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    description: &'static str,
    opts: Option<Vec<Named>>,
    inputs: Option<Vec<Named>>,
    metadata: Vec<Named>,
    refs: Option<Vec<Named>>,
}

#[derive(Serialize)]
struct Named {
    name: &'static str,
    description: &'static str,
}

/// A location in the build file as the subrequest answers carry it: 1-based lines,
/// zero fields left out (Go's omitempty).
#[derive(Serialize, Clone)]
pub struct Location {
    #[serde(rename = "sourceIndex", skip_serializing_if = "is_zero")]
    source_index: i32,
    ranges: Vec<Range>,
}

#[derive(Clone, Serialize)]
struct Range {
    start: Position,
    end: Position,
}

#[derive(Clone, Serialize)]
struct Position {
    #[serde(skip_serializing_if = "is_zero")]
    line: i32,
}

fn is_zero(value: &i32) -> bool {
    *value == 0
}

impl Location {
    /// The lines `span` covers in `source`.
    pub fn of_span(source: &str, index: &LineIndex, span: Span) -> Location {
        let start = index.line_col(source, span.start).line;
        let end = index
            .line_col(source, span.end.saturating_sub(1).max(span.start))
            .line;
        Location::lines(start, end)
    }

    pub fn lines(start: usize, end: usize) -> Location {
        Location {
            source_index: 0,
            ranges: vec![Range {
                start: Position { line: start as i32 },
                end: Position { line: end as i32 },
            }],
        }
    }
}

#[derive(Serialize)]
struct Target {
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    default: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    base: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    platform: String,
    location: Location,
}

#[derive(Serialize)]
struct TargetList {
    targets: Vec<Target>,
    /// The build files, base64 in JSON as Go writes `[][]byte`.
    sources: Vec<String>,
}

/// The metadata of a subrequest's result: `result.json`, `result.txt`, `version`.
pub(super) fn result(json: Vec<u8>, text: String) -> BTreeMap<String, Vec<u8>> {
    BTreeMap::from([
        ("result.json".to_string(), json),
        ("result.txt".to_string(), text.into_bytes()),
        ("version".to_string(), VERSION.as_bytes().to_vec()),
    ])
}

/// The subrequests this frontend answers, in the stock frontend's order and words.
pub fn describe() -> BTreeMap<String, Vec<u8>> {
    let named = |name| Named {
        name,
        description: "",
    };
    let request = |name, description, opts| Request {
        name,
        version: VERSION,
        kind: "rpc",
        description,
        opts,
        inputs: None,
        metadata: vec![named("result.json"), named("result.txt")],
        refs: None,
    };
    let requests = vec![
        request(
            OUTLINE,
            "List all parameters current build target supports",
            Some(vec![Named {
                name: "target",
                description: "Target build stage",
            }]),
        ),
        request(
            TARGETS,
            "List all targets current build supports",
            Some(Vec::new()),
        ),
        request(DESCRIBE, "List available subrequest types", None),
    ];
    let json = serde_json::to_vec_pretty(&requests).expect("describe is JSON");
    let rows: Vec<[String; 3]> = requests
        .iter()
        .map(|r| {
            [
                r.name.trim_start_matches("frontend.").to_string(),
                r.version.to_string(),
                r.description.to_string(),
            ]
        })
        .collect();
    let text = table(&["NAME", "VERSION", "DESCRIPTION"], &rows, 1);
    result(json, text)
}

/// Every stage as a target, the last one the default (what `--print=targets` lists).
pub fn targets(dockerfile: &Dockerfile, source: &str) -> BTreeMap<String, Vec<u8>> {
    let index = LineIndex::new(source);
    let targets: Vec<Target> = dockerfile
        .stages
        .iter()
        .map(|stage| Target {
            name: stage.name.clone().unwrap_or_default(),
            default: stage.index + 1 == dockerfile.stages.len(),
            description: stage.description.clone().unwrap_or_default(),
            base: stage.from.text.clone(),
            platform: stage
                .platform
                .as_ref()
                .map(|p| p.text.clone())
                .unwrap_or_default(),
            location: Location::of_span(source, &index, stage.from_span),
        })
        .collect();
    targets_result(targets, source)
}

/// The `--print=targets` answer for these targets of the build file `source`.
fn targets_result(targets: Vec<Target>, source: &str) -> BTreeMap<String, Vec<u8>> {
    let rows: Vec<[String; 2]> = targets
        .iter()
        .map(|t| {
            let name = match (t.name.is_empty(), t.default) {
                (true, true) => "(default)".to_string(),
                (false, true) => format!("{} (default)", t.name),
                _ => t.name.clone(),
            };
            [name, t.description.clone()]
        })
        .collect();
    let text = table(&["TARGET", "DESCRIPTION"], &rows, 1);
    let list = TargetList {
        targets,
        sources: vec![BASE64_STANDARD.encode(source.as_bytes())],
    };
    result(
        serde_json::to_vec_pretty(&list).expect("targets are JSON"),
        text,
    )
}

/// `--print=targets` of a werf config: its images and artifacts in file order, the
/// last one the default (what the frontend builds without `--target`).
pub fn werf_targets(config: &crate::werf::WerfConfig, rendered: &str) -> BTreeMap<String, Vec<u8>> {
    let index = LineIndex::new(rendered);
    let mut images: Vec<(crate::diag::Span, String, String, &str)> = config
        .images
        .iter()
        .map(|image| {
            let base = match &image.stapel.from {
                crate::werf::FromBase::Image(reference) => reference.value.clone(),
                crate::werf::FromBase::Config(name) => name.value.clone(),
            };
            let kind = if image.is_artifact {
                "artifact"
            } else {
                "image"
            };
            (image.span, image.name.clone(), base, kind)
        })
        .chain(config.dockerfile_images.iter().map(|image| {
            (
                image.span,
                image.name.clone(),
                image.dockerfile.value.clone(),
                "Dockerfile image",
            )
        }))
        .collect();
    images.sort_by_key(|(span, ..)| span.start);
    let n_images = images.len();
    let targets = images
        .into_iter()
        .enumerate()
        .map(|(i, (span, name, base, kind))| {
            let line = index.line_col(rendered, span.start).line;
            Target {
                name,
                default: i + 1 == n_images,
                description: kind.to_string(),
                base,
                platform: String::new(),
                location: Location::lines(line, line),
            }
        })
        .collect();
    targets_result(targets, rendered)
}

/// Columns padded to their widest cell plus `padding` spaces, as Go's tabwriter does
/// (every cell but the last of a row is padded).
pub(super) fn table<const N: usize>(
    header: &[&str; N],
    rows: &[[String; N]],
    padding: usize,
) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let header_row: [String; N] = header.map(str::to_string);
    for row in std::iter::once(&header_row).chain(rows) {
        for (i, cell) in row.iter().enumerate() {
            text.push_str(cell);
            if i + 1 < N {
                text.push_str(&" ".repeat(widths[i] + padding - cell.chars().count()));
            }
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_list_every_stage_with_the_last_as_default() {
        let source = "ARG B=busybox\nFROM ${B} AS build\nRUN true\n\nFROM --platform=linux/amd64 build\nCMD x\n";
        let dockerfile = crate::dockerfile::parse(source).unwrap();
        let metadata = targets(&dockerfile, source);
        let json: serde_json::Value = serde_json::from_slice(&metadata["result.json"]).unwrap();
        assert_eq!(
            json["targets"],
            serde_json::json!([
                {"name": "build", "base": "${B}", "location": {"ranges": [{"start": {"line": 2}, "end": {"line": 2}}]}},
                {"default": true, "base": "build", "platform": "linux/amd64",
                 "location": {"ranges": [{"start": {"line": 5}, "end": {"line": 5}}]}}
            ])
        );
        assert_eq!(
            String::from_utf8_lossy(&metadata["result.txt"]),
            "TARGET    DESCRIPTION\nbuild     \n(default) \n"
        );
        assert_eq!(metadata["version"], b"1.0.0");
    }
}
