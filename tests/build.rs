//! `conveyor build` against the real dockerd and registry: outputs, tags and push, and
//! the errors a user meets. (What the session serves is tested in tests/session.rs; the
//! image itself is compared with the stock frontend's over the whole parity corpus in
//! tests/parity.rs.)

mod common;

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::conveyor::{
    built, busybox, conveyor, error_line, files_context, registry_manifest_status, write,
};
use common::{assert_same_tree, buildx, docker, docker_ok, frontend_image, harness, tree, unique};

#[test]
fn local_output_writes_the_result_files() {
    let work = tempfile::tempdir().unwrap();
    let marker = unique("local");
    files_context(work.path(), &marker);
    let run = conveyor(
        &[
            "build",
            "--progress=plain",
            "--output",
            "type=local,dest=../out",
            ".",
        ],
        &work.path().join("context"),
    );
    built(&run);
    let out = work.path().join("out");
    assert_eq!(
        fs::read_to_string(out.join("greeting.txt")).unwrap(),
        format!("hello {marker}\n")
    );
    assert_eq!(
        fs::read_to_string(out.join("nested/deep.txt")).unwrap(),
        "deep\n"
    );
    assert_eq!(
        fs::read_to_string(out.join("run.sh")).unwrap(),
        "#!/bin/sh\necho run\n"
    );
    let mode = fs::metadata(out.join("run.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    assert_eq!(
        fs::read_link(out.join("link")).unwrap(),
        Path::new("run.sh")
    );
    assert!(
        run.stdout.is_empty(),
        "a local output has no image digest: {}",
        run.stdout
    );
}

#[test]
fn tar_output_writes_one_archive_of_the_result() {
    let work = tempfile::tempdir().unwrap();
    let marker = unique("tar");
    files_context(work.path(), &marker);
    let tar_path = work.path().join("result.tar");
    let run = conveyor(
        &[
            "build",
            "--progress=plain",
            "--output",
            &format!("type=tar,dest={}", tar_path.display()),
            ".",
        ],
        &work.path().join("context"),
    );
    built(&run);
    let mut archive = tar::Archive::new(fs::File::open(&tar_path).unwrap());
    let mut seen = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        if path == "greeting.txt" {
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            assert_eq!(text, format!("hello {marker}\n"));
        }
        if path == "link" {
            assert_eq!(entry.link_name().unwrap().unwrap().to_str(), Some("run.sh"));
        }
        seen.push(path.trim_end_matches('/').to_string());
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "greeting.txt",
            "link",
            "nested",
            "nested/deep.txt",
            "run.sh"
        ]
    );

    // `-o -`: the same archive on stdout, and nothing else there.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_conveyor"))
        .args(["build", "--progress=plain", "-o", "-", "."])
        .current_dir(work.path().join("context"))
        .env("DOCKER_HOST", &harness().docker_host)
        .env("DOCKER_CONFIG", work.path())
        .env_remove("BUILDKIT_HOST")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.stdout, fs::read(&tar_path).unwrap());
}

#[test]
fn tags_name_the_image_in_the_daemon_and_push_puts_it_in_the_registry() {
    let work = tempfile::tempdir().unwrap();
    let marker = unique("tag");
    write(&work.path().join("hello.txt"), &format!("{marker}\n"));
    write(
        &work.path().join("Dockerfile"),
        &format!(
            "FROM {}\nCOPY hello.txt /\nCMD [\"cat\", \"/hello.txt\"]\n",
            busybox()
        ),
    );
    let local_tag = format!("conveyor-build-test/{}:1", unique("t"));
    let run = conveyor(
        &["build", "--progress=plain", "-t", &local_tag, "."],
        work.path(),
    );
    built(&run);
    // stdout is the image's digest, the id the daemon stored it under.
    let digest = run.stdout.trim().to_string();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );
    let id = docker_ok(
        &["image", "inspect", "--format", "{{.Id}}", &local_tag],
        None,
    );
    assert_eq!(id.trim(), digest);
    assert_eq!(
        docker_ok(&["run", "--rm", &local_tag], None),
        format!("{marker}\n")
    );

    // --push pushes every -t name (as buildx does), here two tags of one repository.
    let pushed_name = format!("conveyor-build-test/{}", unique("p"));
    let pushed = [1, 2].map(|n| format!("{}/{pushed_name}:v{n}", harness().registry));
    let run = conveyor(
        &[
            "build",
            "--progress=plain",
            "-t",
            &pushed[0],
            "-t",
            &pushed[1],
            "--push",
            ".",
        ],
        work.path(),
    );
    built(&run);
    assert_eq!(run.stdout.trim(), digest, "the same image, from the cache");
    for tag in ["v1", "v2"] {
        assert_eq!(
            registry_manifest_status(&pushed_name, tag),
            200,
            "{tag} was pushed"
        );
    }
    assert_eq!(registry_manifest_status(&pushed_name, "v3"), 404);
    for tag in pushed.iter().chain([&local_tag]) {
        let _ = docker().args(["rmi", tag]).output();
    }
}

