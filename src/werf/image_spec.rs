//! `imageSpec` of an image and the meta document's `build.imageSpec`, merged as werf
//! merges them (`mergeImageSpec` in werf's pkg/config): into every final image, the
//! project's author winning, its labels added over the image's, its `removeLabels`
//! appended, `clearHistory` and `keepEssentialWerfLabels` OR-ed.

use std::collections::BTreeSet;

use regex::Regex;

use super::error::ConfigError;
use super::fields::{Fields, fields, wrong_type};
use super::model::{ImageSpec, SpecHealthcheck};
use super::yaml::{Kind, Node};

const CONFIG_KEYS: [&str; 18] = [
    "volumes",
    "labels",
    "env",
    "expose",
    "user",
    "cmd",
    "entrypoint",
    "workingDir",
    "stopSignal",
    "healthcheck",
    "clearCmd",
    "clearEntrypoint",
    "clearUser",
    "clearWorkingDir",
    "removeEnv",
    "removeLabels",
    "removeVolumes",
    "keepEssentialWerfLabels",
];

/// The project-wide part werf allows in `build.imageSpec.config`.
const GLOBAL_CONFIG_KEYS: [&str; 3] = ["labels", "removeLabels", "keepEssentialWerfLabels"];

/// An image's `imageSpec`.
pub(super) fn read_image_spec(node: &Node) -> Result<ImageSpec, ConfigError> {
    read(node, "imageSpec", &CONFIG_KEYS)
}

/// The meta document's `build.imageSpec`.
pub(super) fn read_global_image_spec(node: &Node) -> Result<ImageSpec, ConfigError> {
    read(node, "build.imageSpec", &GLOBAL_CONFIG_KEYS)
}

fn read(node: &Node, what: &str, config_keys: &[&str]) -> Result<ImageSpec, ConfigError> {
    let spec = fields(node, what, &["author", "clearHistory", "config"])?;
    let mut out = ImageSpec {
        author: spec.string("author")?.map(|s| s.value),
        clear_history: spec.bool("clearHistory")?.unwrap_or(false),
        ..ImageSpec::default()
    };
    let Some(config) = spec.get("config") else {
        return Ok(out);
    };
    let config = fields(config, &format!("{what}.config"), config_keys)?;
    let values = |key| -> Result<Vec<String>, ConfigError> {
        Ok(config.strings(key)?.into_iter().map(|s| s.value).collect())
    };
    let flag = |key| -> Result<bool, ConfigError> { Ok(config.bool(key)?.unwrap_or(false)) };
    out.volumes = values("volumes")?;
    out.labels = config.string_map("labels")?;
    out.env = config.string_map("env")?;
    out.expose = config.has("expose").then(|| values("expose")).transpose()?;
    out.user = config.string("user")?.map(|s| s.value);
    out.cmd = values("cmd")?;
    out.entrypoint = values("entrypoint")?;
    out.working_dir = config.string("workingDir")?.map(|s| s.value);
    out.stop_signal = config.string("stopSignal")?.map(|s| s.value);
    out.healthcheck = config
        .get("healthcheck")
        .map(read_healthcheck)
        .transpose()?;
    out.clear_cmd = flag("clearCmd")?;
    out.clear_entrypoint = flag("clearEntrypoint")?;
    out.clear_user = flag("clearUser")?;
    out.clear_working_dir = flag("clearWorkingDir")?;
    out.remove_env = patterns(&config, "removeEnv")?;
    out.remove_labels = patterns(&config, "removeLabels")?;
    out.remove_volumes = values("removeVolumes")?;
    out.keep_essential_werf_labels = flag("keepEssentialWerfLabels")?;
    Ok(out)
}

/// A list of names or `/regexp/` patterns, each regexp checked where it is written.
fn patterns(config: &Fields<'_>, key: &str) -> Result<Vec<String>, ConfigError> {
    let written = config.strings(key)?;
    for pattern in &written {
        KeyPatterns::new(std::slice::from_ref(&pattern.value))
            .map_err(|message| ConfigError::new(pattern.span, message))?;
    }
    Ok(written.into_iter().map(|s| s.value).collect())
}

