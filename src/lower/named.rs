//! Named contexts: `docker buildx build --build-context NAME=VALUE`, which reaches the
//! frontend as `context:NAME`. A base image or `--from`/`from=` equal to NAME, or the
//! stage named NAME as a whole, is read from VALUE instead — as BuildKit's dockerui does.

use crate::llb;

use super::copy::{git_ref, is_http};

/// One `context:NAME` value, the kinds the stock frontend takes apart from
/// `oci-layout://` (which needs the client's content store) and `input:` (bake's
/// frontend inputs).
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
}

impl NamedContext {
    /// Tells a `context:NAME` value's kind, as dockerui does by its scheme. A `local:`
    /// context's excludes are read later, from the directory itself.
    pub fn parse(value: &str) -> Result<NamedContext, String> {
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
        let scheme = value.split_once(':').map_or(value, |(scheme, _)| scheme);
        Err(format!(
            "unsupported context source {scheme}: expected docker-image://, local:, git:// or an http(s) URL"
        ))
    }

    /// The image it names, for the caller to resolve with the other bases.
    pub fn image(&self) -> Option<&str> {
        match self {
            NamedContext::Image(reference) => Some(reference),
            _ => None,
        }
    }

    /// The filesystem of a context other than an image; vertices are named
    /// `[context NAME] …` as in the stock frontend.
    pub(super) fn source_state(&self, context_name: &str, session_id: &str) -> Option<llb::State> {
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_told_by_scheme() {
        assert_eq!(
            NamedContext::parse("docker-image://busybox:1").unwrap(),
            NamedContext::Image("busybox:1".into())
        );
        assert_eq!(
            NamedContext::parse("local:src").unwrap(),
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
                NamedContext::parse(git).unwrap(),
                NamedContext::Git(git.into())
            );
        }
        assert_eq!(
            NamedContext::parse("https://host/file.tar").unwrap(),
            NamedContext::Http("https://host/file.tar".into())
        );
        assert_eq!(
            NamedContext::parse("oci-layout://store@sha256:ab").unwrap_err(),
            "unsupported context source oci-layout: expected docker-image://, local:, git:// or an http(s) URL"
        );
    }

    #[test]
    fn a_local_context_is_its_own_session_directory() {
        let context = NamedContext::Local {
            name: "src".into(),
            exclude_patterns: vec!["*.log".into()],
        };
        let state = context.source_state("lib", "session-1").unwrap();
        let dump = llb::Definition::marshal(&state).dump();
        assert!(dump.contains("local://src"), "{dump}");
        assert!(dump.contains("[context lib] load from client"), "{dump}");
        assert!(dump.contains("local.sharedkeyhint=context:lib"), "{dump}");
        assert!(dump.contains("*.log"), "{dump}");
    }
}
