//! werf.yaml through conveyor's buildx frontend (`docker buildx build -f werf.yaml .`
//! with `# syntax=` as the first line) on the private dockerd: an image importing an
//! artifact's files with the given owner, git mappings from the context, and the
//! `docker` settings in the image config.

mod common;

use std::path::{Path, PathBuf};

use common::{buildx, docker, docker_ok, frontend_image, harness, unique};

/// A project directory with a werf.yaml (the syntax line first) and context files.
fn project(config: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(unique("conveyor-werf"));
    std::fs::create_dir_all(&dir).unwrap();
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let text = format!("# syntax={}\n{config}", frontend_image());
    std::fs::write(dir.join("werf.yaml"), text).unwrap();
    dir
}

fn build(dir: &Path, extra: &[&str]) -> (bool, String, String) {
    let mut args = vec!["--progress=plain", "-f", "werf.yaml"];
    args.extend_from_slice(extra);
    args.push(".");
    buildx(&args, dir)
}

const CONFIG: &str = r#"project: werf-test
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
  - test ! -e /build/skip.md
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
  LABEL:
    org.example.role: werf-test
  EXPOSE: "8080"
  WORKDIR: /opt/out
  USER: "1234"
  ENTRYPOINT: ["/bin/cat"]
  CMD: ["/opt/out/hello.txt"]
"#;

