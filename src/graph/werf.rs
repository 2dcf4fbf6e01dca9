//! werf stapel images as graph stages: each image or artifact expands to werf's fixed
//! stage conveyor; every stage that exists and is not empty becomes one graph [`Stage`]
//! based on the one before it, so signatures chain as werf's digests do. The stage's
//! body stays werf's own ([`WerfStage`]); `lower` knows how to build it.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::diag::Span;
use crate::dockerfile;
use crate::werf::{DockerfileImage, FromBase, Image, ImportPoint, UserStage, WerfConfig};

use super::{Base, BuildArgs, GraphError, MetaArg, Stage, StageGraph, StageId};

/// One stage of werf's conveyor, in conveyor order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum WerfStageKind {
    From,
    User(UserStage),
    Dependencies(ImportPoint),
    GitArchive,
    GitCache,
    GitLatestPatch,
    DockerInstructions,
    ImageSpec,
    /// A Dockerfile image: its target stage (the stages it needs come before it).
    Dockerfile,
}

impl WerfStageKind {
    /// werf's stage name, as in its logs (`app/install`).
    pub fn name(self) -> &'static str {
        match self {
            WerfStageKind::From => "from",
            WerfStageKind::User(stage) => stage.name(),
            WerfStageKind::Dependencies(ImportPoint::BeforeInstall) => "dependenciesBeforeInstall",
            WerfStageKind::Dependencies(ImportPoint::AfterInstall) => "dependenciesAfterInstall",
            WerfStageKind::Dependencies(ImportPoint::BeforeSetup) => "dependenciesBeforeSetup",
            WerfStageKind::Dependencies(ImportPoint::AfterSetup) => "dependenciesAfterSetup",
            WerfStageKind::GitArchive => "gitArchive",
            WerfStageKind::GitCache => "gitCache",
            WerfStageKind::GitLatestPatch => "gitLatestPatch",
            WerfStageKind::DockerInstructions => "dockerInstructions",
            WerfStageKind::ImageSpec => "imageSpec",
            WerfStageKind::Dockerfile => "dockerfile",
        }
    }

    /// The conveyor in werf's order.
    const ORDER: [WerfStageKind; 14] = [
        WerfStageKind::From,
        WerfStageKind::User(UserStage::BeforeInstall),
        WerfStageKind::Dependencies(ImportPoint::BeforeInstall),
        WerfStageKind::GitArchive,
        WerfStageKind::User(UserStage::Install),
        WerfStageKind::Dependencies(ImportPoint::AfterInstall),
        WerfStageKind::User(UserStage::BeforeSetup),
        WerfStageKind::Dependencies(ImportPoint::BeforeSetup),
        WerfStageKind::User(UserStage::Setup),
        WerfStageKind::Dependencies(ImportPoint::AfterSetup),
        WerfStageKind::GitCache,
        WerfStageKind::GitLatestPatch,
        WerfStageKind::DockerInstructions,
        WerfStageKind::ImageSpec,
    ];
}

/// The body of a graph stage made from a werf stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WerfStage {
    /// The image or artifact this stage belongs to.
    pub image: Arc<Image>,
    pub kind: WerfStageKind,
    /// The image's `cacheVersion`, else the config's `build.cacheVersion`.
    pub cache_version: Option<String>,
    /// For a dependencies stage: each import landing here (index into the image's
    /// imports) and the stage whose filesystem it reads.
    pub imports: Vec<(usize, StageId)>,
    /// For a dependencies stage: each dependency landing here (index into the image's
    /// dependencies) and the dependency image's last stage.
    pub dependencies: Vec<(usize, StageId)>,
}

/// One image's conveyor as planned: every stage the config creates, built or skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WerfImagePlan {
    pub name: String,
    pub is_artifact: bool,
    pub stages: Vec<WerfPlannedStage>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WerfPlannedStage {
    pub kind: WerfStageKind,
    /// The graph stage, or why the stage is empty and skipped.
    pub built: Result<StageId, &'static str>,
}

impl WerfImagePlan {
    /// The image's last non-empty stage: what `fromImage`, imports and `--target` use.
    pub fn last_stage(&self) -> StageId {
        self.stages
            .iter()
            .rev()
            .find_map(|s| s.built.ok())
            .expect("the from stage is never skipped")
    }
}

/// Why conveyor's gitCache is always empty: werf's accumulates the patch between the
/// archived commit and HEAD; conveyor copies git content from the build context, so
/// no patch accumulates (gitLatestPatch re-copies the mapped files instead).
const GIT_CACHE_EMPTY: &str = "empty: git content is copied from the context, no patch accumulates";

