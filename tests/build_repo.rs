//! `conveyor build --repo` end to end on the private dockerd and the harness registry:
//! stages are looked up by signature, missing ones built and stored as
//! `<repo>:<signature hex>`, and the result exported from the storage. The tests read
//! what conveyor says per stage (`[conveyor] stage NAME: reused REF` / `building, …`)
//! and check the registry's tag list (or dockerd's store for `--repo local`) itself.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use common::conveyor::{Run, built, busybox, conveyor, error_line, write};
use common::{docker, docker_ok, harness, unique};

/// Three stages, two independent branches joined in `final`: `base` reads the build
/// arg BASE_ARG, `a` copies a.txt, `b` copies b.txt and reads B_ARG.
fn chain_dockerfile() -> String {
    format!(
        "\
FROM {bb} AS base
ARG BASE_ARG=1
RUN echo base $BASE_ARG > /base
FROM base AS a
COPY a.txt /a.txt
RUN cat /a.txt > /a.out
FROM {bb} AS b
ARG B_ARG=x
COPY b.txt /b.txt
RUN echo $B_ARG > /b.out && cat /b.txt >> /b.out
FROM a AS final
COPY --from=b /b.out /b.out
RUN cat /base /a.out /b.out > /final
",
        bb = busybox()
    )
}

fn chain_context() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("Dockerfile"), &chain_dockerfile());
    // Unique content: the daemon's cache must not make a "built" stage a no-op.
    write(&dir.path().join("a.txt"), &unique("a"));
    write(&dir.path().join("b.txt"), &unique("b"));
    dir
}

fn repo() -> String {
    format!("{}/{}", harness().registry, unique("build-repo"))
}

fn build_repo(dir: &Path, repo: &str, extra: &[&str]) -> Run {
    let mut args = vec!["build", "--progress", "plain", "--repo", repo];
    args.extend_from_slice(extra);
    args.push(dir.to_str().unwrap());
    conveyor(&args, dir)
}

/// The stages conveyor said it built and reused, in the order it said so.
fn stages(run: &Run) -> (Vec<String>, Vec<String>) {
    let mut built = Vec::new();
    let mut reused = Vec::new();
    for line in run.stderr.lines() {
        let Some(rest) = line.strip_prefix("[conveyor] stage ") else {
            continue;
        };
        let (name, what) = rest.split_once(": ").expect("NAME: what");
        if what.starts_with("building") {
            built.push(name.to_string());
        } else if what.starts_with("reused ") {
            reused.push(name.to_string());
        } else if !what.starts_with("stored ") {
            panic!("unexpected stage line {line:?}");
        }
    }
    built.sort();
    reused.sort();
    (built, reused)
}

/// The stages conveyor said it stored, sorted.
fn stored(run: &Run) -> Vec<String> {
    let mut stored: Vec<String> = run
        .stderr
        .lines()
        .filter_map(|line| line.strip_prefix("[conveyor] stage "))
        .filter_map(|rest| rest.split_once(": stored "))
        .map(|(name, _)| name.to_string())
        .collect();
    stored.sort();
    stored
}

/// The closing summary's counts: "N stages reused, M built, …".
fn summary(run: &Run) -> (usize, usize) {
    let line = run
        .stderr
        .lines()
        .find(|line| line.contains(" stages reused, "))
        .unwrap_or_else(|| panic!("no summary in:\n{}", run.stderr));
    let words: Vec<&str> = line.split_whitespace().collect();
    let reused = words[0].parse().unwrap();
    let built = words[3].parse().unwrap();
    (reused, built)
}

fn names(list: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    names.sort();
    names
}

/// `plan --repo --format json`: stage name → signature hex (the storage's tag).
fn plan_signatures(dir: &Path, repo: &str, extra: &[&str]) -> Vec<(String, String)> {
    let mut args = vec!["plan", "--repo", repo, "--format", "json"];
    args.extend_from_slice(extra);
    args.push(dir.to_str().unwrap());
    let run = conveyor(&args, dir);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    plan["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let signature = s["signature"].as_str().unwrap();
            let hex = signature.strip_prefix("sha256:").unwrap_or(signature);
            (s["name"].as_str().unwrap().to_string(), hex.to_string())
        })
        .collect()
}

fn signature_of(signatures: &[(String, String)], name: &str) -> String {
    signatures
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no stage {name} in {signatures:?}"))
        .1
        .clone()
}

