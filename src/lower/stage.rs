//! The state of one stage while it is lowered, BuildKit's `dispatchState`: its LLB
//! state, image config, environment, working dir, user and vertex numbering.

use super::image::ImageConfig;
use crate::llb;

/// One stage while it is being lowered: BuildKit's `dispatchState`.
#[derive(Clone)]
pub(super) struct StageState {
    pub(super) state: llb::State,
    pub(super) image: ImageConfig,
    /// The process environment: image ENV plus ARG values. Setting a key moves it last.
    pub(super) env: Vec<(String, String)>,
    pub(super) dir: String,
    pub(super) user: String,
    pub(super) platform: llb::Platform,
    /// ARGs declared in this stage with their values, for RUN history lines.
    pub(super) args: Vec<(String, Option<String>)>,
    pub(super) cmd_set: bool,
    /// Name in vertex prefixes; empty when the build has a single stage.
    pub(super) prefix_name: String,
    /// Vertex prefixes start with the platform (a multi-platform build).
    pub(super) prefix_platform: bool,
    pub(super) stage_index: usize,
    pub(super) cmd_index: usize,
    pub(super) cmd_total: usize,
    /// The werf Dockerfile image of the stage: its `args`, `network` and `addHost`.
    pub(super) werf_dockerfile: Option<std::sync::Arc<crate::werf::DockerfileImage>>,
}

impl StageState {
    /// A stage from scratch: nothing on disk, BuildKit's empty image config.
    pub(super) fn empty(platform: &llb::Platform) -> StageState {
        StageState::with_image(platform, super::empty_image(platform))
    }

    /// A stage from scratch with `image` for its config.
    pub(super) fn with_image(platform: &llb::Platform, image: ImageConfig) -> StageState {
        StageState {
            state: llb::State::scratch(),
            image,
            env: Vec::new(),
            dir: "/".into(),
            user: String::new(),
            platform: platform.clone(),
            args: Vec::new(),
            cmd_set: false,
            prefix_name: String::new(),
            prefix_platform: false,
            stage_index: 0,
            cmd_index: 0,
            cmd_total: 0,
            werf_dockerfile: None,
        }
    }

    /// What another stage's COPY --from or mount reads of this one: its filesystem
    /// and platform, with no config, environment or arguments.
    pub(super) fn filesystem(&self) -> StageState {
        StageState {
            state: self.state.clone(),
            stage_index: self.stage_index,
            ..StageState::with_image(&self.platform, ImageConfig::default())
        }
    }

    pub(super) fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    /// `set_env` of each `KEY=value` entry in order, in one pass: a stage built FROM a
    /// long chain of stages inherits thousands of entries, and one `set_env` each was
    /// quadratic per stage.
    pub(super) fn set_envs(&mut self, entries: &[String]) {
        let mut last: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        let pairs: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| e.split_once('=').unwrap_or((e.as_str(), "")))
            .collect();
        for (i, (key, _)) in pairs.iter().enumerate() {
            last.insert(key, i);
        }
        self.env.retain(|(k, _)| !last.contains_key(k.as_str()));
        self.env.extend(
            pairs
                .iter()
                .enumerate()
                .filter(|(i, (key, _))| last[key] == *i)
                .map(|(_, (key, value))| (key.to_string(), value.to_string())),
        );
    }

    pub(super) fn env_value(&self, key: &str) -> Option<String> {
        self.env_str(key).map(str::to_string)
    }

    pub(super) fn env_str(&self, key: &str) -> Option<&str> {
        (self.env.iter())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn env_list(&self) -> Vec<String> {
        self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    /// `[platform name i/n] text`, as BuildKit's `prefixCommand` numbers the vertices
    /// of a stage (the platform only in a multi-platform build).
    pub(super) fn prefix(&mut self, text: &str) -> String {
        if self.cmd_total == 0 {
            return text.to_string();
        }
        use std::fmt::Write as _;
        self.cmd_index += 1;
        let width = self.cmd_total.checked_ilog10().unwrap_or(0) as usize + 1;
        // One allocation: every vertex gets a name.
        let mut name = String::with_capacity(self.prefix_name.len() + 2 * width + text.len() + 5);
        name.push('[');
        if self.prefix_platform {
            name.push_str(&self.platform.id());
            name.push_str(&self.cross_target());
            name.push(' ');
        }
        if !self.prefix_name.is_empty() {
            name.push_str(&self.prefix_name);
            name.push(' ');
        }
        write!(name, "{:>width$}/{}] ", self.cmd_index, self.cmd_total)
            .expect("writing to a String succeeds");
        name.push_str(text);
        name
    }

    /// `->arm64` (or `->os/arch` across systems) when the stage's environment names a
    /// target platform other than the one it runs on — `FROM --platform=$BUILDPLATFORM`
    /// with `ARG TARGETARCH` — as BuildKit's `formatTargetPlatform` shows cross builds.
    fn cross_target(&self) -> String {
        let value = |key: &str| self.env_value(key).unwrap_or_default();
        let (os, architecture, variant) = match self.env_value("TARGETPLATFORM") {
            Some(platform) => {
                let mut parts = platform.splitn(3, '/');
                let os = parts.next().unwrap_or_default().to_string();
                let architecture = parts.next().unwrap_or_default().to_string();
                (
                    os,
                    architecture,
                    parts.next().unwrap_or_default().to_string(),
                )
            }
            None => {
                let keys = ["TARGETOS", "TARGETARCH", "TARGETVARIANT"];
                if keys.iter().all(|key| self.env_value(key).is_none()) {
                    return String::new();
                }
                (
                    value("TARGETOS"),
                    value("TARGETARCH"),
                    value("TARGETVARIANT"),
                )
            }
        };
        let os = if os.is_empty() {
            self.platform.os.clone()
        } else {
            os
        };
        let architecture = if architecture.is_empty() {
            self.platform.architecture.clone()
        } else {
            architecture
        };
        // containerd's normalisation: arm64's only variant is v8, left unsaid.
        let variant = if architecture == "arm64" && variant == "v8" {
            String::new()
        } else {
            variant
        };
        let target = llb::Platform::new(&os, &architecture, &variant);
        if target.os == self.platform.os && target.architecture != self.platform.architecture {
            let mut arch = target.architecture.clone();
            if !target.variant.is_empty() {
                arch = format!("{arch}/{}", target.variant);
            }
            return format!("->{arch}");
        }
        if target.os != self.platform.os {
            return format!("->{}", target.id());
        }
        String::new()
    }
}
