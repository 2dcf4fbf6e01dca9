//! The commits the remote git mappings of a werf config resolve to, found before any
//! stage is signed or lowered. The frontend's container has no git and no network:
//! BuildKit fetches the ref with the git directory kept (`git.keepgitdir`), and the
//! commit is read from the checkout's `.git/HEAD`, which BuildKit leaves detached at
//! the fetched commit. Commits the CLI already resolved and signed with
//! (`conveyor.git-commits`) are taken as they are.

use std::collections::BTreeMap;

use crate::llb::{Definition, GitSource, OpOptions};
use crate::werf::{GitRef, WerfConfig, is_full_hash};

use super::bridge::Bridge;
use super::frontend::FrontendError;
use super::opts::FrontendOpts;

/// Fills in [`crate::werf::RemoteGit::resolved`] for every remote mapping.
pub(super) async fn resolve_remote_commits(
    bridge: &Bridge,
    opts: &FrontendOpts,
    config: &mut WerfConfig,
) -> Result<(), FrontendError> {
    let mut commits = BTreeMap::new();
    for (url, git_ref) in config.remote_refs() {
        let given = opts
            .git_commits
            .iter()
            .find(|given| given.url == url && given.git_ref == git_ref.to_string());
        let commit = match (given, &git_ref) {
            (Some(given), _) => given.commit.clone(),
            (None, GitRef::Commit(commit)) => commit.clone(),
            (None, _) => commit_of_ref(bridge, &url, &git_ref).await?,
        };
        if !is_full_hash(&commit) {
            return Err(FrontendError::RemoteGit {
                url,
                reason: format!("{git_ref} resolved to {commit:?}, which is not a commit hash"),
            });
        }
        commits.insert((url, git_ref), commit);
    }
    config.set_resolved_commits(&commits);
    Ok(())
}

async fn commit_of_ref(
    bridge: &Bridge,
    url: &str,
    git_ref: &GitRef,
) -> Result<String, FrontendError> {
    let failed = |reason: String| FrontendError::RemoteGit {
        url: url.to_string(),
        reason,
    };
    let source = GitSource {
        remote: url.to_string(),
        reference: git_ref.fragment().to_string(),
        keep_git_dir: true,
        options: OpOptions {
            custom_name: Some(format!("[conveyor] resolve git {url} {git_ref}")),
            ..Default::default()
        },
        ..Default::default()
    };
    // The solve is lazy: BuildKit fetches (and fails on a missing ref) at the read.
    let cannot = |error: crate::buildkit::BuildkitError| {
        failed(format!("cannot resolve {git_ref}: {error}"))
    };
    let reference = bridge
        .solve(&Definition::marshal(&source.state()))
        .await
        .map_err(cannot)?;
    let head = bridge
        .read_file(&reference, ".git/HEAD")
        .await
        .map_err(cannot)?;
    Ok(String::from_utf8_lossy(&head).trim().to_string())
}