/// The registry's tag list of `repo` (`127.0.0.1:5000/NAME`), sorted; empty when the
/// repository does not exist.
fn registry_tags(repo: &str) -> Vec<String> {
    let name = repo.split_once('/').unwrap().1;
    let mut stream = std::net::TcpStream::connect(&harness().registry).unwrap();
    write!(
        stream,
        "GET /v2/{name}/tags/list HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        harness().registry
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    if head.starts_with("HTTP/1.1 404") {
        return Vec::new();
    }
    assert!(head.starts_with("HTTP/1.1 200"), "{response}");
    let list: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|error| {
        panic!("tags/list body {body:?}: {error}");
    });
    let mut tags: Vec<String> = list["tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .map(|t| t.as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    tags.sort();
    tags
}

fn sorted(mut tags: Vec<String>) -> Vec<String> {
    tags.sort();
    tags
}

/// `docker run --rm IMAGE cat /final`.
fn final_file(image: &str) -> String {
    docker_ok(&["run", "--rm", image, "cat", "/final"], None)
}

#[test]
fn second_build_reuses_every_stage_and_gives_the_same_image() {
    let dir = chain_context();
    let repo = repo();
    let tag = unique("conveyor-build-repo");
    let first = build_repo(dir.path(), &repo, &["-t", &tag]);
    built(&first);
    assert_eq!(stages(&first).0, names(&["a", "b", "base", "final"]));
    assert_eq!(summary(&first), (0, 4), "{}", first.stderr);
    assert_eq!(stored(&first), names(&["a", "b", "base", "final"]));
    let first_id = docker_ok(&["image", "inspect", "-f", "{{.Id}}", &tag], None);

    let signatures = plan_signatures(dir.path(), &repo, &[]);
    assert_eq!(
        registry_tags(&repo),
        sorted(signatures.iter().map(|(_, hex)| hex.clone()).collect())
    );

    let second = build_repo(dir.path(), &repo, &["-t", &tag]);
    built(&second);
    assert_eq!(summary(&second), (1, 0), "{}", second.stderr);
    // Only the target is looked at: it is stored, so nothing before it is needed.
    assert_eq!(stages(&second), (vec![], names(&["final"])));
    let second_id = docker_ok(&["image", "inspect", "-f", "{{.Id}}", &tag], None);
    assert_eq!(first_id, second_id);
    let content = final_file(&tag);
    assert!(content.starts_with("base 1\n"), "{content}");
    docker_ok(&["image", "rm", &tag], None);
}

#[test]
fn a_changed_file_or_build_arg_rebuilds_its_stage_and_dependents() {
    let dir = chain_context();
    let repo = repo();
    built(&build_repo(dir.path(), &repo, &[]));

    write(&dir.path().join("a.txt"), &unique("a2"));
    let run = build_repo(dir.path(), &repo, &[]);
    built(&run);
    assert_eq!(
        stages(&run),
        (names(&["a", "final"]), names(&["b", "base"]))
    );
    assert_eq!(summary(&run), (2, 2));

    let run = build_repo(dir.path(), &repo, &["--build-arg", "B_ARG=y"]);
    built(&run);
    assert_eq!(stages(&run), (names(&["b", "final"]), names(&["a"])));
    assert_eq!(summary(&run), (1, 2));

    let run = build_repo(dir.path(), &repo, &["--build-arg", "BASE_ARG=2"]);
    built(&run);
    assert_eq!(
        stages(&run),
        (names(&["a", "base", "final"]), names(&["b"]))
    );
}

#[test]
fn a_failed_stage_leaves_no_tag_and_the_fixed_build_reuses_what_completed() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("Dockerfile"),
        &format!(
            "\
FROM {} AS one
COPY seed.txt /seed.txt
RUN cat /seed.txt > /one
FROM one AS two
COPY flag.txt /flag.txt
RUN test \"$(cat /flag.txt)\" = ok && echo two > /two
FROM two AS three
RUN echo three > /three
",
            busybox()
        ),
    );
    write(&dir.path().join("seed.txt"), &unique("seed"));
    write(&dir.path().join("flag.txt"), "bad");
    let repo = repo();
    let failed = build_repo(dir.path(), &repo, &[]);
    assert_ne!(failed.code, 0, "{}", failed.stderr);
    assert_eq!(stored(&failed), names(&["one"]), "{}", failed.stderr);
    // The error names the failed step, not the storage lookup before it.
    assert!(
        error_line(&failed).starts_with("conveyor: build failed at [[two 2/2] RUN test "),
        "{}",
        failed.stderr
    );
    let signatures = plan_signatures(dir.path(), &repo, &[]);
    assert_eq!(
        registry_tags(&repo),
        vec![signature_of(&signatures, "one")],
        "{}",
        failed.stderr
    );

    write(&dir.path().join("flag.txt"), "ok");
    let fixed = build_repo(dir.path(), &repo, &[]);
    built(&fixed);
    assert_eq!(stages(&fixed), (names(&["three", "two"]), names(&["one"])));
    let signatures = plan_signatures(dir.path(), &repo, &[]);
    assert_eq!(
        registry_tags(&repo),
        sorted(signatures.iter().map(|(_, hex)| hex.clone()).collect())
    );
}

