//! Vertex names: step numbering, platform prefixes, continuations, and names rebuilt
//! without the Dockerfile text.

use super::*;

#[test]
fn vertex_names_number_the_steps_of_each_stage() {
    let text = "FROM busybox AS build\nWORKDIR /src\nRUN echo $HOME\nFROM build\nCOPY --from=build /src /dst\n";
    let lowered = lower_text(text);
    let digest = fake_digest("busybox");
    assert_eq!(
        names(&lowered),
        [
            format!("[build 1/3] FROM docker.io/library/busybox:latest@{digest}"),
            "[build 2/3] WORKDIR /src".to_string(),
            "[build 3/3] RUN echo $HOME".to_string(),
            "[stage-1 1/1] COPY --from=build /src /dst".to_string(),
            "[internal] load build context".to_string(),
        ]
        .into_iter()
        .filter(|n| !n.contains("load build context"))
        .collect::<Vec<_>>()
    );
    // With one stage the prefix has no name.
    let lowered = lower_text("FROM busybox\nENV A=b\nRUN echo $A\n");
    assert_eq!(names(&lowered)[1], "[2/2] RUN echo b");
}

#[test]
fn multi_platform_vertex_names_start_with_the_platform_like_the_stock_frontend() {
    // The stock frontend on the harness dockerd (`--platform linux/arm64 --build-arg
    // BUILDKIT_MULTI_PLATFORM=1`) names these `[linux/amd64 build 1/2] FROM …`,
    // `[linux/amd64->arm64 build 2/2] RUN echo arm64 > /arch`,
    // `[linux/arm64 stage-1 2/3] WORKDIR /w` and `[linux/arm64 stage-1 3/3] COPY …`.
    let text = "FROM --platform=$BUILDPLATFORM busybox AS build\nARG TARGETARCH\n\
                RUN echo $TARGETARCH > /arch\nFROM busybox\nWORKDIR /w\nCOPY --from=build /arch /w/\n";
    let build_args: BuildArgs = graph::platform_args("linux/amd64", "linux/arm64");
    let dockerfile = parse(text).unwrap();
    let stage_graph = graph::from_dockerfile(&dockerfile, &build_args).unwrap();
    let selection = stage_graph.select(None).unwrap();
    let bases = resolve_all(&stage_graph, &selection);
    let mut options = options(text, build_args);
    options.prefix_platform = true;
    let lowered = lower(&stage_graph, &selection, &bases, &options).unwrap();
    let digest = fake_digest("busybox");
    let from = format!("FROM docker.io/library/busybox:latest@{digest}");
    let mut got = names(&lowered);
    got.sort();
    assert_eq!(
        got,
        [
            format!("[linux/amd64 build 1/2] {from}"),
            "[linux/amd64->arm64 build 2/2] RUN echo arm64 > /arch".to_string(),
            format!("[linux/arm64 stage-1 1/3] {from}"),
            "[linux/arm64 stage-1 2/3] WORKDIR /w".to_string(),
            "[linux/arm64 stage-1 3/3] COPY --from=build /arch /w/".to_string(),
        ]
    );
    // A cross build to another system names the whole target platform.
    let mut st = stage::StageState::empty(&llb::Platform::new("linux", "amd64", ""));
    st.prefix_platform = true;
    st.cmd_total = 1;
    st.set_env("TARGETPLATFORM", "windows/amd64");
    assert_eq!(st.prefix("RUN x"), "[linux/amd64->windows/amd64 1/1] RUN x");
}

#[test]
fn run_names_join_continuations_like_the_stock_frontend() {
    // Checked against `docker buildx build` on the harness dockerd: the stock frontend
    // shows `[2/3] RUN echo a     b   c "$HOME" $X` and `[3/3] COPY --chown=0 Dockerfile.cont /x`.
    let text = "FROM busybox\nRUN echo a \\\n    b \\\n# comment\n  c \"$HOME\" \\$X\nARG Z=1\nCOPY --chown=0 \"Dockerfile.cont\" /x\n";
    let lowered = lower_text(text);
    let names = names(&lowered);
    assert_eq!(names[1], "[2/3] RUN echo a     b   c \"$HOME\" $X");
    assert_eq!(names[3], "[3/3] COPY --chown=0 Dockerfile.cont /x");
}

#[test]
fn a_single_stage_with_a_mount_is_named_like_a_multistage_build() {
    // BuildKit counts a state for each mount source; the stock frontend shows
    // `[stage-0 2/2] RUN --mount=type=cache,target=/c true` (checked on the harness).
    let lowered = lower_text("FROM busybox\nRUN --mount=type=cache,target=/c true\n");
    assert_eq!(
        names(&lowered)[1],
        "[stage-0 2/2] RUN --mount=type=cache,target=/c true"
    );
}

#[test]
fn without_the_dockerfile_text_names_are_rebuilt_and_ops_have_no_location() {
    let text = "FROM busybox AS b\nWORKDIR /w\nRUN [\"echo\", \"hi\"]\nCOPY --from=alpine --chown=1 <<EOF a /d/\nx\nEOF\n";
    let dockerfile = parse(text).unwrap();
    let stage_graph = graph::from_dockerfile(&dockerfile, &BuildArgs::new()).unwrap();
    let selection = stage_graph.select(None).unwrap();
    let bases = resolve_all(&stage_graph, &selection);
    let mut options = options(text, BuildArgs::new());
    options.dockerfile_source = None;
    let lowered = lower(&stage_graph, &selection, &bases, &options).unwrap();
    let names = names(&lowered);
    assert_eq!(
        &names[1..3],
        ["[b 2/4] WORKDIR /w", "[b 3/4] RUN [\"echo\",\"hi\"]"]
    );
    assert!(
        names.contains(&"[b 4/4] COPY --from=alpine --chown=1 a <<EOF /d/".to_string()),
        "{names:?}"
    );
    assert!(lowered.definition.to_pb().source.is_none());
}
