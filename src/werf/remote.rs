//! The remote part of a git mapping: `url` and one of `branch`, `tag`, `commit`.

use super::config::not_supported_yet;
use super::error::ConfigError;
use super::fields::Fields;
use super::model::RemoteGit;

/// The remote repository of a git mapping, or `None` for a local one (which must not
/// name a ref, as werf says).
pub(super) fn read_remote(git: &Fields<'_>) -> Result<Option<RemoteGit>, ConfigError> {
    not_supported_yet(git, "basicAuth", "git `basicAuth` (private repositories)")?;
    let Some(url) = git.string("url")? else {
        for key in ["branch", "tag", "commit"] {
            if let Some(span) = git.key_span(key).filter(|_| git.has(key)) {
                return Err(ConfigError::new(
                    span,
                    format!("git `{key}` names a ref of a remote repository: it needs `url`"),
                ));
            }
        }
        return Ok(None);
    };
    if !is_remote_url(&url.value) {
        return Err(ConfigError::new(
            url.span,
            format!(
                "git url must be a remote repository (https://, http://, git://, ssh:// or user@host:path), not {:?}",
                url.value
            ),
        ));
    }
    let mut names = Vec::new();
    for key in ["branch", "tag"] {
        let name = git.string(key)?;
        if let Some(name) = &name
            && (name.value.is_empty() || name.value.starts_with('-'))
        {
            return Err(ConfigError::new(
                name.span,
                format!("git {key} must be a ref name, not {:?}", name.value),
            ));
        }
        names.push(name.map(|n| n.value));
    }
    let commit = match git.string("commit")? {
        Some(commit) if is_full_hash(&commit.value) => Some(commit.value.to_ascii_lowercase()),
        Some(commit) => {
            return Err(ConfigError::new(
                commit.span,
                format!(
                    "git commit must be a full commit hash (40 hex digits), not {:?}: BuildKit fetches a commit only by its full hash",
                    commit.value
                ),
            ));
        }
        None => None,
    };
    let [branch, tag] = <[Option<String>; 2]>::try_from(names).expect("two keys");
    Ok(Some(RemoteGit {
        url: url.value,
        branch,
        tag,
        commit,
        resolved: None,
    }))
}

/// A full SHA-1 or SHA-256 commit hash.
pub fn is_full_hash(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A repository BuildKit fetches over the network; local paths and `file://` would
/// read the daemon's own filesystem, and a leading `-` would be read as an option.
fn is_remote_url(url: &str) -> bool {
    let networked = ["https://", "http://", "git://", "ssh://"]
        .iter()
        .any(|scheme| url.len() > scheme.len() && url.starts_with(scheme));
    let scp_like = url
        .split_once(':')
        .is_some_and(|(host, path)| host.contains('@') && !host.contains('/') && !path.is_empty());
    (networked || scp_like) && !url.starts_with('-') && !url.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_are_networked() {
        for url in [
            "https://github.com/werf/werf.git",
            "http://127.0.0.1:8080/repo.git",
            "git://host/repo",
            "ssh://git@host/repo.git",
            "git@github.com:werf/werf.git",
        ] {
            assert!(is_remote_url(url), "{url}");
        }
        for url in [
            "/srv/repo",
            "file:///srv/repo",
            "repo",
            "-u x",
            "https://",
            "host:path",
        ] {
            assert!(!is_remote_url(url), "{url}");
        }
    }

    #[test]
    fn commits_are_full_hashes() {
        assert!(is_full_hash(&"a".repeat(40)));
        assert!(is_full_hash(&"0F".repeat(32)));
        assert!(!is_full_hash("a5a01ab"));
        assert!(!is_full_hash(&"g".repeat(40)));
    }
}
