//! Folding the Control `Status` stream into the state of each vertex: what ran, what
//! was cached, what failed and what it printed.

use std::collections::HashMap;

use crate::proto::moby::buildkit::v1::StatusResponse;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VertexState {
    pub digest: String,
    pub name: String,
    pub cached: bool,
    pub started: bool,
    pub completed: bool,
    pub error: String,
    /// stdout and stderr of the vertex, interleaved as received.
    pub logs: Vec<u8>,
}

/// The vertex a failed build stopped at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedVertex {
    pub digest: String,
    pub name: String,
    /// The last lines the vertex printed.
    pub log_tail: String,
}

/// Every vertex the daemon reported, in the order first seen.
#[derive(Clone, Debug, Default)]
pub struct BuildProgress {
    vertexes: Vec<VertexState>,
    by_digest: HashMap<String, usize>,
}

const LOG_TAIL_LINES: usize = 10;

impl BuildProgress {
    fn vertex(&mut self, digest: &str) -> &mut VertexState {
        let index = *self.by_digest.entry(digest.to_string()).or_insert_with(|| {
            self.vertexes.push(VertexState {
                digest: digest.to_string(),
                ..Default::default()
            });
            self.vertexes.len() - 1
        });
        &mut self.vertexes[index]
    }

    pub fn apply(&mut self, status: &StatusResponse) {
        for reported in &status.vertexes {
            let vertex = self.vertex(&reported.digest);
            if !reported.name.is_empty() {
                vertex.name = reported.name.clone();
            }
            vertex.cached |= reported.cached;
            vertex.started |= reported.started.is_some();
            vertex.completed |= reported.completed.is_some();
            if !reported.error.is_empty() {
                vertex.error = reported.error.clone();
            }
        }
        for log in &status.logs {
            self.vertex(&log.vertex).logs.extend_from_slice(&log.msg);
        }
    }

    pub fn vertexes(&self) -> &[VertexState] {
        &self.vertexes
    }

    pub fn get(&self, digest: &str) -> Option<&VertexState> {
        self.by_digest.get(digest).map(|&i| &self.vertexes[i])
    }

    /// The vertex that failed: the one named by the daemon's error, else the first
    /// that reported an error of its own (not a cancellation caused by another).
    pub fn failed(&self, digest_from_error: Option<&str>) -> Option<FailedVertex> {
        let vertex = digest_from_error
            .and_then(|digest| self.get(digest))
            .or_else(|| {
                self.vertexes
                    .iter()
                    .find(|v| !v.error.is_empty() && !v.error.contains("context canceled"))
            })
            .or_else(|| self.vertexes.iter().find(|v| !v.error.is_empty()))?;
        let logs = String::from_utf8_lossy(&vertex.logs);
        let lines: Vec<&str> = logs.lines().collect();
        let log_tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
        Some(FailedVertex {
            digest: vertex.digest.clone(),
            name: vertex.name.clone(),
            log_tail,
        })
    }
}
