//! Marshalling a `State` graph into a `pb.Definition`: each distinct op once,
//! dependencies first, each named `sha256:<hex>` of its exact protobuf bytes, and a
//! terminal op last that points at the result.

use std::collections::{BTreeMap, HashMap, btree_map};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use prost::Message;

use crate::proto::pb;

use super::exec::{CacheSharing, ExecOp, MountKind, NetMode, SecurityMode};
use super::file::{ChownOpt, FileAction, FileOp, UserOpt};
use super::state::{Node, OpKind, OpOptions, SourceMap, State};

/// The description key BuildKit shows as a vertex's name.
const CUSTOM_NAME: &str = "llb.customname";

/// `sha256:<hex>` of some bytes: how BuildKit names ops and content.
pub fn digest_of(bytes: &[u8]) -> String {
    crate::digest::sha256(bytes)
}

/// A marshalled LLB graph, ready to send to BuildKit.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Definition {
    pub pb: pb::Definition,
}

impl Definition {
    /// Marshals everything `state` depends on. Scratch gives an empty definition.
    pub fn marshal(state: &State) -> Definition {
        Definition::marshal_replacing(state, &[])
    }

    /// Marshals `state` with each `(placeholder, actual)` pair's placeholder op
    /// replaced by the actual state's: BuildKit's `llb.Async`, for an input known only
    /// once the whole graph is built (the context's follow paths). Placeholders must be
    /// ops, not scratch.
    pub fn marshal_replacing(state: &State, replacements: &[(State, State)]) -> Definition {
        let Some(output) = &state.output else {
            return Definition::default();
        };
        let mut marshaller = Marshaller::default();
        for (placeholder, actual) in replacements {
            if let (Some(placeholder), Some(actual)) = (&placeholder.output, &actual.output) {
                marshaller
                    .replacements
                    .insert(Arc::as_ptr(&placeholder.node), actual.node.clone());
            }
        }
        let digest = marshaller.visit(&output.node);
        let terminal = pb::Op {
            inputs: vec![pb::Input {
                digest,
                index: output.index,
            }],
            ..pb::Op::default()
        };
        marshaller.def.push(terminal.encode_to_vec());
        let source = (!marshaller.locations.is_empty()).then(|| pb::Source {
            locations: marshaller.locations,
            infos: marshaller
                .sources
                .iter()
                .map(|s| pb::SourceInfo {
                    filename: s.filename.clone(),
                    data: s.data.clone(),
                    language: s.language.clone(),
                    definition: None,
                })
                .collect(),
        });
        Definition {
            pb: pb::Definition {
                def: marshaller.def,
                metadata: marshaller.metadata,
                source,
            },
        }
    }

    /// The protobuf bytes of the whole definition (what `buildctl build` reads).
    pub fn encode(&self) -> Vec<u8> {
        self.pb.encode_to_vec()
    }

    /// Each op with its digest, in definition order (the terminal op last).
    pub fn ops(&self) -> Vec<(String, pb::Op)> {
        self.pb
            .def
            .iter()
            .map(|bytes| {
                let op = pb::Op::decode(bytes.as_slice()).expect("definition holds ops we encoded");
                (digest_of(bytes), op)
            })
            .collect()
    }

    /// The digest of the op whose output is the result, if any.
    pub fn result_digest(&self) -> Option<String> {
        let terminal = pb::Op::decode(self.pb.def.last()?.as_slice()).ok()?;
        terminal.inputs.first().map(|input| input.digest.clone())
    }
}

/// Hashes a node's address by one multiply: the marshaller's maps are keyed by
/// pointers, where SipHash's flood resistance buys nothing and cost a visible share
/// of marshalling.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(FIBONACCI);
        }
    }

    fn write_usize(&mut self, address: usize) {
        // Spreads the address into the high bits hashbrown reads too.
        self.0 = (address as u64).wrapping_mul(FIBONACCI);
    }
}

