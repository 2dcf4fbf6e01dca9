//! A marshalled LLB graph, BuildKit's `pb.Definition`: each op's bytes, dependencies
//! first, a terminal op pointing at the result, and per op its metadata and the source
//! lines it came from.
//!
//! Held in our own types and encoded by hand rather than as the generated
//! `pb::Definition`: that keeps metadata in maps of maps (a B-tree node per op, every
//! string cloned in and freed after), and prost measures each nested message again at
//! every level it encodes — together a sixth of compiling a 1000-stage Dockerfile. The
//! bytes are prost's; `wire_tests::definitions_encode_as_prost_does` holds them to it.

use std::borrow::Cow;
use std::sync::Arc;

use prost::Message;
use sha2::{Digest as _, Sha256};

use crate::digest::sha256_string;
use crate::proto::pb;

use super::state::SourceMap;
use super::wire::{OpDigest, Writer};

/// What BuildKit is told of an op besides its bytes (`pb.OpMetadata`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpMetadata {
    pub ignore_cache: bool,
    /// Sorted by key, each key once: a protobuf map, written in key order. Our keys
    /// are constants, not allocated per op.
    pub description: Vec<(Cow<'static, str>, String)>,
    pub export_cache: Option<bool>,
    /// Sorted by key, each key once.
    pub caps: Vec<(String, bool)>,
    pub progress_group: Option<pb::ProgressGroup>,
}

impl OpMetadata {
    /// Adds a description entry unless the key has one: the first value given stays.
    pub(super) fn describe(&mut self, key: &'static str, value: &str) {
        let found = (self.description).binary_search_by(|(k, _)| k.as_ref().cmp(key));
        if let Err(at) = found {
            (self.description).insert(at, (Cow::Borrowed(key), value.to_string()));
        }
    }

    /// Metadata from a definition marshalled elsewhere.
    pub(super) fn from_pb(metadata: pb::OpMetadata) -> OpMetadata {
        OpMetadata {
            ignore_cache: metadata.ignore_cache,
            description: (metadata.description.into_iter())
                .map(|(key, value)| (Cow::Owned(key), value))
                .collect(),
            export_cache: metadata.export_cache.map(|e| e.value),
            caps: metadata.caps.into_iter().collect(),
            progress_group: metadata.progress_group,
        }
    }
}

/// Lines of one source file an op came from.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Location {
    /// Index into `Definition::sources`.
    pub(super) source_index: i32,
    /// `(start line, start char, end line, end char)`, as `pb.Range` counts them.
    pub(super) ranges: Vec<(i32, i32, i32, i32)>,
}

impl Location {
    fn from_pb(location: pb::Location) -> Location {
        let position = |p: Option<pb::Position>| p.map_or((0, 0), |p| (p.line, p.character));
        Location {
            source_index: location.source_index,
            ranges: (location.ranges.into_iter())
                .map(|range| {
                    let (start_line, start_char) = position(range.start);
                    let (end_line, end_char) = position(range.end);
                    (start_line, start_char, end_line, end_char)
                })
                .collect(),
        }
    }
}

/// One op of a definition with what rides on it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct DefinedOp {
    pub(super) digest: OpDigest,
    pub(super) bytes: Vec<u8>,
    pub(super) metadata: OpMetadata,
    pub(super) locations: Vec<Location>,
}

/// A marshalled LLB graph, ready to send to BuildKit.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Definition {
    /// Dependencies first.
    pub(super) ops: Vec<DefinedOp>,
    /// The last op, whose one input is the result; empty in an empty definition.
    pub(super) terminal: Vec<u8>,
    /// Indexes into `ops` in digest order: the order of the metadata and location maps.
    pub(super) by_digest: Vec<u32>,
    pub(super) sources: Vec<Arc<SourceMap>>,
}

