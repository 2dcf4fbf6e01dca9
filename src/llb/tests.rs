//! Unit tests of the LLB builder and marshaller (no daemon).

use std::sync::Arc;

use crate::proto::pb;

use super::*;

fn busybox() -> State {
    ImageSource {
        reference: "docker.io/library/busybox:latest".into(),
        platform: Some(Platform::new("linux", "amd64", "")),
        ..Default::default()
    }
    .state()
}

fn sh(script: &str) -> Exec {
    Exec {
        args: vec!["/bin/sh".into(), "-c".into(), script.into()],
        env: vec!["PATH=/usr/bin:/bin".into()],
        cwd: "/".into(),
        platform: Some(Platform::new("linux", "amd64", "")),
        ..Default::default()
    }
}

/// busybox → exec writing a file → file op copying it and making a dir.
fn sample(script: &str) -> State {
    let ran = busybox().run(sh(script)).root();
    State::scratch().file(
        vec![
            FileAction::Copy(Copy::new(ran, "/greeting", "/out/greeting")),
            FileAction::MkDir(MkDir {
                path: "/out/empty".into(),
                mode: 0o755,
                make_parents: true,
                owner: None,
                timestamp: None,
            }),
        ],
        OpOptions {
            custom_name: Some("collect".into()),
            ..Default::default()
        },
    )
}

pub(super) fn op_kind(op: &pb::Op) -> &'static str {
    match &op.op {
        Some(pb::op::Op::Source(_)) => "source",
        Some(pb::op::Op::Exec(_)) => "exec",
        Some(pb::op::Op::File(_)) => "file",
        Some(pb::op::Op::Merge(_)) => "merge",
        Some(pb::op::Op::Diff(_)) => "diff",
        Some(pb::op::Op::Build(_)) => "build",
        None => "terminal",
    }
}

#[test]
fn same_graph_marshals_to_same_bytes_every_time() {
    let first = Definition::marshal(&sample("echo hello > /greeting"));
    for _ in 0..5 {
        let again = Definition::marshal(&sample("echo hello > /greeting"));
        assert_eq!(first.encode(), again.encode());
    }
    let kinds: Vec<_> = first.ops().iter().map(|(_, op)| op_kind(op)).collect();
    assert_eq!(kinds, ["source", "exec", "file", "terminal"]);
}

