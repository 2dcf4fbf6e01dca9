//! `--progress rawjson`: each status batch from the daemon as one JSON line, in the
//! shape buildctl and buildx write (BuildKit's `client.SolveStatus` through Go's
//! encoding/json): the same field names, fields Go omits when empty omitted here too,
//! bytes as base64 and times as RFC 3339 with trailing zeros of the fraction dropped.
//! One difference: a warning's `sourceInfo` carries filename, data and language but not
//! the LLB definition (conveyor has no JSON form for it).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use prost_types::Timestamp;
use serde::Serialize;

use crate::proto::moby::buildkit::v1::{StatusResponse, Vertex, VertexLog, VertexStatus};
use crate::proto::pb;

#[derive(Serialize)]
struct SolveStatus {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vertexes: Vec<JsonVertex>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    statuses: Vec<JsonStatus>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logs: Vec<JsonLog>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<JsonWarning>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonVertex {
    #[serde(skip_serializing_if = "String::is_empty")]
    digest: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    inputs: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    started: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    completed: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    cached: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    progress_group: Option<JsonProgressGroup>,
}

#[derive(Serialize)]
struct JsonProgressGroup {
    #[serde(skip_serializing_if = "String::is_empty")]
    id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "is_false")]
    weak: bool,
}

#[derive(Serialize)]
struct JsonStatus {
    id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    vertex: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "is_zero")]
    total: i64,
    current: i64,
    /// A Go `time.Time` value (not a pointer): omitempty never omits it.
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    started: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    completed: Option<String>,
}

