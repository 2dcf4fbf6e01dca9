//! Stages storage end to end on the private dockerd and the harness registry: a stage
//! image is stored as `<repo>:<signature hex>` (built by the stock frontend, labelled
//! as `conveyor plan --repo` says), then
//! - `conveyor plan --repo` says it will be reused;
//! - a build through conveyor's frontend with `CONVEYOR_REPO` reuses it (the result
//!   holds the stored image's marker), and without `CONVEYOR_REPO` builds the stage;
//! - `conveyor explain --repo` says "reused", and after a one-file change names that
//!   file for the stage that copies it and "parent changed" for the stage after it.

mod common;

use std::path::Path;
use std::process::Command;

use common::{buildx, docker_ok, frontend_image, harness, unique};

const DOCKERFILE: &str = "\
FROM 127.0.0.1:5000/busybox:latest AS gen
COPY seed.txt other.txt /in/
RUN cat /in/seed.txt > /marker && head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n' >> /marker
FROM gen AS final
RUN echo final > /final
";

fn conveyor(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_conveyor"))
        .args(args)
        .env("DOCKER_HOST", &harness().docker_host)
        .output()
        .expect("run conveyor");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn context(seed: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), DOCKERFILE).unwrap();
    std::fs::write(dir.path().join("seed.txt"), seed).unwrap();
    std::fs::write(dir.path().join("other.txt"), "other\n").unwrap();
    dir
}

/// `plan --repo --format json`: per stage (name, action, signature, labels).
fn plan(repo: &str, dir: &Path) -> Vec<(String, String, String, serde_json::Value)> {
    plan_with(repo, dir, &[])
}

fn plan_with(
    repo: &str,
    dir: &Path,
    extra: &[&str],
) -> Vec<(String, String, String, serde_json::Value)> {
    let mut args = vec!["plan", "--repo", repo, "--format", "json"];
    args.extend_from_slice(extra);
    args.push(dir.to_str().unwrap());
    let (code, stdout, stderr) = conveyor(&args);
    assert_eq!(code, 0, "{stderr}");
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    plan["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["action"].as_str().unwrap().to_string(),
                s["signature"].as_str().unwrap().to_string(),
                s["labels"].clone(),
            )
        })
        .collect()
}

