//! The imageSpec stage's image config, from a base config with everything set.

use std::collections::BTreeMap;

use crate::lower::tests::lower_werf_config;
use crate::lower::{ImageConfig, ResolvedBase, ResolvedBases, lower};
use crate::werf::{TemplateEnv, load};

/// A base with a CMD, ENTRYPOINT, user, working dir, env, labels, volumes and two
/// layers of history.
fn base() -> ResolvedBase {
    ResolvedBase {
        digest: "sha256:2222222222222222222222222222222222222222222222222222222222222222".into(),
        config: ImageConfig::from_json(
            br#"{"architecture":"amd64","os":"linux","config":{"User":"nobody","Env":["PATH=/bin","GOPATH=/go","GOFLAGS=-x","HOME=/root"],"Entrypoint":["/init"],"Cmd":["sh"],"WorkingDir":"/work","Labels":{"maintainer":"x","org.opencontainers.image.title":"t","keep":"k"},"Volumes":{"/data":{},"/logs":{}},"ExposedPorts":{"80/tcp":{}}},
                "rootfs":{"type":"layers","diff_ids":["sha256:1111111111111111111111111111111111111111111111111111111111111111","sha256:3333333333333333333333333333333333333333333333333333333333333333"]},
                "history":[{"created_by":"ADD rootfs"},{"created_by":"ENV GOPATH=/go","empty_layer":true},{"created_by":"RUN make"}]}"#,
        )
        .unwrap(),
    }
}

fn image_config(image_spec: &str) -> ImageConfig {
    let text = format!(
        "project: p\nconfigVersion: 1\n---\nimage: app\nfrom: base\nshell:\n  install: echo hi > /hi\nimageSpec:\n{image_spec}"
    );
    lower_werf_config(&text, "app", &BTreeMap::new(), base(), |_, _| {})
        .unwrap()
        .image_config
}

#[test]
fn clears_empty_what_they_name_and_nothing_else() {
    let image = image_config(
        "  config:\n    clearCmd: true\n    clearEntrypoint: true\n    clearUser: true\n    clearWorkingDir: true\n",
    );
    let config = &image.config;
    assert!(config.cmd.is_empty() && config.entrypoint.is_empty());
    assert_eq!(
        (config.user.as_str(), config.working_dir.as_str()),
        ("", "")
    );
    assert_eq!(config.labels.len(), 3);
    assert_eq!(config.env.len(), 4);
}

#[test]
fn a_clear_comes_before_the_value_it_clears() {
    let image = image_config(
        "  config:\n    clearCmd: true\n    cmd: [serve]\n    clearUser: true\n    user: app\n",
    );
    assert_eq!(image.config.cmd, ["serve"]);
    assert_eq!(image.config.user, "app");
    assert_eq!(image.config.entrypoint, ["/init"], "not cleared");
}

#[test]
fn removals_match_names_or_whole_name_regexps_before_additions() {
    let image = image_config(
        "  config:\n    removeEnv: [HOME, /GO.*/]\n    env: {GOBIN: $GOPATH/bin}\n    removeLabels: [/org\\.opencontainers\\..*/, maintainer, keep]\n    labels: {keep: again}\n    removeVolumes: [/data]\n    volumes: [/cache]\n",
    );
    let config = &image.config;
    // GOBIN is added after the removal and expands against the environment before it.
    assert_eq!(config.env, ["PATH=/bin", "GOBIN=/go/bin"]);
    assert_eq!(
        config.labels,
        BTreeMap::from([("keep".to_string(), "again".to_string())])
    );
    let volumes: Vec<&str> = config.volumes.keys().map(String::as_str).collect();
    assert_eq!(volumes, ["/cache", "/logs"]);
}

#[test]
fn expose_replaces_the_inherited_ports_and_healthcheck_is_in_seconds() {
    let image = image_config(
        "  config:\n    expose: ['8080', 53/udp]\n    healthcheck:\n      test: [CMD-SHELL, 'true']\n      interval: 5\n      retries: 2\n",
    );
    let ports: Vec<&str> = image
        .config
        .exposed_ports
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(ports, ["53/udp", "8080/tcp"]);
    let check = image.config.healthcheck.unwrap();
    assert_eq!(check.test, ["CMD-SHELL", "true"]);
    assert_eq!((check.interval, check.retries), (5_000_000_000, 2));
}

#[test]
fn clear_history_keeps_one_bare_entry_per_layer() {
    let kept = image_config("  author: me\n");
    // The base's three entries, the from and install stages', the imageSpec's.
    assert!(
        kept.history
            .iter()
            .any(|h| h.created_by.contains("echo hi"))
    );
    let cleared = image_config("  clearHistory: true\n");
    let layers = kept.history.iter().filter(|h| !h.empty_layer).count();
    assert_eq!(layers, 3, "rootfs, make, install");
    assert_eq!(cleared.history.len(), layers);
    assert!(cleared.history.iter().all(|h| *h == Default::default()));
}

#[test]
fn a_dockerfile_images_image_spec_rewrites_its_target_config() {
    let mut files = crate::werf::template::MemoryFiles::default();
    files.files.insert(
        "Dockerfile".into(),
        "FROM base\nENV BUILD_ID=7 KEEP=1\nCMD [\"sh\"]\n".into(),
    );
    let env = TemplateEnv {
        files: std::sync::Arc::new(files),
        ..TemplateEnv::without_project()
    };
    let text = "project: p\nconfigVersion: 1\n---\nimage: web\ndockerfile: Dockerfile\nimageSpec:\n  config:\n    clearCmd: true\n    removeEnv: [/BUILD_.*/]\n";
    let loaded = load("werf.yaml", text, &env).unwrap();
    let stage_graph = crate::graph::from_werf(
        &loaded.config,
        &crate::graph::platform_args("linux/amd64", "linux/amd64"),
    )
    .unwrap();
    let selection = stage_graph.select(Some("web")).unwrap();
    let bases: ResolvedBases = stage_graph
        .external_images(&selection)
        .into_iter()
        .map(|reference| (reference, base()))
        .collect();
    let options = crate::lower::tests::werf_options();
    let image = lower(&stage_graph, &selection, &bases, &options)
        .unwrap()
        .image_config;
    assert!(image.config.cmd.is_empty(), "{:?}", image.config.cmd);
    assert!(!image.config.env.iter().any(|e| e.starts_with("BUILD_")));
    assert!(image.config.env.contains(&"KEEP=1".to_string()));
}
