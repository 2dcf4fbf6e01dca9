//! Readers of the sections of a stapel image: git, shell, import, docker, mount
//! (imageSpec: `image_spec`). Each refuses unknown keys and reports errors at the key or value.

use std::collections::BTreeMap;

use super::error::ConfigError;
use super::fields::{Fields, Located, fields, string, strings};
use super::model::{
    Command, Dependency, DependencyImport, DependencyValue, DockerSettings, GitMapping, Import,
    ImportPoint, Mount, MountKind, Secret, SecretValue, Shell, UserStage,
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
            "basicAuth",
        ],
    )?;
    let remote = super::remote::read_remote(&git)?;
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
        remote,
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
    // werf reads `from` as `image` (the newer spelling); either names an external image
    // when the reference has a tag or digest, else an image of the config.
    let mut written: Vec<&str> = ["image", "from", "artifact"]
        .into_iter()
        .filter(|k| import.has(k))
        .collect();
    written.sort_by_key(|k| import.key_span(k).map(|span| span.start));
    let source = match written.as_slice() {
        [key] => import.string(key)?.expect("present"),
        [first, second, ..] => {
            let span = import.key_span(second).unwrap_or(node.span);
            return Err(ConfigError::new(
                span,
                format!(
                    "an import takes one of `image`, `from` or `artifact`, not `{first}` and `{second}`"
                ),
            ));
        }
        [] => {
            return Err(ConfigError::new(
                node.span,
                "an import needs `image`, `from` or `artifact`",
            ));
        }
    };
    let external = written[0] != "artifact" && has_tag_or_digest(&source.value);
    let stage = import.string("stage")?;
    if let (true, Some(stage)) = (external, &stage) {
        return Err(ConfigError::new(
            stage.span,
            format!(
                "`stage` names a stage of an image of this config; {:?} is an external image",
                source.value
            ),
        ));
    }
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
        external,
        stage,
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

/// Whether an image reference names a tag or a digest (`alpine:3.20`,
/// `registry:5000/app@sha256:…`), which makes an import's source external, as werf's
/// `hasTagOrDigest` decides: a port in the registry part is not a tag.
fn has_tag_or_digest(reference: &str) -> bool {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    reference.contains('@') || last.contains(':')
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

pub(super) fn read_mount(node: &Node, earlier: &[Mount]) -> Result<Mount, ConfigError> {
    let mount = fields(node, "a mount", &["from", "fromPath", "to"])?;
    let kind = match (mount.string("from")?, mount.string("fromPath")?) {
        (Some(_), Some(_)) => {
            let span = mount.key_span("fromPath").unwrap_or(node.span);
            return Err(ConfigError::new(
                span,
                "a mount takes `from` or `fromPath`, not both",
            ));
        }
        (None, Some(path)) if path.value.is_empty() => {
            return Err(ConfigError::new(path.span, "fromPath must not be empty"));
        }
        (None, Some(path)) => MountKind::FromPath(path),
        (Some(from), None) => match from.value.as_str() {
            "tmp_dir" => MountKind::TmpDir,
            "build_dir" => MountKind::BuildDir,
            other => {
                return Err(ConfigError::new(
                    from.span,
                    format!("mount from must be tmp_dir or build_dir, not {other:?}"),
                ));
            }
        },
        (None, None) => {
            return Err(ConfigError::new(
                node.span,
                "a mount needs `from` (tmp_dir or build_dir) or `fromPath` (a host directory)",
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
#[cfg(test)]
#[path = "import_tests.rs"]
mod import_tests;

#[cfg(test)]
#[path = "mount_tests.rs"]
mod mount_tests;
