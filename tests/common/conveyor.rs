//! Running `conveyor` itself against the harness, for the CLI's integration tests.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use super::harness;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// `conveyor ARGS` on the harness's dockerd, with a Docker config of its own (no
/// credentials) so the user's is never read.
pub fn conveyor(args: &[&str], dir: &Path) -> Run {
    let config = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_conveyor"))
        .args(args)
        .current_dir(dir)
        .env("DOCKER_HOST", &harness().docker_host)
        .env("DOCKER_CONFIG", config.path())
        .env_remove("BUILDKIT_HOST")
        .output()
        .expect("run conveyor");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub fn built(run: &Run) {
    assert_eq!(run.code, 0, "conveyor build failed:\n{}", run.stderr);
}

/// The error line conveyor ends with: the last line starting `conveyor: `.
pub fn error_line(run: &Run) -> &str {
    run.stderr
        .lines()
        .rfind(|line| line.starts_with("conveyor: "))
        .unwrap_or_else(|| panic!("no error line in:\n{}", run.stderr))
}

pub fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

pub fn busybox() -> String {
    format!("{}/busybox:latest", harness().registry)
}

/// The HTTP status of `GET /v2/NAME/manifests/TAG` on the harness registry.
pub fn registry_manifest_status(name: &str, tag: &str) -> u16 {
    let mut stream = std::net::TcpStream::connect(&harness().registry).unwrap();
    write!(
        stream,
        "GET /v2/{name}/manifests/{tag} HTTP/1.1\r\nHost: {}\r\nAccept: application/vnd.docker.distribution.manifest.v2+json\r\nConnection: close\r\n\r\n",
        harness().registry
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {response:?}"))
}

/// The stages a `build --repo` run built, from its `[conveyor] stage X: building`
/// notes, in the order of their lines (stages of one wave: the daemon's order).
pub fn built_stages<C: FromIterator<String>>(stderr: &str) -> C {
    stderr
        .lines()
        .filter_map(|line| line.strip_prefix("[conveyor] stage "))
        .filter_map(|line| line.split_once(": building"))
        .map(|(name, _)| name.to_string())
        .collect()
}

pub fn set(names: &[&str]) -> std::collections::BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// `conveyor build --progress=plain ARGS -t TAG DIR`, run from `/`, which must succeed.
pub fn build_dir(dir: &Path, args: &[&str], tag: &str) -> Run {
    let context = dir.display().to_string();
    let mut all = vec!["build", "--progress=plain"];
    all.extend_from_slice(args);
    all.extend(["-t", tag, &context]);
    let run = conveyor(&all, Path::new("/"));
    built(&run);
    run
}

/// `conveyor build --repo REPO -t TAG --target app` of `DIR/werf.yaml`, which must
/// succeed.
pub fn build_werf_stored(dir: &Path, repo: &str, tag: &str) -> Run {
    let file = dir.join("werf.yaml").display().to_string();
    build_dir(dir, &["-f", &file, "--target", "app", "--repo", repo], tag)
}

/// A context whose result is a few files made by RUN and COPY: a script with mode
/// 0755, a text file, a symlink and a nested directory.
pub fn files_context(dir: &Path, marker: &str) {
    write(
        &dir.join("context/greeting.txt"),
        &format!("hello {marker}\n"),
    );
    write(
        &dir.join("context/Dockerfile"),
        &format!(
            "FROM {} AS make\nRUN mkdir -p /out/nested && printf '#!/bin/sh\\necho run\\n' > /out/run.sh \
             && chmod 755 /out/run.sh && echo deep > /out/nested/deep.txt && ln -s run.sh /out/link\n\
             FROM scratch\nCOPY --from=make /out/ /\nCOPY greeting.txt /\n",
            busybox()
        ),
    );
}
