//! Named contexts beyond directories and registry images, and multi-platform names,
//! side by side with the stock Dockerfile frontend on the harness dockerd: an OCI
//! layout (`--build-context NAME=oci-layout://DIR`), bake's `target:` contexts (which
//! reach the frontend as `input:` contexts), and the vertex names of a multi-platform
//! build.

mod common;

use std::path::Path;

use common::conveyor::{busybox, conveyor, error_line, write};
use common::{assert_same_tree, buildx, docker, docker_ok, frontend_image, tree, unique};

/// The `ERROR: …` lines buildx prints for a failed build, the vertex number left out
/// (`#4 ERROR: …` → `ERROR: …`).
fn error_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix('#')
                .and_then(|l| l.split_once(' '))
                .map_or(line, |(_, rest)| rest);
            rest.starts_with("ERROR: ").then(|| rest.to_string())
        })
        .collect()
}

/// The vertex names buildx printed (`#5 [stage 2/3] RUN …` → `[stage 2/3] RUN …`).
fn vertex_names(stderr: &str) -> std::collections::BTreeSet<String> {
    stderr
        .lines()
        .filter_map(|line| {
            let (number, rest) = line.strip_prefix('#')?.split_once(' ')?;
            (number.chars().all(|c| c.is_ascii_digit()) && rest.starts_with('['))
                .then(|| rest.to_string())
        })
        .collect()
}

#[test]
fn an_oci_layout_context_is_asked_of_the_daemon_as_the_stock_frontend_asks() {
    let work = tempfile::tempdir().unwrap();
    let marker = unique("oci");
    // The layout: an image built here, saved by `docker save` (an OCI layout since
    // Docker 25: index.json, oci-layout, blobs/sha256).
    let tag = format!("conveyor-test/oci-base:{marker}");
    write(
        &work.path().join("base/Dockerfile"),
        &format!("FROM {}\nRUN echo {marker} > /from-layout\n", busybox()),
    );
    let (ok, _, stderr) = buildx(&["--load", "-t", &tag, "."], &work.path().join("base"));
    assert!(ok, "building the layout's image: {stderr}");
    let layout = work.path().join("layout");
    std::fs::create_dir_all(&layout).unwrap();
    let saved = docker()
        .args(["save", "-o"])
        .arg(work.path().join("base.tar"))
        .arg(&tag)
        .status()
        .unwrap();
    assert!(saved.success());
    let untarred = std::process::Command::new("tar")
        .arg("-xf")
        .arg(work.path().join("base.tar"))
        .arg("-C")
        .arg(&layout)
        .status()
        .unwrap();
    assert!(untarred.success());
    assert!(layout.join("oci-layout").is_file() && layout.join("index.json").is_file());
    docker_ok(&["rmi", &tag], None);

    let context = work.path().join("app");
    write(
        &context.join("Dockerfile"),
        "FROM base\nRUN cat /from-layout > /copied\n",
    );
    let named = format!("base=oci-layout://{}:{marker}", layout.display());
    let run = |label: &str, extra: &[&str]| {
        let output = format!("type=local,dest=../out-{label}");
        let mut args = vec!["--progress=plain", "--build-context", &named];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--output", &output, "."]);
        buildx(&args, &context)
    };
    let (stock_ok, _, stock_stderr) = run("stock", &[]);
    let syntax = format!("BUILDKIT_SYNTAX={}", frontend_image());
    let (ours_ok, _, ours_stderr) = run("frontend", &["--build-arg", &syntax]);
    assert_eq!(
        ours_ok, stock_ok,
        "stock:\n{stock_stderr}\nconveyor's frontend:\n{ours_stderr}"
    );
    // Both ask the daemon for the image config by the context's name pinned to the
    // layout's digest, from the client's store.
    let pinned = "docker.io/library/base@sha256:";
    if stock_ok {
        // A finished vertex is always printed; a failing one may not be (the build
        // can end before its progress reaches buildx), so the failure branch reads
        // the asked reference from the error instead.
        let asked = |stderr: &str| {
            vertex_names(stderr).into_iter().find(|name| {
                name.starts_with(&format!("[context base] load metadata for {pinned}"))
            })
        };
        assert!(asked(&stock_stderr).is_some(), "{stock_stderr}");
        assert_eq!(asked(&ours_stderr), asked(&stock_stderr), "{ours_stderr}");
        let stock = tree(&work.path().join("out-stock"));
        assert_eq!(stock["copied"].1, format!("{marker}\n").into_bytes());
        assert_same_tree(
            &tree(&work.path().join("out-frontend")),
            &stock,
            "the OCI layout",
        );
    } else {
        // The docker driver's daemon (classic image store) has no OCI-layout source:
        // both fail with the daemon's own words. Compared on buildx's closing error
        // line: a vertex's own `#N ERROR` line comes only when its progress reached
        // buildx first, and buildx wraps a custom frontend's error in its name.
        let closing_error = |stderr: &str| error_lines(stderr).pop().unwrap_or_default();
        let stock_error = closing_error(&stock_stderr);
        let cause = stock_error.strip_prefix("ERROR: ").unwrap_or_default();
        assert!(
            cause.starts_with(&format!("failed to resolve source metadata for {pinned}"))
                && cause.ends_with("unknown scheme oci-layout: not found"),
            "{stock_stderr}"
        );
        let ours_error = closing_error(&ours_stderr);
        assert!(ours_error.ends_with(&format!(": {cause}")), "{ours_stderr}");
    }

    // `conveyor build` serves directories only and says so in one line.
    let cli = conveyor(&["build", "--build-context", &named, "."], &context);
    assert_eq!(cli.code, 2, "{}", cli.stderr);
    assert_eq!(
        error_line(&cli),
        format!(
            "conveyor: --build-context {named}: conveyor build cannot serve an OCI layout (docker buildx build can)"
        )
    );
}

