//! `Definition::dump()`: a readable listing of a marshalled definition for golden tests
//! and `conveyor llb`: one block per op in definition order, ops named by the first 12
//! hex digits of their digest, with the fields that decide what the op does, its
//! inputs, its vertex name and source lines.

use std::fmt::Write;

use crate::proto::pb;

use super::definition::Definition;

fn short(digest: &str) -> String {
    digest
        .trim_start_matches("sha256:")
        .chars()
        .take(12)
        .collect()
}

impl Definition {
    /// A stable text rendering of every op; not meant to be parsed.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        let pb = self.to_pb();
        let ops = self.ops();
        for (digest, op) in &ops {
            let inputs: Vec<String> = op
                .inputs
                .iter()
                .map(|i| format!("{}:{}", short(&i.digest), i.index))
                .collect();
            let Some(kind) = &op.op else {
                let _ = writeln!(out, "result {}", inputs.join(" "));
                continue;
            };
            let _ = write!(out, "{} ", short(digest));
            match kind {
                pb::op::Op::Source(source) => {
                    let _ = write!(out, "source {}", source.identifier);
                    for (key, value) in &source.attrs {
                        let _ = write!(out, "\n    {key}={value}");
                    }
                }
                pb::op::Op::Exec(exec) => dump_exec(&mut out, exec),
                pb::op::Op::File(file) => {
                    let _ = write!(out, "file");
                    for action in &file.actions {
                        dump_file_action(&mut out, action);
                    }
                }
                pb::op::Op::Merge(merge) => {
                    let merged: Vec<String> =
                        merge.inputs.iter().map(|i| i.input.to_string()).collect();
                    let _ = write!(out, "merge [{}]", merged.join(" "));
                }
                pb::op::Op::Diff(diff) => {
                    let lower = diff.lower.as_ref().map_or(-1, |l| l.input);
                    let upper = diff.upper.as_ref().map_or(-1, |u| u.input);
                    let _ = write!(out, "diff lower={lower} upper={upper}");
                }
                pb::op::Op::Build(_) => {
                    let _ = write!(out, "build");
                }
            }
            if let Some(platform) = &op.platform {
                let mut id = format!("{}/{}", platform.os, platform.architecture);
                if !platform.variant.is_empty() {
                    id.push('/');
                    id.push_str(&platform.variant);
                }
                let _ = write!(out, "\n    platform {id}");
            }
            if !inputs.is_empty() {
                let _ = write!(out, "\n    inputs {}", inputs.join(" "));
            }
            if let Some(metadata) = pb.metadata.get(digest) {
                for (key, value) in &metadata.description {
                    let _ = write!(out, "\n    {key}: {value:?}");
                }
                if let Some(group) = &metadata.progress_group {
                    let _ = write!(out, "\n    progress-group {:?} {:?}", group.id, group.name);
                }
                if metadata.ignore_cache {
                    let _ = write!(out, "\n    ignore-cache");
                }
            }
            if let Some(source) = &pb.source
                && let Some(locations) = source.locations.get(digest)
            {
                for location in &locations.locations {
                    let file = source
                        .infos
                        .get(location.source_index as usize)
                        .map_or("?", |info| info.filename.as_str());
                    let ranges: Vec<String> = location
                        .ranges
                        .iter()
                        .map(|r| {
                            let start = r.start.as_ref().map_or(0, |p| p.line);
                            let end = r.end.as_ref().map_or(0, |p| p.line);
                            format!("{start}-{end}")
                        })
                        .collect();
                    let _ = write!(out, "\n    at {file}:{}", ranges.join(","));
                }
            }
            out.push('\n');
        }
        out
    }
}

