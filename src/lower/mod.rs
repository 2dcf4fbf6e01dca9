//! Lowering: a selected `StageGraph` → one LLB `Definition` and the target's image
//! config, with the semantics of BuildKit's Dockerfile frontend (`dockerfile2llb`,
//! v0.13 as in Docker 26.1). Pure code: base images are resolved by the caller (digest
//! and config) and passed in. The only module that knows both `graph` and `llb`.
//!
//! Covered, matching the stock frontend (history lines, vertex names and the config of
//! `testdata/llb/stock-metadata` and `heredocs` were compared with `docker buildx build`):
//! - FROM: base config inherited (Env, User, WorkingDir, Shell, Cmd, Entrypoint,
//!   history…), default PATH, images without layers start from scratch, `FROM stage`
//!   inherits the stage's filesystem, config, environment and platform, FROM
//!   `--platform`, image ops pinned to the resolved digest.
//! - ENV and ARG scoping: words expanded with the environment before the instruction;
//!   ARG takes the build arg, else its default, else the meta ARG's value (platform ARGs
//!   predefined); ARG values reach RUN's environment (and the `|N K=V` history prefix)
//!   but not the config's Env.
//! - RUN: shell form through SHELL (default `/bin/sh -c`), exec form as is; heredocs
//!   (a lone heredoc runs as the script, one starting with `#!` as a file mounted at
//!   `/dev/pipes/`, others handed to the shell whole); `--mount` bind (context, stage,
//!   image; ro/rw; source), cache (id defaulting to the target, sharing, from, uid/gid/
//!   mode through a prepared `/cache` dir), tmpfs (size), secret (`/run/secrets/<id>`,
//!   required, uid/gid/mode, env), ssh (id, target, required); `--network`, `--security`.
//! - WORKDIR relative to the previous one, created with `mkdir -p` owned by USER.
//! - COPY/ADD: the context (one `local://` source with the .dockerignore excludes and the
//!   paths COPY/ADD/bind mounts read as follow paths), `--from` stage/index/image,
//!   wildcards, destination relative to WORKDIR with trailing-slash dir semantics,
//!   `--chown` (names and ids), `--chmod` (octal), `--link` (copy onto scratch + merge),
//!   `--parents` (with `/./` pivots), `--exclude`, heredoc sources, ADD of URLs (with
//!   `--checksum`), git URLs (`--keep-git-dir`) and local archives (unpacked).
//! - LABEL, MAINTAINER (the config's `author`, as BuildKit), EXPOSE (port ranges,
//!   protocols), VOLUME, USER, STOPSIGNAL, SHELL, CMD (sets `ArgsEscaped`, as v0.13),
//!   ENTRYPOINT (drops an inherited CMD), HEALTHCHECK (NONE too), ONBUILD (recorded, and
//!   a base's triggers run first in the stage built FROM it).
//! - Vertex names `[stage i/n] …` (stage name left out when the build has one state;
//!   `[linux/arm64 stage i/n] …` in a multi-platform build),
//!   `com.docker.dockerfile.v1.command` descriptions, source locations per op.
//!
//! Not covered: `SOURCE_DATE_EPOCH`,
//! proxy build args (`HTTP_PROXY` … into the exec's proxy env), `--add-host`, shm size,
//! ulimits, cgroup parent, per-stage `--no-cache`, `label:` options, writable bind mounts
//! without an output (BuildKit's `ForceNoOutput`), read-only cache mounts, Windows. Stricter than BuildKit: several sources need a destination ending
//! in `/`; an invalid `--chmod` is an error (v0.13 ignores it). Vertex names need
//! `Options::dockerfile_source`; without it they are rebuilt from the parsed instruction
//! (RUN's flags left out) and ops carry no source location.

mod copy;
mod error;
mod image;
mod meta;
mod named;
mod names;
mod onbuild;
mod paths;
mod reference;
mod reused;
mod run;
mod sources;
mod stage;
mod werf;
mod werf_image_spec;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

pub use error::LowerError;
pub use image::{
    ContainerConfig, Empty, HISTORY_COMMENT, Healthcheck, History, ImageConfig, RootFs,
};
pub use named::NamedContext;
pub use reference::{normalize_reference, pin_reference};
pub use reused::{ReusedStage, ReusedStages, prune_reused};

use names::{count_unregistered_sources, logical_line, reconstructed_text, uppercase_command};
use paths::{chown_opt, clean_path, join_path, normalize_workdir, parse_platform};

