//! `.Commit.*` of a project directory, read with the git CLI (as werf reads the
//! repository it runs in). IO: called by the edges (cli), never while building graphs.

use std::path::Path;
use std::process::Command;

use super::template::CommitInfo;

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
        date_human: human_date(date_unix),
        date_unix,
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
        assert_eq!(commit.date_unix, 1_714_557_600);
        assert_eq!(commit.date_human, "2024-05-01 10:00:00 +0000 UTC");
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
