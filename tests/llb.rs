//! `conveyor llb`: the Definition it writes, submitted as `buildctl build` would submit
//! it (Control.Solve with the definition, a session serving the `context` local, an
//! image exporter), builds on the real dockerd; the image has what its RUN wrote and the
//! same filesystem as `conveyor build` of the same Dockerfile. A base that cannot be
//! resolved is a one-line error naming it.

mod common;
#[path = "parity/mod.rs"]
#[allow(dead_code)]
mod parity;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use prost::Message;

use common::conveyor::{conveyor, error_line, write};
use common::{docker_ok, harness, unique};
use conveyor::buildkit::{Daemon, DaemonAddress, Session, SessionServices, SolveRequest};
use conveyor::proto::moby::buildkit::v1::Exporter;
use conveyor::proto::pb;
use parity::docker::{export_listing, remove_image};
use parity::listing::diff_listings;

/// `conveyor llb ARGS` in `dir`, its stdout as bytes (the pb is binary).
fn llb(args: &[&str], dir: &Path) -> (i32, Vec<u8>, String) {
    llb_with_docker_host(args, dir, &harness().docker_host)
}

fn llb_with_docker_host(args: &[&str], dir: &Path, docker_host: &str) -> (i32, Vec<u8>, String) {
    let config = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_conveyor"))
        .arg("llb")
        .args(args)
        .current_dir(dir)
        .env("DOCKER_HOST", docker_host)
        .env("DOCKER_CONFIG", config.path())
        .output()
        .expect("run conveyor llb");
    (
        output.status.code().unwrap_or(-1),
        output.stdout,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Solves `definition` as buildctl does and names the image `image` in Docker's store.
async fn solve_as_buildctl(definition: pb::Definition, dir: &Path, image: &str) {
    let address = DaemonAddress::parse("docker://", Some(&harness().docker_host)).unwrap();
    let daemon = Daemon::connect(address).await.unwrap();
    let services = SessionServices {
        dirs: BTreeMap::from([
            ("context".to_string(), dir.to_path_buf()),
            ("dockerfile".to_string(), dir.to_path_buf()),
        ]),
        auth: conveyor::registry::DockerConfig::default(),
        ..Default::default()
    };
    let session = Session::start(&daemon, "llb-test", &unique("key"), services)
        .await
        .unwrap();
    let request = SolveRequest {
        definition: Some(definition),
        session: session.id().to_string(),
        exporters: vec![Exporter {
            r#type: "moby".into(),
            attrs: BTreeMap::from([("name".into(), image.to_string())]),
        }],
        ..Default::default()
    };
    daemon
        .solve(request, |_| {})
        .await
        .unwrap_or_else(|error| panic!("the Definition does not build: {error}"));
}

#[tokio::test]
async fn the_definition_builds_like_conveyor_build() {
    let registry = &harness().registry;
    let marker = unique("m");
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("hello.txt"), &format!("{marker}\n"));
    write(&dir.path().join("ignored.txt"), "not sent\n");
    write(&dir.path().join(".dockerignore"), "ignored.txt\n");
    write(
        &dir.path().join("Dockerfile"),
        &format!(
            "FROM {registry}/busybox:latest AS base\n\
             ARG WHO=nobody\n\
             WORKDIR /app\n\
             COPY hello.txt ./\n\
             RUN echo \"built for $WHO from $(cat hello.txt)\" > out.txt\n\
             FROM base\n\
             COPY --from=base /app/out.txt /copied.txt\n"
        ),
    );
    let (code, stdout, stderr) = llb(&["--build-arg", "WHO=llb", "."], dir.path());
    assert_eq!(code, 0, "{stderr}");
    let definition = pb::Definition::decode(stdout.as_slice()).expect("stdout is a Definition");

    let from_llb = format!("conveyor-test/llb:{}", unique("llb"));
    solve_as_buildctl(definition, dir.path(), &from_llb).await;
    let out = docker_ok(
        &[
            "run",
            "--rm",
            &from_llb,
            "cat",
            "/app/out.txt",
            "/copied.txt",
        ],
        None,
    );
    assert_eq!(out, format!("built for llb from {marker}\n").repeat(2));

    let from_build = format!("conveyor-test/llb:{}", unique("build"));
    let run = conveyor(
        &["build", "--build-arg", "WHO=llb", "-t", &from_build, "."],
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let differences = diff_listings(
        &export_listing(&from_build).unwrap(),
        &export_listing(&from_llb).unwrap(),
    );
    assert!(
        differences.is_empty(),
        "llb vs build:\n{}",
        differences
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    remove_image(&from_llb);
    remove_image(&from_build);
}

/// The source identifiers of a JSON dump.
fn source_identifiers(json: &serde_json::Value) -> Vec<String> {
    json["ops"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|op| op["source"]["identifier"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_base_from_the_registry_is_pinned_and_one_in_the_engine_store_is_not() {
    let registry = &harness().registry;
    let dir = tempfile::tempdir().unwrap();
    let base = format!("{registry}/busybox:latest");
    write(
        &dir.path().join("Dockerfile"),
        &format!("FROM {base}\nCOPY . /src\n"),
    );
    docker_ok(&["pull", "-q", &base], None);
    // No Docker Engine reachable: the registry resolves it, to its digest.
    let unreachable = format!("unix://{}/no.sock", dir.path().display());
    let (code, stdout, stderr) =
        llb_with_docker_host(&["--format", "json", "."], dir.path(), &unreachable);
    assert_eq!(code, 0, "{stderr}");
    let pushed_digest = docker_ok(
        &["inspect", "--format", "{{index .RepoDigests 0}}", &base],
        None,
    );
    let digest = pushed_digest.trim().rsplit('@').next().unwrap().to_string();
    let identifiers = source_identifiers(&serde_json::from_slice(&stdout).unwrap());
    assert!(
        identifiers.contains(&format!("docker-image://{base}@{digest}")),
        "{identifiers:?}"
    );
    assert!(
        identifiers.contains(&"local://context".to_string()),
        "{identifiers:?}"
    );
    // The engine holds it: the tag as written, which the daemon takes from its store.
    let (code, stdout, stderr) = llb(&["--format", "json", "."], dir.path());
    assert_eq!(code, 0, "{stderr}");
    let identifiers = source_identifiers(&serde_json::from_slice(&stdout).unwrap());
    assert!(
        identifiers.contains(&format!("docker-image://{base}")),
        "{identifiers:?}"
    );
}

#[test]
fn an_unresolvable_base_is_a_one_line_error_naming_it() {
    let registry = &harness().registry;
    let missing = format!("{registry}/conveyor-test/{}:none", unique("missing"));
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("Dockerfile"), &format!("FROM {missing}\n"));
    let run = conveyor(&["llb", "--format", "json", "."], dir.path());
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let line = error_line(&run);
    assert!(
        line.starts_with(&format!("conveyor: cannot resolve base image {missing}: ")),
        "{line}"
    );
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
}

#[tokio::test]
async fn a_werf_definition_builds_and_runs_its_shell_stages() {
    let registry = &harness().registry;
    let marker = unique("w");
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("src/data.txt"), &format!("{marker}\n"));
    write(
        &dir.path().join("werf.yaml"),
        &format!(
            "project: llb\nconfigVersion: 1\n---\nimage: app\nfrom: {registry}/busybox:latest\n\
             git:\n- add: /src\n  to: /app\nshell:\n  install: cat /app/data.txt > /app/installed\n"
        ),
    );
    let (code, stdout, stderr) = llb(&[], dir.path());
    assert_eq!(code, 0, "{stderr}");
    let definition = pb::Definition::decode(stdout.as_slice()).expect("stdout is a Definition");
    let image = format!("conveyor-test/llb:{}", unique("werf"));
    solve_as_buildctl(definition, dir.path(), &image).await;
    let out = docker_ok(&["run", "--rm", &image, "cat", "/app/installed"], None);
    assert_eq!(out, format!("{marker}\n"));
    remove_image(&image);
}
