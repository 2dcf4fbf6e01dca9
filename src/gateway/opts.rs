//! The frontend options BuildKit passes (`filename`, `target`, `build-arg:*`,
//! `platform`, `context:*`, `requestid`, …), parsed once into types; nothing below
//! sees the raw map.

use std::collections::BTreeMap;

use crate::llb::Platform;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrontendOpts {
    /// The build file inside the `dockerfile` local (default `Dockerfile`).
    pub filename: String,
    pub target: Option<String>,
    pub build_args: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// Target platforms (`--platform`); empty means the worker's default.
    pub platforms: Vec<Platform>,
    /// `context:NAME` → `docker-image://…`, `local:NAME`, …
    pub named_contexts: BTreeMap<String, String>,
    /// A subrequest (`frontend.targets`, `frontend.outline`, …) instead of a build.
    pub request_id: Option<String>,
    pub no_cache: bool,
    /// `image.resolvemode` for bases: `default`, `pull` or `local`.
    pub image_resolve_mode: String,
    /// The local names of the context and of the build file's directory.
    pub context_local: String,
    pub dockerfile_local: String,
    /// The client's session, which serves the locals.
    pub session_id: String,
    /// `conveyor.stage`: build this stage (by position) instead of `target` — how
    /// `conveyor build --repo` builds one stage at a time, named stage or not.
    pub stage: Option<usize>,
    /// `conveyor.labels` (a JSON object): labels the stages storage puts on a stage
    /// image (its signature and inputs), added to the image config.
    pub stage_labels: BTreeMap<String, String>,
    /// `conveyor.stored` (`POSITION=REFERENCE[@DIGEST],…`): the stages the CLI has found or put
    /// in the storage, by position. Given it, the frontend takes these as they are
    /// instead of signing and looking stages up itself — the CLI has signed them from
    /// the files on disk, which a frontend reads only through BuildKit, file by file.
    pub stored_stages: Option<BTreeMap<usize, String>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OptsError {
    #[error("invalid platform \"{0}\": expected os/arch[/variant], as in linux/amd64")]
    Platform(String),
    #[error("invalid frontend option {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
    #[error("{0} is not supported yet")]
    Unsupported(String),
}

impl FrontendOpts {
    /// Refuses, before a build, what this frontend cannot build yet, rather than
    /// building something else: named contexts from an OCI layout in the client's
    /// content store or from bake's frontend inputs.
    pub fn check_buildable(&self) -> Result<(), OptsError> {
        if let Some((name, value)) = self
            .named_contexts
            .iter()
            .find(|(_, value)| value.starts_with("oci-layout://") || value.starts_with("input:"))
        {
            return Err(OptsError::Unsupported(format!(
                "the named context {name}={value} (docker-image://, local:, git and http(s) contexts are)"
            )));
        }
        Ok(())
    }
}

/// `conveyor.stored`: `POSITION=REFERENCE[@DIGEST]` pairs, comma-separated (empty for
/// none).
fn parse_stored(list: &str) -> Result<BTreeMap<usize, String>, OptsError> {
    list.split(',')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let parsed = pair.split_once('=').and_then(|(position, reference)| {
                Some((position.parse().ok()?, reference.to_string()))
                    .filter(|(_, reference): &(usize, String)| !reference.is_empty())
            });
            parsed.ok_or_else(|| OptsError::Invalid {
                key: "conveyor.stored",
                reason: format!("expected POSITION=REFERENCE, got {pair:?}"),
            })
        })
        .collect()
}

/// `linux/amd64`, `linux/arm64/v8`, or a bare architecture meaning linux.
pub fn parse_platform(text: &str) -> Result<Platform, OptsError> {
    let parts: Vec<&str> = text.trim().split('/').collect();
    match parts.as_slice() {
        [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Platform::new(os, arch, "")),
        [os, arch, variant] if !os.is_empty() && !arch.is_empty() => {
            Ok(Platform::new(os, arch, variant))
        }
        [arch] if !arch.is_empty() && !arch.contains(',') => Ok(Platform::new("linux", arch, "")),
        _ => Err(OptsError::Platform(text.to_string())),
    }
}

