//! werf git mappings of remote repositories (`url` with `branch`), against a repository
//! this test serves over git's dumb HTTP protocol on 127.0.0.1 (the private dockerd
//! shares the host's network, so its BuildKit fetches from there), and `.Commit` in
//! the buildx frontend.

mod common;
#[allow(dead_code)]
#[path = "parity/mod.rs"]
mod parity;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::conveyor::{build_werf_stored, built, built_stages, conveyor};
use common::{buildx, docker_ok, frontend_image, harness, unique};

/// Runs git with a fixed identity; panics with its stderr if it fails.
fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A repository with a work tree to commit in and a bare copy served over HTTP.
struct Served {
    _root: tempfile::TempDir,
    work: PathBuf,
    bare: PathBuf,
    url: String,
}

impl Served {
    fn new() -> Served {
        let root = tempfile::tempdir().unwrap();
        let work = root.path().join("work");
        let served = root.path().join("served");
        let bare = served.join("lib.git");
        std::fs::create_dir_all(&work).unwrap();
        git(&work, &["init", "-q", "-b", "main"]);
        // git's dumb HTTP protocol needs only GETs of the repository's files.
        std::fs::create_dir_all(&served).unwrap();
        let repo = Served {
            url: format!("{}/lib.git", parity::http::serve(&served).unwrap()),
            _root: root,
            work,
            bare,
        };
        repo.commit(&[
            ("src/hello.txt", "hello from the remote\n"),
            ("src/skip.md", "not included\n"),
            ("README", "outside the mapping\n"),
        ]);
        git(
            repo.work.parent().unwrap(),
            &["clone", "-q", "--bare", "work", "served/lib.git"],
        );
        git(&repo.bare, &["update-server-info"]);
        repo
    }

    /// Commits `files` on main and publishes the commit; returns its hash.
    fn commit(&self, files: &[(&str, &str)]) -> String {
        for (path, text) in files {
            let path = self.work.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        git(&self.work, &["add", "-A"]);
        git(&self.work, &["commit", "-q", "-m", "change"]);
        if self.bare.exists() {
            git(
                &self.work,
                &["push", "-q", self.bare.to_str().unwrap(), "main"],
            );
            git(&self.bare, &["update-server-info"]);
        }
        git(&self.work, &["rev-parse", "HEAD"])
    }
}

/// An image whose gitArchive maps the remote's `/src` (only `*.txt`) to `/lib`, owned
/// by 1234:2345, and whose install stage lists what it saw there.
fn config(url: &str) -> String {
    format!(
        r#"project: werf-git
configVersion: 1
---
image: app
from: 127.0.0.1:5000/busybox:latest
git:
- url: {url}
  branch: main
  add: /src
  to: /lib
  owner: "1234"
  group: "2345"
  includePaths: ["*.txt"]
shell:
  install: ls /lib > /install-saw.txt
"#
    )
}

fn project(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("werf.yaml"), config).unwrap();
    dir
}

