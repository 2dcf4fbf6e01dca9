//! `conveyor plan`: stages and signatures of a real context on disk, no daemon.

use std::path::Path;
use std::process::Command;

fn conveyor(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_conveyor"))
        .args(args)
        .output()
        .expect("run conveyor");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn write(dir: &Path, path: &str, content: &str) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

/// Stage name → signature, from `plan --format json`.
fn signatures(dir: &Path, extra: &[&str]) -> Vec<(String, String)> {
    let dir = dir.to_str().unwrap();
    let mut args = vec!["plan", "--format", "json"];
    args.extend_from_slice(extra);
    args.push(dir);
    let (code, stdout, stderr) = conveyor(&args);
    assert_eq!(code, 0, "{stderr}");
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    plan["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["signature"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn changed(a: &[(String, String)], b: &[(String, String)]) -> Vec<String> {
    a.iter()
        .zip(b)
        .filter(|(x, y)| x.1 != y.1)
        .map(|(x, _)| x.0.clone())
        .collect()
}

const DOCKERFILE: &str = "\
FROM busybox AS tools
COPY tools/ /tools/

FROM busybox AS app
ARG MODE=release
COPY app/ /app/
RUN echo $MODE > /app/mode

FROM app AS final
COPY --from=tools /tools /usr/local/bin
";

#[test]
fn a_changed_file_resigns_only_the_stages_that_read_it() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "Dockerfile", DOCKERFILE);
    write(dir.path(), "tools/t.sh", "echo tool\n");
    write(dir.path(), "app/main.sh", "echo app\n");
    write(dir.path(), "ignored.log", "noise\n");
    write(dir.path(), ".dockerignore", "*.log\n");
    let before = signatures(dir.path(), &[]);
    assert_eq!(
        before.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
        ["tools", "app", "final"]
    );
    assert_eq!(before, signatures(dir.path(), &[]), "signatures are stable");

    write(dir.path(), "tools/t.sh", "echo tool v2\n");
    let tools_changed = signatures(dir.path(), &[]);
    assert_eq!(changed(&before, &tools_changed), ["tools", "final"]);

    write(dir.path(), "app/main.sh", "echo app v2\n");
    assert_eq!(
        changed(&tools_changed, &signatures(dir.path(), &[])),
        ["app", "final"]
    );

    let now = signatures(dir.path(), &[]);
    write(dir.path(), "ignored.log", "other noise\n");
    assert!(
        changed(&now, &signatures(dir.path(), &[])).is_empty(),
        ".dockerignored files do not count"
    );

    assert_eq!(
        changed(
            &now,
            &signatures(dir.path(), &["--build-arg", "MODE=debug"])
        ),
        ["app", "final"]
    );
    let app_only = signatures(dir.path(), &["--target", "app"]);
    assert_eq!(
        app_only,
        vec![now[1].clone()],
        "--target prunes to the stages it needs"
    );
}

#[test]
fn wrong_input_is_a_clear_one_line_error_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "Dockerfile", DOCKERFILE);
    let path = dir.path().to_str().unwrap();

    let (code, _, stderr) = conveyor(&["plan", "--target", "fnial", path]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("target stage \"fnial\" could not be found"),
        "{stderr}"
    );
    assert!(
        stderr.contains("did you mean \"final\"")
            || stderr.contains("did you mean `final`")
            || stderr.contains("final"),
        "{stderr}"
    );

    let (code, _, stderr) = conveyor(&["plan", "-f", "/nonexistent/Dockerfile", path]);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("conveyor: cannot read /nonexistent/Dockerfile: "),
        "{stderr}"
    );

    // A stage read before it is defined (BuildKit would look for an image "build").
    write(
        dir.path(),
        "Dockerfile",
        "FROM busybox\nCOPY --from=build /a /b\nFROM busybox AS build\n",
    );
    let (code, _, stderr) = conveyor(&["plan", path]);
    assert_eq!(code, 2);
    assert!(stderr.contains("Dockerfile:2:13: "), "{stderr}");
}
