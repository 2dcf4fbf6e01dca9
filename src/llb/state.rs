//! The graph itself: a `State` is one output of one op, shared cheaply (`Arc`), never
//! mutated; every builder call returns a new `State`.

use std::sync::Arc;

use crate::proto::pb;

use super::exec::ExecOp;
use super::file::FileOp;

/// One output of an op in the LLB graph, or scratch (the empty filesystem).
#[derive(Clone, Debug, Default)]
pub struct State {
    pub(super) output: Option<Output>,
}

#[derive(Clone, Debug)]
pub(super) struct Output {
    pub(super) node: Arc<Node>,
    pub(super) index: i64,
}

#[derive(Debug)]
pub(super) struct Node {
    pub(super) op: OpKind,
    pub(super) platform: Option<Platform>,
    pub(super) options: OpOptions,
}

#[derive(Debug)]
pub(super) enum OpKind {
    Source(pb::SourceOp),
    Exec(Box<ExecOp>),
    File(FileOp),
    Merge(Vec<State>),
    Diff {
        lower: State,
        upper: State,
    },
    /// A whole marshalled graph from elsewhere (a frontend input): its ops go into
    /// the definition as they are, and this node stands for its result.
    Definition {
        definition: super::definition::Definition,
        /// The digest of the op its terminal op points at.
        result: super::wire::OpDigest,
    },
}

/// The platform an op runs for (`linux/amd64`, `linux/arm64/v8`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: String,
}

impl Platform {
    pub fn new(os: &str, architecture: &str, variant: &str) -> Platform {
        Platform {
            os: os.into(),
            architecture: architecture.into(),
            variant: variant.into(),
        }
    }

    /// `os/arch[/variant]`, as BuildKit and docker print it.
    pub fn id(&self) -> String {
        if self.variant.is_empty() {
            format!("{}/{}", self.os, self.architecture)
        } else {
            format!("{}/{}/{}", self.os, self.architecture, self.variant)
        }
    }

    pub fn to_pb(&self) -> pb::Platform {
        pb::Platform {
            os: self.os.clone(),
            architecture: self.architecture.clone(),
            variant: self.variant.clone(),
            ..pb::Platform::default()
        }
    }
}

/// A source file that ops can point into, so BuildKit's errors show its lines.
#[derive(Debug, PartialEq, Eq)]
pub struct SourceMap {
    pub filename: String,
    pub data: Vec<u8>,
    pub language: String,
}

/// Where in a `SourceMap` an op comes from: 1-based lines, 0-based characters, as the
/// wire's `pb.Range` counts them.
#[derive(Clone, Debug)]
pub struct SourceLocation {
    pub source: Arc<SourceMap>,
    /// `(start_line, start_char, end_line, end_char)` ranges.
    pub ranges: Vec<(i32, i32, i32, i32)>,
}

/// What rides on an op besides its content: name shown in progress, cache and
/// progress-group settings, and its source location. None of it changes the op digest.
#[derive(Clone, Debug, Default)]
pub struct OpOptions {
    /// Shown as the vertex name (`llb.customname`).
    pub custom_name: Option<String>,
    pub ignore_cache: bool,
    /// Other `OpMetadata.description` entries, `(key, value)`; an op carries one or
    /// two, where a map would cost a node each.
    pub description: Vec<(&'static str, String)>,
    pub progress_group: Option<(String, String)>,
    pub location: Option<SourceLocation>,
}

/// The same output of the same op (not an equal graph built twice).
impl PartialEq for State {
    fn eq(&self, other: &State) -> bool {
        match (&self.output, &other.output) {
            (Some(a), Some(b)) => Arc::ptr_eq(&a.node, &b.node) && a.index == b.index,
            (None, None) => true,
            _ => false,
        }
    }
}

impl Eq for State {}

impl State {
    /// The empty filesystem.
    pub fn scratch() -> State {
        State { output: None }
    }