#[test]
fn an_image_with_an_imported_artifact_runs_with_its_files_owned_as_configured() {
    harness();
    let dir = project(
        CONFIG,
        &[
            ("src/hello.txt", "hello from the context\n"),
            ("src/skip.md", "not included\n"),
            ("conf/app.conf", "key=value\n"),
        ],
    );
    let tag = format!("conveyor-test/werf:{}", unique("t"));
    let (ok, _, stderr) = build(&dir, &["--load", "-t", &tag]);
    assert!(ok, "werf build failed:\n{stderr}");

    // The default command prints the imported file.
    let run = docker_ok(&["run", "--rm", &tag], None);
    assert_eq!(run, "hello from the context\n");
    // Imported files carry the import's owner; git files the mapping's.
    let owners = docker_ok(
        &[
            "run",
            "--rm",
            "--entrypoint",
            "/bin/stat",
            &tag,
            "-c",
            "%u:%g %n",
            "/opt/out/hello.txt",
            "/opt/out/sub/built.txt",
            "/etc/app/app.conf",
        ],
        None,
    );
    assert_eq!(
        owners,
        "1234:2345 /opt/out/hello.txt\n1234:2345 /opt/out/sub/built.txt\n3456:4567 /etc/app/app.conf\n"
    );
    let built = docker_ok(&["run", "--rm", &tag, "/opt/out/sub/built.txt"], None);
    assert_eq!(built, "built-by-artifact\n");
    // beforeInstall ran, and install ran after gitArchive put the mapping in place.
    let saw = docker_ok(
        &["run", "--rm", &tag, "/before.txt", "/install-saw.txt"],
        None,
    );
    assert!(saw.starts_with("before\n-rw-r--r--"), "{saw}");
    assert!(
        saw.contains(" 3456 ") && saw.contains("/etc/app/app.conf"),
        "{saw}"
    );

    let inspect = |format: &str| docker_ok(&["image", "inspect", "-f", format, &tag], None);
    assert!(inspect("{{json .Config.Env}}").contains("\"MODE=production\""));
    assert_eq!(
        inspect("{{json .Config.Labels}}").trim(),
        r#"{"org.example.role":"werf-test"}"#
    );
    assert_eq!(
        inspect("{{json .Config.ExposedPorts}}").trim(),
        r#"{"8080/tcp":{}}"#
    );
    assert_eq!(inspect("{{.Config.WorkingDir}}").trim(), "/opt/out");
    assert_eq!(inspect("{{.Config.User}}").trim(), "1234");
    assert_eq!(
        inspect("{{json .Config.Entrypoint}}").trim(),
        r#"["/bin/cat"]"#
    );
    assert_eq!(
        inspect("{{json .Config.Cmd}}").trim(),
        r#"["/opt/out/hello.txt"]"#
    );
    docker_ok(&["image", "rm", "-f", &tag], None);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn target_builds_one_image_of_the_config() {
    harness();
    let dir = project(
        CONFIG,
        &[
            ("src/hello.txt", "hello\n"),
            ("conf/app.conf", "key=value\n"),
        ],
    );
    let tag = format!("conveyor-test/werf:{}", unique("artifact"));
    let (ok, _, stderr) = build(&dir, &["--target", "builder", "--load", "-t", &tag]);
    assert!(ok, "werf build failed:\n{stderr}");
    let listing = docker_ok(
        &[
            "run",
            "--rm",
            &tag,
            "/bin/sh",
            "-c",
            "cat /out/sub/built.txt; test ! -e /opt/out && echo no-import",
        ],
        None,
    );
    assert_eq!(listing, "built-by-artifact\nno-import\n");
    docker_ok(&["image", "rm", "-f", &tag], None);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_wrong_config_is_reported_with_file_line_and_column() {
    harness();
    let dir = project(
        "project: p\nconfigVersion: 1\n---\nimage: app\nfrom: 127.0.0.1:5000/busybox:latest\nfromImage: other\n",
        &[],
    );
    let (ok, _, stderr) = build(&dir, &[]);
    assert!(!ok, "a wrong config must fail");
    assert!(
        stderr.contains("werf.yaml:7:1: `from` and `fromImage` cannot be used together"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_dockerfile_image_joins_the_graph_and_stapel_images_build_on_it() {
    harness();
    let config = r#"project: mixed
configVersion: 1
---
image: web
dockerfile: web.Dockerfile
target: runtime
---
image: app
fromImage: web
shell:
  install: cat /srv/index.html > /app.txt
import:
- image: web
  add: /srv
  to: /copy
  owner: "77"
  after: install
"#;
    let dockerfile = "FROM 127.0.0.1:5000/busybox:latest AS build\nCOPY index.html /src/\nRUN sed 's/hi/built/' /src/index.html > /srv.html\n\nFROM 127.0.0.1:5000/busybox:latest AS runtime\nCOPY --from=build /srv.html /srv/index.html\nENV FROM_DOCKERFILE=yes\n";
    let dir = project(
        config,
        &[("web.Dockerfile", dockerfile), ("index.html", "hi\n")],
    );
    let tag = format!("conveyor-test/werf:{}", unique("mixed"));
    let (ok, _, stderr) = build(&dir, &["--load", "-t", &tag]);
    assert!(ok, "werf build failed:\n{stderr}");
    let out = docker_ok(
        &[
            "run",
            "--rm",
            &tag,
            "/bin/sh",
            "-c",
            "cat /app.txt; stat -c '%u %n' /copy/index.html; echo $FROM_DOCKERFILE",
        ],
        None,
    );
    assert_eq!(out, "built\n77 /copy/index.html\nyes\n");
    docker_ok(&["image", "rm", "-f", &tag], None);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn templates_see_partials_files_env_and_build_args_through_the_frontend() {
    harness();
    let config = r#"project: tpl
configVersion: 1
---
image: app
{{ include "base.tmpl" . }}
shell:
  install:
  - echo {{ .Env }} > /env.txt
  - echo {{ env "GREETING" "unset" }} > /greeting.txt
  - echo {{ .Files.Get "conf/version.txt" | trim }} > /version.txt
{{- $name := .Files.Get "conf/which.txt" | trim }}
  - echo {{ .Files.Get (printf "conf/%s.txt" $name) | trim }} > /chosen.txt
{{- range $path, $text := .Files.Glob "scripts/*.sh" }}
  - echo {{ $path }} {{ $text | trim }} >> /scripts.txt
{{- end }}
{{- if .Files.Exists "conf/absent.txt" }}
  - echo wrong > /absent.txt
{{- end }}
"#;
    // `.Files` reads the context; which file is read may itself come from a file.
    let dir = project(
        config,
        &[
            (".werf/base.tmpl", "from: 127.0.0.1:5000/busybox:latest"),
            ("conf/version.txt", "1.2.3\n"),
            ("conf/which.txt", "blue\n"),
            ("conf/blue.txt", "sky\n"),
            ("scripts/a.sh", "alpha\n"),
            ("scripts/b.sh", "beta\n"),
            ("scripts/c.txt", "not a script\n"),
        ],
    );
    let tag = format!("conveyor-test/werf:{}", unique("tpl"));
    let (ok, _, stderr) = build(
        &dir,
        &[
            "--build-arg",
            "CONVEYOR_WERF_ENV=staging",
            "--build-arg",
            "GREETING=hello",
            "--load",
            "-t",
            &tag,
        ],
    );
    assert!(ok, "werf build failed:\n{stderr}");
    let out = docker_ok(
        &[
            "run",
            "--rm",
            &tag,
            "cat",
            "/env.txt",
            "/greeting.txt",
            "/version.txt",
            "/chosen.txt",
            "/scripts.txt",
        ],
        None,
    );
    assert_eq!(
        out,
        "staging\nhello\n1.2.3\nsky\nscripts/a.sh alpha\nscripts/b.sh beta\n"
    );
    let absent = docker()
        .args(["run", "--rm", &tag, "test", "-e", "/absent.txt"])
        .status()
        .unwrap();
    assert!(!absent.success(), "conf/absent.txt does not exist");
    docker_ok(&["image", "rm", "-f", &tag], None);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn print_targets_lists_the_images_with_the_last_as_default() {
    harness();
    let dir = project(CONFIG, &[]);
    let (ok, stdout, stderr) = buildx(
        &[
            "--progress=quiet",
            "--print=targets",
            "-f",
            "werf.yaml",
            ".",
        ],
        &dir,
    );
    assert!(ok, "--print=targets failed:\n{stderr}");
    // With a `# syntax=` line, `--progress=quiet` first prints a digest line (buildx
    // does the same for a Dockerfile); the table follows it.
    let rows: Vec<String> = stdout
        .lines()
        .skip_while(|line| !line.starts_with("TARGET"))
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        rows,
        [
            "TARGET DESCRIPTION",
            "builder artifact",
            "app (default) image"
        ],
        "{stdout}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