/// Stage name → signature, from `conveyor plan --format json`.
fn plan(dir: &Path) -> std::collections::BTreeMap<String, String> {
    let run = conveyor(
        &["plan", "--format", "json", &dir.display().to_string()],
        Path::new("/"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for stage in value["images"][0]["stages"].as_array().unwrap() {
        if let Some(signature) = stage["signature"].as_str() {
            out.insert(
                stage["name"].as_str().unwrap().to_string(),
                signature.to_string(),
            );
        }
    }
    out
}

fn run_in(image: &str, script: &str) -> String {
    docker_ok(&["run", "--rm", image, "sh", "-c", script], None)
}

/// The CLI: the image holds the remote's files at `to` with the owner; the same commit
/// builds nothing the second time; a new commit on the branch re-signs gitArchive and
/// every later stage, and the next build holds the new files.
#[test]
fn a_remote_branch_is_built_at_its_commit_and_a_new_commit_resigns_git_archive() {
    harness();
    let remote = Served::new();
    // The syntax line lets buildx build the same file through the frontend below.
    let dir = project(&format!(
        "# syntax={}\n{}",
        frontend_image(),
        config(&remote.url)
    ));
    let repo = format!("{}/{}", harness().registry, unique("werf-git-stages"));
    let tag = format!("conveyor-test/werf-git:{}", unique("t"));

    let first = build_werf_stored(dir.path(), &repo, &tag);
    assert_eq!(
        built_stages::<Vec<String>>(&first.stderr),
        [
            "app/from",
            "app/gitArchive",
            "app/install",
            "app/gitLatestPatch"
        ]
    );
    assert_eq!(
        run_in(
            &tag,
            "stat -c '%u:%g %n' /lib/hello.txt; cat /lib/hello.txt; ls /lib; cat /install-saw.txt"
        ),
        "1234:2345 /lib/hello.txt\nhello from the remote\nhello.txt\nhello.txt\n"
    );
    let second = build_werf_stored(dir.path(), &repo, &tag);
    assert!(second.stderr.contains(" 0 built"), "{}", second.stderr);

    let before = plan(dir.path());
    remote.commit(&[("src/hello.txt", "hello again\n"), ("src/new.txt", "new\n")]);
    let after = plan(dir.path());
    let changed: Vec<&str> = before
        .iter()
        .filter(|(name, signature)| after[*name] != **signature)
        .map(|(name, _)| name.as_str())
        .collect();
    // The plan names stages within their image.
    assert_eq!(changed, ["gitArchive", "gitLatestPatch", "install"]);

    let third = build_werf_stored(dir.path(), &repo, &tag);
    assert_eq!(
        built_stages::<Vec<String>>(&third.stderr),
        ["app/gitArchive", "app/install", "app/gitLatestPatch"]
    );
    assert_eq!(
        run_in(&tag, "cat /lib/hello.txt; ls /lib; cat /install-saw.txt"),
        "hello again\nhello.txt\nnew.txt\nhello.txt\nnew.txt\n"
    );
    let _ = docker_ok(&["rmi", &tag], None);

    // The frontend, resolving the branch through BuildKit, signs the stages as the CLI
    // did: it finds the last one stored and runs nothing.
    let repo_arg = format!("CONVEYOR_REPO={repo}");
    let (ok, _, stderr) = buildx(
        &[
            "--progress=plain",
            "-f",
            "werf.yaml",
            "--build-arg",
            &repo_arg,
            "-t",
            &tag,
            "--load",
            ".",
        ],
        dir.path(),
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "[conveyor] look up stage app/gitLatestPatch in the stages storage: {repo}:"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("[app/install] ls /lib"), "{stderr}");
    assert_eq!(run_in(&tag, "cat /lib/hello.txt"), "hello again\n");
    let _ = docker_ok(&["rmi", &tag], None);
}

/// A missing branch is an error naming the repository, before anything is built.
#[test]
fn a_missing_branch_is_reported_with_the_repository() {
    harness();
    let remote = Served::new();
    let dir = project(&config(&remote.url).replace("branch: main", "branch: nope"));
    let run = conveyor(&["plan", &dir.path().display().to_string()], Path::new("/"));
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains(&format!(
            "conveyor: git {}: {} has no branch nope",
            remote.url, remote.url
        )),
        "{}",
        run.stderr
    );
}

/// The buildx frontend resolves the branch through BuildKit: the image holds the
/// remote's files with the owner, and a new commit is built without `--no-cache`.
#[test]
fn the_frontend_builds_a_remote_branch_at_its_current_commit() {
    harness();
    let remote = Served::new();
    let dir = project(&format!(
        "# syntax={}\n{}",
        frontend_image(),
        config(&remote.url)
    ));
    let tag = format!("conveyor-test/werf-git-frontend:{}", unique("t"));
    let build = || {
        let (ok, _, stderr) = buildx(
            &[
                "--progress=plain",
                "-f",
                "werf.yaml",
                "-t",
                &tag,
                "--load",
                ".",
            ],
            dir.path(),
        );
        assert!(ok, "{stderr}");
    };
    build();
    assert_eq!(
        run_in(
            &tag,
            "stat -c '%u:%g %n' /lib/hello.txt; cat /lib/hello.txt; ls /lib"
        ),
        "1234:2345 /lib/hello.txt\nhello from the remote\nhello.txt\n"
    );
    remote.commit(&[("src/hello.txt", "hello again\n")]);
    build();
    assert_eq!(run_in(&tag, "cat /lib/hello.txt"), "hello again\n");
    let _ = docker_ok(&["rmi", &tag], None);

    let config = std::fs::read_to_string(dir.path().join("werf.yaml")).unwrap();
    std::fs::write(
        dir.path().join("werf.yaml"),
        config.replace("branch: main", "branch: nope"),
    )
    .unwrap();
    let (ok, _, stderr) = buildx(&["--progress=plain", "-f", "werf.yaml", "."], dir.path());
    assert!(!ok);
    assert!(
        stderr.contains(&format!("git {}: cannot resolve branch:nope: ", remote.url))
            && stderr.contains("repository does not contain ref nope"),
        "{stderr}"
    );
}

/// `.Commit.Hash` in the frontend is the commit buildx sends for a context in a git
/// work tree; `.Commit.Date` is an error saying why.
#[test]
fn the_frontend_renders_the_commit_hash_buildx_sends() {
    harness();
    let dir = tempfile::tempdir().unwrap();
    let write = |body: &str| {
        let text = format!(
            "# syntax={}\nproject: werf-commit\nconfigVersion: 1\n---\nimage: app\nfrom: 127.0.0.1:5000/busybox:latest\ndocker:\n  LABEL:\n    {body}\n",
            frontend_image()
        );
        std::fs::write(dir.path().join("werf.yaml"), text).unwrap();
    };
    write("rev: \"{{ .Commit.Hash }}\"");
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "first"]);
    let head = git(dir.path(), &["rev-parse", "HEAD"]);
    let tag = format!("conveyor-test/werf-commit:{}", unique("t"));
    let (ok, _, stderr) = buildx(
        &[
            "--progress=plain",
            "-f",
            "werf.yaml",
            "-t",
            &tag,
            "--load",
            ".",
        ],
        dir.path(),
    );
    assert!(ok, "{stderr}");
    let label = docker_ok(
        &[
            "image",
            "inspect",
            "-f",
            "{{ index .Config.Labels \"rev\" }}",
            &tag,
        ],
        None,
    );
    assert_eq!(label.trim(), head);
    let _ = docker_ok(&["rmi", &tag], None);
    // `conveyor build` sends the same `vcs:revision`.
    let run = conveyor(
        &[
            "build",
            "--progress=plain",
            "-t",
            &tag,
            &dir.path().display().to_string(),
        ],
        Path::new("/"),
    );
    built(&run);
    let label = docker_ok(
        &[
            "image",
            "inspect",
            "-f",
            "{{ index .Config.Labels \"rev\" }}",
            &tag,
        ],
        None,
    );
    assert_eq!(label.trim(), head);
    let _ = docker_ok(&["rmi", &tag], None);

    write("at: \"{{ .Commit.Date.Unix }}\"");
    let (ok, _, stderr) = buildx(&["--progress=plain", "-f", "werf.yaml", "."], dir.path());
    assert!(!ok);
    assert!(
        stderr.contains("werf.yaml:9:")
            && stderr.contains("gets the commit's hash (vcs:revision) but not its date"),
        "{stderr}"
    );
}
