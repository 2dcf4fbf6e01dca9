//! werf imports from an external image (`import: - from: <reference with a tag>`) on the
//! real daemon and registry, through `conveyor build` and the buildx frontend.

mod common;

use std::path::{Path, PathBuf};

use common::conveyor::{built, conveyor};
use common::{buildx, docker_ok, frontend_image, harness, unique};

/// Pushes an image holding `/marker.txt` with `marker` to `reference`.
fn push_marker_image(reference: &str, marker: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM busybox:local\nRUN mkdir /src && echo {marker} > /src/marker.txt && echo other > /src/other.txt\n"),
    )
    .unwrap();
    docker_ok(&["build", "-q", "-t", reference, "."], Some(dir.path()));
    docker_ok(&["push", "-q", reference], None);
    docker_ok(&["image", "rm", reference], None);
}

fn config(source: &str) -> String {
    format!(
        r#"project: import-test
configVersion: 1
---
image: app
from: 127.0.0.1:5000/busybox:latest
shell:
  install: echo app > /app.txt
  setup: cat /imported/marker.txt > /setup-saw.txt
import:
- from: {source}
  add: /src
  to: /imported
  includePaths: [marker.txt]
  owner: "1234"
  after: install
"#
    )
}

fn project(text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique("conveyor-werf-import"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("werf.yaml"), text).unwrap();
    dir
}

fn run_in(tag: &str, script: &str) -> String {
    docker_ok(&["run", "--rm", tag, "sh", "-c", script], None)
}

#[test]
fn an_import_from_an_external_image_copies_its_files_through_the_frontend() {
    harness();
    let source = format!(
        "{}/conveyor-test/import-src:{}",
        harness().registry,
        unique("f")
    );
    let marker = unique("marker");
    push_marker_image(&source, &marker);
    let dir = project(&format!(
        "# syntax={}\n{}",
        frontend_image(),
        config(&source)
    ));
    let tag = format!("conveyor-test/werf-import:{}", unique("f"));
    let (ok, _, stderr) = buildx(
        &[
            "--progress=plain",
            "-f",
            "werf.yaml",
            "--load",
            "-t",
            &tag,
            ".",
        ],
        &dir,
    );
    assert!(ok, "buildx build failed:\n{stderr}");
    let seen = run_in(&tag, "stat -c '%u %n' /imported/*; cat /setup-saw.txt");
    docker_ok(&["image", "rm", &tag], None);
    assert_eq!(seen, format!("1234 /imported/marker.txt\n{marker}\n"));
}

/// Built with `--repo`, then again after the source tag moved to new content: the
/// dependencies stage (and setup after it) is re-signed by the new digest and rebuilt;
/// install is reused.
#[test]
fn an_external_import_is_rebuilt_when_its_tag_moves() {
    harness();
    let source = format!(
        "{}/conveyor-test/import-src:{}",
        harness().registry,
        unique("c")
    );
    let repo = format!(
        "{}/conveyor-test/werf-import-{}",
        harness().registry,
        unique("r")
    );
    let dir = project(&config(&source));
    let build = |tag: &str| {
        let run = conveyor(
            &[
                "build",
                "--progress=plain",
                "--repo",
                &repo,
                "-t",
                tag,
                &dir.display().to_string(),
            ],
            Path::new("/"),
        );
        built(&run);
        run.stderr
            .lines()
            .filter_map(|line| line.strip_prefix("[conveyor] stage "))
            .filter_map(|line| line.split_once(": building"))
            .map(|(name, _)| name.to_string())
            .collect::<std::collections::BTreeSet<String>>()
    };
    let first_marker = unique("first");
    push_marker_image(&source, &first_marker);
    let first = format!("conveyor-test/werf-import:{}", unique("1"));
    let built_first = build(&first);
    assert!(
        built_first.contains("app/dependenciesAfterInstall"),
        "{built_first:?}"
    );
    let second_marker = unique("second");
    push_marker_image(&source, &second_marker);
    let second = format!("conveyor-test/werf-import:{}", unique("2"));
    let built_second = build(&second);
    let seen_first = run_in(&first, "cat /imported/marker.txt /setup-saw.txt");
    let seen_second = run_in(&second, "cat /imported/marker.txt /setup-saw.txt");
    docker_ok(&["image", "rm", &first, &second], None);
    assert_eq!(seen_first, format!("{first_marker}\n{first_marker}\n"));
    assert_eq!(seen_second, format!("{second_marker}\n{second_marker}\n"));
    let expected: std::collections::BTreeSet<String> =
        ["app/dependenciesAfterInstall", "app/setup"]
            .into_iter()
            .map(String::from)
            .collect();
    assert_eq!(built_second, expected);
}
