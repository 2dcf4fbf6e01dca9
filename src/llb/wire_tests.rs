//! The hand-written op encoder against prost's: every field of every op kind.

use std::sync::Arc;

use prost::Message;

use crate::proto::pb;

use super::*;

fn image() -> State {
    ImageSource {
        reference: "docker.io/library/busybox:latest".into(),
        platform: Some(Platform::new("linux", "arm64", "v8")),
        resolve_mode: "pull".into(),
        ..Default::default()
    }
    .state()
}

/// A graph using each op kind, mount kind, file action and option the encoder writes,
/// with values at the edges: zero ids, negative indexes, long strings, empty ones.
fn every_field() -> State {
    let context = LocalSource {
        name: "context".into(),
        session_id: "session".into(),
        shared_key_hint: "context".into(),
        include_patterns: vec!["src".into(), String::new()],
        exclude_patterns: vec!["*.tmp".into()],
        follow_paths: vec!["src/main.rs".into()],
        differ: "none".into(),
        ..Default::default()
    }
    .state();
    let long = "x".repeat(300);
    let ran = image().run(Exec {
        args: vec!["/bin/sh".into(), "-c".into(), long.clone(), String::new()],
        env: vec!["PATH=/bin".into(), format!("LONG={long}")],
        cwd: "/work".into(),
        user: "1000:1000".into(),
        hostname: "builder".into(),
        extra_hosts: vec![("db".into(), "10.0.0.2".into())],
        network: NetMode::None,
        security: SecurityMode::Insecure,
        secret_env: vec![("token".into(), "TOKEN".into(), true)],
        platform: Some(Platform::new("linux", "amd64", "")),
        mounts: vec![
            Mount {
                dest: "/src".into(),
                kind: MountKind::Bind {
                    source: context.clone(),
                    selector: "/sub".into(),
                    readonly: true,
                },
            },
            Mount {
                dest: "/out".into(),
                kind: MountKind::Bind {
                    source: State::scratch(),
                    selector: String::new(),
                    readonly: false,
                },
            },
            Mount {
                dest: "/cache".into(),
                kind: MountKind::Cache {
                    id: "go".into(),
                    sharing: CacheSharing::Locked,
                    base: State::scratch(),
                    selector: String::new(),
                },
            },
            Mount {
                dest: "/tmp".into(),
                kind: MountKind::Tmpfs { size: 1 << 20 },
            },
            Mount {
                dest: "/run/secrets/token".into(),
                kind: MountKind::Secret {
                    id: "token".into(),
                    uid: 0,
                    gid: 7,
                    mode: 0o400,
                    optional: true,
                },
            },
            Mount {
                dest: "/run/ssh".into(),
                kind: MountKind::Ssh {
                    id: "default".into(),
                    uid: 1,
                    gid: 0,
                    mode: 0o600,
                    optional: false,
                },
            },
        ],
        ..Default::default()
    });
    let owner = |user: UserOpt, group: Option<UserOpt>| {
        Some(ChownOpt {
            user: Some(user),
            group,
        })
    };
    let mut copy = Copy::new(ran.root(), "/out/*", "/dest/");
    copy.owner = owner(UserOpt::Id(0), Some(UserOpt::Name("staff".into())));
    copy.mode = Some(0o755);
    copy.timestamp = Some(0);
    copy.include_patterns = vec!["a".into()];
    copy.exclude_patterns = vec!["b".into(), "c".into()];
    copy.follow_symlink = false;
    copy.attempt_unpack = true;
    let files = image().file(
        vec![
            FileAction::Copy(copy),
            FileAction::Copy(Copy::new(ran.output("/out").unwrap(), "/", "/o")),
            FileAction::MkFile(MkFile {
                path: "/etc/motd".into(),
                mode: 0o644,
                data: long.into_bytes(),
                owner: owner(UserOpt::Name("app".into()), None),
                timestamp: Some(-5),
            }),
            FileAction::MkFile(MkFile {
                path: "/empty".into(),
                mode: 0,
                data: Vec::new(),
                owner: None,
                timestamp: None,
            }),
            FileAction::MkDir(MkDir {
                path: "/var/app".into(),
                mode: 0o700,
                make_parents: true,
                owner: owner(UserOpt::Id(1000), Some(UserOpt::Id(0))),
                timestamp: Some(1_700_000_000),
            }),
            FileAction::Rm(Rm {
                path: "/tmp/*".into(),
                allow_not_found: true,
                allow_wildcard: true,
            }),
        ],
        OpOptions::default(),
    );
    let git = GitSource {
        remote: "https://example.com/repo.git".into(),
        reference: "main".into(),
        keep_git_dir: true,
        ..Default::default()
    }
    .state();
    let merged = State::merge(
        vec![files.clone(), State::scratch(), git, context],
        OpOptions::default(),
    );
    State::diff(files, merged, OpOptions::default())
}

