//! The lowering's one error type; every variant carries the span it is about.

use crate::diag::{Located, Span};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LowerError {
    /// An image the graph needs that the caller did not resolve.
    #[error(
        "base image {reference:?} was not resolved (missing from the resolved bases){}",
        match suggestion {
            Some(stage) => format!("; did you mean stage {stage:?}?"),
            None => String::new(),
        }
    )]
    MissingBase {
        reference: String,
        /// A stage whose name is close to the reference (a typo in `--from`).
        suggestion: Option<String>,
        span: Span,
    },

    /// A `$VAR` that could not be expanded (unclosed quote, `${X:?unset}`).
    #[error("{message}")]
    Expand { message: String, span: Span },

    /// An empty value usually means `$BUILDPLATFORM`/`$TARGETPLATFORM` were not defined:
    /// the caller passes `graph::platform_args` among the build args.
    #[error("invalid platform {value:?}: expected os/arch[/variant]")]
    InvalidPlatform { value: String, span: Span },

    #[error("invalid --chmod={value:?}: expected an octal mode such as 0755")]
    InvalidChmod { value: String, span: Span },

    #[error("{instruction}: {message}")]
    Invalid {
        instruction: &'static str,
        message: String,
        span: Span,
    },

    #[error("invalid --mount: {message}")]
    Mount { message: String, span: Span },

    /// An ONBUILD trigger of a base image that does not parse or names an unknown source.
    #[error("ONBUILD trigger {trigger:?}: {message}")]
    Onbuild {
        trigger: String,
        message: String,
        span: Span,
    },

    /// A werf setting the build cannot use (e.g. a `docker.HEALTHCHECK` that does not
    /// parse as the Dockerfile instruction).
    #[error("{message}")]
    Werf { message: String, span: Span },
}

impl LowerError {
    pub fn span(&self) -> Span {
        match self {
            LowerError::MissingBase { span, .. }
            | LowerError::Expand { span, .. }
            | LowerError::InvalidPlatform { span, .. }
            | LowerError::InvalidChmod { span, .. }
            | LowerError::Invalid { span, .. }
            | LowerError::Werf { span, .. }
            | LowerError::Mount { span, .. }
            | LowerError::Onbuild { span, .. } => *span,
        }
    }

    /// The error placed in its source text, ready to print as `file:line:col: message`.
    pub fn located(&self, file: &str, text: &str) -> Located {
        Located::new(file, text, self.span(), self.to_string())
    }
}
