//! The frontend: the LLBBridge `Bridge` (stdio or daemon connection), the options
//! BuildKit passes, subrequests, and the build itself.

mod bridge;
mod build;
mod build_werf;
mod frontend;
mod opts;
mod subrequests;

pub use bridge::{Bridge, ResolvedImage};
pub use frontend::{BuildFile, FrontendError, FrontendResult, read_build_file, run, serve_stdio};
pub use opts::{FrontendOpts, OptsError, parse_platform};