/// The stages werf creates for an image (absent ones never are), in conveyor order.
fn conveyor(image: &Image) -> Vec<WerfStageKind> {
    let stapel = &image.stapel;
    let late_git = !image.is_artifact && !stapel.disable_git_after_patch;
    WerfStageKind::ORDER
        .into_iter()
        .filter(|kind| match kind {
            WerfStageKind::From => true,
            WerfStageKind::User(stage) => stapel.shell.has_stage(*stage),
            WerfStageKind::Dependencies(point) => {
                stapel.imports.iter().any(|i| i.point == *point)
                    || stapel.dependencies.iter().any(|d| d.point == *point)
            }
            WerfStageKind::GitArchive => !stapel.git.is_empty(),
            WerfStageKind::GitCache | WerfStageKind::GitLatestPatch => {
                late_git && !stapel.git.is_empty()
            }
            // werf drops the docker stage with the late git stages.
            WerfStageKind::DockerInstructions => late_git && stapel.docker.is_some(),
            WerfStageKind::ImageSpec => stapel.image_spec.is_some(),
            WerfStageKind::Dockerfile => false,
        })
        .collect()
}

/// The stage graph of a werf config: Dockerfile images first (they need nothing of the
/// config), then stapel images in dependency order (bases, imported images and
/// dependencies first),
/// each image's stages chained. `build_args` are the platform ARGs (see
/// [`super::platform_args`]) Dockerfile images are expanded with.
pub fn from_werf(config: &WerfConfig, build_args: &BuildArgs) -> Result<StageGraph, GraphError> {
    let order = image_order(config)?;
    let mut stages: Vec<Stage> = Vec::new();
    let mut plans: BTreeMap<&str, WerfImagePlan> = BTreeMap::new();
    let mut meta_args: Vec<MetaArg> = Vec::new();
    let mut escape = '\\';
    for image in &config.dockerfile_images {
        let target = add_dockerfile(image, build_args, &mut stages, &mut meta_args, &mut escape)?;
        plans.insert(
            &image.name,
            WerfImagePlan {
                name: image.name.clone(),
                is_artifact: false,
                stages: vec![WerfPlannedStage {
                    kind: WerfStageKind::Dockerfile,
                    built: Ok(target),
                }],
            },
        );
    }
    for index in order {
        let image = Arc::new(config.images[index].clone());
        let mut planned = Vec::new();
        let mut previous: Option<StageId> = None;
        for kind in conveyor(&image) {
            if kind == WerfStageKind::GitCache {
                planned.push(WerfPlannedStage {
                    kind,
                    built: Err(GIT_CACHE_EMPTY),
                });
                continue;
            }
            let base = match previous {
                Some(id) => Base::Stage(id),
                None => match &image.stapel.from {
                    FromBase::Image(reference) if reference.value == "scratch" => Base::Scratch,
                    FromBase::Image(reference) => Base::Image {
                        reference: reference.value.clone(),
                        span: reference.span,
                    },
                    FromBase::Config(name) => Base::Stage(plans[name.value.as_str()].last_stage()),
                },
            };
            let (mut imports, mut dependencies) = (Vec::new(), Vec::new());
            if let WerfStageKind::Dependencies(point) = kind {
                for (i, import) in image.stapel.imports.iter().enumerate() {
                    if import.point != point {
                        continue;
                    }
                    let source = &plans[import.source.value.as_str()];
                    let from = match &import.stage {
                        None => source.last_stage(),
                        Some(stage) => source
                            .stages
                            .iter()
                            .find(|s| s.kind.name() == stage.value)
                            .and_then(|s| s.built.ok())
                            .ok_or_else(|| GraphError::WerfImportStage {
                                image: source.name.clone(),
                                stage: stage.value.clone(),
                                span: stage.span,
                            })?,
                    };
                    imports.push((i, from));
                }
                for (i, dependency) in image.stapel.dependencies.iter().enumerate() {
                    if dependency.point == point {
                        let on = plans[dependency.image.value.as_str()].last_stage();
                        dependencies.push((i, on));
                    }
                }
            }
            let id = StageId(stages.len());
            let span = image.span;
            // The platform is the from stage's; later stages inherit it from their base.
            let platform = (kind == WerfStageKind::From)
                .then(|| image.stapel.platform.clone().or(config.platform.clone()))
                .flatten();
            stages.push(Stage {
                name: Some(format!("{}/{}", image.name, kind.name())),
                index: id.0,
                base,
                platform,
                steps: Vec::new(),
                span,
                from_span: span,
                source: None,
                werf_dockerfile: None,
                werf: Some(WerfStage {
                    image: image.clone(),
                    kind,
                    cache_version: image
                        .stapel
                        .cache_version
                        .clone()
                        .or_else(|| config.cache_version.clone()),
                    imports,
                    dependencies,
                }),
            });
            planned.push(WerfPlannedStage {
                kind,
                built: Ok(id),
            });
            previous = Some(id);
        }
        plans.insert(
            &config.images[index].name,
            WerfImagePlan {
                name: image.name.clone(),
                is_artifact: image.is_artifact,
                stages: planned,
            },
        );
    }
    let werf_images = config
        .dockerfile_images
        .iter()
        .map(|image| image.name.as_str())
        .chain(config.images.iter().map(|image| image.name.as_str()))
        .map(|name| plans.remove(name).expect("every image is planned"))
        .collect();
    Ok(StageGraph {
        stages,
        meta_args,
        escape,
        werf_images,
    })
}

