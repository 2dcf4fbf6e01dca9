//! The syntax pass, after BuildKit's `frontend/dockerfile/parser`: parser directives,
//! physical lines joined into logical ones with the escape token, comments and empty
//! lines inside continuations skipped, builder flags split off, and heredoc bodies read.
//! It knows instruction names only to decide which instructions may own heredocs.

use super::error::ParseError;
use super::shell::Lexer;
use crate::diag::Span;

/// A parser directive from the top of the file: `# syntax=…`, `# escape=…`, `# check=…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// Lower-cased name.
    pub name: String,
    pub value: String,
    pub span: Span,
}

/// A heredoc body attached to RUN, COPY or ADD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter word, unquoted: `EOF` for `<<"EOF"`.
    pub name: String,
    /// The body, each line with its newline; with `<<-` leading tabs are already removed.
    pub content: String,
    /// False when the delimiter was quoted: then `$VAR` in the body stays as written.
    pub expand: bool,
    /// Written as `<<-`.
    pub chomp: bool,
    /// The file descriptor before `<<`, as in `3<<EOF`; `None` when not written.
    pub fd: Option<u32>,
    /// The body lines and the terminator line.
    pub span: Span,
}

/// Text joined from several source pieces, remembering where each piece came from so
/// that a range of the text maps back to a source span.
#[derive(Clone, Debug, Default)]
pub(crate) struct Logical {
    pub(crate) text: String,
    /// `(offset in text, offset in source)` where each piece starts.
    pieces: Vec<(usize, usize)>,
}

impl Logical {
    fn push(&mut self, piece: &str, source_offset: usize) {
        self.pieces.push((self.text.len(), source_offset));
        self.text.push_str(piece);
    }

    /// The source offset of text offset `at`. At a piece boundary, `end` picks the end
    /// of the earlier piece rather than the start of the later one.
    fn source_offset(&self, at: usize, end: bool) -> usize {
        let index = self
            .pieces
            .partition_point(|&(text_start, _)| text_start < at || (!end && text_start == at));
        match index.checked_sub(1).and_then(|i| self.pieces.get(i)) {
            Some(&(text_start, source_start)) => source_start + (at - text_start),
            None => self.pieces.first().map_or(0, |&(_, source)| source),
        }
    }

    pub(crate) fn span(&self, start: usize, end: usize) -> Span {
        let source_start = self.source_offset(start, false);
        let source_end = self.source_offset(end, true).max(source_start);
        Span::new(source_start, source_end)
    }

    /// The span of the whole text.
    pub(crate) fn whole_span(&self) -> Span {
        self.span(0, self.text.len())
    }

    /// The part `start..end` of the text, still mapped to the source.
    pub(crate) fn sub(&self, start: usize, end: usize) -> Logical {
        let mut sub = Logical::default();
        for (i, &(text_start, source_start)) in self.pieces.iter().enumerate() {
            let text_end = self.pieces.get(i + 1).map_or(self.text.len(), |p| p.0);
            let (from, to) = (text_start.max(start), text_end.min(end));
            if from < to {
                sub.push(&self.text[from..to], source_start + (from - text_start));
            }
        }
        if sub.pieces.is_empty() {
            sub.pieces.push((0, self.source_offset(start, false)));
        }
        sub
    }
}

/// One instruction as the syntax pass sees it.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) keyword: String,
    pub(crate) keyword_span: Span,
    pub(crate) flags: Vec<FlagWord>,
    /// The arguments after the flags, trimmed.
    pub(crate) args: Logical,
    /// The joined line, leading whitespace removed (BuildKit's `Original`).
    pub(crate) original: String,
    pub(crate) heredocs: Vec<Heredoc>,
    /// From the keyword to the end of the last line (heredoc terminator included).
    pub(crate) span: Span,
    /// The comment lines before it (since the previous instruction or an empty `#`
    /// line), `#` and surrounding space removed: where BuildKit finds doc comments.
    pub(crate) comments: Vec<String>,
}

