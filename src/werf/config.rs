//! Reading a rendered werf.yaml's YAML documents into the model: the meta document,
//! stapel images and artifacts, Dockerfile images; names and references checked.

use crate::diag::Span;

use super::error::ConfigError;
use super::fields::{Fields, Located, fields, strings, wrong_type};
use super::image_spec::{
    expand_label_templates, merge_global, read_global_image_spec, read_image_spec,
};
use super::model::ImageSpec;
use super::model::{DockerfileImage, FromBase, Image, Shell, Stapel, WerfConfig};
use super::sections::{read_docker, read_git, read_import, read_mount, read_shell};
use super::yaml::{Document, Kind, Node};

const META_KEYS: &[&str] = &[
    "project",
    "configVersion",
    "build",
    "deploy",
    "cleanup",
    "gitWorktree",
];
const STAPEL_KEYS: &[&str] = &[
    "image",
    "artifact",
    "final",
    "from",
    "fromImage",
    "fromArtifact",
    "fromLatest",
    "fromCacheVersion",
    "cacheVersion",
    "disableGitAfterPatch",
    "git",
    "shell",
    "ansible",
    "import",
    "dependencies",
    "docker",
    "imageSpec",
    "mount",
    "platform",
    "network",
    "secrets",
];

/// Reads the documents of a rendered werf.yaml into the config model.
pub(super) fn read(documents: &[Document]) -> Result<WerfConfig, ConfigError> {
    let mut meta: Option<Meta> = None;
    let mut images: Vec<Image> = Vec::new();
    let mut dockerfile_images: Vec<DockerfileImage> = Vec::new();
    for document in documents {
        let root = &document.root;
        let Kind::Map(entries) = &root.kind else {
            return Err(wrong_type(root, "a werf.yaml document", "a mapping"));
        };
        let has = |key: &str| {
            entries
                .iter()
                .any(|(k, _)| k.scalar_text().as_deref() == Some(key))
        };
        if has("configVersion") || has("project") {
            if meta.is_some() {
                return Err(ConfigError::new(
                    root.span,
                    "duplicate meta document (project, configVersion)",
                ));
            }
            meta = Some(read_meta(root)?);
        } else if has("dockerfile") {
            for image in read_dockerfile_image(root)? {
                if images.iter().any(|i| i.name == image.name)
                    || dockerfile_images
                        .iter()
                        .any(|i: &DockerfileImage| i.name == image.name)
                {
                    return Err(ConfigError::new(
                        image.span,
                        format!("image {:?} is defined twice", image.name),
                    ));
                }
                dockerfile_images.push(image);
            }
        } else if has("image") || has("artifact") {
            for image in read_stapel(root)? {
                if images.iter().any(|i| i.name == image.name)
                    || dockerfile_images.iter().any(|i| i.name == image.name)
                {
                    return Err(ConfigError::new(
                        image.span,
                        format!("image {:?} is defined twice", image.name),
                    ));
                }
                images.push(image);
            }
        } else {
            return Err(ConfigError::new(
                root.span,
                "cannot recognize the type of this document: expected a meta document (configVersion, project), an image or an artifact",
            ));
        }
    }
    let Some(Meta {
        project,
        cache_version,
        platforms,
        image_spec,
    }) = meta
    else {
        return Err(ConfigError::new(
            Span::default(),
            "werf.yaml has no meta document; add one with `project: <name>` and `configVersion: 1`",
        ));
    };
    if images.is_empty() && dockerfile_images.is_empty() {
        return Err(ConfigError::new(
            Span::new(0, 0),
            "werf.yaml defines no image: add a document with `image: <name>`",
        ));
    }
    // `from:` naming an image of this file means that image, as in werf.
    let names: Vec<String> = images
        .iter()
        .map(|i| i.name.clone())
        .chain(dockerfile_images.iter().map(|i| i.name.clone()))
        .collect();
    for image in &mut images {
        if let FromBase::Image(reference) = &image.stapel.from
            && names.contains(&reference.value)
        {
            image.stapel.from = FromBase::Config(reference.clone());
        }
    }
    check_references(&images, &names)?;
    if let Some((global, _)) = &image_spec {
        // werf merges the project's imageSpec into final Dockerfile images too.
        for image in dockerfile_images.iter_mut().filter(|i| i.is_final) {
            image.image_spec = Some(merge_global(global, image.image_spec.take()));
        }
        for image in &mut images {
            if !image.is_artifact && image.stapel.is_final {
                image.stapel.image_spec =
                    Some(merge_global(global, image.stapel.image_spec.take()));
            }
        }
    }
    for image in &mut images {
        if let Some(spec) = &mut image.stapel.image_spec {
            expand_label_templates(spec, &project, &image.name);
        }
    }
    for image in &mut dockerfile_images {
        if let Some(spec) = &mut image.image_spec {
            expand_label_templates(spec, &project, &image.name);
        }
    }
    Ok(WerfConfig {
        project,
        cache_version,
        platforms,
        images,
        dockerfile_images,
    })
}

