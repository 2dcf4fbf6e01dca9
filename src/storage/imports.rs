//! werf import digests, read from stored stage images and kept in the storage.
//!
//! An import is signed by the content it takes from its source stage (see
//! `layers::import_digest`), which only a stored source stage has fixed. Reading it
//! means downloading the source's layers, so the digest is kept beside the stages: an
//! image of no layers tagged `import-<hex>`, `<hex>` hashing the source stage's
//! signature and what the import takes (`add`, include and exclude paths), whose
//! config carries the digest in the label `conveyor.import-digest` (werf keeps its
//! `import-metadata-*` images the same way). A stored source never changes, so neither
//! does the digest; a missing or unreadable one is computed again.

use sha2::{Digest as _, Sha256};

use super::layers::{Filesystem, ImportSelection, import_digest};
use super::{StagesStorage, StorageError, labels, signature_tag};

/// The label holding an import digest.
pub const IMPORT_DIGEST: &str = "conveyor.import-digest";

/// The label naming the source stage's signature, for whoever reads the storage.
const IMPORT_SOURCE: &str = "conveyor.import-source";

/// The tag an import digest is kept under: `import-` and 64 hex digits, never a
/// signature tag (those are the hex digits alone).
pub fn import_tag(source_signature: &str, selection: &ImportSelection<'_>) -> String {
    let text = format!(
        "conveyor-import-cache-v1\nsource\t{source_signature}\nadd\t{}\ninclude\t{}\nexclude\t{}\n",
        selection.add,
        selection.include_paths.join("\t"),
        selection.exclude_paths.join("\t"),
    );
    format!("import-{}", hex::encode(Sha256::digest(text.as_bytes())))
}

fn is_digest(text: &str) -> bool {
    signature_tag(text).is_ok()
}

/// The config of an import digest's image, for `platform` (`os/arch[/variant]`):
/// Docker Engine's image store refuses to resolve an image of another platform.
fn digest_config(platform: &str, source_signature: &str, digest: &str) -> Vec<u8> {
    let mut parts = platform.split('/');
    let os = parts.next().unwrap_or("linux");
    let architecture = parts.next().unwrap_or("amd64");
    let variant = parts.next().unwrap_or_default();
    let value = serde_json::json!({
        "architecture": architecture,
        "os": os,
        "variant": variant,
        "config": {"Labels": {
            IMPORT_DIGEST: digest,
            IMPORT_SOURCE: source_signature,
        }},
        "rootfs": {"type": "layers", "diff_ids": []},
    });
    serde_json::to_vec(&value).expect("a JSON value serializes")
}

/// A tar in `docker save`'s layout holding one image of no layers, for
/// `POST /images/load`.
fn load_archive(reference: &str, config: &[u8]) -> Vec<u8> {
    let manifest = serde_json::json!([{
        "Config": "config.json",
        "RepoTags": [reference],
        "Layers": [],
    }]);
    let manifest = serde_json::to_vec(&manifest).expect("a JSON value serializes");
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in [("config.json", config), ("manifest.json", &manifest)] {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, name, data)
            .expect("writing to memory");
    }
    builder.into_inner().expect("writing to memory")
}

/// The layers of the one image in a `docker save` archive, bottom first.
fn saved_layers(archive: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut files: std::collections::BTreeMap<String, Vec<u8>> = Default::default();
    let mut reader = tar::Archive::new(archive);
    for entry in reader.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let path = entry.path().map_err(|e| e.to_string())?;
        let path = path.to_string_lossy().trim_start_matches("./").to_string();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).map_err(|e| e.to_string())?;
        files.insert(path, data);
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Saved {
        layers: Vec<String>,
    }
    let manifest = files
        .get("manifest.json")
        .ok_or("the export has no manifest.json")?;
    let saved: Vec<Saved> =
        serde_json::from_slice(manifest).map_err(|e| format!("manifest.json: {e}"))?;
    let [image] = saved.as_slice() else {
        return Err(format!("the export holds {} images, not one", saved.len()));
    };
    image
        .layers
        .iter()
        .map(|path| {
            files
                .remove(path)
                .ok_or_else(|| format!("the export has no layer {path}"))
        })
        .collect()
}