impl FrontendOpts {
    /// From the `key=value` options the daemon passed.
    pub fn from_wire(
        opts: &BTreeMap<String, String>,
        session_id: &str,
    ) -> Result<FrontendOpts, OptsError> {
        let get = |key: &str| opts.get(key).map(String::as_str).filter(|v| !v.is_empty());
        let prefixed = |prefix: &str| -> BTreeMap<String, String> {
            opts.iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix(prefix)
                        .map(|name| (name.to_string(), v.clone()))
                })
                .collect()
        };
        let platforms = match get("platform") {
            Some(list) => list
                .split(',')
                .map(parse_platform)
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        Ok(FrontendOpts {
            filename: get("filename").unwrap_or("Dockerfile").to_string(),
            target: get("target").map(str::to_string),
            build_args: prefixed("build-arg:"),
            labels: prefixed("label:"),
            platforms,
            named_contexts: prefixed("context:"),
            request_id: get("requestid").map(str::to_string),
            no_cache: opts.contains_key("no-cache"),
            image_resolve_mode: get("image-resolve-mode").unwrap_or("default").to_string(),
            context_local: get("contextkey").unwrap_or("context").to_string(),
            dockerfile_local: get("dockerfilekey").unwrap_or("dockerfile").to_string(),
            session_id: session_id.to_string(),
            stage: match get("conveyor.stage") {
                Some(index) => Some(index.parse().map_err(|_| OptsError::Invalid {
                    key: "conveyor.stage",
                    reason: format!("expected a stage position, got {index:?}"),
                })?),
                None => None,
            },
            stage_labels: match get("conveyor.labels") {
                Some(json) => serde_json::from_str(json).map_err(|error| OptsError::Invalid {
                    key: "conveyor.labels",
                    reason: error.to_string(),
                })?,
                None => BTreeMap::new(),
            },
            stored_stages: match opts.get("conveyor.stored") {
                Some(list) => Some(parse_stored(list)?),
                None => None,
            },
        })
    }

    /// From the environment of a frontend process: `BUILDKIT_FRONTEND_OPT_<n>=key=value`
    /// for every option, and `BUILDKIT_SESSION_ID`.
    pub fn from_env(
        vars: impl Iterator<Item = (String, String)>,
    ) -> Result<FrontendOpts, OptsError> {
        let mut opts = BTreeMap::new();
        let mut session_id = String::new();
        for (name, value) in vars {
            if name == "BUILDKIT_SESSION_ID" {
                session_id = value;
            } else if name.starts_with("BUILDKIT_FRONTEND_OPT_") {
                let (key, value) = value.split_once('=').unwrap_or((value.as_str(), ""));
                opts.insert(key.to_string(), value.to_string());
            }
        }
        FrontendOpts::from_wire(&opts, &session_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_options_buildx_sends() {
        let vars = [
            ("BUILDKIT_FRONTEND_OPT_0", "filename=build/Dockerfile.prod"),
            ("BUILDKIT_FRONTEND_OPT_1", "target=final"),
            ("BUILDKIT_FRONTEND_OPT_2", "build-arg:VERSION=1.2=3"),
            (
                "BUILDKIT_FRONTEND_OPT_3",
                "platform=linux/arm64/v8,linux/amd64",
            ),
            (
                "BUILDKIT_FRONTEND_OPT_4",
                "context:base=docker-image://busybox",
            ),
            ("BUILDKIT_FRONTEND_OPT_5", "no-cache="),
            ("BUILDKIT_FRONTEND_OPT_6", "requestid=frontend.targets"),
            ("BUILDKIT_SESSION_ID", "s123"),
            ("PATH", "/bin"),
        ];
        let opts = FrontendOpts::from_env(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .unwrap();
        assert_eq!(opts.filename, "build/Dockerfile.prod");
        assert_eq!(opts.target.as_deref(), Some("final"));
        assert_eq!(opts.build_args["VERSION"], "1.2=3");
        assert_eq!(
            opts.platforms,
            [
                Platform::new("linux", "arm64", "v8"),
                Platform::new("linux", "amd64", "")
            ]
        );
        assert_eq!(opts.named_contexts["base"], "docker-image://busybox");
        assert!(opts.no_cache);
        assert_eq!(opts.request_id.as_deref(), Some("frontend.targets"));
        assert_eq!(opts.session_id, "s123");
        assert_eq!(
            (opts.context_local.as_str(), opts.dockerfile_local.as_str()),
            ("context", "dockerfile")
        );
    }

    #[test]
    fn oci_layout_contexts_are_refused_before_a_build() {
        let opts = |key: &str, value: &str| {
            FrontendOpts::from_wire(&BTreeMap::from([(key.to_string(), value.to_string())]), "")
                .unwrap()
        };
        assert!(
            opts("platform", "linux/amd64,linux/arm64")
                .check_buildable()
                .is_ok()
        );
        assert_eq!(
            opts("context:src", "oci-layout://store@sha256:ab")
                .check_buildable()
                .unwrap_err()
                .to_string(),
            "the named context src=oci-layout://store@sha256:ab (docker-image://, local:, git and http(s) contexts are) is not supported yet"
        );
        for value in [
            "docker-image://busybox",
            "local:src",
            "https://host/repo.git",
        ] {
            assert!(opts("context:base", value).check_buildable().is_ok());
        }
    }

    #[test]
    fn stored_stages_are_positions_and_references() {
        let opts = |value: &str| {
            FrontendOpts::from_wire(
                &BTreeMap::from([("conveyor.stored".to_string(), value.to_string())]),
                "",
            )
        };
        assert_eq!(
            opts("0=reg/app:aa,3=reg/app:bb").unwrap().stored_stages,
            Some(BTreeMap::from([
                (0, "reg/app:aa".to_string()),
                (3, "reg/app:bb".to_string())
            ]))
        );
        assert_eq!(opts("").unwrap().stored_stages, Some(BTreeMap::new()));
        assert_eq!(
            opts("x=reg/app:aa").unwrap_err().to_string(),
            "invalid frontend option conveyor.stored: expected POSITION=REFERENCE, got \"x=reg/app:aa\""
        );
    }

    #[test]
    fn defaults_and_bad_platforms() {
        let opts = FrontendOpts::from_wire(&BTreeMap::new(), "").unwrap();
        assert_eq!(opts.filename, "Dockerfile");
        assert_eq!(opts.image_resolve_mode, "default");
        assert!(opts.platforms.is_empty() && opts.target.is_none() && !opts.no_cache);
        let bad = BTreeMap::from([("platform".to_string(), "linux/".to_string())]);
        assert_eq!(
            FrontendOpts::from_wire(&bad, "").unwrap_err().to_string(),
            "invalid platform \"linux/\": expected os/arch[/variant], as in linux/amd64"
        );
    }
}
