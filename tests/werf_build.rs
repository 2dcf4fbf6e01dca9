//! werf.yaml through `conveyor build` (the frontend run client-side) makes the same
//! image as through the buildx frontend (`docker buildx build -f werf.yaml`, the
//! frontend image named by `# syntax=`): image config, history and filesystem compared
//! with the parity machinery.

mod common;
#[allow(dead_code)]
#[path = "parity/mod.rs"]
mod parity;

use std::path::Path;

use common::conveyor::{built, conveyor};
use common::{buildx, docker_ok, frontend_image, harness, unique};
use parity::config::diff_configs;
use parity::docker::{export_listing, history, inspect_config, remove_image};
use parity::history::diff_history;
use parity::listing::diff_listings;

/// An artifact imported after install, git mappings with owner and include paths, a
/// docker section, and `.Env` in a template.
const CONFIG: &str = r#"project: werf-build
configVersion: 1
---
artifact: builder
from: 127.0.0.1:5000/busybox:latest
git:
- add: /src
  to: /build
  includePaths: ["*.txt"]
shell:
  install:
  - mkdir -p /out/sub
  - cp /build/hello.txt /out/hello.txt
  - echo built-by-artifact > /out/sub/built.txt
---
image: app
from: 127.0.0.1:5000/busybox:latest
git:
- add: /conf
  to: /etc/app
  owner: "3456"
  group: "4567"
shell:
  beforeInstall: echo before > /before.txt
  install: ls -ln /etc/app/app.conf > /install-saw.txt
  setup: echo "{{ .Env }}" > /env.txt
import:
- artifact: builder
  add: /out
  to: /opt/out
  owner: "1234"
  group: "2345"
  after: install
docker:
  ENV:
    MODE: production
    STAGE: "{{ .Env }}"
  LABEL:
    org.example.role: werf-build
  EXPOSE: "8080"
  WORKDIR: /opt/out
  USER: "1234"
  ENTRYPOINT: ["/bin/cat"]
  CMD: ["/opt/out/hello.txt"]
"#;

/// A context with werf.yaml (syntax line first) and no Dockerfile.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in [
        ("src/hello.txt", "hello from the context\n"),
        ("src/skip.md", "not included\n"),
        ("conf/app.conf", "key=value\n"),
    ] {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let text = format!("# syntax={}\n{CONFIG}", frontend_image());
    std::fs::write(dir.path().join("werf.yaml"), text).unwrap();
    dir
}

fn differences(stock_tag: &str, test_tag: &str) -> Vec<String> {
    let mut out: Vec<String> = diff_configs(
        &inspect_config(stock_tag).unwrap(),
        &inspect_config(test_tag).unwrap(),
    )
    .iter()
    .map(ToString::to_string)
    .collect();
    out.extend(diff_history(
        &history(stock_tag).unwrap(),
        &history(test_tag).unwrap(),
    ));
    out.extend(
        diff_listings(
            &export_listing(stock_tag).unwrap(),
            &export_listing(test_tag).unwrap(),
        )
        .iter()
        .map(ToString::to_string),
    );
    out
}

/// `conveyor build --target app --env staging CONTEXT` (werf.yaml found in the context,
/// every step run again) against `docker buildx build -f werf.yaml --build-arg
/// CONVEYOR_WERF_ENV=staging`.
#[test]
fn conveyor_build_of_a_werf_config_makes_the_frontends_image() {
    harness();
    let dir = project();
    let frontend_tag = format!("conveyor-test/werf-frontend:{}", unique("t"));
    let cli_tag = format!("conveyor-test/werf-cli:{}", unique("t"));
    let (ok, _, stderr) = buildx(
        &[
            "--progress=plain",
            "-f",
            "werf.yaml",
            "--target",
            "app",
            "--build-arg",
            "CONVEYOR_WERF_ENV=staging",
            "--load",
            "-t",
            &frontend_tag,
            ".",
        ],
        dir.path(),
    );
    assert!(ok, "buildx build of werf.yaml failed:\n{stderr}");
    let context = dir.path().display().to_string();
    let run = conveyor(
        &[
            "build",
            "--progress=plain",
            "--no-cache",
            "--target",
            "app",
            "--env",
            "staging",
            "-t",
            &cli_tag,
            &context,
        ],
        Path::new("/"),
    );
    built(&run);

    let found = differences(&frontend_tag, &cli_tag);
    // What the comparison covers is there: the env name reached the template, the
    // artifact's files and the git mapping with their owners.
    let env = docker_ok(&["run", "--rm", &cli_tag, "/env.txt"], None);
    let owners = docker_ok(
        &[
            "run",
            "--rm",
            "--entrypoint",
            "/bin/stat",
            &cli_tag,
            "-c",
            "%u:%g %n",
            "/opt/out/sub/built.txt",
            "/etc/app/app.conf",
        ],
        None,
    );
    remove_image(&frontend_tag);
    remove_image(&cli_tag);
    assert!(found.is_empty(), "the images differ:\n{}", found.join("\n"));
    assert_eq!(env, "staging\n");
    assert_eq!(
        owners,
        "1234:2345 /opt/out/sub/built.txt\n3456:4567 /etc/app/app.conf\n"
    );
}
