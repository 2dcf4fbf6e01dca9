//! `Definition::to_json()`: the definition as JSON for `conveyor llb --format json`,
//! meant for people and scripts: every op with its full digest, what it does (enums by
//! name, modes in octal, file data as text), its inputs, platform, metadata and source
//! locations, then the result and the source files. Keys are sorted, so the same
//! definition always gives the same text.

use serde_json::{Map, Value, json};

use crate::proto::pb;

use super::definition::Definition;

/// A proto enum's name in lower case, or its number when it has no name here.
fn enum_name<E: std::fmt::Debug>(value: i32, parse: impl Fn(i32) -> Option<E>) -> Value {
    match parse(value) {
        Some(known) => Value::String(format!("{known:?}").to_lowercase()),
        None => json!(value),
    }
}

fn octal(mode: i32) -> Value {
    if mode < 0 {
        Value::Null
    } else {
        Value::String(format!("0{mode:o}"))
    }
}

fn platform_id(platform: &pb::Platform) -> String {
    let mut id = format!("{}/{}", platform.os, platform.architecture);
    if !platform.variant.is_empty() {
        id.push('/');
        id.push_str(&platform.variant);
    }
    id
}

impl Definition {
    /// See the module doc.
    pub fn to_json(&self) -> Value {
        let mut ops = Vec::new();
        let mut result = Value::Null;
        let pb = self.to_pb();
        for (digest, op) in self.ops() {
            let inputs: Vec<Value> = op
                .inputs
                .iter()
                .map(|i| json!({"digest": i.digest, "index": i.index}))
                .collect();
            let Some(kind) = &op.op else {
                result = inputs.into_iter().next().unwrap_or(Value::Null);
                continue;
            };
            let mut entry = Map::new();
            entry.insert("digest".into(), json!(digest));
            let (name, fields) = op_json(kind);
            entry.insert("kind".into(), json!(name));
            entry.insert(name.into(), fields);
            entry.insert("inputs".into(), Value::Array(inputs));
            if let Some(platform) = &op.platform {
                entry.insert("platform".into(), json!(platform_id(platform)));
            }
            if let Some(metadata) = pb.metadata.get(&digest) {
                entry.insert("metadata".into(), metadata_json(metadata));
            }
            if let Some(locations) = Self::locations_json(&pb, &digest) {
                entry.insert("locations".into(), locations);
            }
            ops.push(Value::Object(entry));
        }
        let sources: Vec<Value> = pb
            .source
            .iter()
            .flat_map(|source| &source.infos)
            .map(|info| {
                json!({
                    "filename": info.filename,
                    "language": info.language,
                    "data": String::from_utf8_lossy(&info.data),
                })
            })
            .collect();
        json!({"ops": ops, "result": result, "sources": sources})
    }

    fn locations_json(pb: &pb::Definition, digest: &str) -> Option<Value> {
        let source = pb.source.as_ref()?;
        let locations = source.locations.get(digest)?;
        let position = |p: &Option<pb::Position>| {
            p.as_ref().map_or(
                json!(null),
                |p| json!({"line": p.line, "character": p.character}),
            )
        };
        let list: Vec<Value> = locations
            .locations
            .iter()
            .map(|location| {
                let file = source
                    .infos
                    .get(location.source_index as usize)
                    .map(|info| info.filename.clone());
                let ranges: Vec<Value> = location
                    .ranges
                    .iter()
                    .map(|r| json!({"start": position(&r.start), "end": position(&r.end)}))
                    .collect();
                json!({"file": file, "ranges": ranges})
            })
            .collect();
        Some(Value::Array(list))
    }
}

fn metadata_json(metadata: &pb::OpMetadata) -> Value {
    let mut out = Map::new();
    if !metadata.description.is_empty() {
        out.insert("description".into(), json!(metadata.description));
    }
    if metadata.ignore_cache {
        out.insert("ignore_cache".into(), json!(true));
    }
    if let Some(group) = &metadata.progress_group {
        out.insert(
            "progress_group".into(),
            json!({"id": group.id, "name": group.name}),
        );
    }
    if !metadata.caps.is_empty() {
        out.insert("caps".into(), json!(metadata.caps));
    }
    Value::Object(out)
}

fn op_json(kind: &pb::op::Op) -> (&'static str, Value) {
    match kind {
        pb::op::Op::Source(source) => (
            "source",
            json!({"identifier": source.identifier, "attrs": source.attrs}),
        ),
        pb::op::Op::Exec(exec) => ("exec", exec_json(exec)),
        pb::op::Op::File(file) => (
            "file",
            json!({"actions": file.actions.iter().map(file_action_json).collect::<Vec<_>>()}),
        ),
        pb::op::Op::Merge(merge) => (
            "merge",
            json!({"inputs": merge.inputs.iter().map(|i| i.input).collect::<Vec<_>>()}),
        ),
        pb::op::Op::Diff(diff) => (
            "diff",
            json!({
                "lower": diff.lower.as_ref().map(|l| l.input),
                "upper": diff.upper.as_ref().map(|u| u.input),
            }),
        ),
        pb::op::Op::Build(build) => ("build", json!({"builder": build.builder})),
    }
}

