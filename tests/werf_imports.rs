//! werf imports signed by the bytes they import: with the stages storage, an importing
//! image is built again only when the files it takes from its source change, not
//! whenever the source stage is rebuilt.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::conveyor::{build_werf_stored, built_stages, conveyor, set};
use common::{buildx, docker, docker_ok, frontend_image, harness, unique};

/// `NOTE` changes a file the import does not take; `IMPORTED` the one it takes;
/// `MARKER` makes the stages this test's own (`--repo local` is shared).
const CONFIG: &str = r#"project: werf-imports
configVersion: 1
---
artifact: builder
from: 127.0.0.1:5000/busybox:latest
shell:
  install:
  - echo MARKER > /marker
  - mkdir -p /out
  - echo IMPORTED > /out/app.txt
  - echo NOTE > /unrelated.txt
---
image: app
from: 127.0.0.1:5000/busybox:latest
shell:
  beforeInstall: echo MARKER > /before.txt
  setup: cat /opt/out/app.txt > /setup-saw.txt
import:
- artifact: builder
  add: /out
  to: /opt/out
  after: install
docker:
  ENV:
    MODE: production
"#;

fn write_config(dir: &Path, marker: &str, imported: &str, note: &str) {
    let config = CONFIG
        .replace("MARKER", marker)
        .replace("IMPORTED", imported)
        .replace("NOTE", note);
    std::fs::write(dir.join("werf.yaml"), config).unwrap();
}

/// The import digests a build computed, from its `[conveyor] import of …` notes.
fn import_digests(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|line| line.starts_with("[conveyor] import of /out from "))
        .filter_map(|line| line.rsplit_once(": content digest "))
        .map(|(_, digest)| digest.to_string())
        .collect()
}

