//! The stage graph: the stages of a build, what each is based on, and which other
//! stages or images its steps read from (`COPY --from`, `RUN --mount=from=`), after the
//! dispatch states of BuildKit's `dockerfile2llb/convert.go`. Target selection prunes
//! it to what one target needs. Pure code: no I/O, no LLB.
//!
//! ```
//! use conveyor::{dockerfile, graph};
//! let dockerfile = dockerfile::parse("FROM alpine AS build\nFROM build\n").unwrap();
//! let stage_graph = graph::from_dockerfile(&dockerfile, &graph::BuildArgs::new()).unwrap();
//! let selection = stage_graph.select(None).unwrap();
//! assert_eq!(selection.order.len(), 2);
//! assert_eq!(stage_graph.external_images(&selection), ["alpine"]);
//! ```

mod dump;
mod error;
mod outline;
mod signature;
mod werf;
mod werf_signature;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub use error::GraphError;
pub use outline::{Outline, OutlineArg, OutlineMount, outline};
pub use signature::{
    SignatureError, SignatureInput, SignatureSources, StageSignature, signatures,
    signatures_with_werf,
};
pub use werf::{WerfImagePlan, WerfPlannedStage, WerfStage, WerfStageKind, from_werf};
pub use werf_signature::{GitFiles, ImportDigest, ImportedFiles, WerfSources};

use crate::diag::Span;
use crate::dockerfile::{self, Command, Instruction, shell::Lexer};

/// `--build-arg` values by name.
pub type BuildArgs = BTreeMap<String, String>;

/// The ARGs BuildKit defines before the first FROM without a declaration; a caller that
/// knows the platforms passes them among the build args (see [`platform_args`]).
pub const PLATFORM_ARGS: [&str; 8] = [
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
];

/// The automatic platform ARGs for a build on `build` for `target` (both `os/arch[/variant]`).
pub fn platform_args(build: &str, target: &str) -> BuildArgs {
    let mut args = BuildArgs::new();
    for (prefix, platform) in [("BUILD", build), ("TARGET", target)] {
        let mut parts = platform.splitn(3, '/');
        let os = parts.next().unwrap_or_default();
        let arch = parts.next().unwrap_or_default();
        let variant = parts.next().unwrap_or_default();
        args.insert(format!("{prefix}PLATFORM"), platform.to_string());
        args.insert(format!("{prefix}OS"), os.to_string());
        args.insert(format!("{prefix}ARCH"), arch.to_string());
        args.insert(format!("{prefix}VARIANT"), variant.to_string());
    }
    args
}

/// A stage by its position in the Dockerfile (what `COPY --from=0` names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StageId(pub usize);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageGraph {
    pub stages: Vec<Stage>,
    /// The ARGs before the first FROM with their values for this build (build arg, else
    /// the default expanded), plus the platform ARGs given as build args.
    pub meta_args: Vec<MetaArg>,
    /// The Dockerfile's escape token, for expanding words in later passes.
    pub escape: char,
    /// For a werf config: each image's conveyor, skipped stages included (empty for
    /// a Dockerfile).
    pub werf_images: Vec<WerfImagePlan>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaArg {
    pub name: String,
    /// `None` for `ARG NAME` without default and without build arg.
    pub value: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    /// `AS name`, lower-cased.
    pub name: Option<String>,
    pub index: usize,
    pub base: Base,
    /// `FROM --platform=…`, expanded with the meta ARGs.
    pub platform: Option<String>,
    pub steps: Vec<Step>,
    /// The whole stage, FROM through its last instruction.
    pub span: Span,
    /// The FROM instruction.
    pub from_span: Span,
    /// A werf stage's body (its `steps` are then empty).
    pub werf: Option<WerfStage>,
    /// The text the steps' spans point into when it is not the build file itself (the
    /// Dockerfile of a werf config's Dockerfile image).
    pub source: Option<std::sync::Arc<str>>,
    /// The werf Dockerfile image the stage belongs to: its `args`, `cacheVersion`,
    /// `network` and `addHost` apply to the stage.
    pub werf_dockerfile: Option<std::sync::Arc<crate::werf::DockerfileImage>>,
}

impl Stage {
    /// The name BuildKit shows for the stage: `AS name`, else `stage-<index>`.
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => format!("stage-{}", self.index),
        }
    }
}

/// What a stage starts from, or what a `--from` reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Base {
    /// An image reference, expanded, as written (not normalised).
    Image {
        reference: String,
        span: Span,
    },
    Stage(StageId),
    Scratch,
}

