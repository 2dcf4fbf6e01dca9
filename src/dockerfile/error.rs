//! The one error type of the parser. Every variant carries the span it is about; the
//! message says what was expected. Rendering to `file:line:col` is left to the caller
//! through [`ParseError::located`].

use crate::diag::{Located, Span};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("unknown instruction {name:?} (expected one of {}){}", crate::dockerfile::Keyword::ALL_NAMES.join(", "), did_you_mean(suggestion))]
    UnknownInstruction {
        name: String,
        suggestion: Option<String>,
        span: Span,
    },

    #[error(
        "unknown flag --{flag} for {instruction} ({}){}",
        allowed_flags(allowed),
        did_you_mean(suggestion)
    )]
    UnknownFlag {
        instruction: &'static str,
        flag: String,
        allowed: Vec<&'static str>,
        suggestion: Option<String>,
        span: Span,
    },

    /// A known flag with a bad value, a missing value, or given twice.
    #[error("{instruction} --{flag}: {message}")]
    FlagValue {
        instruction: &'static str,
        flag: String,
        message: String,
        span: Span,
    },

    #[error("invalid --mount: {message}")]
    Mount { message: String, span: Span },

    #[error("unterminated heredoc: missing {name:?} line")]
    UnterminatedHeredoc { name: String, span: Span },

    #[error("{instruction} before the first FROM (only ARG may come before FROM)")]
    BeforeFirstFrom { instruction: String, span: Span },

    /// Wrong number or shape of arguments: "FROM requires exactly one argument…".
    #[error("{instruction} requires {expected}")]
    Arguments {
        instruction: &'static str,
        expected: String,
        span: Span,
    },

    /// Any other rule an instruction's arguments break (stage names, HEALTHCHECK types,
    /// ONBUILD triggers, SHELL form, JSON arrays with non-strings…).
    #[error("{instruction}: {message}")]
    Invalid {
        instruction: &'static str,
        message: String,
        span: Span,
    },

    #[error("invalid parser directive: {message}")]
    Directive { message: String, span: Span },

    #[error("file with no instructions (expected at least FROM)")]
    Empty { span: Span },

    #[error("no FROM instruction: a Dockerfile needs at least one stage")]
    NoStages { span: Span },
}

impl ParseError {
    pub fn span(&self) -> Span {
        match self {
            ParseError::UnknownInstruction { span, .. }
            | ParseError::UnknownFlag { span, .. }
            | ParseError::FlagValue { span, .. }
            | ParseError::Mount { span, .. }
            | ParseError::UnterminatedHeredoc { span, .. }
            | ParseError::BeforeFirstFrom { span, .. }
            | ParseError::Arguments { span, .. }
            | ParseError::Invalid { span, .. }
            | ParseError::Directive { span, .. }
            | ParseError::Empty { span }
            | ParseError::NoStages { span } => *span,
        }
    }

    /// The error placed in its source text, ready to print as `file:line:col: message`.
    pub fn located(&self, file: &str, text: &str) -> Located {
        Located::new(file, text, self.span(), self.to_string())
    }
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!("; did you mean {s}?"),
        None => String::new(),
    }
}

fn allowed_flags(allowed: &[&str]) -> String {
    if allowed.is_empty() {
        "it takes no flags".to_string()
    } else {
        let flags: Vec<String> = allowed.iter().map(|f| format!("--{f}")).collect();
        format!("allowed: {}", flags.join(", "))
    }
}

/// The candidate closest to `word` (case-insensitive), if it is close enough to be a
/// typo: one edit for names of up to four letters, two for longer ones; swapping two
/// neighbours counts as one edit (`FORM` → `FROM`).
pub(crate) fn suggest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let word = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&word, &c.to_ascii_lowercase()), *c))
        .filter(|&(distance, c)| distance > 0 && distance <= if c.len() <= 4 { 1 } else { 2 })
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and
/// transpositions of neighbours.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["from", "copy", "run"];
        assert_eq!(suggest("form", &names), Some("from"));
        assert_eq!(suggest("COPPY", &names), Some("copy"));
        assert_eq!(suggest("xyz", &names), None);
        assert_eq!(suggest("foo", &names), None);
        assert_eq!(suggest("chmode", &["chown", "chmod"]), Some("chmod"));
        assert_eq!(suggest("run", &names), None);
    }
}
