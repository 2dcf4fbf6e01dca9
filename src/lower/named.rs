//! Named contexts: `docker buildx build --build-context NAME=VALUE`, which reaches the
//! frontend as `context:NAME`. A base image or `--from`/`from=` equal to NAME, or the
//! stage named NAME as a whole, is read from VALUE instead — as BuildKit's dockerui does.

use crate::llb;

use super::copy::{git_ref, is_http};

/// One `context:NAME` value, of the kinds the stock frontend takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamedContext {
    /// `docker-image://REF`: the image, which must be among the resolved bases.
    Image(String),
    /// `local:NAME`: a directory the client sends over the session under that name,
    /// less what its own `.dockerignore` excludes.
    Local {
        name: String,
        exclude_patterns: Vec<String>,
    },
    /// `git://…` or an http(s) URL of a git repository (`https://host/repo.git#ref:dir`).
    Git(String),
    /// Any other http(s) URL: the one downloaded file.
    Http(String),
    /// `oci-layout://STORE[:TAG]@DIGEST`: an image in a content store the client serves
    /// over the session (buildx's `--build-context NAME=oci-layout:///dir`, which puts
    /// the directory's store under a fresh id and resolves the tag to a digest).
    OciLayout {
        store: String,
        /// The context's name pinned to the digest (`docker.io/library/NAME@DIGEST`):
        /// how the daemon names the image in logs; the store key means nothing there.
        reference: String,
    },
    /// `input:KEY`: a result the client passed as frontend input KEY (bake's
    /// `target:OTHER`, the other target's build), with that build's image config when
    /// the client sent one (`input-metadata:KEY`).
    Input {
        /// `input:KEY`, also the key its config is kept among the bases under.
        reference: String,
        state: llb::State,
        has_config: bool,
    },
}

impl NamedContext {
    /// Tells the `context:NAME` value's kind, as dockerui does by its scheme. A `local:`
    /// context's excludes are read later, from the directory itself.
    pub fn parse(name: &str, value: &str) -> Result<NamedContext, String> {
        if let Some(reference) = value.strip_prefix("docker-image://") {
            return Ok(NamedContext::Image(reference.to_string()));
        }
        if let Some(name) = value.strip_prefix("local:") {
            return Ok(NamedContext::Local {
                name: name.to_string(),
                exclude_patterns: Vec::new(),
            });
        }
        if value.starts_with("git://") || (is_http(value) && git_ref(value).is_some()) {
            return Ok(NamedContext::Git(value.to_string()));
        }
        if is_http(value) {
            return Ok(NamedContext::Http(value.to_string()));
        }
        if let Some(layout) = value.strip_prefix("oci-layout://") {
            return parse_oci_layout(name, layout);
        }
        let scheme = value.split_once(':').map_or(value, |(scheme, _)| scheme);
        Err(format!(
            "unsupported context source {scheme}: expected docker-image://, oci-layout://, local:, git:// or an http(s) URL"
        ))
    }

    /// The image it names, for the caller to resolve with the other bases.
    pub fn image(&self) -> Option<&str> {
        match self {
            NamedContext::Image(reference) => Some(reference),
            _ => None,
        }
    }

    /// The reference its image config is resolved (and kept among the bases) under:
    /// a registry image's or an OCI layout's; none for a directory, repository or
    /// download, which have no config.
    pub fn config_reference(&self) -> Option<&str> {
        match self {
            NamedContext::Image(reference)
            | NamedContext::OciLayout { reference, .. }
            | NamedContext::Input {
                reference,
                has_config: true,
                ..
            } => Some(reference),
            _ => None,
        }
    }

    /// Whether its content is pinned by a digest the stages storage can sign: a
    /// registry image's or an OCI layout's. A directory, repository, download or
    /// another build's result has none here.
    pub fn is_pinned_image(&self) -> bool {
        matches!(
            self,
            NamedContext::Image(_) | NamedContext::OciLayout { .. }
        )
    }

    /// The filesystem of a context other than a registry image; vertices are named
    /// `[context NAME] …` as in the stock frontend.
    pub(super) fn source_state(
        &self,
        context_name: &str,
        session_id: &str,
        platform: &llb::Platform,
    ) -> Option<llb::State> {
        let options = |what: &str| llb::OpOptions {
            custom_name: Some(format!("[context {context_name}] {what}")),
            ..Default::default()
        };
        match self {
            NamedContext::Image(_) => None,
            NamedContext::Local {
                name,
                exclude_patterns,
            } => Some(
                llb::LocalSource {
                    name: name.clone(),
                    session_id: session_id.to_string(),
                    shared_key_hint: format!("context:{context_name}"),
                    exclude_patterns: exclude_patterns.clone(),
                    options: options("load from client"),
                    ..Default::default()
                }
                .state(),
            ),
            NamedContext::Git(url) => {
                let git = git_ref(url).unwrap_or_else(|| super::copy::GitRef {
                    remote: url.clone(),
                    reference: String::new(),
                    subdir: String::new(),
                });
                Some(
                    llb::GitSource {
                        remote: git.remote,
                        reference: git.reference,
                        subdir: git.subdir,
                        keep_git_dir: false,
                        options: options(url),
                    }
                    .state(),
                )
            }
            NamedContext::Http(url) => Some(
                llb::HttpSource {
                    url: url.clone(),
                    options: options(url),
                    ..Default::default()
                }
                .state(),
            ),
            NamedContext::Input { state, .. } => Some(state.clone()),
            NamedContext::OciLayout { store, reference } => Some(
                llb::OciLayoutSource {
                    reference: reference.clone(),
                    session_id: session_id.to_string(),
                    store_id: store.clone(),
                    platform: Some(platform.clone()),
                    options: options("OCI load from client"),
                }
                .state(),
            ),
        }
    }
}