fn exec_json(exec: &pb::ExecOp) -> Value {
    let mut out = Map::new();
    if let Some(meta) = &exec.meta {
        out.insert("args".into(), json!(meta.args));
        out.insert("env".into(), json!(meta.env));
        out.insert("cwd".into(), json!(meta.cwd));
        out.insert("user".into(), json!(meta.user));
    }
    out.insert(
        "network".into(),
        enum_name(exec.network, |n| pb::NetMode::try_from(n).ok()),
    );
    out.insert(
        "security".into(),
        enum_name(exec.security, |s| pb::SecurityMode::try_from(s).ok()),
    );
    let mounts: Vec<Value> = exec.mounts.iter().map(mount_json).collect();
    out.insert("mounts".into(), Value::Array(mounts));
    if !exec.secretenv.is_empty() {
        let secrets: Vec<Value> = exec
            .secretenv
            .iter()
            .map(|s| json!({"name": s.name, "id": s.id, "optional": s.optional}))
            .collect();
        out.insert("secret_env".into(), Value::Array(secrets));
    }
    Value::Object(out)
}

fn mount_json(mount: &pb::Mount) -> Value {
    let mut out = Map::new();
    out.insert(
        "type".into(),
        enum_name(mount.mount_type, |t| pb::MountType::try_from(t).ok()),
    );
    out.insert("dest".into(), json!(mount.dest));
    out.insert("input".into(), json!(mount.input));
    out.insert("output".into(), json!(mount.output));
    if !mount.selector.is_empty() {
        out.insert("selector".into(), json!(mount.selector));
    }
    out.insert("readonly".into(), json!(mount.readonly));
    if let Some(cache) = &mount.cache_opt {
        let sharing = enum_name(cache.sharing, |s| pb::CacheSharingOpt::try_from(s).ok());
        out.insert("cache".into(), json!({"id": cache.id, "sharing": sharing}));
    }
    if let Some(tmpfs) = &mount.tmpfs_opt {
        out.insert("tmpfs".into(), json!({"size": tmpfs.size}));
    }
    if let Some(secret) = &mount.secret_opt {
        out.insert(
            "secret".into(),
            json!({"id": secret.id, "uid": secret.uid, "gid": secret.gid,
                   "mode": octal(secret.mode as i32), "optional": secret.optional}),
        );
    }
    if let Some(ssh) = &mount.ssh_opt {
        out.insert(
            "ssh".into(),
            json!({"id": ssh.id, "uid": ssh.uid, "gid": ssh.gid,
                   "mode": octal(ssh.mode as i32), "optional": ssh.optional}),
        );
    }
    Value::Object(out)
}

fn chown_json(owner: &Option<pb::ChownOpt>) -> Value {
    let Some(owner) = owner else {
        return Value::Null;
    };
    let user = |u: &Option<pb::UserOpt>| match u.as_ref().and_then(|u| u.user.as_ref()) {
        Some(pb::user_opt::User::ById(id)) => json!({"id": id}),
        Some(pb::user_opt::User::ByName(named)) => {
            json!({"name": named.name, "input": named.input})
        }
        None => Value::Null,
    };
    json!({"user": user(&owner.user), "group": user(&owner.group)})
}

fn file_action_json(action: &pb::FileAction) -> Value {
    use pb::file_action::Action;
    let (name, fields) = match &action.action {
        Some(Action::Copy(copy)) => (
            "copy",
            json!({
                "src": copy.src,
                "dest": copy.dest,
                "mode": octal(copy.mode),
                "owner": chown_json(&copy.owner),
                "follow_symlink": copy.follow_symlink,
                "dir_copy_contents": copy.dir_copy_contents,
                "attempt_unpack": copy.attempt_unpack_docker_compatibility,
                "create_dest_path": copy.create_dest_path,
                "allow_wildcard": copy.allow_wildcard,
                "allow_empty_wildcard": copy.allow_empty_wildcard,
                "include_patterns": copy.include_patterns,
                "exclude_patterns": copy.exclude_patterns,
            }),
        ),
        Some(Action::Mkfile(mkfile)) => (
            "mkfile",
            json!({
                "path": mkfile.path,
                "mode": octal(mkfile.mode),
                "owner": chown_json(&mkfile.owner),
                "data": String::from_utf8_lossy(&mkfile.data),
            }),
        ),
        Some(Action::Mkdir(mkdir)) => (
            "mkdir",
            json!({
                "path": mkdir.path,
                "mode": octal(mkdir.mode),
                "make_parents": mkdir.make_parents,
                "owner": chown_json(&mkdir.owner),
            }),
        ),
        Some(Action::Rm(rm)) => (
            "rm",
            json!({"path": rm.path, "allow_not_found": rm.allow_not_found,
                   "allow_wildcard": rm.allow_wildcard}),
        ),
        None => ("none", Value::Null),
    };
    let mut out = Map::new();
    out.insert("input".into(), json!(action.input));
    out.insert("secondary_input".into(), json!(action.secondary_input));
    out.insert("output".into(), json!(action.output));
    out.insert("action".into(), json!(name));
    out.insert(name.into(), fields);
    Value::Object(out)
}
