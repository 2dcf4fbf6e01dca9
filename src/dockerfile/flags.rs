//! Builder flags (`--name=value`, `--link`), checked against the flags each instruction
//! declares, as BuildKit's `instructions/bflag.go` does.

use super::error::{ParseError, suggest};
use super::instructions::{Keyword, Word};
use super::syntax::FlagWord;
use crate::diag::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FlagKind {
    /// `--link`, `--link=true`, `--link=false`.
    Bool,
    /// `--from=x`, at most once.
    Value,
    /// `--exclude=x`, any number of times.
    Values,
}

/// The flags an instruction accepts.
pub(crate) fn allowed(keyword: Keyword) -> &'static [(&'static str, FlagKind)] {
    use FlagKind::*;
    match keyword {
        Keyword::From => &[("platform", Value)],
        Keyword::Run => &[("mount", Values), ("network", Value), ("security", Value)],
        Keyword::Add => &[
            ("chown", Value),
            ("chmod", Value),
            ("link", Bool),
            ("keep-git-dir", Bool),
            ("checksum", Value),
            ("unpack", Bool),
            ("exclude", Values),
        ],
        Keyword::Copy => &[
            ("from", Value),
            ("chown", Value),
            ("chmod", Value),
            ("link", Bool),
            ("parents", Bool),
            ("exclude", Values),
        ],
        Keyword::Healthcheck => &[
            ("interval", Value),
            ("timeout", Value),
            ("start-period", Value),
            ("start-interval", Value),
            ("retries", Value),
        ],
        _ => &[],
    }
}

#[derive(Clone, Debug)]
enum Found {
    Bool(bool),
    Values(Vec<Word>),
}

/// The flags given to one instruction, already checked.
#[derive(Clone, Debug, Default)]
pub(crate) struct Flags {
    found: Vec<(&'static str, Found)>,
}

impl Flags {
    pub(crate) fn parse(keyword: Keyword, words: &[FlagWord]) -> Result<Flags, ParseError> {
        let specs = allowed(keyword);
        let mut flags = Flags::default();
        for word in words {
            let body = word.text.strip_prefix("--").unwrap_or(&word.text);
            let (name, value) = match body.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (body, None),
            };
            let Some(&(spec_name, kind)) = specs.iter().find(|(n, _)| *n == name) else {
                let names: Vec<&'static str> = specs.iter().map(|(n, _)| *n).collect();
                return Err(ParseError::UnknownFlag {
                    instruction: keyword.name(),
                    flag: name.to_string(),
                    suggestion: suggest(name, &names).map(|s| format!("--{s}")),
                    allowed: names,
                    span: word.span,
                });
            };
            let error = |message: String| ParseError::FlagValue {
                instruction: keyword.name(),
                flag: spec_name.to_string(),
                message,
                span: word.span,
            };
            let existing = flags.found.iter_mut().find(|(n, _)| *n == spec_name);
            if existing.is_some() && kind != FlagKind::Values {
                return Err(error("given more than once".to_string()));
            }
            match kind {
                FlagKind::Bool => {
                    let on = match value.map(str::to_ascii_lowercase).as_deref() {
                        None => true,
                        Some("true") => true,
                        Some("false") => false,
                        Some(other) => {
                            return Err(error(format!("expected true or false, got {other:?}")));
                        }
                    };
                    flags.found.push((spec_name, Found::Bool(on)));
                }
                FlagKind::Value | FlagKind::Values => {
                    let Some(value) = value else {
                        return Err(error(format!("needs a value (--{spec_name}=<value>)")));
                    };
                    let value = Word {
                        text: value.to_string(),
                        span: value_span(word, spec_name),
                    };
                    match existing {
                        Some((_, Found::Values(values))) => values.push(value),
                        _ => flags.found.push((spec_name, Found::Values(vec![value]))),
                    }
                }
            }
        }
        Ok(flags)
    }

    pub(crate) fn bool(&self, name: &str) -> Option<bool> {
        self.found.iter().find_map(|(n, found)| match found {
            Found::Bool(on) if *n == name => Some(*on),
            _ => None,
        })
    }

    pub(crate) fn values(&self, name: &str) -> Vec<Word> {
        self.found
            .iter()
            .find_map(|(n, found)| match found {
                Found::Values(values) if *n == name => Some(values.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    pub(crate) fn value(&self, name: &str) -> Option<Word> {
        self.values(name).into_iter().next()
    }
}

/// The span of the value part; exact when the word had no quotes or escapes, else the
/// whole flag word.
fn value_span(word: &FlagWord, name: &str) -> Span {
    let prefix = 2 + name.len() + 1;
    if word.raw == word.text && word.span.len() == word.raw.len() && prefix <= word.span.len() {
        Span::new(word.span.start + prefix, word.span.end)
    } else {
        word.span
    }
}
