//! Tests for the template engine: constructs and functions as tables of
//! (template, expected output), errors with exact positions, golden configs
//! under testdata/werf/templates, and a no-panic run over mutated inputs.

mod constructs;
mod errors;
mod funcs;
mod fuzz;
mod golden;

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{CommitDate, CommitInfo, MemoryFiles, TemplateEnv, render};

pub fn env_with(files: &[(&str, &str)]) -> TemplateEnv {
    let files = MemoryFiles {
        files: files
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    let mut env_vars = BTreeMap::new();
    env_vars.insert("HOME_DIR".to_string(), "/home/u".to_string());
    env_vars.insert("EMPTY".to_string(), String::new());
    TemplateEnv {
        env: "production".into(),
        commit: Ok(CommitInfo {
            hash: "0123abcd".into(),
            date: Ok(CommitDate {
                human: "2024-05-01 10:00:00 +0000 UTC".into(),
                unix: 1714557600,
            }),
        }),
        files: Arc::new(files),
        env_vars,
    }
}

/// Renders `text` as `werf.yaml` with a few files; errors as their one-line text.
pub fn run(text: &str) -> Result<String, String> {
    run_with(text, &[])
}

pub fn run_with(text: &str, files: &[(&str, &str)]) -> Result<String, String> {
    render("werf.yaml", text, &env_with(files)).map_err(|e| e.to_string())
}

/// Checks a table of (template, expected output or `ERR:` + error text).
pub fn check_table(cases: &[(&str, &str)]) {
    let mut failures = Vec::new();
    for (text, expected) in cases {
        let got = match run(text) {
            Ok(out) => out,
            Err(e) => format!("ERR:{e}"),
        };
        if got != *expected {
            failures.push(format!(
                "template: {text:?}\n   want: {expected:?}\n    got: {got:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