#[test]
fn digest_is_sha256_of_the_op_bytes() {
    let definition = Definition::marshal(&busybox().run(sh("true")).root());
    let (pb, ops) = (definition.to_pb(), definition.ops());
    for (bytes, (digest, _)) in pb.def.iter().zip(&ops) {
        assert_eq!(*digest, digest_of(bytes));
        assert!(digest.starts_with("sha256:") && digest.len() == 7 + 64);
        assert!(pb.metadata.contains_key(digest) || *digest == ops.last().unwrap().0);
    }
    // sha256 of the empty string, as every sha256 tool prints it.
    assert_eq!(
        digest_of(b""),
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn fields_are_written_in_tag_order_like_go() {
    // Op{inputs=1, exec=2, platform=10}: Go's deterministic marshal writes tags in
    // ascending order; so must we, or digests differ from Go-built LLB.
    let definition = Definition::marshal(&busybox().run(sh("true")).root());
    let exec_bytes = &definition.to_pb().def[1];
    assert_eq!(exec_bytes[0], (1 << 3) | 2, "inputs (field 1) first");
    let op = pb::Op::decode_from(exec_bytes);
    let inputs_len = prost::Message::encoded_len(&op.inputs[0]);
    let after_inputs = 1 + prost::length_delimiter_len(inputs_len) + inputs_len;
    assert_eq!(
        exec_bytes[after_inputs],
        (2 << 3) | 2,
        "exec (field 2) after inputs"
    );
    let platform = op.platform.as_ref().unwrap();
    let platform_len = prost::Message::encoded_len(platform);
    let platform_at =
        exec_bytes.len() - platform_len - prost::length_delimiter_len(platform_len) - 1;
    assert_eq!(
        exec_bytes[platform_at],
        (10 << 3) | 2,
        "platform (field 10) last"
    );

    // A source op by hand: field 3 (source) holding field 1 (identifier).
    let source = Definition::marshal(
        &ImageSource {
            reference: "x".into(),
            ..Default::default()
        }
        .state(),
    );
    let identifier = b"docker-image://x";
    let mut expected = vec![
        (3 << 3) | 2,
        (identifier.len() + 2) as u8,
        (1 << 3) | 2,
        identifier.len() as u8,
    ];
    expected.extend_from_slice(identifier);
    assert_eq!(source.to_pb().def[0], expected);
}

trait DecodeFrom {
    fn decode_from(bytes: &[u8]) -> Self;
}

impl DecodeFrom for pb::Op {
    fn decode_from(bytes: &[u8]) -> Self {
        prost::Message::decode(bytes).unwrap()
    }
}

#[test]
fn changing_one_field_changes_that_op_and_its_dependents_only() {
    let a = Definition::marshal(&sample("echo hello > /greeting")).ops();
    let b = Definition::marshal(&sample("echo hullo > /greeting")).ops();
    assert_eq!(a[0].0, b[0].0, "the image source did not change");
    assert_ne!(a[1].0, b[1].0, "the exec changed");
    assert_ne!(a[2].0, b[2].0, "the file op depends on the exec");
    assert_ne!(a[3].0, b[3].0, "the terminal points at the file op");
}

#[test]
fn metadata_does_not_change_digests() {
    let plain = busybox().run(sh("true")).root();
    let named = busybox()
        .run(Exec {
            options: OpOptions {
                custom_name: Some("RUN true".into()),
                ..Default::default()
            },
            ..sh("true")
        })
        .root();
    let plain = Definition::marshal(&plain);
    let named = Definition::marshal(&named);
    assert!(
        plain.encode().len() < named.encode().len(),
        "the name rides in metadata"
    );
    let named_pb = named.to_pb();
    assert_eq!(plain.to_pb().def, named_pb.def);
    let exec_digest = named.ops()[1].0.clone();
    assert_eq!(
        named_pb.metadata[&exec_digest].description["llb.customname"],
        "RUN true"
    );
}

#[test]
fn inputs_reference_earlier_ops_and_terminal_is_last() {
    let definition = Definition::marshal(&sample("echo hello > /greeting"));
    let ops = definition.ops();
    for (position, (_, op)) in ops.iter().enumerate() {
        for input in &op.inputs {
            let target = ops.iter().position(|(digest, _)| *digest == input.digest);
            assert!(
                matches!(target, Some(t) if t < position),
                "input {} of op {position}",
                input.digest
            );
        }
    }
    let (_, terminal) = ops.last().unwrap();
    assert!(terminal.op.is_none() && terminal.platform.is_none());
    assert_eq!(terminal.inputs.len(), 1);
    assert_eq!(terminal.inputs[0].digest, ops[2].0);
    assert_eq!(definition.result_digest().unwrap(), ops[2].0);
}

#[test]
fn shared_ops_are_emitted_once() {
    let base = busybox();
    let left = base.run(sh("echo l > /l")).root();
    let right = base.run(sh("echo r > /r")).root();
    let merged = State::merge(vec![left, right], OpOptions::default());
    let ops = Definition::marshal(&merged).ops();
    let kinds: Vec<_> = ops.iter().map(|(_, op)| op_kind(op)).collect();
    assert_eq!(kinds, ["source", "exec", "exec", "merge", "terminal"]);
    let Some(pb::op::Op::Merge(merge)) = &ops[3].1.op else {
        panic!("not a merge")
    };
    let inputs: Vec<_> = merge.inputs.iter().map(|i| i.input).collect();
    assert_eq!(inputs, [0, 1]);
    assert_eq!(ops[3].1.inputs[0].digest, ops[1].0);
    assert_eq!(ops[3].1.inputs[1].digest, ops[2].0);

    // The same op built twice from separate values is one op too.
    let twice = State::merge(vec![busybox(), busybox()], OpOptions::default());
    let ops = Definition::marshal(&twice).ops();
    assert_eq!(ops.len(), 3);
    assert_eq!(ops[1].1.inputs.len(), 1, "one distinct input");
}

#[test]
fn a_placeholder_is_marshalled_as_its_replacement() {
    let placeholder = LocalSource {
        name: "context".into(),
        ..Default::default()
    }
    .state();
    let actual = LocalSource {
        name: "context".into(),
        follow_paths: vec!["src".into()],
        ..Default::default()
    }
    .state();
    let copied = busybox().file(
        vec![FileAction::Copy(Copy::new(
            placeholder.clone(),
            "/src",
            "/app",
        ))],
        OpOptions::default(),
    );
    let replaced = Definition::marshal_replacing(&copied, &[(placeholder, actual.clone())]);

    // Exactly what marshalling the graph built on the actual source gives.
    let direct = busybox().file(
        vec![FileAction::Copy(Copy::new(actual, "/src", "/app"))],
        OpOptions::default(),
    );
    assert_eq!(replaced, Definition::marshal(&direct));
    let followed = replaced.ops().iter().any(|(_, op)| match &op.op {
        Some(pb::op::Op::Source(source)) => source.attrs.contains_key("local.followpaths"),
        _ => false,
    });
    assert!(followed, "the replacement's follow paths are marshalled");
    assert_ne!(replaced, Definition::marshal(&copied));
}

#[test]
fn file_actions_chain_on_the_previous_result() {
    let definition = Definition::marshal(&sample("echo hello > /greeting"));
    let ops = definition.ops();
    let (_, file_op) = &ops[2];
    assert!(file_op.platform.is_none(), "file ops carry no platform");
    let Some(pb::op::Op::File(file)) = &file_op.op else {
        panic!("not a file op")
    };
    // Scratch base (-1); the copy reads input 0 (the exec); the mkdir works on the
    // copy's result, numbered after the single input.
    assert_eq!(file_op.inputs.len(), 1);
    assert_eq!(file_op.inputs[0].digest, ops[1].0);
    let wiring: Vec<_> = file
        .actions
        .iter()
        .map(|a| (a.input, a.secondary_input, a.output))
        .collect();
    assert_eq!(wiring, [(-1, 0, -1), (1, -1, 0)]);
    let Some(pb::file_action::Action::Copy(copy)) = &file.actions[0].action else {
        panic!()
    };
    assert_eq!(
        (copy.mode, copy.timestamp),
        (-1, -1),
        "unset mode and time are -1"
    );
}

#[test]
fn exec_mounts_are_sorted_with_outputs_numbered() {
    let cache = Mount {
        dest: "/var/cache".into(),
        kind: MountKind::Cache {
            id: "apt".into(),
            sharing: CacheSharing::Locked,
            base: State::scratch(),
            selector: String::new(),
        },
    };
    let work = Mount {
        dest: "/work".into(),
        kind: MountKind::Bind {
            source: State::scratch(),
            selector: String::new(),
            readonly: false,
        },
    };
    let src = Mount {
        dest: "/src".into(),
        kind: MountKind::Bind {
            source: busybox(),
            selector: "/bin".into(),
            readonly: true,
        },
    };
    let secret = Mount {
        dest: "/run/secrets/token".into(),
        kind: MountKind::Secret {
            id: "token".into(),
            uid: 0,
            gid: 0,
            mode: 0o400,
            optional: false,
        },
    };
    let result = busybox().run(Exec {
        mounts: vec![secret, work, cache, src],
        ..sh("true")
    });
    let definition = Definition::marshal(&result.output("/work").unwrap());
    let ops = definition.ops();
    let Some(pb::op::Op::Exec(exec)) = &ops[1].1.op else {
        panic!("not an exec")
    };
    let mounts: Vec<_> = exec
        .mounts
        .iter()
        .map(|m| (m.dest.as_str(), m.input, m.output, m.mount_type))
        .collect();
    assert_eq!(
        mounts,
        [
            ("/", 0, 0, pb::MountType::Bind as i32),
            ("/src", 0, -1, pb::MountType::Bind as i32),
            ("/var/cache", -1, -1, pb::MountType::Cache as i32),
            ("/work", -1, 1, pb::MountType::Bind as i32),
            ("/run/secrets/token", -1, 0, pb::MountType::Secret as i32),
        ]
    );
    assert_eq!(
        ops[1].1.inputs.len(),
        1,
        "root and /src share the busybox input"
    );
    assert_eq!(ops.last().unwrap().1.inputs[0].index, 1, "the /work output");
    assert_eq!(result.root().output.as_ref().unwrap().index, 0);
    assert!(
        result.output("/src").is_none(),
        "readonly mounts are no output"
    );
}

#[test]
fn source_maps_point_ops_at_lines() {
    let dockerfile = Arc::new(SourceMap {
        filename: "Dockerfile".into(),
        data: b"FROM busybox\nRUN true\n".to_vec(),
        language: "Dockerfile".into(),
    });
    let located = |line| OpOptions {
        location: Some(SourceLocation {
            source: dockerfile.clone(),
            ranges: vec![(line, 0, line, 0)],
        }),
        ..Default::default()
    };
    let base = ImageSource {
        reference: "docker.io/library/busybox:latest".into(),
        options: located(1),
        ..Default::default()
    };
    let ran = base
        .state()
        .run(Exec {
            options: located(2),
            ..sh("true")
        })
        .root();
    let definition = Definition::marshal(&ran);
    let pb = definition.to_pb();
    let source = pb.source.as_ref().unwrap();
    assert_eq!(source.infos.len(), 1, "one file, shared");
    assert_eq!(source.infos[0].filename, "Dockerfile");
    let ops = definition.ops();
    let line_of = |digest: &str| {
        source.locations[digest].locations[0].ranges[0]
            .start
            .unwrap()
            .line
    };
    assert_eq!(line_of(&ops[0].0), 1);
    assert_eq!(line_of(&ops[1].0), 2);
}

#[test]
fn scratch_marshals_to_an_empty_definition() {
    assert!(Definition::marshal(&State::scratch()).ops().is_empty());
}

#[test]
fn deep_chains_marshal_without_recursion() {
    let mut state = busybox();
    for i in 0..20_000 {
        state = state.file(
            vec![FileAction::MkDir(MkDir {
                path: format!("/d{i}"),
                mode: 0o755,
                make_parents: false,
                owner: None,
                timestamp: None,
            })],
            OpOptions::default(),
        );
    }
    assert_eq!(Definition::marshal(&state).ops().len(), 20_002);
}

#[test]
fn ssh_mounts_set_ssh_auth_sock_unless_given() {
    let ssh = |dest: &str| Mount {
        dest: dest.into(),
        kind: MountKind::Ssh {
            id: "default".into(),
            uid: 0,
            gid: 0,
            mode: 0o600,
            optional: false,
        },
    };
    let env_of = |exec: Exec| {
        let ops = Definition::marshal(&busybox().run(exec).root()).ops();
        let Some(pb::op::Op::Exec(exec)) = &ops[1].1.op else {
            panic!("not an exec")
        };
        exec.meta.as_ref().unwrap().env.clone()
    };
    let env = env_of(Exec {
        mounts: vec![ssh("/run/b"), ssh("/run/a")],
        ..sh("true")
    });
    assert_eq!(env, ["PATH=/usr/bin:/bin", "SSH_AUTH_SOCK=/run/b"]);
    let mut given = sh("true");
    given.env.push("SSH_AUTH_SOCK=/mine".into());
    let env = env_of(Exec {
        mounts: vec![ssh("/run/b")],
        ..given
    });
    assert_eq!(env, ["PATH=/usr/bin:/bin", "SSH_AUTH_SOCK=/mine"]);
}

#[test]
fn a_definition_from_elsewhere_is_built_on_with_its_ops_unchanged() {
    let input = Definition::marshal(&sample("echo hi > /greeting"));
    let result = input.result_digest().unwrap();
    let base = State::from_definition(input.to_pb()).unwrap();
    let built = Definition::marshal(&base.run(sh("cat /out/greeting")).root());
    // Every op of the input but its terminal, byte for byte, with its metadata.
    let (input_pb, built_pb) = (input.to_pb(), built.to_pb());
    for bytes in &input_pb.def[..input_pb.def.len() - 1] {
        assert!(built_pb.def.contains(bytes));
        let digest = digest_of(bytes);
        assert_eq!(built_pb.metadata[&digest], input_pb.metadata[&digest]);
    }
    assert_eq!(built_pb.def.len(), input_pb.def.len() + 1);
    let ops = built.ops();
    let (_, exec) = &ops[ops.len() - 2];
    assert_eq!(op_kind(exec), "exec");
    assert_eq!(exec.inputs[0].digest, result);
    // Nothing given is scratch; a graph without its terminal op is refused.
    assert!(
        State::from_definition(pb::Definition::default())
            .unwrap()
            .is_scratch()
    );
    let mut no_terminal = input.to_pb();
    no_terminal.def.truncate(1);
    assert_eq!(
        State::from_definition(no_terminal).unwrap_err(),
        "the definition's last op has 0 inputs, expected the one result"
    );
}
