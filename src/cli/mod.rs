//! The command line: `conveyor build` (a build on a daemon, the frontend run
//! client-side; with `--repo`, through the stages storage), `conveyor plan` (stages and
//! signatures, no daemon; with `--repo`, what the stages storage holds), `conveyor
//! explain` (why a stage is not reused), `conveyor llb` (the build's LLB Definition, no
//! daemon), `conveyor frontend` (run by BuildKit as a
//! `# syntax=` frontend) and `conveyor workers`.

mod build;
mod build_stages;
mod explain;
mod llb;
mod output;
mod plan;
mod plan_werf;
mod progress;
mod progress_json;
mod stages;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::buildkit::{Daemon, DaemonAddress};
use crate::gateway;

#[derive(Parser, Debug)]
#[command(
    name = "conveyor",
    version,
    about = "Builds Dockerfiles and werf stapel configs on BuildKit, storing every stage by its signature",
    after_help = EXIT_CODES
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

impl Args {
    /// `build --progress rawjson`: stderr is to hold only JSON lines, failures too.
    pub fn rawjson_progress(&self) -> bool {
        matches!(
            self.command,
            Command::Build {
                progress: progress::ProgressMode::Rawjson,
                ..
            }
        )
    }
}

/// How a failure is written on stderr: `conveyor: <message>`, or under rawjson progress
/// that text as a `{"conveyor": …}` line (clap's own usage errors come before this and
/// stay plain).
pub fn failure_line(rawjson: bool, message: &str) -> String {
    let line = format!("conveyor: {message}");
    if rawjson {
        progress_json::note_line(&line)
    } else {
        line
    }
}

const EXIT_CODES: &str = "Exit codes: 0 success, 1 build or daemon failure (a step failed, the daemon is unreachable), 2 bad input or usage (flags, build file, context, unknown target).";

const BUILD_HELP: &str = "Examples:
  conveyor build .                                      # Docker Engine at DOCKER_HOST, image kept untagged
  conveyor build -t app:dev --target app .              # tagged in Docker Engine's image store
  conveyor build -t 127.0.0.1:5000/app:1 --push .       # pushed to a registry
  conveyor build -f build/Dockerfile --build-arg VERSION=2 --platform linux/amd64 .
  conveyor build --output type=local,dest=out .         # the result's files, into ./out
  conveyor build --output type=tar,dest=app.tar .       # the result's files, as a tar archive
  conveyor build --secret id=token,src=token.txt .      # RUN --mount=type=secret,id=token
  conveyor build --ssh default .                        # RUN --mount=type=ssh, via $SSH_AUTH_SOCK
  conveyor build --build-context src=../lib .           # FROM src / COPY --from=src read ../lib
  conveyor build --addr unix:///run/buildkit/buildkitd.sock -t reg/app:1 --push .
  conveyor build -f werf.yaml --target app --env staging -t app:dev .  # a werf image

The image's digest is printed on stdout when the daemon reports one; progress and errors
go to stderr.

Exit codes: 0 success, 1 build or daemon failure (a step failed, the daemon is unreachable),
2 bad input or usage (flags, build file, context, unknown target).";

const LLB_HELP: &str = "Examples:
  conveyor llb . > def.pb
  buildctl build --local context=. --local dockerfile=. --output type=image,name=app < def.pb
  conveyor llb --format json --target app -f build/Dockerfile .

The Definition reads the context from the local source `context` without a session id:
the client that submits it attaches its session.

