//! werf imports from an external image (`import: - from: <reference with a tag>`) and
//! host directories mounted with `mount.fromPath`, on the real daemon and registry,
//! through `conveyor build` and the buildx frontend.

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

/// A config mounting the project's `data` (relative), an absolute directory and a
/// missing one; install reads them, writes into them and follows a link out of one.
fn from_path_config(absolute: &Path) -> String {
    format!(
        r#"project: mount-test
configVersion: 1
---
image: app
from: 127.0.0.1:5000/busybox:latest
mount:
- fromPath: data
  to: /data
- fromPath: {}
  to: /abs
- fromPath: created/later
  to: /created
shell:
  install:
  - cat /data/in.txt /abs/abs.txt > /seen.txt
  - ls -A /created > /created-listing.txt
  - echo written > /data/written.txt
  - (cat /data/escape 2>/dev/null || echo unreadable) > /escape.txt
  - ls -A /data > /data-listing.txt
"#,
        absolute.display()
    )
}

/// `conveyor build` serves each fromPath directory: the commands read its files, their
/// writes never reach the host, a link out of it is not followed on the host, the
/// mount points hold nothing in the image, and a missing directory is created.
#[test]
fn from_path_directories_are_mounted_by_conveyor_build() {
    harness();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("project");
    let absolute = root.path().join("elsewhere");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::create_dir_all(&absolute).unwrap();
    let marker = unique("in");
    std::fs::write(dir.join("data/in.txt"), format!("{marker}\n")).unwrap();
    std::fs::write(absolute.join("abs.txt"), "abs\n").unwrap();
    let secret = unique("outside");
    std::fs::write(root.path().join("outside.txt"), &secret).unwrap();
    std::os::unix::fs::symlink("../../outside.txt", dir.join("data/escape")).unwrap();
    std::fs::write(dir.join("werf.yaml"), from_path_config(&absolute)).unwrap();
    let tag = format!("conveyor-test/werf-mount:{}", unique("c"));
    let run = conveyor(
        &[
            "build",
            "--progress=plain",
            "-t",
            &tag,
            &dir.display().to_string(),
        ],
        Path::new("/"),
    );
    built(&run);
    let seen = run_in(
        &tag,
        "cat /seen.txt /escape.txt /data-listing.txt /created-listing.txt; echo --; find /data /abs -type f 2>/dev/null | wc -l",
    );
    docker_ok(&["image", "rm", &tag], None);
    assert_eq!(
        seen,
        format!("{marker}\nabs\nunreadable\nescape\nin.txt\nwritten.txt\n--\n0\n")
    );
    assert!(
        !dir.join("data/written.txt").exists(),
        "a write reached the host"
    );
    assert!(
        dir.join("created/later").is_dir(),
        "the missing directory is created"
    );
    assert!(!run.stderr.contains(&secret));
}

/// Through the buildx frontend there is no host path: the build fails with the
/// position of `fromPath` and says to use `conveyor build`.
#[test]
fn from_path_through_the_frontend_is_an_error_at_the_key() {
    harness();
    let root = tempfile::tempdir().unwrap();
    let text = format!(
        "# syntax={}\n{}",
        frontend_image(),
        from_path_config(root.path())
    );
    let dir = project(&text);
    let (ok, _, stderr) = buildx(&["--progress=plain", "-f", "werf.yaml", "."], &dir);
    assert!(!ok, "built:\n{stderr}");
    assert!(
        stderr.contains("werf.yaml:8:13: mount fromPath \"data\" reads a directory of the host, which only `conveyor build` serves"),
        "{stderr}"
    );
}
