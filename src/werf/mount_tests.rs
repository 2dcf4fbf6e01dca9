//! `mount` with `fromPath` (a host directory).

use crate::werf::MountKind;
use crate::werf::tests::{load_err, load_ok};

const META: &str = "project: demo\nconfigVersion: 1\n---\nimage: app\nfrom: alpine\nmount:\n";

#[test]
fn from_path_mounts_are_read_and_listed_once() {
    let config = load_ok(&format!(
        "{META}- fromPath: ~/.cache/go\n  to: /root/go\n- fromPath: data\n  to: /data\n---\nimage: other\nfrom: alpine\nmount:\n- fromPath: data\n  to: /srv/data\n"
    ));
    let MountKind::FromPath(path) = &config.images[0].stapel.mounts[0].kind else {
        panic!("not a host directory");
    };
    assert_eq!(path.value, "~/.cache/go");
    let paths: Vec<&str> = config
        .host_paths()
        .into_iter()
        .map(|p| p.value.as_str())
        .collect();
    assert_eq!(paths, ["~/.cache/go", "data"]);
}

#[test]
fn wrong_from_path_mounts_are_located() {
    assert_eq!(
        load_err(&format!(
            "{META}- from: tmp_dir\n  fromPath: /x\n  to: /x\n"
        )),
        "werf.yaml:8:3: a mount takes `from` or `fromPath`, not both"
    );
    assert_eq!(
        load_err(&format!("{META}- fromPath: ''\n  to: /x\n")),
        "werf.yaml:7:13: fromPath must not be empty"
    );
    assert_eq!(
        load_err(&format!("{META}- to: /x\n")),
        "werf.yaml:7:3: a mount needs `from` (tmp_dir or build_dir) or `fromPath` (a host directory)"
    );
    assert_eq!(
        load_err(&format!("{META}- fromPath: /x\n  to: x\n")),
        "werf.yaml:8:7: mount to must be an absolute path, not \"x\""
    );
}