    pub fn is_scratch(&self) -> bool {
        self.output.is_none()
    }

    pub(super) fn from_node(node: Node, index: i64) -> State {
        State {
            output: Some(Output {
                node: Arc::new(node),
                index,
            }),
        }
    }

    /// The result of a definition marshalled elsewhere (a frontend's input), to build
    /// on: its ops are kept byte for byte. An empty definition is scratch.
    pub fn from_definition(definition: pb::Definition) -> Result<State, String> {
        use prost::Message;
        if definition.def.is_empty() {
            return Ok(State::scratch());
        }
        // Digested and its metadata read once here, not at every marshal.
        let definition = super::definition::Definition::from_pb(definition);
        let terminal = pb::Op::decode(definition.terminal.as_slice())
            .map_err(|error| format!("the definition's last op does not decode: {error}"))?;
        let [input] = terminal.inputs.as_slice() else {
            return Err(format!(
                "the definition's last op has {} inputs, expected the one result",
                terminal.inputs.len()
            ));
        };
        let index = input.index;
        let mut result = [0u8; 32];
        let hex = input.digest.strip_prefix("sha256:").unwrap_or_default();
        hex::decode_to_slice(hex, &mut result).map_err(|_| {
            format!(
                "the definition's result {:?} is not a sha256 digest",
                input.digest
            )
        })?;
        Ok(State::from_node(
            Node {
                op: OpKind::Definition { definition, result },
                platform: None,
                options: OpOptions::default(),
            },
            index,
        ))
    }

    /// Layers `states` on top of each other (later ones win) without copying.
    pub fn merge(states: Vec<State>, options: OpOptions) -> State {
        State::from_node(
            Node {
                op: OpKind::Merge(states),
                platform: None,
                options,
            },
            0,
        )
    }

    /// What changed from `lower` to `upper`, as a filesystem of its own.
    pub fn diff(lower: State, upper: State, options: OpOptions) -> State {
        State::from_node(
            Node {
                op: OpKind::Diff { lower, upper },
                platform: None,
                options,
            },
            0,
        )
    }
}

/// Dropping a long chain of ops would recurse once per op and overflow the stack on
/// graphs of many thousand ops; unlink the children into a list instead.
impl Drop for Node {
    fn drop(&mut self) {
        // Only children this node alone holds go on the list, so dropping a node whose
        // inputs are shared (or a node already unlinked here) allocates nothing. A child
        // is unlinked in place and its `Arc` dropped only once it holds no children.
        let mut pending: Vec<Arc<Node>> = Vec::new();
        take_children(&mut self.op, &mut pending);
        while let Some(mut node) = pending.pop() {
            if let Some(node) = Arc::get_mut(&mut node) {
                take_children(&mut node.op, &mut pending);
            }
        }
    }
}

/// Moves out of `op` the child nodes nothing else holds, onto `pending`.
fn take_children(op: &mut OpKind, pending: &mut Vec<Arc<Node>>) {
    use super::exec::MountKind;
    use super::file::FileAction;
    let mut take = |state: &mut State| {
        if let Some(output) = state.output.take()
            && Arc::strong_count(&output.node) == 1
        {
            pending.push(output.node);
        }
    };
    match op {
        OpKind::Source(_) | OpKind::Definition { .. } => {}
        OpKind::Exec(exec) => {
            for mount in &mut exec.mounts {
                match &mut mount.kind {
                    MountKind::Bind { source, .. } => take(source),
                    MountKind::Cache { base, .. } => take(base),
                    _ => {}
                }
            }
        }
        OpKind::File(file) => {
            take(&mut file.base);
            for action in &mut file.actions {
                if let FileAction::Copy(copy) = action {
                    take(&mut copy.source);
                }
            }
        }
        OpKind::Merge(states) => states.iter_mut().for_each(take),
        OpKind::Diff { lower, upper } => {
            take(lower);
            take(upper);
        }
    }
}
