//! Lowering werf stages, checked on the readable LLB dump and the image config.

use std::collections::BTreeMap;

use crate::llb;
use crate::lower::{ContextRef, ImageConfig, Lowered, Options, ResolvedBase, ResolvedBases, lower};
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
        reused_stages: crate::lower::ReusedStages::new(),
        prefix_platform: false,
    };
    lower(&stage_graph, &selection, &bases, &options).unwrap()
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
