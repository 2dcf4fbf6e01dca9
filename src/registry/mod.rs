//! A registry client for what the stages storage asks of a registry: resolve a
//! reference to its manifest digest and image config (an index or manifest list to the
//! manifest of one platform), whether a tag exists, a repository's tags, an image's
//! layer blobs, and pushing an image that is only a config (werf import digests).
//!
//! Built on oci-client (as research/deps.md recommends): it does the Docker token
//! handshake (`WWW-Authenticate: Bearer realm=…` → token GET with basic credentials,
//! or plain basic auth), manifest media-type negotiation and paginated tag lists, which
//! are tedious and easy to get subtly wrong by hand. What it does not do is ours:
//! credentials from the docker CLI's config (`credentials`), the platform choice in an
//! index (with variants), Docker's rule that loopback registries speak plain HTTP, and
//! telling "no such tag" apart from a failure.

pub mod credentials;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::ImageIndexEntry;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

pub use credentials::{Credentials, DockerConfig};

/// Tags asked for per page of a tag list.
const TAGS_PAGE: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("invalid image reference {reference:?}: {reason}")]
    Reference { reference: String, reason: String },
    #[error("registry credentials for {registry}: {reason}")]
    Credentials { registry: String, reason: String },
    #[error("{reference}: {reason}")]
    Request { reference: String, reason: String },
}

/// An image as the registry holds it for one platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedImage {
    /// The digest the reference points at (`sha256:…`): the index's for a
    /// multi-platform image, as BuildKit's ResolveImageConfig reports it and
    /// `ref@digest` pins it.
    pub digest: String,
    /// The digest of the platform's image manifest (the same as `digest` when the
    /// reference names an image manifest).
    pub manifest_digest: String,
    /// The image config JSON.
    pub config: Vec<u8>,
}

/// A client for one target platform (`os/arch[/variant]`).
pub struct RegistryClient {
    platform: String,
    docker_config: Option<std::path::PathBuf>,
}

impl RegistryClient {
    /// Credentials come from the docker CLI's config file (see `credentials`).
    pub fn new(platform: &str) -> RegistryClient {
        RegistryClient {
            platform: platform.to_string(),
            docker_config: credentials::docker_config_path(),
        }
    }

    /// The same client reading credentials from another docker config file.
    pub fn with_docker_config(platform: &str, path: &std::path::Path) -> RegistryClient {
        RegistryClient {
            platform: platform.to_string(),
            docker_config: Some(path.to_path_buf()),
        }
    }

    fn session(&self, reference: &str) -> Result<(Client, Reference, RegistryAuth), RegistryError> {
        let parsed: Reference = reference.parse().map_err(|error: oci_client::ParseError| {
            RegistryError::Reference {
                reference: reference.to_string(),
                reason: error.to_string(),
            }
        })?;
        let registry = parsed.resolve_registry().to_string();
        let credentials =
            credentials::for_registry(self.docker_config.as_deref(), parsed.registry()).map_err(
                |reason| RegistryError::Credentials {
                    registry: parsed.registry().to_string(),
                    reason,
                },
            )?;
        let auth = match credentials {
            Credentials::Anonymous => RegistryAuth::Anonymous,
            Credentials::Basic { username, password } => RegistryAuth::Basic(username, password),
            Credentials::IdentityToken(_) => unreachable!("for_registry refuses identity tokens"),
        };
        let platform = self.platform.clone();
        let protocol = if is_loopback(&registry) {
            ClientProtocol::HttpsExcept(vec![registry])
        } else {
            ClientProtocol::Https
        };
        let client = Client::new(ClientConfig {
            protocol,
            platform_resolver: Some(Box::new(move |entries| choose_platform(entries, &platform))),
            ..ClientConfig::default()
        });
        Ok((client, parsed, auth))
    }

    /// The manifest digest and config of `reference` for this client's platform.
    pub async fn resolve(&self, reference: &str) -> Result<ResolvedImage, RegistryError> {
        let (client, parsed, auth) = self.session(reference)?;
        let (_, manifest_digest, config, list_digest) = client
            .pull_manifest_and_config_and_list_digest(&parsed, &auth)
            .await
            .map_err(|error| request_error(reference, &self.platform, error))?;
        Ok(ResolvedImage {
            digest: list_digest.unwrap_or_else(|| manifest_digest.clone()),
            manifest_digest,
            config: config.into_bytes(),
        })
    }

    /// Whether `reference` (a tag or a digest) names a manifest in the registry.
    pub async fn exists(&self, reference: &str) -> Result<bool, RegistryError> {
        let (client, parsed, auth) = self.session(reference)?;
        match client.fetch_manifest_digest(&parsed, &auth).await {
            Ok(_) => Ok(true),
            Err(error) if is_not_found(&error) => Ok(false),
            Err(error) => Err(request_error(reference, &self.platform, error)),
        }
    }

    /// The layer blobs of `reference` for this client's platform, bottom first, as
    /// stored (compressed or not). Held in memory: stage images read for werf import
    /// digests are read once, then their digest is kept in the storage.
    pub async fn pull_layers(&self, reference: &str) -> Result<Vec<Vec<u8>>, RegistryError> {
        let (client, parsed, auth) = self.session(reference)?;
        let (manifest, _, _) = client
            .pull_manifest_and_config(&parsed, &auth)
            .await
            .map_err(|error| request_error(reference, &self.platform, error))?;
        let mut layers = Vec::with_capacity(manifest.layers.len());
        for layer in &manifest.layers {
            let mut blob: Vec<u8> = Vec::new();
            client
                .pull_blob(&parsed, layer, &mut blob)
                .await
                .map_err(|error| request_error(reference, &self.platform, error))?;
            layers.push(blob);
        }
        Ok(layers)
    }