use crate::diag::{LineIndex, Span};
use crate::dockerfile::{self, Command, Instruction, shell::Lexer};
use crate::graph::{Base, Dependency, PLATFORM_ARGS, Selection, StageGraph, StageId, Via};
use crate::llb;

use stage::StageState;

/// The `OpMetadata.description` key where BuildKit records the instruction text.
const DESCRIPTION_COMMAND: &str = "com.docker.dockerfile.v1.command";

/// The PATH BuildKit sets when a base image has none (Linux).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Everything the lowering needs besides the graph. No `Default`: the caller chooses.
#[derive(Clone, Debug)]
pub struct Options {
    /// The target platform; also the build platform of the automatic platform ARGs.
    pub platform: llb::Platform,
    /// `--build-arg` values; only ARGs the Dockerfile declares see them.
    pub build_args: BTreeMap<String, String>,
    pub context: ContextRef,
    /// The Dockerfile text, for source locations and vertex names; without it ops carry
    /// no location and names are rebuilt from the parsed instructions.
    pub dockerfile_source: Option<Arc<llb::SourceMap>>,
    /// `--build-context NAME=…`: an image reference (base or `--from`) equal to NAME,
    /// or the stage named NAME as a whole, is read from the named context instead (an
    /// image one must be among the resolved bases).
    pub named_contexts: BTreeMap<String, NamedContext>,
    /// The daemon supports MergeOp (LLB cap `mergeop`). Without it `COPY --link` is a
    /// plain copy, as the stock frontend does: Docker Engine's classic image store
    /// reports no `mergeop` and would flatten merged layers into one.
    pub merge_op: bool,
    /// Stages found in the stages storage: each lowers to its stored image, and stages
    /// only it needs are left out (see `prune_reused`).
    pub reused_stages: ReusedStages,
    /// werf `mount.fromPath` directories the client serves, by the path as written
    /// (`conveyor build`); none through the buildx frontend.
    pub host_dirs: BTreeMap<String, ContextRef>,
    /// Several platforms were asked for (BuildKit's `MultiPlatformRequested`): vertex
    /// names start with the stage's platform, `[linux/arm64 build 2/3] RUN …`.
    pub prefix_platform: bool,
}

/// The client directory COPY and ADD read from.
#[derive(Clone, Debug)]
pub struct ContextRef {
    /// The local name, `context` for docker and buildx.
    pub local_name: String,
    pub session_id: String,
    /// From `.dockerignore`.
    pub exclude_patterns: Vec<String>,
    pub shared_key_hint: String,
}

/// A base image as the caller resolved it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedBase {
    /// Manifest digest (`sha256:…`) the image is pinned to.
    pub digest: String,
    pub config: ImageConfig,
}

/// Resolved images by reference as written in the graph (see `StageGraph::external_images`).
pub type ResolvedBases = BTreeMap<String, ResolvedBase>;

#[derive(Clone, Debug)]
pub struct Lowered {
    pub definition: llb::Definition,
    /// The target stage's config, for `containerimage.config`.
    pub image_config: ImageConfig,
}

/// Lowers the selected stages to one LLB definition whose result is the target stage.
pub fn lower(
    graph: &StageGraph,
    selection: &Selection,
    bases: &ResolvedBases,
    options: &Options,
) -> Result<Lowered, LowerError> {
    let selection = &prune_reused(graph, selection, |id| {
        options.reused_stages.contains_key(&id)
    });
    // BuildKit sends only the context paths COPY/ADD name (`local.followpaths`), known
    // only after every stage is dispatched; its context state is filled in late
    // (`llb.Async`). Here the stages read a placeholder context, replaced at marshal
    // time by the context with the follow paths.
    let lowering = Lowering::new(graph, selection, bases, options);
    let placeholder = lowering.context.clone();
    let finished = lowering.run(&selection.order)?;
    let follow_paths = follow_paths(&finished.context_paths);
    let context = context_source(options, follow_paths);
    Ok(Lowered {
        definition: llb::Definition::marshal_replacing(
            &finished.target.state,
            &[(placeholder, context)],
        ),
        image_config: finished.target.image,
    })
}

/// The build context as a local source that sends only `follow_paths` (all when empty).
fn context_source(options: &Options, follow_paths: Vec<String>) -> llb::State {
    llb::LocalSource {
        name: options.context.local_name.clone(),
        session_id: options.context.session_id.clone(),
        shared_key_hint: options.context.shared_key_hint.clone(),
        exclude_patterns: options.context.exclude_patterns.clone(),
        follow_paths,
        options: llb::OpOptions {
            custom_name: Some("[internal] load build context".into()),
            ..Default::default()
        },
        ..Default::default()
    }
    .state()
}

