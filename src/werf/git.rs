//! `.Commit.*` of a project directory, and the commit a remote repository's ref points
//! to, read with the git CLI (as werf reads the repositories). IO: called by the edges
//! (cli), never while building graphs.

use std::path::Path;
use std::process::Command;

use super::model::GitRef;
use super::remote::is_full_hash;
use super::template::{CommitDate, CommitInfo};

/// The commit `git_ref` of the repository at `url` points to now (`git ls-remote`); a
/// commit hash is its own answer.
pub fn resolve_remote_ref(url: &str, git_ref: &GitRef) -> Result<String, String> {
    let patterns: Vec<String> = match git_ref {
        GitRef::Commit(commit) => return Ok(commit.clone()),
        GitRef::Branch(branch) => vec![format!("refs/heads/{branch}")],
        GitRef::Tag(tag) => vec![format!("refs/tags/{tag}"), format!("refs/tags/{tag}^{{}}")],
        GitRef::Head => vec!["HEAD".into()],
    };
    let output = Command::new("git")
        .args(["ls-remote", "--"])
        .arg(url)
        .args(&patterns)
        // Never wait for credentials on a terminal.
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|error| format!("git could not be run to resolve {url}: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "git ls-remote {url} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    commit_in_listing(&String::from_utf8_lossy(&output.stdout), git_ref)
        .ok_or_else(|| format!("{url} has no {}", describe(git_ref)))
}

fn describe(git_ref: &GitRef) -> String {
    match git_ref {
        GitRef::Commit(commit) => format!("commit {commit}"),
        GitRef::Branch(branch) => format!("branch {branch}"),
        GitRef::Tag(tag) => format!("tag {tag}"),
        GitRef::Head => "HEAD".into(),
    }
}

/// The commit of `git_ref` in `git ls-remote` output: an annotated tag's peeled line
/// (`refs/tags/T^{}`) is the commit, its plain line the tag object.
fn commit_in_listing(listing: &str, git_ref: &GitRef) -> Option<String> {
    let wanted: Vec<String> = match git_ref {
        GitRef::Commit(commit) => return Some(commit.clone()),
        GitRef::Branch(branch) => vec![format!("refs/heads/{branch}")],
        GitRef::Tag(tag) => vec![format!("refs/tags/{tag}^{{}}"), format!("refs/tags/{tag}")],
        GitRef::Head => vec!["HEAD".into()],
    };
    let lines: Vec<(&str, &str)> = listing
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .collect();
    wanted.iter().find_map(|name| {
        lines
            .iter()
            .find(|(hash, line_ref)| line_ref == name && is_full_hash(hash))
            .map(|(hash, _)| hash.to_string())
    })
}

/// HEAD of the git work tree at `dir`, or why there is none (the message a template
/// using `.Commit` shows).
pub fn commit_of(dir: &Path) -> Result<CommitInfo, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["log", "-1", "--format=%H%n%ct"])
        .output()
        .map_err(|error| format!(".Commit needs git, which could not be run: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            ".Commit needs a git repository with a commit, and {} has none ({})",
            dir.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let hash = lines.next().unwrap_or_default().to_string();
    let date_unix: i64 = lines.next().unwrap_or_default().trim().parse().unwrap_or(0);
    Ok(CommitInfo {
        hash,
        date: Ok(CommitDate {
            human: human_date(date_unix),
            unix: date_unix,
        }),
    })
}

/// Go's `time.Time.String()` of a UTC time: `2024-05-01 10:00:00 +0000 UTC`.
fn human_date(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let seconds = unix.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} +0000 UTC",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_give_the_commit_of_a_ref() {
        let listing = "1111111111111111111111111111111111111111\tHEAD\n\
                       2222222222222222222222222222222222222222\trefs/heads/main\n\
                       3333333333333333333333333333333333333333\trefs/tags/v1\n\
                       4444444444444444444444444444444444444444\trefs/tags/v1^{}\n\
                       5555555555555555555555555555555555555555\trefs/tags/v2\n";
        let commit = |git_ref: GitRef| commit_in_listing(listing, &git_ref);
        assert_eq!(commit(GitRef::Head).unwrap(), "1".repeat(40));
        assert_eq!(
            commit(GitRef::Branch("main".into())).unwrap(),
            "2".repeat(40)
        );
        // An annotated tag's commit, not the tag object; a lightweight tag's own line.
        assert_eq!(commit(GitRef::Tag("v1".into())).unwrap(), "4".repeat(40));
        assert_eq!(commit(GitRef::Tag("v2".into())).unwrap(), "5".repeat(40));
        assert_eq!(commit(GitRef::Branch("v1".into())), None);
        assert_eq!(commit(GitRef::Tag("main".into())), None);
    }

    #[test]
    fn human_dates_are_go_time_strings() {
        assert_eq!(human_date(0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(human_date(1_714_557_600), "2024-05-01 10:00:00 +0000 UTC");
    }

    #[test]
    fn commit_is_head_of_the_work_tree() {
        let dir = std::env::temp_dir().join(format!("conveyor-git-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let git = |args: &[&str]| {
            let output = Command::new("git")
                .arg("-C")
                .arg(&dir)
                .args(args)
                .env("GIT_AUTHOR_NAME", "t")
                .env("GIT_AUTHOR_EMAIL", "t@example.com")
                .env("GIT_COMMITTER_NAME", "t")
                .env("GIT_COMMITTER_EMAIL", "t@example.com")
                .env("GIT_COMMITTER_DATE", "2024-05-01T10:00:00Z")
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            String::from_utf8_lossy(&output.stdout).trim().to_string()
        };
        git(&["init", "-q"]);
        std::fs::write(dir.join("werf.yaml"), "project: p\n").unwrap();
        git(&["add", "werf.yaml"]);
        git(&["commit", "-q", "-m", "first"]);
        let commit = commit_of(&dir).unwrap();
        assert_eq!(commit.hash, git(&["rev-parse", "HEAD"]));
        let date = commit.date.unwrap();
        assert_eq!(date.unix, 1_714_557_600);
        assert_eq!(date.human, "2024-05-01 10:00:00 +0000 UTC");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_directory_without_git_says_so() {
        let dir = std::env::temp_dir().join(format!("conveyor-nogit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let error = commit_of(&dir).unwrap_err();
        assert!(error.contains("needs a git repository"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
