//! Named contexts (`--build-context`) and `FROM --platform` in the lowering.

use super::*;

#[test]
fn from_platform_and_stage_index_and_named_contexts() {
    let text = "FROM --platform=linux/arm64/v8 busybox AS arm\nRUN uname -m\nFROM alias\nCOPY --from=0 /bin/sh /sh\n";
    let dockerfile = parse(text).unwrap();
    let stage_graph = graph::from_dockerfile(&dockerfile, &BuildArgs::new()).unwrap();
    let selection = stage_graph.select(None).unwrap();
    assert_eq!(
        stage_graph.external_images(&selection),
        ["busybox", "alias"]
    );
    let mut options = options(text, BuildArgs::new());
    options.named_contexts.insert(
        "alias".into(),
        NamedContext::Image("127.0.0.1:5000/busybox:latest".into()),
    );
    let mut bases = ResolvedBases::new();
    for reference in ["busybox", "127.0.0.1:5000/busybox:latest"] {
        bases.insert(
            reference.into(),
            ResolvedBase {
                digest: fake_digest(reference),
                config: busybox_config(),
            },
        );
    }
    let lowered = lower(&stage_graph, &selection, &bases, &options).unwrap();
    let dump = lowered.definition.dump();
    assert!(dump.contains("platform linux/arm64/v8"), "{dump}");
    assert!(
        dump.contains("source docker-image://127.0.0.1:5000/busybox:latest@"),
        "{dump}"
    );
    let exec = execs(&lowered).remove(0);
    assert_eq!(exec.meta.unwrap().args, ["/bin/sh", "-c", "uname -m"]);
    // A named context for a stage name replaces the stage: its RUN is gone.
    options
        .named_contexts
        .insert("arm".into(), NamedContext::Image("busybox".into()));
    let lowered = lower(&stage_graph, &selection, &bases, &options).unwrap();
    assert!(execs(&lowered).is_empty());
    options.named_contexts.remove("arm");
    // Without the named context the alias itself must be resolved.
    options.named_contexts.clear();
    let err = lower(&stage_graph, &selection, &bases, &options).unwrap_err();
    assert!(
        matches!(err, LowerError::MissingBase { ref reference, .. } if reference == "alias"),
        "{err}"
    );
}

#[test]
fn directory_named_contexts_are_sources_without_config() {
    let text = "FROM busybox AS tools\nRUN make\nFROM src\nCOPY --from=tools /bin/make /make\nCOPY --from=docs /index.html /\nRUN --mount=from=src,target=/s ls /s\n";
    let dockerfile = parse(text).unwrap();
    let stage_graph = graph::from_dockerfile(&dockerfile, &BuildArgs::new()).unwrap();
    let selection = stage_graph.select(None).unwrap();
    let mut options = options(text, BuildArgs::new());
    options.named_contexts.insert(
        "src".into(),
        NamedContext::Local {
            name: "src".into(),
            exclude_patterns: vec!["*.o".into()],
        },
    );
    options.named_contexts.insert(
        "docs".into(),
        NamedContext::Git("https://example.com/docs.git#v1".into()),
    );
    // The stage `tools` is replaced by a download: its image is never needed.
    options.named_contexts.insert(
        "tools".into(),
        NamedContext::Http("https://example.com/make".into()),
    );
    let lowered = lower(&stage_graph, &selection, &ResolvedBases::new(), &options).unwrap();
    let dump = lowered.definition.dump();
    assert!(dump.contains("source local://src"), "{dump}");
    assert!(dump.contains("[context src] load from client"), "{dump}");
    assert!(
        dump.contains("source git://example.com/docs.git#v1"),
        "{dump}"
    );
    assert!(dump.contains("source https://example.com/make"), "{dump}");
    assert!(!dump.contains("docker-image://"), "{dump}");
    let exec = execs(&lowered).remove(0);
    assert_eq!(exec.meta.unwrap().args, ["/bin/sh", "-c", "ls /s"]);
    // No image, no config but the platform and the default PATH.
    let config = &lowered.image_config;
    assert_eq!(config.architecture, "amd64");
    assert_eq!(config.config.env, [format!("PATH={DEFAULT_PATH}")]);
}
