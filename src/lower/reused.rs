//! Stages taken from the stages storage: a stage whose signature is stored lowers to
//! its stored image (filesystem and config), never to its instructions, and stages
//! based on it or copying from it read that image. Stages only a reused stage needed
//! are not lowered at all.

use std::collections::BTreeMap;

use super::stage::StageState;
use super::{Lowering, ResolvedBase, pin_reference};
use crate::graph::{Selection, StageGraph, StageId};
use crate::llb;

/// A stage whose image is in the stages storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReusedStage {
    /// `<repo>:<signature hex>`, pinned to `image.digest` in the LLB.
    pub reference: String,
    /// The manifest digest as the daemon resolved it, and the image config with the
    /// storage's stage labels removed (`storage::labels::strip_from_config`).
    pub image: ResolvedBase,
    /// The stored image's ID: the digest of its config as stored, labels and all.
    pub image_id: String,
    /// The manifest digest the storage holds (empty in Docker Engine's image store).
    /// BuildKit on Docker Engine resolves a tag it has itself without a digest, so the
    /// CLI passes the registry's along.
    pub stored_digest: String,
}

/// Reused stages by id (`Options::reused_stages`).
pub type ReusedStages = BTreeMap<StageId, ReusedStage>;

/// The selection without the stages that only reused stages need: walking from the
/// target, a reused stage's own dependencies are not followed. The order stays the
/// selection's. Callers resolve base images for this selection only.
pub fn prune_reused(
    graph: &StageGraph,
    selection: &Selection,
    is_reused: impl Fn(StageId) -> bool,
) -> Selection {
    let mut needed = vec![false; graph.stages.len()];
    let mut pending = vec![selection.target];
    needed[selection.target.0] = true;
    while let Some(id) = pending.pop() {
        if is_reused(id) {
            continue;
        }
        for dependency in graph.stage_dependencies(id) {
            if !needed[dependency.0] {
                needed[dependency.0] = true;
                pending.push(dependency);
            }
        }
    }
    Selection {
        target: selection.target,
        order: selection
            .order
            .iter()
            .copied()
            .filter(|id| needed[id.0])
            .collect(),
    }
}

impl Lowering<'_> {
    /// The state of a reused stage: its stored image, with the environment, working
    /// dir and user its config sets (what a stage FROM it continues with). Its ONBUILD
    /// triggers stay recorded for stages built on it, as they would after a build.
    pub(super) fn lower_reused(&self, id: StageId, reused: &ReusedStage) -> StageState {
        let stage = self.graph.stage(id);
        let config = &reused.image.config;
        let platform = if config.os.is_empty() || config.architecture.is_empty() {
            self.options.platform.clone()
        } else {
            llb::Platform::new(&config.os, &config.architecture, &config.variant)
        };
        let mut st = StageState::empty(&platform);
        st.image = config.clone();
        st.stage_index = stage.index;
        st.prefix_name = if self.n_states == 1 {
            String::new()
        } else {
            stage.display_name()
        };
        if !config.has_no_layers() {
            let pinned = pin_reference(&reused.reference, &reused.image.digest);
            st.cmd_total = 1;
            let name = st.prefix(&format!("FROM {pinned} (stored stage)"));
            st.state = llb::ImageSource {
                reference: pinned,
                platform: Some(platform.clone()),
                options: self.op_options(Some(name), stage.from_span),
                ..Default::default()
            }
            .state();
        }
        st.set_envs(&config.config.env.clone());
        if !config.config.working_dir.is_empty() {
            st.dir = config.config.working_dir.clone();
        }
        st.user = config.config.user.clone();
        st
    }
}
