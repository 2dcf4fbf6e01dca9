//! Marshalling a `State` graph into a `Definition`: each distinct op once,
//! dependencies first, each named `sha256:<hex>` of its exact protobuf bytes, and a
//! terminal op last that points at the result.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use sha2::{Digest as _, Sha256};

use crate::proto::pb;

use super::definition::{DefinedOp, Definition, Location, OpMetadata, digest_order};
use super::exec::MountKind;
use super::file::FileAction;
use super::state::{Node, OpKind, OpOptions, SourceLocation, SourceMap, State};
use super::wire::{self, InputRef, OpBody, OpDigest, Writer};

/// The description key BuildKit shows as a vertex's name.
const CUSTOM_NAME: &str = "llb.customname";

/// `sha256:<hex>` of some bytes: how BuildKit names ops and content.
pub fn digest_of(bytes: &[u8]) -> String {
    crate::digest::sha256(bytes)
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
        let mut replaced = NodeMap::default();
        for (placeholder, actual) in replacements {
            if let (Some(placeholder), Some(actual)) = (&placeholder.output, &actual.output) {
                replaced.insert(Arc::as_ptr(&placeholder.node), &*actual.node);
            }
        }
        let digest = marshaller.visit(&output.node, &replaced);
        marshaller.finish((digest, output.index))
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

/// Hashes an op digest by its first eight bytes: sha256 output is uniform already.
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut head = [0u8; 8];
        let n = bytes.len().min(8);
        head[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(head);
    }

    /// The array's length prefix: the same for every digest.
    fn write_usize(&mut self, _length: usize) {}
}

#[derive(Default)]
struct Marshaller {
    /// Node identity → digest, so a shared node is encoded once.
    digests: NodeMap<OpDigest>,
    /// The ops in definition order, dependencies first.
    ops: Vec<DefinedOp>,
    /// Digest → position in `ops`: an op built twice is written once.
    positions: HashMap<OpDigest, usize, BuildHasherDefault<DigestHasher>>,
    sources: Vec<Arc<SourceMap>>,
    /// Reused for every op's bytes, inputs and input indexes.
    writer: Writer,
    inputs: Vec<InputRef>,
    indexes: Vec<i64>,
    action_indexes: Vec<(i64, i64)>,
}

impl Marshaller {
    /// Post-order walk without recursion: graphs of thousands of ops stay off the stack.
    /// Walks by reference: `root` (and `replacements`) keep every node alive.
    fn visit<'a>(&mut self, root: &'a Node, replacements: &NodeMap<&'a Node>) -> OpDigest {
        let mut stack: Vec<(&'a Node, bool)> = vec![(root, false)];
        let mut node_children = Vec::new();
        while let Some((node, children_done)) = stack.pop() {
            let address: *const Node = node;
            if self.digests.contains_key(&address) {
                continue;
            }
            if let Some(actual) = replacements.get(&address) {
                let digest = self.visit(actual, replacements);
                self.digests.insert(address, digest);
                continue;
            }
            if children_done {
                self.emit(node);
                continue;
            }
            children(node, &mut node_children);
            stack.push((node, true));
            for child in node_children.drain(..).rev() {
                if !self.digests.contains_key(&(child as *const Node)) {
                    stack.push((child, false));
                }
            }
        }
        self.digests[&(root as *const Node)]
    }

    /// Index of `state` among the op's inputs, adding it if new; -1 for scratch.
    fn input_index(&mut self, state: &State) -> i64 {
        let Some(output) = &state.output else {
            return -1;
        };
        let input = (self.digests[&Arc::as_ptr(&output.node)], output.index);
        let position = self.inputs.iter().position(|i| *i == input);
        position.unwrap_or_else(|| {
            self.inputs.push(input);
            self.inputs.len() - 1
        }) as i64
    }

    /// A definition from elsewhere: its ops (all but the terminal) and their metadata
    /// as they are, not its source locations; the node's digest is the op its
    /// terminal points at.
    fn emit_definition(&mut self, node: &Node, definition: &Definition, result: OpDigest) {
        for op in &definition.ops {
            if !self.positions.contains_key(&op.digest) {
                self.push(op.digest, op.bytes.clone(), op.metadata.clone());
            }
        }
        self.digests.insert(node, result);
    }

    fn push(&mut self, digest: OpDigest, bytes: Vec<u8>, metadata: OpMetadata) -> usize {
        self.positions.insert(digest, self.ops.len());
        self.ops.push(DefinedOp {
            digest,
            bytes,
            metadata,
            locations: Vec::new(),
        });
        self.ops.len() - 1
    }

