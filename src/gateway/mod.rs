//! The frontend: the LLBBridge `Bridge` (stdio or daemon connection), the options
//! BuildKit passes, subrequests, the build itself, and its client-side run.

mod bridge;
mod build;
mod build_werf;
mod client;
mod frontend;
pub mod lowering;
mod nocache;
mod opts;
mod outline;
mod stored;
mod subrequests;
mod werf_files;
mod werf_git;

pub use bridge::{Bridge, ResolvedImage};
pub use build_werf::{WERF_ENV_ARG, frontend_commit};
pub use client::{ClientBuild, ClientBuildError, ClientSolved, solve_client_side};
pub use frontend::{BuildFile, FrontendError, FrontendResult, read_build_file, run, serve_stdio};
pub use opts::{FrontendOpts, GitCommit, HOST_DIRS, OptsError, parse_platform};
pub use stored::CONVEYOR_REPO;
