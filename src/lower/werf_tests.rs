//! Lowering werf stages, checked on the readable LLB dump and the image config.

use std::collections::BTreeMap;

use crate::lower::tests::lower_werf_config;
use crate::lower::{ContextRef, ImageConfig, Lowered, ResolvedBase, ReusedStage};
use crate::werf::{GitRef, TemplateEnv, load};

fn busybox() -> ResolvedBase {
    ResolvedBase {
        digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111".into(),
        config: ImageConfig::from_json(
            br#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["sh"]},
                "rootfs":{"type":"layers","diff_ids":["sha256:1111111111111111111111111111111111111111111111111111111111111111"]}}"#,
        )
        .unwrap(),
    }
}

fn lower_werf(text: &str, target: &str) -> Lowered {
    lower_werf_with_stored(text, target, &[]).unwrap()
}

/// Lowers with the remote git refs resolved to `commits`.
fn try_lower_werf(
    text: &str,
    target: &str,
    commits: &BTreeMap<(String, GitRef), String>,
) -> Result<Lowered, String> {
    lower_werf_with(text, target, &[], commits)
}

/// Lowers with the stages named in `stored` (`image/stage`) taken from the storage;
/// an error comes back located in `text`.
fn lower_werf_with_stored(
    text: &str,
    target: &str,
    stored: &[(&str, ReusedStage)],
) -> Result<Lowered, String> {
    lower_werf_with(text, target, stored, &BTreeMap::new())
}

fn lower_werf_with(
    text: &str,
    target: &str,
    stored: &[(&str, ReusedStage)],
    commits: &BTreeMap<(String, GitRef), String>,
) -> Result<Lowered, String> {
    let stored_stages = |stage_graph: &crate::graph::StageGraph,
                         options: &mut crate::lower::Options| {
        options.reused_stages = stored
            .iter()
            .map(|(name, stage)| {
                let id = stage_graph
                    .stages
                    .iter()
                    .position(|s| s.name.as_deref() == Some(name))
                    .unwrap();
                (crate::graph::StageId(id), stage.clone())
            })
            .collect();
    };
    lower_werf_config(text, target, commits, busybox(), stored_stages).map_err(|e| e.to_string())
}

const CONFIG: &str = "project: p\nconfigVersion: 1\n---\nartifact: builder\nfrom: busybox\ngit:\n- add: /src\n  to: /build\n  includePaths: ['*.go']\nshell:\n  install: [mkdir /out, cp /build/main.go /out/]\n---\nimage: app\nfrom: busybox\nmount:\n- from: build_dir\n  to: /cache\n- from: tmp_dir\n  to: /scratch\nshell:\n  install: echo hi > /hi\nimport:\n- artifact: builder\n  add: /out\n  to: /opt\n  owner: '1000'\n  group: '2000'\n  after: install\ndocker:\n  ENTRYPOINT: [/bin/app]\n  ENV: {A: '$x \"q\"'}\n";