impl Definition {
    /// The protobuf bytes of the whole definition (what `buildctl build` reads, and
    /// what a gateway Solve carries).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        let op_bytes: usize = self.ops.iter().map(|op| op.bytes.len() + 3).sum();
        // Ops, their metadata entries (about their size again) and the sources.
        let source_bytes: usize = self.sources.iter().map(|s| s.data.len() + 64).sum();
        w.buf
            .reserve(2 * op_bytes + source_bytes + self.terminal.len() + 8);
        for op in &self.ops {
            w.bytes(1, &op.bytes);
        }
        if !self.terminal.is_empty() {
            w.bytes(1, &self.terminal);
        }
        let default = OpMetadata::default();
        for op in self.in_digest_order() {
            // A map entry leaves out a default value, as prost writes it.
            w.message(2, |w| {
                w.digest(1, &op.digest);
                if op.metadata != default {
                    w.message(2, |w| metadata(w, &op.metadata));
                }
            });
        }
        if self.ops.iter().any(|op| !op.locations.is_empty()) {
            w.message(3, |w| {
                for op in self.in_digest_order() {
                    if !op.locations.is_empty() {
                        w.message(1, |w| {
                            w.digest(1, &op.digest);
                            w.message(2, |w| locations(w, &op.locations));
                        });
                    }
                }
                for source in &self.sources {
                    w.message(2, |w| {
                        w.string(1, &source.filename);
                        if !source.data.is_empty() {
                            w.bytes(2, &source.data);
                        }
                        w.string(4, &source.language);
                    });
                }
            });
        }
        w.buf
    }

    /// A definition marshalled elsewhere (or read back), with its metadata and source
    /// locations; the last op is its terminal.
    pub fn from_pb(definition: pb::Definition) -> Definition {
        let mut ops = definition.def;
        let terminal = ops.pop().unwrap_or_default();
        let mut metadata = definition.metadata;
        let (mut locations, infos) = definition
            .source
            .map(|source| (source.locations, source.infos))
            .unwrap_or_default();
        let ops: Vec<DefinedOp> = (ops.into_iter())
            .map(|bytes| {
                let digest: OpDigest = Sha256::digest(&bytes).into();
                let key = sha256_string(&digest);
                let located = locations.remove(&key).map(|l| l.locations);
                DefinedOp {
                    digest,
                    bytes,
                    metadata: (metadata.remove(&key).map(OpMetadata::from_pb)).unwrap_or_default(),
                    locations: (located.into_iter().flatten().map(Location::from_pb)).collect(),
                }
            })
            .collect();
        Definition {
            by_digest: digest_order(&ops),
            ops,
            terminal,
            sources: (infos.into_iter())
                .map(|info| {
                    Arc::new(SourceMap {
                        filename: info.filename,
                        data: info.data,
                        language: info.language,
                    })
                })
                .collect(),
        }
    }

    /// The definition as the generated protobuf type (for reading, not on any hot path).
    pub fn to_pb(&self) -> pb::Definition {
        pb::Definition::decode(self.encode().as_slice()).expect("our own encoding decodes")
    }

    /// Each op with its digest, in definition order (the terminal op last).
    pub fn ops(&self) -> Vec<(String, pb::Op)> {
        let ops = (self.ops.iter()).map(|op| (sha256_string(&op.digest), &op.bytes));
        let terminal =
            (!self.terminal.is_empty()).then(|| (super::digest_of(&self.terminal), &self.terminal));
        (ops.chain(terminal))
            .map(|(digest, bytes)| {
                let op = pb::Op::decode(bytes.as_slice()).expect("definition holds ops we encoded");
                (digest, op)
            })
            .collect()
    }

    /// The digest of the op whose output is the result, if any.
    pub fn result_digest(&self) -> Option<String> {
        let terminal = pb::Op::decode(self.terminal.as_slice()).ok()?;
        terminal.inputs.first().map(|input| input.digest.clone())
    }

    /// Marks the ops `pick` chooses to run again rather than come from the cache.
    pub fn ignore_cache_of(&mut self, pick: impl Fn(&pb::Op) -> bool) {
        for op in &mut self.ops {
            if pb::Op::decode(op.bytes.as_slice()).is_ok_and(|decoded| pick(&decoded)) {
                op.metadata.ignore_cache = true;
            }
        }
    }

    fn in_digest_order(&self) -> impl Iterator<Item = &DefinedOp> {
        self.by_digest.iter().map(|&i| &self.ops[i as usize])
    }
}

/// Indexes into `ops` in the order of their digests (digest bytes sort as their hex).
pub(super) fn digest_order(ops: &[DefinedOp]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..ops.len() as u32).collect();
    order.sort_unstable_by_key(|&i| ops[i as usize].digest);
    order
}

fn metadata(w: &mut Writer, metadata: &OpMetadata) {
    w.bool(1, metadata.ignore_cache);
    for (key, value) in &metadata.description {
        w.message(2, |w| {
            w.string(1, key);
            w.string(2, value);
        });
    }
    if let Some(value) = metadata.export_cache {
        w.message(4, |w| w.bool(1, value));
    }
    for (key, value) in &metadata.caps {
        w.message(5, |w| {
            w.string(1, key);
            w.bool(2, *value);
        });
    }
    if let Some(group) = &metadata.progress_group {
        w.message(6, |w| {
            w.string(1, &group.id);
            w.string(2, &group.name);
            w.bool(3, group.weak);
        });
    }
}

/// `pb.Locations`: each location with its ranges, both ends always set.
fn locations(w: &mut Writer, locations: &[Location]) {
    for location in locations {
        w.message(1, |w| {
            w.int32(1, location.source_index);
            for &(start_line, start_char, end_line, end_char) in &location.ranges {
                w.message(2, |w| {
                    w.message(1, |w| {
                        w.int32(1, start_line);
                        w.int32(2, start_char);
                    });
                    w.message(2, |w| {
                        w.int32(1, end_line);
                        w.int32(2, end_char);
                    });
                });
            }
        });
    }
}
