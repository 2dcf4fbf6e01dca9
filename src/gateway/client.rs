//! The frontend run client-side, as buildctl and buildx run frontends: a
//! `Control.Solve` with no Definition and no Frontend makes the daemon wait for the
//! client's LLBBridge calls (tagged with the solve's build id), and the same `run`
//! the frontend image executes drives the build from here. The daemon exports what
//! `Return` hands it and the Solve answers with the exporter's response.

use std::collections::BTreeMap;

use crate::buildkit::{BuildProgress, BuildkitError, Daemon, SolveRequest};
use crate::proto::moby::buildkit::v1::{Exporter, StatusResponse};

use super::bridge::Bridge;
use super::frontend::{FrontendError, return_outcome, run};
use super::opts::FrontendOpts;

/// One client-side build: the frontend options (`filename`, `target`,
/// `build-arg:*`, `platform`, …, as BuildKit passes them to a frontend) and where the
/// result goes.
#[derive(Clone, Debug, Default)]
pub struct ClientBuild {
    pub frontend_attrs: BTreeMap<String, String>,
    pub exporters: Vec<Exporter>,
    /// The session serving the `context` and `dockerfile` locals (and secrets, auth,
    /// outputs).
    pub session_id: String,
}

/// What a finished build answered.
#[derive(Debug)]
pub struct ClientSolved {
    /// The exporters' response: `containerimage.digest`, `image.name`, …
    pub exporter_response: BTreeMap<String, String>,
    pub progress: BuildProgress,
}

/// Why a client-side build failed: in the build input (rendered with file, line and
/// column) or in the daemon.
#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    #[error(transparent)]
    Frontend(#[from] FrontendError),
    #[error(transparent)]
    Daemon(#[from] BuildkitError),
}

/// Runs the frontend client-side for `build` on `daemon`, reporting the daemon's
/// status batches to `on_status` as they arrive.
pub async fn solve_client_side(
    daemon: &Daemon,
    build: ClientBuild,
    on_status: impl FnMut(&StatusResponse),
) -> Result<ClientSolved, ClientBuildError> {
    let opts = FrontendOpts::from_wire(&build.frontend_attrs, &build.session_id)
        .map_err(FrontendError::from)?;
    let build_ref = uuid::Uuid::new_v4().simple().to_string();
    let request = SolveRequest {
        r#ref: build_ref.clone(),
        session: build.session_id.clone(),
        frontend: String::new(),
        definition: None,
        frontend_attrs: build.frontend_attrs,
        exporters: build.exporters,
        ..Default::default()
    };
    let bridge = Bridge::on_daemon(daemon, &build_ref);
    let solve = daemon.solve(request, on_status);
    let frontend = async {
        let outcome = run(&bridge, &opts).await;
        return_outcome(&bridge, outcome).await
    };
    tokio::pin!(solve, frontend);
    // The Solve only ends once the frontend has returned; if it ends first the daemon
    // failed on its own.
    let returned = tokio::select! {
        returned = &mut frontend => returned,
        solved = &mut solve => {
            let (exporter_response, progress) = solved?;
            return Ok(ClientSolved { exporter_response, progress });
        }
    };
    match returned {
        // The result was handed over: the daemon exports it now.
        Ok(None) => {
            let (exporter_response, progress) = solve.await?;
            Ok(ClientSolved {
                exporter_response,
                progress,
            })
        }
        // The frontend's own error, returned to the daemon too, is what the user
        // should read (it carries file:line:col); the daemon's copy is dropped.
        Ok(Some(error)) => {
            let _ = solve.await;
            Err(error.into())
        }
        // Return itself failed: the daemon will not end the Solve; dropping the call
        // cancels the build.
        Err(error) => Err(error.into()),
    }
}