/// 2^64 / φ, odd: multiplying by it scatters nearby addresses.
const FIBONACCI: u64 = 0x9e37_79b9_7f4a_7c15;

type NodeMap<V> = HashMap<*const Node, V, BuildHasherDefault<AddressHasher>>;

#[derive(Default)]
struct Marshaller {
    /// Node identity → digest, so a shared node is encoded once.
    digests: NodeMap<String>,
    def: Vec<Vec<u8>>,
    metadata: BTreeMap<String, pb::OpMetadata>,
    sources: Vec<Arc<SourceMap>>,
    locations: BTreeMap<String, pb::Locations>,
    /// Placeholder node → the node marshalled in its place.
    replacements: NodeMap<Arc<Node>>,
}

impl Marshaller {
    /// Post-order walk without recursion: graphs of thousands of ops stay off the stack.
    fn visit(&mut self, root: &Arc<Node>) -> String {
        let mut stack: Vec<(Arc<Node>, bool)> = vec![(root.clone(), false)];
        let mut node_children = Vec::new();
        while let Some((node, children_done)) = stack.pop() {
            if self.digests.contains_key(&Arc::as_ptr(&node)) {
                continue;
            }
            if let Some(actual) = self.replacements.get(&Arc::as_ptr(&node)).cloned() {
                let digest = self.visit(&actual);
                self.digests.insert(Arc::as_ptr(&node), digest);
                continue;
            }
            if children_done {
                self.emit(&node);
                continue;
            }
            children(&node, &mut node_children);
            stack.push((node, true));
            for child in node_children.drain(..).rev() {
                if !self.digests.contains_key(&Arc::as_ptr(&child)) {
                    stack.push((child, false));
                }
            }
        }
        self.digests[&Arc::as_ptr(root)].clone()
    }

    fn input(&self, state: &State) -> Option<pb::Input> {
        let output = state.output.as_ref()?;
        Some(pb::Input {
            digest: self.digests[&Arc::as_ptr(&output.node)].clone(),
            index: output.index,
        })
    }

    /// Index of `state` among `inputs`, adding it if new; -1 for scratch.
    fn input_index(&self, inputs: &mut Vec<pb::Input>, state: &State) -> i64 {
        let Some(input) = self.input(state) else {
            return -1;
        };
        let position = inputs.iter().position(|i| *i == input).unwrap_or_else(|| {
            inputs.push(input);
            inputs.len() - 1
        });
        position as i64
    }

    /// A definition from elsewhere: its ops (all but the terminal) and their metadata
    /// as they are; the node's digest is the op its terminal points at.
    fn emit_definition(&mut self, node: &Arc<Node>, definition: &pb::Definition, result: &str) {
        let Some((_terminal, ops)) = definition.def.split_last() else {
            return;
        };
        for bytes in ops {
            let digest = digest_of(bytes);
            if !self.metadata.contains_key(&digest) {
                self.def.push(bytes.clone());
                let metadata = definition.metadata.get(&digest).cloned();
                self.metadata.insert(digest, metadata.unwrap_or_default());
            }
        }
        self.digests.insert(Arc::as_ptr(node), result.to_string());
    }

