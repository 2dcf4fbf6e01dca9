//! Unit tests of the lowering, and the golden directories
//! `testdata/llb/<case>/{Dockerfile, [target], [build-args], expected}`: the readable
//! dump of the Definition and the image config JSON, or the rendered error.
//! `UPDATE_GOLDEN=1` rewrites `expected` (read every rewritten file before committing).

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest as _, Sha256};

use super::*;
use crate::dockerfile::parse;
use crate::graph::{self, BuildArgs};
use crate::proto::pb;

/// A busybox-like config: one layer, PATH, CMD sh.
fn busybox_config() -> ImageConfig {
    ImageConfig::from_json(
        br#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},
            "rootfs":{"type":"layers","diff_ids":["sha256:1111111111111111111111111111111111111111111111111111111111111111"]},
            "history":[{"created":"2024-01-01T00:00:00Z","created_by":"ADD busybox.tar /"},{"created":"2024-01-01T00:00:00Z","created_by":"CMD [\"sh\"]","empty_layer":true}]}"#,
    )
    .expect("fixture config parses")
}

fn fake_digest(reference: &str) -> String {
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(reference.as_bytes()))
    )
}

/// Lowering options for a werf config on linux/amd64: nothing stored, served or named.
pub(super) fn werf_options() -> Options {
    Options {
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
        reused_stages: ReusedStages::new(),
        host_dirs: BTreeMap::new(),
        prefix_platform: false,
    }
}

/// Options for the test platform: `TARGETPLATFORM` among the build args, else linux/amd64.
fn options(text: &str, build_args: BuildArgs) -> Options {
    let platform = build_args
        .get("TARGETPLATFORM")
        .and_then(|p| parse_platform(p))
        .unwrap_or_else(|| llb::Platform::new("linux", "amd64", ""));
    Options {
        platform,
        build_args,
        context: ContextRef {
            local_name: "context".into(),
            session_id: "session-1".into(),
            exclude_patterns: vec!["*.tmp".into()],
            shared_key_hint: "context".into(),
        },
        dockerfile_source: Some(Arc::new(llb::SourceMap {
            filename: "Dockerfile".into(),
            data: text.as_bytes().to_vec(),
            language: "Dockerfile".into(),
        })),
        named_contexts: BTreeMap::new(),
        merge_op: true,
        reused_stages: ReusedStages::new(),
        host_dirs: BTreeMap::new(),
        prefix_platform: false,
    }
}

/// Every external image resolves to the busybox fixture under a digest of its name.
fn resolve_all(stage_graph: &StageGraph, selection: &Selection) -> ResolvedBases {
    stage_graph
        .external_images(selection)
        .into_iter()
        .map(|reference| {
            let base = ResolvedBase {
                digest: fake_digest(&reference),
                config: busybox_config(),
            };
            (reference, base)
        })
        .collect()
}

fn lower_text_with(
    text: &str,
    target: Option<&str>,
    build_args: BuildArgs,
) -> Result<Lowered, LowerError> {
    let dockerfile = parse(text).expect("test Dockerfile parses");
    let stage_graph = graph::from_dockerfile(&dockerfile, &build_args).expect("graph builds");
    let selection = stage_graph.select(target).expect("target exists");
    let bases = resolve_all(&stage_graph, &selection);
    lower(&stage_graph, &selection, &bases, &options(text, build_args))
}

fn lower_text(text: &str) -> Lowered {
    lower_text_with(text, None, BuildArgs::new())
        .unwrap_or_else(|err| panic!("{}", err.located("Dockerfile", text)))
}

fn execs(lowered: &Lowered) -> Vec<pb::ExecOp> {
    lowered
        .definition
        .ops()
        .into_iter()
        .filter_map(|(_, op)| match op.op {
            Some(pb::op::Op::Exec(exec)) => Some(exec),
            _ => None,
        })
        .collect()
}

fn names(lowered: &Lowered) -> Vec<String> {
    lowered
        .definition
        .ops()
        .into_iter()
        .filter_map(|(digest, _)| {
            lowered
                .definition
                .pb
                .metadata
                .get(&digest)
                .and_then(|m| m.description.get("llb.customname").cloned())
        })
        .collect()
}

#[test]
fn lowering_twice_gives_identical_bytes() {
    let text = "FROM busybox AS build\nWORKDIR /src\nCOPY --link a b ./\nRUN --mount=type=cache,target=/c --mount=type=secret,id=s echo $HOME\nFROM scratch\nCOPY --from=build /src /out\nCOPY <<EOF /hello\nhi\nEOF\n";
    let first = lower_text(text);
    for _ in 0..3 {
        let again = lower_text(text);
        assert_eq!(first.definition.encode(), again.definition.encode());
        assert_eq!(first.image_config.to_json(), again.image_config.to_json());
    }
}