    /// Pushes an image of no layers with config `config_json` as `reference`.
    pub async fn push_config_image(
        &self,
        reference: &str,
        config_json: Vec<u8>,
    ) -> Result<(), RegistryError> {
        let (client, parsed, auth) = self.session(reference)?;
        client
            .push(
                &parsed,
                &[],
                oci_client::client::Config::oci_v1(config_json, None),
                &auth,
                None,
            )
            .await
            .map_err(|error| request_error(reference, &self.platform, error))?;
        Ok(())
    }

    /// Every tag of `repository` (`host/name`); none when the repository does not exist.
    pub async fn list_tags(&self, repository: &str) -> Result<Vec<String>, RegistryError> {
        let (client, parsed, auth) = self.session(repository)?;
        let mut tags: Vec<String> = Vec::new();
        loop {
            let last = tags.last().cloned();
            let page = match client
                .list_tags(&parsed, &auth, Some(TAGS_PAGE), last.as_deref())
                .await
            {
                Ok(page) => page,
                Err(error) if is_not_found(&error) => return Ok(Vec::new()),
                Err(error) => return Err(request_error(repository, &self.platform, error)),
            };
            let n_page = page.tags.len();
            tags.extend(page.tags);
            if n_page < TAGS_PAGE {
                return Ok(tags);
            }
        }
    }
}

/// Docker's default for insecure registries: `localhost` and 127.0.0.0/8 (and `::1`)
/// speak plain HTTP; everything else HTTPS.
fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => registry,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The index entry for `platform` (`os/arch[/variant]`): an exact variant match first,
/// then an entry without a variant, as containerd's platform matcher prefers.
fn choose_platform(entries: &[ImageIndexEntry], platform: &str) -> Option<String> {
    let mut parts = platform.split('/');
    let os = parts.next().unwrap_or_default();
    let architecture = parts.next().unwrap_or_default();
    let variant = parts.next().unwrap_or_default();
    let candidates: Vec<(&ImageIndexEntry, String)> = entries
        .iter()
        .filter_map(|entry| {
            let p = entry.platform.as_ref()?;
            (p.os.to_string() == os && p.architecture.to_string() == architecture)
                .then(|| (entry, p.variant.clone().unwrap_or_default()))
        })
        .collect();
    candidates
        .iter()
        .find(|(_, v)| v == variant)
        .or_else(|| candidates.iter().find(|(_, v)| v.is_empty()))
        .or_else(|| candidates.first().filter(|_| variant.is_empty()))
        .map(|(entry, _)| entry.digest.clone())
}

fn is_not_found(error: &OciDistributionError) -> bool {
    match error {
        OciDistributionError::ServerError { code, .. } => *code == 404,
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(
                e.code,
                OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown
            )
        }),
        _ => false,
    }
}

fn request_error(reference: &str, platform: &str, error: OciDistributionError) -> RegistryError {
    let reason = match &error {
        OciDistributionError::ImageManifestNotFoundError(_) => {
            format!("the image has no manifest for {platform}")
        }
        OciDistributionError::UnauthorizedError { .. } => {
            "the registry refused the credentials (see `docker login`)".to_string()
        }
        _ if is_not_found(&error) => "not found".to_string(),
        _ => error.to_string(),
    };
    RegistryError::Request {
        reference: reference.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_are_plain_http() {
        for registry in [
            "127.0.0.1:5000",
            "localhost:5000",
            "localhost",
            "127.1.2.3",
            "[::1]:5000",
        ] {
            assert!(is_loopback(registry), "{registry}");
        }
        for registry in [
            "registry.example:5000",
            "10.0.0.1:5000",
            "index.docker.io",
            "localhost.example",
        ] {
            assert!(!is_loopback(registry), "{registry}");
        }
    }

    fn entry(digest: &str, platform: &str) -> ImageIndexEntry {
        let mut parts = platform.split('/');
        let json = serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": 1,
            "platform": {
                "os": parts.next().unwrap(),
                "architecture": parts.next().unwrap(),
                "variant": parts.next(),
            },
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn platform_choice_prefers_the_exact_variant() {
        let entries = [
            entry("sha256:a", "linux/arm/v6"),
            entry("sha256:b", "linux/arm/v7"),
            entry("sha256:c", "linux/amd64"),
            entry("sha256:d", "linux/arm64/v8"),
        ];
        assert_eq!(
            choose_platform(&entries, "linux/arm/v7").as_deref(),
            Some("sha256:b")
        );
        assert_eq!(
            choose_platform(&entries, "linux/amd64").as_deref(),
            Some("sha256:c")
        );
        assert_eq!(
            choose_platform(&entries, "linux/arm64").as_deref(),
            Some("sha256:d")
        );
        assert_eq!(choose_platform(&entries, "linux/arm/v5"), None);
        assert_eq!(choose_platform(&entries, "windows/amd64"), None);
    }
}