fn read_healthcheck(node: &Node) -> Result<SpecHealthcheck, ConfigError> {
    let check = fields(
        node,
        "healthcheck",
        &["test", "interval", "timeout", "startPeriod", "retries"],
    )?;
    let seconds = |key: &str| -> Result<i64, ConfigError> {
        match check.get(key) {
            None => Ok(0),
            Some(Node {
                kind: Kind::Int(n), ..
            }) if *n >= 0 => Ok(*n),
            Some(node) => Err(wrong_type(node, key, "a whole number of seconds")),
        }
    };
    Ok(SpecHealthcheck {
        test: check
            .strings("test")?
            .into_iter()
            .map(|s| s.value)
            .collect(),
        interval: seconds("interval")?,
        timeout: seconds("timeout")?,
        start_period: seconds("startPeriod")?,
        retries: seconds("retries")?,
    })
}

/// The image's spec with the project's merged in, as werf's `mergeImageSpec` does (an
/// image without its own imageSpec gets the project's).
pub(super) fn merge_global(global: &ImageSpec, image: Option<ImageSpec>) -> ImageSpec {
    let mut image = image.unwrap_or_default();
    if let Some(author) = global.author.as_ref().filter(|a| !a.is_empty()) {
        image.author = Some(author.clone());
    }
    image.clear_history |= global.clear_history;
    image.keep_essential_werf_labels |= global.keep_essential_werf_labels;
    image.labels.extend(global.labels.clone());
    for pattern in &global.remove_labels {
        if !image.remove_labels.contains(pattern) {
            image.remove_labels.push(pattern.clone());
        }
    }
    image
}

/// werf expands `%project%` and `%image%` in imageSpec label keys and values (a text
/// template with `%` delimiters and those two functions).
pub(super) fn expand_label_templates(spec: &mut ImageSpec, project: &str, image: &str) {
    let expand = |text: &str| text.replace("%project%", project).replace("%image%", image);
    spec.labels = spec
        .labels
        .iter()
        .map(|(key, value)| (expand(key), expand(value)))
        .collect();
}

/// Names matched by `removeEnv`/`removeLabels`: a pattern written `/…/` is a regular
/// expression that must match the whole name, anything else the exact name (werf's
/// `compileRemovePatterns`; Go's RE2 syntax and the regex crate's agree on what werf
/// configs use).
#[derive(Clone, Debug)]
pub struct KeyPatterns {
    exact: BTreeSet<String>,
    regexes: Vec<Regex>,
}

impl KeyPatterns {
    pub fn new(patterns: &[String]) -> Result<KeyPatterns, String> {
        let mut out = KeyPatterns {
            exact: BTreeSet::new(),
            regexes: Vec::new(),
        };
        for pattern in patterns {
            match pattern.strip_prefix('/').and_then(|p| p.strip_suffix('/')) {
                Some(expression) => {
                    let regex = Regex::new(&format!("^(?:{expression})$")).map_err(|e| {
                        format!("invalid regular expression {pattern:?}: {}", error_text(&e))
                    })?;
                    out.regexes.push(regex);
                }
                None => {
                    out.exact.insert(pattern.clone());
                }
            }
        }
        Ok(out)
    }

    pub fn matches(&self, key: &str) -> bool {
        self.exact.contains(key) || self.regexes.iter().any(|r| r.is_match(key))
    }
}

/// The regex crate's errors draw the pattern over several lines; the last line says
/// what is wrong.
fn error_text(error: &regex::Error) -> String {
    let text = error.to_string();
    text.lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or(&text)
        .trim()
        .trim_start_matches("error: ")
        .to_string()
}

#[cfg(test)]
#[path = "image_spec_tests.rs"]
mod tests;
