//! Template errors: where (file, span), what, and the include/tpl error that caused
//! it, so the message reads like a call stack from the outermost action inwards.

use std::fmt;
use std::sync::Arc;

use crate::diag::{LineCol, LineIndex, Located, Span};

#[derive(Clone, Debug)]
pub struct TemplateError {
    /// The file as the user knows it, e.g. `werf.yaml` or `.werf/partials/a.tmpl`.
    pub file: String,
    pub span: Span,
    /// The template being executed; `None` for a parse error.
    pub executing: Option<String>,
    pub message: String,
    /// The error inside an `include` or `tpl` call that this one reports.
    pub cause: Option<Box<TemplateError>>,
    text: Arc<str>,
}

impl TemplateError {
    pub(crate) fn new(
        file: &str,
        text: &Arc<str>,
        span: Span,
        executing: Option<&str>,
        message: impl Into<String>,
    ) -> TemplateError {
        TemplateError {
            file: file.to_string(),
            span,
            executing: executing.map(str::to_string),
            message: message.into(),
            cause: None,
            text: text.clone(),
        }
    }

    pub fn at(&self) -> LineCol {
        LineIndex::new(&self.text).line_col(&self.text, self.span.start)
    }

    /// The innermost error: the one a user has to fix.
    pub fn innermost(&self) -> &TemplateError {
        let mut error = self;
        while let Some(cause) = &error.cause {
            error = cause;
        }
        error
    }

    /// One `file:line:col` excerpt per frame, outermost (the user's file) first.
    pub fn located(&self) -> Vec<Located> {
        let mut frames = Vec::new();
        let mut error = Some(self);
        while let Some(frame) = error {
            let message = match &frame.executing {
                Some(name) => format!("executing {name:?}: {}", frame.message),
                None => frame.message.clone(),
            };
            frames.push(Located::new(&frame.file, &frame.text, frame.span, message));
            error = frame.cause.as_deref();
        }
        frames
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.at())?;
        if let Some(name) = &self.executing {
            write!(f, "executing {name:?}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(cause) = &self.cause {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl std::error::Error for TemplateError {}
