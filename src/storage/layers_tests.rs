use std::io::Write as _;

use super::*;

/// One tar entry of a test layer.
enum Item<'a> {
    Dir(&'a str),
    File(&'a str, &'a str),
    /// A file with its mode and owner.
    Owned(&'a str, &'a str, u32, u64),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
}

fn layer(items: &[Item<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for item in items {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(1);
        let (path, data): (&str, &[u8]) = match item {
            Item::Dir(path) => {
                header.set_entry_type(EntryType::Directory);
                header.set_mode(0o755);
                (path, b"")
            }
            Item::File(path, text) => {
                header.set_entry_type(EntryType::Regular);
                (path, text.as_bytes())
            }
            Item::Owned(path, text, mode, uid) => {
                header.set_entry_type(EntryType::Regular);
                header.set_mode(*mode);
                header.set_uid(*uid);
                (path, text.as_bytes())
            }
            Item::Symlink(path, target) => {
                header.set_entry_type(EntryType::Symlink);
                header.set_link_name(target).unwrap();
                (path, b"")
            }
            Item::HardLink(path, target) => {
                header.set_entry_type(EntryType::Link);
                header.set_link_name(target).unwrap();
                (path, b"")
            }
        };
        header.set_size(data.len() as u64);
        builder.append_data(&mut header, path, data).unwrap();
    }
    builder.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn merged(layers: &[Vec<u8>]) -> Filesystem {
    Filesystem::from_layers(layers.iter().map(|layer| layer.as_slice())).unwrap()
}

fn paths(filesystem: &Filesystem) -> Vec<&str> {
    filesystem.nodes.keys().map(String::as_str).collect()
}

fn sha(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

#[test]
fn whiteouts_and_opaque_directories_hide_the_layers_below() {
    let base = layer(&[
        Item::Dir("app/"),
        Item::File("app/a", "a"),
        Item::File("app/b", "b"),
        Item::Dir("app/cache/"),
        Item::File("app/cache/old", "old"),
        Item::Dir("etc/"),
        Item::File("etc/conf", "1"),
    ]);
    let upper = layer(&[
        Item::File("app/.wh.a", ""),
        Item::Dir("app/cache/"),
        // The opaque marker after an entry of its own layer: that entry stays.
        Item::File("app/cache/new", "new"),
        Item::File("app/cache/.wh..wh..opq", ""),
        Item::File("etc/conf", "2"),
    ]);
    let filesystem = merged(&[gzip(&base), upper]);
    assert_eq!(
        paths(&filesystem),
        [
            "app",
            "app/b",
            "app/cache",
            "app/cache/new",
            "etc",
            "etc/conf"
        ]
    );
    assert_eq!(filesystem.get("etc/conf").unwrap().content, Some(sha("2")));
}

#[test]
fn a_file_over_a_directory_replaces_its_subtree() {
    let base = layer(&[Item::Dir("x/"), Item::File("x/inner", "i")]);
    let upper = layer(&[Item::File("x", "now a file")]);
    let filesystem = merged(&[base, upper]);
    assert_eq!(paths(&filesystem), ["x"]);
    assert_eq!(filesystem.get("x").unwrap().kind, EntryKind::File);
}

#[test]
fn hard_links_and_symlinks() {
    let base = layer(&[
        Item::Owned("bin/tool", "tool bytes", 0o755, 7),
        Item::HardLink("bin/alias", "bin/tool"),
        Item::Symlink("bin/link", "tool"),
    ]);
    // A hard link to a file of a lower layer.
    let upper = layer(&[Item::HardLink("usr/tool", "./bin/tool")]);
    let filesystem = merged(&[base, upper]);
    let tool = filesystem.get("bin/tool").unwrap().clone();
    assert_eq!((tool.mode, tool.uid), (0o755, 7));
    assert_eq!(filesystem.get("bin/alias"), Some(&tool));
    assert_eq!(filesystem.get("usr/tool"), Some(&tool));
    let link = filesystem.get("bin/link").unwrap();
    assert_eq!(
        (link.kind, link.link_target.as_deref()),
        (EntryKind::Symlink, Some("tool"))
    );
    let dangling =
        Filesystem::from_layers([layer(&[Item::HardLink("a", "nowhere")]).as_slice()]).unwrap_err();
    assert_eq!(
        dangling.to_string(),
        "layer 0: hard link a to nowhere, which no layer below holds"
    );
}

fn digest_of(layers: &[Vec<u8>], add: &str, include: &[&str], exclude: &[&str]) -> String {
    let include: Vec<String> = include.iter().map(|p| p.to_string()).collect();
    let exclude: Vec<String> = exclude.iter().map(|p| p.to_string()).collect();
    import_digest(
        &merged(layers),
        &ImportSelection {
            add,
            include_paths: &include,
            exclude_paths: &exclude,
        },
    )
    .unwrap()
}

#[test]
fn import_digests_follow_the_imported_bytes_only() {
    let app = |text: &str| {
        layer(&[
            Item::Dir("out/"),
            Item::File("out/app", text),
            Item::File("out/app.log", "log"),
            Item::Dir("work/"),
            Item::File("work/scratch", "1"),
        ])
    };
    let digest = digest_of(&[app("v1")], "/out", &[], &[]);
    assert!(digest.starts_with("sha256:"), "{digest}");
    // The same bytes from other layers: the same digest.
    let rebuilt = [
        layer(&[Item::Dir("out/"), Item::File("out/app", "v1")]),
        layer(&[
            Item::File("out/app.log", "log"),
            Item::Dir("work/"),
            Item::File("work/scratch", "2"),
        ]),
    ];
    assert_eq!(digest_of(&rebuilt, "/out", &[], &[]), digest);
    // Other bytes, another digest; a change outside what is taken, none.
    assert_ne!(digest_of(&[app("v2")], "/out", &[], &[]), digest);
    let only_app = digest_of(&[app("v1")], "/out", &["app"], &[]);
    assert_ne!(only_app, digest);
    let other_log = [app("v1"), layer(&[Item::File("out/app.log", "other log")])];
    assert_eq!(digest_of(&other_log, "/out", &["app"], &[]), only_app);
    assert_eq!(
        digest_of(&other_log, "/out", &[], &["*.log"]),
        digest_of(&[app("v1")], "/out", &[], &["*.log"])
    );
    assert_ne!(digest_of(&other_log, "/out", &[], &[]), digest);
    // Mode and owner are imported too.
    let owned = [app("v1"), layer(&[Item::Owned("out/app", "v1", 0o755, 0)])];
    assert_ne!(digest_of(&owned, "/out", &[], &[]), digest);
    let chowned = [
        app("v1"),
        layer(&[Item::Owned("out/app", "v1", 0o644, 1000)]),
    ];
    assert_ne!(digest_of(&chowned, "/out", &[], &[]), digest);
    assert_eq!(
        digest_of(
            &[app("v1"), layer(&[Item::Owned("out/app", "v1", 0o644, 0)])],
            "/out",
            &[],
            &[]
        ),
        digest
    );
}

#[test]
fn import_of_a_file_through_a_symlink() {
    let layers = [layer(&[
        Item::Dir("real/"),
        Item::File("real/tool", "t"),
        Item::Symlink("current", "/real"),
    ])];
    let direct = digest_of(&layers, "/real/tool", &[], &[]);
    assert_eq!(digest_of(&layers, "/current/tool", &[], &[]), direct);
    assert_ne!(digest_of(&layers, "/real", &[], &[]), direct);
    let missing = digest_of(&layers, "/nothing", &[], &[]);
    assert_ne!(missing, direct);
    assert_eq!(digest_of(&[layer(&[])], "/nothing/else", &[], &[]), missing);
}