/// One instruction of a stage and the other stages or images it reads from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub instruction: Arc<Instruction>,
    pub dependencies: Vec<Dependency>,
}

impl Step {
    /// What `COPY --from` reads, if this step is such a COPY.
    pub fn copy_from(&self) -> Option<&Base> {
        self.dependencies
            .iter()
            .find(|d| d.via == Via::CopyFrom)
            .map(|d| &d.on)
    }

    /// What the `index`-th `--mount` of this RUN reads with `from=`, if anything.
    pub fn mount_from(&self, index: usize) -> Option<&Base> {
        self.dependencies
            .iter()
            .find(|d| d.via == Via::Mount(index))
            .map(|d| &d.on)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    pub on: Base,
    pub via: Via,
    /// The `--from` value or the `--mount` flag.
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    CopyFrom,
    /// The RUN's `--mount` at this position.
    Mount(usize),
}

/// The stages one target needs, dependencies first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    pub target: StageId,
    pub order: Vec<StageId>,
}

/// Builds the stage graph: expands FROM and `--platform` with the meta ARGs (overridden
/// by build args) and resolves stage references. BuildKit predefines the platform ARGs;
/// here the caller adds them: `build_args` should hold [`platform_args`] under the
/// user's build args, or `FROM --platform=$BUILDPLATFORM` expands to nothing.
///
/// Where BuildKit and this differ: a stage name is matched case-insensitively in FROM
/// too (BuildKit only matches FROM lines written in lower case); FROM naming a later
/// stage is an error here (BuildKit would look for an image of that name); a numeric
/// `from=` in `RUN --mount` names a stage (BuildKit takes it for an image name).
/// `FROM x AS x` is an image, as in BuildKit: a stage is not its own base.
pub fn from_dockerfile(
    dockerfile: &dockerfile::Dockerfile,
    build_args: &BuildArgs,
) -> Result<StageGraph, GraphError> {
    let lexer = Lexer::new(dockerfile.escape);
    let mut meta_args: Vec<MetaArg> = PLATFORM_ARGS
        .iter()
        .filter_map(|name| {
            build_args.get(*name).map(|value| MetaArg {
                name: name.to_string(),
                value: Some(value.clone()),
            })
        })
        .collect();
    for arg in &dockerfile.meta_args {
        let name = arg.name.text.clone();
        let value = match (build_args.get(&name), &arg.default) {
            (Some(value), _) => Some(value.clone()),
            (None, Some(default)) => Some(expand(&lexer, &default.text, default.span, &meta_args)?),
            (None, None) => None,
        };
        meta_args.retain(|m| m.name != name);
        meta_args.push(MetaArg { name, value });
    }

    let names = StageNames::new(dockerfile);
    let mut stages = Vec::with_capacity(dockerfile.stages.len());
    for stage in &dockerfile.stages {
        let written = expand(&lexer, &stage.from.text, stage.from.span, &meta_args)?;
        if written.is_empty() {
            return Err(GraphError::BlankBase {
                written: stage.from.text.clone(),
                span: stage.from.span,
            });
        }
        let base = if written == "scratch" {
            Base::Scratch
        } else {
            let lower = written.to_ascii_lowercase();
            match names.find(&lower) {
                Some(found) if found < stage.index => Base::Stage(StageId(found)),
                Some(found) if found > stage.index => {
                    return Err(GraphError::ForwardReference {
                        what: "FROM",
                        name: written,
                        current: display_name(stage),
                        span: stage.from.span,
                    });
                }
                _ => Base::Image {
                    reference: written,
                    span: stage.from.span,
                },
            }
        };
        let platform = match &stage.platform {
            Some(word) => Some(expand(&lexer, &word.text, word.span, &meta_args)?),
            None => None,
        };
        let mut steps = Vec::with_capacity(stage.instructions.len());
        for instruction in &stage.instructions {
            let dependencies = dependencies(instruction, stage, &names)?;
            steps.push(Step {
                instruction: Arc::clone(instruction),
                dependencies,
            });
        }
        stages.push(Stage {
            name: stage.name.clone(),
            index: stage.index,
            base,
            platform,
            steps,
            span: stage.span,
            from_span: stage.from_span,
            werf: None,
            source: None,
            werf_dockerfile: None,
        });
    }
    let graph = StageGraph {
        stages,
        meta_args,
        escape: dockerfile.escape,
        werf_images: Vec::new(),
    };
    graph.check_acyclic()?;
    Ok(graph)
}