fn plan_json(dir: &Path, repo: &str) -> serde_json::Value {
    let context = dir.display().to_string();
    let run = conveyor(
        &[
            "plan", "--format", "json", "--repo", repo, "--target", "app", &context,
        ],
        Path::new("/"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

fn planned<'p>(plan: &'p serde_json::Value, name: &str) -> &'p serde_json::Value {
    plan["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|stage| stage["name"] == name)
        .unwrap_or_else(|| panic!("no stage {name} in {plan}"))
}

const APP_STAGES: [&str; 5] = [
    "app/from",
    "app/beforeInstall",
    "app/dependenciesAfterInstall",
    "app/setup",
    "app/dockerInstructions",
];

fn rebuilds_only_on_imported_bytes(repo: &str) {
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("conveyor-test/werf-imports:{}", unique("t"));
    let marker = unique("marker");
    let write_config =
        |imported: &str, note: &str| write_config(dir.path(), &marker, imported, note);
    write_config("imported-1", "note-1");
    let first = build_werf_stored(dir.path(), repo, &tag);
    let mut all = set(&APP_STAGES);
    all.extend(set(&["builder/from", "builder/install"]));
    assert_eq!(
        built_stages::<BTreeSet<String>>(&first.stderr),
        all,
        "{}",
        first.stderr
    );
    let first_digests = import_digests(&first.stderr);
    assert_eq!(first_digests.len(), 1, "{}", first.stderr);

    // The artifact's install changes, but not the file the import takes: plan shows
    // the dependencies stage waiting for the artifact; the build rebuilds the artifact
    // only, and signs the import by the same content.
    write_config("imported-1", "note-2");
    let plan = plan_json(dir.path(), repo);
    let dependencies = planned(&plan, "app/dependenciesAfterInstall");
    assert_eq!(dependencies["signature"], "", "{plan}");
    assert_eq!(dependencies["action"], "pending", "{plan}");
    assert_eq!(
        dependencies["waits_for"],
        serde_json::json!(["builder/install"])
    );
    assert_eq!(
        planned(&plan, "app/setup")["waits_for"],
        serde_json::json!(["builder/install"])
    );
    assert_eq!(planned(&plan, "app/beforeInstall")["action"], "reused");
    assert_eq!(planned(&plan, "builder/install")["action"], "build");
    let second = build_werf_stored(dir.path(), repo, &tag);
    assert_eq!(
        built_stages::<BTreeSet<String>>(&second.stderr),
        set(&["builder/install"]),
        "{}",
        second.stderr
    );
    assert_eq!(import_digests(&second.stderr), first_digests);
    assert!(
        second
            .stderr
            .contains("[conveyor] stage app/dockerInstructions: reused "),
        "{}",
        second.stderr
    );
    // Everything is stored now, the import digest too: nothing is read again.
    let plan = plan_json(dir.path(), repo);
    for name in APP_STAGES {
        assert!(
            planned(&plan, name)["signature"]
                .as_str()
                .unwrap()
                .starts_with("sha256:"),
            "{name}: {plan}"
        );
    }
    let third = build_werf_stored(dir.path(), repo, &tag);
    assert_eq!(
        built_stages::<BTreeSet<String>>(&third.stderr),
        set(&[]),
        "{}",
        third.stderr
    );
    assert_eq!(import_digests(&third.stderr), Vec::<String>::new());

    // The imported file changes: the dependencies stage and those after it rebuild.
    write_config("imported-2", "note-2");
    let fourth = build_werf_stored(dir.path(), repo, &tag);
    assert_eq!(
        built_stages::<BTreeSet<String>>(&fourth.stderr),
        set(&[
            "builder/install",
            "app/dependenciesAfterInstall",
            "app/setup",
            "app/dockerInstructions",
        ]),
        "{}",
        fourth.stderr
    );
    let fourth_digests = import_digests(&fourth.stderr);
    assert_eq!(fourth_digests.len(), 1, "{}", fourth.stderr);
    assert_ne!(fourth_digests, first_digests);
    let saw = docker_ok(&["run", "--rm", &tag, "cat", "/setup-saw.txt"], None);
    assert_eq!(saw, "imported-2\n");
    let _ = docker().args(["image", "rm", &tag]).output();
    if repo == "local" {
        remove_local_stages(&[&first, &second, &fourth]);
    }
}

/// The stage images and import digest images the builds put in the daemon's store.
fn remove_local_stages(runs: &[&common::conveyor::Run]) {
    let stages: Vec<String> = runs
        .iter()
        .flat_map(|run| run.stderr.lines())
        .filter_map(|line| line.split_once(": building, to be stored as "))
        .map(|(_, reference)| reference.to_string())
        .collect();
    let mut images = stages.clone();
    for stage in &stages {
        let hex = stage.rsplit_once(':').unwrap().1;
        let kept = docker_ok(
            &[
                "images",
                "--filter",
                &format!("label=conveyor.import-source=sha256:{hex}"),
                "--format",
                "{{.Repository}}:{{.Tag}}",
            ],
            None,
        );
        images.extend(kept.lines().map(str::to_string));
    }
    let mut rm = vec!["image", "rm"];
    rm.extend(images.iter().map(String::as_str));
    let _ = docker().args(&rm).output();
}

#[test]
fn an_importing_image_is_rebuilt_only_when_the_imported_bytes_change() {
    let repo = format!("{}/{}", harness().registry, unique("werf-imports"));
    rebuilds_only_on_imported_bytes(&repo);
}

#[test]
fn with_repo_local_too() {
    rebuilds_only_on_imported_bytes("local");
}

/// The buildx frontend given `CONVEYOR_REPO` signs the import by the digest `build
/// --repo` kept, so it finds the importing image's stages stored and runs none of
/// them; without the storage it builds them.
#[test]
fn the_frontend_reads_the_kept_import_digest() {
    let repo = format!("{}/{}", harness().registry, unique("werf-imports-fe"));
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &unique("marker"), "imported-1", "note-1");
    let tag = format!("conveyor-test/werf-imports:{}", unique("t"));
    build_werf_stored(dir.path(), &repo, &tag);
    let _ = docker().args(["image", "rm", &tag]).output();

    let syntax = format!("BUILDKIT_SYNTAX={}", frontend_image());
    let repo_arg = format!("CONVEYOR_REPO={repo}");
    let frontend_build = |extra: &[&str]| {
        let out = tempfile::tempdir().unwrap();
        let dest = format!("type=local,dest={}", out.path().display());
        let mut args = vec![
            "--progress=plain",
            "--build-arg",
            &syntax,
            "-f",
            "werf.yaml",
            "--target",
            "app",
            "--output",
            &dest,
        ];
        args.extend_from_slice(extra);
        args.push(".");
        let (ok, _, stderr) = buildx(&args, dir.path());
        assert!(ok, "{stderr}");
        assert_eq!(
            std::fs::read_to_string(out.path().join("setup-saw.txt")).unwrap(),
            "imported-1\n"
        );
        stderr
    };
    let stored = frontend_build(&["--build-arg", &repo_arg]);
    assert!(
        stored.contains("[conveyor] look up the content digest of import /out"),
        "{stored}"
    );
    assert!(!stored.contains("[app/setup]"), "{stored}");
    assert!(
        !stored.contains("[app/dependenciesAfterInstall]"),
        "{stored}"
    );
    let unstored = frontend_build(&[]);
    assert!(unstored.contains("[app/setup]"), "{unstored}");
}