fn dump_exec(out: &mut String, exec: &pb::ExecOp) {
    let _ = write!(out, "exec");
    if let Some(meta) = &exec.meta {
        let _ = write!(out, " {:?}", meta.args);
        let _ = write!(out, "\n    env {:?}", meta.env);
        let _ = write!(out, "\n    cwd {:?}", meta.cwd);
        if !meta.user.is_empty() {
            let _ = write!(out, " user {:?}", meta.user);
        }
    }
    if exec.network != 0 {
        let network = pb::NetMode::try_from(exec.network)
            .map_or("?".to_string(), |n| format!("{n:?}").to_lowercase());
        let _ = write!(out, "\n    network {network}");
    }
    if exec.security != 0 {
        let security = pb::SecurityMode::try_from(exec.security)
            .map_or("?".to_string(), |m| format!("{m:?}").to_lowercase());
        let _ = write!(out, "\n    security {security}");
    }
    for mount in &exec.mounts {
        let kind = pb::MountType::try_from(mount.mount_type)
            .map_or("?".to_string(), |t| format!("{t:?}").to_lowercase());
        let _ = write!(
            out,
            "\n    mount {kind} {} input={} output={}",
            mount.dest, mount.input, mount.output
        );
        if !mount.selector.is_empty() {
            let _ = write!(out, " selector={}", mount.selector);
        }
        if mount.readonly {
            let _ = write!(out, " ro");
        }
        if let Some(cache) = &mount.cache_opt {
            let sharing = pb::CacheSharingOpt::try_from(cache.sharing)
                .map_or("?".to_string(), |s| format!("{s:?}").to_lowercase());
            let _ = write!(out, " id={:?} sharing={sharing}", cache.id);
        }
        if let Some(tmpfs) = &mount.tmpfs_opt {
            let _ = write!(out, " size={}", tmpfs.size);
        }
        if let Some(secret) = &mount.secret_opt {
            let _ = write!(
                out,
                " id={:?} uid={} gid={} mode={:o} optional={}",
                secret.id, secret.uid, secret.gid, secret.mode, secret.optional
            );
        }
        if let Some(ssh) = &mount.ssh_opt {
            let _ = write!(
                out,
                " id={:?} uid={} gid={} mode={:o} optional={}",
                ssh.id, ssh.uid, ssh.gid, ssh.mode, ssh.optional
            );
        }
    }
    for secret in &exec.secretenv {
        let _ = write!(
            out,
            "\n    secret-env {}={:?} optional={}",
            secret.name, secret.id, secret.optional
        );
    }
}

fn chown_text(owner: &Option<pb::ChownOpt>) -> String {
    let Some(owner) = owner else {
        return String::new();
    };
    let user = |u: &Option<pb::UserOpt>| match u.as_ref().and_then(|u| u.user.as_ref()) {
        Some(pb::user_opt::User::ById(id)) => id.to_string(),
        Some(pb::user_opt::User::ByName(named)) => format!("{}@{}", named.name, named.input),
        None => "-".into(),
    };
    format!(" owner={}:{}", user(&owner.user), user(&owner.group))
}

fn dump_file_action(out: &mut String, action: &pb::FileAction) {
    use pb::file_action::Action;
    let _ = write!(
        out,
        "\n    [{} {} -> {}] ",
        action.input, action.secondary_input, action.output
    );
    match &action.action {
        Some(Action::Copy(copy)) => {
            let _ = write!(out, "copy {:?} -> {:?}", copy.src, copy.dest);
            if copy.mode != -1 {
                let _ = write!(out, " mode={:o}", copy.mode);
            }
            let _ = write!(out, "{}", chown_text(&copy.owner));
            let flags = [
                (copy.follow_symlink, "follow"),
                (copy.dir_copy_contents, "contents"),
                (copy.attempt_unpack_docker_compatibility, "unpack"),
                (copy.create_dest_path, "mkdirp"),
                (copy.allow_wildcard, "wildcard"),
                (copy.allow_empty_wildcard, "empty-wildcard"),
            ];
            for (set, name) in flags {
                if set {
                    let _ = write!(out, " {name}");
                }
            }
            if !copy.include_patterns.is_empty() {
                let _ = write!(out, " include={:?}", copy.include_patterns);
            }
            if !copy.exclude_patterns.is_empty() {
                let _ = write!(out, " exclude={:?}", copy.exclude_patterns);
            }
        }
        Some(Action::Mkfile(mkfile)) => {
            let _ = write!(
                out,
                "mkfile {:?} mode={:o}{} data={:?}",
                mkfile.path,
                mkfile.mode,
                chown_text(&mkfile.owner),
                String::from_utf8_lossy(&mkfile.data)
            );
        }
        Some(Action::Mkdir(mkdir)) => {
            let _ = write!(
                out,
                "mkdir {:?} mode={:o}{}{}",
                mkdir.path,
                mkdir.mode,
                if mkdir.make_parents { " parents" } else { "" },
                chown_text(&mkdir.owner)
            );
        }
        Some(Action::Rm(rm)) => {
            let _ = write!(out, "rm {:?}", rm.path);
        }
        _ => {
            let _ = write!(out, "?");
        }
    }
}
