//! YAML documents as plain trees with byte spans into the rendered werf.yaml.
//!
//! serde-saphyr parses and reports positions (`Spanned`); the typed config is built by
//! hand from these trees (see `config`) instead of `#[derive(Deserialize)]` so that
//! every error — unknown key with the allowed ones, wrong type, forbidden combination —
//! names the exact key or value, which serde's derive messages do not.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diag::Span;

use super::error::ConfigError;

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub kind: Kind,
    /// Byte range in the whole rendered text (for a collection: where it starts).
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// In document order; keys are scalars rendered as text.
    Map(Vec<(Node, Node)>),
}

impl Kind {
    /// What a user would call this value in a type error.
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) | Kind::Float(_) => "a number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }
}

impl Node {
    /// A scalar as text (YAML `1`, `true` are read as text where text is expected).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.kind {
            Kind::Str(s) => Some(s.clone()),
            Kind::Bool(b) => Some(b.to_string()),
            Kind::Int(i) => Some(i.to_string()),
            Kind::Float(f) => Some(f.to_string()),
            Kind::Null | Kind::Seq(_) | Kind::Map(_) => None,
        }
    }
}

/// One `---` document of the rendered text.
#[derive(Debug)]
pub struct Document {
    pub root: Node,
}

/// Splits the rendered text into documents the way werf does (a line that is exactly
/// `---`, maybe followed by spaces or a comment) and parses each; documents holding
/// only comments or nothing are dropped.
pub fn documents(text: &str) -> Result<Vec<Document>, ConfigError> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        let is_separator = bare
            .strip_prefix("---")
            .is_some_and(|rest| rest.trim_start().is_empty() || rest.trim_start().starts_with('#'));
        if is_separator {
            parse_document(text, start, offset, &mut out)?;
            start = offset + line.len();
        }
        offset += line.len();
    }
    parse_document(text, start, text.len(), &mut out)?;
    Ok(out)
}

fn parse_document(
    text: &str,
    start: usize,
    end: usize,
    out: &mut Vec<Document>,
) -> Result<(), ConfigError> {
    let body = &text[start..end];
    let is_blank = body
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    if is_blank {
        return Ok(());
    }
    let parsed: Spanned<Raw> = serde_saphyr::from_str(body).map_err(|error| {
        let at = start + error_offset(body, &error);
        ConfigError::new(
            Span::new(at.min(text.len()), at.min(text.len())),
            plain_message(&error.to_string()),
        )
    })?;
    let root = into_node(parsed, start, end);
    if root.kind != Kind::Null {
        out.push(Document { root });
    }
    Ok(())
}

/// Where in `body` a parse error is: its byte offset, else its line and column (some
/// errors carry only those, some only in the message text).
fn error_offset(body: &str, error: &serde_saphyr::Error) -> usize {
    if let Some(location) = error.location() {
        if let Some(offset) = location.span().byte_offset() {
            return offset as usize;
        }
        return offset_of(body, location.line() as usize, location.column() as usize);
    }
    let message = error.to_string();
    let numbers: Vec<usize> = message
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .take(2)
        .collect();
    match (message.find("line "), numbers.as_slice()) {
        (Some(_), [line, column]) => offset_of(body, *line, *column),
        _ => 0,
    }
}

/// The byte offset of a 1-based line and character column.
fn offset_of(body: &str, line: usize, column: usize) -> usize {
    let line_start: usize = body
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let rest = &body[line_start.min(body.len())..];
    line_start
        + rest
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(rest.len(), |(i, _)| i)
}

/// serde-saphyr's message without its own location suffix and snippet: we print our
/// own `file:line:col` and excerpt.
fn plain_message(rendered: &str) -> String {
    let first = rendered.lines().next().unwrap_or(rendered);
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let first = match first.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") && head.contains(" column ") => rest,
        _ => first,
    };
    match first.rfind(" at line ") {
        Some(at) => first[..at].to_string(),
        None => first.to_string(),
    }
}

/// The parsed value before offsets are made absolute.
enum Raw {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<Raw>, Spanned<Raw>)>),
}

fn into_node(spanned: Spanned<Raw>, base: usize, end: usize) -> Node {
    let location = spanned.referenced.span();
    let start = location
        .byte_offset()
        .map_or(base, |o| base + o as usize)
        .min(end);
    let len = location.byte_len().unwrap_or(0) as usize;
    let span = Span::new(start, (start + len).min(end));
    let kind = match spanned.value {
        Raw::Null => Kind::Null,
        Raw::Bool(b) => Kind::Bool(b),
        Raw::Int(i) => Kind::Int(i),
        Raw::Float(f) => Kind::Float(f),
        Raw::Str(s) => Kind::Str(s),
        Raw::Seq(items) => Kind::Seq(items.into_iter().map(|i| into_node(i, base, end)).collect()),
        Raw::Map(entries) => Kind::Map(
            entries
                .into_iter()
                .map(|(k, v)| (into_node(k, base, end), into_node(v, base, end)))
                .collect(),
        ),
    };
    Node { kind, span }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Raw, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
        Ok(i64::try_from(v).map_or(Raw::Float(v as f64), Raw::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Raw>>()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Raw>>()? {
            let value = map.next_value::<Spanned<Raw>>()?;
            entries.push((key, value));
        }
        Ok(Raw::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_point_into_the_whole_text() {
        let text =
            "project: p\nconfigVersion: 1\n---\nimage: app\nshell:\n  install:\n  - echo hi\n";
        let docs = documents(text).unwrap();
        assert_eq!(docs.len(), 2);
        let Kind::Map(entries) = &docs[1].root.kind else {
            panic!("a map")
        };
        let (key, value) = &entries[1];
        assert_eq!(&text[key.span.start..key.span.end], "shell");
        let Kind::Map(inner) = &value.kind else {
            panic!("a map")
        };
        let Kind::Seq(items) = &inner[0].1.kind else {
            panic!("a seq")
        };
        assert_eq!(&text[items[0].span.start..items[0].span.end], "echo hi");
        assert_eq!(entries[0].1.kind, Kind::Str("app".into()));
    }

    #[test]
    fn comment_only_documents_are_dropped_and_syntax_errors_located() {
        let text = "# header\n---\nimage: a\n--- # next\n# nothing\n---\nimage: [b\n";
        let error = documents(text).unwrap_err();
        assert!(
            error.span.start >= text.find("image: [b").unwrap(),
            "{error:?}"
        );
        let docs = documents("# only\n---\nimage: a\n").unwrap();
        assert_eq!(docs.len(), 1);
    }
}