#[test]
fn shell_stages_run_their_commands_as_one_sh_e_script() {
    let dump = lower_werf(CONFIG, "app").definition.dump();
    assert!(
        dump.contains(r#"exec ["/bin/sh", "-e", "-c", "mkdir /out\ncp /build/main.go /out/"]"#),
        "{dump}"
    );
    assert!(
        dump.contains(r#"exec ["/bin/sh", "-e", "-c", "echo hi > /hi"]"#),
        "{dump}"
    );
    assert!(
        dump.contains("[builder/install] mkdir /out && cp /build/main.go /out/"),
        "{dump}"
    );
    assert!(dump.contains("[app/install] echo hi > /hi"), "{dump}");
}

#[test]
fn git_imports_and_mounts_become_copies_and_mounts() {
    let dump = lower_werf(CONFIG, "app").definition.dump();
    assert!(
        dump.contains("[builder/gitArchive] git /src to /build"),
        "{dump}"
    );
    assert!(
        dump.contains("*.go"),
        "include paths reach the copy: {dump}"
    );
    assert!(
        dump.contains("[app/dependenciesAfterInstall] import /out from builder/install to /opt"),
        "{dump}"
    );
    assert!(dump.contains("werf-build-dir/app/cache"), "{dump}");
    assert!(dump.contains("/scratch"), "{dump}");
}

#[test]
fn docker_settings_become_the_image_config() {
    let lowered = lower_werf(CONFIG, "app");
    let config = &lowered.image_config.config;
    assert_eq!(config.entrypoint, ["/bin/app"]);
    // An ENTRYPOINT without CMD drops the base's CMD, as in a Dockerfile.
    assert!(config.cmd.is_empty(), "{:?}", config.cmd);
    assert!(
        config.env.contains(&"A=$x \"q\"".to_string()),
        "{:?}",
        config.env
    );
}

#[test]
fn target_builds_only_what_the_image_needs() {
    let dump = lower_werf(CONFIG, "builder").definition.dump();
    assert!(!dump.contains("[app/"), "{dump}");
}

const REMOTE: &str = "project: p\nconfigVersion: 1\n---\nimage: app\nfrom: busybox\ngit:\n- url: https://example.com/lib.git\n  branch: main\n  add: /src\n  to: /lib\n  owner: '1000'\n";

#[test]
fn a_remote_mapping_copies_from_its_repository_at_the_resolved_commit() {
    let commit = "a5a01abf6bf1ef5953a120ff3eedb09c23acb750";
    let commits = BTreeMap::from([(
        (
            "https://example.com/lib.git".to_string(),
            GitRef::Branch("main".into()),
        ),
        commit.to_string(),
    )]);
    let dump = try_lower_werf(REMOTE, "app", &commits)
        .unwrap()
        .definition
        .dump();
    // Pinned to the commit, never to the branch, which may have moved since signing.
    assert!(
        dump.contains(&format!("git://example.com/lib.git#{commit}")),
        "{dump}"
    );
    assert!(!dump.contains("lib.git#main"), "{dump}");
    assert!(
        dump.contains("[app/gitArchive] git /src of https://example.com/lib.git to /lib"),
        "{dump}"
    );
    assert!(!dump.contains("local://context"), "{dump}");
}

#[test]
fn an_unresolved_remote_mapping_is_not_lowered() {
    let error = try_lower_werf(REMOTE, "app", &BTreeMap::new()).unwrap_err();
    assert!(
        error.contains("the commit of git https://example.com/lib.git was not resolved"),
        "{error}"
    );
}

#[test]
fn one_listed_platform_pins_an_image_several_leave_it_to_the_build() {
    let text = "project: p\nconfigVersion: 1\n---\nimage: tools\nfrom: busybox\nplatform: linux/amd64\n\
                ---\nimage: app\nfrom: busybox\nplatform: [linux/amd64, linux/arm64]\n";
    let loaded = load("werf.yaml", text, &TemplateEnv::without_project()).unwrap();
    let stage_graph = crate::graph::from_werf(
        &loaded.config,
        &crate::graph::platform_args("linux/amd64", "linux/arm64"),
    )
    .unwrap();
    let from_platform = |image: &str| {
        stage_graph
            .stages
            .iter()
            .find(|stage| stage.name.as_deref() == Some(&format!("{image}/from")))
            .map(|stage| stage.platform.clone())
            .unwrap()
    };
    assert_eq!(from_platform("tools").as_deref(), Some("linux/amd64"));
    assert_eq!(from_platform("app"), None);
}

const DEPENDENCIES: &str = "project: p\nconfigVersion: 1\n---\nimage: backend\nfrom: busybox\nshell:\n  install: echo b > /b\n---\nimage: web\nfrom: busybox\ndependencies:\n- image: backend\n  after: install\n  imports:\n  - {type: ImageName, targetEnv: B_NAME}\n  - {type: ImageRepo, targetEnv: B_REPO}\n  - {type: ImageTag, targetEnv: B_TAG}\n  - {type: ImageID, targetEnv: B_ID}\n  - {type: ImageDigest, targetEnv: B_DIGEST}\nshell:\n  install: echo w > /w\n  setup: echo $B_NAME > /name\n";

#[test]
fn dependencies_hand_the_stored_image_names_to_later_stages_and_the_config() {
    let stored = ReusedStage {
        reference: "127.0.0.1:5000/shop:abc123".into(),
        image: busybox(),
        image_id: "sha256:2222222222222222222222222222222222222222222222222222222222222222".into(),
        stored_digest: "sha256:3333333333333333333333333333333333333333333333333333333333333333"
            .into(),
    };
    let lowered =
        lower_werf_with_stored(DEPENDENCIES, "web", &[("backend/install", stored)]).unwrap();
    let env = &lowered.image_config.config.env;
    for expected in [
        "B_NAME=127.0.0.1:5000/shop:abc123",
        "B_REPO=127.0.0.1:5000/shop",
        "B_TAG=abc123",
        "B_ID=sha256:2222222222222222222222222222222222222222222222222222222222222222",
        "B_DIGEST=sha256:3333333333333333333333333333333333333333333333333333333333333333",
    ] {
        assert!(
            env.iter().any(|e| e == expected),
            "{expected} not in {env:?}"
        );
    }
    // The setup command after the dependencies stage runs with them in its environment.
    let dump = lowered.definition.dump();
    assert!(dump.contains("B_NAME=127.0.0.1:5000/shop:abc123"), "{dump}");
}

#[test]
fn dependencies_without_the_storage_are_a_located_error() {
    let Err(error) = lower_werf_with_stored(DEPENDENCIES, "web", &[]) else {
        panic!("lowered a dependency that is not stored");
    };
    assert!(
        error.starts_with("werf.yaml:12:10: image \"web\" depends on \"backend\", whose name, ID and digest exist only once it is stored"),
        "{error}"
    );
}

#[test]
fn an_import_from_an_external_image_copies_from_that_image() {
    let config = "project: p\nconfigVersion: 1\n---\nimage: app\nfrom: busybox\nimport:\n- from: alpine:3.20\n  add: /etc/alpine-release\n  to: /etc/imported\n  after: install\nshell:\n  install: echo hi\n";
    let dump = lower_werf(config, "app").definition.dump();
    assert!(
        dump.contains("docker.io/library/alpine:3.20@sha256:1111"),
        "{dump}"
    );
    assert!(
        dump.contains("[app/dependenciesAfterInstall] import /etc/alpine-release from alpine:3.20 to /etc/imported"),
        "{dump}"
    );
}

const FROM_PATH: &str = "project: p\nconfigVersion: 1\n---\nimage: app\nfrom: busybox\nmount:\n- fromPath: data\n  to: /data\nshell:\n  install: cat /data/x\n";

#[test]
fn a_host_directory_the_client_serves_is_mounted_writable_for_the_commands() {
    let host_dir = ContextRef {
        local_name: "werf-host-dir-abc".into(),
        session_id: "s".into(),
        exclude_patterns: Vec::new(),
        shared_key_hint: "werf-host-dir-abc".into(),
    };
    let serve = |_: &_, options: &mut crate::lower::Options| {
        options.host_dirs = BTreeMap::from([("data".to_string(), host_dir)]);
    };
    let dump = lower_werf_config(FROM_PATH, "app", &BTreeMap::new(), busybox(), serve)
        .unwrap()
        .definition
        .dump();
    assert!(dump.contains("local://werf-host-dir-abc"), "{dump}");
    assert!(
        dump.contains("[internal] load host directory data"),
        "{dump}"
    );
    assert!(dump.contains("/data"), "{dump}");
}

#[test]
fn a_host_directory_without_a_client_serving_it_is_an_error_at_the_path() {
    let located = lower_werf_config(FROM_PATH, "app", &BTreeMap::new(), busybox(), |_, _| {})
        .expect_err("no host dir");
    assert_eq!(located.at.to_string(), "7:13");
    assert!(
        located.message.contains("only `conveyor build` serves"),
        "{}",
        located.message
    );
}