impl StagesStorage {
    fn import_reference(&self, tag: &str) -> String {
        format!("{}:{tag}", self.repository())
    }

    /// The import digest kept for `selection` of the stage `source_signature`, if any.
    pub async fn cached_import_digest(
        &self,
        source_signature: &str,
        selection: &ImportSelection<'_>,
    ) -> Result<Option<String>, StorageError> {
        let reference = self.import_reference(&import_tag(source_signature, selection));
        let config = match self {
            StagesStorage::Registry { client, .. } => {
                if !client.exists(&reference).await? {
                    return Ok(None);
                }
                client.resolve(&reference).await?.config
            }
            StagesStorage::Local { engine } => match engine
                .inspect(&reference)
                .await
                .map_err(|e| self.read_error(e))?
            {
                Some(image) => image.config_json(),
                None => return Ok(None),
            },
        };
        let labels = labels::of_config(&config)
            .map_err(|reason| self.read_error(format!("{reference}: {reason}")))?;
        Ok(labels.get(IMPORT_DIGEST).cloned().filter(|d| is_digest(d)))
    }

    /// Computes the import digest of `selection` from the stored stage
    /// `source_signature` (which must be stored), and keeps it in the storage as an
    /// image for `platform`.
    pub async fn compute_import_digest(
        &self,
        platform: &str,
        source_signature: &str,
        selection: &ImportSelection<'_>,
    ) -> Result<String, StorageError> {
        let source = self.reference(source_signature)?;
        let layers = match self {
            StagesStorage::Registry { client, .. } => client.pull_layers(&source).await?,
            StagesStorage::Local { engine } => {
                let archive = engine.save(&source).await.map_err(|e| self.read_error(e))?;
                saved_layers(&archive)
                    .map_err(|reason| self.read_error(format!("{source}: {reason}")))?
            }
        };
        let digest = Filesystem::from_layers(layers.iter().map(Vec::as_slice))
            .and_then(|filesystem| import_digest(&filesystem, selection))
            .map_err(|error| self.read_error(format!("{source}: {error}")))?;
        let reference = self.import_reference(&import_tag(source_signature, selection));
        let config = digest_config(platform, source_signature, &digest);
        match self {
            StagesStorage::Registry { client, .. } => {
                client.push_config_image(&reference, config).await?
            }
            StagesStorage::Local { engine } => engine
                .load(load_archive(&reference, &config))
                .await
                .map_err(|e| self.read_error(e))?,
        }
        Ok(digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selection<'a>(add: &'a str, include: &'a [String]) -> ImportSelection<'a> {
        ImportSelection {
            add,
            include_paths: include,
            exclude_paths: &[],
        }
    }

    #[test]
    fn import_tags_are_no_signature_tags() {
        let signature = format!("sha256:{}", "ab".repeat(32));
        let tag = import_tag(&signature, &selection("/app", &[]));
        assert!(tag.starts_with("import-") && tag.len() == 71, "{tag}");
        assert!(!super::super::is_signature_tag(&tag));
        assert_ne!(
            import_tag(&signature, &selection("/app", &["bin".into()])),
            tag
        );
        assert_ne!(import_tag(&signature, &selection("/srv", &[])), tag);
        let other = format!("sha256:{}", "cd".repeat(32));
        assert_ne!(import_tag(&other, &selection("/app", &[])), tag);
    }

    #[test]
    fn a_loaded_archive_reads_back_as_an_export() {
        let archive = load_archive("conveyor-stages:import-x", b"{}");
        assert_eq!(saved_layers(&archive).unwrap(), Vec::<Vec<u8>>::new());
        let config = digest_config("linux/arm64/v8", "sha256:s", "sha256:d");
        let labels = labels::of_config(&config).unwrap();
        assert_eq!(labels[IMPORT_DIGEST], "sha256:d");
        assert_eq!(labels[IMPORT_SOURCE], "sha256:s");
        let value: serde_json::Value = serde_json::from_slice(&config).unwrap();
        assert_eq!(
            (&value["os"], &value["architecture"], &value["variant"]),
            (
                &serde_json::json!("linux"),
                &serde_json::json!("arm64"),
                &serde_json::json!("v8")
            )
        );
    }
}
