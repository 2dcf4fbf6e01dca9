//! werf.yaml through `conveyor build` (the frontend run client-side) makes the same
//! image as through the buildx frontend (`docker buildx build -f werf.yaml`, the
//! frontend image named by `# syntax=`): image config, history and filesystem compared
//! with the parity machinery.

mod common;
#[allow(dead_code)]
#[path = "parity/mod.rs"]
mod parity;

use std::path::Path;

use common::conveyor::{build_werf_stored, built, built_stages, conveyor, set};
use common::{buildx, docker_ok, frontend_image, harness, unique};
use parity::config::diff_configs;
use parity::docker::{export_listing, history, inspect_config, remove_image};
use parity::history::diff_history;
use parity::listing::diff_listings;

/// An artifact imported after install, git mappings with owner and include paths, a
/// docker section, and `.Env` in a template. install records the mapping's owner and
/// mode, not its mtime: BuildKit may take the copy from its cache of an earlier build of
/// the same content, which carries that build's mtimes.
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
  install: stat -c '%u:%g %a %n' /etc/app/app.conf > /install-saw.txt
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

/// One image on an artifact, with a git mapping; `INSTALL` is its install command.
const STORED_CONFIG: &str = r#"project: werf-stored
configVersion: 1
---
artifact: builder
from: 127.0.0.1:5000/busybox:latest
shell:
  install: mkdir -p /out && echo art > /out/a.txt
---
image: app
from: 127.0.0.1:5000/busybox:latest
git:
- add: /conf
  to: /etc/app
  owner: "3456"
shell:
  beforeInstall: echo before > /before.txt
  install: INSTALL
  setup: echo setup > /setup.txt
import:
- artifact: builder
  add: /out
  to: /opt/out
  after: install
docker:
  ENV:
    MODE: production
"#;

