//! `conveyor build`: a build on a BuildKit daemon with the frontend run client-side.
//! The session serves the context and the build file's directory (and secrets,
//! registry credentials, file outputs); the same frontend code as the frontend image
//! drives the build over the daemon's LLBBridge; the Solve's exporters put the image
//! in the image store, push it, or send files back.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::buildkit::{
    Daemon, DaemonAddress, Endpoint, OutputTarget, SecretSource, Session, SessionServices,
    push_to_registry, registry_host,
};
use crate::gateway::{self, ClientBuild, ClientBuildError, ClientSolved, FrontendError};
use crate::proto::moby::buildkit::v1::Exporter;
use crate::registry::DockerConfig;

use super::Failure;
use super::output::{self, OutputSpec};
use super::progress::{Progress, ProgressMode};

/// What `build` was asked.
pub struct BuildRequest {
    pub file: Option<PathBuf>,
    pub context: PathBuf,
    pub target: Option<String>,
    pub build_args: Vec<(String, String)>,
    pub platform: Option<String>,
    /// `--build-context NAME=VALUE`, as given.
    pub build_contexts: Vec<(String, String)>,
    pub tags: Vec<String>,
    pub output: Option<OutputSpec>,
    pub push: bool,
    pub secrets: Vec<(String, SecretSource)>,
    pub ssh_agents: Vec<(String, PathBuf)>,
    pub no_cache: bool,
    pub progress: ProgressMode,
    pub addr: Option<String>,
    /// `--repo`: build stage by stage through the stages storage.
    pub repo: Option<String>,
}

/// Where a build's files are and the frontend options every target shares.
pub struct BuildInput {
    pub context_dir: PathBuf,
    pub dockerfile_dir: PathBuf,
    /// Directories of `--build-context NAME=DIR`, by the session name they go under.
    pub named_dirs: BTreeMap<String, PathBuf>,
    /// `filename`, `build-arg:*`, `platform`, `no-cache`: the options BuildKit would
    /// pass a frontend, without `target`.
    pub frontend_attrs: BTreeMap<String, String>,
}

impl BuildInput {
    /// Checks the context and build file exist before anything talks to the daemon.
    pub fn new(request: &BuildRequest) -> Result<BuildInput, Failure> {
        let context_dir = std::fs::canonicalize(&request.context).map_err(|error| {
            Failure::input(format!(
                "cannot use build context {}: {error}",
                request.context.display()
            ))
        })?;
        if !context_dir.is_dir() {
            return Err(Failure::input(format!(
                "build context {} is not a directory",
                request.context.display()
            )));
        }
        let file = request
            .file
            .clone()
            .unwrap_or_else(|| super::stages::default_build_file(&request.context));
        let metadata = std::fs::metadata(&file).map_err(|error| {
            Failure::input(format!(
                "cannot read build file {}: {error}",
                file.display()
            ))
        })?;
        if !metadata.is_file() {
            return Err(Failure::input(format!(
                "build file {} is not a file",
                file.display()
            )));
        }
        let file = std::fs::canonicalize(&file).map_err(|error| {
            Failure::input(format!(
                "cannot read build file {}: {error}",
                file.display()
            ))
        })?;
        let dockerfile_dir = file.parent().unwrap_or(Path::new("/")).to_path_buf();
        let filename = file
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| {
                Failure::input(format!("build file name {} is not UTF-8", file.display()))
            })?
            .to_string();
        let mut frontend_attrs = BTreeMap::from([("filename".to_string(), filename)]);
        for (key, value) in &request.build_args {
            frontend_attrs.insert(format!("build-arg:{key}"), value.clone());
        }
        if request.no_cache {
            frontend_attrs.insert("no-cache".to_string(), String::new());
        }
        if let Some(platform) = &request.platform {
            let platforms: Vec<&str> = platform.split(',').collect();
            for one in &platforms {
                gateway::parse_platform(one).map_err(Failure::input)?;
            }
            if platforms.len() > 1 && request.repo.is_some() {
                return Err(Failure::input(
                    "--platform with several platforms cannot be used with --repo: stages are stored for one platform",
                ));
            }
            frontend_attrs.insert("platform".to_string(), platform.clone());
        }
        let mut named_dirs = BTreeMap::new();
        for (name, value) in &request.build_contexts {
            let value = if is_named_context_url(value) {
                value.clone()
            } else {
                // A directory, sent over the session under its own name, as buildx does.
                let dir = std::fs::canonicalize(value)
                    .ok()
                    .filter(|dir| dir.is_dir())
                    .ok_or_else(|| {
                        Failure::input(format!(
                            "--build-context {name}={value}: not a directory, docker-image://, git or http(s) URL"
                        ))
                    })?;
                let local_name = format!("context-{name}");
                named_dirs.insert(local_name.clone(), dir);
                format!("local:{local_name}")
            };
            frontend_attrs.insert(format!("context:{name}"), value);
        }
        Ok(BuildInput {
            context_dir,
            dockerfile_dir,
            named_dirs,
            frontend_attrs,
        })
    }

    /// The session's directories: the context and the build file's directory.
    fn dirs(&self) -> BTreeMap<String, PathBuf> {
        let mut dirs = self.named_dirs.clone();
        dirs.insert("context".to_string(), self.context_dir.clone());
        dirs.insert("dockerfile".to_string(), self.dockerfile_dir.clone());
        dirs
    }

    /// Keys the daemon's cache of earlier uploads of this context (metadata must be
    /// ASCII, paths need not be).
    fn shared_key(&self) -> String {
        let digest = Sha256::digest(self.context_dir.as_os_str().as_encoded_bytes());
        hex::encode(&digest[..16])
    }
}

