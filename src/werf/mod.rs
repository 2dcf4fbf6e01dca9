//! werf.yaml support: the Go text/template engine that renders it, YAML documents with
//! positions, and the typed stapel config. No LLB here: the graph turns a
//! [`WerfConfig`] into stages and `lower` builds them.
//!
//! ```
//! use conveyor::werf;
//! let text = "project: demo\nconfigVersion: 1\n---\nimage: app\nfrom: alpine\nshell:\n  install: echo hi\n";
//! let loaded = werf::load("werf.yaml", text, &werf::TemplateEnv::without_project()).unwrap();
//! assert_eq!(loaded.config.images[0].name, "app");
//! ```

mod config;
mod error;
mod fields;
mod git;
mod model;
mod sections;
pub mod template;
mod yaml;

use std::sync::Arc;

pub use error::WerfError;
pub use fields::Located;
pub use git::commit_of;
pub use model::{
    Command, Dependency, DependencyImport, DependencyValue, DockerSettings, DockerfileImage,
    FromBase, GitMapping, Image, ImageSpec, Import, ImportPoint, Mount, MountKind, Secret,
    SecretValue, Shell, Stapel, UserStage, WerfConfig,
};
pub use template::TemplateEnv;

/// A loaded werf.yaml: the config and the rendered text its spans point into.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub config: WerfConfig,
    pub rendered: Arc<str>,
}

/// Renders `text` (the file `file_name`) with `env`, splits it into YAML documents and
/// reads them into the typed config.
pub fn load(file_name: &str, text: &str, env: &TemplateEnv) -> Result<Loaded, WerfError> {
    let rendered: Arc<str> = Arc::from(template::render(file_name, text, env)?);
    let documents = yaml::documents(&rendered).map_err(|e| WerfError::config(e, &rendered))?;
    let mut config = config::read(&documents).map_err(|e| WerfError::config(e, &rendered))?;
    for image in &mut config.dockerfile_images {
        let path = template::normalize(&image.dockerfile.value).map_err(|e| {
            WerfError::config(error::ConfigError::new(image.dockerfile.span, e), &rendered)
        })?;
        image.text = env.files.read(&path).map_err(|e| {
            WerfError::config(error::ConfigError::new(image.dockerfile.span, e), &rendered)
        })?;
    }
    Ok(Loaded { config, rendered })
}

/// Whether a build file is a werf config: named `werf.yaml`/`werf.yml` (any directory),
/// or its first lines (after comments such as `# syntax=`) start a werf meta document.
pub fn is_werf_config(file_name: &str, text: &str) -> bool {
    let base = file_name.rsplit('/').next().unwrap_or(file_name);
    if base == "werf.yaml" || base == "werf.yml" {
        return true;
    }
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .is_some_and(|line| line.starts_with("project:") || line.starts_with("configVersion:"))
}

impl TemplateEnv {
    /// An environment with no project files, no commit and no variables: what a config
    /// that needs none of them renders with (tests, examples).
    pub fn without_project() -> TemplateEnv {
        TemplateEnv {
            env: String::new(),
            commit: Err("no git repository was given".into()),
            files: Arc::new(template::MemoryFiles::default()),
            env_vars: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests;
