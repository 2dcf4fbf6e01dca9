//! Golden directories: `testdata/dockerfile/ok/<case>/Dockerfile` must parse and dump to
//! `expected`; `testdata/dockerfile/err/<case>/Dockerfile` must fail with the rendered
//! message in `expected`. `UPDATE_GOLDEN=1 cargo test --lib dockerfile` rewrites them
//! (read every rewritten file before committing it).

use std::path::Path;

use super::parse;
use crate::golden::check_cases;

fn read(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("Dockerfile")).expect("read Dockerfile")
}

#[test]
fn ok_cases_parse_and_dump_as_expected() {
    check_cases("dockerfile/ok", 10, |dir| {
        let text = read(dir);
        match parse(&text) {
            Ok(dockerfile) => dockerfile.dump(),
            Err(err) => format!("UNEXPECTED ERROR\n{}\n", err.located("Dockerfile", &text)),
        }
    });
}

#[test]
fn err_cases_fail_with_expected_message() {
    check_cases("dockerfile/err", 5, |dir| {
        let text = read(dir);
        match parse(&text) {
            Ok(dockerfile) => format!("UNEXPECTED SUCCESS\n{}", dockerfile.dump()),
            Err(err) => format!("{}\n", err.located("Dockerfile", &text)),
        }
    });
}
