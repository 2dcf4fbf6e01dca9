//! `--output`, `-t` and `--push` → the exporters of the Solve, and the session's
//! FileSend target for outputs that come back to the client.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::buildkit::{DaemonAddress, OutputTarget};
use crate::proto::moby::buildkit::v1::Exporter;

/// What `--output` asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputSpec {
    /// `type=docker`: the image in Docker Engine's image store.
    Docker,
    /// `type=registry`: the image pushed to its registry.
    Registry,
    /// `type=local,dest=DIR`
    Local(PathBuf),
    /// `type=tar,dest=FILE` (`-`: stdout)
    Tar(PathBuf),
}

/// Parses buildx's `--output` forms: `type=local,dest=DIR`, `type=tar,dest=FILE`,
/// `type=docker`, `type=registry`, and a bare path for `type=local,dest=PATH` (`-`
/// meaning a tar on stdout).
pub fn parse_output(text: &str) -> Result<OutputSpec, String> {
    if !text.contains('=') {
        return Ok(if text == "-" {
            OutputSpec::Tar(PathBuf::from("-"))
        } else {
            OutputSpec::Local(PathBuf::from(text))
        });
    }
    let mut fields = BTreeMap::new();
    for field in text.split(',') {
        let (key, value) = field.split_once('=').ok_or_else(|| {
            format!("invalid output {text:?}: expected key=value fields, as in type=local,dest=out")
        })?;
        fields.insert(key.trim().to_ascii_lowercase(), value.to_string());
    }
    let kind = fields
        .remove("type")
        .ok_or_else(|| format!("invalid output {text:?}: type=… is required"))?;
    let dest = fields.remove("dest");
    if let Some(key) = fields.keys().next() {
        return Err(format!(
            "invalid output {text:?}: unknown field {key:?} (expected type, dest)"
        ));
    }
    let need_dest = |dest: Option<String>| {
        dest.filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .ok_or_else(|| format!("invalid output {text:?}: type={kind} needs dest=…"))
    };
    match kind.as_str() {
        "local" => Ok(OutputSpec::Local(need_dest(dest)?)),
        "tar" => Ok(OutputSpec::Tar(need_dest(dest)?)),
        "docker" | "registry" if dest.is_some() => Err(format!(
            "invalid output {text:?}: type={kind} takes no dest (use type=tar,dest=… for a file)"
        )),
        "docker" => Ok(OutputSpec::Docker),
        "registry" => Ok(OutputSpec::Registry),
        other => Err(format!(
            "invalid output {text:?}: unknown type {other:?} (expected docker, registry, local, tar)"
        )),
    }
}

/// Where a build's result goes.
#[derive(Debug, Default, PartialEq)]
pub struct Exports {
    pub exporters: Vec<Exporter>,
    /// Where the session writes files (`local`, `tar`).
    pub output_target: Option<OutputTarget>,
    /// Tags to push through Docker Engine after the build: its `moby` exporter only
    /// stores images (buildkitd's `image` exporter pushes by itself).
    pub push_after: Vec<String>,
}

