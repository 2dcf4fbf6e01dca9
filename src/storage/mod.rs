//! The stages storage: one image per stage, tagged `<repo>:<signature hex>`, in a
//! registry repository (`--repo 127.0.0.1:5000/app-stages`) or in the daemon's own image
//! store (`--repo local`, as `conveyor-stages:<signature hex>`). A stage whose signature
//! is stored is never built again: it becomes the base of what follows it.
//!
//! This module reads the storage: lookup by signature, and the list of stored stage
//! images with their labels (`labels`: which config and stage, the signature, its
//! inputs) for `conveyor explain`. Tagging happens in the build, after a stage built.

pub mod diff;
mod engine;
pub mod imports;
pub mod labels;
pub mod layers;

use crate::registry::{RegistryClient, RegistryError};

pub use engine::{DEFAULT_DOCKER_HOST, DockerEngine};
pub use labels::{StageLabels, StoredFile, StoredInput};

/// The repository of `--repo local` in the daemon's image store.
pub const LOCAL_REPOSITORY: &str = "conveyor-stages";

/// The `--repo` value that means the daemon's image store.
pub const LOCAL: &str = "local";

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("invalid --repo {repo:?}: {reason}")]
    InvalidRepo { repo: String, reason: String },
    #[error("invalid signature {signature:?}: expected sha256:<64 hex digits>")]
    InvalidSignature { signature: String },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("stages storage {storage}: {reason}")]
    Read { storage: String, reason: String },
}

/// Where stage images are kept.
pub enum StagesStorage {
    Registry {
        repository: String,
        client: RegistryClient,
    },
    Local {
        engine: DockerEngine,
    },
}

/// A stage image found by its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredStage {
    /// `<repo>:<signature hex>`
    pub reference: String,
    /// The digest the tag points at in a registry (what `ref@digest` pins), or the
    /// image ID in the local store — not a manifest digest: a local stage is used by
    /// its tag alone (`lower::pin_reference` with an empty digest).
    pub digest: String,
    /// The image config JSON, as stored (labels included).
    pub config: Vec<u8>,
    /// `None` for an image tagged by hand without conveyor's labels.
    pub labels: Option<StageLabels>,
}

/// A stored stage image as `explain` compares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageRecord {
    pub reference: String,
    /// When the image was made, in Unix nanoseconds.
    pub created_ns: i128,
    pub labels: StageLabels,
}

/// What stages sign a base image by: the digest of its config (its image ID). The
/// manifest digest would not do: Docker Engine's BuildKit resolves an image it holds
/// locally to no manifest digest at all, while the config (and so its digest) is the
/// same wherever the image is read from.
pub fn config_digest(config_json: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(config_json)))
}

/// The tag of a signature: its hex digits.
pub fn signature_tag(signature: &str) -> Result<&str, StorageError> {
    signature
        .strip_prefix("sha256:")
        .filter(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| StorageError::InvalidSignature {
            signature: signature.to_string(),
        })
}

fn is_signature_tag(tag: &str) -> bool {
    tag.len() == 64 && tag.bytes().all(|b| b.is_ascii_hexdigit())
}

impl StagesStorage {
    /// `local` (the daemon at `docker_host`), else a registry repository without tag.
    pub fn open(repo: &str, platform: &str, docker_host: &str) -> Result<Self, StorageError> {
        let invalid = |reason: String| StorageError::InvalidRepo {
            repo: repo.to_string(),
            reason,
        };
        if repo == LOCAL {
            let engine = DockerEngine::new(docker_host).map_err(invalid)?;
            return Ok(StagesStorage::Local { engine });
        }
        let parsed: oci_client::Reference = repo
            .parse()
            .map_err(|error: oci_client::ParseError| invalid(error.to_string()))?;
        if parsed.digest().is_some() || repo.rsplit('/').next().is_some_and(|l| l.contains(':')) {
            return Err(invalid(
                "expected a repository without tag or digest, as in 127.0.0.1:5000/app-stages, or `local`".into(),
            ));
        }
        Ok(StagesStorage::Registry {
            repository: repo.to_string(),
            client: RegistryClient::new(platform),
        })
    }

