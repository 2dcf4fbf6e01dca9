//! The protobuf bytes of one op, written straight from the builder's types.
//!
//! Written by hand rather than through the generated `pb` structs: marshalling only
//! hashes and stores each op's bytes, and building a `pb::Op` first meant cloning every
//! string of every op and dropping it right after — a third of marshalling a large
//! graph. The bytes are exactly prost's (fields in tag order, proto3 defaults left out,
//! set oneof members always written); `tests::ops_encode_as_prost_does` holds them to it.

use crate::proto::pb;

use super::exec::{CacheSharing, ExecOp, MountKind, NetMode, SecurityMode};
use super::file::{ChownOpt, FileAction, FileOp, UserOpt};
use super::state::Platform;

/// An op's sha256, kept as bytes while marshalling; `sha256:<hex>` only on the wire.
pub(super) type OpDigest = [u8; 32];

/// An input as the op refers to it: the producing op's digest and its output index.
pub(super) type InputRef = (OpDigest, i64);

const VARINT: u64 = 0;
const LEN: u64 = 2;

/// Appends protobuf fields to a buffer.
#[derive(Default)]
pub(super) struct Writer {
    pub(super) buf: Vec<u8>,
}

impl Writer {
    fn varint(&mut self, value: u64) {
        if value < 0x80 {
            self.buf.push(value as u8);
        } else {
            let (bytes, n) = varint_bytes(value);
            self.buf.extend_from_slice(&bytes[..n]);
        }
    }

    fn key(&mut self, field: u32, wire_type: u64) {
        self.varint(u64::from(field) << 3 | wire_type);
    }

    pub(super) fn bytes(&mut self, field: u32, bytes: &[u8]) {
        self.key(field, LEN);
        self.varint(bytes.len() as u64);
        self.buf.extend_from_slice(bytes);
    }

    /// A singular string: left out when empty.
    pub(super) fn string(&mut self, field: u32, text: &str) {
        if !text.is_empty() {
            self.bytes(field, text.as_bytes());
        }
    }

    /// A repeated string: every element, empty ones too.
    pub(super) fn strings(&mut self, field: u32, texts: &[String]) {
        for text in texts {
            self.bytes(field, text.as_bytes());
        }
    }

    pub(super) fn int64(&mut self, field: u32, value: i64) {
        if value != 0 {
            self.key(field, VARINT);
            self.varint(value as u64);
        }
    }

    /// Negative int32s are sign-extended to ten bytes, as protobuf requires.
    pub(super) fn int32(&mut self, field: u32, value: i32) {
        self.int64(field, i64::from(value));
    }

    pub(super) fn uint32(&mut self, field: u32, value: u32) {
        self.int64(field, i64::from(value));
    }

    pub(super) fn bool(&mut self, field: u32, value: bool) {
        if value {
            self.key(field, VARINT);
            self.buf.push(1);
        }
    }

    /// A nested message, always written (a set optional or oneof member). Its length
    /// is reserved as one byte and widened afterwards in the rare body over 127 bytes.
    pub(super) fn message(&mut self, field: u32, body: impl FnOnce(&mut Writer)) {
        self.key(field, LEN);
        let at = self.buf.len();
        self.buf.push(0);
        body(self);
        let len = self.buf.len() - at - 1;
        if len < 0x80 {
            self.buf[at] = len as u8;
        } else {
            // Widened in place: the body moves up by the extra length bytes.
            let (prefix, n) = varint_bytes(len as u64);
            let end = self.buf.len();
            self.buf.resize(end + n - 1, 0);
            self.buf.copy_within(at + 1..end, at + n);
            self.buf[at..at + n].copy_from_slice(&prefix[..n]);
        }
    }

    /// The `sha256:<hex>` string of a digest, without a heap allocation.
    pub(super) fn digest(&mut self, field: u32, digest: &OpDigest) {
        self.bytes(field, &crate::digest::sha256_text(digest));
    }
}

/// A varint's bytes and how many of them it takes.
fn varint_bytes(mut value: u64) -> ([u8; 10], usize) {
    let mut bytes = [0u8; 10];
    let mut n = 0;
    while value >= 0x80 {
        bytes[n] = value as u8 | 0x80;
        value >>= 7;
        n += 1;
    }
    bytes[n] = value as u8;
    (bytes, n + 1)
}

