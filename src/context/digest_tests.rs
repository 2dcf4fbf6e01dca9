use std::fs::{self, File};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::time::{Duration, SystemTime};

use super::*;

const TREE: &[(&str, &str)] = &[
    ("Dockerfile", "FROM scratch\n"),
    (".dockerignore", "*.log\ncache\n"),
    ("app.log", "noise\n"),
    ("cache/blob", "cached\n"),
    ("src/main.rs", "fn main() {}\n"),
    ("src/lib.rs", "pub fn lib() {}\n"),
    ("src/util/mod.rs", "// util\n"),
    ("notes.txt", "notes\n"),
    ("readme.txt", "readme\n"),
];

fn context() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, contents) in TREE {
        let full = dir.path().join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, contents).unwrap();
    }
    symlink("src", dir.path().join("src-link")).unwrap();
    symlink("/etc/passwd", dir.path().join("passwd")).unwrap();
    dir
}

fn ignore_file(root: &Path) -> Filter {
    Filter::from_dockerignore(&fs::read_to_string(root.join(".dockerignore")).unwrap())
}

fn whole(root: &Path) -> String {
    let filter = ignore_file(root);
    digest_files(root, &walk(root, &filter).unwrap()).unwrap()
}

fn of(root: &Path, sources: &[&str]) -> String {
    digest_paths(root, sources, &ignore_file(root)).unwrap()
}

fn set_mtime(path: &Path, seconds_ago: u64) {
    let file = File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(seconds_ago))
        .unwrap();
}

#[test]
fn same_tree_gives_the_same_digest_wherever_it_lives() {
    let (first, second) = (context(), context());
    let digest = whole(first.path());
    assert!(
        digest.starts_with("sha256:") && digest.len() == 7 + 64,
        "{digest}"
    );
    assert_eq!(digest, whole(first.path()));
    assert_eq!(digest, whole(second.path()));
}

#[test]
fn one_changed_byte_changes_the_digest() {
    let context = context();
    let before = whole(context.path());
    fs::write(context.path().join("src/lib.rs"), "pub fn lib() {}\r").unwrap();
    assert_ne!(before, whole(context.path()));
}

#[test]
fn modification_times_do_not_count() {
    let context = context();
    let before = whole(context.path());
    set_mtime(&context.path().join("src/main.rs"), 86_400);
    set_mtime(&context.path().join("Dockerfile"), 3);
    let entries = walk(context.path(), &ignore_file(context.path())).unwrap();
    let main = entries
        .iter()
        .find(|entry| entry.path == "src/main.rs")
        .unwrap();
    let now_ns = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    assert!(
        now_ns - main.mtime_ns > 86_000 * 1_000_000_000,
        "mtime was set"
    );
    assert_eq!(before, whole(context.path()));
}

#[test]
fn excluded_files_do_not_count() {
    let context = context();
    let before = whole(context.path());
    let before_copy = of(context.path(), &["."]);
    fs::write(context.path().join("app.log"), "other noise\n").unwrap();
    fs::write(context.path().join("cache/blob"), "changed\n").unwrap();
    fs::write(context.path().join("cache/new"), "new\n").unwrap();
    assert_eq!(before, whole(context.path()));
    assert_eq!(before_copy, of(context.path(), &["."]));
    // Without the .dockerignore the same change shows.
    let unfiltered = digest_paths(context.path(), &["."], &Filter::default()).unwrap();
    fs::write(context.path().join("app.log"), "noise again\n").unwrap();
    assert_ne!(
        unfiltered,
        digest_paths(context.path(), &["."], &Filter::default()).unwrap()
    );
}

#[test]
fn permissions_and_symlink_targets_count() {
    let context = context();
    let before = whole(context.path());
    let script = context.path().join("src/main.rs");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let executable = whole(context.path());
    assert_ne!(before, executable);
    fs::remove_file(context.path().join("passwd")).unwrap();
    symlink("/etc/shadow", context.path().join("passwd")).unwrap();
    assert_ne!(executable, whole(context.path()));
}

#[test]
fn digest_is_over_the_listed_entries_in_order() {
    let context = context();
    let entries = walk(context.path(), &Filter::default()).unwrap();
    let mut reversed = entries.clone();
    reversed.reverse();
    assert_ne!(
        digest_files(context.path(), &entries).unwrap(),
        digest_files(context.path(), &reversed).unwrap()
    );
    // No entries is a digest too: that of the format tag alone.
    assert_eq!(
        digest_files(context.path(), &[]).unwrap(),
        format!("sha256:{}", hex::encode(Sha256::digest(FORMAT)))
    );
}

