//! `--print=targets` (the `frontend.targets` subrequest) as data, and its comparison.

use serde::Deserialize;

/// One build target as the frontend describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `None` for an unnamed last stage.
    pub name: Option<String>,
    pub description: Option<String>,
    /// The FROM argument as written (`${BASE}`, a stage name, `scratch`).
    pub base: Option<String>,
    pub default: bool,
    /// Line of the FROM, counted in the Dockerfile as written (lines the test prepended
    /// to it are taken off).
    pub line: Option<u64>,
}

/// The printed JSON also has `sources`, the Dockerfile text itself: left out, because
/// the Dockerfile under test has the `# syntax=` line more and nothing else.
#[derive(Deserialize)]
struct Printed {
    targets: Vec<PrintedTarget>,
}

#[derive(Deserialize)]
struct PrintedTarget {
    name: Option<String>,
    description: Option<String>,
    base: Option<String>,
    #[serde(default)]
    default: bool,
    location: Option<Location>,
}

#[derive(Deserialize)]
struct Location {
    ranges: Vec<Range>,
}

#[derive(Deserialize)]
struct Range {
    start: Position,
}

#[derive(Deserialize)]
struct Position {
    line: u64,
}

/// Parses `--print=targets,format=json`; `prepended_lines` is how many lines the test
/// put before the Dockerfile as written (the `# syntax=` line under test).
pub fn parse_targets(json: &str, prepended_lines: u64) -> Result<Vec<Target>, String> {
    let printed: Printed = serde_json::from_str(json)
        .map_err(|error| format!("--print=targets printed no target list: {error}\n{json}"))?;
    Ok(printed
        .targets
        .into_iter()
        .map(|target| Target {
            name: target.name,
            description: target.description,
            base: target.base,
            default: target.default,
            line: target
                .location
                .and_then(|location| location.ranges.first().map(|range| range.start.line))
                .map(|line| line.saturating_sub(prepended_lines)),
        })
        .collect())
}

/// The stage names, in order (unnamed stages left out).
pub fn target_names(targets: &[Target]) -> Vec<&str> {
    targets
        .iter()
        .filter_map(|target| target.name.as_deref())
        .collect()
}

/// A line per target that differs or is missing on one side.
pub fn diff_targets(stock: &[Target], under_test: &[Target]) -> Vec<String> {
    let mut differences = Vec::new();
    if target_names(stock) != target_names(under_test) {
        differences.push(format!(
            "targets: stock {:?} ≠ under test {:?}",
            target_names(stock),
            target_names(under_test)
        ));
    }
    for index in 0..stock.len().max(under_test.len()) {
        let (stock_target, test_target) = (stock.get(index), under_test.get(index));
        if stock_target != test_target {
            differences.push(format!(
                "target #{index}: stock {stock_target:?} ≠ under test {test_target:?}"
            ));
        }
    }
    differences
}

#[cfg(test)]
mod tests {
    use super::*;

    // What buildx 0.13.1 printed for a three-stage Dockerfile on the harness daemon.
    const PRINTED: &str = r#"{
      "targets": [
        {"name": "b", "base": "${BASE}", "location": {"ranges": [{"start": {"line": 3}, "end": {"line": 3}}]}},
        {"name": "c", "description": "the c stage", "base": "b", "location": {"ranges": [{"start": {"line": 6}, "end": {"line": 6}}]}},
        {"default": true, "base": "scratch", "location": {"ranges": [{"start": {"line": 8}, "end": {"line": 8}}]}}
      ],
      "sources": ["IyBjb21tZW50Cg=="]
    }"#;

    #[test]
    fn printed_targets_give_names_bases_descriptions_and_lines() {
        let targets = parse_targets(PRINTED, 0).unwrap();
        assert_eq!(target_names(&targets), ["b", "c"]);
        assert_eq!(targets[1].description.as_deref(), Some("the c stage"));
        assert_eq!(targets[0].base.as_deref(), Some("${BASE}"));
        assert!(targets[2].default && targets[2].name.is_none());
        assert_eq!(targets[2].line, Some(8));
        // Under test the Dockerfile has a `# syntax=` line more.
        assert_eq!(parse_targets(PRINTED, 1).unwrap()[2].line, Some(7));
    }

    #[test]
    fn a_renamed_target_is_reported() {
        let stock = parse_targets(PRINTED, 0).unwrap();
        let mut under_test = stock.clone();
        under_test[1].name = Some("d".into());
        let differences = diff_targets(&stock, &under_test);
        assert_eq!(differences.len(), 2, "{differences:?}");
        assert_eq!(
            differences[0],
            r#"targets: stock ["b", "c"] ≠ under test ["b", "d"]"#
        );
        assert!(differences[1].starts_with("target #1: "), "{differences:?}");
        assert_eq!(diff_targets(&stock, &stock), Vec::<String>::new());
    }
}
