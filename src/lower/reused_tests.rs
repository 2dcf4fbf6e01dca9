//! Lowering with stages from the stages storage (`Options::reused_stages`).

use super::*;

const STORED: &str =
    "127.0.0.1:5000/app-stages:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const STORED_DIGEST: &str =
    "sha256:5555555555555555555555555555555555555555555555555555555555555555";
const STORED_IMAGE_ID: &str =
    "sha256:6666666666666666666666666666666666666666666666666666666666666666";

const TEXT: &str = "FROM busybox AS base\nRUN echo base > /base\nFROM base AS build\nRUN echo build > /build\nFROM 127.0.0.1:5000/other AS unrelated\nFROM busybox AS app\nCOPY --from=build /build /b\nFROM build AS next\nRUN echo next\n";

/// The stored image of stage `build`: busybox's layer and one more, its own env,
/// working dir and user.
fn stored_config() -> ImageConfig {
    ImageConfig::from_json(
        br#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin","STORED=1"],"WorkingDir":"/work","User":"nobody","Cmd":["sh"]},
            "rootfs":{"type":"layers","diff_ids":["sha256:1111111111111111111111111111111111111111111111111111111111111111","sha256:2222222222222222222222222222222222222222222222222222222222222222"]}}"#,
    )
    .unwrap()
}

fn lower_reusing_build(target: &str) -> (Lowered, Selection, StageGraph) {
    let dockerfile = parse(TEXT).unwrap();
    let stage_graph = graph::from_dockerfile(&dockerfile, &BuildArgs::new()).unwrap();
    let selection = stage_graph.select(Some(target)).unwrap();
    let build = stage_graph
        .stages
        .iter()
        .position(|s| s.name.as_deref() == Some("build"))
        .unwrap();
    let mut options = options(TEXT, BuildArgs::new());
    options.reused_stages = ReusedStages::from([(
        StageId(build),
        ReusedStage {
            reference: STORED.into(),
            image: ResolvedBase {
                digest: STORED_DIGEST.into(),
                config: stored_config(),
            },
            image_id: STORED_IMAGE_ID.into(),
            stored_digest: STORED_DIGEST.into(),
        },
    )]);
    let pruned = prune_reused(&stage_graph, &selection, |id| {
        options.reused_stages.contains_key(&id)
    });
    // Only what the pruned selection needs is resolved: a missing base would fail.
    let bases = resolve_all(&stage_graph, &pruned);
    let lowered = lower(&stage_graph, &selection, &bases, &options)
        .unwrap_or_else(|e| panic!("{}", e.located("Dockerfile", TEXT)));
    (lowered, pruned, stage_graph)
}

fn pinned_stored() -> String {
    format!("{STORED}@{STORED_DIGEST}")
}

#[test]
fn a_reused_stage_is_its_stored_image_and_its_parents_are_not_lowered() {
    let (lowered, pruned, stage_graph) = lower_reusing_build("app");
    let stage_names: Vec<String> = pruned
        .order
        .iter()
        .map(|&id| stage_graph.stage(id).display_name())
        .collect();
    assert_eq!(stage_names, ["build", "app"]);
    let dump = lowered.definition.dump();
    assert!(dump.contains(&pinned_stored()), "{dump}");
    assert!(!dump.contains("echo base"), "{dump}");
    assert!(!dump.contains("echo build"), "{dump}");
    assert!(execs(&lowered).is_empty());
    // `app` is busybox plus the copied file: its config is busybox's.
    assert_eq!(lowered.image_config.config.cmd, vec!["sh".to_string()]);
    assert!(names(&lowered).contains(&format!(
        "[build 1/1] FROM {} (stored stage)",
        pinned_stored()
    )));
}

#[test]
fn a_reused_target_is_the_stored_image_with_its_config() {
    let (lowered, _, _) = lower_reusing_build("build");
    assert!(execs(&lowered).is_empty());
    assert_eq!(lowered.image_config, stored_config());
    assert!(lowered.definition.dump().contains(&pinned_stored()));
}

#[test]
fn a_stage_from_a_reused_stage_continues_its_config() {
    let (lowered, _, _) = lower_reusing_build("next");
    let execs = execs(&lowered);
    assert_eq!(execs.len(), 1, "only `next`'s RUN runs");
    let meta = execs[0].meta.as_ref().unwrap();
    assert_eq!(meta.args, ["/bin/sh", "-c", "echo next"]);
    assert!(meta.env.contains(&"STORED=1".to_string()), "{:?}", meta.env);
    assert_eq!(meta.cwd, "/work");
    assert_eq!(meta.user, "nobody");
    assert_eq!(lowered.image_config.config.working_dir, "/work");
}

#[test]
fn without_reused_stages_nothing_changes() {
    let dockerfile = parse(TEXT).unwrap();
    let stage_graph = graph::from_dockerfile(&dockerfile, &BuildArgs::new()).unwrap();
    let selection = stage_graph.select(Some("next")).unwrap();
    assert_eq!(prune_reused(&stage_graph, &selection, |_| false), selection);
    let lowered = lower_text_with(TEXT, Some("next"), BuildArgs::new()).unwrap();
    assert_eq!(execs(&lowered).len(), 3);
}
