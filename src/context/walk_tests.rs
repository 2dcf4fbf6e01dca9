use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{PermissionsExt, symlink};

use super::go_mode_bits::*;
use super::*;
use crate::context::filter_walked;

/// Builds a tree from `path` / `path/` (directory) / `path -> target` lines.
pub(crate) fn tree(spec: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for line in spec.lines().map(str::trim).filter(|line| !line.is_empty()) {
        let full = |path: &str| dir.path().join(path);
        if let Some((link, target)) = line.split_once(" -> ") {
            symlink(target, full(link)).unwrap();
        } else if let Some(path) = line.strip_suffix('/') {
            fs::create_dir_all(full(path)).unwrap();
        } else {
            fs::write(full(line), format!("contents of {line}\n")).unwrap();
        }
    }
    dir
}

/// One line per entry: kind, path, and the link target if any.
fn listing(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .map(|entry| {
            let kind = match entry.kind {
                EntryKind::File => "f",
                EntryKind::Dir => "d",
                EntryKind::Symlink => "l",
                EntryKind::Other => "o",
            };
            match &entry.link_target {
                Some(target) => format!("{kind} {} -> {target}", entry.path),
                None => format!("{kind} {}", entry.path),
            }
        })
        .collect()
}

fn walk_listing(root: &Path, filter: &Filter) -> Vec<String> {
    listing(&walk(root, filter).unwrap())
}

fn dockerignore(text: &str) -> Filter {
    Filter::from_dockerignore(text)
}

/// A file whose name is not UTF-8: the walk fails on it if, and only if, it looks
/// into the directory holding it.
fn plant_non_utf8(dir: &Path) {
    fs::write(dir.join(OsStr::from_bytes(b"bad\xff")), b"x").unwrap();
}

#[test]
fn order_is_depth_first_sorted_by_name_per_directory() {
    let context = tree(
        "b.txt
         a/b/
         a/b/c.txt
         a/z.txt
         a.txt
         A.txt
         link-passwd -> /etc/passwd
         link-dir -> a",
    );
    // `a.txt` sorts after all of `a/`: names are compared within one directory,
    // not whole paths (where `.` would come before `/`).
    assert_eq!(
        walk_listing(context.path(), &Filter::default()),
        [
            "f A.txt",
            "d a",
            "d a/b",
            "f a/b/c.txt",
            "f a/z.txt",
            "f a.txt",
            "f b.txt",
            "l link-dir -> a",
            "l link-passwd -> /etc/passwd",
        ]
    );
}

#[test]
fn metadata_is_in_go_file_mode_bits() {
    let context = tree(
        "dir/
         file
         link -> /etc/passwd",
    );
    let root = context.path();
    fs::set_permissions(root.join("dir"), fs::Permissions::from_mode(0o1750)).unwrap();
    fs::set_permissions(root.join("file"), fs::Permissions::from_mode(0o4640)).unwrap();
    let entries = walk(root, &Filter::default()).unwrap();
    let [dir, file, link] = &entries[..] else {
        panic!("{entries:?}")
    };
    assert_eq!(dir.mode, DIR | STICKY | 0o750);
    assert_eq!(dir.size, 0);
    assert_eq!(file.mode, SETUID | 0o640);
    assert_eq!(file.size, "contents of file\n".len() as u64);
    assert_eq!(link.mode & !PERM, SYMLINK);
    assert_eq!(link.size, "/etc/passwd".len() as u64);
    let metadata = fs::symlink_metadata(root.join("file")).unwrap();
    assert_eq!((file.uid, file.gid), (metadata.uid(), metadata.gid()));
    assert_eq!(
        file.mtime_ns,
        metadata.mtime() * 1_000_000_000 + metadata.mtime_nsec()
    );
}

#[test]
fn go_mode_converts_every_file_type() {
    assert_eq!(go_mode(0o100_644), 0o644);
    assert_eq!(go_mode(0o040_755), DIR | 0o755);
    assert_eq!(go_mode(0o120_777), SYMLINK | 0o777);
    assert_eq!(go_mode(0o010_600), NAMED_PIPE | 0o600);
    assert_eq!(go_mode(0o060_660), DEVICE | 0o660);
    assert_eq!(go_mode(0o020_620), DEVICE | CHAR_DEVICE | 0o620);
    // fsutil clears the socket bit.
    assert_eq!(go_mode(0o140_755), 0o755);
    assert_eq!(go_mode(0o102_755), SETGID | 0o755);
    assert_eq!(go_mode(0o107_000), SETUID | SETGID | STICKY);
    assert_eq!(unix_permissions(go_mode(0o041_777)), 0o1777);
    assert_eq!(unix_permissions(go_mode(0o106_755)), 0o6755);
}

