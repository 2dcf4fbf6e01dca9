//! The Auth service: registry credentials for the daemon's pulls and pushes, from the
//! user's `~/.docker/config.json` (`$DOCKER_CONFIG/config.json`) — inline `auths`
//! entries, `credHelpers` and `credsStore` (`docker-credential-<name> get`), as the
//! docker CLI and buildx read them. There is no token authority: like buildx without
//! token keys, conveyor answers `Unimplemented` and the daemon fetches tokens itself
//! with the credentials.

use tonic::{Request, Response, Status};

use crate::proto::moby::filesync::v1::auth_server::Auth;
use crate::proto::moby::filesync::v1::{
    CredentialsRequest, CredentialsResponse, FetchTokenRequest, FetchTokenResponse,
    GetTokenAuthorityRequest, GetTokenAuthorityResponse, VerifyTokenAuthorityRequest,
    VerifyTokenAuthorityResponse,
};
use crate::registry::{Credentials, DockerConfig};

pub struct AuthService {
    pub config: DockerConfig,
}

#[tonic::async_trait]
impl Auth for AuthService {
    async fn credentials(
        &self,
        request: Request<CredentialsRequest>,
    ) -> Result<Response<CredentialsResponse>, Status> {
        let host = request.into_inner().host;
        let config = self.config.clone();
        let credentials = tokio::task::spawn_blocking(move || config.credentials(&host))
            .await
            .map_err(|error| Status::internal(error.to_string()))?
            .map_err(Status::internal)?;
        // BuildKit's form: a user and password, or an identity token with no user.
        let (username, secret) = match credentials {
            Credentials::Anonymous => (String::new(), String::new()),
            Credentials::Basic { username, password } => (username, password),
            Credentials::IdentityToken(token) => (String::new(), token),
        };
        Ok(Response::new(CredentialsResponse { username, secret }))
    }

    async fn fetch_token(
        &self,
        _request: Request<FetchTokenRequest>,
    ) -> Result<Response<FetchTokenResponse>, Status> {
        Err(Status::unimplemented("conveyor has no token authority"))
    }

    async fn get_token_authority(
        &self,
        _request: Request<GetTokenAuthorityRequest>,
    ) -> Result<Response<GetTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("conveyor has no token authority"))
    }

    async fn verify_token_authority(
        &self,
        _request: Request<VerifyTokenAuthorityRequest>,
    ) -> Result<Response<VerifyTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("conveyor has no token authority"))
    }
}
