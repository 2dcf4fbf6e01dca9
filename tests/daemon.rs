//! The daemon connection against the real dockerd: workers, solving LLB built by our
//! `llb` module, the status stream, and errors.

mod common;

use std::collections::BTreeMap;

use common::{docker_ok, harness, unique};
use conveyor::buildkit::{BuildkitError, Daemon, DaemonAddress, SolveRequest};
use conveyor::llb::{
    self, Copy, Definition, Exec, FileAction, ImageSource, MkFile, OpOptions, Platform, State,
};
use conveyor::proto::moby::buildkit::v1::Exporter;

async fn daemon() -> Daemon {
    let address = DaemonAddress::parse("docker://", Some(&harness().docker_host)).unwrap();
    Daemon::connect(address)
        .await
        .expect("connect to the private dockerd through /grpc")
}

fn busybox() -> State {
    ImageSource {
        reference: format!("{}/busybox:latest", harness().registry),
        platform: Some(Platform::new("linux", "amd64", "")),
        ..Default::default()
    }
    .state()
}

fn sh(name: &str, script: &str) -> Exec {
    Exec {
        args: vec!["/bin/sh".into(), "-c".into(), script.into()],
        env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
        cwd: "/".into(),
        platform: Some(Platform::new("linux", "amd64", "")),
        options: OpOptions {
            custom_name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn solve_request(definition: &Definition, image_name: Option<&str>) -> SolveRequest {
    let exporters = image_name
        .map(|name| Exporter {
            r#type: "moby".into(),
            attrs: BTreeMap::from([("name".into(), name.into())]),
        })
        .into_iter()
        .collect();
    SolveRequest {
        definition: Some(definition.to_pb()),
        exporters,
        ..Default::default()
    }
}

#[tokio::test]
async fn lists_the_workers_of_docker_engine_through_grpc_upgrade() {
    let workers = daemon().await.list_workers().await.unwrap();
    assert!(!workers.is_empty(), "dockerd reports at least one worker");
    let platforms: Vec<String> = workers[0]
        .platforms
        .iter()
        .map(|p| format!("{}/{}", p.os, p.architecture))
        .collect();
    assert!(
        platforms.contains(&"linux/amd64".to_string()),
        "worker platforms: {platforms:?}"
    );
}

#[tokio::test]
async fn solves_image_exec_file_llb_and_streams_status_to_completion() {
    let marker = unique("ran");
    let ran = busybox()
        .run(sh(
            "write greeting",
            &format!("echo hello {marker} > /greeting"),
        ))
        .root();
    let collected = ran.file(
        vec![
            FileAction::Copy(Copy::new(ran.clone(), "/greeting", "/out/greeting")),
            FileAction::MkFile(MkFile {
                path: "/out/made".into(),
                mode: 0o640,
                data: b"made by a file op\n".to_vec(),
                owner: None,
                timestamp: None,
            }),
        ],
        OpOptions {
            custom_name: Some("collect".into()),
            ..Default::default()
        },
    );
    let definition = Definition::marshal(&collected);
    let exec_digest = definition.ops()[1].0.clone();
    let file_digest = definition.result_digest().unwrap();

    let image = format!("conveyor-test/llb:{}", unique("t"));
    let mut batches = 0;
    let (_, progress) = daemon()
        .await
        .solve(solve_request(&definition, Some(&image)), |_| batches += 1)
        .await
        .expect("the solve succeeds");

    assert!(batches > 0, "status arrived while solving");
    for digest in [&exec_digest, &file_digest] {
        let vertex = progress
            .get(digest)
            .unwrap_or_else(|| panic!("daemon reported vertex {digest}"));
        assert!(vertex.completed && vertex.error.is_empty(), "{vertex:?}");
    }
    assert_eq!(progress.get(&exec_digest).unwrap().name, "write greeting");
    assert_eq!(progress.get(&file_digest).unwrap().name, "collect");

    // The exported image holds what the exec wrote and what the file op made.
    let listing = docker_ok(
        &[
            "run",
            "--rm",
            &image,
            "sh",
            "-c",
            "cat /out/greeting /out/made; stat -c %a /out/made",
        ],
        None,
    );
    assert_eq!(listing, format!("hello {marker}\nmade by a file op\n640\n"));
    docker_ok(&["rmi", &image], None);
}

#[tokio::test]
async fn a_failing_exec_reports_the_failing_vertex() {
    let marker = unique("fail");
    let failing = busybox()
        .run(sh(
            "fail on purpose",
            &format!("echo about to fail {marker}; exit 3"),
        ))
        .root();
    let definition = Definition::marshal(&failing);
    let exec_digest = definition.result_digest().unwrap();

    let error = daemon()
        .await
        .solve(solve_request(&definition, None), |_| {})
        .await
        .unwrap_err();
    let BuildkitError::SolveFailed { message, vertex } = &error else {
        panic!("not a solve failure: {error}")
    };
    assert!(message.contains("exit code: 3"), "message: {message}");
    let vertex = vertex.as_ref().expect("the failing vertex is known");
    assert_eq!(vertex.digest, exec_digest, "the daemon names our exec op");
    assert_eq!(vertex.name, "fail on purpose");
    assert!(
        vertex.log_tail.contains(&format!("about to fail {marker}")),
        "log tail: {}",
        vertex.log_tail
    );
    assert!(
        error
            .to_string()
            .starts_with("build failed at [fail on purpose]: "),
        "{error}"
    );
}

#[tokio::test]
async fn unreachable_daemons_are_clear_errors() {
    let address = DaemonAddress::parse("docker:///nonexistent/docker.sock", None).unwrap();
    let error = Daemon::connect(address)
        .await
        .err()
        .expect("no daemon there")
        .to_string();
    assert!(
        error.starts_with(
            "cannot connect to the BuildKit daemon at docker://unix:///nonexistent/docker.sock: "
        ),
        "{error}"
    );
    assert!(error.contains("No such file or directory"), "{error}");

    let address = DaemonAddress::parse("tcp://127.0.0.1:1", None).unwrap();
    let error = Daemon::connect(address)
        .await
        .err()
        .expect("nothing listens on port 1")
        .to_string();
    assert!(
        error.starts_with("cannot connect to the BuildKit daemon at tcp://127.0.0.1:1: "),
        "{error}"
    );
    assert!(error.contains("Connection refused"), "{error}");
}

#[test]
fn llb_module_is_usable_from_outside() {
    // The public API compiles for a user of the library: scratch, merge and diff.
    let merged = State::merge(vec![State::scratch(), busybox()], OpOptions::default());
    let diffed = State::diff(busybox(), merged, OpOptions::default());
    let definition = Definition::marshal(&diffed);
    assert_eq!(definition.ops().len(), 4);
    let _ = llb::digest_of(b"");
}
