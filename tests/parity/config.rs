//! The image config fields parity compares, from `docker image inspect`, and their differences.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

/// The fields of `.Config` always compared, by their name in `docker image inspect`, null
/// when absent. Every other key `.Config` has on either side is compared as well (the
/// container-create defaults docker fills in, `Hostname`, `Tty`, …, are the same for
/// any built image, and a frontend that set one would make a different image).
/// `ArgsEscaped` is listed because BuildKit v0.13 sets it (true) on Linux images whose
/// CMD or ENTRYPOINT is in shell form.
pub const CONFIG_FIELDS: [&str; 13] = [
    "ArgsEscaped",
    "Env",
    "Cmd",
    "Entrypoint",
    "WorkingDir",
    "User",
    "Labels",
    "ExposedPorts",
    "Volumes",
    "Healthcheck",
    "StopSignal",
    "OnBuild",
    "Shell",
];

/// Top-level fields of the inspect output compared as well: `Author` is where MAINTAINER
/// goes (it sets no label), `Comment` is the frontend's, then the platform the image is
/// for. Not compared, because each build has its own: `Id`, `Created`, `RepoTags`,
/// `Metadata`, `GraphDriver`, the layer digests in `RootFS` (a layer's tar holds the
/// mtimes that RUN stamps), and `Size` (the listing compares every file's size).
pub const IMAGE_FIELDS: [&str; 8] = [
    "Author",
    "Comment",
    "DockerVersion",
    "Parent",
    "Os",
    "OsVersion",
    "Architecture",
    "Variant",
];

/// The number of layers is compared in place of their digests.
pub const LAYER_COUNT: &str = "RootFS.Layers (count)";

/// Field name → value. A field absent from the inspect output is `null`: Docker leaves
/// out empty `omitempty` fields (`Shell`, `StopSignal`, `Healthcheck`), which is the same
/// image config as no field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageConfig {
    pub fields: BTreeMap<String, Value>,
}

/// From the output of `docker image inspect <one image>` (a JSON array of one).
pub fn image_config_from_inspect(inspect_output: &str) -> Result<ImageConfig, String> {
    let parsed: Value = serde_json::from_str(inspect_output)
        .map_err(|error| format!("docker image inspect printed no JSON: {error}"))?;
    let image = parsed
        .as_array()
        .and_then(|images| images.first())
        .ok_or("docker image inspect printed no image")?;
    let mut fields = BTreeMap::new();
    for name in CONFIG_FIELDS {
        fields.insert(name.to_string(), Value::Null);
    }
    if let Some(config) = image.get("Config").and_then(Value::as_object) {
        for (name, value) in config {
            fields.insert(name.clone(), value.clone());
        }
    }
    for name in IMAGE_FIELDS {
        fields.insert(
            name.to_string(),
            image.get(name).cloned().unwrap_or(Value::Null),
        );
    }
    let layers = image
        .pointer("/RootFS/Layers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    fields.insert(LAYER_COUNT.to_string(), Value::from(layers));
    Ok(ImageConfig { fields })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDifference {
    pub field: String,
    pub stock: Value,
    pub under_test: Value,
}

impl fmt::Display for FieldDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "config {}: stock {} ≠ under test {}",
            self.field, self.stock, self.under_test
        )
    }
}

/// Every field whose value differs, in field-name order; a field one side lacks counts
/// as null there. Order inside a value counts (`Env` is a list in the order the
/// Dockerfile set it), key order inside maps does not.
pub fn diff_configs(stock: &ImageConfig, under_test: &ImageConfig) -> Vec<FieldDifference> {
    let names: BTreeSet<&String> = stock
        .fields
        .keys()
        .chain(under_test.fields.keys())
        .collect();
    names
        .into_iter()
        .filter_map(|field| {
            let stock_value = stock.fields.get(field).unwrap_or(&Value::Null);
            let test_value = under_test.fields.get(field).unwrap_or(&Value::Null);
            (stock_value != test_value).then(|| FieldDifference {
                field: field.clone(),
                stock: stock_value.clone(),
                under_test: test_value.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const INSPECT: &str = r#"[{
        "Id": "sha256:0",
        "Os": "linux",
        "Architecture": "amd64",
        "Author": "someone",
        "Comment": "buildkit.dockerfile.v0",
        "RootFS": {"Type": "layers", "Layers": ["sha256:1", "sha256:2"]},
        "Config": {
            "Hostname": "",
            "Env": ["PATH=/bin", "A=1"],
            "Cmd": ["sh"],
            "Entrypoint": null,
            "WorkingDir": "/app",
            "User": "1000:1000",
            "Labels": {"a": "1", "b": "2"},
            "ExposedPorts": {"80/tcp": {}},
            "Volumes": {"/data": {}},
            "Healthcheck": {"Test": ["CMD", "true"], "Retries": 3},
            "StopSignal": "SIGTERM",
            "OnBuild": ["RUN true"],
            "Shell": ["/bin/sh", "-c"]
        }
    }]"#;

    #[test]
    fn inspect_output_gives_every_compared_field() {
        let config = image_config_from_inspect(INSPECT).unwrap();
        let names: Vec<&str> = config.fields.keys().map(String::as_str).collect();
        let mut expected: Vec<&str> = CONFIG_FIELDS
            .iter()
            .chain(&IMAGE_FIELDS)
            .copied()
            .chain(["Hostname", LAYER_COUNT])
            .collect();
        expected.sort();
        assert_eq!(names, expected);
        assert_eq!(config.fields["WorkingDir"], json!("/app"));
        assert_eq!(config.fields["Os"], json!("linux"));
        assert_eq!(config.fields["Author"], json!("someone"));
        assert_eq!(config.fields[LAYER_COUNT], json!(2));
        // Absent from the inspect output: null, like an explicit null.
        assert_eq!(config.fields["Variant"], Value::Null);
        assert_eq!(config.fields["ArgsEscaped"], Value::Null);
    }

    #[test]
    fn each_changed_field_is_reported_alone_with_both_values() {
        let stock = image_config_from_inspect(INSPECT).unwrap();
        let fields: Vec<String> = stock.fields.keys().cloned().collect();
        for field in fields {
            let mut under_test = stock.clone();
            let changed = json!(format!("changed {field}"));
            under_test.fields.insert(field.clone(), changed.clone());
            let differences = diff_configs(&stock, &under_test);
            assert_eq!(
                differences,
                vec![FieldDifference {
                    field: field.clone(),
                    stock: stock.fields[&field].clone(),
                    under_test: changed,
                }],
                "changing {field}"
            );
        }
        // A key only one side has is a difference against null.
        let mut under_test = stock.clone();
        under_test.fields.insert("Tty".into(), json!(true));
        assert_eq!(
            diff_configs(&stock, &under_test),
            vec![FieldDifference {
                field: "Tty".into(),
                stock: Value::Null,
                under_test: json!(true),
            }]
        );
    }

    #[test]
    fn env_order_counts_and_label_key_order_does_not() {
        let stock = image_config_from_inspect(INSPECT).unwrap();
        let mut under_test = stock.clone();
        under_test
            .fields
            .insert("Labels".into(), json!({"b": "2", "a": "1"}));
        assert_eq!(diff_configs(&stock, &under_test), vec![]);
        under_test
            .fields
            .insert("Env".into(), json!(["A=1", "PATH=/bin"]));
        let fields: Vec<String> = diff_configs(&stock, &under_test)
            .into_iter()
            .map(|difference| difference.field)
            .collect();
        assert_eq!(fields, ["Env"]);
    }
}
