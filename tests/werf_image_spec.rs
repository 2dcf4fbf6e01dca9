//! imageSpec (an image's and the project's `build.imageSpec`) on the real daemon, through
//! the buildx frontend and through `conveyor build`: the image config and history the
//! exported image has, read back with `docker image inspect` and `docker history`.

mod common;

use std::path::{Path, PathBuf};

use common::conveyor::build_dir;
use common::{buildx, docker_ok, frontend_image, harness, unique};
use serde_json::Value;

/// `base` sets everything imageSpec can clear or remove (a helper image, so the
/// project's imageSpec leaves it alone); `app` clears and removes it.
const CONFIG: &str = r#"project: spec-test
configVersion: 1
build:
  imageSpec:
    author: ops@example.com
    clearHistory: true
    config:
      labels:
        origin: "%project%/%image%"
      removeLabels: ["/org\\.example\\..*/", "/conveyor\\..*/"]
---
image: base
final: false
from: 127.0.0.1:5000/busybox:latest
shell:
  install: echo base > /base.txt
docker:
  ENV:
    GOPATH: /go
    GOFLAGS: -x
    KEEP: kept
  LABEL:
    org.example.team: core
    org.example.role: web
    maintainer: someone
    stays: here
  VOLUME: [/data, /logs]
  USER: "1234"
  WORKDIR: /srv
  ENTRYPOINT: [/bin/sh, -c]
  CMD: [echo hi]
---
image: app
fromImage: base
shell:
  install: echo app > /app.txt
imageSpec:
  config:
    clearCmd: true
    clearEntrypoint: true
    clearUser: true
    clearWorkingDir: true
    removeEnv: [/GO.*/]
    env:
      GOBIN: ${GOPATH}/bin
    removeVolumes: [/data]
    removeLabels: [maintainer]
"#;

fn project(syntax: bool) -> PathBuf {
    let dir = std::env::temp_dir().join(unique("conveyor-werf-spec"));
    std::fs::create_dir_all(&dir).unwrap();
    let text = if syntax {
        format!("# syntax={}\n{CONFIG}", frontend_image())
    } else {
        CONFIG.to_string()
    };
    std::fs::write(dir.join("werf.yaml"), text).unwrap();
    dir
}

fn inspect(tag: &str) -> Value {
    let text = docker_ok(&["image", "inspect", "--format", "{{json .}}", tag], None);
    serde_json::from_str(&text).unwrap()
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect(),
        other => panic!("not a list: {other}"),
    }
}

fn keys(value: &Value) -> Vec<String> {
    match value {
        Value::Null => Vec::new(),
        Value::Object(map) => map.keys().cloned().collect(),
        other => panic!("not a map: {other}"),
    }
}

/// What the image's config must be after `app`'s imageSpec and the project's.
fn assert_spec_applied(tag: &str) {
    let image = inspect(tag);
    let config = &image["Config"];
    assert_eq!(image["Author"], "ops@example.com", "{image}");
    assert!(strings(&config["Cmd"]).is_empty(), "{config}");
    assert!(strings(&config["Entrypoint"]).is_empty(), "{config}");
    assert_eq!(config["User"], "", "{config}");
    assert_eq!(config["WorkingDir"], "", "{config}");
    let env = strings(&config["Env"]);
    assert!(env.contains(&"KEEP=kept".to_string()), "{env:?}");
    assert!(env.contains(&"GOBIN=/go/bin".to_string()), "{env:?}");
    assert!(
        !env.iter()
            .any(|e| e.starts_with("GOPATH=") || e.starts_with("GOFLAGS=")),
        "{env:?}"
    );
    assert_eq!(keys(&config["Volumes"]), ["/logs"]);
    let labels = &config["Labels"];
    assert_eq!(labels["stays"], "here", "{labels}");
    assert_eq!(labels["origin"], "spec-test/app", "{labels}");
    for removed in ["maintainer", "org.example.team", "org.example.role"] {
        assert!(labels.get(removed).is_none(), "{removed} in {labels}");
    }
    // clearHistory: one entry per layer, none saying what made it.
    let layers = image["RootFS"]["Layers"].as_array().unwrap().len();
    let history = docker_ok(
        &[
            "history",
            "--no-trunc",
            "--format",
            "{{.CreatedBy}}|{{.Comment}}",
            tag,
        ],
        None,
    );
    let entries: Vec<&str> = history.lines().collect();
    assert_eq!(entries.len(), layers, "{history}");
    assert!(entries.iter().all(|e| *e == "|"), "{history}");
}

/// `docker buildx build -f werf.yaml ARGS --load -t TAG` in `dir`, which must succeed.
fn load_through_frontend(dir: &Path, args: &[&str], tag: &str) {
    let mut all = vec!["--progress=plain", "-f", "werf.yaml"];
    all.extend_from_slice(args);
    all.extend(["--load", "-t", tag, "."]);
    let (ok, _, stderr) = buildx(&all, dir);
    assert!(ok, "buildx build failed:\n{stderr}");
}

#[test]
fn image_spec_clears_and_removes_through_the_frontend() {
    harness();
    let dir = project(true);
    let tag = format!("conveyor-test/werf-spec:{}", unique("f"));
    load_through_frontend(&dir, &["--target", "app"], &tag);
    assert_spec_applied(&tag);
    docker_ok(&["image", "rm", &tag], None);
}

