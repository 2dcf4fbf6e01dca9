//! Readers of the sections of a stapel image: git, shell, import, docker, imageSpec,
//! mount. Each refuses unknown keys and reports errors at the key or value.

use std::collections::BTreeMap;

use super::config::not_supported_yet;
use super::error::ConfigError;
use super::fields::{Fields, Located, fields, string, strings};
use super::model::{
    Command, Dependency, DependencyImport, DependencyValue, DockerSettings, GitMapping, ImageSpec,
    Import, ImportPoint, Mount, MountKind, Secret, SecretValue, Shell, UserStage,
};
use super::yaml::{Kind, Node};

pub(super) fn absolute(value: Located<String>, what: &str) -> Result<String, ConfigError> {
    if !value.value.starts_with('/') {
        return Err(ConfigError::new(
            value.span,
            format!("{what} must be an absolute path, not {:?}", value.value),
        ));
    }
    Ok(value.value)
}

pub(super) fn relative_globs(fields: &Fields<'_>, key: &str) -> Result<Vec<String>, ConfigError> {
    fields
        .strings(key)?
        .into_iter()
        .map(|glob| {
            if glob.value.starts_with('/') {
                Err(ConfigError::new(
                    glob.span,
                    format!(
                        "{key} must be relative paths or globs, not {:?}",
                        glob.value
                    ),
                ))
            } else {
                Ok(glob.value)
            }
        })
        .collect()
}

pub(super) fn read_git(node: &Node) -> Result<GitMapping, ConfigError> {
    let git = fields(
        node,
        "a git mapping",
        &[
            "add",
            "to",
            "owner",
            "group",
            "includePaths",
            "excludePaths",
            "stageDependencies",
            "url",
            "branch",
            "tag",
            "commit",
        ],
    )?;
    for key in ["url", "branch", "tag", "commit"] {
        not_supported_yet(&git, key, &format!("git `{key}` (remote repositories)"))?;
    }
    let add = match git.string("add")? {
        Some(add) => absolute(add, "git add")?,
        None => "/".to_string(),
    };
    let to = git
        .string("to")?
        .ok_or_else(|| ConfigError::new(node.span, "a git mapping needs `to`"))?;
    let mut stage_dependencies = BTreeMap::new();
    if let Some(deps) = git.get("stageDependencies") {
        let deps = fields(
            deps,
            "stageDependencies",
            &["install", "beforeSetup", "setup"],
        )?;
        for stage in [UserStage::Install, UserStage::BeforeSetup, UserStage::Setup] {
            let globs = relative_globs(&deps, stage.name())?;
            if !globs.is_empty() {
                stage_dependencies.insert(stage, globs);
            }
        }
    }
    Ok(GitMapping {
        add,
        to: absolute(to, "git to")?,
        owner: git.string("owner")?.map(|s| s.value),
        group: git.string("group")?.map(|s| s.value),
        include_paths: relative_globs(&git, "includePaths")?,
        exclude_paths: relative_globs(&git, "excludePaths")?,
        stage_dependencies,
        span: node.span,
    })
}

pub(super) fn read_shell(node: &Node) -> Result<Shell, ConfigError> {
    let mut keys = vec!["cacheVersion"];
    let cache_keys: Vec<String> = UserStage::ALL
        .iter()
        .map(|s| format!("{}CacheVersion", s.name()))
        .collect();
    keys.extend(UserStage::ALL.iter().map(|s| s.name()));
    keys.extend(cache_keys.iter().map(String::as_str));
    let shell = fields(node, "shell", &keys)?;
    let mut out = Shell {
        cache_version: shell.string("cacheVersion")?.map(|s| s.value),
        ..Shell::default()
    };
    for (stage, cache_key) in UserStage::ALL.iter().zip(&cache_keys) {
        let commands = shell.strings(stage.name())?;
        if !commands.is_empty() {
            out.commands.insert(*stage, commands);
        }
        if let Some(version) = shell.string(cache_key)? {
            out.stage_cache_versions.insert(*stage, version.value);
        }
    }
    Ok(out)
}