/// The meta document's settings.
struct Meta {
    project: String,
    cache_version: Option<String>,
    platforms: Vec<String>,
    /// `build.imageSpec`, with where its key is written.
    image_spec: Option<(ImageSpec, Span)>,
}

fn read_meta(root: &Node) -> Result<Meta, ConfigError> {
    let meta = fields(root, "the meta document", META_KEYS)?;
    let version = meta
        .get("configVersion")
        .ok_or_else(|| ConfigError::new(root.span, "the meta document needs `configVersion: 1`"))?;
    if version.kind != Kind::Int(1) {
        return Err(ConfigError::new(version.span, "configVersion must be 1"));
    }
    let project = meta
        .string("project")?
        .ok_or_else(|| ConfigError::new(root.span, "the meta document needs `project: <name>`"))?;
    if project.value.is_empty() {
        return Err(ConfigError::new(project.span, "project must not be empty"));
    }
    let (mut cache_version, mut platforms, mut image_spec) = (None, Vec::new(), None);
    if let Some(build) = meta.get("build") {
        let build = fields(
            build,
            "build",
            &["cacheVersion", "platform", "staged", "imageSpec"],
        )?;
        cache_version = build.string("cacheVersion")?.map(|s| s.value);
        platforms = platform_list(&build)?;
        if let (Some(node), Some(span)) = (build.get("imageSpec"), build.key_span("imageSpec")) {
            image_spec = Some((read_global_image_spec(node)?, span));
        }
    }
    Ok(Meta {
        project: project.value,
        cache_version,
        platforms,
        image_spec,
    })
}

/// `platform`: `os/arch[/variant]` platforms, as a string or a list, each once.
fn platform_list(fields: &Fields<'_>) -> Result<Vec<String>, ConfigError> {
    let mut platforms: Vec<String> = Vec::new();
    for platform in fields.strings("platform")? {
        let parts: Vec<&str> = platform.value.split('/').collect();
        if !(2..=3).contains(&parts.len()) || parts.iter().any(|part| part.is_empty()) {
            return Err(ConfigError::new(
                platform.span,
                format!(
                    "invalid platform {:?}: expected os/arch[/variant], as in linux/amd64",
                    platform.value
                ),
            ));
        }
        if platforms.contains(&platform.value) {
            return Err(ConfigError::new(
                platform.span,
                format!("platform {:?} is listed twice", platform.value),
            ));
        }
        platforms.push(platform.value);
    }
    Ok(platforms)
}

pub(super) fn not_supported_yet(
    fields: &Fields<'_>,
    key: &str,
    what: &str,
) -> Result<(), ConfigError> {
    match fields.key_span(key) {
        Some(span) if fields.get(key).is_some() => Err(ConfigError::new(
            span,
            format!("{what} is not supported yet"),
        )),
        _ => Ok(()),
    }
}

fn read_stapel(root: &Node) -> Result<Vec<Image>, ConfigError> {
    let doc = fields(root, "an image", STAPEL_KEYS)?;
    if let Some(span) = doc.key_span("ansible") {
        return Err(ConfigError::new(
            span,
            "ansible stages are not supported yet",
        ));
    }
    // Checked, and otherwise what conveyor always does: a base image is signed by the
    // digest it resolves to on every run, as werf does with `fromLatest: true`.
    doc.bool("fromLatest")?;
    let (names, is_artifact) = match (doc.get("image"), doc.get("artifact")) {
        (Some(_), Some(_)) => {
            let span = doc.key_span("artifact").unwrap_or(root.span);
            return Err(ConfigError::new(
                span,
                "`image` and `artifact` cannot be used together",
            ));
        }
        (Some(node), None) => (strings(node, "image")?, false),
        (None, Some(node)) => (strings(node, "artifact")?, true),
        (None, None) => {
            let span = doc
                .key_span("image")
                .or(doc.key_span("artifact"))
                .unwrap_or(root.span);
            return Err(ConfigError::new(
                span,
                "nameless images (`image: ~`) are not supported yet",
            ));
        }
    };
    if is_artifact {
        for key in ["docker", "final", "disableGitAfterPatch", "dependencies"] {
            if let Some(span) = doc.key_span(key) {
                return Err(ConfigError::new(
                    span,
                    format!("an artifact cannot have `{key}`"),
                ));
            }
        }
    }
    let stapel = read_stapel_body(&doc, root)?;
    Ok(names
        .into_iter()
        .map(|name| Image {
            name: name.value,
            span: name.span,
            is_artifact,
            stapel: stapel.clone(),
        })
        .collect())
}