/// `pb.Op`: its inputs, the op itself, and its platform.
pub(super) fn op(
    w: &mut Writer,
    inputs: &[InputRef],
    body: OpBody<'_>,
    platform: Option<&Platform>,
) {
    for (digest, index) in inputs {
        w.message(1, |w| {
            w.digest(1, digest);
            w.int64(2, *index);
        });
    }
    match body {
        OpBody::Exec(exec, mount_inputs) => w.message(2, |w| exec_op(w, exec, mount_inputs)),
        OpBody::Source(source) => w.message(3, |w| source_op(w, source)),
        OpBody::File(file, indexes) => w.message(4, |w| file_op(w, file, indexes)),
        OpBody::Merge(indexes) => w.message(6, |w| {
            for &input in indexes {
                w.message(1, |w| w.int64(1, input));
            }
        }),
        OpBody::Diff { lower, upper } => w.message(7, |w| {
            w.message(1, |w| w.int64(1, lower));
            w.message(2, |w| w.int64(1, upper));
        }),
        OpBody::Terminal => {}
    }
    if let Some(platform) = platform {
        w.message(10, |w| {
            w.string(1, &platform.architecture);
            w.string(2, &platform.os);
            w.string(3, &platform.variant);
        });
    }
}

/// What an op is, with its inputs already numbered (-1 for scratch).
pub(super) enum OpBody<'a> {
    /// The exec and each of its mounts' input index.
    Exec(&'a ExecOp, &'a [i64]),
    Source(&'a pb::SourceOp),
    /// The file op and, per action, its `(input, secondary_input)`.
    File(&'a FileOp, &'a [(i64, i64)]),
    Merge(&'a [i64]),
    Diff {
        lower: i64,
        upper: i64,
    },
    /// The definition's last op: only an input, the result.
    Terminal,
}

fn source_op(w: &mut Writer, source: &pb::SourceOp) {
    w.string(1, &source.identifier);
    // Map entries leave out an empty key or value, as prost writes them.
    for (key, value) in &source.attrs {
        w.message(2, |w| {
            w.string(1, key);
            w.string(2, value);
        });
    }
}

fn exec_op(w: &mut Writer, op: &ExecOp, mount_inputs: &[i64]) {
    let exec = &op.exec;
    w.message(1, |w| {
        w.strings(1, &exec.args);
        w.strings(2, &exec.env);
        w.string(3, &exec.cwd);
        w.string(4, &exec.user);
        for (host, ip) in &exec.extra_hosts {
            w.message(6, |w| {
                w.string(1, host);
                w.string(2, ip);
            });
        }
        w.string(7, &exec.hostname);
        w.bool(11, true);
    });
    let mut n_outputs = 0;
    for (mount, &input) in op.mounts.iter().zip(mount_inputs) {
        w.message(2, |w| {
            w.int64(1, input);
            // Secret and ssh mounts are never outputs; Go leaves their output at 0.
            let (selector, output, readonly) = match &mount.kind {
                MountKind::Bind {
                    selector, readonly, ..
                } => {
                    let output = if *readonly { -1 } else { n_outputs };
                    n_outputs += i64::from(!readonly);
                    (selector.as_str(), output, *readonly)
                }
                MountKind::Cache { selector, .. } => (selector.as_str(), -1, false),
                MountKind::Tmpfs { .. } => ("", -1, false),
                MountKind::Secret { .. } | MountKind::Ssh { .. } => ("", 0, false),
            };
            w.string(2, selector);
            w.string(3, &mount.dest);
            w.int64(4, output);
            w.bool(5, readonly);
            match &mount.kind {
                MountKind::Bind { .. } => {}
                MountKind::Tmpfs { size } => {
                    w.int32(6, pb::MountType::Tmpfs as i32);
                    w.message(19, |w| w.int64(1, *size));
                }
                MountKind::Cache { id, sharing, .. } => {
                    w.int32(6, pb::MountType::Cache as i32);
                    let sharing = match sharing {
                        CacheSharing::Shared => pb::CacheSharingOpt::Shared,
                        CacheSharing::Private => pb::CacheSharingOpt::Private,
                        CacheSharing::Locked => pb::CacheSharingOpt::Locked,
                    };
                    w.message(20, |w| {
                        w.string(1, id);
                        w.int32(2, sharing as i32);
                    });
                }
                // `SecretOpt` and `SSHOpt` share their fields.
                MountKind::Secret {
                    id,
                    uid,
                    gid,
                    mode,
                    optional,
                }
                | MountKind::Ssh {
                    id,
                    uid,
                    gid,
                    mode,
                    optional,
                } => {
                    let (mount_type, field) = match &mount.kind {
                        MountKind::Secret { .. } => (pb::MountType::Secret, 21),
                        _ => (pb::MountType::Ssh, 22),
                    };
                    w.int32(6, mount_type as i32);
                    w.message(field, |w| {
                        w.string(1, id);
                        w.uint32(2, *uid);
                        w.uint32(3, *gid);
                        w.uint32(4, *mode);
                        w.bool(5, *optional);
                    });
                }
            }
        });
    }
    let network = match exec.network {
        NetMode::Sandbox => pb::NetMode::Unset,
        NetMode::Host => pb::NetMode::Host,
        NetMode::None => pb::NetMode::None,
    };
    w.int32(3, network as i32);
    let security = match exec.security {
        SecurityMode::Sandbox => pb::SecurityMode::Sandbox,
        SecurityMode::Insecure => pb::SecurityMode::Insecure,
    };
    w.int32(4, security as i32);
    for (id, name, optional) in &exec.secret_env {
        w.message(5, |w| {
            w.string(1, id);
            w.string(2, name);
            w.bool(3, *optional);
        });
    }
}

fn file_op(w: &mut Writer, op: &FileOp, indexes: &[(i64, i64)]) {
    let last = op.actions.len() - 1;
    for (i, (action, &(input, secondary_input))) in op.actions.iter().zip(indexes).enumerate() {
        w.message(2, |w| {
            w.int64(1, input);
            w.int64(2, secondary_input);
            w.int64(3, if i == last { 0 } else { -1 });
            match action {
                FileAction::Copy(copy) => w.message(4, |w| {
                    w.string(1, &copy.src);
                    w.string(2, &copy.dest);
                    chown(w, 3, &copy.owner, input);
                    w.int32(4, copy.mode.map_or(-1, |m| m as i32));
                    w.bool(5, copy.follow_symlink);
                    w.bool(6, copy.dir_copy_contents);
                    w.bool(7, copy.attempt_unpack);
                    w.bool(8, copy.create_dest_path);
                    w.bool(9, copy.allow_wildcard);
                    w.bool(10, copy.allow_empty_wildcard);
                    w.int64(11, copy.timestamp.unwrap_or(-1));
                    w.strings(12, &copy.include_patterns);
                    w.strings(13, &copy.exclude_patterns);
                }),
                FileAction::MkFile(mkfile) => w.message(5, |w| {
                    w.string(1, &mkfile.path);
                    w.int32(2, mkfile.mode as i32);
                    if !mkfile.data.is_empty() {
                        w.bytes(3, &mkfile.data);
                    }
                    chown(w, 4, &mkfile.owner, input);
                    w.int64(5, mkfile.timestamp.unwrap_or(-1));
                }),
                FileAction::MkDir(mkdir) => w.message(6, |w| {
                    w.string(1, &mkdir.path);
                    w.int32(2, mkdir.mode as i32);
                    w.bool(3, mkdir.make_parents);
                    chown(w, 4, &mkdir.owner, input);
                    w.int64(5, mkdir.timestamp.unwrap_or(-1));
                }),
                FileAction::Rm(rm) => w.message(7, |w| {
                    w.string(1, &rm.path);
                    w.bool(2, rm.allow_not_found);
                    w.bool(3, rm.allow_wildcard);
                }),
            }
        });
    }
}

/// Names are looked up in the /etc/passwd and /etc/group of `input` (the state the
/// action writes into).
fn chown(w: &mut Writer, field: u32, owner: &Option<ChownOpt>, input: i64) {
    let Some(owner) = owner else {
        return;
    };
    let user_opt = |w: &mut Writer, field: u32, user: &Option<UserOpt>| {
        let Some(user) = user else {
            return;
        };
        w.message(field, |w| match user {
            UserOpt::Name(name) => w.message(1, |w| {
                w.string(1, name);
                w.int64(2, input);
            }),
            // A set oneof member is written even when zero (root).
            UserOpt::Id(id) => {
                w.key(2, VARINT);
                w.varint(u64::from(*id));
            }
        });
    };
    w.message(field, |w| {
        user_opt(w, 1, &owner.user);
        user_opt(w, 2, &owner.group);
    });
}