/// `before` or `after` install or setup: where an import or a dependency lands.
fn stage_point(
    fields: &Fields<'_>,
    at: crate::diag::Span,
    what: &str,
) -> Result<ImportPoint, ConfigError> {
    match (fields.string("before")?, fields.string("after")?) {
        (Some(point), None) | (None, Some(point)) => {
            match (fields.has("before"), point.value.as_str()) {
                (true, "install") => Ok(ImportPoint::BeforeInstall),
                (false, "install") => Ok(ImportPoint::AfterInstall),
                (true, "setup") => Ok(ImportPoint::BeforeSetup),
                (false, "setup") => Ok(ImportPoint::AfterSetup),
                _ => Err(ConfigError::new(
                    point.span,
                    format!("expected `install` or `setup`, not {:?}", point.value),
                )),
            }
        }
        (Some(_), Some(_)) => Err(ConfigError::new(
            fields.key_span("after").unwrap_or(at),
            format!("{what} takes `before` or `after`, not both"),
        )),
        (None, None) => Err(ConfigError::new(
            at,
            format!("{what} needs `before` or `after` (install or setup)"),
        )),
    }
}

pub(super) fn read_import(node: &Node) -> Result<Import, ConfigError> {
    let import = fields(
        node,
        "an import",
        &[
            "image",
            "artifact",
            "from",
            "add",
            "to",
            "owner",
            "group",
            "includePaths",
            "excludePaths",
            "before",
            "after",
            "stage",
        ],
    )?;
    not_supported_yet(&import, "from", "import `from` (external images)")?;
    let source = match (import.string("image")?, import.string("artifact")?) {
        (Some(image), None) => image,
        (None, Some(artifact)) => artifact,
        (Some(_), Some(_)) => {
            let span = import.key_span("artifact").unwrap_or(node.span);
            return Err(ConfigError::new(
                span,
                "an import takes `image` or `artifact`, not both",
            ));
        }
        (None, None) => {
            return Err(ConfigError::new(
                node.span,
                "an import needs `image` or `artifact`",
            ));
        }
    };
    let point = stage_point(&import, node.span, "an import")?;
    let add_located = import
        .string("add")?
        .ok_or_else(|| ConfigError::new(node.span, "an import needs `add`"))?;
    let add = absolute(add_located.clone(), "import add")?;
    let include_paths = relative_globs(&import, "includePaths")?;
    if add == "/" && include_paths.is_empty() {
        return Err(ConfigError::new(
            add_located.span,
            "importing `/` needs includePaths",
        ));
    }
    let to = match import.string("to")? {
        Some(to) => absolute(to, "import to")?,
        None => add.clone(),
    };
    Ok(Import {
        source,
        stage: import.string("stage")?,
        add,
        to,
        owner: import.string("owner")?.map(|s| s.value),
        group: import.string("group")?.map(|s| s.value),
        include_paths,
        exclude_paths: relative_globs(&import, "excludePaths")?,
        point,
        span: node.span,
    })
}

fn read_command(node: &Node, what: &str) -> Result<Command, ConfigError> {
    match &node.kind {
        Kind::Seq(_) => Ok(Command::Exec(
            strings(node, what)?.into_iter().map(|s| s.value).collect(),
        )),
        _ => {
            let text = string(node, what)?.value;
            // werf, like a Dockerfile, takes a JSON array written as a string as exec form.
            match serde_json::from_str::<Vec<String>>(&text) {
                Ok(args) if text.trim_start().starts_with('[') => Ok(Command::Exec(args)),
                _ => Ok(Command::Shell(text)),
            }
        }
    }
}