fn read_stapel_body(doc: &Fields<'_>, root: &Node) -> Result<Stapel, ConfigError> {
    let written: Vec<&str> = ["from", "fromImage", "fromArtifact"]
        .into_iter()
        .filter(|k| doc.has(k))
        .collect();
    if written.len() > 1 {
        let span = doc.key_span(written[1]).unwrap_or(root.span);
        return Err(ConfigError::new(
            span,
            format!(
                "`{}` and `{}` cannot be used together",
                written[0], written[1]
            ),
        ));
    }
    let from = match written.first() {
        Some(&"from") => FromBase::Image(doc.string("from")?.expect("present")),
        Some(key) => FromBase::Config(doc.string(key)?.expect("present")),
        None => {
            return Err(ConfigError::new(
                root.span,
                "an image needs a base: `from`, `fromImage` or `fromArtifact`",
            ));
        }
    };
    let shell = match doc.get("shell") {
        Some(node) => read_shell(node)?,
        None => Shell::default(),
    };
    if doc.has("docker") && doc.has("imageSpec") {
        let span = doc.key_span("imageSpec").unwrap_or(root.span);
        return Err(ConfigError::new(
            span,
            "`docker` and `imageSpec` cannot be used together",
        ));
    }
    let network = read_network(doc)?;
    let mut mounts = Vec::new();
    for node in doc.list("mount")? {
        mounts.push(read_mount(node, &mounts)?);
    }
    Ok(Stapel {
        secrets: super::sections::read_secrets(doc)?,
        from,
        from_cache_version: doc.string("fromCacheVersion")?.map(|s| s.value),
        cache_version: doc.string("cacheVersion")?.map(|s| s.value),
        disable_git_after_patch: doc.bool("disableGitAfterPatch")?.unwrap_or(false),
        is_final: doc.bool("final")?.unwrap_or(true),
        git: doc
            .list("git")?
            .iter()
            .map(read_git)
            .collect::<Result<_, _>>()?,
        shell,
        imports: doc
            .list("import")?
            .iter()
            .map(read_import)
            .collect::<Result<_, _>>()?,
        dependencies: doc
            .list("dependencies")?
            .iter()
            .map(super::sections::read_dependency)
            .collect::<Result<_, _>>()?,
        docker: doc.get("docker").map(read_docker).transpose()?,
        image_spec: doc.get("imageSpec").map(read_image_spec).transpose()?,
        mounts,
        platforms: platform_list(doc)?,
        network,
    })
}

/// Every image named by `fromImage`/`fromArtifact`/`from`, an import or a dependency
/// exists, and no image is its own base.
fn check_references(images: &[Image], names: &[String]) -> Result<(), ConfigError> {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let missing = |name: &Located<String>, what: &str| {
        ConfigError::new(
            name.span,
            format!(
                "{what} {:?} is not an image or artifact of this werf.yaml (it has: {})",
                name.value,
                names.join(", ")
            ),
        )
    };
    for image in images {
        if let FromBase::Config(base) = &image.stapel.from {
            if !names.contains(&base.value.as_str()) {
                return Err(missing(base, "the base image"));
            }
            if base.value == image.name {
                return Err(ConfigError::new(
                    base.span,
                    "an image cannot be its own base",
                ));
            }
        }
        for import in image.stapel.imports.iter().filter(|i| !i.external) {
            if !names.contains(&import.source.value.as_str()) {
                let mut error = missing(&import.source, "the imported image");
                error
                    .message
                    .push_str("; an external image needs a tag or digest (`alpine:3.20`)");
                return Err(error);
            }
            if import.source.value == image.name {
                return Err(ConfigError::new(
                    import.source.span,
                    "an image cannot import from itself",
                ));
            }
        }
        for dependency in &image.stapel.dependencies {
            if !names.contains(&dependency.image.value.as_str()) {
                return Err(missing(&dependency.image, "the dependency"));
            }
            if dependency.image.value == image.name {
                return Err(ConfigError::new(
                    dependency.image.span,
                    "an image cannot depend on itself",
                ));
            }
        }
    }
    Ok(())
}

