//! The command line: `conveyor plan` (stages and signatures, no daemon), `conveyor
//! frontend` (run by BuildKit as a `# syntax=` frontend) and `conveyor workers`.

mod plan;
mod plan_werf;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::buildkit::{Daemon, DaemonAddress};
use crate::gateway;

#[derive(Parser, Debug)]
#[command(
    name = "conveyor",
    version,
    about = "Builds Dockerfiles and werf stapel configs on BuildKit, storing every stage by its signature",
    after_help = "Exit codes: 0 success, 1 build or daemon failure, 2 bad input or usage."
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
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
        /// werf's environment name, `.Env` in werf.yaml templates.
        #[arg(long, default_value = "")]
        env: String,
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
        env,
        context,
    } = args.command
    {
        let request = plan::PlanRequest {
            file,
            context,
            target,
            build_args: build_args.into_iter().collect(),
            platform,
            json: format == Format::Json,
            env,
        };
        print!("{}", plan::plan(&request)?);
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::build(format!("cannot start the async runtime: {error}")))?;
    runtime.block_on(async {
        match args.command {
            Command::Plan { .. } => unreachable!("handled above"),
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
