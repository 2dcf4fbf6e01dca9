//! The imageSpec stage: the previous stage's image config rewritten as werf's
//! `ImageSpecStage` and `UpdateConfigFile` do — removals before additions, a clear
//! before the value it clears, an ENTRYPOINT without CMD dropping the inherited CMD.

use crate::diag::Span;
use crate::dockerfile::shell::Lexer;
use crate::werf::{ImageSpec, KeyPatterns};

use super::image::{Empty, Healthcheck, History};
use super::{LowerError, StageState};

const NANOS_PER_SECOND: i64 = 1_000_000_000;

pub(super) fn apply_image_spec(
    st: &mut StageState,
    spec: &ImageSpec,
    name: &str,
    span: Span,
) -> Result<(), LowerError> {
    let wrong = |message: String| LowerError::Werf { message, span };
    let remove_labels = KeyPatterns::new(&spec.remove_labels).map_err(wrong)?;
    let remove_env = KeyPatterns::new(&spec.remove_env).map_err(wrong)?;
    // Env values expand against the environment before the stage (werf's
    // `shlexProcessWord(value, env)`), as an ENV instruction's would.
    let before = st.env.clone();
    let lexer = Lexer::new('\\');
    let mut added = Vec::new();
    for (key, value) in &spec.env {
        let expanded = lexer
            .expand_word(value, |var| {
                before
                    .iter()
                    .find(|(k, _)| k == var)
                    .map(|(_, v)| v.clone())
            })
            .map_err(|e| wrong(format!("imageSpec.config.env.{key}: {e}")))?;
        added.push((key, expanded.value));
    }

    let image = &mut st.image;
    let config = &mut image.config;
    config.labels.retain(|key, _| !remove_labels.matches(key));
    config.labels.extend(spec.labels.clone());
    config.env.retain(|entry| {
        let key = entry.split_once('=').map_or(entry.as_str(), |(k, _)| k);
        !remove_env.matches(key)
    });
    st.env.retain(|(key, _)| !remove_env.matches(key));
    for volume in &spec.remove_volumes {
        config.volumes.remove(volume);
    }
    for volume in &spec.volumes {
        config.volumes.insert(volume.clone(), Empty {});
    }
    if let Some(ports) = &spec.expose {
        config.exposed_ports = ports
            .iter()
            .map(|port| {
                let port = if port.contains('/') {
                    port.clone()
                } else {
                    format!("{port}/tcp")
                };
                (port, Empty {})
            })
            .collect();
    }
    if let Some(check) = &spec.healthcheck {
        config.healthcheck = Some(Healthcheck {
            test: check.test.clone(),
            interval: check.interval * NANOS_PER_SECOND,
            timeout: check.timeout * NANOS_PER_SECOND,
            start_period: check.start_period * NANOS_PER_SECOND,
            retries: check.retries,
            ..Healthcheck::default()
        });
    }
    if spec.clear_user {
        config.user.clear();
    }
    if let Some(user) = spec.user.as_ref().filter(|u| !u.is_empty()) {
        config.user = user.clone();
    }
    if spec.clear_cmd || (!spec.entrypoint.is_empty() && spec.cmd.is_empty()) {
        config.cmd.clear();
    }
    if !spec.cmd.is_empty() {
        config.cmd = spec.cmd.clone();
    }
    if spec.clear_entrypoint {
        config.entrypoint.clear();
    }
    if !spec.entrypoint.is_empty() {
        config.entrypoint = spec.entrypoint.clone();
    }
    if spec.clear_working_dir {
        config.working_dir.clear();
    }
    if let Some(dir) = spec.working_dir.as_ref().filter(|d| !d.is_empty()) {
        config.working_dir = dir.clone();
    }
    if let Some(signal) = spec.stop_signal.as_ref().filter(|s| !s.is_empty()) {
        config.stop_signal = signal.clone();
    }
    if let Some(author) = spec.author.as_ref().filter(|a| !a.is_empty()) {
        image.author = author.clone();
    }
    for (key, value) in &added {
        image.set_env(key, value);
    }
    if spec.clear_history {
        // werf empties the history. BuildKit's exporter wants one entry per layer and
        // writes any missing one itself, with the command that made the layer; so one
        // bare entry per layer is kept (BuildKit dates it), and nothing more.
        let layers = image.history.iter().filter(|h| !h.empty_layer).count();
        image.history = vec![History::default(); layers];
    } else {
        image.commit(format!("werf {name}"), false, false);
    }
    for (key, value) in &added {
        st.set_env(key, value);
    }
    Ok(())
}

#[cfg(test)]
#[path = "werf_image_spec_tests.rs"]
mod tests;