/// A `--name[=value]` word before the arguments, quotes and escapes already processed.
#[derive(Clone, Debug)]
pub(crate) struct FlagWord {
    pub(crate) text: String,
    /// The word as written; equal to `text` when it had no quotes or escapes.
    pub(crate) raw: String,
    pub(crate) span: Span,
}

pub(crate) struct Scanned {
    pub(crate) directives: Vec<Directive>,
    pub(crate) escape: char,
    pub(crate) nodes: Vec<Node>,
}

/// Whitespace as BuildKit's `[\t\v\f\r ]` (used to split keywords and plain word lists).
pub(crate) fn is_blank(ch: char) -> bool {
    matches!(ch, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

pub(crate) fn scan(text: &str) -> Result<Scanned, ParseError> {
    let lines = physical_lines(text);
    let mut directives: Vec<Directive> = Vec::new();
    let mut directives_done = false;
    let mut escape = '\\';
    let mut nodes = Vec::new();
    let mut comments: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let (mut start, mut line) = lines[i];
        line = trim_newline(line);
        if i == 0
            && let Some(rest) = line.strip_prefix('\u{feff}')
        {
            start += '\u{feff}'.len_utf8();
            line = rest;
        }
        let trimmed = line.trim_start();
        start += line.len() - trimmed.len();
        i += 1;

        if !directives_done {
            match directive(trimmed, Span::new(start, start + trimmed.len()))? {
                Some(found) => {
                    if directives.iter().any(|d| d.name == found.name) {
                        return Err(ParseError::Directive {
                            message: format!(
                                "only one {} parser directive can be used",
                                found.name
                            ),
                            span: found.span,
                        });
                    }
                    if found.name == "escape" {
                        escape = match found.value.as_str() {
                            "\\" => '\\',
                            "`" => '`',
                            other => {
                                return Err(ParseError::Directive {
                                    message: format!(
                                        "invalid escape token {other:?} (expected ` or \\)"
                                    ),
                                    span: found.span,
                                });
                            }
                        };
                    }
                    directives.push(found);
                    continue;
                }
                None => directives_done = true,
            }
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            // An empty comment line ends a doc comment; blank lines do not.
            match comment.trim() {
                "" => comments.clear(),
                text => comments.push(text.to_string()),
            }
            continue;
        }
        if trimmed.is_empty() {
            continue;
        }

        let mut logical = Logical::default();
        let (piece, mut continued) = trim_continuation(trimmed, escape);
        logical.push(piece, start);
        let mut end = start + trimmed.len();
        while continued && i < lines.len() {
            let (line_start, raw) = lines[i];
            let raw = trim_newline(raw);
            i += 1;
            // Comment lines and empty lines inside a continuation are dropped, as BuildKit does.
            if raw.trim_start().starts_with('#') || raw.trim_start().is_empty() {
                continue;
            }
            let (piece, more) = trim_continuation(raw, escape);
            logical.push(piece, line_start);
            end = line_start + raw.len();
            continued = more;
        }

        let command = split_command(&logical, escape);
        let mut node = Node {
            keyword: command.keyword,
            keyword_span: command.keyword_span,
            flags: command.flags,
            original: logical.text.trim().to_string(),
            args: command.args,
            heredocs: Vec::new(),
            span: Span::new(start, end),
            comments: std::mem::take(&mut comments),
        };
        if can_contain_heredoc(&node, escape) && logical.text.contains("<<") {
            for word in heredoc_words(&logical.text) {
                let word_span = logical
                    .text
                    .find(&word.source)
                    .map_or(node.keyword_span, |at| {
                        logical.span(at, at + word.source.len())
                    });
                let body_start = lines.get(i).map_or(text.len(), |&(s, _)| s);
                let mut content = String::new();
                let mut terminated = false;
                while i < lines.len() {
                    let (line_start, raw) = lines[i];
                    i += 1;
                    let mut candidate = trim_newline(raw);
                    if word.chomp {
                        candidate = candidate.trim_start_matches('\t');
                    }
                    if candidate == word.name {
                        terminated = true;
                        end = line_start + trim_newline(raw).len();
                        break;
                    }
                    content.push_str(raw);
                }
                if !terminated {
                    return Err(ParseError::UnterminatedHeredoc {
                        name: word.name,
                        span: word_span,
                    });
                }
                if word.chomp {
                    content = chomp_tabs(&content);
                }
                node.heredocs.push(Heredoc {
                    name: word.name,
                    content,
                    expand: word.expand,
                    chomp: word.chomp,
                    fd: word.fd,
                    span: Span::new(body_start.min(end), end),
                });
            }
            node.span = Span::new(start, end);
        }
        nodes.push(node);
    }
    Ok(Scanned {
        directives,
        escape,
        nodes,
    })
}

/// `(start offset, line with its newline)` for each line.
fn physical_lines(text: &str) -> Vec<(usize, &str)> {
    let mut lines = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        lines.push((start, line));
        start += line.len();
    }
    lines
}

