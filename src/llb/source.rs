//! Source ops: where filesystems come from (images, the client's local dirs, git, http).

use std::collections::BTreeMap;

use crate::proto::pb;

use super::state::{Node, OpKind, OpOptions, Platform, State};

/// A container image by fully qualified reference (`docker.io/library/alpine:3.19`,
/// optionally `@sha256:…`).
#[derive(Clone, Debug, Default)]
pub struct ImageSource {
    pub reference: String,
    pub platform: Option<Platform>,
    /// `image.resolvemode`: `default`, `pull` or `local`; empty leaves it out.
    pub resolve_mode: String,
    pub options: OpOptions,
}

/// A directory the client sends over the session (`context`, `dockerfile`, …).
#[derive(Clone, Debug, Default)]
pub struct LocalSource {
    pub name: String,
    pub session_id: String,
    pub shared_key_hint: String,
    pub include_patterns: Vec<String>,
    pub exclude_patterns: Vec<String>,
    pub follow_paths: Vec<String>,
    /// `local.differ`: `none` or `metadata`; empty leaves it out.
    pub differ: String,
    pub options: OpOptions,
}

#[derive(Clone, Debug, Default)]
pub struct GitSource {
    /// The remote as written (`https://host/repo.git`, `git@host:repo`).
    pub remote: String,
    pub reference: String,
    pub subdir: String,
    pub keep_git_dir: bool,
    pub options: OpOptions,
}

#[derive(Clone, Debug, Default)]
pub struct HttpSource {
    pub url: String,
    /// `sha256:…` the download must match; empty for none.
    pub checksum: String,
    pub filename: String,
    /// Permission bits of the downloaded file; `None` for the default 0600.
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub options: OpOptions,
}

/// An image in a content store the client serves over the session, by
/// `name@digest` (`oci-layout://…` with `oci.session` and `oci.store`).
#[derive(Clone, Debug, Default)]
pub struct OciLayoutSource {
    pub reference: String,
    pub session_id: String,
    pub store_id: String,
    pub platform: Option<Platform>,
    pub options: OpOptions,
}

fn source(
    identifier: String,
    attrs: BTreeMap<String, String>,
    platform: Option<Platform>,
    options: OpOptions,
) -> State {
    let op = OpKind::Source(pb::SourceOp { identifier, attrs });
    State::from_node(
        Node {
            op,
            platform,
            options,
        },
        0,
    )
}

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).expect("a list of strings is JSON")
}

impl ImageSource {
    pub fn state(self) -> State {
        let mut attrs = BTreeMap::new();
        if !self.resolve_mode.is_empty() {
            attrs.insert("image.resolvemode".into(), self.resolve_mode);
        }
        source(
            format!("docker-image://{}", self.reference),
            attrs,
            self.platform,
            self.options,
        )
    }
}

impl LocalSource {
    pub fn state(self) -> State {
        let mut attrs = BTreeMap::new();
        if !self.session_id.is_empty() {
            attrs.insert("local.session".into(), self.session_id);
        }
        if !self.shared_key_hint.is_empty() {
            attrs.insert("local.sharedkeyhint".into(), self.shared_key_hint);
        }
        if !self.include_patterns.is_empty() {
            attrs.insert(
                "local.includepattern".into(),
                json_list(&self.include_patterns),
            );
        }
        if !self.exclude_patterns.is_empty() {
            attrs.insert(
                "local.excludepatterns".into(),
                json_list(&self.exclude_patterns),
            );
        }
        if !self.follow_paths.is_empty() {
            attrs.insert("local.followpaths".into(), json_list(&self.follow_paths));
        }
        if !self.differ.is_empty() {
            attrs.insert("local.differ".into(), self.differ);
        }
        source(format!("local://{}", self.name), attrs, None, self.options)
    }
}

impl GitSource {
    pub fn state(self) -> State {
        // The identifier drops the scheme; the real URL rides in `git.fullurl`.
        let without_scheme = self
            .remote
            .split_once("://")
            .map_or(self.remote.as_str(), |(_, rest)| rest);
        let mut identifier = format!("git://{without_scheme}");
        if !self.reference.is_empty() || !self.subdir.is_empty() {
            identifier.push('#');
            identifier.push_str(&self.reference);
            if !self.subdir.is_empty() {
                identifier.push(':');
                identifier.push_str(&self.subdir);
            }
        }
        let mut attrs = BTreeMap::new();
        attrs.insert("git.fullurl".into(), self.remote.clone());
        if self.keep_git_dir {
            attrs.insert("git.keepgitdir".into(), "true".into());
        }
        source(identifier, attrs, None, self.options)
    }
}

impl HttpSource {
    pub fn state(self) -> State {
        let mut attrs = BTreeMap::new();
        if !self.checksum.is_empty() {
            attrs.insert("http.checksum".into(), self.checksum);
        }
        if !self.filename.is_empty() {
            attrs.insert("http.filename".into(), self.filename);
        }
        if let Some(mode) = self.mode {
            attrs.insert("http.perm".into(), format!("0{mode:o}"));
        }
        if let Some(uid) = self.uid {
            attrs.insert("http.uid".into(), uid.to_string());
        }
        if let Some(gid) = self.gid {
            attrs.insert("http.gid".into(), gid.to_string());
        }
        source(self.url, attrs, None, self.options)
    }
}

impl OciLayoutSource {
    pub fn state(self) -> State {
        let mut attrs = BTreeMap::new();
        if !self.session_id.is_empty() {
            attrs.insert("oci.session".into(), self.session_id);
        }
        if !self.store_id.is_empty() {
            attrs.insert("oci.store".into(), self.store_id);
        }
        source(
            format!("oci-layout://{}", self.reference),
            attrs,
            self.platform,
            self.options,
        )
    }
}