/// Stage positions by lower-cased name (the first stage of a name wins), so resolving
/// a reference does not scan every stage.
struct StageNames {
    by_name: std::collections::HashMap<String, usize>,
    count: usize,
}

impl StageNames {
    fn new(dockerfile: &dockerfile::Dockerfile) -> StageNames {
        let mut by_name = std::collections::HashMap::new();
        for stage in &dockerfile.stages {
            if let Some(name) = &stage.name {
                by_name
                    .entry(name.to_ascii_lowercase())
                    .or_insert(stage.index);
            }
        }
        StageNames {
            by_name,
            count: dockerfile.stages.len(),
        }
    }

    /// The position of the stage named `lower` (already lower-cased).
    fn find(&self, lower: &str) -> Option<usize> {
        self.by_name.get(lower).copied()
    }
}

fn display_name(stage: &dockerfile::Stage) -> String {
    match &stage.name {
        Some(name) => name.clone(),
        None => format!("stage-{}", stage.index),
    }
}

fn expand(
    lexer: &Lexer,
    text: &str,
    span: Span,
    meta_args: &[MetaArg],
) -> Result<String, GraphError> {
    lexer
        .expand_value(text, |name| {
            meta_args
                .iter()
                .rev()
                .find(|m| m.name == name)
                .and_then(|m| m.value.clone())
        })
        .map_err(|err| GraphError::Expand {
            message: err.to_string(),
            span,
        })
}

fn dependencies(
    instruction: &Instruction,
    stage: &dockerfile::Stage,
    names: &StageNames,
) -> Result<Vec<Dependency>, GraphError> {
    let mut found = Vec::new();
    match &instruction.command {
        Command::Copy(copy) => {
            if let Some(from) = &copy.from {
                let on = resolve("COPY --from", &from.text, from.span, stage, names)?;
                found.push(Dependency {
                    on,
                    via: Via::CopyFrom,
                    span: from.span,
                });
            }
        }
        Command::Run(run) => {
            for (index, mount) in run.mounts.iter().enumerate() {
                if let Some(from) = &mount.from {
                    let on = resolve("RUN --mount from", from, mount.span, stage, names)?;
                    found.push(Dependency {
                        on,
                        via: Via::Mount(index),
                        span: mount.span,
                    });
                }
            }
        }
        _ => {}
    }
    Ok(found)
}

/// A `--from` value: a stage index, a stage name (any case), `scratch`, or an image.
fn resolve(
    what: &'static str,
    value: &str,
    span: Span,
    stage: &dockerfile::Stage,
    names: &StageNames,
) -> Result<Base, GraphError> {
    let forward = |name: &str| GraphError::ForwardReference {
        what,
        name: name.to_string(),
        current: display_name(stage),
        span,
    };
    if let Ok(index) = value.parse::<usize>() {
        if index >= names.count {
            return Err(GraphError::InvalidStageIndex {
                index: value.to_string(),
                n_stages: names.count,
                span,
            });
        }
        if index >= stage.index {
            return Err(forward(value));
        }
        return Ok(Base::Stage(StageId(index)));
    }
    match names.find(&value.to_ascii_lowercase()) {
        Some(found) if found < stage.index => Ok(Base::Stage(StageId(found))),
        Some(_) => Err(forward(value)),
        None if value == "scratch" => Ok(Base::Scratch),
        None => Ok(Base::Image {
            reference: value.to_string(),
            span,
        }),
    }
}

impl StageGraph {
    pub fn stage(&self, id: StageId) -> &Stage {
        &self.stages[id.0]
    }

    /// Stage ids this stage reads: its base stage and every `--from` stage.
    pub fn stage_dependencies(&self, id: StageId) -> Vec<StageId> {
        let stage = self.stage(id);
        let mut out = Vec::new();
        if let Base::Stage(base) = stage.base {
            out.push(base);
        }
        for step in &stage.steps {
            for dependency in &step.dependencies {
                if let Base::Stage(on) = dependency.on
                    && !out.contains(&on)
                {
                    out.push(on);
                }
            }
        }
        if let Some(werf) = &stage.werf {
            let imported = werf.imports.iter().filter_map(|(_, on)| match on {
                Base::Stage(on) => Some(on),
                _ => None,
            });
            for &on in imported.chain(werf.dependencies.iter().map(|(_, on)| on)) {
                if !out.contains(&on) {
                    out.push(on);
                }
            }
        }
        out
    }

