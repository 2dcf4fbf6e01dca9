//! The docker CLI operations a parity case needs: build, inspect, export, print targets.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::RwLock;

use crate::common::docker;

use super::case::CaseSettings;
use super::config::{ImageConfig, image_config_from_inspect};
use super::history::{HistoryEntry, parse_history};
use super::listing::{Listing, read_listing};
use super::targets::{Target, parse_targets};

/// The frontend a build goes through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frontend {
    /// BuildKit's built-in Dockerfile frontend: the Dockerfile as written.
    Stock,
    /// A frontend image, named by a `# syntax=` line put before the Dockerfile.
    Image(String),
    /// `conveyor build` (this binary): conveyor's frontend run client-side, the
    /// Dockerfile as written.
    Cli(PathBuf),
}

impl Frontend {
    /// `CONVEYOR_FRONTEND_IMAGE`, or the stock frontend when it is unset or empty.
    pub fn under_test_from_env() -> Frontend {
        match std::env::var("CONVEYOR_FRONTEND_IMAGE") {
            Ok(image) if !image.trim().is_empty() => Frontend::Image(image.trim().to_string()),
            _ => Frontend::Stock,
        }
    }

    /// The Dockerfile this frontend is handed. A `# syntax=` line goes first; parser
    /// directives are the comment lines at the top, so an `# escape=` line of the case
    /// stays a directive after it.
    pub fn dockerfile(&self, as_written: &str) -> String {
        match self {
            Frontend::Stock | Frontend::Cli(_) => as_written.to_string(),
            Frontend::Image(image) => format!("# syntax={image}\n{as_written}"),
        }
    }

    /// How many lines `dockerfile` put before the Dockerfile as written.
    pub fn prepended_lines(&self) -> u64 {
        match self {
            Frontend::Stock | Frontend::Cli(_) => 0,
            Frontend::Image(_) => 1,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Frontend::Stock => "the stock frontend".to_string(),
            Frontend::Image(image) => format!("frontend image {image}"),
            Frontend::Cli(binary) => format!("{} build", binary.display()),
        }
    }

    /// `--print=targets` is a buildx flag; through `conveyor build` there is none to
    /// compare (the frontend's answer is compared in the frontend-image mode).
    pub fn prints_targets(&self) -> bool {
        !matches!(self, Frontend::Cli(_))
    }

    /// The conveyor binary that builds, for `Frontend::Cli`.
    pub fn cli_binary(&self) -> Option<&Path> {
        match self {
            Frontend::Cli(binary) => Some(binary),
            _ => None,
        }
    }
}

/// Whether a build may reuse BuildKit's cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cache {
    Use,
    /// `--no-cache`: every step runs again.
    Ignore,
}

pub struct BuildRequest<'a> {
    pub dockerfile: &'a Path,
    pub context: &'a Path,
    pub case_dir: &'a Path,
    pub settings: &'a CaseSettings,
    /// Build args the test adds to the case's own (the prebuilt base's reference).
    pub extra_build_args: &'a [(String, String)],
    /// The private key behind every `ssh` id of the case.
    pub ssh_key: Option<&'a Path>,
    pub tag: &'a str,
    pub cache: Cache,
    /// Build with this `conveyor` binary's `build` instead of `docker buildx build`.
    pub cli: Option<&'a Path>,
}

/// Held shared by every build and exclusively by every removal. The parity tests run
/// side by side and build the same cases, and a deterministic build makes the same
/// image ID in both: removing one test's tag while the other's build was writing and
/// naming that image deleted the image under it ("failed to get digest", or "No such
/// image" right after the build). A removal now waits for the builds in flight, and then
/// only untags an image another tag holds.
static IMAGE_STORE: RwLock<()> = RwLock::new(());