#[test]
fn symlinks_are_never_followed() {
    let context = tree(
        "real/
         real/inner.txt
         to-dir -> real
         to-passwd -> /etc/passwd
         escape -> ../../..",
    );
    let entries = walk(context.path(), &Filter::default()).unwrap();
    assert_eq!(
        listing(&entries),
        [
            "l escape -> ../../..",
            "d real",
            "f real/inner.txt",
            "l to-dir -> real",
            "l to-passwd -> /etc/passwd",
        ]
    );
    assert!(entries.iter().all(|entry| !entry.path.contains("..")));
}

#[test]
fn excluded_directory_with_an_exception_inside() {
    let context = tree(
        ".dockerignore
         docs/
         docs/README.md
         docs/guide.md
         docs/img/
         docs/img/logo.png
         node_modules/
         node_modules/dep.js
         src/
         src/main.rs
         src/main.rs.tmp",
    );
    // Walking into node_modules would trip over this name: it must be pruned.
    plant_non_utf8(&context.path().join("node_modules"));
    let filter = dockerignore("docs\n!docs/README.md\nnode_modules\n**/*.tmp\n");
    assert_eq!(
        walk_listing(context.path(), &filter),
        [
            "f .dockerignore",
            "d docs",
            "f docs/README.md",
            "d src",
            "f src/main.rs",
        ]
    );
}

#[test]
fn excluded_directory_is_entered_when_an_exception_could_match_inside() {
    let context = tree(
        "docs/
         docs/README.md
         docs/guide.txt
         docs/sub/
         docs/sub/deep.md
         docs/other/
         docs/other/x.txt
         build/
         build/out.o",
    );
    plant_non_utf8(&context.path().join("build"));
    // `docs/README.md` is a plain path: only `docs` can hold it, `build` is pruned.
    let plain = dockerignore("docs\nbuild\n!docs/README.md");
    assert_eq!(
        walk_listing(context.path(), &plain),
        ["d docs", "f docs/README.md"]
    );
    // A wildcard exception may match anywhere, so every excluded directory is
    // entered (the planted name in `build` is then an error, naming the path);
    // directories are yielded only when something inside them is.
    fs::remove_file(
        context
            .path()
            .join("build")
            .join(OsStr::from_bytes(b"bad\xff")),
    )
    .unwrap();
    let wildcard = dockerignore("docs\nbuild\n!**/*.md");
    assert_eq!(
        walk_listing(context.path(), &wildcard),
        [
            "d docs",
            "f docs/README.md",
            "d docs/sub",
            "f docs/sub/deep.md"
        ]
    );
    plant_non_utf8(&context.path().join("build"));
    let err = walk(context.path(), &wildcard).unwrap_err();
    assert!(matches!(err, ContextError::NonUtf8Path { .. }), "{err}");
    assert!(err.to_string().contains("build/bad"), "{err}");
}

#[test]
fn exclude_everything_but_some() {
    let context = tree(
        "a.go
         b.txt
         pkg/
         pkg/c.go
         pkg/d.txt",
    );
    let filter = dockerignore("*\n!*.go\n!pkg/*.go");
    assert_eq!(
        walk_listing(context.path(), &filter),
        ["f a.go", "d pkg", "f pkg/c.go"]
    );
}