fn read_dockerfile_image(root: &Node) -> Result<Vec<DockerfileImage>, ConfigError> {
    let keys = [
        "image",
        "dockerfile",
        "context",
        "target",
        "secrets",
        "args",
        "addHost",
        "network",
        "ssh",
        "staged",
        "dependencies",
        "final",
        "cacheVersion",
        "platform",
        "imageSpec",
        "contextAddFiles",
        "contextAddFile",
    ];
    let doc = fields(root, "a Dockerfile image", &keys)?;
    for key in ["staged", "dependencies", "platform"] {
        not_supported_yet(&doc, key, &format!("`{key}` of a Dockerfile image"))?;
    }
    // werf sends git-tracked files only, and these besides; conveyor's context holds
    // every file of the directory (less `.dockerignore`), so they are there already.
    if doc.has("contextAddFile") && doc.has("contextAddFiles") {
        let span = doc.key_span("contextAddFile").unwrap_or(root.span);
        return Err(ConfigError::new(
            span,
            "`contextAddFile` and `contextAddFiles` cannot be used together",
        ));
    }
    for key in ["contextAddFile", "contextAddFiles"] {
        for path in doc.strings(key)? {
            if path.value.starts_with('/') || path.value.split('/').any(|p| p == "..") {
                return Err(ConfigError::new(
                    path.span,
                    format!(
                        "{key} paths must be relative to the context, not {:?}",
                        path.value
                    ),
                ));
            }
        }
    }
    let network = read_network(&doc)?;
    let mut add_hosts = Vec::new();
    for entry in doc.strings("addHost")? {
        // docker's `--add-host host:ip`; an IPv6 address keeps its own colons.
        match entry.value.split_once(':') {
            Some((host, ip)) if !host.is_empty() && !ip.is_empty() => {
                add_hosts.push((host.to_string(), ip.to_string()));
            }
            _ => {
                return Err(ConfigError::new(
                    entry.span,
                    format!("expected addHost as host:ip, not {:?}", entry.value),
                ));
            }
        }
    }
    let ssh = doc.string("ssh")?;
    if let Some(ssh) = &ssh {
        let id = ssh
            .value
            .split_once('=')
            .map_or(ssh.value.as_str(), |(id, _)| id);
        if id.is_empty() || id.contains(',') {
            return Err(ConfigError::new(
                ssh.span,
                format!(
                    "expected ssh as ID or ID=SOCKET (e.g. default), not {:?}",
                    ssh.value
                ),
            ));
        }
    }
    let args = doc.string_map("args")?;
    let cache_version = doc.string("cacheVersion")?.map(|s| s.value);
    let is_final = doc.bool("final")?.unwrap_or(true);
    let image_spec = doc.get("imageSpec").map(read_image_spec).transpose()?;
    let secrets = super::sections::read_secrets(&doc)?;
    if let Some(context) = doc.string("context")?
        && !matches!(context.value.as_str(), "" | "." | "./")
    {
        return Err(ConfigError::new(
            context.span,
            "a Dockerfile image `context` other than the project directory is not supported yet",
        ));
    }
    let names = match doc.get("image") {
        Some(node) => strings(node, "image")?,
        None => {
            let span = doc.key_span("image").unwrap_or(root.span);
            return Err(ConfigError::new(
                span,
                "nameless images (`image: ~`) are not supported yet",
            ));
        }
    };
    let dockerfile = doc.string("dockerfile")?.ok_or_else(|| {
        ConfigError::new(root.span, "a Dockerfile image needs `dockerfile: <path>`")
    })?;
    let target = doc.string("target")?;
    Ok(names
        .into_iter()
        .map(|name| DockerfileImage {
            name: name.value,
            span: name.span,
            dockerfile: dockerfile.clone(),
            target: target.clone(),
            text: None,
            secrets: secrets.clone(),
            args: args.clone(),
            cache_version: cache_version.clone(),
            network: network.clone(),
            add_hosts: add_hosts.clone(),
            is_final,
            ssh: ssh.clone(),
            image_spec: image_spec.clone(),
        })
        .collect())
}

/// `network`: `default`, `host` or `none` (stapel and Dockerfile images alike).
fn read_network(doc: &Fields<'_>) -> Result<Option<Located<String>>, ConfigError> {
    let network = doc.string("network")?;
    if let Some(network) = &network
        && !["default", "host", "none"].contains(&network.value.as_str())
    {
        return Err(ConfigError::new(
            network.span,
            format!(
                "network must be default, host or none, not {:?}",
                network.value
            ),
        ));
    }
    Ok(network)
}