/// The Solve's exporters for `output` (none given: the daemon's image store on Docker
/// Engine, nothing kept on buildkitd unless tagged), and where the session writes
/// files.
pub fn exporters(
    address: &DaemonAddress,
    output: Option<&OutputSpec>,
    tags: &[String],
    push: bool,
) -> Result<Exports, String> {
    let on_docker = matches!(address, DaemonAddress::DockerEngine(_));
    let image = |push: bool| -> Result<Exporter, String> {
        if push && tags.is_empty() {
            return Err("pushing needs an image name: give -t REGISTRY/NAME:TAG".into());
        }
        let mut attrs = BTreeMap::new();
        if !tags.is_empty() {
            attrs.insert("name".to_string(), tags.join(","));
        }
        if push && !on_docker {
            attrs.insert("push".to_string(), "true".to_string());
        }
        // Docker Engine's image store is the `moby` exporter; buildkitd's `image`.
        let kind = if on_docker { "moby" } else { "image" };
        Ok(Exporter {
            r#type: kind.to_string(),
            attrs,
        })
    };
    let attachable = |kind: &str| Exporter {
        r#type: kind.to_string(),
        attrs: BTreeMap::new(),
    };
    let push_after = |push: bool| {
        if push && on_docker {
            tags.to_vec()
        } else {
            Vec::new()
        }
    };
    let image_exports = |push: bool| -> Result<Exports, String> {
        Ok(Exports {
            exporters: vec![image(push)?],
            output_target: None,
            push_after: push_after(push),
        })
    };
    match output {
        None if on_docker || !tags.is_empty() || push => image_exports(push),
        None => Ok(Exports::default()),
        Some(OutputSpec::Docker) if !on_docker => Err(
            "--output type=docker needs Docker Engine (--addr docker://); on buildkitd use -t with --push, or type=tar"
                .into(),
        ),
        Some(OutputSpec::Docker) => image_exports(push),
        Some(OutputSpec::Registry) => image_exports(true),
        Some(OutputSpec::Local(_) | OutputSpec::Tar(_)) if push || !tags.is_empty() => Err(
            "-t and --push name an image; --output type=local|tar writes files instead: give one or the other"
                .into(),
        ),
        Some(OutputSpec::Local(dir)) => Ok(Exports {
            exporters: vec![attachable("local")],
            output_target: Some(OutputTarget::Local(dir.clone())),
            push_after: Vec::new(),
        }),
        Some(OutputSpec::Tar(file)) => Ok(Exports {
            exporters: vec![attachable("tar")],
            output_target: Some(OutputTarget::Tar(file.clone())),
            push_after: Vec::new(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buildkit::Endpoint;

    #[test]
    fn parses_buildx_output_forms() {
        assert_eq!(
            parse_output("type=local,dest=out").unwrap(),
            OutputSpec::Local("out".into())
        );
        assert_eq!(
            parse_output("type=tar,dest=image.tar").unwrap(),
            OutputSpec::Tar("image.tar".into())
        );
        assert_eq!(parse_output("type=docker").unwrap(), OutputSpec::Docker);
        assert_eq!(parse_output("type=registry").unwrap(), OutputSpec::Registry);
        assert_eq!(
            parse_output("dir").unwrap(),
            OutputSpec::Local("dir".into())
        );
        assert_eq!(parse_output("-").unwrap(), OutputSpec::Tar("-".into()));
        assert_eq!(
            parse_output("type=local").unwrap_err(),
            "invalid output \"type=local\": type=local needs dest=…"
        );
        assert_eq!(
            parse_output("type=oci,dest=x").unwrap_err(),
            "invalid output \"type=oci,dest=x\": unknown type \"oci\" (expected docker, registry, local, tar)"
        );
    }

    #[test]
    fn docker_engine_exports_to_moby_and_buildkitd_to_image() {
        let docker = DaemonAddress::DockerEngine(Endpoint::Unix("/d.sock".into()));
        let buildkitd = DaemonAddress::Buildkitd(Endpoint::Unix("/b.sock".into()));
        let tags = vec!["a:1".to_string(), "b:2".to_string()];
        let exports = exporters(&docker, None, &tags, false).unwrap();
        assert_eq!(exports.exporters[0].r#type, "moby");
        assert_eq!(exports.exporters[0].attrs["name"], "a:1,b:2");
        assert!(exports.output_target.is_none() && exports.push_after.is_empty());
        let exports = exporters(&docker, Some(&OutputSpec::Registry), &tags, false).unwrap();
        assert_eq!(exports.exporters[0].attrs.get("push"), None);
        assert_eq!(exports.push_after, tags);
        let exports = exporters(&buildkitd, Some(&OutputSpec::Registry), &tags, false).unwrap();
        assert_eq!(exports.exporters[0].r#type, "image");
        assert_eq!(exports.exporters[0].attrs["push"], "true");
        assert!(exports.push_after.is_empty());
        assert_eq!(
            exporters(&buildkitd, None, &[], false).unwrap(),
            Exports::default()
        );
        let exports = exporters(&docker, Some(&OutputSpec::Local("o".into())), &[], false).unwrap();
        assert_eq!(exports.exporters[0].r#type, "local");
        assert_eq!(exports.output_target, Some(OutputTarget::Local("o".into())));
        assert_eq!(
            exporters(&docker, Some(&OutputSpec::Registry), &[], false).unwrap_err(),
            "pushing needs an image name: give -t REGISTRY/NAME:TAG"
        );
    }
}