    /// The repository stage images are tagged in.
    pub fn repository(&self) -> &str {
        match self {
            StagesStorage::Registry { repository, .. } => repository,
            StagesStorage::Local { .. } => LOCAL_REPOSITORY,
        }
    }

    /// `<repo>:<signature hex>`.
    pub fn reference(&self, signature: &str) -> Result<String, StorageError> {
        Ok(format!(
            "{}:{}",
            self.repository(),
            signature_tag(signature)?
        ))
    }

    fn read_error(&self, reason: String) -> StorageError {
        StorageError::Read {
            storage: self.repository().to_string(),
            reason,
        }
    }

    /// The stage image stored for `signature`, if any.
    pub async fn lookup(&self, signature: &str) -> Result<Option<StoredStage>, StorageError> {
        let reference = self.reference(signature)?;
        let (digest, config) = match self {
            StagesStorage::Registry { client, .. } => {
                if !client.exists(&reference).await? {
                    return Ok(None);
                }
                let resolved = client.resolve(&reference).await?;
                (resolved.digest, resolved.config)
            }
            StagesStorage::Local { engine } => {
                match engine
                    .inspect(&reference)
                    .await
                    .map_err(|e| self.read_error(e))?
                {
                    Some(image) => (image.id.clone(), image.config_json()),
                    None => return Ok(None),
                }
            }
        };
        let found = labels::of_config(&config)
            .and_then(|l| StageLabels::from_labels(&l))
            .map_err(|reason| self.read_error(format!("{reference}: {reason}")))?;
        if let Some(found) = &found
            && found.signature != signature
        {
            return Err(self.read_error(format!(
                "{reference} is labelled with signature {}, not its tag's",
                found.signature
            )));
        }
        Ok(Some(StoredStage {
            reference,
            digest,
            config,
            labels: found,
        }))
    }

    /// Every stage image in the storage that carries conveyor's labels.
    pub async fn list(&self) -> Result<Vec<StageRecord>, StorageError> {
        let mut records = Vec::new();
        match self {
            StagesStorage::Registry { repository, client } => {
                // One config read per stored tag: fine for a stages repository of a few
                // hundred stages; a bigger one would want an index of its own.
                for tag in client.list_tags(repository).await? {
                    if !is_signature_tag(&tag) {
                        continue;
                    }
                    let reference = format!("{repository}:{tag}");
                    let resolved = client.resolve(&reference).await?;
                    let read = |config: &[u8]| -> Result<_, String> {
                        let stage = StageLabels::from_labels(&labels::of_config(config)?)?;
                        Ok(stage.map(|stage| (stage, created_ns(config))))
                    };
                    if let Some((stage, created_ns)) = read(&resolved.config)
                        .map_err(|reason| self.read_error(format!("{reference}: {reason}")))?
                    {
                        records.push(StageRecord {
                            reference,
                            created_ns,
                            labels: stage,
                        });
                    }
                }
            }
            StagesStorage::Local { engine } => {
                let images = engine
                    .images_of(LOCAL_REPOSITORY)
                    .await
                    .map_err(|e| self.read_error(e))?;
                for image in images {
                    let labels = image.labels.unwrap_or_default();
                    let Some(stage) = StageLabels::from_labels(&labels)
                        .map_err(|reason| self.read_error(reason))?
                    else {
                        continue;
                    };
                    let tags = image.repo_tags.unwrap_or_default();
                    let Some(reference) = tags.into_iter().find(|t| {
                        t.strip_prefix(LOCAL_REPOSITORY)
                            .and_then(|rest| rest.strip_prefix(':'))
                            .is_some_and(is_signature_tag)
                    }) else {
                        continue;
                    };
                    records.push(StageRecord {
                        reference,
                        created_ns: i128::from(image.created) * 1_000_000_000,
                        labels: stage,
                    });
                }
            }
        }
        Ok(records)
    }
}

