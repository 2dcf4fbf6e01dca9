//! The real daemons tests run against: scripts/buildkit-up starts (or finds) a private
//! dockerd with its embedded BuildKit and a registry on 127.0.0.1:5000.

#![allow(dead_code)]

pub mod conveyor;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub struct Harness {
    /// `unix:///…/docker.sock`
    pub docker_host: String,
    pub registry: String,
}

/// Starts the harness once per test binary (the script itself is idempotent and
/// serialised with a lock, so test binaries running at once are fine).
pub fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let script = repo_root().join("scripts/buildkit-up");
        let output = Command::new("bash")
            .arg(&script)
            .output()
            .expect("run scripts/buildkit-up");
        assert!(
            output.status.success(),
            "scripts/buildkit-up failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let value = |name: &str| {
            stdout
                .lines()
                .find_map(|line| line.strip_prefix(&format!("export {name}=")))
                .unwrap_or_else(|| panic!("buildkit-up printed no {name}"))
                .to_string()
        };
        Harness {
            docker_host: value("DOCKER_HOST"),
            registry: value("CONVEYOR_REGISTRY"),
        }
    })
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn testdata(path: &str) -> PathBuf {
    repo_root().join("testdata").join(path)
}

/// The docker CLI from trixie's packages, pointed at the private daemon.
pub fn docker() -> Command {
    let mut command = Command::new("/usr/bin/docker");
    command.env("DOCKER_HOST", &harness().docker_host);
    command
}

/// Runs a docker command; panics with its output if it fails.
pub fn docker_ok(args: &[&str], dir: Option<&Path>) -> String {
    let mut command = docker();
    command.args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let output = command.output().expect("run docker");
    assert!(
        output.status.success(),
        "docker {} failed:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A name no other test run uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// conveyor's frontend image in the harness registry: `CONVEYOR_FRONTEND_IMAGE` when
/// scripts/test built it already, else built once here by scripts/frontend-image.
pub fn frontend_image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        if let Ok(image) = std::env::var("CONVEYOR_FRONTEND_IMAGE")
            && !image.is_empty()
        {
            return image;
        }
        harness();
        let script = repo_root().join("scripts/frontend-image");
        let output = Command::new("bash")
            .arg(&script)
            .output()
            .expect("run scripts/frontend-image");
        assert!(
            output.status.success(),
            "scripts/frontend-image failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .last()
            .expect("an image reference")
            .to_string()
    })
}

/// `docker buildx build ARGS` in `dir`: (success, stdout, stderr).
pub fn buildx(args: &[&str], dir: &Path) -> (bool, String, String) {
    let output = docker()
        .arg("buildx")
        .arg("build")
        .args(args)
        .current_dir(dir)
        .env("BUILDX_EXPERIMENTAL", "1")
        .output()
        .expect("run docker buildx build");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Every file, directory and symlink under `dir`: path → mode and content (a symlink's
/// target).
pub type Tree = std::collections::BTreeMap<String, (u32, Vec<u8>)>;

pub fn tree(dir: &Path) -> Tree {
    let mut out = std::collections::BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            let metadata = fs::symlink_metadata(&path).unwrap();
            let content = if metadata.file_type().is_symlink() {
                fs::read_link(&path)
                    .unwrap()
                    .into_os_string()
                    .into_encoded_bytes()
            } else if metadata.is_dir() {
                pending.push(path.clone());
                Vec::new()
            } else {
                fs::read(&path).unwrap()
            };
            let relative = path.strip_prefix(dir).unwrap().display().to_string();
            out.insert(relative, (metadata.permissions().mode() & 0o7777, content));
        }
    }
    out
}

/// Fails naming the paths (not the bytes) where `got` and the stock frontend's differ.
pub fn assert_same_tree(got: &Tree, stock: &Tree, what: &str) {
    let differing: Vec<String> = got
        .keys()
        .chain(stock.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|path| got.get(*path) != stock.get(*path))
        .map(|path| match (got.get(path), stock.get(path)) {
            (Some((mode, content)), Some((stock_mode, stock_content))) => format!(
                "{path}: mode {mode:o} vs {stock_mode:o}, {:?} vs {:?}",
                String::from_utf8_lossy(&content[..content.len().min(80)]),
                String::from_utf8_lossy(&stock_content[..stock_content.len().min(80)])
            ),
            (Some(_), None) => format!("{path}: only in {what}'s"),
            _ => format!("{path}: only in the stock frontend's"),
        })
        .collect();
    assert!(
        differing.is_empty(),
        "{what} differs from stock:\n{}",
        differing.join("\n")
    );
}
