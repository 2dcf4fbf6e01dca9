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

/// BuildKit's parser testfiles (`testdata/dockerfile/buildkit-parser/`) that also have
/// an `expected` dump or message of ours: kept beside BuildKit's `result` rather than
/// copied into `ok/` and `err/`.
#[test]
fn buildkit_parser_cases_dump_as_expected() {
    let dirs: Vec<_> = crate::golden::cases("dockerfile/buildkit-parser")
        .into_iter()
        .filter(|dir| dir.join("expected").is_file())
        .collect();
    assert!(
        dirs.len() >= 10,
        "only {} buildkit-parser cases with expected",
        dirs.len()
    );
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|dir| {
            let text = read(dir);
            let actual = match parse(&text) {
                Ok(dockerfile) => dockerfile.dump(),
                Err(err) => format!("{}\n", err.located("Dockerfile", &text)),
            };
            crate::golden::compare(dir, &actual)
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