    fn emit(&mut self, node: &Arc<Node>) {
        let mut inputs = Vec::new();
        let op = match &node.op {
            OpKind::Definition { definition, result } => {
                self.emit_definition(node, definition, result);
                return;
            }
            OpKind::Source(source) => pb::op::Op::Source(source.clone()),
            OpKind::Exec(exec) => pb::op::Op::Exec(self.exec_op(exec, &mut inputs)),
            OpKind::File(file) => pb::op::Op::File(self.file_op(file, &mut inputs)),
            OpKind::Merge(states) => {
                let merge_inputs = states
                    .iter()
                    .filter(|s| !s.is_scratch())
                    .map(|s| pb::MergeInput {
                        input: self.input_index(&mut inputs, s),
                    })
                    .collect();
                pb::op::Op::Merge(pb::MergeOp {
                    inputs: merge_inputs,
                })
            }
            OpKind::Diff { lower, upper } => {
                let lower = self.input_index(&mut inputs, lower);
                let upper = self.input_index(&mut inputs, upper);
                pb::op::Op::Diff(pb::DiffOp {
                    lower: Some(pb::LowerDiffInput { input: lower }),
                    upper: Some(pb::UpperDiffInput { input: upper }),
                })
            }
        };
        let op = pb::Op {
            inputs,
            op: Some(op),
            platform: node.platform.as_ref().map(|p| p.to_pb()),
            constraints: None,
        };
        let bytes = op.encode_to_vec();
        let digest = digest_of(&bytes);
        // Every emitted op has a metadata entry, even an empty one: it marks the digest
        // as emitted, so an op built twice is written once.
        let entry = match self.metadata.entry(digest.clone()) {
            btree_map::Entry::Vacant(vacant) => {
                self.def.push(bytes);
                vacant.insert(pb::OpMetadata::default())
            }
            btree_map::Entry::Occupied(occupied) => occupied.into_mut(),
        };
        record_metadata(entry, &node.options);
        self.record_location(&digest, &node.options);
        self.digests.insert(Arc::as_ptr(node), digest);
    }

    fn record_location(&mut self, digest: &str, options: &OpOptions) {
        if let Some(location) = &options.location {
            // By pointer first: every op of a build shares one source map, and comparing
            // its text per op would make marshalling quadratic in the file's length.
            let source_index = match self
                .sources
                .iter()
                .position(|s| Arc::ptr_eq(s, &location.source) || **s == *location.source)
            {
                Some(index) => index,
                None => {
                    self.sources.push(location.source.clone());
                    self.sources.len() - 1
                }
            };
            let ranges = location
                .ranges
                .iter()
                .map(|&(start_line, start_char, end_line, end_char)| pb::Range {
                    start: Some(pb::Position {
                        line: start_line,
                        character: start_char,
                    }),
                    end: Some(pb::Position {
                        line: end_line,
                        character: end_char,
                    }),
                })
                .collect();
            self.locations
                .entry(digest.to_string())
                .or_default()
                .locations
                .push(pb::Location {
                    source_index: source_index as i32,
                    ranges,
                });
        }
    }