/// The config's `created` time in Unix nanoseconds; 0 when it has none.
fn created_ns(config: &[u8]) -> i128 {
    let created = serde_json::from_slice::<serde_json::Value>(config)
        .ok()
        .and_then(|value| value.get("created")?.as_str().map(str::to_string));
    created
        .and_then(|text| chrono::DateTime::parse_from_rfc3339(&text).ok())
        .and_then(|time| time.timestamp_nanos_opt())
        .map_or(0, i128::from)
}

/// The newest record of `stage` in build file `config`.
pub fn newest<'r>(
    records: &'r [StageRecord],
    config: &str,
    stage: &str,
) -> Option<&'r StageRecord> {
    records
        .iter()
        .filter(|r| r.labels.config == config && r.labels.stage == stage)
        .max_by(|a, b| {
            a.created_ns
                .cmp(&b.created_ns)
                .then_with(|| a.reference.cmp(&b.reference))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_tags() {
        let hex = "ab".repeat(32);
        assert_eq!(signature_tag(&format!("sha256:{hex}")).unwrap(), hex);
        for bad in ["ab", "sha256:xyz", &hex, &format!("sha512:{hex}")] {
            assert_eq!(
                signature_tag(bad).unwrap_err().to_string(),
                format!("invalid signature {bad:?}: expected sha256:<64 hex digits>")
            );
        }
    }

    #[test]
    fn repo_values() {
        let open = |repo: &str| StagesStorage::open(repo, "linux/amd64", DEFAULT_DOCKER_HOST);
        assert_eq!(
            open("127.0.0.1:5000/app-stages").unwrap().repository(),
            "127.0.0.1:5000/app-stages"
        );
        assert_eq!(open("local").unwrap().repository(), LOCAL_REPOSITORY);
        let error = open("127.0.0.1:5000/app:v1").err().unwrap().to_string();
        assert!(
            error.starts_with(
                "invalid --repo \"127.0.0.1:5000/app:v1\": expected a repository without tag"
            ),
            "{error}"
        );
        assert!(open("Bad Repo").is_err());
        let hex = "0f".repeat(32);
        assert_eq!(
            open("local")
                .unwrap()
                .reference(&format!("sha256:{hex}"))
                .unwrap(),
            format!("conveyor-stages:{hex}")
        );
    }

    fn record(reference: &str, config: &str, stage: &str, created_ns: i128) -> StageRecord {
        StageRecord {
            reference: reference.into(),
            created_ns,
            labels: StageLabels {
                config: config.into(),
                stage: stage.into(),
                signature: String::new(),
                inputs: Vec::new(),
            },
        }
    }

    #[test]
    fn newest_of_the_same_config_and_stage() {
        let records = [
            record("r:1", "Dockerfile", "build", 10),
            record("r:2", "Dockerfile", "build", 30),
            record("r:3", "Dockerfile", "app", 50),
            record("r:4", "other/Dockerfile", "build", 90),
        ];
        assert_eq!(
            newest(&records, "Dockerfile", "build").unwrap().reference,
            "r:2"
        );
        assert_eq!(
            newest(&records, "Dockerfile", "app").unwrap().reference,
            "r:3"
        );
        assert!(newest(&records, "Dockerfile", "test").is_none());
    }

    #[test]
    fn created_times_compare_across_fraction_lengths() {
        let at = |text: &str| created_ns(format!(r#"{{"created": "{text}"}}"#).as_bytes());
        assert!(at("2026-11-25T22:00:00.5Z") > at("2026-11-25T22:00:00Z"));
        assert_eq!(at("1970-01-01T00:00:01Z"), 1_000_000_000);
        assert_eq!(created_ns(b"{}"), 0);
    }
}