/// `docker buildx build --load`, or `conveyor build` when the request says; the error
/// carries the end of the build log.
pub fn build(request: &BuildRequest) -> Result<(), String> {
    let _building = IMAGE_STORE
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(binary) = request.cli {
        return build_with_cli(request, binary);
    }
    let mut command = docker();
    command.args([
        "buildx",
        "build",
        "--progress=plain",
        "--load",
        "-t",
        request.tag,
    ]);
    add_case_flags(&mut command, request);
    if let Some(target) = &request.settings.target {
        command.args(["--target", target]);
    }
    for secret in &request.settings.secrets {
        let src = request.case_dir.join(&secret.src);
        command.arg("--secret");
        command.arg(format!("id={},src={}", secret.id, src.display()));
    }
    for id in &request.settings.ssh {
        let key = request
            .ssh_key
            .ok_or_else(|| format!("ssh id {id}: the test made no key"))?;
        command.arg("--ssh").arg(format!("{id}={}", key.display()));
    }
    if request.cache == Cache::Ignore {
        command.arg("--no-cache");
    }
    command.arg(request.context);
    run(command, "docker buildx build").map(drop)
}

/// `conveyor build -t TAG` with the flags `docker buildx build` gets.
fn build_with_cli(request: &BuildRequest, binary: &Path) -> Result<(), String> {
    let mut command = Command::new(binary);
    command.env("DOCKER_HOST", &crate::common::harness().docker_host);
    command.env_remove("BUILDKIT_HOST");
    command.args(["build", "--progress=plain", "-t", request.tag]);
    add_case_flags(&mut command, request);
    if let Some(target) = &request.settings.target {
        command.args(["--target", target]);
    }
    for secret in &request.settings.secrets {
        let src = request.case_dir.join(&secret.src);
        command.arg("--secret");
        command.arg(format!("id={},src={}", secret.id, src.display()));
    }
    if request.cache == Cache::Ignore {
        command.arg("--no-cache");
    }
    // conveyor forwards agents, not key files: an agent of the case's own holds the key.
    let agent = match request.settings.ssh.is_empty() {
        true => None,
        false => {
            let key = request
                .ssh_key
                .ok_or("the case uses ssh and the test made no key")?;
            Some(SshAgent::start(key)?)
        }
    };
    for id in &request.settings.ssh {
        let socket = &agent.as_ref().expect("started above").socket;
        command
            .arg("--ssh")
            .arg(format!("{id}={}", socket.display()));
    }
    command.arg(request.context);
    run(command, "conveyor build").map(drop)
}

/// `ssh-agent -D` on a socket beside the key, holding the key; stopped when dropped.
struct SshAgent {
    process: std::process::Child,
    socket: PathBuf,
}

impl SshAgent {
    fn start(key: &Path) -> Result<SshAgent, String> {
        let socket = key.with_extension("agent.sock");
        let _ = std::fs::remove_file(&socket);
        let process = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .spawn()
            .map_err(|error| format!("run ssh-agent: {error}"))?;
        let agent = SshAgent { process, socket };
        for _ in 0..100 {
            if agent.socket.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let mut add = Command::new("ssh-add");
        add.arg("-q").arg(key).env("SSH_AUTH_SOCK", &agent.socket);
        run(add, "ssh-add")?;
        Ok(agent)
    }
}

impl Drop for SshAgent {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// `BUILDX_EXPERIMENTAL=1 docker buildx build --print=targets,format=json`: the targets
/// the frontend reports for the Dockerfile (buildx 0.13 keeps `--print` experimental).
pub fn print_targets(request: &BuildRequest, frontend: &Frontend) -> Result<Vec<Target>, String> {
    let mut command = docker();
    command.env("BUILDX_EXPERIMENTAL", "1");
    command.args([
        "buildx",
        "build",
        "--progress=plain",
        "--print=targets,format=json",
    ]);
    add_case_flags(&mut command, request);
    command.arg(request.context);
    let json = run(command, "docker buildx build --print=targets")?;
    parse_targets(&json, frontend.prepended_lines())
}

fn add_case_flags(command: &mut Command, request: &BuildRequest) {
    command.arg("-f").arg(request.dockerfile);
    let case_args = request
        .settings
        .build_args
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()));
    let extra_args = request
        .extra_build_args
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()));
    for (name, value) in case_args.chain(extra_args) {
        command.arg("--build-arg").arg(format!("{name}={value}"));
    }
}