#[test]
fn user_errors_are_one_clear_line_and_a_nonzero_exit() {
    let work = tempfile::tempdir().unwrap();
    write(
        &work.path().join("Dockerfile"),
        &format!(
            "FROM {} AS base\nRUN echo failing-step-output; exit 7\n",
            busybox()
        ),
    );

    let run = conveyor(&["build", "--addr", "http://127.0.0.1:1", "."], work.path());
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "conveyor: invalid daemon address \"http://127.0.0.1:1\": expected unix://PATH or tcp://HOST:PORT (buildkitd), or docker:// (Docker Engine)\n"
    );

    let socket = work.path().join("no-daemon.sock");
    let address = format!("unix://{}", socket.display());
    let run = conveyor(&["build", "--addr", &address, "."], work.path());
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(&format!(
            "conveyor: cannot connect to the BuildKit daemon at {address}: "
        )),
        "{}",
        run.stderr
    );

    let run = conveyor(&["build", "-f", "Missingfile", "."], work.path());
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "conveyor: cannot read build file Missingfile: No such file or directory (os error 2)\n"
    );

    let run = conveyor(
        &["build", "--build-context", "lib=no-such-dir", "."],
        work.path(),
    );
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "conveyor: --build-context lib=no-such-dir: not a directory, docker-image://, git or http(s) URL\n"
    );
    let run = conveyor(
        &["build", "--build-context", "lib=.", "--repo", "local", "."],
        work.path(),
    );
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "conveyor: --build-context cannot be used with --repo: stages read from a named context have no signature to store them by\n"
    );

    let run = conveyor(
        &["build", "--progress=plain", "--target", "nope", "."],
        work.path(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        error_line(&run),
        "conveyor: Dockerfile:1:1: target stage \"nope\" could not be found"
    );

    let run = conveyor(&["build", "--progress=plain", "."], work.path());
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        error_line(&run),
        "conveyor: build failed at [[2/2] RUN echo failing-step-output; exit 7]: process \"/bin/sh -c echo failing-step-output; exit 7\" did not complete successfully: exit code: 7"
    );
    // The failing step's output is shown, marked with its step number.
    assert!(
        run.stderr
            .lines()
            .any(|line| line.starts_with('#') && line.ends_with(" failing-step-output")),
        "{}",
        run.stderr
    );
}

/// A second build takes its RUN from the cache; with `--no-cache` it runs again.
#[test]
fn no_cache_runs_the_steps_again() {
    let work = tempfile::tempdir().unwrap();
    write(
        &work.path().join("Dockerfile"),
        &format!("FROM {}\nRUN echo {} > /marker\n", busybox(), unique("run")),
    );
    let step_marks = |run: &common::conveyor::Run| -> Vec<String> {
        let number = run
            .stderr
            .lines()
            .find(|line| line.contains("] RUN echo"))
            .and_then(|line| line.split_whitespace().next())
            .expect("the RUN step is shown")
            .to_string();
        run.stderr
            .lines()
            .filter_map(|line| line.strip_prefix(&format!("{number} ")))
            .filter(|rest| *rest == "CACHED" || rest.starts_with("DONE"))
            .map(|rest| rest.split_whitespace().next().unwrap().to_string())
            .collect()
    };
    let first = conveyor(&["build", "--progress=plain", "."], work.path());
    built(&first);
    assert_eq!(step_marks(&first), ["DONE"]);
    let again = conveyor(&["build", "--progress=plain", "."], work.path());
    built(&again);
    assert_eq!(step_marks(&again), ["CACHED"]);
    let no_cache = conveyor(
        &["build", "--progress=plain", "--no-cache", "."],
        work.path(),
    );
    built(&no_cache);
    assert_eq!(step_marks(&no_cache), ["DONE"]);
}