pub(super) fn read_docker(node: &Node) -> Result<DockerSettings, ConfigError> {
    let docker = fields(
        node,
        "docker",
        &[
            "VOLUME",
            "EXPOSE",
            "ENV",
            "LABEL",
            "ENTRYPOINT",
            "CMD",
            "WORKDIR",
            "USER",
            "HEALTHCHECK",
            "exactValues",
        ],
    )?;
    let text = |key| docker.string(key).map(|v| v.map(|s| s.value));
    Ok(DockerSettings {
        volumes: docker
            .strings("VOLUME")?
            .into_iter()
            .map(|s| s.value)
            .collect(),
        expose: docker
            .strings("EXPOSE")?
            .into_iter()
            .map(|s| s.value)
            .collect(),
        env: docker.string_map("ENV")?,
        labels: docker.string_map("LABEL")?,
        cmd: docker
            .get("CMD")
            .map(|n| read_command(n, "CMD"))
            .transpose()?,
        entrypoint: docker
            .get("ENTRYPOINT")
            .map(|n| read_command(n, "ENTRYPOINT"))
            .transpose()?,
        workdir: text("WORKDIR")?,
        user: text("USER")?,
        healthcheck: text("HEALTHCHECK")?,
    })
}

pub(super) fn read_image_spec(node: &Node) -> Result<ImageSpec, ConfigError> {
    let spec = fields(node, "imageSpec", &["author", "clearHistory", "config"])?;
    not_supported_yet(&spec, "clearHistory", "imageSpec.clearHistory")?;
    let mut out = ImageSpec {
        author: spec.string("author")?.map(|s| s.value),
        ..ImageSpec::default()
    };
    let Some(config) = spec.get("config") else {
        return Ok(out);
    };
    let keys = [
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
    let config = fields(config, "imageSpec.config", &keys)?;
    for key in &keys[9..] {
        not_supported_yet(&config, key, &format!("imageSpec.config.{key}"))?;
    }
    let values = |key| -> Result<Vec<String>, ConfigError> {
        Ok(config.strings(key)?.into_iter().map(|s| s.value).collect())
    };
    out.volumes = values("volumes")?;
    out.labels = config.string_map("labels")?;
    out.env = config.string_map("env")?;
    out.expose = values("expose")?;
    out.user = config.string("user")?.map(|s| s.value);
    out.cmd = values("cmd")?;
    out.entrypoint = values("entrypoint")?;
    out.working_dir = config.string("workingDir")?.map(|s| s.value);
    out.stop_signal = config.string("stopSignal")?.map(|s| s.value);
    Ok(out)
}

pub(super) fn read_mount(node: &Node, earlier: &[Mount]) -> Result<Mount, ConfigError> {
    let mount = fields(node, "a mount", &["from", "fromPath", "to"])?;
    not_supported_yet(&mount, "fromPath", "mount `fromPath` (host directories)")?;
    let from = mount.string("from")?.ok_or_else(|| {
        ConfigError::new(node.span, "a mount needs `from` (tmp_dir or build_dir)")
    })?;
    let kind = match from.value.as_str() {
        "tmp_dir" => MountKind::TmpDir,
        "build_dir" => MountKind::BuildDir,
        other => {
            return Err(ConfigError::new(
                from.span,
                format!("mount from must be tmp_dir or build_dir, not {other:?}"),
            ));
        }
    };
    let to_located = mount
        .string("to")?
        .ok_or_else(|| ConfigError::new(node.span, "a mount needs `to`"))?;
    let to = absolute(to_located.clone(), "mount to")?;
    if earlier.iter().any(|m| m.to == to) {
        return Err(ConfigError::new(
            to_located.span,
            format!("two mounts at {to:?}"),
        ));
    }
    Ok(Mount { kind, to })
}

/// `secrets:`: each item one of `env`, `src` or `value` (with `id`, which `value`
/// needs); ids are unique within an image.
pub(super) fn read_secrets(doc: &Fields<'_>) -> Result<Vec<Secret>, ConfigError> {
    let mut out: Vec<Secret> = Vec::new();
    for node in doc.list("secrets")? {
        let item = fields(node, "a secret", &["id", "env", "src", "value"])?;
        let id = item.string("id")?;
        let sources = [
            item.string("env")?
                .map(|v| (v.clone(), SecretValue::Env(v.value))),
            item.string("src")?
                .map(|v| (v.clone(), SecretValue::File(v.value))),
            item.string("value")?
                .map(|v| (v.clone(), SecretValue::Literal(v.value))),
        ];
        let mut given = sources.into_iter().flatten();
        let (written, value) = match (given.next(), given.next()) {
            (Some(one), None) => one,
            _ => {
                return Err(ConfigError::new(
                    node.span,
                    "a secret needs exactly one of `env`, `src` or `value`",
                ));
            }
        };
        let id = match (id, &value) {
            (Some(id), _) if !id.value.is_empty() => id,
            (_, SecretValue::Env(var)) => Located {
                value: var.clone(),
                span: written.span,
            },
            (_, SecretValue::File(path)) => Located {
                value: path.rsplit('/').next().unwrap_or(path).to_string(),
                span: written.span,
            },
            (_, SecretValue::Literal(_)) => {
                return Err(ConfigError::new(
                    node.span,
                    "a secret with `value` needs an `id`",
                ));
            }
        };
        if id.value.is_empty() || id.value.contains('/') || id.value.starts_with('.') {
            return Err(ConfigError::new(
                id.span,
                format!("secret id {:?} is not a file name", id.value),
            ));
        }
        if out.iter().any(|secret| secret.id == id.value) {
            return Err(ConfigError::new(
                id.span,
                format!("two secrets with the id {:?}", id.value),
            ));
        }
        out.push(Secret {
            id: id.value,
            value,
            span: node.span,
        });
    }
    Ok(out)
}

/// A `dependencies` item of a stapel image: `image`, `before`/`after`, and `imports`
/// of `type` into `targetEnv` (unique within the dependency, as werf checks).
pub(super) fn read_dependency(node: &Node) -> Result<Dependency, ConfigError> {
    let dependency = fields(
        node,
        "a dependency",
        &["image", "before", "after", "imports"],
    )?;
    let image = dependency
        .string("image")?
        .ok_or_else(|| ConfigError::new(node.span, "a dependency needs `image`"))?;
    let point = stage_point(&dependency, node.span, "a dependency")?;
    let mut imports: Vec<DependencyImport> = Vec::new();
    for item in dependency.list("imports")? {
        let import = fields(
            item,
            "a dependency import",
            &["type", "targetEnv", "targetBuildArg"],
        )?;
        if let Some(span) = import.key_span("targetBuildArg") {
            return Err(ConfigError::new(
                span,
                "`targetBuildArg` is for Dockerfile images; a stapel image takes `targetEnv`",
            ));
        }
        let kind = import
            .string("type")?
            .ok_or_else(|| ConfigError::new(item.span, "a dependency import needs `type`"))?;
        let value = DependencyValue::ALL
            .into_iter()
            .find(|v| v.name() == kind.value)
            .ok_or_else(|| {
                let names: Vec<&str> = DependencyValue::ALL.iter().map(|v| v.name()).collect();
                ConfigError::new(
                    kind.span,
                    format!(
                        "expected a dependency import type ({}), not {:?}",
                        names.join(", "),
                        kind.value
                    ),
                )
            })?;
        let target_env = import
            .string("targetEnv")?
            .ok_or_else(|| ConfigError::new(item.span, "a dependency import needs `targetEnv`"))?;
        if imports.iter().any(|i| i.target_env == target_env.value) {
            return Err(ConfigError::new(
                target_env.span,
                format!(
                    "targetEnv {:?} is imported twice in this dependency",
                    target_env.value
                ),
            ));
        }
        imports.push(DependencyImport {
            value,
            target_env: target_env.value,
        });
    }
    Ok(Dependency {
        image,
        point,
        imports,
        span: node.span,
    })
}