/// BuildKit's `normalizeContextPaths`: relative, sorted; none at all when `/` is needed.
fn follow_paths(paths: &BTreeSet<String>) -> Vec<String> {
    if paths.contains("/") {
        return Vec::new();
    }
    paths
        .iter()
        .map(|p| p.trim_start_matches('/').to_string())
        .collect()
}

struct Finished {
    target: StageState,
    context_paths: BTreeSet<String>,
}

/// The Dockerfile text with its line index, when the caller gave it.
struct Source {
    map: Arc<llb::SourceMap>,
    text: String,
    index: LineIndex,
}

struct Lowering<'a> {
    graph: &'a StageGraph,
    bases: &'a ResolvedBases,
    options: &'a Options,
    source: Option<Source>,
    context: llb::State,
    context_paths: BTreeSet<String>,
    stages: Vec<Option<StageState>>,
    /// Per stage, how many selected stages not lowered yet are built FROM it: only
    /// they need its whole state; COPY --from and mounts need its filesystem alone.
    heirs: Vec<usize>,
    target: StageId,
    /// BuildKit counts a state for each stage and each `--from`/mount source that is not
    /// a stage; with one state in all, vertex names carry no stage name.
    n_states: usize,
    /// Meta ARGs plus the automatic platform ARGs, by name.
    meta_args: Vec<(String, Option<String>)>,
    /// `pinned`'s results by resolved reference.
    pinned_references: RefCell<HashMap<String, String>>,
}

