//! The graph's one error type: every variant carries the span it is about.

use crate::diag::{Located, Span};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// A `$VAR` in FROM or `--platform` that could not be expanded.
    #[error("{message}")]
    Expand { message: String, span: Span },

    #[error("base name ({written}) should not be blank")]
    BlankBase { written: String, span: Span },

    /// `--from` / `from=` naming a stage that comes later, or the stage itself.
    #[error("{what} refers to stage {name:?}, which is not defined before stage {current:?}")]
    ForwardReference {
        what: &'static str,
        name: String,
        current: String,
        span: Span,
    },

    #[error("invalid stage index {index} (the Dockerfile has {n_stages} stages)")]
    InvalidStageIndex {
        index: String,
        n_stages: usize,
        span: Span,
    },

    #[error("circular dependency detected on stage: {stage}")]
    Cycle { stage: String, span: Span },

    #[error(
        "target stage {target:?} could not be found{}",
        did_you_mean(suggestion)
    )]
    UnknownTarget {
        target: String,
        suggestion: Option<String>,
        span: Span,
    },

    #[error("image {image:?} has no stage {stage:?} to import from")]
    WerfImportStage {
        image: String,
        stage: String,
        span: Span,
    },

    #[error("images depend on each other in a loop: {chain}")]
    WerfCycle { chain: String, span: Span },

    /// The Dockerfile of a werf Dockerfile image is missing or wrong; `message` is
    /// located in the Dockerfile, `span` is the `dockerfile:` value.
    #[error("{message}")]
    WerfDockerfile { message: String, span: Span },
}

impl GraphError {
    pub fn span(&self) -> Span {
        match self {
            GraphError::Expand { span, .. }
            | GraphError::BlankBase { span, .. }
            | GraphError::ForwardReference { span, .. }
            | GraphError::InvalidStageIndex { span, .. }
            | GraphError::Cycle { span, .. }
            | GraphError::UnknownTarget { span, .. }
            | GraphError::WerfImportStage { span, .. }
            | GraphError::WerfCycle { span, .. }
            | GraphError::WerfDockerfile { span, .. } => *span,
        }
    }

    /// The error placed in its source text, ready to print as `file:line:col: message`.
    pub fn located(&self, file: &str, text: &str) -> Located {
        Located::new(file, text, self.span(), self.to_string())
    }
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!("; did you mean {s:?}?"),
        None => String::new(),
    }
}

/// The candidate closest to `word` if it is close enough to be a typo: at most one edit
/// for names of up to four characters, two for longer ones.
pub(crate) fn suggest(word: &str, candidates: &[&str]) -> Option<String> {
    let word = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (levenshtein(&word, &c.to_ascii_lowercase()), *c))
        .filter(|&(distance, c)| distance > 0 && distance <= if c.len() <= 4 { 1 } else { 2 })
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, c)| c.to_string())
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            current[j + 1] = (previous[j] + cost)
                .min(previous[j + 1] + 1)
                .min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levenshtein_counts_edits() {
        assert_eq!(levenshtein("build", "biuld"), 2);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("final", "final"), 0);
        assert_eq!(suggest("biuld", &["build", "final"]), Some("build".into()));
        assert_eq!(suggest("xyz", &["build", "final"]), None);
    }
}
