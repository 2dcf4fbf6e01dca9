//! The Secrets service: `RUN --mount=type=secret,id=ID` reads the secret the user
//! named with `--secret id=ID,src=PATH` or `--secret id=ID,env=VAR`. The value is read
//! when the daemon asks for it and goes nowhere but into the reply.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::proto::moby::buildkit::secrets::v1::secrets_server::Secrets;
use crate::proto::moby::buildkit::secrets::v1::{GetSecretRequest, GetSecretResponse};

/// Where a secret's value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    File(PathBuf),
    Env(String),
    /// A value written in the build file itself (werf's `secrets: - value:`).
    Value(String),
}

/// Parses `id=ID,src=PATH`, `id=ID,env=VAR` (also `source=`, `type=file|env`, and a
/// bare `id=ID` meaning the environment variable `ID`, as buildx does).
pub fn parse_secret(text: &str) -> Result<(String, SecretSource), String> {
    let mut id = None;
    let mut kind = None;
    let mut src = None;
    let mut env = None;
    for field in text.split(',') {
        let (key, value) = field.split_once('=').ok_or_else(|| {
            format!(
                "invalid secret {text:?}: expected key=value fields, as in id=token,src=token.txt"
            )
        })?;
        match key.trim().to_ascii_lowercase().as_str() {
            "id" => id = Some(value.to_string()),
            "type" => kind = Some(value.to_string()),
            "src" | "source" => src = Some(value.to_string()),
            "env" => env = Some(value.to_string()),
            other => {
                return Err(format!(
                    "invalid secret {text:?}: unknown field {other:?} (expected id, src, env, type)"
                ));
            }
        }
    }
    let id = id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| format!("invalid secret {text:?}: id=… is required"))?;
    let source = match (kind.as_deref(), src, env) {
        (Some("env"), Some(var), None) | (_, None, Some(var)) => SecretSource::Env(var),
        (Some("file") | None, Some(path), None) => SecretSource::File(PathBuf::from(path)),
        (Some("env"), None, None) => SecretSource::Env(id.clone()),
        (None, None, None) => SecretSource::Env(id.clone()),
        (Some("file"), None, None) => SecretSource::File(PathBuf::from(&id)),
        (Some(other), _, _) if other != "env" && other != "file" => {
            return Err(format!(
                "invalid secret {text:?}: type must be file or env, not {other:?}"
            ));
        }
        _ => {
            return Err(format!(
                "invalid secret {text:?}: give either src=PATH or env=VAR"
            ));
        }
    };
    Ok((id, source))
}

pub struct SecretsService {
    pub secrets: Arc<BTreeMap<String, SecretSource>>,
}

#[tonic::async_trait]
impl Secrets for SecretsService {
    async fn get_secret(
        &self,
        request: Request<GetSecretRequest>,
    ) -> Result<Response<GetSecretResponse>, Status> {
        let id = request.into_inner().id;
        let not_found = || Status::not_found(format!("secret {id} not found"));
        let data = match self.secrets.get(&id).ok_or_else(not_found)? {
            SecretSource::File(path) => tokio::fs::read(path).await.map_err(|error| {
                Status::not_found(format!(
                    "secret {id}: cannot read {}: {error}",
                    path.display()
                ))
            })?,
            SecretSource::Env(var) => std::env::var_os(var)
                .map(|value| value.into_encoded_bytes())
                .ok_or_else(|| {
                    Status::not_found(format!(
                        "secret {id}: environment variable {var} is not set"
                    ))
                })?,
            SecretSource::Value(value) => value.clone().into_bytes(),
        };
        Ok(Response::new(GetSecretResponse { data }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_buildx_takes() {
        assert_eq!(
            parse_secret("id=tok,src=/run/tok.txt").unwrap(),
            ("tok".into(), SecretSource::File("/run/tok.txt".into()))
        );
        assert_eq!(
            parse_secret("id=tok,env=TOKEN").unwrap(),
            ("tok".into(), SecretSource::Env("TOKEN".into()))
        );
        assert_eq!(
            parse_secret("type=file,id=a,source=x").unwrap(),
            ("a".into(), SecretSource::File("x".into()))
        );
        assert_eq!(
            parse_secret("id=GH_TOKEN").unwrap(),
            ("GH_TOKEN".into(), SecretSource::Env("GH_TOKEN".into()))
        );
        assert_eq!(
            parse_secret("src=x").unwrap_err(),
            "invalid secret \"src=x\": id=… is required"
        );
        assert_eq!(
            parse_secret("id=a,src=x,env=Y").unwrap_err(),
            "invalid secret \"id=a,src=x,env=Y\": give either src=PATH or env=VAR"
        );
        assert_eq!(
            parse_secret("id=a,mode=0400").unwrap_err(),
            "invalid secret \"id=a,mode=0400\": unknown field \"mode\" (expected id, src, env, type)"
        );
    }
}