pub fn inspect_config(image: &str) -> Result<ImageConfig, String> {
    let mut command = docker();
    command.args(["image", "inspect", image]);
    image_config_from_inspect(&run(command, "docker image inspect")?)
}

pub fn history(image: &str) -> Result<Vec<HistoryEntry>, String> {
    let mut command = docker();
    command.args(["history", "--no-trunc", "--format", "{{json .}}", image]);
    parse_history(&run(command, "docker history")?)
}

/// The image's filesystem through `docker create` + `docker export`.
///
/// The container is created with `--workdir /`: `docker create` makes the image's
/// WORKDIR in the container layer when it is missing, which would hide an image under
/// test that lacks it. What `docker create` adds itself (its init layer: `/.dockerenv`,
/// `/dev/{console,pts,shm}`, `/etc/{hostname,hosts,resolv.conf,mtab}`, `/proc`, `/sys`)
/// is the same for both images and stays in the listing; image content at those paths
/// is hidden by it. A command is given because an image without CMD (scratch) cannot be
/// created without one; the container never starts.
pub fn export_listing(image: &str) -> Result<Listing, String> {
    let mut create = docker();
    create.args(["create", "--workdir", "/", image, "/parity-export-only"]);
    let container = run(create, "docker create")?.trim().to_string();
    let listing = export_container(&container);
    let mut remove = docker();
    remove.args(["rm", "-v", &container]);
    run(remove, "docker rm")?;
    listing
}

fn export_container(container: &str) -> Result<Listing, String> {
    let mut export = docker();
    export
        .args(["export", container])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = export
        .spawn()
        .map_err(|error| format!("run docker export: {error}"))?;
    let listing = read_listing(child.stdout.take().expect("piped stdout"));
    let output = child
        .wait_with_output()
        .map_err(|error| format!("wait for docker export: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "docker export failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    listing.map_err(|error| format!("read the exported tar: {error}"))
}

/// A passphrase-less ed25519 key pair at `path` and `path.pub`, for `--ssh`.
pub fn make_ssh_key(path: &Path) -> Result<(), String> {
    let mut command = Command::new("ssh-keygen");
    command.args(["-q", "-t", "ed25519", "-N", "", "-C", "parity", "-f"]);
    command.arg(path);
    run(command, "ssh-keygen").map(drop)
}

/// Tags and pushes a local image; the registry is the harness's, on 127.0.0.1.
pub fn push(image: &str) -> Result<(), String> {
    let mut command = docker();
    command.args(["push", "-q", image]);
    run(command, "docker push").map(drop)
}

/// Best effort: a leftover image costs disk, not correctness.
pub fn remove_image(image: &str) {
    let _removing = IMAGE_STORE
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let _ = docker().args(["rmi", image]).output();
}

/// Runs to completion; stdout on success, the command and the end of its output otherwise.
fn run(mut command: Command, what: &str) -> Result<String, String> {
    let output = command
        .output()
        .map_err(|error| format!("run {what}: {error}"))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n");
    Err(format!("{what} failed ({}):\n{tail}", output.status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_under_test_is_named_by_a_syntax_line_before_the_directives() {
        let frontend = Frontend::Image("127.0.0.1:5000/conveyor:dev".into());
        assert_eq!(
            frontend.dockerfile("# escape=`\nFROM scratch\n"),
            "# syntax=127.0.0.1:5000/conveyor:dev\n# escape=`\nFROM scratch\n"
        );
        assert_eq!(frontend.prepended_lines(), 1);
        assert_eq!(
            Frontend::Stock.dockerfile("FROM scratch\n"),
            "FROM scratch\n"
        );
        assert_eq!(Frontend::Stock.prepended_lines(), 0);
    }
}
