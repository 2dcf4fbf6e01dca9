//! Golden directories for tests: `testdata/<area>/<case>/{Dockerfile, expected}`. Each
//! case's output is compared with `expected`; `UPDATE_GOLDEN=1` rewrites `expected`
//! instead (read every rewritten file before committing it).

use std::path::{Path, PathBuf};

/// The case directories under `testdata/<area>` (those holding a Dockerfile), sorted.
pub(crate) fn cases(area: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(area);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|err| panic!("{}: {err}", root.display()))
        .map(|entry| entry.expect("readable dir entry").path())
        .filter(|path| path.join("Dockerfile").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Checks every case of `area` (at least `min_cases` of them) against its `expected`,
/// reporting all mismatches at once.
pub(crate) fn check_cases(area: &str, min_cases: usize, output: impl Fn(&Path) -> String) {
    let dirs = cases(area);
    assert!(dirs.len() >= min_cases, "only {} {area} cases", dirs.len());
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|dir| compare(dir, &output(dir)))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `None` when `actual` matches `dir/expected` (or was written to it), else the report.
pub(crate) fn compare(dir: &Path, actual: &str) -> Option<String> {
    let expected_path = dir.join("expected");
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&expected_path, actual).expect("write expected");
        return None;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    (expected != actual).then(|| {
        format!(
            "{}:\n--- expected\n{expected}\n--- actual\n{actual}",
            dir.display()
        )
    })
}
