//! Dockerfile parsing, in BuildKit's three passes: `syntax` (directives, continuation
//! lines, comments, heredocs, flags split off), `parse` into the typed `instructions`,
//! and `shell` for word expansion, which later passes call with the variables in scope.
//! Pure code: no I/O, no LLB.
//!
//! Where we are stricter than BuildKit, on purpose (each is an error here, accepted there):
//! flags on STOPSIGNAL and HEALTHCHECK NONE (BuildKit ignores them); an ONBUILD trigger
//! that would not parse (BuildKit finds out in the child build); `$VAR` in the `type`,
//! `sharing`, `ro`/`rw` and `required` keys of `--mount` (BuildKit expands them); an empty
//! `RUN`. Not supported: `RUN --device` (labs syntax only) and Windows-specific rules.
//!
//! ```
//! let dockerfile = conveyor::dockerfile::parse("FROM alpine AS base\nRUN echo hi\n").unwrap();
//! assert_eq!(dockerfile.stages[0].name.as_deref(), Some("base"));
//! ```

mod dump;
mod error;
mod flags;
mod healthcheck;
mod instructions;
mod mount;
mod parse;
mod pattern;
pub mod shell;
mod syntax;

pub use error::ParseError;
pub use instructions::*;
pub use syntax::Directive;

use std::sync::Arc;

use crate::diag::Span;

/// A parsed Dockerfile: directives, the ARGs before the first FROM, and the stages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dockerfile {
    pub directives: Vec<Directive>,
    /// `\` unless `# escape=` chose `` ` ``; word expansion must use the same token.
    pub escape: char,
    /// ARG declarations before the first FROM, in order; they scope over FROM lines.
    pub meta_args: Vec<ArgDecl>,
    pub stages: Vec<Stage>,
}

/// One `FROM` and the instructions up to the next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    /// `AS name`, lower-cased.
    pub name: Option<String>,
    /// Position among the stages, from 0 (what `COPY --from=0` refers to).
    pub index: usize,
    /// The base: an image reference, an earlier stage's name, or `scratch`; unexpanded.
    pub from: Word,
    /// `FROM --platform=…`, unexpanded.
    pub platform: Option<Word>,
    /// The instructions after FROM (FROM itself is not among them).
    pub instructions: Vec<Arc<Instruction>>,
    /// The FROM line through the stage's last instruction.
    pub span: Span,
    /// The FROM instruction alone.
    pub from_span: Span,
    /// The doc comment: a comment line right before FROM that starts with the stage
    /// name and a space, without them (`# build compiles the app` → `compiles the app`).
    pub description: Option<String>,
}

impl Dockerfile {
    /// The value of a parser directive (`syntax`, `escape`, `check`), by lower-case name.
    pub fn directive(&self, name: &str) -> Option<&str> {
        self.directives
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.value.as_str())
    }

    /// A stable text rendering for golden tests and `conveyor explain`.
    pub fn dump(&self) -> String {
        dump::dump(self)
    }
}

/// BuildKit's doc comment rule: the first comment line starting with `<name> `.
pub(crate) fn doc_comment(comments: &[String], name: Option<&str>) -> Option<String> {
    let prefix = format!("{} ", name?);
    comments
        .iter()
        .find_map(|line| line.strip_prefix(&prefix).map(str::to_string))
}

/// Parses Dockerfile text. Fails on the first error, which carries its span.
pub fn parse(text: &str) -> Result<Dockerfile, ParseError> {
    let scanned = syntax::scan(text)?;
    if scanned.nodes.is_empty() {
        return Err(ParseError::Empty {
            span: Span::new(text.len(), text.len()),
        });
    }
    let mut meta_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    // Each syntax node is dropped once parsed: a large file's nodes and instructions
    // are then never all held at once.
    for node in scanned.nodes {
        let node = &node;
        let instruction = parse::parse_node(node, scanned.escape)?;
        match (instruction.command, stages.last_mut()) {
            (Command::From(from), _) => stages.push(Stage {
                description: doc_comment(
                    &node.comments,
                    from.name.as_ref().map(|n| n.text.as_str()),
                ),
                name: from.name.map(|name| name.text),
                index: stages.len(),
                from: from.image,
                platform: from.platform,
                instructions: Vec::new(),
                span: instruction.span,
                from_span: instruction.span,
            }),
            (Command::Arg(args), None) => meta_args.extend(args),
            (_, None) => {
                return Err(ParseError::BeforeFirstFrom {
                    instruction: node.keyword.to_ascii_uppercase(),
                    span: node.keyword_span,
                });
            }
            (command, Some(stage)) => {
                stage.span = stage.span.cover(instruction.span);
                stage.instructions.push(Arc::new(Instruction {
                    command,
                    span: instruction.span,
                    keyword_span: instruction.keyword_span,
                }));
            }
        }
    }
    if stages.is_empty() {
        return Err(ParseError::NoStages {
            span: Span::new(text.len(), text.len()),
        });
    }
    Ok(Dockerfile {
        directives: scanned.directives,
        escape: scanned.escape,
        meta_args,
        stages,
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod robustness_tests;

#[cfg(test)]
mod golden_tests;

#[cfg(test)]
mod buildkit_parser_tests;