/// `--build-context NAME=VALUE`: NAME must be a name a Dockerfile can use.
pub fn parse_build_context(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() && !value.is_empty() => {
            Ok((name.to_string(), value.to_string()))
        }
        _ => Err(format!(
            "invalid build context {text:?}: expected NAME=VALUE"
        )),
    }
}

/// A `--build-context` value the daemon fetches itself rather than a directory.
fn is_named_context_url(value: &str) -> bool {
    [
        "docker-image://",
        "git://",
        "http://",
        "https://",
        "oci-layout://",
    ]
    .iter()
    .any(|scheme| value.starts_with(scheme))
}

/// Opens the session a build (or several, one per stage) runs with.
pub async fn open_session(
    daemon: &Daemon,
    input: &BuildInput,
    secrets: Vec<(String, SecretSource)>,
    ssh_agents: Vec<(String, PathBuf)>,
    output: Option<OutputTarget>,
) -> Result<Session, Failure> {
    let auth = DockerConfig::load().map_err(Failure::input)?;
    let services = SessionServices {
        dirs: input.dirs(),
        secrets: secrets.into_iter().collect(),
        output,
        auth,
        ssh_agents: ssh_agents.into_iter().collect(),
    };
    let name = input
        .context_dir
        .file_name()
        .and_then(|name| name.to_str())
        .filter(|name| name.is_ascii())
        .unwrap_or("context");
    Session::start(daemon, name, &input.shared_key(), services)
        .await
        .map_err(Failure::build)
}

/// Builds `target` (the build file's last stage when `None`) with the session's
/// files, exporting it as `exporters` say. The per-build unit: a stage-by-stage build
/// calls it once per stage with that stage's exporters.
pub async fn build_target<W: std::io::Write>(
    daemon: &Daemon,
    session: &Session,
    input: &BuildInput,
    target: Option<&str>,
    exporters: Vec<Exporter>,
    progress: &mut Progress<W>,
) -> Result<ClientSolved, Failure> {
    let mut frontend_attrs = input.frontend_attrs.clone();
    if let Some(target) = target {
        frontend_attrs.insert("target".to_string(), target.to_string());
    }
    solve_with_attrs(daemon, session, frontend_attrs, exporters, progress).await
}

/// One client-side frontend run with these frontend options and exporters.
pub async fn solve_with_attrs<W: std::io::Write>(
    daemon: &Daemon,
    session: &Session,
    frontend_attrs: BTreeMap<String, String>,
    exporters: Vec<Exporter>,
    progress: &mut Progress<W>,
) -> Result<ClientSolved, Failure> {
    solve_with_status(daemon, session, frontend_attrs, exporters, |status| {
        progress.update(status)
    })
    .await
}

/// [`solve_with_attrs`] handing each status batch to `on_status` — for solves that run
/// at once and share one progress display.
pub async fn solve_with_status(
    daemon: &Daemon,
    session: &Session,
    frontend_attrs: BTreeMap<String, String>,
    exporters: Vec<Exporter>,
    on_status: impl FnMut(&crate::proto::moby::buildkit::v1::StatusResponse),
) -> Result<ClientSolved, Failure> {
    let build = ClientBuild {
        frontend_attrs,
        exporters,
        session_id: session.id().to_string(),
    };
    gateway::solve_client_side(daemon, build, on_status)
        .await
        .map_err(|error| match error {
            ClientBuildError::Frontend(
                error @ (FrontendError::Input(_)
                | FrontendError::Opts(_)
                | FrontendError::ReadBuildFile { .. }),
            ) => Failure::input(error),
            other => Failure::build(other),
        })
}