/// `STORE[:TAG]@DIGEST` (after `oci-layout://`): the digest is required — buildx has
/// already looked the tag up in the layout's index.
fn parse_oci_layout(context_name: &str, layout: &str) -> Result<NamedContext, String> {
    let (name_and_tag, digest) = layout.split_once('@').unwrap_or((layout, ""));
    let after_slash = name_and_tag.rfind('/').map_or(0, |i| i + 1);
    let store = match name_and_tag[after_slash..].find(':') {
        Some(i) => &name_and_tag[..after_slash + i],
        None => name_and_tag,
    };
    if store.is_empty() {
        return Err(format!("oci-layout reference {layout:?} has no name"));
    }
    let is_digest = digest
        .strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
    if !is_digest {
        return Err(format!(
            "oci-layout reference {layout:?} has no digest: expected STORE[:TAG]@sha256:<64 hex digits>"
        ));
    }
    Ok(NamedContext::OciLayout {
        store: store.to_string(),
        reference: super::normalize_reference(&format!("{context_name}@{digest}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_told_by_scheme() {
        assert_eq!(
            NamedContext::parse("b", "docker-image://busybox:1").unwrap(),
            NamedContext::Image("busybox:1".into())
        );
        assert_eq!(
            NamedContext::parse("b", "local:src").unwrap(),
            NamedContext::Local {
                name: "src".into(),
                exclude_patterns: Vec::new()
            }
        );
        for git in [
            "git://host/repo",
            "https://host/repo.git",
            "https://host/repo.git#v1:dir",
        ] {
            assert_eq!(
                NamedContext::parse("b", git).unwrap(),
                NamedContext::Git(git.into())
            );
        }
        assert_eq!(
            NamedContext::parse("b", "https://host/file.tar").unwrap(),
            NamedContext::Http("https://host/file.tar".into())
        );
        assert_eq!(
            NamedContext::parse("b", "ftp://host/file").unwrap_err(),
            "unsupported context source ftp: expected docker-image://, oci-layout://, local:, git:// or an http(s) URL"
        );
    }

    #[test]
    fn an_oci_layout_is_a_store_and_the_context_name_pinned_to_the_digest() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        for value in [
            format!("oci-layout://k3x9store@{digest}"),
            format!("oci-layout://k3x9store:v1@{digest}"),
        ] {
            assert_eq!(
                NamedContext::parse("base", &value).unwrap(),
                NamedContext::OciLayout {
                    store: "k3x9store".into(),
                    reference: format!("docker.io/library/base@{digest}"),
                }
            );
        }
        assert_eq!(
            NamedContext::parse("base", "oci-layout://k3x9store:v1").unwrap_err(),
            "oci-layout reference \"k3x9store:v1\" has no digest: expected STORE[:TAG]@sha256:<64 hex digits>"
        );
        let context =
            NamedContext::parse("base", &format!("oci-layout://k3x9store@{digest}")).unwrap();
        let arm = llb::Platform::new("linux", "arm64", "");
        let state = context.source_state("base", "session-1", &arm).unwrap();
        let definition = llb::Definition::marshal(&state);
        let (_, op) = &definition.ops()[0];
        let Some(crate::proto::pb::op::Op::Source(source)) = &op.op else {
            panic!("not a source op: {op:?}");
        };
        assert_eq!(
            source.identifier,
            format!("oci-layout://docker.io/library/base@{digest}")
        );
        assert_eq!(source.attrs["oci.session"], "session-1");
        assert_eq!(source.attrs["oci.store"], "k3x9store");
        assert_eq!(source.attrs.len(), 2);
        assert_eq!(op.platform.as_ref().unwrap().architecture, "arm64");
        assert!(
            definition
                .dump()
                .contains("[context base] OCI load from client"),
            "{}",
            definition.dump()
        );
    }

    #[test]
    fn a_local_context_is_its_own_session_directory() {
        let context = NamedContext::Local {
            name: "src".into(),
            exclude_patterns: vec!["*.log".into()],
        };
        let state = context
            .source_state(
                "lib",
                "session-1",
                &llb::Platform::new("linux", "amd64", ""),
            )
            .unwrap();
        let dump = llb::Definition::marshal(&state).dump();
        assert!(dump.contains("local://src"), "{dump}");
        assert!(dump.contains("[context lib] load from client"), "{dump}");
        assert!(dump.contains("local.sharedkeyhint=context:lib"), "{dump}");
        assert!(dump.contains("*.log"), "{dump}");
    }
}
