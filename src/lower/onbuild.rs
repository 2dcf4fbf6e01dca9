//! ONBUILD triggers of a base image (or base stage), run at the start of the stage built
//! FROM it, as BuildKit's `dispatchOnBuildTriggers`: each trigger is parsed as a
//! Dockerfile line and lowered like an instruction of the stage, named and located at
//! the stage's FROM.

use crate::diag::Span;
use crate::dockerfile::{self, Command};
use crate::graph::{Base, Dependency, StageId, Via};

use super::{LowerError, Lowering, StageState};

impl Lowering<'_> {
    pub(super) fn lower_trigger(
        &mut self,
        st: &mut StageState,
        trigger: &str,
        from_span: Span,
    ) -> Result<(), LowerError> {
        let onbuild_error = |message: String| LowerError::Onbuild {
            trigger: trigger.to_string(),
            message,
            span: from_span,
        };
        let text = format!("FROM scratch\n{trigger}\n");
        let parsed = dockerfile::parse(&text).map_err(|err| onbuild_error(err.to_string()))?;
        let instructions = &parsed.stages[0].instructions;
        if instructions.len() != 1 {
            return Err(onbuild_error(
                "onbuild trigger should be a single expression".into(),
            ));
        }
        let instruction = &instructions[0];
        let mut dependencies = Vec::new();
        let mut add = |value: &str, via: Via| -> Result<(), LowerError> {
            let on = self.trigger_source(value, from_span)?;
            dependencies.push(Dependency {
                on,
                via,
                span: from_span,
            });
            Ok(())
        };
        match &instruction.command {
            Command::Copy(copy) => {
                if let Some(from) = &copy.from {
                    add(&from.text, Via::CopyFrom)?;
                }
            }
            Command::Run(run) => {
                for (index, mount) in run.mounts.iter().enumerate() {
                    if let Some(from) = &mount.from {
                        add(from, Via::Mount(index))?;
                    }
                }
            }
            _ => {}
        }
        self.lower_instruction(st, instruction, &dependencies, trigger, from_span)
    }

    /// A `--from` inside an ONBUILD trigger: a stage already lowered, or an image.
    pub(super) fn trigger_source(&self, value: &str, span: Span) -> Result<Base, LowerError> {
        let lower = value.to_ascii_lowercase();
        let found = match value.parse::<usize>() {
            Ok(index) => Some(index),
            Err(_) => self
                .graph
                .stages
                .iter()
                .position(|s| s.name.as_deref() == Some(lower.as_str())),
        };
        match found {
            Some(index) if self.stages.get(index).is_some_and(Option::is_some) => {
                Ok(Base::Stage(StageId(index)))
            }
            Some(_) => Err(LowerError::Onbuild {
                trigger: value.to_string(),
                message: format!("stage {value:?} is not built before this stage"),
                span,
            }),
            None if value == "scratch" => Ok(Base::Scratch),
            None => Ok(Base::Image {
                reference: value.to_string(),
                span,
            }),
        }
    }
}