#[test]
fn ops_encode_as_prost_does() {
    let definition = Definition::marshal(&every_field());
    let ops = definition.ops();
    let kinds: Vec<&str> = ops
        .iter()
        .map(|(_, op)| super::tests::op_kind(op))
        .collect();
    assert_eq!(
        kinds,
        [
            "source", "source", "exec", "file", "source", "merge", "diff", "terminal"
        ]
    );
    // Decoding and encoding again through prost is the canonical form: any field out
    // of tag order, any default written, any length prefix too long would differ.
    for (bytes, (_, op)) in definition.to_pb().def.iter().zip(&ops) {
        assert_eq!(&op.encode_to_vec(), bytes, "{op:?}");
    }
    // A set message or oneof member holding only zeros is still written: a round trip
    // cannot tell it from a missing one, so look at them.
    let op = |kind: &str| {
        &ops.iter()
            .find(|(_, op)| super::tests::op_kind(op) == kind)
            .unwrap()
            .1
    };
    let Some(pb::op::Op::Exec(exec)) = &op("exec").op else {
        unreachable!()
    };
    // The long strings made bodies over 127 bytes, whose lengths take two bytes.
    assert!(exec.meta.as_ref().unwrap().encoded_len() > 300);
    let cache = exec.mounts.iter().find(|m| m.dest == "/cache").unwrap();
    assert_eq!((cache.input, cache.output), (-1, -1));
    assert_eq!(
        cache.cache_opt.as_ref().unwrap().sharing,
        pb::CacheSharingOpt::Locked as i32
    );
    let secret = exec
        .mounts
        .iter()
        .find(|m| m.dest == "/run/secrets/token")
        .unwrap();
    assert_eq!(secret.secret_opt.as_ref().unwrap().gid, 7);
    let Some(pb::op::Op::File(file)) = &op("file").op else {
        unreachable!()
    };
    let Some(pb::file_action::Action::Copy(copy)) = &file.actions[0].action else {
        unreachable!()
    };
    let root = Some(pb::UserOpt {
        user: Some(pb::user_opt::User::ById(0)),
    });
    assert_eq!(copy.owner.as_ref().unwrap().user, root);
    let Some(pb::file_action::Action::Mkdir(mkdir)) = &file.actions[4].action else {
        unreachable!()
    };
    assert_eq!(mkdir.owner.as_ref().unwrap().group, root);
    let Some(pb::op::Op::Diff(diff)) = &op("diff").op else {
        unreachable!()
    };
    assert_eq!(diff.lower, Some(pb::LowerDiffInput { input: 0 }));
    assert_eq!(diff.upper, Some(pb::UpperDiffInput { input: 1 }));
    let Some(pb::op::Op::Merge(merge)) = &op("merge").op else {
        unreachable!()
    };
    let merged: Vec<i64> = merge.inputs.iter().map(|i| i.input).collect();
    assert_eq!(merged, [0, 1, 2]);
}