#[test]
fn include_patterns_take_matches_and_the_directories_above_them() {
    let context = tree(
        "Dockerfile
         src/
         src/main.rs
         src/lib.rs
         src/nested/
         src/nested/mod.rs
         target/
         target/big.bin",
    );
    plant_non_utf8(&context.path().join("target"));
    let plain = Filter {
        include_patterns: vec!["src/nested/mod.rs".into(), "Dockerfile".into()],
        ..Filter::default()
    };
    assert_eq!(
        walk_listing(context.path(), &plain),
        [
            "f Dockerfile",
            "d src",
            "d src/nested",
            "f src/nested/mod.rs"
        ]
    );
    let directory = Filter {
        include_patterns: vec!["src".into()],
        exclude_patterns: vec!["src/lib.rs".into()],
        ..Filter::default()
    };
    assert_eq!(
        walk_listing(context.path(), &directory),
        [
            "d src",
            "f src/main.rs",
            "d src/nested",
            "f src/nested/mod.rs"
        ]
    );
    fs::remove_file(
        context
            .path()
            .join("target")
            .join(OsStr::from_bytes(b"bad\xff")),
    )
    .unwrap();
    let wildcard = Filter {
        include_patterns: vec!["**/*.rs".into()],
        ..Filter::default()
    };
    assert_eq!(
        walk_listing(context.path(), &wildcard),
        [
            "d src",
            "f src/lib.rs",
            "f src/main.rs",
            "d src/nested",
            "f src/nested/mod.rs"
        ]
    );
}

#[test]
fn follow_paths_add_symlinks_and_their_targets() {
    let context = tree(
        "Dockerfile -> build/Dockerfile.real
         build/
         build/Dockerfile.real
         build/other
         abs -> /build/other
         loop -> loop
         unrelated",
    );
    let filter = Filter {
        follow_paths: vec![
            "Dockerfile".into(),
            "abs".into(),
            "loop".into(),
            "../../missing".into(),
        ],
        ..Filter::default()
    };
    assert_eq!(
        walk_listing(context.path(), &filter),
        [
            "l Dockerfile -> build/Dockerfile.real",
            "l abs -> /build/other",
            "d build",
            "f build/Dockerfile.real",
            "f build/other",
            "l loop -> loop",
        ]
    );
    let everything = Filter {
        follow_paths: vec![".".into()],
        ..Filter::default()
    };
    assert_eq!(walk(context.path(), &everything).unwrap().len(), 7);
}

#[test]
fn hard_links_point_at_the_first_path_yielded() {
    let context = tree(
        "a
         sub/",
    );
    fs::hard_link(context.path().join("a"), context.path().join("sub/b")).unwrap();
    let entries = walk(context.path(), &Filter::default()).unwrap();
    assert_eq!(listing(&entries), ["f a", "d sub", "f sub/b -> a"]);
    assert_eq!(entries[2].size, entries[0].size);
    // When the first name is filtered out, the next one is the original.
    let without_a = walk(context.path(), &dockerignore("a")).unwrap();
    assert_eq!(listing(&without_a), ["d sub", "f sub/b"]);
}

#[test]
fn root_must_be_a_directory() {
    let context = tree("file");
    let file = context.path().join("file");
    let err = walk(&file, &Filter::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("build context `{}` is not a directory", file.display())
    );
    let missing = context.path().join("missing");
    let err = walk(&missing, &Filter::default()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}: ", missing.display())),
        "{err}"
    );
}

#[test]
fn root_may_be_a_symlink_to_a_directory() {
    let context = tree(
        "real/
         real/x
         link -> real",
    );
    assert_eq!(
        walk_listing(&context.path().join("link"), &Filter::default()),
        ["f x"]
    );
}

#[test]
fn bad_patterns_are_reported() {
    let context = tree("x");
    let err = walk(context.path(), &dockerignore("a[")).unwrap_err();
    assert_eq!(err.to_string(), "bad pattern `a[`: syntax error in pattern");
}

const FSUTIL_TABLE: &str = include_str!("../../testdata/context/fsutil-walk.txt");

/// fsutil's `bufWalk` listing: `file p`, `dir p`, `symlink:target p`, and ` >first`
/// after a hard link.
fn buf_walk(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .map(|entry| match (entry.kind, &entry.link_target) {
            (EntryKind::Dir, _) => format!("dir {}", entry.path),
            (EntryKind::Symlink, target) => {
                format!("symlink:{} {}", target.as_deref().unwrap_or(""), entry.path)
            }
            (_, Some(first)) => format!("file {} >{first}", entry.path),
            (_, None) => format!("file {}", entry.path),
        })
        .collect()
}

fn add(root: &Path, line: &str) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let full = root.join(words[1]);
    match words[2] {
        "file" => fs::write(full, words[1]).unwrap(),
        "dir" => fs::create_dir(full).unwrap(),
        "symlink" => symlink(words[3], full).unwrap(),
        other => panic!("unknown ADD kind {other}"),
    }
}