/// `docker buildx bake TARGETS` in `dir`.
fn bake(targets: &[&str], dir: &Path) -> (bool, String) {
    let output = docker()
        .args(["buildx", "bake", "--progress=plain"])
        .args(targets)
        .current_dir(dir)
        .output()
        .expect("run docker buildx bake");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn bake_target_contexts_reach_the_frontend_as_inputs_like_the_stock_frontend() {
    let work = tempfile::tempdir().unwrap();
    let marker = unique("bake");
    write(
        &work.path().join("base/Dockerfile"),
        &format!(
            "FROM {}\nRUN echo {marker} > /made-in-base\nENV FROM_BASE=yes\nWORKDIR /in-base\n",
            busybox()
        ),
    );
    // `base` is the other target's result, with its config (ENV, WORKDIR): the RUN
    // sees both, FROM and COPY --from read its files.
    write(
        &work.path().join("app/Dockerfile"),
        "FROM base AS run\nRUN cat /made-in-base > here && echo \"$FROM_BASE\" >> here\n\
         FROM scratch\nCOPY --from=run /in-base/here /made-in-base /\n",
    );
    write(
        &work.path().join("docker-bake.hcl"),
        &format!(
            r#"target "base" {{
  context = "base"
}}
target "app-stock" {{
  context = "app"
  contexts = {{ base = "target:base" }}
  output = ["type=local,dest=out-stock"]
}}
target "app-conveyor" {{
  context = "app"
  contexts = {{ base = "target:base" }}
  args = {{ BUILDKIT_SYNTAX = "{}" }}
  output = ["type=local,dest=out-conveyor"]
}}
"#,
            frontend_image()
        ),
    );
    let (ok, stderr) = bake(&["app-stock", "app-conveyor"], work.path());
    assert!(ok, "bake: {stderr}");
    let stock = tree(&work.path().join("out-stock"));
    assert_eq!(stock["here"].1, format!("{marker}\nyes\n").into_bytes());
    assert_eq!(stock["made-in-base"].1, format!("{marker}\n").into_bytes());
    assert_same_tree(
        &tree(&work.path().join("out-conveyor")),
        &stock,
        "bake's target: context",
    );
}

#[test]
fn multi_platform_vertex_names_are_the_stock_frontends() {
    let work = tempfile::tempdir().unwrap();
    let marker = unique("platforms");
    let context = work.path().join("context");
    // The build stage runs on the build platform for the target (a cross build);
    // nothing runs on arm64, which the harness cannot execute.
    write(
        &context.join("Dockerfile"),
        &format!(
            "FROM --platform=$BUILDPLATFORM {busybox} AS build\nARG TARGETARCH\n\
             RUN echo {marker} $TARGETARCH > /arch\n\
             FROM {busybox}\nWORKDIR /w\nCOPY --from=build /arch /w/\n",
            busybox = busybox()
        ),
    );
    // buildx's docker driver takes one platform; BUILDKIT_MULTI_PLATFORM asks the
    // frontend for a multi-platform result (and names) all the same.
    let run = |label: &str, extra: &[&str]| {
        let output = format!("type=local,dest=../out-{label}");
        let mut args = vec![
            "--progress=plain",
            "--platform",
            "linux/arm64",
            "--build-arg",
            "BUILDKIT_MULTI_PLATFORM=1",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--output", &output, "."]);
        let (ok, _, stderr) = buildx(&args, &context);
        assert!(ok, "{label}: {stderr}");
        stderr
    };
    let stock = run("stock", &[]);
    let syntax = format!("BUILDKIT_SYNTAX={}", frontend_image());
    let ours = run("frontend", &["--build-arg", &syntax]);
    // The steps (FROM lines aside: the daemon shows a shared image vertex under
    // whichever name it met first).
    let steps = |stderr: &str| -> Vec<String> {
        vertex_names(stderr)
            .into_iter()
            .filter(|name| {
                name.starts_with("[linux/")
                    && !name.contains(" internal] ")
                    && !name.contains("] FROM ")
            })
            .collect()
    };
    let resolved = |stderr: &str| -> Vec<String> {
        vertex_names(stderr)
            .into_iter()
            .filter(|name| name.contains(" internal] load metadata"))
            .collect()
    };
    // Bases are resolved under the platform's name. (The stock frontend also resolves
    // the `--platform=$BUILDPLATFORM` stage's base for linux/amd64; conveyor resolves
    // every base for the target platform.)
    let target_base = format!("[linux/arm64 internal] load metadata for {}", busybox());
    assert!(resolved(&stock).contains(&target_base), "{stock}");
    assert!(resolved(&ours).contains(&target_base), "{ours}");
    assert_eq!(
        steps(&stock),
        [
            format!("[linux/amd64->arm64 build 2/2] RUN echo {marker} arm64 > /arch"),
            "[linux/arm64 stage-1 2/3] WORKDIR /w".to_string(),
            "[linux/arm64 stage-1 3/3] COPY --from=build /arch /w/".to_string(),
        ],
        "{stock}"
    );
    assert_eq!(steps(&ours), steps(&stock), "{ours}");
    // One result per platform, in a directory named for it.
    let stock_tree = tree(&work.path().join("out-stock"));
    assert_eq!(
        stock_tree["linux_arm64/w/arch"].1,
        format!("{marker} arm64\n").into_bytes()
    );
    assert_same_tree(
        &tree(&work.path().join("out-frontend")),
        &stock_tree,
        "the multi-platform result",
    );
}