#[test]
fn files_are_hashed_in_pieces() {
    let context = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = (0..READ_BUFFER * 3 + 17).map(|i| (i % 251) as u8).collect();
    fs::write(context.path().join("big"), &bytes).unwrap();
    let mut buffer = vec![0; READ_BUFFER];
    assert_eq!(
        file_sha256(context.path(), "big", &mut buffer).unwrap(),
        Sha256::digest(&bytes).to_vec()
    );
}

#[test]
fn copy_sources_select_subtrees() {
    let context = context();
    let root = context.path();
    let src = of(root, &["src"]);
    assert_eq!(
        src,
        of(root, &["/src"]),
        "absolute sources are relative to the root"
    );
    assert_eq!(src, of(root, &["./src/"]));
    assert_eq!(src, of(root, &["src/util/.."]));
    assert_ne!(src, of(root, &["src/util"]));
    // Only what the source takes counts.
    fs::write(root.join("notes.txt"), "changed\n").unwrap();
    assert_eq!(src, of(root, &["src"]));
    fs::write(root.join("src/util/mod.rs"), "changed\n").unwrap();
    assert_ne!(src, of(root, &["src"]));
}

#[test]
fn copy_sources_with_wildcards() {
    let context = context();
    let root = context.path();
    let texts = of(root, &["*.txt"]);
    assert_eq!(texts, of(root, &["notes.txt", "readme.txt"]));
    assert_eq!(
        of(root, &["src/*.rs"]),
        of(root, &["src/lib.rs", "src/main.rs"])
    );
    assert_eq!(
        of(root, &["s[r]c"]),
        of(root, &["src"]),
        "a matched directory is its subtree"
    );
    // `*` does not cross `/`, and an excluded file does not match.
    assert_eq!(of(root, &["*.log"]), of(root, &[]));
    fs::write(root.join("src/util/mod.rs"), "changed\n").unwrap();
    assert_eq!(texts, of(root, &["*.txt"]));
    assert_eq!(of(root, &["nothing*"]), of(root, &[]));
}

#[test]
fn copy_sources_resolve_symlinks_inside_the_context() {
    let context = context();
    let root = context.path();
    assert_eq!(of(root, &["src-link"]), of(root, &["src"]));
    assert_eq!(of(root, &["src-link/main.rs"]), of(root, &["src/main.rs"]));
    assert_eq!(of(root, &["src-l*"]), of(root, &["src"]));
    // `/etc/passwd` is `etc/passwd` of the context, which does not exist: the host's
    // file is never read.
    let err = digest_paths(root, &["passwd"], &Filter::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "COPY source `passwd` not found in the build context"
    );
    symlink("loop-b", root.join("loop-a")).unwrap();
    symlink("loop-a", root.join("loop-b")).unwrap();
    let err = digest_paths(root, &["loop-a"], &Filter::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "COPY source `loop-a`: too many levels of symbolic links"
    );
}

#[test]
fn copy_sources_outside_the_context_are_refused() {
    let context = context();
    for source in ["../x", "..", "src/../../x", "/../etc/passwd"] {
        let err = digest_paths(context.path(), &[source], &Filter::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("COPY source `{source}` points outside the build context")
        );
    }
    let err = digest_paths(context.path(), &["missing"], &Filter::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "COPY source `missing` not found in the build context"
    );
    let err = digest_paths(
        context.path(),
        &["cache/blob"],
        &ignore_file(context.path()),
    )
    .unwrap_err();
    assert!(matches!(err, ContextError::SourceNotFound { .. }), "{err}");
}

#[test]
fn entries_from_elsewhere_are_checked() {
    let context = context();
    let entries = walk(context.path(), &Filter::default()).unwrap();
    let mut escaping = entries[0].clone();
    escaping.path = "../secret".to_string();
    let err = digest_files(context.path(), &[escaping]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`../secret` is not a clean path inside the context"
    );
    // A file swapped for a symlink after the walk is not read through the link.
    let main = entries
        .iter()
        .find(|entry| entry.path == "src/main.rs")
        .unwrap();
    fs::remove_file(context.path().join("src/main.rs")).unwrap();
    symlink("/etc/passwd", context.path().join("src/main.rs")).unwrap();
    let err = digest_files(context.path(), std::slice::from_ref(main)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`src/main.rs` changed while it was being read"
    );
}