    /// References only point at earlier stages, so a cycle cannot form; checked anyway
    /// so that a future input kind (werf imports) cannot slip one through.
    fn check_acyclic(&self) -> Result<(), GraphError> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Open,
            Done,
        }
        let mut marks = vec![Mark::New; self.stages.len()];
        for start in 0..self.stages.len() {
            if marks[start] != Mark::New {
                continue;
            }
            // Iterative DFS: (stage, next dependency to look at).
            let mut stack = vec![(StageId(start), 0usize)];
            marks[start] = Mark::Open;
            while let Some((id, next)) = stack.pop() {
                let dependencies = self.stage_dependencies(id);
                if let Some(&dependency) = dependencies.get(next) {
                    stack.push((id, next + 1));
                    match marks[dependency.0] {
                        Mark::Open => {
                            let stage = self.stage(dependency);
                            return Err(GraphError::Cycle {
                                stage: stage.display_name(),
                                span: stage.from_span,
                            });
                        }
                        Mark::New => {
                            marks[dependency.0] = Mark::Open;
                            stack.push((dependency, 0));
                        }
                        Mark::Done => {}
                    }
                } else {
                    marks[id.0] = Mark::Done;
                }
            }
        }
        Ok(())
    }

    /// The stage a `--target` names (case-insensitive), or the last stage, and every
    /// stage it needs, dependencies first.
    pub fn select(&self, target: Option<&str>) -> Result<Selection, GraphError> {
        let target = match target {
            None => StageId(self.stages.len() - 1),
            Some(wanted) if self.werf_images.iter().any(|i| i.name == wanted) => self
                .werf_images
                .iter()
                .find(|i| i.name == wanted)
                .expect("checked")
                .last_stage(),
            Some(wanted) => {
                let lower = wanted.to_ascii_lowercase();
                match self
                    .stages
                    .iter()
                    .position(|s| s.name.as_deref() == Some(lower.as_str()))
                {
                    Some(index) => StageId(index),
                    None => {
                        let mut names: Vec<&str> = self
                            .stages
                            .iter()
                            .filter_map(|s| s.name.as_deref())
                            .collect();
                        names.extend(self.werf_images.iter().map(|i| i.name.as_str()));
                        return Err(GraphError::UnknownTarget {
                            target: wanted.to_string(),
                            suggestion: error::suggest(wanted, &names),
                            span: Span::default(),
                        });
                    }
                }
            }
        };
        Ok(self.select_stage(target))
    }

    /// The stages `target` needs, dependencies first, `target` last.
    pub fn select_stage(&self, target: StageId) -> Selection {
        let mut reached = BTreeSet::from([target]);
        let mut pending = vec![target];
        while let Some(id) = pending.pop() {
            for dependency in self.stage_dependencies(id) {
                if reached.insert(dependency) {
                    pending.push(dependency);
                }
            }
        }
        // Every edge points at an earlier stage, so Dockerfile order is a topological order.
        Selection {
            target,
            order: reached.into_iter().collect(),
        }
    }

    /// Image references the selected stages read (bases and `--from` images), each once,
    /// in the order they first appear: the caller resolves them (digest and config)
    /// before lowering.
    pub fn external_images(&self, selection: &Selection) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |base: &Base| {
            if let Base::Image { reference, .. } = base
                && !out.contains(reference)
            {
                out.push(reference.clone());
            }
        };
        for &id in &selection.order {
            let stage = self.stage(id);
            add(&stage.base);
            for step in &stage.steps {
                for dependency in &step.dependencies {
                    add(&dependency.on);
                }
            }
            for (_, on) in stage.werf.iter().flat_map(|w| &w.imports) {
                add(on);
            }
        }
        out
    }

    /// The stage name closest to `name`, if it looks like a typo of one: for the message
    /// when an image named by `--from` or FROM cannot be resolved (`--from=biuld`).
    pub fn suggest_stage(&self, name: &str) -> Option<String> {
        let names: Vec<&str> = self
            .stages
            .iter()
            .filter_map(|s| s.name.as_deref())
            .collect();
        error::suggest(name, &names)
    }

    /// A stable text rendering for golden tests and `conveyor plan`.
    pub fn dump(&self, selection: Option<&Selection>) -> String {
        dump::dump(self, selection)
    }
}

#[cfg(test)]
mod tests;
