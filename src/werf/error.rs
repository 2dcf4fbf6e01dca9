//! werf.yaml errors: template errors (at the template line) and config errors (at the
//! key or value of the rendered config, mapped back to the file where the line is the
//! same in both).

use std::sync::Arc;

use crate::diag::{LineIndex, Located, Span};

use super::template::TemplateError;

/// A config error before it knows its text: a span in the rendered config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub span: Span,
    pub message: String,
}

impl ConfigError {
    pub(super) fn new(span: Span, message: impl Into<String>) -> ConfigError {
        ConfigError {
            span,
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WerfError {
    #[error("{0}")]
    Template(#[from] TemplateError),
    /// A YAML or config error; `rendered` is the text `span` points into.
    #[error("{message}")]
    Config {
        message: String,
        span: Span,
        rendered: Arc<str>,
    },
    /// `.Commit.*` used outside a git work tree, or git could not be run.
    #[error("{0}")]
    Commit(String),
}

impl WerfError {
    pub(super) fn config(error: ConfigError, rendered: &Arc<str>) -> WerfError {
        WerfError::Config {
            message: error.message,
            span: error.span,
            rendered: rendered.clone(),
        }
    }

    /// The error placed in the file the user wrote (`source` is its text).
    pub fn located(&self, file: &str, source: &str) -> Located {
        match self {
            WerfError::Template(error) => {
                let frames = error.located();
                let mut first = frames
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| Located::new(file, source, Span::default(), ""));
                if let Some(cause) = &error.cause {
                    first.message = format!("{}: {cause}", first.message);
                }
                first
            }
            WerfError::Config {
                message,
                span,
                rendered,
            } => match map_to_source(source, rendered, *span) {
                Some(in_source) => Located::new(file, source, in_source, message.clone()),
                None => Located::new(
                    &format!("{file} (rendered)"),
                    rendered,
                    *span,
                    message.clone(),
                ),
            },
            WerfError::Commit(message) => {
                Located::new(file, source, Span::default(), message.clone())
            }
        }
    }
}

/// The same place in the template source: templates rarely touch the line an error is
/// on, so when the rendered line occurs exactly once in the source, the error is shown
/// there; otherwise `None` and the rendered config is shown instead.
fn map_to_source(source: &str, rendered: &str, span: Span) -> Option<Span> {
    if source == rendered {
        return Some(span);
    }
    let index = LineIndex::new(rendered);
    let at = index.line_col(rendered, span.start);
    let line = index.line_text(rendered, at.line);
    let line_start = rendered[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let column = span.start - line_start;
    let mut found = None;
    let mut offset = 0;
    for source_line in source.split_inclusive('\n') {
        if source_line.trim_end_matches(['\n', '\r']) == line {
            if found.is_some() {
                return None;
            }
            found = Some(offset);
        }
        offset += source_line.len();
    }
    let start = found? + column;
    Some(Span::new(
        start,
        start + span.len().min(line.len().saturating_sub(column)),
    ))
}