Exit codes: 0 success, 1 a base image cannot be resolved or stdout cannot be written,
2 bad input or usage (flags, build file, context, unknown target).";

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build on a BuildKit daemon (buildkitd or Docker Engine), running conveyor's
    /// frontend client-side: the context is uploaded through a session, the image
    /// goes to the daemon's image store, a registry, or back as files.
    #[command(after_help = BUILD_HELP)]
    Build {
        /// The build file (default: CONTEXT/Dockerfile, else CONTEXT/werf.yaml); a
        /// werf config is recognised by its name (werf.yaml, werf.yml) or content.
        #[arg(short = 'f', long = "file")]
        file: Option<PathBuf>,
        /// The stage to build (default: the last one).
        #[arg(long)]
        target: Option<String>,
        /// KEY=VALUE, or KEY to take the variable from the environment.
        #[arg(long = "build-arg", value_parser = plan::parse_build_arg)]
        build_args: Vec<(String, String)>,
        /// The target platform, as in linux/amd64 (default: the daemon's); several,
        /// comma-separated, build once each (a local or tar output gets a directory
        /// per platform; Docker Engine's classic image store takes one platform).
        #[arg(long)]
        platform: Option<String>,
        /// NAME=VALUE: FROM NAME, COPY --from=NAME and the stage named NAME read VALUE
        /// instead: a directory, docker-image://REF, a git URL or an http(s) URL
        /// (repeatable; as docker buildx build --build-context).
        #[arg(long = "build-context", value_parser = build::parse_build_context)]
        build_contexts: Vec<(String, String)>,
        /// Name the image (repeatable); on Docker Engine it is tagged in the image store.
        #[arg(short = 't', long = "tag")]
        tags: Vec<String>,
        /// Where the result goes: type=docker (Docker Engine's image store, the default
        /// there), type=registry (push), type=local,dest=DIR, type=tar,dest=FILE (`-`
        /// for stdout), or a bare DIR.
        #[arg(short = 'o', long, value_parser = output::parse_output)]
        output: Option<output::OutputSpec>,
        /// Push the image to the registry its -t name points at.
        #[arg(long)]
        push: bool,
        /// A secret for RUN --mount=type=secret: id=ID,src=PATH or id=ID,env=VAR
        /// (repeatable).
        #[arg(long = "secret", value_parser = crate::buildkit::parse_secret)]
        secrets: Vec<(String, crate::buildkit::SecretSource)>,
        /// Forward an ssh-agent for RUN --mount=type=ssh: `default` ($SSH_AUTH_SOCK),
        /// ID, or ID=SOCKET (repeatable). The build may list keys and sign, nothing more.
        #[arg(long = "ssh", value_parser = crate::buildkit::parse_ssh)]
        ssh_agents: Vec<(String, PathBuf)>,
        /// The stages storage: a registry repository (127.0.0.1:5000/app-stages) or
        /// `local` (Docker Engine's image store). Every stage found there by its
        /// signature is reused; the others are built one by one and stored as
        /// <repo>:<signature> before the result is exported.
        #[arg(long)]
        repo: Option<String>,
        /// werf's environment name, `.Env` in werf.yaml templates (passed to the
        /// frontend as the build arg CONVEYOR_WERF_ENV).
        #[arg(long, default_value = "")]
        env: String,
        /// Run every RUN, COPY and ADD again instead of taking them from the cache.
        #[arg(long)]
        no_cache: bool,
        /// How progress is shown on stderr.
        #[arg(long, value_enum, default_value = "auto")]
        progress: progress::ProgressMode,
        /// The daemon: unix://PATH or tcp://HOST:PORT (buildkitd), docker:// (Docker
        /// Engine at DOCKER_HOST), docker://unix:///PATH. Default: BUILDKIT_HOST, then
        /// Docker Engine.
        #[arg(long)]
        addr: Option<String>,
        /// The build context directory.
        #[arg(default_value = ".")]
        context: PathBuf,
    },
    /// Serve BuildKit's LLBBridge over stdin/stdout: the entrypoint of conveyor's
    /// frontend image, run by the daemon for `# syntax=<image>` build files.
    Frontend,
    /// Print the stages a build would run, in order, with each stage's signature and
    /// the inputs it is made of. Needs no daemon.
    #[command(
        after_help = "Examples:\n  conveyor plan .\n  conveyor plan -f build/Dockerfile --target app --build-arg VERSION=2 --format json ."
    )]
    Plan {
        /// The build file (default: CONTEXT/Dockerfile, else CONTEXT/werf.yaml); a
        /// werf config is recognised by its name (werf.yaml, werf.yml) or content.
        #[arg(short = 'f', long = "file")]
        file: Option<PathBuf>,
        /// The stage to build (default: the last one).
        #[arg(long)]
        target: Option<String>,
        /// KEY=VALUE, or KEY to take the variable from the environment.
        #[arg(long = "build-arg", value_parser = plan::parse_build_arg)]
        build_args: Vec<(String, String)>,
        /// The target platform.
        #[arg(long, default_value = "linux/amd64")]
        platform: String,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// The stages storage (a registry repository, or `local` for the daemon's image
        /// store at DOCKER_HOST): base images are resolved in their registry, and each
        /// stage is shown as reused, to build, or skipped.
        #[arg(long)]
        repo: Option<String>,
        /// werf's environment name, `.Env` in werf.yaml templates.
        #[arg(long, default_value = "")]
        env: String,
        /// The build context directory.
        #[arg(default_value = ".")]
        context: PathBuf,
    },
    /// Write the build's LLB Definition to stdout without a BuildKit daemon: binary
    /// protobuf (what `buildctl build` reads on stdin) or a readable JSON dump. Base
    /// images are resolved in Docker Engine's store at DOCKER_HOST, else their registry.
    #[command(after_help = LLB_HELP)]
    Llb {
        /// The build file (default: CONTEXT/Dockerfile, else CONTEXT/werf.yaml).
        #[arg(short = 'f', long = "file")]
        file: Option<PathBuf>,
        /// The stage (or werf image) to build (default: the last one).
        #[arg(long)]
        target: Option<String>,
        /// KEY=VALUE, or KEY to take the variable from the environment.
        #[arg(long = "build-arg", value_parser = plan::parse_build_arg)]
        build_args: Vec<(String, String)>,
        /// The target platform (default: linux/amd64).
        #[arg(long)]
        platform: Option<String>,
        #[arg(long, value_enum, default_value = "pb")]
        format: llb::LlbFormat,
        /// The build context directory.
        #[arg(default_value = ".")]
        context: PathBuf,
    },
    /// Say, per stage, whether the stages storage holds it ("reused") or which of its
    /// signature inputs changed since the newest stored image of the same stage.
    #[command(
        after_help = "Examples:\n  conveyor explain --repo 127.0.0.1:5000/app-stages .\n  conveyor explain --repo local --target app -f build/Dockerfile ."
    )]
    Explain {
        /// The build file (default: CONTEXT/Dockerfile).
        #[arg(short = 'f', long = "file")]
        file: Option<PathBuf>,
        /// The stage to build (default: the last one).
        #[arg(long)]
        target: Option<String>,
        /// KEY=VALUE, or KEY to take the variable from the environment.
        #[arg(long = "build-arg", value_parser = plan::parse_build_arg)]
        build_args: Vec<(String, String)>,
        /// The target platform.
        #[arg(long, default_value = "linux/amd64")]
        platform: String,
        /// The stages storage: a registry repository, or `local`.
        #[arg(long)]
        repo: String,
        /// The build context directory.
        #[arg(default_value = ".")]
        context: PathBuf,
    },
    /// List the daemon's workers and their platforms.
    #[command(
        after_help = "Examples:\n  conveyor workers --addr docker://\n  BUILDKIT_HOST=unix:///run/buildkit/buildkitd.sock conveyor workers"
    )]
    Workers {
        /// The daemon: unix://PATH or tcp://HOST:PORT (buildkitd), docker:// (Docker
        /// Engine at DOCKER_HOST), docker://unix:///PATH. Default: BUILDKIT_HOST, then
        /// Docker Engine.
        #[arg(long)]
        addr: Option<String>,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// A failure with the exit code it maps to.
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    fn input(message: impl ToString) -> Failure {
        Failure {
            code: 2,
            message: message.to_string(),
        }
    }

    fn build(message: impl ToString) -> Failure {
        Failure {
            code: 1,
            message: message.to_string(),
        }
    }
}

