//! The image history (`docker history`): one record per Dockerfile step, with the step as
//! BuildKit writes it (`RUN /bin/sh -c … # buildkit`, `COPY file /dst # buildkit`), the
//! frontend's comment, and the layer size. The creation times are left out: every build
//! has its own.

use serde::Deserialize;

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct HistoryEntry {
    #[serde(rename = "CreatedBy")]
    pub created_by: String,
    #[serde(rename = "Comment")]
    pub comment: String,
    /// As docker prints it (`0B` for a step that made no layer or an empty one).
    #[serde(rename = "Size")]
    pub size: String,
}

/// From `docker history --no-trunc --format '{{json .}}'`: one JSON object a line, the
/// newest step first.
pub fn parse_history(output: &str) -> Result<Vec<HistoryEntry>, String> {
    output
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .map_err(|error| format!("docker history printed {line:?}: {error}"))
        })
        .collect()
}

/// A line per step that differs, counted from the oldest (the base image's first step is 0).
pub fn diff_history(stock: &[HistoryEntry], under_test: &[HistoryEntry]) -> Vec<String> {
    let oldest_first = |entries: &[HistoryEntry]| entries.iter().rev().cloned().collect::<Vec<_>>();
    let (stock, under_test) = (oldest_first(stock), oldest_first(under_test));
    let mut differences = Vec::new();
    for index in 0..stock.len().max(under_test.len()) {
        match (stock.get(index), under_test.get(index)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => differences.push(format!(
                "history step {index}: stock {} ≠ under test {}",
                describe(a),
                describe(b)
            )),
        }
    }
    differences
}

fn describe(entry: Option<&HistoryEntry>) -> String {
    match entry {
        None => "(none)".to_string(),
        Some(entry) => format!(
            "{:?} (comment {:?}, size {})",
            entry.created_by, entry.comment, entry.size
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Two lines of what docker 26.1 printed for a built image, newest first.
    const PRINTED: &str = r#"{"Comment":"buildkit.dockerfile.v0","CreatedAt":"2026-11-25T20:03:34Z","CreatedBy":"RUN /bin/sh -c echo hi \u003e /f # buildkit","CreatedSince":"About a minute ago","ID":"sha256:1a0d","Size":"3B"}
{"Comment":"","CreatedAt":"2026-11-25T19:20:00Z","CreatedBy":"","CreatedSince":"1 hour ago","ID":"\u003cmissing\u003e","Size":"2MB"}
"#;

    #[test]
    fn history_lines_give_steps_comments_and_sizes() {
        let history = parse_history(PRINTED).unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(
            history[0].created_by,
            "RUN /bin/sh -c echo hi > /f # buildkit"
        );
        assert_eq!(history[0].comment, "buildkit.dockerfile.v0");
        assert_eq!(history[0].size, "3B");
    }

    #[test]
    fn a_changed_step_and_a_missing_step_are_reported_from_the_oldest() {
        let stock = parse_history(PRINTED).unwrap();
        assert_eq!(diff_history(&stock, &stock), Vec::<String>::new());
        let mut changed = stock.clone();
        changed[0].size = "4B".into();
        let differences = diff_history(&stock, &changed);
        assert_eq!(differences.len(), 1, "{differences:?}");
        assert!(
            differences[0].starts_with("history step 1: "),
            "{differences:?}"
        );
        assert!(differences[0].contains("size 4B"), "{differences:?}");
        let differences = diff_history(&stock, &stock[1..]);
        assert_eq!(
            differences,
            [
                r#"history step 1: stock "RUN /bin/sh -c echo hi > /f # buildkit" (comment "buildkit.dockerfile.v0", size 3B) ≠ under test (none)"#
            ]
        );
    }
}
