//! The image config fields parity compares, from `docker image inspect`, and their differences.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// The fields of `.Config` compared, by their name in `docker image inspect`. `ArgsEscaped`
/// is there because BuildKit v0.13 sets it (true) on Linux images whose CMD or ENTRYPOINT
/// is in shell form: it is part of the config the stock frontend writes.
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

/// Top-level fields of the inspect output compared as well: the platform the image is
/// for, and `Author`, where MAINTAINER goes (it sets no label).
pub const IMAGE_FIELDS: [&str; 4] = ["Author", "Os", "Architecture", "Variant"];

/// Field name → value. A field absent from the inspect output is `null`: Docker leaves
/// out empty `omitempty` fields (`Shell`, `StopSignal`, `Healthcheck`), which is the same
/// image config as no field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageConfig {
    pub fields: BTreeMap<&'static str, Value>,
}

/// From the output of `docker image inspect <one image>` (a JSON array of one).
pub fn image_config_from_inspect(inspect_output: &str) -> Result<ImageConfig, String> {
    let parsed: Value = serde_json::from_str(inspect_output)
        .map_err(|error| format!("docker image inspect printed no JSON: {error}"))?;
    let image = parsed
        .as_array()
        .and_then(|images| images.first())
        .ok_or("docker image inspect printed no image")?;
    let config = image.get("Config").unwrap_or(&Value::Null);
    let mut fields = BTreeMap::new();
    for name in CONFIG_FIELDS {
        fields.insert(name, config.get(name).cloned().unwrap_or(Value::Null));
    }
    for name in IMAGE_FIELDS {
        fields.insert(name, image.get(name).cloned().unwrap_or(Value::Null));
    }
    Ok(ImageConfig { fields })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDifference {
    pub field: &'static str,
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

/// Every field whose value differs, in field-name order. Order inside a value counts
/// (`Env` is a list in the order the Dockerfile set it), key order inside maps does not.
pub fn diff_configs(stock: &ImageConfig, under_test: &ImageConfig) -> Vec<FieldDifference> {
    let mut differences = Vec::new();
    for (field, stock_value) in &stock.fields {
        let test_value = under_test.fields.get(field).unwrap_or(&Value::Null);
        if stock_value != test_value {
            differences.push(FieldDifference {
                field,
                stock: stock_value.clone(),
                under_test: test_value.clone(),
            });
        }
    }
    differences
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const INSPECT: &str = r#"[{
        "Id": "sha256:0",
        "Os": "linux",
        "Architecture": "amd64",
        "Config": {
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
        let names: Vec<&str> = config.fields.keys().copied().collect();
        let mut expected: Vec<&str> = CONFIG_FIELDS.iter().chain(&IMAGE_FIELDS).copied().collect();
        expected.sort();
        assert_eq!(names, expected);
        assert_eq!(config.fields["WorkingDir"], json!("/app"));
        assert_eq!(config.fields["Os"], json!("linux"));
        // Absent from the inspect output: null, like an explicit null.
        assert_eq!(config.fields["Variant"], Value::Null);
    }

    #[test]
    fn each_changed_field_is_reported_alone_with_both_values() {
        let stock = image_config_from_inspect(INSPECT).unwrap();
        for field in CONFIG_FIELDS.iter().chain(&IMAGE_FIELDS) {
            let mut under_test = stock.clone();
            let changed = json!(format!("changed {field}"));
            under_test.fields.insert(field, changed.clone());
            let differences = diff_configs(&stock, &under_test);
            assert_eq!(
                differences,
                vec![FieldDifference {
                    field,
                    stock: stock.fields[field].clone(),
                    under_test: changed,
                }],
                "changing {field}"
            );
        }
    }

    #[test]
    fn env_order_counts_and_label_key_order_does_not() {
        let stock = image_config_from_inspect(INSPECT).unwrap();
        let mut under_test = stock.clone();
        under_test
            .fields
            .insert("Labels", json!({"b": "2", "a": "1"}));
        assert_eq!(diff_configs(&stock, &under_test), vec![]);
        under_test.fields.insert("Env", json!(["A=1", "PATH=/bin"]));
        let fields: Vec<&str> = diff_configs(&stock, &under_test)
            .iter()
            .map(|difference| difference.field)
            .collect();
        assert_eq!(fields, ["Env"]);
    }
}
