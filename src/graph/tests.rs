//! Unit tests of the stage graph, and the golden directories
//! `testdata/graph/<case>/{Dockerfile, [target], [build-args], expected}`: the dump of the
//! graph and the selection, or the rendered error. `UPDATE_GOLDEN=1` rewrites `expected`
//! (read every rewritten file before committing it).

use std::path::{Path, PathBuf};

use super::*;
use crate::dockerfile::parse;

fn graph(text: &str) -> Result<StageGraph, GraphError> {
    from_dockerfile(
        &parse(text).expect("test Dockerfile parses"),
        &BuildArgs::new(),
    )
}

fn args(pairs: &[(&str, &str)]) -> BuildArgs {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn from_expands_meta_args_and_build_args_win() {
    let text = "ARG REPO=library\nARG IMAGE=$REPO/alpine\nFROM ${IMAGE}:3 AS a\n";
    let g = graph(text).unwrap();
    assert_eq!(
        g.stages[0].base,
        Base::Image {
            reference: "library/alpine:3".into(),
            span: g.stages[0].base_span_for_test()
        }
    );
    let dockerfile = parse(text).unwrap();
    let g = from_dockerfile(&dockerfile, &args(&[("REPO", "mine")])).unwrap();
    assert!(
        matches!(&g.stages[0].base, Base::Image { reference, .. } if reference == "mine/alpine:3")
    );
    // A build arg for the second ARG wins over its default, even if REPO is also given.
    let g = from_dockerfile(&dockerfile, &args(&[("REPO", "mine"), ("IMAGE", "x")])).unwrap();
    assert!(matches!(&g.stages[0].base, Base::Image { reference, .. } if reference == "x:3"));
}

impl Stage {
    fn base_span_for_test(&self) -> Span {
        match &self.base {
            Base::Image { span, .. } => *span,
            _ => Span::default(),
        }
    }
}

#[test]
fn platform_args_come_from_build_args() {
    let dockerfile = parse("FROM --platform=$BUILDPLATFORM busybox\n").unwrap();
    let g = from_dockerfile(&dockerfile, &platform_args("linux/amd64", "linux/arm64/v8")).unwrap();
    assert_eq!(g.stages[0].platform.as_deref(), Some("linux/amd64"));
    let g = from_dockerfile(&dockerfile, &BuildArgs::new()).unwrap();
    assert_eq!(g.stages[0].platform.as_deref(), Some(""));
}

#[test]
fn stage_names_are_case_insensitive() {
    let g = graph("FROM busybox AS Build\nFROM BUILD\nCOPY --from=bUiLd /a /b\n").unwrap();
    assert_eq!(g.stages[1].base, Base::Stage(StageId(0)));
    assert_eq!(
        g.stages[1].steps[0].copy_from(),
        Some(&Base::Stage(StageId(0)))
    );
}

#[test]
fn from_index_and_image_and_scratch() {
    let g = graph(
        "FROM busybox\nFROM scratch\nCOPY --from=0 /a /a\nCOPY --from=alpine:3 /b /b\nCOPY --from=scratch / /\nRUN --mount=from=0,target=/m --mount=type=cache,target=/c true\n",
    )
    .unwrap();
    let steps = &g.stages[1].steps;
    assert_eq!(g.stages[1].base, Base::Scratch);
    assert_eq!(steps[0].copy_from(), Some(&Base::Stage(StageId(0))));
    assert!(
        matches!(steps[1].copy_from(), Some(Base::Image { reference, .. }) if reference == "alpine:3")
    );
    assert_eq!(steps[2].copy_from(), Some(&Base::Scratch));
    assert_eq!(steps[3].mount_from(0), Some(&Base::Stage(StageId(0))));
    assert_eq!(steps[3].mount_from(1), None);
}

#[test]
fn references_to_self_or_later_stages_fail() {
    let err = graph("FROM busybox AS a\nCOPY --from=a /x /y\n").unwrap_err();
    assert!(matches!(err, GraphError::ForwardReference { .. }), "{err}");
    let err = graph("FROM busybox AS a\nCOPY --from=b /x /y\nFROM busybox AS b\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "COPY --from refers to stage \"b\", which is not defined before stage \"a\""
    );
    let err = graph("FROM busybox\nCOPY --from=1 /x /y\nFROM busybox\n").unwrap_err();
    assert!(matches!(err, GraphError::ForwardReference { .. }), "{err}");
    let err = graph("FROM busybox\nCOPY --from=2 /x /y\nFROM busybox\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid stage index 2 (the Dockerfile has 2 stages)"
    );
    let err = graph("FROM later\nFROM busybox AS later\n").unwrap_err();
    assert!(
        matches!(err, GraphError::ForwardReference { what: "FROM", .. }),
        "{err}"
    );
    // A stage named like its base image is based on the image, as in BuildKit.
    let g = graph("FROM golang AS golang\n").unwrap();
    assert!(matches!(&g.stages[0].base, Base::Image { reference, .. } if reference == "golang"));
}

#[test]
fn select_prunes_to_reachable_stages_in_order() {
    let text = "FROM busybox AS a\nFROM alpine AS b\nFROM a AS c\nRUN --mount=from=b,target=/b true\nFROM debian AS d\n";
    let g = graph(text).unwrap();
    let all = g.select(None).unwrap();
    assert_eq!(all.target, StageId(3));
    assert_eq!(all.order, [StageId(3)]);
    let c = g.select(Some("C")).unwrap();
    assert_eq!(c.order, [StageId(0), StageId(1), StageId(2)]);
    assert_eq!(g.external_images(&c), ["busybox", "alpine"]);
}

#[test]
fn unknown_target_suggests_a_close_name() {
    let g = graph("FROM busybox AS build\nFROM busybox AS final\n").unwrap();
    let err = g.select(Some("biuld")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "target stage \"biuld\" could not be found; did you mean \"build\"?"
    );
    let err = g.select(Some("nothing")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "target stage \"nothing\" could not be found"
    );
}

#[test]
fn blank_base_fails_with_its_span() {
    let text = "ARG EMPTY\nFROM $EMPTY\n";
    let err = graph(text).unwrap_err();
    assert_eq!(
        err.located("Dockerfile", text).to_string(),
        "Dockerfile:2:6: base name ($EMPTY) should not be blank\n   2 | FROM $EMPTY\n     |      ^^^^^^"
    );
}

fn read_optional(path: PathBuf) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn golden_output(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("Dockerfile")).expect("read Dockerfile");
    let build_args: BuildArgs = read_optional(dir.join("build-args"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let target = read_optional(dir.join("target")).map(|t| t.trim().to_string());
    let dockerfile = match parse(&text) {
        Ok(dockerfile) => dockerfile,
        Err(err) => return format!("PARSE ERROR\n{}\n", err.located("Dockerfile", &text)),
    };
    let result = from_dockerfile(&dockerfile, &build_args)
        .and_then(|g| g.select(target.as_deref()).map(|s| (g, s)));
    match result {
        Ok((g, selection)) => g.dump(Some(&selection)),
        Err(err) => format!("ERROR\n{}\n", err.located("Dockerfile", &text)),
    }
}

#[test]
fn golden_cases_dump_as_expected() {
    crate::golden::check_cases("graph", 5, golden_output);
}