/// Builds `target` with the stock frontend, labelled, and pushes it as
/// `<repo>:<signature hex>`.
fn store_with_stock_frontend(
    repo: &str,
    dir: &Path,
    target: &str,
    signature: &str,
    labels: &serde_json::Value,
) -> String {
    // `local`: the daemon's image store, where conveyor's repository is conveyor-stages.
    let repository = if repo == "local" {
        "conveyor-stages"
    } else {
        repo
    };
    let reference = format!(
        "{repository}:{}",
        signature.strip_prefix("sha256:").unwrap()
    );
    let mut args: Vec<String> = vec!["--target".into(), target.into()];
    for (key, value) in labels.as_object().unwrap() {
        args.push("--label".into());
        args.push(format!("{key}={}", value.as_str().unwrap()));
    }
    args.extend(["--load".into(), "-t".into(), reference.clone(), ".".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, stderr) = buildx(&args, dir);
    assert!(ok, "stock build of {target} failed:\n{stderr}");
    if repo != "local" {
        docker_ok(&["push", "-q", &reference], None);
    }
    reference
}

fn marker_of_image(reference: &str) -> String {
    docker_ok(&["run", "--rm", reference, "cat", "/marker"], None)
}

/// Builds the final stage through conveyor's frontend into a directory; its /marker.
fn marker_built_by_conveyor(dir: &Path, extra: &[&str]) -> String {
    let out = tempfile::tempdir().unwrap();
    let syntax = format!("BUILDKIT_SYNTAX={}", frontend_image());
    let dest = format!("type=local,dest={}", out.path().display());
    let mut args = vec!["--build-arg", &syntax, "--output", &dest];
    args.extend_from_slice(extra);
    args.push(".");
    let (ok, _, stderr) = buildx(&args, dir);
    assert!(ok, "conveyor build failed:\n{stderr}");
    assert_eq!(
        std::fs::read_to_string(out.path().join("final")).unwrap(),
        "final\n"
    );
    std::fs::read_to_string(out.path().join("marker")).unwrap()
}

/// The stored image under `gen`'s signature is made from another Dockerfile whose
/// marker no build of `gen` can produce (nor find in BuildKit's cache), so the marker
/// in the result says where the stage came from.
fn reuse_case(repo: &str) {
    let seed = unique("seed");
    let dir = context(&seed);

    let planned = plan(repo, dir.path());
    let actions: Vec<(&str, &str)> = planned
        .iter()
        .map(|(name, action, _, _)| (name.as_str(), action.as_str()))
        .collect();
    assert_eq!(actions, [("gen", "build"), ("final", "build")]);
    let (_, _, gen_signature, gen_labels) = &planned[0];
    assert_eq!(gen_labels["conveyor.stage"], "gen");
    assert_eq!(gen_labels["conveyor.config"], "Dockerfile");
    let stored_marker = unique("stored");
    let other = tempfile::tempdir().unwrap();
    std::fs::write(
        other.path().join("Dockerfile"),
        format!(
            "FROM 127.0.0.1:5000/busybox:latest AS gen\nRUN printf {stored_marker} > /marker\n"
        ),
    )
    .unwrap();
    let stored = store_with_stock_frontend(repo, other.path(), "gen", gen_signature, gen_labels);
    assert_eq!(marker_of_image(&stored), stored_marker);

    let planned = plan(repo, dir.path());
    let actions: Vec<(&str, &str)> = planned
        .iter()
        .map(|(name, action, _, _)| (name.as_str(), action.as_str()))
        .collect();
    assert_eq!(actions, [("gen", "reused"), ("final", "build")]);

    let repo_arg = format!("CONVEYOR_REPO={repo}");
    let reused = marker_built_by_conveyor(dir.path(), &["--build-arg", &repo_arg]);
    assert_eq!(reused, stored_marker, "the stored stage was not used");
    let rebuilt = marker_built_by_conveyor(dir.path(), &[]);
    assert!(rebuilt.starts_with(&seed), "{rebuilt}");

    // With the seed changed the signature differs: nothing stored is used.
    std::fs::write(dir.path().join("seed.txt"), format!("{seed}-changed")).unwrap();
    let changed = marker_built_by_conveyor(dir.path(), &["--build-arg", &repo_arg]);
    assert!(changed.starts_with(&format!("{seed}-changed")), "{changed}");
    docker_ok(&["rmi", &stored], None);
}

#[test]
fn a_stored_stage_is_reused_by_the_frontend_and_not_without_the_repo() {
    reuse_case(&format!(
        "{}/{}",
        harness().registry,
        unique("stages-reuse")
    ));
}

/// The same with `CONVEYOR_REPO=local`: the stage image is only in the daemon's store.
#[test]
fn a_stage_in_the_daemons_store_is_reused_with_repo_local() {
    reuse_case("local");
}

#[test]
fn explain_names_the_changed_file_and_the_parent() {
    let repo = format!("{}/{}", harness().registry, unique("stages-explain"));
    let dir = context(&unique("seed"));
    let planned = plan(&repo, dir.path());
    let mut stored = Vec::new();
    for (name, _, signature, labels) in &planned {
        stored.push(store_with_stock_frontend(
            &repo,
            dir.path(),
            name,
            signature,
            labels,
        ));
    }
    let target = dir.path().to_str().unwrap();
    let (code, stdout, stderr) = conveyor(&["explain", "--repo", &repo, target]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "stage gen: reused {}\nstage final: reused {}\n",
            stored[0], stored[1]
        )
    );

    let old_seed = file_digest(&planned[0].3, "seed.txt");
    std::fs::write(dir.path().join("seed.txt"), "a new seed\n").unwrap();
    let (code, stdout, stderr) = conveyor(&["explain", "--repo", &repo, target]);
    assert_eq!(code, 0, "{stderr}");
    let new_seed = file_digest(&plan(&repo, dir.path())[0].3, "seed.txt");
    assert_ne!(old_seed, new_seed);
    assert_eq!(
        stdout,
        format!(
            "stage gen: built: changed since {}\n  `COPY seed.txt other.txt /in/`: file seed.txt changed: {old_seed} -> {new_seed}\nstage final: built: changed since {}\n  parent changed (stage gen)\n",
            stored[0], stored[1]
        )
    );
    for reference in stored {
        docker_ok(&["rmi", &reference], None);
    }
}

