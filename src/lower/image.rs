//! The Docker image config JSON (`application/vnd.docker.container.image.v1+json`) as
//! BuildKit's `containerimage.config` metadata carries it: our own serde mirror of
//! moby's `docker-image-spec` `DockerOCIImage`, with Go's field names and `omitempty`.
//! Parsing keeps what the Dockerfile frontend keeps and ignores everything else.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// The comment BuildKit writes on every history entry of a Dockerfile build.
pub const HISTORY_COMMENT: &str = "buildkit.dockerfile.v0";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// MAINTAINER.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub author: String,
    #[serde(default, deserialize_with = "nullable")]
    pub architecture: String,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub variant: String,
    #[serde(default, deserialize_with = "nullable")]
    pub os: String,
    #[serde(default, deserialize_with = "nullable")]
    pub config: ContainerConfig,
    #[serde(default, deserialize_with = "nullable")]
    pub rootfs: RootFs,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "nullable"
    )]
    pub history: Vec<History>,
}

/// `{}` in JSON: the value type of Go's `map[string]struct{}` (ExposedPorts, Volumes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub user: String,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "nullable"
    )]
    pub exposed_ports: BTreeMap<String, Empty>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "nullable"
    )]
    pub env: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "nullable"
    )]
    pub entrypoint: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "nullable"
    )]
    pub cmd: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "nullable"
    )]
    pub volumes: BTreeMap<String, Empty>,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub working_dir: String,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "nullable"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub stop_signal: String,
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "nullable"
    )]
    pub args_escaped: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "nullable"
    )]
    pub on_build: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "nullable"
    )]
    pub shell: Vec<String>,
}

/// Durations are nanoseconds, as Go's `time.Duration` marshals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Healthcheck {
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "nullable"
    )]
    pub test: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "nullable"
    )]
    pub interval: i64,
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "nullable"
    )]
    pub timeout: i64,
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "nullable"
    )]
    pub start_period: i64,
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "nullable"
    )]
    pub start_interval: i64,
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "nullable"
    )]
    pub retries: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub kind: String,
    /// Go writes `null` for none; we write `[]`, which every reader takes the same.
    #[serde(default, deserialize_with = "nullable")]
    pub diff_ids: Vec<String>,
}

impl Default for RootFs {
    fn default() -> RootFs {
        RootFs {
            kind: "layers".into(),
            diff_ids: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub created: String,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub created_by: String,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub author: String,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub comment: String,
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "nullable"
    )]
    pub empty_layer: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// Go writes `null` for nil slices and maps; read it as empty.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl ImageConfig {
    /// Parses an image config as a registry or the daemon returns it.
    pub fn from_json(bytes: &[u8]) -> Result<ImageConfig, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The JSON bytes for `containerimage.config`.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an image config is always JSON")
    }

    /// Whether the image has no filesystem layers (BuildKit then starts from scratch
    /// instead of pulling it).
    pub fn has_no_layers(&self) -> bool {
        self.rootfs.diff_ids.is_empty() && self.history.iter().all(|h| h.empty_layer)
    }

    /// Appends a history entry as BuildKit's `commitToHistory` does; entries for
    /// instructions that ran an op end in `# buildkit`.
    pub(crate) fn commit(&mut self, mut created_by: String, with_layer: bool, ran_op: bool) {
        if ran_op {
            created_by.push_str(" # buildkit");
        }
        self.history.push(History {
            created_by,
            comment: HISTORY_COMMENT.into(),
            empty_layer: !with_layer,
            ..History::default()
        });
    }

    /// Sets `key=value` in `Env`, replacing the entry of the same key in place.
    pub(crate) fn set_env(&mut self, key: &str, value: &str) {
        let entry = format!("{key}={value}");
        match self
            .config
            .env
            .iter_mut()
            .find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key)
        {
            Some(existing) => *existing = entry,
            None => self.config.env.push(entry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_docker_config_ignoring_unknown_fields_and_nulls() {
        let json = br#"{"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z",
            "container":"abc","docker_version":"20.10",
            "config":{"Hostname":"","Env":["PATH=/bin"],"Cmd":["sh"],"Volumes":null,
              "ExposedPorts":{"80/tcp":{}},"OnBuild":null,"Labels":null,"ArgsEscaped":true},
            "rootfs":{"type":"layers","diff_ids":["sha256:aa"]},
            "history":[{"created":"2024-01-01T00:00:00Z","created_by":"ADD x /","empty_layer":false},
                       {"created_by":"CMD [\"sh\"]","empty_layer":true}]}"#;
        let config = ImageConfig::from_json(json).unwrap();
        assert_eq!(config.config.env, ["PATH=/bin"]);
        assert_eq!(config.config.cmd, ["sh"]);
        assert!(config.config.args_escaped);
        assert_eq!(config.config.exposed_ports.len(), 1);
        assert!(!config.has_no_layers());
        assert_eq!(config.history.len(), 2);
    }

    #[test]
    fn serializes_with_go_names_and_omitempty() {
        let mut config = ImageConfig {
            architecture: "amd64".into(),
            os: "linux".into(),
            ..ImageConfig::default()
        };
        config.config.env = vec!["PATH=/bin".into()];
        config
            .config
            .exposed_ports
            .insert("80/tcp".into(), Empty {});
        config.config.healthcheck = Some(Healthcheck {
            test: vec!["CMD-SHELL".into(), "true".into()],
            interval: 5_000_000_000,
            ..Healthcheck::default()
        });
        config.commit("ENV A=b".into(), false, false);
        assert_eq!(
            String::from_utf8(config.to_json()).unwrap(),
            r#"{"architecture":"amd64","os":"linux","config":{"ExposedPorts":{"80/tcp":{}},"Env":["PATH=/bin"],"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":5000000000}},"rootfs":{"type":"layers","diff_ids":[]},"history":[{"created_by":"ENV A=b","comment":"buildkit.dockerfile.v0","empty_layer":true}]}"#
        );
    }
}
