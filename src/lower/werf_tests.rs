//! Lowering werf stages, checked on the readable LLB dump and the image config.

use std::collections::BTreeMap;

use crate::llb;
use crate::lower::{
    ContextRef, ImageConfig, Lowered, Options, ResolvedBase, ResolvedBases, ReusedStage, lower,
};
use crate::werf::{TemplateEnv, load};

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

/// Lowers with the stages named in `stored` (`image/stage`) taken from the storage;
/// an error comes back located in `text`.
fn lower_werf_with_stored(
    text: &str,
    target: &str,
    stored: &[(&str, ReusedStage)],
) -> Result<Lowered, String> {
    let loaded = load("werf.yaml", text, &TemplateEnv::without_project()).unwrap();
    let stage_graph = crate::graph::from_werf(
        &loaded.config,
        &crate::graph::platform_args("linux/amd64", "linux/amd64"),
    )
    .unwrap();
    let selection = stage_graph.select(Some(target)).unwrap();
    let bases: ResolvedBases = stage_graph
        .external_images(&selection)
        .into_iter()
        .map(|reference| (reference, busybox()))
        .collect();
    let reused_stages = stored
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
    let options = Options {
        platform: llb::Platform::new("linux", "amd64", ""),
        build_args: BTreeMap::new(),
        context: ContextRef {
            local_name: "context".into(),
            session_id: "s".into(),
            exclude_patterns: Vec::new(),
            shared_key_hint: "context".into(),
        },
        dockerfile_source: None,
        named_contexts: BTreeMap::new(),
        merge_op: false,
        reused_stages,
    };
    lower(&stage_graph, &selection, &bases, &options)
        .map_err(|e| e.located("werf.yaml", &loaded.rendered).to_string())
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