/// Built twice with `--repo`, the second run builds nothing; a changed install command
/// rebuilds install and the stages after it, and `plan --repo` shows beforeInstall
/// (and the artifact) reused.
#[test]
fn a_werf_config_built_with_repo_reuses_its_stored_stages() {
    harness();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    std::fs::write(dir.path().join("conf/app.conf"), "k=v\n").unwrap();
    let write = |install: &str| {
        let config = STORED_CONFIG.replace("INSTALL", install);
        std::fs::write(dir.path().join("werf.yaml"), config).unwrap();
    };
    let repo = format!("{}/{}", harness().registry, unique("werf-stages"));
    let tag = format!("conveyor-test/werf-stored:{}", unique("t"));
    write("echo one > /install.txt");

    let first = build_werf_stored(dir.path(), &repo, &tag);
    assert_eq!(
        built_stages::<std::collections::BTreeSet<String>>(&first.stderr),
        set(&[
            "builder/from",
            "builder/install",
            "app/from",
            "app/beforeInstall",
            "app/gitArchive",
            "app/install",
            "app/dependenciesAfterInstall",
            "app/setup",
            "app/gitLatestPatch",
            "app/dockerInstructions",
        ])
    );
    let second = build_werf_stored(dir.path(), &repo, &tag);
    assert_eq!(
        built_stages::<std::collections::BTreeSet<String>>(&second.stderr),
        set(&[])
    );
    assert!(second.stderr.contains(" 0 built"), "{}", second.stderr);

    write("echo two > /install.txt");
    let context = dir.path().display().to_string();
    let plan = conveyor(
        &["plan", "--repo", &repo, "--target", "app", &context],
        Path::new("/"),
    );
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let reused: Vec<&str> = plan
        .stdout
        .split("\nstage ")
        .filter(|stage| stage.contains("\n  reused: "))
        .filter_map(|stage| stage.split_whitespace().nth(1))
        .collect();
    assert_eq!(
        reused,
        [
            "builder/from",
            "builder/install",
            "app/from",
            "app/beforeInstall",
            "app/gitArchive"
        ]
    );
    let explain = conveyor(
        &["explain", "--repo", &repo, "--target", "app", &context],
        Path::new("/"),
    );
    assert_eq!(explain.code, 0, "{}", explain.stderr);
    let lines: Vec<&str> = explain.stdout.lines().collect();
    let after = |prefix: &str| {
        let at = lines.iter().position(|l| l.starts_with(prefix)).unwrap();
        (lines[at], lines.get(at + 1).copied().unwrap_or_default())
    };
    assert!(after("stage app/beforeInstall: ").0.contains(": reused "));
    let (install, why) = after("stage app/install: ");
    assert!(install.contains(": built: changed since "), "{install}");
    assert!(why.starts_with("  command 0 changed: "), "{why}");
    assert_eq!(
        after("stage app/dependenciesAfterInstall: ").1,
        "  parent changed (stage app/install)"
    );
    let third = build_werf_stored(dir.path(), &repo, &tag);
    assert_eq!(
        built_stages::<std::collections::BTreeSet<String>>(&third.stderr),
        set(&[
            "app/install",
            "app/dependenciesAfterInstall",
            "app/setup",
            "app/gitLatestPatch",
            "app/dockerInstructions",
        ])
    );
    let files = docker_ok(
        &[
            "run",
            "--rm",
            &tag,
            "cat",
            "/before.txt",
            "/install.txt",
            "/opt/out/a.txt",
        ],
        None,
    );
    // The stored install stage carries the storage's labels.
    let install_ref = third
        .stderr
        .lines()
        .find_map(|line| {
            line.strip_prefix("[conveyor] stage app/install: building, to be stored as ")
        })
        .expect("the install stage was stored")
        .to_string();
    docker_ok(&["pull", "-q", &install_ref], None);
    let labels = docker_ok(
        &[
            "image",
            "inspect",
            "-f",
            "{{json .Config.Labels}}",
            &install_ref,
        ],
        None,
    );
    remove_image(&install_ref);
    remove_image(&tag);
    assert_eq!(files, "before\ntwo\nart\n");
    let labels: serde_json::Value = serde_json::from_str(&labels).unwrap();
    assert_eq!(labels["conveyor.stage"], "app/install");
    assert_eq!(labels["conveyor.config"], "werf.yaml");
    let signature = install_ref.rsplit(':').next().unwrap();
    assert!(
        labels["conveyor.signature"]
            .as_str()
            .is_some_and(|s| s.ends_with(signature)),
        "{labels}"
    );
}