#[test]
fn args_reach_run_env_but_not_the_image_and_build_args_need_a_declaration() {
    let text =
        "FROM busybox\nARG VERSION=1\nARG UNSET\nENV MODE=prod\nRUN echo $VERSION $UNDECLARED\n";
    let build_args: BuildArgs = [("VERSION", "2"), ("UNDECLARED", "x")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lowered = lower_text_with(text, None, build_args).unwrap();
    let env = execs(&lowered)[0].meta.clone().unwrap().env;
    assert_eq!(
        &env,
        &[
            format!("PATH={DEFAULT_PATH}"),
            "VERSION=2".to_string(),
            "MODE=prod".to_string()
        ]
    );
    assert_eq!(
        lowered.image_config.config.env,
        [format!("PATH={DEFAULT_PATH}"), "MODE=prod".to_string()]
    );
    let history: Vec<&str> = lowered
        .image_config
        .history
        .iter()
        .map(|h| h.created_by.as_str())
        .collect();
    assert_eq!(
        &history[2..],
        [
            "ARG VERSION=1",
            "ARG UNSET",
            "ENV MODE=prod",
            "RUN |2 VERSION=2 UNSET= /bin/sh -c echo $VERSION $UNDECLARED # buildkit"
        ]
    );
}

#[test]
fn meta_arg_values_reach_a_stage_that_declares_them() {
    let text = "ARG V=meta\nFROM busybox AS a\nARG V\nRUN echo\n";
    let lowered = lower_text(text);
    let env = execs(&lowered)[0].meta.clone().unwrap().env;
    assert!(env.contains(&"V=meta".to_string()), "{env:?}");
    let text = "FROM busybox AS a\nARG TARGETARCH\nRUN echo\n";
    let env = execs(&lower_text(text))[0].meta.clone().unwrap().env;
    assert!(env.contains(&"TARGETARCH=amd64".to_string()), "{env:?}");
}

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
fn a_stage_built_from_another_inherits_its_arg_values_but_not_its_arg_list() {
    // The stock frontend (checked on the harness dockerd) names the RUN
    // `[stage-1 1/1] RUN echo "x=1 y=2" > /x`, runs it in /w with X=1 in the environment
    // and writes history `RUN /bin/sh -c echo "x=$X y=$Y" > /x # buildkit` (no `|1 X=1`).
    let text =
        "FROM busybox AS a\nARG X=1\nENV Y=2\nWORKDIR /w\nFROM a\nRUN echo \"x=$X y=$Y\" > /x\n";
    let lowered = lower_text(text);
    let exec = execs(&lowered).remove(0).meta.unwrap();
    assert_eq!(exec.cwd, "/w");
    assert!(exec.env.contains(&"X=1".to_string()), "{:?}", exec.env);
    assert_eq!(
        names(&lowered).last().unwrap(),
        "[stage-1 1/1] RUN echo \"x=1 y=2\" > /x"
    );
    assert_eq!(
        lowered.image_config.history.last().unwrap().created_by,
        "RUN /bin/sh -c echo \"x=$X y=$Y\" > /x # buildkit"
    );
    assert_eq!(
        lowered.image_config.config.env,
        [format!("PATH={DEFAULT_PATH}"), "Y=2".into()]
    );
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
    assert!(lowered.definition.pb.source.is_none());
}

#[test]
fn workdir_is_relative_to_the_previous_and_created() {
    let lowered = lower_text("FROM busybox\nWORKDIR /a\nWORKDIR b/../c\nRUN pwd\n");
    assert_eq!(lowered.image_config.config.working_dir, "/a/c");
    assert_eq!(execs(&lowered)[0].meta.as_ref().unwrap().cwd, "/a/c");
    let dump = lowered.definition.dump();
    assert!(dump.contains("mkdir \"/a/c\" mode=755 parents"), "{dump}");
}

#[test]
fn entrypoint_resets_cmd_unless_cmd_was_set_in_this_stage() {
    let lowered = lower_text("FROM busybox\nENTRYPOINT [\"/bin/app\"]\n");
    assert!(lowered.image_config.config.cmd.is_empty());
    assert_eq!(lowered.image_config.config.entrypoint, ["/bin/app"]);
    let lowered = lower_text("FROM busybox\nCMD run\nENTRYPOINT [\"/bin/app\"]\n");
    assert_eq!(lowered.image_config.config.cmd, ["/bin/sh", "-c", "run"]);
    assert!(lowered.image_config.config.args_escaped);
    let lowered = lower_text("FROM busybox\nSHELL [\"/bin/bash\", \"-eu\", \"-c\"]\nRUN a && b\n");
    assert_eq!(
        execs(&lowered)[0].meta.as_ref().unwrap().args,
        ["/bin/bash", "-eu", "-c", "a && b"]
    );
}

#[test]
fn onbuild_triggers_of_the_base_run_first_and_are_cleared() {
    let text = "FROM parent\nRUN echo child\nONBUILD RUN echo grandchild\n";
    let dockerfile = parse(text).unwrap();
    let stage_graph = graph::from_dockerfile(&dockerfile, &BuildArgs::new()).unwrap();
    let selection = stage_graph.select(None).unwrap();
    let mut config = busybox_config();
    config.config.on_build = vec!["ENV FROM_TRIGGER=1".into(), "RUN echo trigger".into()];
    let bases = ResolvedBases::from([(
        "parent".to_string(),
        ResolvedBase {
            digest: fake_digest("parent"),
            config,
        },
    )]);
    let lowered = lower(
        &stage_graph,
        &selection,
        &bases,
        &options(text, BuildArgs::new()),
    )
    .unwrap();
    let args: Vec<Vec<String>> = execs(&lowered)
        .into_iter()
        .map(|e| e.meta.unwrap().args)
        .collect();
    assert_eq!(
        args,
        [
            ["/bin/sh", "-c", "echo trigger"],
            ["/bin/sh", "-c", "echo child"]
        ]
    );
    assert!(
        lowered
            .image_config
            .config
            .env
            .contains(&"FROM_TRIGGER=1".to_string())
    );
    assert_eq!(
        lowered.image_config.config.on_build,
        ["RUN echo grandchild"]
    );
}

#[test]
fn missing_base_and_bad_chmod_point_at_their_text() {
    let text = "FROM busybox\nFROM alpine\n";
    let dockerfile = parse(text).unwrap();
    let stage_graph = graph::from_dockerfile(&dockerfile, &BuildArgs::new()).unwrap();
    let selection = stage_graph.select(None).unwrap();
    let err = lower(
        &stage_graph,
        &selection,
        &ResolvedBases::new(),
        &options(text, BuildArgs::new()),
    )
    .unwrap_err();
    assert_eq!(
        err.located("Dockerfile", text).to_string(),
        "Dockerfile:2:6: base image \"alpine\" was not resolved (missing from the resolved bases)\n   2 | FROM alpine\n     |      ^^^^^^"
    );
    let text = "FROM busybox AS build\nFROM busybox\nCOPY --from=biuld /a /b\n";
    let dockerfile = parse(text).unwrap();
    let stage_graph = graph::from_dockerfile(&dockerfile, &BuildArgs::new()).unwrap();
    let selection = stage_graph.select(None).unwrap();
    let mut bases = resolve_all(&stage_graph, &selection);
    bases.remove("biuld");
    let err = lower(
        &stage_graph,
        &selection,
        &bases,
        &options(text, BuildArgs::new()),
    )
    .unwrap_err();
    assert_eq!(
        err.located("Dockerfile", text).to_string(),
        "Dockerfile:3:13: base image \"biuld\" was not resolved (missing from the resolved bases); did you mean stage \"build\"?\n   3 | COPY --from=biuld /a /b\n     |             ^^^^^"
    );
    let text = "FROM busybox\nCOPY --chmod=u+x a /b\n";
    let err = lower_text_with(text, None, BuildArgs::new()).unwrap_err();
    assert_eq!(
        err.located("Dockerfile", text).to_string(),
        "Dockerfile:2:14: invalid --chmod=\"u+x\": expected an octal mode such as 0755\n   2 | COPY --chmod=u+x a /b\n     |              ^^^"
    );
    let err = lower_text_with("FROM busybox\nCOPY a b /dir\n", None, BuildArgs::new()).unwrap_err();
    assert!(err.to_string().contains("must be a directory"), "{err}");
}

#[test]
fn follow_paths_list_what_copy_reads_from_the_context() {
    let lowered = lower_text(
        "FROM busybox\nCOPY b.txt a/ /x/\nRUN --mount=type=bind,source=c,target=/c true\n",
    );
    let dump = lowered.definition.dump();
    assert!(
        dump.contains("local.followpaths=[\"a\",\"b.txt\",\"c\"]"),
        "{dump}"
    );
    // A bind mount of the whole context needs everything.
    let lowered =
        lower_text("FROM busybox\nCOPY b.txt /x/\nRUN --mount=type=bind,target=/c true\n");
    assert!(!lowered.definition.dump().contains("followpaths"));
}

#[test]
fn mounts_follow_buildkit_defaults() {
    let text = "FROM busybox\nWORKDIR /w\nRUN --mount=type=cache,target=rel --mount=type=cache,id=x,target=/y,sharing=locked,uid=1000 \\\n    --mount=type=secret,id=tok --mount=type=ssh --mount=type=tmpfs,target=/t,size=1m --network=none true\n";
    let exec = execs(&lower_text(text)).remove(0);
    let dests: Vec<(&str, i32, &str)> = exec
        .mounts
        .iter()
        .map(|m| {
            let id = m
                .cache_opt
                .as_ref()
                .map(|c| c.id.as_str())
                .or(m.secret_opt.as_ref().map(|s| s.id.as_str()))
                .or(m.ssh_opt.as_ref().map(|s| s.id.as_str()))
                .unwrap_or("");
            (m.dest.as_str(), m.mount_type, id)
        })
        .collect();
    assert_eq!(
        dests,
        [
            ("/", 0, ""),
            ("/t", 4, ""),
            ("/w/rel", 3, "/rel"),
            ("/y", 3, "/x"),
            ("/run/secrets/tok", 1, "tok"),
            ("/run/buildkit/ssh_agent.0", 2, "default"),
        ]
    );
    assert_eq!(exec.network, pb::NetMode::None as i32);
    let cache = &exec.mounts[3];
    assert_eq!(cache.selector, "/cache");
    assert_eq!(exec.mounts[1].tmpfs_opt.as_ref().unwrap().size, 1 << 20);
}

#[test]
fn env_words_expand_with_the_environment_before_the_instruction() {
    let lowered = lower_text("FROM busybox\nENV A=1\nENV A=2 B=$A\nENV PATH=/opt:$PATH\n");
    assert_eq!(
        lowered.image_config.config.env,
        [
            format!("PATH=/opt:{DEFAULT_PATH}"),
            "A=2".into(),
            "B=1".into()
        ]
    );
}

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

fn golden_output(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("Dockerfile")).expect("read Dockerfile");
    let build_args: BuildArgs = std::fs::read_to_string(dir.join("build-args"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let target = std::fs::read_to_string(dir.join("target"))
        .ok()
        .map(|t| t.trim().to_string());
    match lower_text_with(&text, target.as_deref(), build_args) {
        Ok(lowered) => {
            let config: serde_json::Value =
                serde_json::from_slice(&lowered.image_config.to_json()).expect("config is JSON");
            format!(
                "{}--- image config\n{}\n",
                lowered.definition.dump(),
                serde_json::to_string_pretty(&config).expect("JSON prints")
            )
        }
        Err(err) => format!("ERROR\n{}\n", err.located("Dockerfile", &text)),
    }
}

#[test]
fn golden_cases_lower_as_expected() {
    crate::golden::check_cases("llb", 5, golden_output);
}

#[test]
fn copy_link_merges_only_when_the_daemon_supports_mergeop() {
    let text = "FROM busybox\nCOPY --link a.txt /a/\n";
    let dockerfile = parse(text).unwrap();
    let stage_graph = graph::from_dockerfile(&dockerfile, &BuildArgs::new()).unwrap();
    let selection = stage_graph.select(None).unwrap();
    let bases = resolve_all(&stage_graph, &selection);
    let kinds = |merge_op: bool| -> Vec<&'static str> {
        let options = Options {
            merge_op,
            ..options(text, BuildArgs::new())
        };
        let lowered = lower(&stage_graph, &selection, &bases, &options).unwrap();
        lowered
            .definition
            .ops()
            .iter()
            .filter_map(|(_, op)| match &op.op {
                Some(pb::op::Op::Merge(_)) => Some("merge"),
                Some(pb::op::Op::File(_)) => Some("file"),
                _ => None,
            })
            .collect()
    };
    assert_eq!(kinds(true), ["file", "merge"]);
    assert_eq!(
        kinds(false),
        ["file"],
        "a plain copy onto the stage, as the stock frontend does without mergeop"
    );
}

#[path = "reused_tests.rs"]
mod reused;
