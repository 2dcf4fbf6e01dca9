//! Where a filesystem comes from: a base image (after `--build-context`
//! substitution), a named context's directory, repository or download, or another
//! stage — for FROM, `COPY --from` and `RUN --mount=from`.

use crate::diag::Span;
use crate::graph::Base;
use crate::llb;

use super::stage::StageState;
use super::{LowerError, Lowering, NamedContext, ResolvedBase, pin_reference};

impl<'a> Lowering<'a> {
    /// A stage's filesystem and config from a named context: an image's (registry or
    /// OCI layout) config, or none (only the platform) for a directory, a git
    /// repository or a download.
    pub(super) fn start_from_named_context(
        &self,
        st: &mut StageState,
        name: &str,
        span: Span,
        platform: &llb::Platform,
    ) -> Result<(), LowerError> {
        st.state = self.image_state(name, span, platform)?;
        let has_config = self
            .options
            .named_contexts
            .get(name)
            .is_some_and(|named| named.config_reference().is_some());
        if has_config {
            st.image = self.resolved(name, span)?.0.config.clone();
        } else {
            st.image.architecture = platform.architecture.clone();
            st.image.os = platform.os.clone();
            st.image.variant = platform.variant.clone();
        }
        Ok(())
    }

    /// The resolved base for an image reference (after `--build-context` substitution).
    pub(super) fn resolved(
        &self,
        reference: &str,
        span: Span,
    ) -> Result<(&'a ResolvedBase, String), LowerError> {
        let reference = self
            .options
            .named_contexts
            .get(reference)
            .and_then(NamedContext::config_reference)
            .unwrap_or(reference);
        self.bases
            .get(reference)
            .map(|base| (base, reference.to_string()))
            .ok_or_else(|| LowerError::MissingBase {
                reference: reference.to_string(),
                suggestion: self.graph.suggest_stage(reference),
                span,
            })
    }

    /// The resolved reference pinned to its digest; worked out once per reference, as
    /// many stages of a build share a base.
    pub(super) fn pinned(&self, reference: &str, span: Span) -> Result<String, LowerError> {
        let (base, reference) = self.resolved(reference, span)?;
        let mut pinned = self.pinned_references.borrow_mut();
        Ok(pinned
            .entry(reference)
            .or_insert_with_key(|reference| pin_reference(reference, &base.digest))
            .clone())
    }

    /// The filesystem of an image read by `COPY --from` or a mount: its own source op,
    /// named `FROM <ref>` without a stage prefix, as BuildKit's implicit stages are.
    pub(super) fn image_state(
        &self,
        reference: &str,
        span: Span,
        platform: &llb::Platform,
    ) -> Result<llb::State, LowerError> {
        if let Some(state) = self
            .options
            .named_contexts
            .get(reference)
            .and_then(|named| {
                named.source_state(reference, &self.options.context.session_id, platform)
            })
        {
            return Ok(state);
        }
        let (base, _) = self.resolved(reference, span)?;
        if base.config.has_no_layers() {
            return Ok(llb::State::scratch());
        }
        let pinned = self.pinned(reference, span)?;
        Ok(llb::ImageSource {
            reference: pinned.clone(),
            platform: Some(platform.clone()),
            options: llb::OpOptions {
                custom_name: Some(format!("FROM {pinned}")),
                ..Default::default()
            },
            ..Default::default()
        }
        .state())
    }

    /// The filesystem a `--from` names.
    pub(super) fn dependency_state(
        &self,
        on: &Base,
        span: Span,
        platform: &llb::Platform,
    ) -> Result<llb::State, LowerError> {
        match on {
            Base::Stage(id) => Ok(self.stages[id.0]
                .as_ref()
                .expect("dependencies are lowered first")
                .state
                .clone()),
            Base::Scratch => Ok(llb::State::scratch()),
            Base::Image { reference, .. } => self.image_state(reference, span, platform),
        }
    }
}