/// Two ops with every metadata and location field set (a long description, two
/// source files, several ranges, positions at zero), one with none (its map entry
/// holds only the key), and one from a
/// definition marshalled elsewhere with caps and export-cache.
fn every_metadata() -> State {
    let dockerfile = Arc::new(SourceMap {
        filename: "Dockerfile".into(),
        data: b"FROM busybox\nRUN true\n".to_vec(),
        language: "Dockerfile".into(),
    });
    let other = Arc::new(SourceMap {
        filename: "other.Dockerfile".into(),
        data: Vec::new(),
        language: String::new(),
    });
    let foreign = {
        let mut input = Definition::marshal(&image()).to_pb();
        let key = input.metadata.keys().next().unwrap().clone();
        input.metadata.insert(
            key,
            pb::OpMetadata {
                caps: [("exec.meta.base".to_string(), true), ("x".into(), false)].into(),
                export_cache: Some(pb::ExportCache { value: true }),
                ..Default::default()
            },
        );
        State::from_definition(input).unwrap()
    };
    let ran = foreign.run(Exec {
        args: vec!["true".into()],
        cwd: "/".into(),
        options: OpOptions {
            custom_name: Some("[stage 2/2] RUN true".into()),
            ignore_cache: true,
            description: vec![("com.docker.dockerfile.v1.command", "x".repeat(200))],
            progress_group: Some(("group-1".into(), "RUN".into())),
            location: Some(SourceLocation {
                source: dockerfile.clone(),
                ranges: vec![(2, 0, 2, 0), (0, 0, 0, 0)],
            }),
        },
        ..Default::default()
    });
    let made = ran.root().file(
        vec![FileAction::MkDir(MkDir {
            path: "/d".into(),
            mode: 0o755,
            make_parents: true,
            owner: None,
            timestamp: None,
        })],
        OpOptions {
            custom_name: Some("mkdir".into()),
            location: Some(SourceLocation {
                source: other,
                ranges: vec![(1, 3, 1, 9)],
            }),
            ..Default::default()
        },
    );
    State::diff(ran.root(), made, OpOptions::default())
}

#[test]
fn definitions_encode_as_prost_does() {
    let definition = Definition::marshal(&every_metadata());
    let bytes = definition.encode();
    // The canonical form: any map out of key order, any default written (a default
    // map value included), any length prefix too long would differ.
    let decoded = pb::Definition::decode(bytes.as_slice()).unwrap();
    assert!(
        decoded.encode_to_vec() == bytes,
        "not prost's bytes: {decoded:?}"
    );
    // And what the round trip keeps is what was marshalled.
    let ops = definition.ops();
    let kinds: Vec<&str> = ops
        .iter()
        .map(|(_, op)| super::tests::op_kind(op))
        .collect();
    assert_eq!(kinds, ["source", "exec", "file", "diff", "terminal"]);
    assert_eq!(decoded.def.len(), 5);
    let [image, exec, mkdir, diff] = [0, 1, 2, 3].map(|i| ops[i].0.clone());
    assert_eq!(decoded.metadata.len(), 4, "every op but the terminal");
    assert_eq!(decoded.metadata[&diff], pb::OpMetadata::default());
    let foreign = &decoded.metadata[&image];
    assert_eq!(foreign.export_cache, Some(pb::ExportCache { value: true }));
    let caps: Vec<(&str, bool)> = foreign.caps.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(caps, [("exec.meta.base", true), ("x", false)]);
    let ran = &decoded.metadata[&exec];
    assert!(ran.ignore_cache);
    assert_eq!(ran.description["llb.customname"], "[stage 2/2] RUN true");
    assert_eq!(
        ran.description["com.docker.dockerfile.v1.command"],
        "x".repeat(200)
    );
    let group = ran.progress_group.as_ref().unwrap();
    assert_eq!(
        (group.id.as_str(), group.name.as_str(), group.weak),
        ("group-1", "RUN", false)
    );
    assert_eq!(decoded.metadata[&mkdir].description.len(), 1);
    let source = decoded.source.as_ref().unwrap();
    let files: Vec<&str> = source.infos.iter().map(|i| i.filename.as_str()).collect();
    assert_eq!(files, ["Dockerfile", "other.Dockerfile"]);
    assert_eq!(source.infos[0].data, b"FROM busybox\nRUN true\n");
    let ranges = |digest: &str| -> Vec<(i32, i32, i32, i32, i32)> {
        let located = &source.locations[digest].locations;
        (located.iter())
            .flat_map(|l| {
                l.ranges.iter().map(|r| {
                    let (start, end) = (r.start.unwrap(), r.end.unwrap());
                    (
                        l.source_index,
                        start.line,
                        start.character,
                        end.line,
                        end.character,
                    )
                })
            })
            .collect()
    };
    assert_eq!(ranges(&exec), [(0, 2, 0, 2, 0), (0, 0, 0, 0, 0)]);
    assert_eq!(ranges(&mkdir), [(1, 1, 3, 1, 9)]);
    assert!(!source.locations.contains_key(&image));
    // Read back, it is the same definition.
    assert_eq!(Definition::from_pb(decoded), definition);
}
