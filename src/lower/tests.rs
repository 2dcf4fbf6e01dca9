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

/// Lowers the werf config `text` for `target` on linux/amd64, every external image
/// resolved to `base`, with the options `adjust` sets on [`werf_options`]; an error
/// comes back placed in the rendered config (`werf.yaml`).
pub(super) fn lower_werf_config(
    text: &str,
    target: &str,
    commits: &BTreeMap<(String, crate::werf::GitRef), String>,
    base: ResolvedBase,
    adjust: impl FnOnce(&StageGraph, &mut Options),
) -> Result<Lowered, crate::diag::Located> {
    let env = crate::werf::TemplateEnv::without_project();
    let mut loaded = crate::werf::load("werf.yaml", text, &env).unwrap();
    loaded.config.set_resolved_commits(commits);
    let stage_graph = graph::from_werf(
        &loaded.config,
        &graph::platform_args("linux/amd64", "linux/amd64"),
    )
    .unwrap();
    let selection = stage_graph.select(Some(target)).unwrap();
    let bases: ResolvedBases = stage_graph
        .external_images(&selection)
        .into_iter()
        .map(|reference| (reference, base.clone()))
        .collect();
    let mut options = werf_options();
    adjust(&stage_graph, &mut options);
    lower(&stage_graph, &selection, &bases, &options)
        .map_err(|e| e.located("werf.yaml", &loaded.rendered))
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
    let definition = lowered.definition.to_pb();
    lowered
        .definition
        .ops()
        .into_iter()
        .filter_map(|(digest, _)| {
            definition
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

#[path = "names_tests.rs"]
mod names;

#[path = "named_tests.rs"]
mod named;
