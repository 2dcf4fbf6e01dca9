//! `conveyor build --progress`: the tty display and the rawjson stream, against the
//! real dockerd.

mod common;

use std::fs;

use common::conveyor::{built, busybox, conveyor, files_context, write};
use common::unique;

/// `--progress tty` redraws a block of steps with terminal escapes and ends with the
/// summary.
#[test]
fn tty_progress_redraws_the_steps_in_place() {
    let work = tempfile::tempdir().unwrap();
    files_context(work.path(), &unique("tty"));
    let run = conveyor(
        &[
            "build",
            "--progress=tty",
            "--output",
            "type=local,dest=../out",
            ".",
        ],
        &work.path().join("context"),
    );
    built(&run);
    assert!(run.stderr.contains("\x1b[1A\x1b[2K"), "{:?}", run.stderr);
    assert!(
        run.stderr
            .contains(" => [make 2/2] RUN mkdir -p /out/nested"),
        "{:?}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("\n#1 "),
        "no plain lines: {:?}",
        run.stderr
    );
    let last = run.stderr.lines().last().unwrap();
    assert!(
        last.starts_with("built in ") && last.ends_with(" cached"),
        "{last}"
    );
}

/// `--progress rawjson`: stderr is nothing but JSON lines, in BuildKit's SolveStatus
/// shape — a RUN that really ran shows as a completed vertex with its output in a log —
/// and conveyor's own summary is a `{"conveyor": …}` line.
#[test]
fn rawjson_progress_writes_only_solve_status_json_lines() {
    use base64::Engine;
    let work = tempfile::tempdir().unwrap();
    let marker = unique("rawjson");
    write(
        &work.path().join("context/Dockerfile"),
        &format!(
            "FROM {}\nRUN echo {marker} && echo {marker} > /out.txt\n",
            busybox()
        ),
    );
    let run = conveyor(
        &[
            "build",
            "--progress",
            "rawjson",
            "--output",
            "type=local,dest=../out",
            ".",
        ],
        &work.path().join("context"),
    );
    built(&run);
    let lines = json_lines(&run.stderr);
    let run_vertex = vertexes(&lines)
        .find(|v| {
            v["name"].as_str().is_some_and(|n| n.contains(&marker))
                && v["completed"].as_str().is_some_and(|t| t.ends_with('Z'))
        })
        .unwrap_or_else(|| panic!("no completed RUN vertex in:\n{}", run.stderr));
    assert!(
        run_vertex["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert!(run_vertex.get("cached").is_none(), "{run_vertex}");
    let output: Vec<u8> = lines
        .iter()
        .filter_map(|line| line["logs"].as_array())
        .flatten()
        .filter(|log| log["vertex"] == run_vertex["digest"])
        .flat_map(|log| {
            base64::engine::general_purpose::STANDARD
                .decode(log["data"].as_str().unwrap())
                .unwrap()
        })
        .collect();
    assert!(
        String::from_utf8_lossy(&output).contains(&format!("{marker}\n")),
        "{}",
        run.stderr
    );
    let summary = lines.last().unwrap()["conveyor"].as_str().unwrap_or("");
    assert!(summary.starts_with("built in "), "{}", run.stderr);
    assert_eq!(
        fs::read_to_string(work.path().join("out/out.txt")).unwrap(),
        format!("{marker}\n")
    );
}

/// A failing step under `--progress rawjson`: the vertex carries the error, and the
/// failure itself is a `{"conveyor": "conveyor: …"}` line, so stderr stays all JSON.
#[test]
fn rawjson_progress_writes_a_failure_as_json_too() {
    let work = tempfile::tempdir().unwrap();
    let marker = unique("rawjson-fail");
    write(
        &work.path().join("Dockerfile"),
        &format!("FROM {}\nRUN echo {marker} && exit 3\n", busybox()),
    );
    let run = conveyor(&["build", "--progress=rawjson", "."], work.path());
    assert_eq!(run.code, 1, "{}", run.stderr);
    let lines = json_lines(&run.stderr);
    let failed = vertexes(&lines).any(|v| {
        v["name"].as_str().is_some_and(|n| n.contains(&marker))
            && v["error"]
                .as_str()
                .is_some_and(|e| e.contains("exit code: 3"))
    });
    assert!(failed, "no failed RUN vertex in:\n{}", run.stderr);
    let last = lines.last().unwrap()["conveyor"].as_str().unwrap_or("");
    assert!(last.starts_with("conveyor: "), "{}", run.stderr);
    assert!(last.contains("exit code: 3"), "{}", run.stderr);
}

/// Each line of `stderr` as JSON; a line that is not fails the test.
fn json_lines(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}\n{stderr}"))
        })
        .collect()
}

/// Every vertex of every SolveStatus line, in order.
fn vertexes(lines: &[serde_json::Value]) -> impl Iterator<Item = &serde_json::Value> {
    lines
        .iter()
        .filter_map(|line| line["vertexes"].as_array())
        .flatten()
}
