//! COPY and ADD, after BuildKit's `dispatchCopy`: sources from the build context, a
//! stage, an image, URLs and git (ADD), heredocs; destination relative to WORKDIR;
//! `--chown`, `--chmod`, `--link`, `--parents`, `--exclude`; ADD unpacks local archives.

use crate::dockerfile::{AddCommand, CopyCommand, Heredoc, Sources, Word, shell::Lexer};
use crate::graph::Dependency;
use crate::llb;

use super::{
    At, LowerError, Lowering, StageState, chown_opt, clean_path, join_path, uppercase_command,
};

/// What COPY and ADD have in common.
pub(super) struct CopyInput<'c> {
    add: bool,
    sources: &'c Sources,
    chown: Option<&'c Word>,
    chmod: Option<&'c Word>,
    link: bool,
    parents: bool,
    exclude: &'c [Word],
    checksum: Option<&'c Word>,
    keep_git_dir: bool,
    unpack: bool,
}

impl<'c> CopyInput<'c> {
    pub(super) fn copy(copy: &'c CopyCommand) -> CopyInput<'c> {
        CopyInput {
            add: false,
            sources: &copy.sources,
            chown: copy.chown.as_ref(),
            chmod: copy.chmod.as_ref(),
            link: copy.link,
            parents: copy.parents,
            exclude: &copy.exclude,
            checksum: None,
            keep_git_dir: false,
            unpack: false,
        }
    }

    pub(super) fn add(add: &'c AddCommand) -> CopyInput<'c> {
        CopyInput {
            add: true,
            sources: &add.sources,
            chown: add.chown.as_ref(),
            chmod: add.chmod.as_ref(),
            link: add.link,
            parents: false,
            exclude: &add.exclude,
            checksum: add.checksum.as_ref(),
            keep_git_dir: add.keep_git_dir.unwrap_or(false),
            unpack: add.unpack.unwrap_or(true),
        }
    }

    fn keyword(&self) -> &'static str {
        if self.add { "ADD" } else { "COPY" }
    }
}

pub(super) fn is_http(source: &str) -> bool {
    source.starts_with("http://") || source.starts_with("https://")
}

/// A git source as BuildKit's `gitutil.ParseGitRef` tells it from a local path:
/// `git@host:repo`, `git://…`, `ssh://…`, or an http(s) URL ending in `.git` before `#`.
pub(super) struct GitRef {
    pub remote: String,
    pub reference: String,
    pub subdir: String,
}

pub(super) fn git_ref(source: &str) -> Option<GitRef> {
    let (remote, fragment) = match source.split_once('#') {
        Some((remote, fragment)) => (remote, fragment),
        None => (source, ""),
    };
    let is_git = remote.starts_with("git@")
        || remote.starts_with("git://")
        || remote.starts_with("ssh://")
        || (is_http(remote) && remote.ends_with(".git"));
    if !is_git {
        return None;
    }
    let (reference, subdir) = match fragment.split_once(':') {
        Some((reference, subdir)) => (reference, subdir),
        None => (fragment, ""),
    };
    Some(GitRef {
        remote: remote.to_string(),
        reference: reference.to_string(),
        subdir: subdir.to_string(),
    })
}

impl Lowering<'_> {
    pub(super) fn lower_copy(
        &mut self,
        st: &mut StageState,
        input: CopyInput<'_>,
        from: Option<&Dependency>,
        at: &At<'_>,
    ) -> Result<(), LowerError> {
        let keyword = input.keyword();
        let invalid = |message: &str| LowerError::Invalid {
            instruction: keyword,
            message: message.to_string(),
            span: at.span,
        };
        let expand_word = |word: &Word| self.expand(st, &word.text, word.span);
        let paths = input
            .sources
            .paths
            .iter()
            .map(&expand_word)
            .collect::<Result<Vec<String>, LowerError>>()?;
        let dest_written = expand_word(&input.sources.dest)?;
        let chown = input
            .chown
            .map(&expand_word)
            .transpose()?
            .filter(|c| !c.is_empty());
        let chmod_text = input
            .chmod
            .map(&expand_word)
            .transpose()?
            .filter(|c| !c.is_empty());
        let mode = match (&chmod_text, input.chmod) {
            (Some(text), Some(word)) => {
                Some(
                    u32::from_str_radix(text, 8).map_err(|_| LowerError::InvalidChmod {
                        value: text.clone(),
                        span: word.span,
                    })?,
                )
            }
            _ => None,
        };
        let checksum = input
            .checksum
            .map(&expand_word)
            .transpose()?
            .filter(|c| !c.is_empty());
        let exclude: Vec<String> = input.exclude.iter().map(|w| w.text.clone()).collect();
        let n_sources = paths.len() + input.sources.heredocs.len();
        if n_sources > 1 && !dest_written.ends_with('/') {
            return Err(invalid(&format!(
                "when using {keyword} with more than one source, the destination must be a directory and end with a /"
            )));
        }
        if checksum.is_some() && (paths.len() != 1 || !is_http(&paths[0])) {
            return Err(invalid("--checksum needs exactly one http(s) source"));
        }

        let mut dest = join_path(&st.dir, &dest_written);
        if (dest_written.is_empty() || dest_written == "." || dest_written.ends_with('/'))
            && dest != "/"
        {
            dest.push('/');
        }
        let owner = chown.as_deref().map(chown_opt);

        let mut history = keyword.to_string();
        if input.parents {
            history.push_str(" --parents");
        }
        if let Some(chown) = &chown {
            history.push_str(&format!(" --chown={chown}"));
        }
        if let Some(chmod) = &chmod_text {
            history.push_str(&format!(" --chmod={chmod}"));
        }

        let shown = Lexer::new(self.graph.escape)
            .expand_value(at.original, |name| st.env_value(name))
            .unwrap_or_else(|_| at.original.to_string());
        let name = uppercase_command(&shown);
        let group_index = st.cmd_index + 1;
        let vertex_name = st.prefix(&name);

        let source_state = match from {
            Some(dependency) => {
                self.dependency_state(&dependency.on, dependency.span, &st.platform)?
            }
            None => self.context.clone(),
        };
        let plain = |source: llb::State, src: String| llb::Copy {
            mode,
            owner: owner.clone(),
            follow_symlink: false,
            dir_copy_contents: false,
            allow_wildcard: false,
            allow_empty_wildcard: false,
            exclude_patterns: exclude.clone(),
            ..llb::Copy::new(source, src, dest.clone())
        };
        let mut actions = Vec::new();
        for path in &paths {
            history.push(' ');
            history.push_str(path);
            if let Some(git) = git_ref(path).filter(|_| from.is_none()) {
                if !input.add {
                    return Err(invalid("source can't be a git ref for COPY"));
                }
                let state = llb::GitSource {
                    remote: git.remote,
                    reference: git.reference,
                    subdir: git.subdir,
                    keep_git_dir: input.keep_git_dir,
                    options: llb::OpOptions {
                        custom_name: Some(vertex_name.clone()),
                        ..Default::default()
                    },
                }
                .state();
                actions.push(llb::FileAction::Copy(plain(state, "/".into())));
            } else if is_http(path) && from.is_none() {
                if !input.add {
                    return Err(invalid("source can't be a URL for COPY"));
                }
                let filename = url_file_name(path);
                let state = llb::HttpSource {
                    url: path.clone(),
                    checksum: checksum.clone().unwrap_or_default(),
                    filename: filename.clone(),
                    options: llb::OpOptions {
                        custom_name: Some(vertex_name.clone()),
                        ..Default::default()
                    },
                    ..Default::default()
                }
                .state();
                actions.push(llb::FileAction::Copy(plain(state, format!("/{filename}"))));
            } else {
                let (src, include) = if input.parents {
                    match path.split_once("/./") {
                        Some((parent, pattern)) => (parent.to_string(), pattern.to_string()),
                        None => ("/".to_string(), path.clone()),
                    }
                } else {
                    (path.clone(), String::new())
                };
                let include_patterns = if input.parents {
                    vec![clean_path(&include).trim_start_matches('/').to_string()]
                } else {
                    Vec::new()
                };
                let src = clean_path(&src);
                if from.is_none() {
                    self.context_paths.insert(clean_path(path));
                }
                actions.push(llb::FileAction::Copy(llb::Copy {
                    mode,
                    owner: owner.clone(),
                    attempt_unpack: input.add && input.unpack,
                    include_patterns,
                    exclude_patterns: exclude.clone(),
                    ..llb::Copy::new(source_state.clone(), src, dest.clone())
                }));
            }
        }
        for heredoc in &input.sources.heredocs {
            history.push_str(&format!(" <<{}", heredoc.name));
            let data = self.heredoc_data(st, heredoc)?;
            let file = llb::State::scratch().file(
                vec![llb::FileAction::MkFile(llb::MkFile {
                    path: format!("/{}", heredoc.name),
                    mode: 0o644,
                    data: data.into_bytes(),
                    owner: None,
                    timestamp: None,
                })],
                llb::OpOptions {
                    custom_name: Some("[internal] preparing inline document".into()),
                    ..Default::default()
                },
            );
            actions.push(llb::FileAction::Copy(plain(
                file,
                format!("/{}", heredoc.name),
            )));
        }
        history.push(' ');
        history.push_str(&dest_written);

        let options = self.op_options(Some(vertex_name.clone()), at.location);
        if input.link && mode.is_none() && self.options.merge_op {
            // `--link`: copy onto an empty layer and merge it over the stage, so the layer
            // does not depend on what is below it. Both vertices share one progress group
            // and the vertex index (BuildKit's id is random; ours is stable).
            let group = (
                format!("{}-{}", st.stage_index, group_index),
                vertex_name.clone(),
            );
            let copied = llb::State::scratch().file(
                actions,
                llb::OpOptions {
                    progress_group: Some(group.clone()),
                    ..options.clone()
                },
            );
            st.cmd_index -= 1;
            let merge_name = st.prefix(&format!("LINK {name}"));
            st.state = llb::State::merge(
                vec![st.state.clone(), copied],
                llb::OpOptions {
                    custom_name: Some(merge_name),
                    progress_group: Some(group),
                    ..options
                },
            );
        } else {
            st.state = st.state.file(actions, options);
        }
        st.image.commit(history, true, true);
        Ok(())
    }