fn trim_newline(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

/// A directive line: `#`, a known name, `=`, a value. Anything else ends the directives.
fn directive(line: &str, span: Span) -> Result<Option<Directive>, ParseError> {
    let Some(rest) = line.strip_prefix('#') else {
        return Ok(None);
    };
    let rest = rest.trim_start();
    let name_len = rest
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(rest.len(), |(i, _)| i);
    if name_len == 0 {
        return Ok(None);
    }
    let name = rest[..name_len].to_ascii_lowercase();
    let Some(value) = rest[name_len..].trim_start().strip_prefix('=') else {
        return Ok(None);
    };
    let value = value.trim();
    if value.is_empty() || !matches!(name.as_str(), "syntax" | "escape" | "check") {
        return Ok(None);
    }
    Ok(Some(Directive {
        name,
        value: value.to_string(),
        span,
    }))
}

/// Removes a trailing escape token (and blanks after it); says whether the line continues.
/// Like BuildKit, an escape token preceded by another escape token does not continue.
fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    let body = line.trim_end_matches([' ', '\t']);
    let Some(before) = body.strip_suffix(escape) else {
        return (line, false);
    };
    if before.ends_with(escape) {
        return (line, false);
    }
    (before, true)
}

/// Removes leading tabs from every line (`<<-`).
pub(crate) fn chomp_tabs(content: &str) -> String {
    content
        .split_inclusive('\n')
        .map(|line| line.trim_start_matches('\t'))
        .collect()
}

pub(crate) struct Command {
    pub(crate) keyword: String,
    pub(crate) keyword_span: Span,
    pub(crate) flags: Vec<FlagWord>,
    pub(crate) args: Logical,
}

/// Splits a logical line into keyword, `--flags` and the rest.
pub(crate) fn split_command(line: &Logical, escape: char) -> Command {
    let text = &line.text;
    let start = text.len() - text.trim_start().len();
    let keyword_end = text[start..]
        .find(is_blank)
        .map_or(text.len(), |i| start + i);
    let keyword = text[start..keyword_end].to_string();
    let keyword_span = line.span(start, keyword_end);
    let (flags, args_start) = extract_flags(line, keyword_end, escape);
    let rest = &text[args_start..];
    let args_start = args_start + (rest.len() - rest.trim_start().len());
    let args_end = args_start + text[args_start..].trim_end().len();
    Command {
        keyword,
        keyword_span,
        flags,
        args: line.sub(args_start, args_end),
    }
}