impl<'a> Lowering<'a> {
    fn new(
        graph: &'a StageGraph,
        selection: &Selection,
        bases: &'a ResolvedBases,
        options: &'a Options,
    ) -> Lowering<'a> {
        let source = options.dockerfile_source.as_ref().and_then(|map| {
            let text = String::from_utf8(map.data.clone()).ok()?;
            Some(Source {
                map: map.clone(),
                index: LineIndex::new(&text),
                text,
            })
        });
        // A placeholder: `lower` marshals the real context (with follow paths) in its place.
        let context = context_source(options, Vec::new());
        let n_states = graph.stages.len() + count_unregistered_sources(graph);
        let platform_id = options.platform.id();
        let mut meta_args: Vec<(String, Option<String>)> =
            crate::graph::platform_args(&platform_id, &platform_id)
                .into_iter()
                .filter(|(name, _)| PLATFORM_ARGS.contains(&name.as_str()))
                .map(|(name, value)| (name, Some(value)))
                .collect();
        for arg in &graph.meta_args {
            meta_args.retain(|(name, _)| *name != arg.name);
            meta_args.push((arg.name.clone(), arg.value.clone()));
        }
        let mut heirs = vec![0; graph.stages.len()];
        for &id in &selection.order {
            if let Base::Stage(base) = graph.stage(id).base {
                heirs[base.0] += 1;
            }
        }
        Lowering {
            graph,
            bases,
            options,
            source,
            context,
            context_paths: BTreeSet::new(),
            stages: vec![None; graph.stages.len()],
            heirs,
            target: selection.target,
            n_states,
            meta_args,
            pinned_references: RefCell::default(),
        }
    }

    /// Lowers the stages in `order` (the selection `new` was given).
    fn run(mut self, order: &[StageId]) -> Result<Finished, LowerError> {
        for &id in order {
            let state = self.lower_stage(id)?;
            // Freed as early as it can be: a large build keeps less in memory at once.
            let whole = self.heirs[id.0] > 0 || id == self.target;
            self.stages[id.0] = Some(if whole { state } else { state.filesystem() });
        }
        let target = self.stages[self.target.0]
            .take()
            .expect("the target is in the selection");
        Ok(Finished {
            target,
            context_paths: self.context_paths,
        })
    }

    fn lower_stage(&mut self, id: StageId) -> Result<StageState, LowerError> {
        if let Some(reused) = self.options.reused_stages.get(&id) {
            return Ok(self.lower_reused(id, reused));
        }
        let stage = self.graph.stage(id);
        // A stage based on another takes its platform (BuildKit ignores `--platform` there).
        let platform = match (&stage.base, &stage.platform) {
            (Base::Stage(base), _) => self.stages[base.0]
                .as_ref()
                .expect("a stage's base is lowered before it")
                .platform
                .clone(),
            (_, Some(value)) => {
                parse_platform(value).ok_or_else(|| LowerError::InvalidPlatform {
                    value: value.clone(),
                    span: stage.from_span,
                })?
            }
            (_, None) => self.options.platform.clone(),
        };
        let counted = |instruction: &Instruction| {
            matches!(
                instruction.command,
                Command::Add(_) | Command::Copy(_) | Command::Run(_) | Command::Workdir(_)
            )
        };
        let cmd_total = usize::from(matches!(stage.base, Base::Image { .. }))
            + stage
                .steps
                .iter()
                .filter(|s| counted(&s.instruction))
                .count();
        let prefix_name = if self.n_states == 1 {
            String::new()
        } else {
            stage.display_name()
        };
        // A stage FROM another continues its state; any other starts empty. Either way
        // its ARGs, CMD and vertex numbering are its own.
        let named_stage =
            (stage.name.as_deref()).filter(|name| self.options.named_contexts.contains_key(*name));
        let from_directory = match &stage.base {
            Base::Image { reference, span } => self
                .options
                .named_contexts
                .get(reference)
                .filter(|named| named.image().is_none())
                .map(|_| (reference, *span)),
            _ => None,
        };
        let inherited = match &stage.base {
            Base::Stage(base) => self.inherit(*base),
            // Its config is the image's, set below.
            Base::Image { .. } if named_stage.is_none() && from_directory.is_none() => {
                StageState::with_image(&platform, ImageConfig::default())
            }
            Base::Scratch | Base::Image { .. } => StageState::empty(&platform),
        };
        let mut st = StageState {
            args: Vec::new(),
            cmd_set: false,
            prefix_name,
            prefix_platform: self.options.prefix_platform,
            stage_index: stage.index,
            cmd_index: 0,
            cmd_total,
            werf_dockerfile: stage.werf_dockerfile.clone(),
            ..inherited
        };
        // `--build-context <stage name>=…` replaces the whole stage.
        if let Some(name) = named_stage {
            self.start_from_named_context(&mut st, name, stage.from_span, &platform)?;
            st.platform = platform;
            return Ok(st);
        }
        if let Some((name, span)) = from_directory {
            self.start_from_named_context(&mut st, name, span, &platform)?;
        } else if let Base::Image { reference, span } = &stage.base {
            let (base, _) = self.resolved(reference, *span)?;
            st.image = base.config.clone();
            if st.image.architecture.is_empty() || st.image.os.is_empty() {
                st.image.architecture = platform.architecture.clone();
                st.image.os = platform.os.clone();
                st.image.variant = platform.variant.clone();
            }
            // Images without layers start from scratch, as in BuildKit.
            if !base.config.has_no_layers() {
                let pinned = self.pinned(reference, *span)?;
                let name = st.prefix(&format!("FROM {pinned}"));
                let mut options = self.op_options(Some(name), stage.from_span);
                if let Some(source) = &self.source {
                    let from_text = source
                        .text
                        .get(stage.from_span.start..stage.from_span.end)
                        .unwrap_or_default();
                    options.description.push((
                        DESCRIPTION_COMMAND,
                        logical_line(from_text, self.graph.escape),
                    ));
                }
                st.state = llb::ImageSource {
                    reference: pinned,
                    platform: Some(platform.clone()),
                    options,
                    ..Default::default()
                }
                .state();
            }
        }
        st.platform = platform;

        if !st.image.config.env.iter().any(|e| env_key(e) == "PATH") {
            st.image.config.env.push(format!("PATH={DEFAULT_PATH}"));
        }
        st.set_envs(&st.image.config.env.clone());
        if !st.image.config.working_dir.is_empty() {
            let dir = normalize_workdir("", &st.image.config.working_dir);
            st.image.config.working_dir = dir.clone();
            st.dir = dir;
        }
        if !st.image.config.user.is_empty() {
            st.user = st.image.config.user.clone();
        }

        let triggers = std::mem::take(&mut st.image.config.on_build);
        for trigger in &triggers {
            self.lower_trigger(&mut st, trigger, stage.from_span)?;
        }

        for step in &stage.steps {
            let original = self.original_text(&step.instruction);
            self.lower_instruction(
                &mut st,
                &step.instruction,
                &step.dependencies,
                &original,
                step.instruction.span,
            )?;
        }
        if let Some(werf) = &stage.werf {
            self.lower_werf(&mut st, stage, werf)?;
        }
        Ok(st)
    }

    /// The state of `base` for a stage built FROM it: the last such stage takes it.
    fn inherit(&mut self, base: StageId) -> StageState {
        self.heirs[base.0] -= 1;
        let last = self.heirs[base.0] == 0 && base != self.target;
        let kept = self.stages[base.0]
            .as_mut()
            .expect("a stage's base is lowered before it");
        if last {
            let filesystem = kept.filesystem();
            std::mem::replace(kept, filesystem)
        } else {
            kept.clone()
        }
    }

    fn lower_instruction(
        &mut self,
        st: &mut StageState,
        instruction: &Instruction,
        dependencies: &[Dependency],
        original: &str,
        location: Span,
    ) -> Result<(), LowerError> {
        let at = At {
            original,
            location,
            span: instruction.span,
        };
        match &instruction.command {
            Command::Run(run) => self.lower_run(st, run, dependencies, &at),
            Command::Copy(copy) => {
                let from = dependencies.iter().find(|d| d.via == Via::CopyFrom);
                self.lower_copy(st, copy::CopyInput::copy(copy), from, &at)
            }
            Command::Add(add) => self.lower_copy(st, copy::CopyInput::add(add), None, &at),
            Command::Workdir(word) => self.lower_workdir(st, word, &at),
            other => self.lower_metadata(st, other, &at),
        }
    }

    /// Op options for an instruction: its vertex name and its source lines.
    fn op_options(&self, custom_name: Option<String>, span: Span) -> llb::OpOptions {
        llb::OpOptions {
            custom_name,
            location: self.location(span),
            ..Default::default()
        }
    }

    fn location(&self, span: Span) -> Option<llb::SourceLocation> {
        let source = self.source.as_ref()?;
        let start = source.index.line_col(&source.text, span.start).line as i32;
        let last = span.end.saturating_sub(1).max(span.start);
        let end = source.index.line_col(&source.text, last).line as i32;
        Some(llb::SourceLocation {
            source: source.map.clone(),
            ranges: vec![(start, 0, end, 0)],
        })
    }

    /// The instruction as BuildKit's `Original`: its logical line (continuations joined,
    /// comment lines dropped, heredoc bodies left out). Without the Dockerfile text, a
    /// rendering of the parsed instruction.
    fn original_text(&self, instruction: &Instruction) -> String {
        let Some(source) = &self.source else {
            return reconstructed_text(instruction);
        };
        let text = source
            .text
            .get(instruction.span.start..instruction.span.end)
            .unwrap_or_default();
        logical_line(text, self.graph.escape)
    }

    fn expand(&self, st: &StageState, text: &str, span: Span) -> Result<String, LowerError> {
        Lexer::new(self.graph.escape)
            .expand_value(text, |name| st.env_value(name))
            .map_err(|err| LowerError::Expand {
                message: err.to_string(),
                span,
            })
    }

    /// BuildKit's vertex-name expansion: on failure the text is shown as written.
    fn expand_for_name(&self, st: &StageState, text: &str) -> String {
        Lexer::new(self.graph.escape)
            .expand_value(text, |name| st.env_value(name))
            .unwrap_or_else(|_| text.to_string())
    }

    fn lower_workdir(
        &mut self,
        st: &mut StageState,
        word: &dockerfile::Word,
        at: &At<'_>,
    ) -> Result<(), LowerError> {
        let path = self.expand(st, &word.text, word.span)?;
        let dir = normalize_workdir(&st.image.config.working_dir, &path);
        st.image.config.working_dir = dir.clone();
        st.dir = dir.clone();
        let with_layer = dir != "/";
        if with_layer {
            let name = st.prefix(&uppercase_command(&self.expand_for_name(st, at.original)));
            let owner =
                (!st.image.config.user.is_empty()).then(|| chown_opt(&st.image.config.user));
            st.state = st.state.file(
                vec![llb::FileAction::MkDir(llb::MkDir {
                    path: dir.clone(),
                    mode: 0o755,
                    make_parents: true,
                    owner,
                    timestamp: None,
                })],
                self.op_options(Some(name), at.location),
            );
        }
        st.image.commit(format!("WORKDIR {dir}"), with_layer, false);
        Ok(())
    }
}

/// Where an instruction's text and location come from (a trigger uses its base's FROM).
struct At<'t> {
    original: &'t str,
    location: Span,
    span: Span,
}

fn env_key(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(k, _)| k)
}

/// BuildKit's `emptyImage`: what a `FROM scratch` stage starts with.
fn empty_image(platform: &llb::Platform) -> ImageConfig {
    let mut image = ImageConfig {
        architecture: platform.architecture.clone(),
        os: platform.os.clone(),
        variant: platform.variant.clone(),
        ..ImageConfig::default()
    };
    image.config.working_dir = "/".into();
    image.config.env = vec![format!("PATH={DEFAULT_PATH}")];
    image
}

#[cfg(test)]
mod tests;