fn filter_from(words: &[&str]) -> Filter {
    let mut filter = Filter::default();
    for word in words {
        let (key, pattern) = word.split_once('=').unwrap();
        let list = match key {
            "include" => &mut filter.include_patterns,
            "exclude" => &mut filter.exclude_patterns,
            "follow" => &mut filter.follow_paths,
            other => panic!("unknown filter key {other}"),
        };
        list.push(pattern.to_string());
    }
    filter
}

#[test]
fn fsutil_walker_table() {
    let mut context: Option<tempfile::TempDir> = None;
    let mut case = String::new();
    let mut n_checks = 0;
    let mut failures = Vec::new();
    for block in FSUTIL_TABLE.split("\n\n") {
        let mut lines = block
            .lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty());
        let Some(head) = lines.next() else { continue };
        let mut words = head.split_whitespace();
        match words.next().unwrap() {
            "case" => {
                case = words.next().unwrap().to_string();
                let dir = tempfile::tempdir().unwrap();
                for line in lines {
                    add(dir.path(), line);
                }
                context = Some(dir);
            }
            "walk" => {
                let root = context.as_ref().unwrap().path();
                let arguments: Vec<&str> = words.collect();
                let got = buf_walk(&walk(root, &filter_from(&arguments)).unwrap());
                let want: Vec<&str> = lines.collect();
                if got != want {
                    failures.push(format!("{case}: {head}\n got {got:?}\nwant {want:?}"));
                }
                n_checks += 1;
            }
            "follow-links" => {
                let root = context.as_ref().unwrap().path();
                let paths: Vec<String> = words.map(String::from).collect();
                let got = match follow_links(root, &paths).unwrap() {
                    Some(patterns) => patterns,
                    None => vec!["(no filter)".to_string()],
                };
                let want: Vec<&str> = lines.collect();
                if got != want {
                    failures.push(format!("{case}: {head}\n got {got:?}\nwant {want:?}"));
                }
                n_checks += 1;
            }
            other => panic!("unknown block {other}"),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(n_checks, 37);
}

#[test]
fn open_file_reads_only_regular_files_inside_the_root() {
    let context = tree(
        "dir/
         dir/file
         link -> /etc/passwd",
    );
    let root = context.path();
    let mut text = String::new();
    io::Read::read_to_string(&mut open_file(root, "dir/file").unwrap(), &mut text).unwrap();
    assert_eq!(text, "contents of dir/file\n");
    let refused = |path: &str| open_file(root, path).unwrap_err().to_string();
    assert_eq!(refused("link"), "`link` changed while it was being read");
    assert_eq!(refused("dir"), "`dir` changed while it was being read");
    assert_eq!(
        refused("dir/../../x"),
        "`dir/../../x` is not a clean path inside the context"
    );
    assert_eq!(
        refused("/etc/passwd"),
        "`/etc/passwd` is not a clean path inside the context"
    );
}

#[test]
fn filtering_a_walked_tree_yields_what_the_filtered_walk_yields() {
    let context = tree(
        "a/
         a/keep.txt
         a/drop.log
         a/deep/
         a/deep/x.log
         a/deep/y.txt
         b/
         b/only.log
         c.txt
         l -> a/keep.txt",
    );
    let everything = walk(context.path(), &Filter::default()).unwrap();
    let filters = [
        Filter {
            include_patterns: vec!["a/deep".into(), "c.txt".into()],
            ..Filter::default()
        },
        Filter {
            exclude_patterns: vec!["**/*.log".into()],
            ..Filter::default()
        },
        Filter {
            include_patterns: vec!["**/*.log".into()],
            exclude_patterns: vec!["a/deep".into()],
            ..Filter::default()
        },
        Filter {
            exclude_patterns: vec!["a".into(), "!a/deep/y.txt".into()],
            ..Filter::default()
        },
        Filter {
            include_patterns: vec!["b/*".into(), "l".into()],
            ..Filter::default()
        },
    ];
    for filter in filters {
        let expected = walk_listing(context.path(), &filter);
        let filtered = listing(&filter_walked(&everything, &filter).unwrap());
        assert_eq!(filtered, expected, "{filter:?}");
        assert_ne!(
            filtered,
            listing(&everything),
            "{filter:?} takes everything"
        );
    }
}
