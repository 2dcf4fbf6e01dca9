//! The labels a stage image carries (schema v1), which make a stored image explain
//! itself: which build file and stage it is, its signature, and every input that went
//! into the signature, so `conveyor explain` can diff today's inputs against them.
//!
//! | label | value |
//! |---|---|
//! | `conveyor.config` | the build file, relative to the context (`Dockerfile`, `build/werf.yaml`) |
//! | `conveyor.stage` | the stage's name, or its index when it has none |
//! | `conveyor.signature` | the stage's signature, `sha256:<hex>` |
//! | `conveyor.inputs` | the signature inputs in order, JSON `[{"name": …, "digest": …}, …]`; a context input also has `"files": [{"path": …, "digest": …}, …]` (up to `MAX_FILES`) |

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const CONFIG: &str = "conveyor.config";
pub const STAGE: &str = "conveyor.stage";
pub const SIGNATURE: &str = "conveyor.signature";
pub const INPUTS: &str = "conveyor.inputs";

const ALL: [&str; 4] = [CONFIG, STAGE, SIGNATURE, INPUTS];

/// One signature input as stored: its name (`step 2 RUN`, `context 3`) and digest;
/// for a context input, also the digest of each file it covers (when there are at
/// most `MAX_FILES`), so a change can be named down to the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredInput {
    pub name: String,
    pub digest: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<StoredFile>,
}

/// A context path and the digest of its record (kind, permissions, link target,
/// content), as `context::entry_digests` gives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    pub path: String,
    pub digest: String,
}

/// Context inputs over more files than this keep only their total digest in the label:
/// a `COPY . .` of a big tree would make the image config huge.
pub const MAX_FILES: usize = 1000;

/// What the labels of a stage image say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageLabels {
    pub config: String,
    pub stage: String,
    pub signature: String,
    pub inputs: Vec<StoredInput>,
}

impl StageLabels {
    /// The labels to put on a stage image.
    pub fn to_labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (CONFIG.to_string(), self.config.clone()),
            (STAGE.to_string(), self.stage.clone()),
            (SIGNATURE.to_string(), self.signature.clone()),
            (
                INPUTS.to_string(),
                serde_json::to_string(&self.inputs).expect("inputs are JSON"),
            ),
        ])
    }

    /// Reads an image's labels: `None` when it is not a conveyor stage image, an error
    /// naming the label when it is one with a broken label.
    pub fn from_labels(labels: &BTreeMap<String, String>) -> Result<Option<StageLabels>, String> {
        let Some(signature) = labels.get(SIGNATURE) else {
            return Ok(None);
        };
        let get = |key: &str| {
            labels
                .get(key)
                .cloned()
                .ok_or_else(|| format!("label {key} is missing"))
        };
        let inputs = serde_json::from_str(&get(INPUTS)?)
            .map_err(|error| format!("label {INPUTS} is not a list of inputs: {error}"))?;
        Ok(Some(StageLabels {
            config: get(CONFIG)?,
            stage: get(STAGE)?,
            signature: signature.clone(),
            inputs,
        }))
    }
}

/// The labels of an image config JSON (`config.Labels`).
pub fn of_config(config_json: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let value: serde_json::Value = serde_json::from_slice(config_json)
        .map_err(|error| format!("the image config is not JSON: {error}"))?;
    let labels = value
        .get("config")
        .and_then(|config| config.get("Labels"))
        .and_then(|labels| labels.as_object());
    Ok(labels
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default())
}

/// The image config without the stage labels: a stage built on a stored stage (or an
/// image made from one) must not carry its parent's identity.
pub fn strip_from_config(config_json: &[u8]) -> Result<Vec<u8>, String> {
    let mut value: serde_json::Value = serde_json::from_slice(config_json)
        .map_err(|error| format!("the image config is not JSON: {error}"))?;
    if let Some(labels) = value
        .get_mut("config")
        .and_then(|config| config.get_mut("Labels"))
        .and_then(|labels| labels.as_object_mut())
    {
        for key in ALL {
            labels.remove(key);
        }
    }
    Ok(serde_json::to_vec(&value).expect("a JSON value serializes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StageLabels {
        StageLabels {
            config: "Dockerfile".into(),
            stage: "build".into(),
            signature: "sha256:aa".into(),
            inputs: vec![
                StoredInput {
                    name: "from".into(),
                    digest: "sha256:01".into(),
                    files: Vec::new(),
                },
                StoredInput {
                    name: "context 0".into(),
                    digest: "sha256:02".into(),
                    files: vec![StoredFile {
                        path: "a.txt".into(),
                        digest: "sha256:03".into(),
                    }],
                },
            ],
        }
    }

    #[test]
    fn labels_round_trip() {
        let labels = sample().to_labels();
        assert_eq!(
            labels[INPUTS],
            r#"[{"name":"from","digest":"sha256:01"},{"name":"context 0","digest":"sha256:02","files":[{"path":"a.txt","digest":"sha256:03"}]}]"#
        );
        assert_eq!(StageLabels::from_labels(&labels), Ok(Some(sample())));
    }

    #[test]
    fn other_images_are_not_stage_images_and_broken_labels_are_named() {
        assert_eq!(StageLabels::from_labels(&BTreeMap::new()), Ok(None));
        let mut labels = sample().to_labels();
        labels.insert(INPUTS.into(), "[1]".into());
        let error = StageLabels::from_labels(&labels).unwrap_err();
        assert!(
            error.starts_with("label conveyor.inputs is not a list of inputs"),
            "{error}"
        );
        labels.remove(STAGE);
        labels.insert(INPUTS.into(), "[]".into());
        assert_eq!(
            StageLabels::from_labels(&labels),
            Err("label conveyor.stage is missing".to_string())
        );
    }

    #[test]
    fn stripping_keeps_the_users_labels() {
        let mut all = sample().to_labels();
        all.insert("maintainer".into(), "me".into());
        let config =
            serde_json::json!({"architecture": "amd64", "config": {"Labels": all, "Env": ["A=1"]}});
        let stripped = strip_from_config(&serde_json::to_vec(&config).unwrap()).unwrap();
        assert_eq!(
            of_config(&stripped).unwrap(),
            BTreeMap::from([("maintainer".to_string(), "me".to_string())])
        );
        let value: serde_json::Value = serde_json::from_slice(&stripped).unwrap();
        assert_eq!(value["config"]["Env"][0], "A=1");
        assert_eq!(of_config(br#"{"config": {}}"#).unwrap(), BTreeMap::new());
    }
}
