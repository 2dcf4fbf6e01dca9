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

/// The Solve's exporters for `output` (none given: the daemon's image store on Docker
/// Engine, nothing kept on buildkitd unless tagged), and where the session writes
/// files.
pub fn exporters(
    address: &DaemonAddress,
    output: Option<&OutputSpec>,
    tags: &[String],
    push: bool,
) -> Result<(Vec<Exporter>, Option<OutputTarget>), String> {
    let on_docker = matches!(address, DaemonAddress::DockerEngine(_));
    let image = |push: bool| -> Result<Exporter, String> {
        if push && tags.is_empty() {
            return Err("pushing needs an image name: give -t REGISTRY/NAME:TAG".into());
        }
        let mut attrs = BTreeMap::new();
        if !tags.is_empty() {
            attrs.insert("name".to_string(), tags.join(","));
        }
        if push {
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
    Ok(match output {
        None if on_docker || !tags.is_empty() || push => (vec![image(push)?], None),
        None => (Vec::new(), None),
        Some(OutputSpec::Docker) if !on_docker => {
            return Err(
                "--output type=docker needs Docker Engine (--addr docker://); on buildkitd use -t with --push, or type=tar"
                    .into(),
            );
        }
        Some(OutputSpec::Docker) => (vec![image(push)?], None),
        Some(OutputSpec::Registry) => (vec![image(true)?], None),
        Some(spec @ (OutputSpec::Local(_) | OutputSpec::Tar(_))) => {
            if push || !tags.is_empty() {
                return Err(
                    "-t and --push name an image; --output type=local|tar writes files instead: give one or the other"
                        .into(),
                );
            }
            match spec {
                OutputSpec::Local(dir) => (vec![attachable("local")], Some(OutputTarget::Local(dir.clone()))),
                OutputSpec::Tar(file) => (vec![attachable("tar")], Some(OutputTarget::Tar(file.clone()))),
                _ => unreachable!("matched above"),
            }
        }
    })
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
        assert_eq!(parse_output("dir").unwrap(), OutputSpec::Local("dir".into()));
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
        let (exporters, target) = exporters(&docker, None, &tags, false).unwrap();
        assert_eq!(exporters[0].r#type, "moby");
        assert_eq!(exporters[0].attrs["name"], "a:1,b:2");
        assert!(target.is_none());
        let (exporters, _) = exporters_of(&buildkitd, Some(&OutputSpec::Registry), &tags);
        assert_eq!(exporters[0].r#type, "image");
        assert_eq!(exporters[0].attrs["push"], "true");
        assert!(exporters_of(&buildkitd, None, &[]).0.is_empty());
        let (exporters, target) = exporters_of(&docker, Some(&OutputSpec::Local("o".into())), &[]);
        assert_eq!(exporters[0].r#type, "local");
        assert_eq!(target, Some(OutputTarget::Local("o".into())));
        assert_eq!(
            super::exporters(&docker, Some(&OutputSpec::Registry), &[], false).unwrap_err(),
            "pushing needs an image name: give -t REGISTRY/NAME:TAG"
        );
    }

    fn exporters_of(
        address: &DaemonAddress,
        output: Option<&OutputSpec>,
        tags: &[String],
    ) -> (Vec<Exporter>, Option<OutputTarget>) {
        super::exporters(address, output, tags, false).unwrap()
    }
}
