//! Golden directories: `testdata/dockerfile/ok/<case>/Dockerfile` must parse and dump to
//! `expected`; `testdata/dockerfile/err/<case>/Dockerfile` must fail with the rendered
//! message in `expected`. `UPDATE_GOLDEN=1 cargo test --lib dockerfile` rewrites them
//! (read every rewritten file before committing it).

use super::parse;
use std::path::{Path, PathBuf};

fn cases(kind: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/dockerfile")
        .join(kind);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|err| panic!("{}: {err}", root.display()))
        .map(|entry| entry.expect("readable dir entry").path())
        .filter(|path| path.join("Dockerfile").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn compare(dir: &Path, actual: &str, failures: &mut Vec<String>) {
    let expected_path = dir.join("expected");
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&expected_path, actual).expect("write expected");
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    if expected != actual {
        failures.push(format!(
            "{}:\n--- expected\n{expected}\n--- actual\n{actual}",
            dir.display()
        ));
    }
}

#[test]
fn ok_cases_parse_and_dump_as_expected() {
    let mut failures = Vec::new();
    let dirs = cases("ok");
    assert!(dirs.len() >= 10, "only {} ok cases", dirs.len());
    for dir in &dirs {
        let text = std::fs::read_to_string(dir.join("Dockerfile")).expect("read Dockerfile");
        let actual = match parse(&text) {
            Ok(dockerfile) => dockerfile.dump(),
            Err(err) => format!("UNEXPECTED ERROR\n{}\n", err.located("Dockerfile", &text)),
        };
        compare(dir, &actual, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn err_cases_fail_with_expected_message() {
    let mut failures = Vec::new();
    let dirs = cases("err");
    assert!(dirs.len() >= 5, "only {} err cases", dirs.len());
    for dir in &dirs {
        let text = std::fs::read_to_string(dir.join("Dockerfile")).expect("read Dockerfile");
        let actual = match parse(&text) {
            Ok(dockerfile) => format!("UNEXPECTED SUCCESS\n{}", dockerfile.dump()),
            Err(err) => format!("{}\n", err.located("Dockerfile", &text)),
        };
        compare(dir, &actual, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