#[test]
fn image_spec_clears_and_removes_through_conveyor_build() {
    harness();
    let dir = project(false);
    let tag = format!("conveyor-test/werf-spec:{}", unique("c"));
    build_dir(&dir, &["--target", "app"], &tag);
    assert_spec_applied(&tag);
    docker_ok(&["image", "rm", &tag], None);
}

/// With `--repo`, the stored imageSpec stage keeps conveyor's stage labels although a
/// `removeLabels` pattern matches them: they are written after the imageSpec applies,
/// as werf keeps its essential labels.
#[test]
fn image_spec_never_removes_the_stage_labels_of_the_storage() {
    harness();
    let dir = project(false);
    let repo = format!(
        "{}/conveyor-test/werf-spec-{}",
        harness().registry,
        unique("r")
    );
    let tag = format!("conveyor-test/werf-spec:{}", unique("r"));
    let run = build_dir(&dir, &["--target", "app", "--repo", &repo], &tag);
    assert_spec_applied(&tag);
    let stored = run
        .stderr
        .lines()
        .find_map(|line| {
            line.strip_prefix("[conveyor] stage app/imageSpec: building, to be stored as ")
        })
        .unwrap_or_else(|| panic!("the imageSpec stage was not built:\n{}", run.stderr))
        .to_string();
    docker_ok(&["pull", "-q", &stored], None);
    let labels = inspect(&stored)["Config"]["Labels"].clone();
    assert_eq!(labels["conveyor.stage"], "app/imageSpec", "{labels}");
    assert_eq!(
        format!(
            "{repo}:{}",
            labels["conveyor.signature"]
                .as_str()
                .unwrap()
                .trim_start_matches("sha256:")
        ),
        stored,
        "{labels}"
    );
    assert_eq!(labels["origin"], "spec-test/app", "{labels}");
    docker_ok(&["image", "rm", &tag, &stored], None);
}

/// A Dockerfile image's imageSpec, and the project's merged into it.
const DOCKERFILE_CONFIG: &str = r#"project: spec-dockerfile
configVersion: 1
build:
  imageSpec:
    clearHistory: true
    config:
      labels:
        origin: "%project%/%image%"
---
image: web
dockerfile: Dockerfile
imageSpec:
  config:
    clearCmd: true
    removeEnv: [/BUILD_.*/]
    removeLabels: [stage]
"#;

const DOCKERFILE: &str = "FROM 127.0.0.1:5000/busybox:latest\nENV BUILD_ID=7 BUILD_HOST=ci KEEP=1\nLABEL stage=build team=web\nRUN echo web > /web.txt\nCMD [\"cat\", \"/web.txt\"]\n";

fn assert_dockerfile_spec_applied(tag: &str) {
    let image = inspect(tag);
    let config = &image["Config"];
    assert!(strings(&config["Cmd"]).is_empty(), "{config}");
    let env = strings(&config["Env"]);
    assert!(env.contains(&"KEEP=1".to_string()), "{env:?}");
    assert!(!env.iter().any(|e| e.starts_with("BUILD_")), "{env:?}");
    let labels = &config["Labels"];
    assert_eq!(labels["team"], "web", "{labels}");
    assert_eq!(labels["origin"], "spec-dockerfile/web", "{labels}");
    assert!(labels.get("stage").is_none(), "{labels}");
    let history = docker_ok(
        &["history", "--no-trunc", "--format", "{{.CreatedBy}}", tag],
        None,
    );
    assert!(history.lines().all(str::is_empty), "{history}");
    assert_eq!(
        docker_ok(&["run", "--rm", tag, "cat", "/web.txt"], None),
        "web\n"
    );
}

fn dockerfile_project(syntax: bool) -> PathBuf {
    let dir = std::env::temp_dir().join(unique("conveyor-werf-spec-df"));
    std::fs::create_dir_all(&dir).unwrap();
    let text = if syntax {
        format!("# syntax={}\n{DOCKERFILE_CONFIG}", frontend_image())
    } else {
        DOCKERFILE_CONFIG.to_string()
    };
    std::fs::write(dir.join("werf.yaml"), text).unwrap();
    std::fs::write(dir.join("Dockerfile"), DOCKERFILE).unwrap();
    dir
}

#[test]
fn a_dockerfile_images_image_spec_applies_through_both_modes() {
    harness();
    let dir = dockerfile_project(true);
    let frontend_tag = format!("conveyor-test/werf-spec-df:{}", unique("f"));
    load_through_frontend(&dir, &[], &frontend_tag);
    assert_dockerfile_spec_applied(&frontend_tag);
    docker_ok(&["image", "rm", &frontend_tag], None);

    // With a Dockerfile in the context, `conveyor build` needs `-f werf.yaml`.
    let dir = dockerfile_project(false);
    let cli_tag = format!("conveyor-test/werf-spec-df:{}", unique("c"));
    let file = dir.join("werf.yaml").display().to_string();
    build_dir(&dir, &["-f", &file], &cli_tag);
    assert_dockerfile_spec_applied(&cli_tag);
    docker_ok(&["image", "rm", &cli_tag], None);
}