/// Reads `--flag` words from `from` on; returns them and where the arguments start.
/// A word `--` ends the flags and is dropped.
fn extract_flags(line: &Logical, from: usize, escape: char) -> (Vec<FlagWord>, usize) {
    let text = &line.text;
    let mut flags = Vec::new();
    let mut pos = from;
    loop {
        let rest = &text[pos..];
        let skipped = rest.len() - rest.trim_start().len();
        pos += skipped;
        if !text[pos..].starts_with("--") {
            return (flags, pos);
        }
        let word_start = pos;
        let mut word = String::new();
        let mut quote: Option<char> = None;
        let mut chars = text[pos..].char_indices().peekable();
        let mut word_end = text.len();
        while let Some((offset, ch)) = chars.next() {
            match quote {
                None if ch.is_whitespace() => {
                    word_end = pos + offset;
                    break;
                }
                None if ch == '\'' || ch == '"' => quote = Some(ch),
                Some(q) if ch == q => quote = None,
                _ if ch == escape => {
                    if let Some((_, next)) = chars.next() {
                        word.push(next);
                    }
                }
                _ => word.push(ch),
            }
        }
        if word == "--" {
            return (flags, word_end);
        }
        flags.push(FlagWord {
            raw: text[word_start..word_end].to_string(),
            text: word,
            span: line.span(word_start, word_end),
        });
        pos = word_end;
        if pos >= text.len() {
            return (flags, pos);
        }
    }
}

/// Only RUN, COPY and ADD in shell form (directly or under ONBUILD) own heredocs.
fn can_contain_heredoc(node: &Node, escape: char) -> bool {
    let inner;
    let (keyword, args) = if node.keyword.eq_ignore_ascii_case("onbuild") {
        inner = split_command(&node.args, escape);
        (&inner.keyword, &inner.args.text)
    } else {
        (&node.keyword, &node.args.text)
    };
    ["run", "copy", "add"]
        .iter()
        .any(|k| keyword.eq_ignore_ascii_case(k))
        && !matches!(parse_json(args), Some(Ok(_)))
}

/// The exec (JSON) form: `None` when the text is not a JSON array (then it is shell
/// form), `Some(Err)` when it is an array holding something other than strings.
pub(crate) fn parse_json(text: &str) -> Option<Result<Vec<String>, ()>> {
    let text = text.trim_start();
    if !text.starts_with('[') {
        return None;
    }
    let values: Vec<serde_json::Value> = serde_json::from_str(text).ok()?;
    Some(
        values
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => Ok(s),
                _ => Err(()),
            })
            .collect(),
    )
}

/// A word such as `<<EOF`, `<<-"EOF"`, `3<<'END'`.
#[derive(Debug, PartialEq)]
pub(crate) struct HeredocWord {
    pub(crate) name: String,
    pub(crate) expand: bool,
    pub(crate) chomp: bool,
    pub(crate) fd: Option<u32>,
    /// The word as found on the line.
    pub(crate) source: String,
}

/// The heredoc words of a line, in order. A line the lexer rejects (an unclosed quote)
/// has none, as in BuildKit.
fn heredoc_words(line: &str) -> Vec<HeredocWord> {
    Lexer::for_heredoc_detection()
        .expand_words(line, |_| None)
        .unwrap_or_default()
        .iter()
        .filter_map(|word| parse_heredoc_word(word))
        .collect()
}

/// Parses one word as a heredoc marker (`^(\d*)<<(-?)\s*([^<]*)$` in BuildKit).
pub(crate) fn parse_heredoc_word(word: &str) -> Option<HeredocWord> {
    let digits = word.len() - word.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let rest = word[digits..].strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let rest = rest.trim_start_matches(['\t', '\n', '\u{c}', '\r', ' ']);
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    // Lex the delimiter with and without its quotes: if they differ, part of it was quoted
    // and the body is not expanded.
    let plain = Lexer::for_heredoc_name(false)
        .expand_words(rest, |_| None)
        .ok()?;
    let [name] = plain.as_slice() else {
        return None;
    };
    let raw = Lexer::for_heredoc_name(true)
        .expand_words(rest, |_| None)
        .ok()?;
    let quotes = |s: &str| s.chars().filter(|&c| c == '\'' || c == '"').count();
    let expand = raw.len() == 1 && quotes(name) == quotes(&raw[0]);
    Some(HeredocWord {
        name: name.clone(),
        expand,
        chomp,
        fd: word[..digits].parse().ok(),
        source: word.to_string(),
    })
}

#[cfg(test)]
#[path = "syntax_tests.rs"]
mod tests;