    /// A heredoc body, expanded unless its delimiter was quoted.
    pub(super) fn heredoc_data(
        &self,
        st: &StageState,
        heredoc: &Heredoc,
    ) -> Result<String, LowerError> {
        if !heredoc.expand {
            return Ok(heredoc.content.clone());
        }
        Lexer::for_heredoc_body()
            .expand_value(&heredoc.content, |name| st.env_value(name))
            .map_err(|err| LowerError::Expand {
                message: err.to_string(),
                span: heredoc.span,
            })
    }
}

/// The file name an ADD of a URL writes: the last path segment, else `__unnamed__`.
fn url_file_name(url: &str) -> String {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let without_query = without_scheme.split(['?', '#']).next().unwrap_or_default();
    let path = without_query.split_once('/').map_or("", |(_, path)| path);
    match path.rsplit('/').next() {
        Some(base) if !base.is_empty() && base != "." => base.to_string(),
        _ => "__unnamed__".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_file_names_and_git_refs() {
        assert_eq!(
            url_file_name("https://example.com/a/b.tar.gz?x=1"),
            "b.tar.gz"
        );
        assert_eq!(url_file_name("https://example.com/"), "__unnamed__");
        assert_eq!(url_file_name("https://example.com"), "__unnamed__");
        let git = git_ref("https://github.com/moby/buildkit.git#v0.13.2:docs").unwrap();
        assert_eq!(
            (
                git.remote.as_str(),
                git.reference.as_str(),
                git.subdir.as_str()
            ),
            ("https://github.com/moby/buildkit.git", "v0.13.2", "docs")
        );
        assert!(git_ref("git@github.com:moby/buildkit").is_some());
        assert!(git_ref("src/app.git").is_none());
        assert!(git_ref("https://example.com/file.tar").is_none());
    }
}