    fn exec_op(&self, op: &ExecOp, inputs: &mut Vec<pb::Input>) -> pb::ExecOp {
        let exec = &op.exec;
        let mut mounts = Vec::with_capacity(op.mounts.len());
        let mut n_outputs = 0;
        for mount in &op.mounts {
            let mut pm = pb::Mount {
                dest: mount.dest.clone(),
                output: -1,
                input: -1,
                ..Default::default()
            };
            match &mount.kind {
                MountKind::Bind {
                    source,
                    selector,
                    readonly,
                } => {
                    pm.input = self.input_index(inputs, source);
                    pm.selector = selector.clone();
                    pm.readonly = *readonly;
                    if !readonly {
                        pm.output = n_outputs;
                        n_outputs += 1;
                    }
                }
                MountKind::Cache {
                    id,
                    sharing,
                    base,
                    selector,
                } => {
                    pm.input = self.input_index(inputs, base);
                    pm.selector = selector.clone();
                    pm.mount_type = pb::MountType::Cache as i32;
                    let sharing = match sharing {
                        CacheSharing::Shared => pb::CacheSharingOpt::Shared,
                        CacheSharing::Private => pb::CacheSharingOpt::Private,
                        CacheSharing::Locked => pb::CacheSharingOpt::Locked,
                    };
                    pm.cache_opt = Some(pb::CacheOpt {
                        id: id.clone(),
                        sharing: sharing as i32,
                    });
                }
                MountKind::Tmpfs { size } => {
                    pm.mount_type = pb::MountType::Tmpfs as i32;
                    pm.tmpfs_opt = Some(pb::TmpfsOpt { size: *size });
                }
                // Secret and ssh mounts are never outputs; Go leaves output at 0.
                MountKind::Secret {
                    id,
                    uid,
                    gid,
                    mode,
                    optional,
                } => {
                    pm.output = 0;
                    pm.mount_type = pb::MountType::Secret as i32;
                    pm.secret_opt = Some(pb::SecretOpt {
                        id: id.clone(),
                        uid: *uid,
                        gid: *gid,
                        mode: *mode,
                        optional: *optional,
                    });
                }
                MountKind::Ssh {
                    id,
                    uid,
                    gid,
                    mode,
                    optional,
                } => {
                    pm.output = 0;
                    pm.mount_type = pb::MountType::Ssh as i32;
                    pm.ssh_opt = Some(pb::SshOpt {
                        id: id.clone(),
                        uid: *uid,
                        gid: *gid,
                        mode: *mode,
                        optional: *optional,
                    });
                }
            }
            mounts.push(pm);
        }
        let network = match exec.network {
            NetMode::Sandbox => pb::NetMode::Unset,
            NetMode::Host => pb::NetMode::Host,
            NetMode::None => pb::NetMode::None,
        };
        let security = match exec.security {
            SecurityMode::Sandbox => pb::SecurityMode::Sandbox,
            SecurityMode::Insecure => pb::SecurityMode::Insecure,
        };
        pb::ExecOp {
            meta: Some(pb::Meta {
                args: exec.args.clone(),
                env: exec.env.clone(),
                cwd: exec.cwd.clone(),
                user: exec.user.clone(),
                hostname: exec.hostname.clone(),
                extra_hosts: exec
                    .extra_hosts
                    .iter()
                    .map(|(host, ip)| pb::HostIp {
                        host: host.clone(),
                        ip: ip.clone(),
                    })
                    .collect(),
                remove_mount_stubs_recursive: true,
                ..Default::default()
            }),
            mounts,
            network: network as i32,
            security: security as i32,
            secretenv: exec
                .secret_env
                .iter()
                .map(|(id, name, optional)| pb::SecretEnv {
                    id: id.clone(),
                    name: name.clone(),
                    optional: *optional,
                })
                .collect(),
        }
    }

    fn file_op(&self, op: &FileOp, inputs: &mut Vec<pb::Input>) -> pb::FileOp {
        let base = self.input_index(inputs, &op.base);
        let sources: Vec<i64> = op
            .actions
            .iter()
            .map(|action| match action {
                FileAction::Copy(copy) => self.input_index(inputs, &copy.source),
                _ => -1,
            })
            .collect();
        // Action i > 0 works on the result of action i-1, numbered after the inputs.
        let n_inputs = inputs.len() as i64;
        let last = op.actions.len() - 1;
        let actions = op
            .actions
            .iter()
            .zip(sources)
            .enumerate()
            .map(|(i, (action, secondary_input))| {
                let input = if i == 0 {
                    base
                } else {
                    n_inputs + i as i64 - 1
                };
                pb::FileAction {
                    input,
                    secondary_input,
                    output: if i == last { 0 } else { -1 },
                    action: Some(file_action(action, input)),
                }
            })
            .collect();
        pb::FileOp { actions }
    }
}

/// An op emitted twice keeps what it was first given; the custom name wins over a
/// description of the same key.
fn record_metadata(entry: &mut pb::OpMetadata, options: &OpOptions) {
    entry.ignore_cache |= options.ignore_cache;
    if let Some(name) = &options.custom_name
        && !entry.description.contains_key(CUSTOM_NAME)
    {
        entry
            .description
            .insert(CUSTOM_NAME.to_string(), name.clone());
    }
    for (key, value) in &options.description {
        if !entry.description.contains_key(key) {
            entry.description.insert(key.clone(), value.clone());
        }
    }
    if entry.progress_group.is_none()
        && let Some((id, name)) = &options.progress_group
    {
        entry.progress_group = Some(pb::ProgressGroup {
            id: id.clone(),
            name: name.clone(),
            weak: false,
        });
    }
}