/// werf `dependencies`: the importing image's stages after the dependencies stage see
/// the dependency image's stored name, repository, tag, ID and digest, and so does the
/// image config; each value is checked against the registry and the pulled image.
#[test]
fn dependencies_name_the_stored_image_of_the_dependency() {
    harness();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "project: werf-deps\nconfigVersion: 1\n---\nimage: backend\nfrom: {busybox}\nshell:\n  install: echo backend > /backend.txt\n---\nimage: app\nfrom: {busybox}\ndependencies:\n- image: backend\n  before: setup\n  imports:\n  - {{type: ImageName, targetEnv: B_NAME}}\n  - {{type: ImageRepo, targetEnv: B_REPO}}\n  - {{type: ImageTag, targetEnv: B_TAG}}\n  - {{type: ImageID, targetEnv: B_ID}}\n  - {{type: ImageDigest, targetEnv: B_DIGEST}}\nshell:\n  install: echo app > /app.txt\n  setup: echo \"$B_NAME $B_DIGEST\" > /seen.txt\n",
        busybox = common::conveyor::busybox()
    );
    std::fs::write(dir.path().join("werf.yaml"), config).unwrap();
    let repo = format!("{}/{}", harness().registry, unique("werf-deps"));
    let tag = format!("conveyor-test/werf-deps:{}", unique("t"));
    let run = build_werf_stored(dir.path(), &repo, &tag);
    assert_eq!(
        built_stages::<std::collections::BTreeSet<String>>(&run.stderr),
        set(&[
            "backend/from",
            "backend/install",
            "app/from",
            "app/install",
            "app/dependenciesBeforeSetup",
            "app/setup",
        ])
    );
    let env_of = |name: &str| -> String {
        let env = docker_ok(
            &["image", "inspect", "--format", "{{json .Config.Env}}", &tag],
            None,
        );
        let env: Vec<String> = serde_json::from_str(env.trim()).unwrap();
        env.iter()
            .find_map(|e| e.strip_prefix(&format!("{name}=")).map(str::to_string))
            .unwrap_or_else(|| panic!("{name} not in {env:?}"))
    };
    let (name, repository, image_tag) = (env_of("B_NAME"), env_of("B_REPO"), env_of("B_TAG"));
    assert_eq!(name, format!("{repository}:{image_tag}"));
    assert_eq!(repository, repo);
    let (registry_name, _) = repo.split_once('/').map(|(_, n)| (n, ())).unwrap();
    assert_eq!(
        common::conveyor::registry_manifest_status(registry_name, &image_tag),
        200
    );
    // The named image is backend's, as the registry holds it.
    docker_ok(&["pull", "-q", &name], None);
    let backend = docker_ok(&["run", "--rm", &name, "cat", "/backend.txt"], None);
    assert_eq!(backend, "backend\n");
    let id = docker_ok(&["image", "inspect", "--format", "{{.Id}}", &name], None);
    assert_eq!(env_of("B_ID"), id.trim());
    // The same bytes may be in other repositories of earlier runs: this repo's digest.
    let repo_digests = docker_ok(
        &[
            "image",
            "inspect",
            "--format",
            "{{json .RepoDigests}}",
            &name,
        ],
        None,
    );
    let repo_digests: Vec<String> = serde_json::from_str(repo_digests.trim()).unwrap();
    let digest = env_of("B_DIGEST");
    assert!(
        repo_digests.contains(&format!("{repo}@{digest}")),
        "{repo}@{digest} not in {repo_digests:?}"
    );
    // setup ran with them in its environment.
    let seen = docker_ok(&["run", "--rm", &tag, "cat", "/seen.txt"], None);
    assert_eq!(seen, format!("{name} {digest}\n"));
    remove_image(&tag);
    remove_image(&name);
}

/// A Dockerfile image's `args` reach its ARGs (before and after FROM), its RUNs get its
/// `addHost` entries and its `network`: checked inside the built image.
#[test]
fn a_dockerfile_image_takes_its_args_hosts_and_network() {
    harness();
    let dir = tempfile::tempdir().unwrap();
    let config = "project: werf-df-options\nconfigVersion: 1\n---\nimage: tool\ndockerfile: Dockerfile\nargs:\n  BASE: BUSYBOX\n  VERSION: 2\naddHost:\n- registry.local:10.0.0.5\nnetwork: none\n";
    std::fs::write(
        dir.path().join("werf.yaml"),
        config.replace("BUSYBOX", &common::conveyor::busybox()),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "ARG BASE=scratch\nFROM ${BASE}\nARG VERSION=1\nRUN echo \"$VERSION\" > /version && grep registry.local /etc/hosts > /hosts && ls /sys/class/net > /net\nRUN --network=default ls /sys/class/net > /net-default\n",
    )
    .unwrap();
    let tag = format!("conveyor-test/werf-df-options:{}", unique("t"));
    let file = dir.path().join("werf.yaml").display().to_string();
    let context = dir.path().display().to_string();
    let run = conveyor(
        &[
            "build",
            "--progress=plain",
            "-f",
            &file,
            "-t",
            &tag,
            &context,
        ],
        Path::new("/"),
    );
    built(&run);
    let read = |path: &str| docker_ok(&["run", "--rm", &tag, "cat", path], None);
    assert_eq!(read("/version"), "2\n");
    assert_eq!(
        read("/hosts").split_whitespace().collect::<Vec<_>>(),
        ["10.0.0.5", "registry.local"]
    );
    // `network: none` leaves the RUN only the loopback; `--network=default` overrides.
    assert_eq!(read("/net"), "lo\n");
    assert!(
        read("/net-default").contains("eth0"),
        "{}",
        read("/net-default")
    );
    remove_image(&tag);
}