pub fn run(args: Args) -> Result<(), Failure> {
    if let Command::Plan {
        file,
        target,
        build_args,
        platform,
        format,
        repo,
        env,
        context,
    } = args.command
    {
        let request = plan::PlanRequest {
            spec: stages::BuildSpec {
                file,
                context,
                target,
                build_args: build_args.into_iter().collect(),
                platform,
            },
            repo,
            json: format == Format::Json,
            env,
        };
        print!("{}", plan::plan(&request)?);
        return Ok(());
    }
    if let Command::Explain {
        file,
        target,
        build_args,
        platform,
        repo,
        context,
    } = args.command
    {
        let spec = stages::BuildSpec {
            file,
            context,
            target,
            build_args: build_args.into_iter().collect(),
            platform,
        };
        print!("{}", explain::explain(&spec, &repo)?);
        return Ok(());
    }
    if let Command::Llb {
        file,
        target,
        build_args,
        platform,
        format,
        context,
    } = args.command
    {
        return llb::llb(&llb::LlbRequest {
            file,
            context,
            target,
            build_args,
            platform,
            format,
        });
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::build(format!("cannot start the async runtime: {error}")))?;
    runtime.block_on(async {
        match args.command {
            Command::Plan { .. } | Command::Explain { .. } | Command::Llb { .. } => {
                unreachable!("handled above")
            }
            Command::Build {
                file,
                target,
                build_args,
                platform,
                build_contexts,
                tags,
                output,
                push,
                secrets,
                ssh_agents,
                repo,
                env,
                no_cache,
                progress,
                addr,
                context,
            } => {
                let mut build_args = build_args;
                if !env.is_empty() {
                    build_args.push((gateway::WERF_ENV_ARG.to_string(), env));
                }
                build::build(build::BuildRequest {
                    repo,
                    file,
                    context,
                    target,
                    build_args,
                    platform,
                    build_contexts,
                    tags,
                    output,
                    push,
                    secrets,
                    ssh_agents,
                    no_cache,
                    progress,
                    addr,
                })
                .await
            }
            Command::Frontend => gateway::serve_stdio().await.map_err(Failure::build),
            Command::Workers { addr } => workers(addr.as_deref()).await,
        }
    })
}

async fn workers(addr: Option<&str>) -> Result<(), Failure> {
    let address = DaemonAddress::from_env(addr).map_err(Failure::input)?;
    let daemon = Daemon::connect(address).await.map_err(Failure::build)?;
    let workers = daemon.list_workers().await.map_err(Failure::build)?;
    let rows: Vec<(String, String)> = workers
        .iter()
        .map(|worker| {
            let platforms: Vec<String> = worker
                .platforms
                .iter()
                .map(|p| crate::llb::Platform::new(&p.os, &p.architecture, &p.variant).id())
                .collect();
            (worker.id.clone(), platforms.join(","))
        })
        .collect();
    let width = rows
        .iter()
        .map(|(id, _)| id.len())
        .max()
        .unwrap_or(0)
        .max(2);
    println!("{:<width$}  PLATFORMS", "ID");
    for (id, platforms) in rows {
        println!("{id:<width$}  {platforms}");
    }
    Ok(())
}