    fn emit(&mut self, node: &Node) {
        self.inputs.clear();
        let mut writer = std::mem::take(&mut self.writer);
        writer.buf.clear();
        match &node.op {
            OpKind::Definition { definition, result } => {
                self.emit_definition(node, definition, *result);
                self.writer = writer;
                return;
            }
            OpKind::Source(source) => {
                wire::op(
                    &mut writer,
                    &[],
                    OpBody::Source(source),
                    node.platform.as_ref(),
                );
            }
            OpKind::Exec(exec) => {
                let mut mount_inputs = std::mem::take(&mut self.indexes);
                mount_inputs.clear();
                mount_inputs.extend(exec.mounts.iter().map(|mount| match &mount.kind {
                    MountKind::Bind { source, .. } => self.input_index(source),
                    MountKind::Cache { base, .. } => self.input_index(base),
                    _ => -1,
                }));
                let body = OpBody::Exec(exec, &mount_inputs);
                wire::op(&mut writer, &self.inputs, body, node.platform.as_ref());
                self.indexes = mount_inputs;
            }
            OpKind::File(file) => {
                let base = self.input_index(&file.base);
                let mut indexes = std::mem::take(&mut self.action_indexes);
                indexes.clear();
                for action in &file.actions {
                    let secondary = match action {
                        FileAction::Copy(copy) => self.input_index(&copy.source),
                        _ => -1,
                    };
                    indexes.push((base, secondary));
                }
                // Action i > 0 works on the result of action i-1, numbered after the
                // inputs (all known now).
                let n_inputs = self.inputs.len() as i64;
                for (i, (input, _)) in indexes.iter_mut().enumerate().skip(1) {
                    *input = n_inputs + i as i64 - 1;
                }
                let body = OpBody::File(file, &indexes);
                wire::op(&mut writer, &self.inputs, body, node.platform.as_ref());
                self.action_indexes = indexes;
            }
            OpKind::Merge(states) => {
                let mut indexes = std::mem::take(&mut self.indexes);
                indexes.clear();
                indexes.extend(
                    (states.iter().filter(|s| !s.is_scratch())).map(|s| self.input_index(s)),
                );
                let body = OpBody::Merge(&indexes);
                wire::op(&mut writer, &self.inputs, body, node.platform.as_ref());
                self.indexes = indexes;
            }
            OpKind::Diff { lower, upper } => {
                let lower = self.input_index(lower);
                let upper = self.input_index(upper);
                let body = OpBody::Diff { lower, upper };
                wire::op(&mut writer, &self.inputs, body, node.platform.as_ref());
            }
        }
        let digest: OpDigest = Sha256::digest(&writer.buf).into();
        // Every emitted op has a metadata entry, even an empty one.
        let position = match self.positions.get(&digest) {
            Some(&position) => position,
            None => self.push(digest, writer.buf.clone(), OpMetadata::default()),
        };
        self.writer = writer;
        record_metadata(&mut self.ops[position].metadata, &node.options);
        if let Some(location) = &node.options.location {
            let location = self.location(location);
            self.ops[position].locations.push(location);
        }
        self.digests.insert(node, digest);
    }

    fn location(&mut self, location: &SourceLocation) -> Location {
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
        Location {
            source_index: source_index as i32,
            ranges: location.ranges.clone(),
        }
    }

    /// The definition: the ops, a terminal op pointing at `result`, and the order
    /// of their digests (the order of the metadata and location maps).
    fn finish(self, result: InputRef) -> Definition {
        let mut terminal = Writer::default();
        wire::op(&mut terminal, &[result], OpBody::Terminal, None);
        Definition {
            by_digest: digest_order(&self.ops),
            ops: self.ops,
            terminal: terminal.buf,
            sources: self.sources,
        }
    }
}

/// An op emitted twice keeps what it was first given; the custom name wins over a
/// description of the same key.
fn record_metadata(entry: &mut OpMetadata, options: &OpOptions) {
    entry.ignore_cache |= options.ignore_cache;
    if let Some(name) = &options.custom_name {
        entry.describe(CUSTOM_NAME, name);
    }
    for (key, value) in &options.description {
        entry.describe(key, value);
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
fn children<'a>(node: &'a Node, out: &mut Vec<&'a Node>) {
    let mut add = |state: &'a State| out.extend(state.output.as_ref().map(|o| &*o.node));
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