/// `build.platform` with two platforms: `conveyor build` and the buildx frontend build
/// the image once per platform, each the same files as the stock frontend's build of
/// the equivalent Dockerfile for that platform; `--repo` (stages stored for one
/// platform) refuses it unless `--platform` picks one.
#[test]
fn a_werf_config_listing_several_platforms_builds_one_result_each() {
    harness();
    let work = tempfile::tempdir().unwrap();
    let marker = unique("werf-platforms");
    let context = work.path().join("context");
    std::fs::create_dir_all(context.join("src")).unwrap();
    std::fs::write(context.join("src/hello.txt"), format!("{marker}\n")).unwrap();
    let config = format!(
        "# syntax={}\nproject: werf-platforms\nconfigVersion: 1\nbuild:\n  platform: [linux/amd64, linux/arm64]\n\
         ---\nimage: app\nfrom: 127.0.0.1:5000/busybox:latest\ngit:\n- add: /src\n  to: /app\n",
        frontend_image()
    );
    std::fs::write(context.join("werf.yaml"), config).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM 127.0.0.1:5000/busybox:latest\nCOPY src /app\n",
    )
    .unwrap();

    let run = conveyor(
        &[
            "build",
            "--progress=plain",
            "-f",
            "werf.yaml",
            "--output",
            "type=local,dest=../cli",
            ".",
        ],
        &context,
    );
    built(&run);
    // buildx's docker driver takes one platform at most; BUILDKIT_MULTI_PLATFORM lets
    // the frontend return a result per platform the config lists.
    let (ok, _, stderr) = buildx(
        &[
            "--progress=plain",
            "-f",
            "werf.yaml",
            "--build-arg",
            "BUILDKIT_MULTI_PLATFORM=1",
            "--output",
            "type=local,dest=../frontend",
            ".",
        ],
        &context,
    );
    assert!(ok, "the frontend through buildx: {stderr}");
    let cli = common::tree(&work.path().join("cli"));
    let frontend = common::tree(&work.path().join("frontend"));
    for platform in ["linux/amd64", "linux/arm64"] {
        let label = platform.replace('/', "_");
        let output = format!("type=local,dest=../stock-{label}");
        let (ok, _, stderr) = buildx(
            &[
                "--progress=quiet",
                "--platform",
                platform,
                "--output",
                &output,
                ".",
            ],
            &context,
        );
        assert!(ok, "stock {platform}: {stderr}");
        let stock = common::tree(&work.path().join(format!("stock-{label}")));
        assert_eq!(stock["app/hello.txt"].1, format!("{marker}\n").into_bytes());
        let for_platform = |built: &common::Tree| -> common::Tree {
            built
                .iter()
                .filter_map(|(path, entry)| {
                    let rest = path.strip_prefix(&format!("{label}/"))?;
                    Some((rest.to_string(), entry.clone()))
                })
                .collect()
        };
        let what = format!("conveyor build of werf.yaml for {platform}");
        common::assert_same_tree(&for_platform(&cli), &stock, &what);
        let what = format!("the buildx frontend's werf.yaml for {platform}");
        common::assert_same_tree(&for_platform(&frontend), &stock, &what);
    }
    // A result per platform, and nothing else, from both.
    let tops = |built: &common::Tree| -> Vec<String> {
        built
            .keys()
            .filter(|path| !path.contains('/'))
            .cloned()
            .collect()
    };
    assert_eq!(tops(&cli), ["linux_amd64", "linux_arm64"]);
    assert_eq!(tops(&frontend), ["linux_amd64", "linux_arm64"]);

    let repo = format!("{}/{}", harness().registry, unique("werf-platforms"));
    let run = conveyor(
        &["build", "-f", "werf.yaml", "--repo", &repo, "."],
        &context,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        common::conveyor::error_line(&run).ends_with(
            "werf.yaml: the image is built for several platforms (linux/amd64, linux/arm64) and --repo stores stages for one: choose one with --platform, or build without --repo"
        ),
        "{}",
        run.stderr
    );
}