/// `conveyor build`.
pub async fn build(mut request: BuildRequest) -> Result<(), Failure> {
    // Resolved once, so the stage-by-stage build reads the same file.
    request.file = Some(
        request
            .file
            .take()
            .unwrap_or_else(|| super::stages::default_build_file(&request.context)),
    );
    if request.repo.is_some() && !request.build_contexts.is_empty() {
        // The stages storage signs what a stage reads; a named context has no
        // signature here, and a stage read from the wrong one must never be reused.
        return Err(Failure::input(
            "--build-context cannot be used with --repo: stages read from a named context have no signature to store them by",
        ));
    }
    let input = BuildInput::new(&request)?;
    let address = DaemonAddress::from_env(request.addr.as_deref()).map_err(Failure::input)?;
    let exports = output::exporters(
        &address,
        request.output.as_ref(),
        &request.tags,
        request.push,
    )
    .map_err(Failure::input)?;
    let daemon = Daemon::connect(address.clone())
        .await
        .map_err(Failure::build)?;
    // A werf config's own `secrets:` and `ssh` are served too; a --secret or --ssh of
    // the same id wins.
    let mut secrets = request.secrets.clone();
    let mut ssh_agents = request.ssh_agents.clone();
    let file = request.file.as_deref().expect("resolved above");
    let build_args: BTreeMap<String, String> = request.build_args.iter().cloned().collect();
    let werf = super::stages::werf_session(file, &request.context, &build_args)?;
    for (id, source) in werf.secrets {
        if !secrets.iter().any(|(known, _)| *known == id) {
            secrets.push((id, source));
        }
    }
    for (id, socket) in werf.ssh_agents {
        if !ssh_agents.iter().any(|(known, _)| *known == id) {
            ssh_agents.push((id, socket));
        }
    }
    let session = open_session(&daemon, &input, secrets, ssh_agents, exports.output_target).await?;

    let mut progress = match request.progress {
        ProgressMode::Auto => Progress::new(std::io::stderr(), std::io::stderr().is_terminal()),
        ProgressMode::Tty => Progress::new(std::io::stderr(), true),
        ProgressMode::Plain => Progress::new(std::io::stderr(), false),
        ProgressMode::Rawjson => Progress::raw_json(std::io::stderr()),
    };
    let mut input = input;
    let stages = match &request.repo {
        Some(repo) => {
            let report =
                super::build_stages::build_missing_stages(super::build_stages::StagesBuild {
                    daemon: &daemon,
                    address: &address,
                    session: &session,
                    input: &input,
                    request: &request,
                    repo,
                    progress: &mut progress,
                })
                .await;
            match report {
                Ok(report) => {
                    // The result's stages are all stored now: the frontend takes them
                    // from the storage.
                    input.frontend_attrs.insert(
                        format!("build-arg:{}", gateway::CONVEYOR_REPO),
                        repo.clone(),
                    );
                    input
                        .frontend_attrs
                        .insert("conveyor.stored".into(), report.stored.clone());
                    Some(report)
                }
                Err(failure) => {
                    drop(session);
                    let elapsed = progress.elapsed().as_secs_f64();
                    progress.finish(&format!("failed after {elapsed:.1}s"));
                    return Err(failure);
                }
            }
        }
        None => None,
    };
    let solved = build_target(
        &daemon,
        &session,
        &input,
        request.target.as_deref(),
        exports.exporters,
        &mut progress,
    )
    .await;
    drop(session);
    let solved = match (solved, &address) {
        (Ok(solved), DaemonAddress::DockerEngine(endpoint)) if !exports.push_after.is_empty() => {
            push_tags(endpoint, &exports.push_after)
                .await
                .map(|()| solved)
        }
        (solved, _) => solved,
    };
    let elapsed = progress.elapsed().as_secs_f64();
    let (ran, cached) = progress.counts();
    match solved {
        Ok(solved) => {
            let mut summary = match &stages {
                Some(report) => format!(
                    "{} stages reused, {} built, in {elapsed:.1}s: {ran} steps run, {cached} cached",
                    report.reused.len(),
                    report.built.len()
                ),
                None => format!("built in {elapsed:.1}s: {ran} steps run, {cached} cached"),
            };
            if !request.tags.is_empty() {
                summary.push_str(&format!("; tagged {}", request.tags.join(", ")));
            }
            if request.push || request.output == Some(OutputSpec::Registry) {
                // buildkitd's exporter or the Engine push above did it.
                summary.push_str("; pushed");
            }
            progress.finish(&summary);
            if let Some(digest) = solved.exporter_response.get("containerimage.digest") {
                println!("{digest}");
            }
            Ok(())
        }
        Err(failure) => {
            progress.finish(&format!("failed after {elapsed:.1}s"));
            Err(failure)
        }
    }
}

/// Pushes each tag through Docker Engine, with the user's credentials for its registry.
pub(super) async fn push_tags(endpoint: &Endpoint, tags: &[String]) -> Result<(), Failure> {
    let config = DockerConfig::load().map_err(Failure::input)?;
    for tag in tags {
        let credentials = config
            .credentials(registry_host(tag))
            .map_err(Failure::input)?;
        // A push is idempotent; a registry under concurrent pushes of the same blobs
        // (two builds storing one stage) may answer 500 once: try again, twice at most.
        let mut attempt = 1;
        loop {
            match push_to_registry(endpoint, tag, &credentials).await {
                Ok(()) => break,
                Err(_) if attempt < 3 => {
                    tokio::time::sleep(std::time::Duration::from_millis(500 * attempt)).await;
                    attempt += 1;
                }
                Err(error) => return Err(Failure::build(error)),
            }
        }
    }
    Ok(())
}