/// The nodes `node` reads, in input order, into `out` (reused across nodes).
fn children(node: &Node, out: &mut Vec<Arc<Node>>) {
    let mut add = |state: &State| out.extend(state.output.as_ref().map(|o| o.node.clone()));
    match &node.op {
        OpKind::Source(_) | OpKind::Definition { .. } => {}
        OpKind::Exec(exec) => {
            for mount in &exec.mounts {
                match &mount.kind {
                    MountKind::Bind { source, .. } => add(source),
                    MountKind::Cache { base, .. } => add(base),
                    _ => {}
                }
            }
        }
        OpKind::File(file) => {
            add(&file.base);
            for action in &file.actions {
                if let FileAction::Copy(copy) = action {
                    add(&copy.source);
                }
            }
        }
        OpKind::Merge(states) => states.iter().for_each(add),
        OpKind::Diff { lower, upper } => {
            add(lower);
            add(upper);
        }
    }
}

/// Names are looked up in the /etc/passwd and /etc/group of `input` (the state the
/// action writes into).
fn chown(owner: &Option<ChownOpt>, input: i64) -> Option<pb::ChownOpt> {
    let owner = owner.as_ref()?;
    let user_opt = |user: &Option<UserOpt>| {
        user.as_ref().map(|u| pb::UserOpt {
            user: Some(match u {
                UserOpt::Id(id) => pb::user_opt::User::ById(*id),
                UserOpt::Name(name) => pb::user_opt::User::ByName(pb::NamedUserOpt {
                    name: name.clone(),
                    input,
                }),
            }),
        })
    };
    Some(pb::ChownOpt {
        user: user_opt(&owner.user),
        group: user_opt(&owner.group),
    })
}

fn file_action(action: &FileAction, input: i64) -> pb::file_action::Action {
    use pb::file_action::Action;
    match action {
        FileAction::Copy(copy) => Action::Copy(pb::FileActionCopy {
            src: copy.src.clone(),
            dest: copy.dest.clone(),
            owner: chown(&copy.owner, input),
            mode: copy.mode.map_or(-1, |m| m as i32),
            follow_symlink: copy.follow_symlink,
            dir_copy_contents: copy.dir_copy_contents,
            attempt_unpack_docker_compatibility: copy.attempt_unpack,
            create_dest_path: copy.create_dest_path,
            allow_wildcard: copy.allow_wildcard,
            allow_empty_wildcard: copy.allow_empty_wildcard,
            timestamp: copy.timestamp.unwrap_or(-1),
            include_patterns: copy.include_patterns.clone(),
            exclude_patterns: copy.exclude_patterns.clone(),
        }),
        FileAction::MkFile(mkfile) => Action::Mkfile(pb::FileActionMkFile {
            path: mkfile.path.clone(),
            mode: mkfile.mode as i32,
            data: mkfile.data.clone(),
            owner: chown(&mkfile.owner, input),
            timestamp: mkfile.timestamp.unwrap_or(-1),
        }),
        FileAction::MkDir(mkdir) => Action::Mkdir(pb::FileActionMkDir {
            path: mkdir.path.clone(),
            mode: mkdir.mode as i32,
            make_parents: mkdir.make_parents,
            owner: chown(&mkdir.owner, input),
            timestamp: mkdir.timestamp.unwrap_or(-1),
        }),
        FileAction::Rm(rm) => Action::Rm(pb::FileActionRm {
            path: rm.path.clone(),
            allow_not_found: rm.allow_not_found,
            allow_wildcard: rm.allow_wildcard,
        }),
    }
}