#[derive(Serialize)]
struct JsonLog {
    #[serde(skip_serializing_if = "String::is_empty")]
    vertex: String,
    #[serde(skip_serializing_if = "is_zero")]
    stream: i64,
    data: String,
    timestamp: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonWarning {
    #[serde(skip_serializing_if = "String::is_empty")]
    vertex: String,
    #[serde(skip_serializing_if = "is_zero")]
    level: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    short: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    detail: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<JsonSourceInfo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    range: Vec<JsonRange>,
}

#[derive(Serialize)]
struct JsonSourceInfo {
    #[serde(skip_serializing_if = "String::is_empty")]
    filename: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    language: String,
}

/// `start` and `end` are values in Go's struct, so always written.
#[derive(Serialize)]
struct JsonRange {
    start: JsonPosition,
    end: JsonPosition,
}

#[derive(Serialize)]
struct JsonPosition {
    #[serde(skip_serializing_if = "is_zero32")]
    line: i32,
    #[serde(skip_serializing_if = "is_zero32")]
    character: i32,
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

fn is_zero32(value: &i32) -> bool {
    *value == 0
}

/// Go's `time.Time` JSON: RFC 3339 in UTC, the fraction to nanoseconds with its trailing
/// zeros dropped (none at all for a whole second). A missing time is Go's zero time.
fn time(timestamp: Option<&Timestamp>) -> String {
    let Some(timestamp) = timestamp else {
        return "0001-01-01T00:00:00Z".to_string();
    };
    let nanos = timestamp.nanos.clamp(0, 999_999_999) as u32;
    let Some(at) = chrono::DateTime::from_timestamp(timestamp.seconds, nanos) else {
        return "0001-01-01T00:00:00Z".to_string();
    };
    let mut text = at.format("%Y-%m-%dT%H:%M:%S").to_string();
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

fn optional_time(timestamp: Option<&Timestamp>) -> Option<String> {
    timestamp.map(|t| time(Some(t)))
}

/// Go writes a `[]byte` as standard base64; an empty one under omitempty not at all.
fn bytes(data: &[u8]) -> Option<String> {
    (!data.is_empty()).then(|| STANDARD.encode(data))
}

fn vertex(vertex: &Vertex) -> JsonVertex {
    JsonVertex {
        digest: vertex.digest.clone(),
        inputs: vertex.inputs.clone(),
        name: vertex.name.clone(),
        started: optional_time(vertex.started.as_ref()),
        completed: optional_time(vertex.completed.as_ref()),
        cached: vertex.cached,
        error: vertex.error.clone(),
        progress_group: vertex.progress_group.as_ref().map(progress_group),
    }
}

fn progress_group(group: &pb::ProgressGroup) -> JsonProgressGroup {
    JsonProgressGroup {
        id: group.id.clone(),
        name: group.name.clone(),
        weak: group.weak,
    }
}

fn status(status: &VertexStatus) -> JsonStatus {
    JsonStatus {
        id: status.id.clone(),
        vertex: status.vertex.clone(),
        name: status.name.clone(),
        total: status.total,
        current: status.current,
        timestamp: time(status.timestamp.as_ref()),
        started: optional_time(status.started.as_ref()),
        completed: optional_time(status.completed.as_ref()),
    }
}

fn log(log: &VertexLog) -> JsonLog {
    JsonLog {
        vertex: log.vertex.clone(),
        stream: log.stream,
        // Not omitempty in Go, so always written (Go would write a nil slice as null;
        // prost cannot tell nil from empty, and the daemon sends no empty logs).
        data: STANDARD.encode(&log.msg),
        timestamp: time(log.timestamp.as_ref()),
    }
}

fn position(position: Option<&pb::Position>) -> JsonPosition {
    JsonPosition {
        line: position.map_or(0, |p| p.line),
        character: position.map_or(0, |p| p.character),
    }
}

/// One status batch as one line of JSON, without the newline.
pub fn status_line(response: &StatusResponse) -> String {
    let solve = SolveStatus {
        vertexes: response.vertexes.iter().map(vertex).collect(),
        statuses: response.statuses.iter().map(status).collect(),
        logs: response.logs.iter().map(log).collect(),
        warnings: response
            .warnings
            .iter()
            .map(|warning| JsonWarning {
                vertex: warning.vertex.clone(),
                level: warning.level,
                short: bytes(&warning.short),
                detail: warning.detail.iter().map(|d| STANDARD.encode(d)).collect(),
                url: warning.url.clone(),
                source_info: warning.info.as_ref().map(|info| JsonSourceInfo {
                    filename: info.filename.clone(),
                    data: bytes(&info.data),
                    language: info.language.clone(),
                }),
                range: warning
                    .ranges
                    .iter()
                    .map(|range| JsonRange {
                        start: position(range.start.as_ref()),
                        end: position(range.end.as_ref()),
                    })
                    .collect(),
            })
            .collect(),
    };
    serde_json::to_string(&solve).expect("plain structs serialize")
}

/// One of conveyor's own lines (storage notes, the summary) as a JSON line, so
/// stderr in rawjson mode holds nothing but JSON.
pub fn note_line(text: &str) -> String {
    serde_json::json!({ "conveyor": text }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64, nanos: i32) -> Option<Timestamp> {
        Some(Timestamp { seconds, nanos })
    }

    #[test]
    fn a_batch_is_written_as_buildkit_solve_status_json() {
        let response = StatusResponse {
            vertexes: vec![Vertex {
                digest: "sha256:b".into(),
                inputs: vec!["sha256:a".into()],
                name: "[2/2] RUN make".into(),
                started: at(1_700_000_000, 0),
                completed: at(1_700_000_001, 500_000_000),
                ..Vertex::default()
            }],
            statuses: vec![VertexStatus {
                id: "extracting sha256:c".into(),
                vertex: "sha256:a".into(),
                current: 0,
                timestamp: at(1_700_000_000, 123_456_789),
                ..VertexStatus::default()
            }],
            logs: vec![VertexLog {
                vertex: "sha256:b".into(),
                stream: 1,
                msg: b"hi\n".to_vec(),
                timestamp: at(1_700_000_000, 120_000),
            }],
            ..StatusResponse::default()
        };
        assert_eq!(
            status_line(&response),
            r#"{"vertexes":[{"digest":"sha256:b","inputs":["sha256:a"],"name":"[2/2] RUN make","started":"2023-11-14T22:13:20Z","completed":"2023-11-14T22:13:21.5Z"}],"statuses":[{"id":"extracting sha256:c","vertex":"sha256:a","current":0,"timestamp":"2023-11-14T22:13:20.123456789Z"}],"logs":[{"vertex":"sha256:b","stream":1,"data":"aGkK","timestamp":"2023-11-14T22:13:20.00012Z"}]}"#
        );
    }

    #[test]
    fn a_cached_vertex_with_a_group_and_notes_are_json_too() {
        let response = StatusResponse {
            vertexes: vec![Vertex {
                digest: "sha256:a".into(),
                cached: true,
                progress_group: Some(pb::ProgressGroup {
                    id: "g".into(),
                    name: "stage".into(),
                    weak: false,
                }),
                ..Vertex::default()
            }],
            ..StatusResponse::default()
        };
        assert_eq!(
            status_line(&response),
            r#"{"vertexes":[{"digest":"sha256:a","cached":true,"progressGroup":{"id":"g","name":"stage"}}]}"#
        );
        assert_eq!(note_line("a \"b\""), r#"{"conveyor":"a \"b\""}"#);
    }
}