#[test]
fn explain_on_a_storage_written_by_build_names_the_changed_file() {
    let dir = chain_context();
    let repo = repo();
    built(&build_repo(dir.path(), &repo, &[]));
    write(&dir.path().join("a.txt"), &unique("a3"));
    let run = conveyor(
        &["explain", "--repo", &repo, dir.path().to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = &run.stdout;
    let section = |stage: &str| -> Vec<&str> {
        let mut lines = out
            .lines()
            .skip_while(|l| !l.starts_with(&format!("stage {stage}:")));
        let heading = lines
            .next()
            .unwrap_or_else(|| panic!("no stage {stage}:\n{out}"));
        std::iter::once(heading)
            .chain(lines.take_while(|l| l.starts_with("  ")))
            .collect()
    };
    assert!(
        section("base")[0].starts_with("stage base: reused "),
        "{out}"
    );
    assert!(section("b")[0].starts_with("stage b: reused "), "{out}");
    let a = section("a");
    assert!(a[0].starts_with("stage a: built: changed since "), "{out}");
    assert_eq!(a.len(), 2, "only a.txt changed for a:\n{out}");
    assert!(
        a[1].starts_with("  `COPY a.txt /a.txt`: file a.txt changed: "),
        "{out}"
    );
    let last = section("final");
    assert!(
        last[0].starts_with("stage final: built: changed since "),
        "{out}"
    );
    assert_eq!(last[1..], ["  parent changed (stage a)"], "{out}");
}

/// `final` copies from three stages that each take two seconds: all three are built
/// (the bench measures that they run at once) and stored.
#[test]
fn independent_stages_are_all_built_and_stored() {
    let dir = tempfile::tempdir().unwrap();
    let seed = unique("fan");
    let mut dockerfile = String::new();
    for name in ["p", "q", "r"] {
        dockerfile.push_str(&format!(
            "FROM {} AS {name}\nRUN sleep 2 && echo {name} {seed} > /{name}\n",
            busybox()
        ));
    }
    dockerfile.push_str(&format!(
        "FROM {} AS final\nCOPY --from=p /p /p\nCOPY --from=q /q /q\nCOPY --from=r /r /r\nRUN cat /p /q /r > /final\n",
        busybox()
    ));
    write(&dir.path().join("Dockerfile"), &dockerfile);
    let repo = repo();
    let run = build_repo(dir.path(), &repo, &[]);
    built(&run);
    assert_eq!(stages(&run).0, names(&["final", "p", "q", "r"]));
    assert_eq!(stored(&run), names(&["final", "p", "q", "r"]));
    let signatures = plan_signatures(dir.path(), &repo, &[]);
    assert_eq!(
        registry_tags(&repo),
        sorted(signatures.iter().map(|(_, hex)| hex.clone()).collect())
    );
}

#[test]
fn two_builds_at_once_end_with_the_same_tags_and_a_working_image() {
    let dir = chain_context();
    let repo = repo();
    let tag = unique("conveyor-build-repo-twice");
    let config = tempfile::tempdir().unwrap();
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_conveyor"))
            .args(["build", "--progress", "plain", "--repo", &repo, "-t", &tag])
            .arg(dir.path())
            .env("DOCKER_HOST", &harness().docker_host)
            .env("DOCKER_CONFIG", config.path())
            .env_remove("BUILDKIT_HOST")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (one, two) = (spawn(), spawn());
    for child in [one, two] {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let signatures = plan_signatures(dir.path(), &repo, &[]);
    assert_eq!(
        registry_tags(&repo),
        sorted(signatures.iter().map(|(_, hex)| hex.clone()).collect())
    );
    let content = final_file(&tag);
    assert!(content.starts_with("base 1\n"), "{content}");
    let again = build_repo(dir.path(), &repo, &[]);
    built(&again);
    assert_eq!(summary(&again), (1, 0));
    docker_ok(&["image", "rm", &tag], None);
}

#[test]
fn repo_local_stores_stages_in_the_engine_image_store() {
    let dir = chain_context();
    let tag = unique("conveyor-build-repo-local");
    let first = build_repo(dir.path(), "local", &["-t", &tag]);
    built(&first);
    assert_eq!(summary(&first), (0, 4));
    let signatures = plan_signatures(dir.path(), "local", &[]);
    for (name, hex) in &signatures {
        let status = docker()
            .args(["image", "inspect", &format!("conveyor-stages:{hex}")])
            .output()
            .unwrap()
            .status;
        assert!(status.success(), "stage {name} not in the store");
    }
    let second = build_repo(dir.path(), "local", &["-t", &tag]);
    built(&second);
    assert_eq!(summary(&second), (1, 0), "{}", second.stderr);
    let content = final_file(&tag);
    assert!(content.starts_with("base 1\n"), "{content}");
    let mut rm = vec!["image".to_string(), "rm".to_string(), tag.clone()];
    rm.extend(
        signatures
            .iter()
            .map(|(_, hex)| format!("conveyor-stages:{hex}")),
    );
    let rm: Vec<&str> = rm.iter().map(String::as_str).collect();
    docker_ok(&rm, None);
}