#[test]
fn named_contexts_read_a_directory_and_an_image_as_the_stock_frontend_does() {
    let work = tempfile::tempdir().unwrap();
    let marker = unique("named");
    let lib = work.path().join("lib");
    write(&lib.join("a.txt"), &format!("{marker}\n"));
    write(&lib.join("sub/b.txt"), "b\n");
    write(
        &lib.join("debug.log"),
        "left out by lib's own .dockerignore\n",
    );
    write(&lib.join(".dockerignore"), "*.log\n");
    let context = work.path().join("context");
    write(&context.join("top.txt"), "top\n");
    // `tools` names an image, `lib` a directory; FROM, COPY --from and a mount use them.
    write(
        &context.join("Dockerfile"),
        "FROM tools AS bin\nRUN echo tools > /made-in-tools\n\
         FROM scratch\nCOPY --from=lib / /lib/\nCOPY --from=bin /made-in-tools /bin/busybox /\n\
         COPY top.txt /\n",
    );
    write(
        &context.join("Dockerfile.mount"),
        "FROM tools\nRUN --mount=from=lib,target=/l cat /l/a.txt /l/sub/b.txt > /from-mount \
         && ls -a /l > /listed\n",
    );
    let tools = format!("tools=docker-image://{}", busybox());
    let trees = |file: &str, label: &str| {
        let out = |path: &str| format!("../out-{label}-{path}");
        let stock_out = format!("type=local,dest={}", out("stock"));
        let (ok, _, stderr) = buildx(
            &[
                "-f",
                file,
                "--build-context",
                "lib=../lib",
                "--build-context",
                &tools,
                "--output",
                &stock_out,
                ".",
            ],
            &context,
        );
        assert!(ok, "stock buildx: {stderr}");
        let syntax = format!("BUILDKIT_SYNTAX={}", frontend_image());
        let frontend_out = format!("type=local,dest={}", out("frontend"));
        let (ok, _, stderr) = buildx(
            &[
                "-f",
                file,
                "--build-arg",
                &syntax,
                "--build-context",
                "lib=../lib",
                "--build-context",
                &tools,
                "--output",
                &frontend_out,
                ".",
            ],
            &context,
        );
        assert!(ok, "conveyor's frontend through buildx: {stderr}");
        let cli_out = format!("type=local,dest={}", out("cli"));
        let run = conveyor(
            &[
                "build",
                "--progress=plain",
                "-f",
                file,
                "--build-context",
                "lib=../lib",
                "--build-context",
                &tools,
                "--output",
                &cli_out,
                ".",
            ],
            &context,
        );
        built(&run);
        [
            tree(&work.path().join(format!("out-{label}-stock"))),
            tree(&work.path().join(format!("out-{label}-frontend"))),
            tree(&work.path().join(format!("out-{label}-cli"))),
        ]
    };

    let [stock, frontend, cli] = trees("Dockerfile", "copy");
    assert_eq!(stock["lib/a.txt"].1, format!("{marker}\n").into_bytes());
    assert!(!stock.contains_key("lib/debug.log"), "{:?}", stock.keys());
    assert!(stock.contains_key("busybox") && stock.contains_key("made-in-tools"));
    assert_same_tree(&frontend, &stock, "conveyor's frontend through buildx");
    assert_same_tree(&cli, &stock, "conveyor build");

    let [stock, frontend, cli] = trees("Dockerfile.mount", "mount");
    assert_eq!(stock["from-mount"].1, format!("{marker}\nb\n").into_bytes());
    assert!(
        !String::from_utf8_lossy(&stock["listed"].1).contains("debug.log"),
        "lib's .dockerignore holds in a mount too"
    );
    assert_same_tree(&frontend, &stock, "conveyor's frontend through buildx");
    assert_same_tree(&cli, &stock, "conveyor build");
}

/// `--platform` with two platforms: one build per platform, returned as BuildKit's
/// multi-platform result, which a local output writes as a directory per platform —
/// each equal to the stock frontend's build for that platform alone. (Through buildx
/// the same frontend code runs, but buildx's docker driver refuses several platforms
/// on Engine's classic image store before any frontend sees them.) No RUN: this
/// machine cannot run arm64 binaries, but a build that only copies can be made for
/// any platform.
#[test]
fn several_platforms_build_one_result_each_like_the_stock_frontend() {
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("context");
    write(&context.join("hello.txt"), "hello\n");
    write(
        &context.join("Dockerfile"),
        &format!(
            "FROM --platform=$BUILDPLATFORM {} AS tools\n\
             FROM scratch\nARG TARGETPLATFORM TARGETARCH BUILDPLATFORM\n\
             COPY <<EOF /platform.txt\n${{TARGETPLATFORM}} ${{TARGETARCH}} built on ${{BUILDPLATFORM}}\nEOF\n\
             COPY --from=tools /bin/busybox /busybox\nCOPY hello.txt /\n",
            busybox()
        ),
    );
    let run = conveyor(
        &[
            "build",
            "--progress=plain",
            "--platform",
            "linux/amd64,linux/arm64",
            "--output",
            "type=local,dest=../conveyor",
            ".",
        ],
        &context,
    );
    built(&run);
    let ours = tree(&work.path().join("conveyor"));
    for platform in ["linux/amd64", "linux/arm64"] {
        let label = platform.replace('/', "_");
        let output = format!("type=local,dest=../stock-{label}");
        let (ok, _, stderr) = buildx(
            &[
                "--progress=quiet",
                "--platform",
                platform,
                "--output",
                &output,
                ".",
            ],
            &context,
        );
        assert!(ok, "stock {platform}: {stderr}");
        let stock = tree(&work.path().join(format!("stock-{label}")));
        let arch = platform.trim_start_matches("linux/");
        assert_eq!(
            stock["platform.txt"].1,
            format!("{platform} {arch} built on linux/amd64\n").into_bytes()
        );
        let ours_for_platform: common::Tree = ours
            .iter()
            .filter_map(|(path, entry)| {
                let rest = path.strip_prefix(&format!("{label}/"))?;
                Some((rest.to_string(), entry.clone()))
            })
            .collect();
        assert_same_tree(
            &ours_for_platform,
            &stock,
            &format!("conveyor build for {platform}"),
        );
    }
}