/// The digest `labels` record for a context file.
fn file_digest(labels: &serde_json::Value, path: &str) -> String {
    let inputs: serde_json::Value =
        serde_json::from_str(labels["conveyor.inputs"].as_str().unwrap()).unwrap();
    inputs
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|input| input["files"].as_array().cloned().unwrap_or_default())
        .find(|file| file["path"] == path)
        .unwrap_or_else(|| panic!("no file {path} in {inputs}"))["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Stores the target stage of each of `targets` (stock frontend, plan's labels).
fn store_targets(repo: &str, dir: &Path, targets: &[&str]) -> Vec<String> {
    targets
        .iter()
        .map(|target| {
            let planned = plan_with(repo, dir, &["--target", target]);
            let (name, _, signature, labels) = planned.last().unwrap();
            assert_eq!(name, target);
            store_with_stock_frontend(repo, dir, name, signature, labels)
        })
        .collect()
}

#[test]
fn explain_names_build_args_and_instructions() {
    let repo = format!("{}/{}", harness().registry, unique("stages-explain-args"));
    let dir = tempfile::tempdir().unwrap();
    let dockerfile = "FROM 127.0.0.1:5000/busybox:latest AS a\nARG V=1\nRUN echo $V > /v\nFROM 127.0.0.1:5000/busybox:latest AS b\nRUN echo b > /b\n";
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    let stored = store_targets(&repo, dir.path(), &["a", "b"]);
    let context = dir.path().to_str().unwrap();

    let (code, stdout, stderr) = conveyor(&[
        "explain",
        "--repo",
        &repo,
        "--build-arg",
        "V=2",
        "--target",
        "a",
        context,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "stage a: built: changed since {}\n  build arg V changed (now \"2\")\n",
            stored[0]
        )
    );

    std::fs::write(
        dir.path().join("Dockerfile"),
        dockerfile.replace("RUN echo b > /b", "RUN echo c > /b"),
    )
    .unwrap();
    let (code, stdout, stderr) = conveyor(&["explain", "--repo", &repo, context]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "stage b: built: changed since {}\n  instruction changed: `RUN echo c > /b`\n",
            stored[1]
        )
    );
    let (code, stdout, stderr) = conveyor(&["explain", "--repo", &repo, "--target", "a", context]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, format!("stage a: reused {}\n", stored[0]));
    for reference in stored {
        docker_ok(&["rmi", &reference], None);
    }
}

#[test]
fn explain_and_plan_errors_are_one_line_and_exit_non_zero() {
    let dir = context("seed");
    let context = dir.path().to_str().unwrap();
    let (code, stdout, stderr) = conveyor(&["explain", "--repo", "Bad Repo", context]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(
        stderr.starts_with("conveyor: invalid --repo \"Bad Repo\": "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let never = format!("{}/{}", harness().registry, unique("stages-empty"));
    let (code, stdout, stderr) = conveyor(&["explain", "--repo", &never, context]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "stage gen: built: no stored image of this stage in {never}\nstage final: built: no stored image of this stage in {never}\n"
        )
    );

    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM 127.0.0.1:5000/conveyor-test-no-such-image:x\nRUN true\n",
    )
    .unwrap();
    let (code, _, stderr) = conveyor(&["plan", "--repo", &never, context]);
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "conveyor: cannot resolve base image 127.0.0.1:5000/conveyor-test-no-such-image:x: 127.0.0.1:5000/conveyor-test-no-such-image:x: not found\n"
    );
}

/// The frontend signs stages as `plan --repo` does, on a context that exercises the
/// walk: `.dockerignore` with a negation and an excluded directory, a symlink, a
/// private file, a wildcard source, a build arg. The frontend's lookups show in the
/// progress as `[conveyor] look up stage NAME in the stages storage: REF`.
#[test]
fn the_frontend_and_plan_sign_alike() {
    let repo = format!("{}/{}", harness().registry, unique("stages-sign"));
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "Dockerfile",
        "FROM 127.0.0.1:5000/busybox:latest AS a\nARG V=1\nCOPY . /app\nRUN ls /app\nFROM a\nCOPY sub/*.txt /x/\n",
    );
    write(".dockerignore", "*.log\n!keep.log\nsub/deep\n");
    write("a.txt", "1");
    write("x.log", "2");
    write("keep.log", "3");
    write("sub/s.txt", &unique("s"));
    write("sub/deep/d.txt", "5");
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(
        dir.path().join("sub/s.txt"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::os::unix::fs::symlink("a.txt", dir.path().join("link")).unwrap();

    let planned = plan_with(&repo, dir.path(), &["--build-arg", "V=3"]);
    let expected: Vec<String> = planned
        .iter()
        .map(|(name, _, signature, _)| {
            format!(
                "[conveyor] look up stage {name} in the stages storage: {repo}:{}",
                signature.strip_prefix("sha256:").unwrap()
            )
        })
        .collect();
    let out = tempfile::tempdir().unwrap();
    let syntax = format!("BUILDKIT_SYNTAX={}", frontend_image());
    let repo_arg = format!("CONVEYOR_REPO={repo}");
    let dest = format!("type=local,dest={}", out.path().display());
    let (ok, _, stderr) = buildx(
        &[
            "--progress=plain",
            "--build-arg",
            &syntax,
            "--build-arg",
            &repo_arg,
            "--build-arg",
            "V=3",
            "--output",
            &dest,
            ".",
        ],
        dir.path(),
    );
    assert!(ok, "{stderr}");
    let looked_up: Vec<String> = stderr
        .lines()
        .filter(|line| line.starts_with('#'))
        .filter_map(|line| line.split_once(' ').map(|(_, rest)| rest.to_string()))
        .filter(|rest| rest.starts_with("[conveyor] look up"))
        .collect();
    assert_eq!(looked_up, expected, "{stderr}");
}