/// Parses a Dockerfile image's Dockerfile into stages appended to `stages` (names
/// `<image>/<stage>`, references shifted), returning its target stage.
fn add_dockerfile(
    image: &DockerfileImage,
    build_args: &BuildArgs,
    stages: &mut Vec<Stage>,
    meta_args: &mut Vec<MetaArg>,
    escape: &mut char,
) -> Result<StageId, GraphError> {
    let path = &image.dockerfile.value;
    let wrong = |message: String| GraphError::WerfDockerfile {
        message,
        span: image.dockerfile.span,
    };
    let Some(text) = &image.text else {
        return Err(wrong(format!(
            "cannot read the Dockerfile {path:?} of image {:?}: no such file",
            image.name
        )));
    };
    let text: Arc<str> = Arc::from(text.as_str());
    let parsed = dockerfile::parse(&text).map_err(|e| wrong(e.located(path, &text).to_string()))?;
    let mut build_args = build_args.clone();
    build_args.extend(image.args.clone());
    let graph = super::from_dockerfile(&parsed, &build_args)
        .map_err(|e| wrong(e.located(path, &text).to_string()))?;
    let selection = graph
        .select(image.target.as_ref().map(|t| t.value.as_str()))
        .map_err(|e| GraphError::WerfDockerfile {
            message: e.to_string(),
            span: image
                .target
                .as_ref()
                .map_or(image.dockerfile.span, |t| t.span),
        })?;
    let offset = stages.len();
    let settings = Arc::new(image.clone());
    let shift = |base: &Base| match base {
        Base::Stage(id) => Base::Stage(StageId(id.0 + offset)),
        other => other.clone(),
    };
    for stage in &graph.stages {
        let mut steps = stage.steps.clone();
        for step in &mut steps {
            for dependency in &mut step.dependencies {
                dependency.on = shift(&dependency.on);
            }
        }
        stages.push(Stage {
            name: Some(format!("{}/{}", image.name, stage.display_name())),
            index: offset + stage.index,
            base: shift(&stage.base),
            platform: stage.platform.clone(),
            steps,
            span: stage.span,
            from_span: stage.from_span,
            werf: None,
            source: Some(text.clone()),
            werf_dockerfile: Some(settings.clone()),
        });
    }
    for arg in graph.meta_args {
        meta_args.retain(|m| m.name != arg.name);
        meta_args.push(arg);
    }
    *escape = graph.escape;
    Ok(StageId(offset + selection.target.0))
}

/// Images ordered so that every image comes after those it is based on or imports
/// from; a cycle is an error naming the chain.
fn image_order(config: &WerfConfig) -> Result<Vec<usize>, GraphError> {
    let index_of = |name: &str| config.images.iter().position(|i| i.name == name);
    let needs = |image: &Image| -> Vec<(usize, Span)> {
        let mut out = Vec::new();
        if let FromBase::Config(base) = &image.stapel.from
            && let Some(i) = index_of(&base.value)
        {
            out.push((i, base.span));
        }
        for import in &image.stapel.imports {
            if let Some(i) = index_of(&import.source.value) {
                out.push((i, import.source.span));
            }
        }
        for dependency in &image.stapel.dependencies {
            if let Some(i) = index_of(&dependency.image.value) {
                out.push((i, dependency.image.span));
            }
        }
        out
    };
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        at: usize,
        config: &WerfConfig,
        needs: &dyn Fn(&Image) -> Vec<(usize, Span)>,
        marks: &mut [Mark],
        path: &mut Vec<usize>,
        order: &mut Vec<usize>,
    ) -> Result<(), GraphError> {
        marks[at] = Mark::Open;
        path.push(at);
        for (next, span) in needs(&config.images[at]) {
            match marks[next] {
                Mark::Open => {
                    let start = path.iter().position(|&p| p == next).unwrap_or(0);
                    let mut chain: Vec<&str> = path[start..]
                        .iter()
                        .map(|&i| config.images[i].name.as_str())
                        .collect();
                    chain.push(&config.images[next].name);
                    return Err(GraphError::WerfCycle {
                        chain: chain.join(" -> "),
                        span,
                    });
                }
                Mark::New => visit(next, config, needs, marks, path, order)?,
                Mark::Done => {}
            }
        }
        path.pop();
        marks[at] = Mark::Done;
        order.push(at);
        Ok(())
    }
    let mut marks = vec![Mark::New; config.images.len()];
    let mut order = Vec::new();
    for start in 0..config.images.len() {
        if marks[start] == Mark::New {
            visit(
                start,
                config,
                &needs,
                &mut marks,
                &mut Vec::new(),
                &mut order,
            )?;
        }
    }
    Ok(order)
}
