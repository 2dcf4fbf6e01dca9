//! Splits template text into tokens, as Go's text/template lexer does: text between
//! actions, and inside `{{ }}` the words of pipelines. Trim markers (`{{- `, ` -}}`)
//! and comments are resolved here, so the parser sees trimmed text and no comments.

use super::literals::{unicode_name, unquote};
use crate::diag::Span;

#[derive(Clone, Debug, PartialEq)]
pub enum TokenKind {
    /// Literal text outside actions, already trimmed by neighbouring trim markers.
    Text(String),
    LeftDelim,
    RightDelim,
    Space,
    /// `=`
    Assign,
    /// `:=`
    Declare,
    Pipe,
    LeftParen,
    RightParen,
    /// A quoted or raw string, unquoted.
    Str(String),
    /// A character constant such as `'a'`; Go treats it as an integer.
    Char(i64),
    /// Number text as written; the parser decides int or float.
    Number(String),
    Bool(bool),
    Nil,
    Dot,
    /// `.Name`, without the dot.
    Field(String),
    /// `$name` including the `$`, or `$` alone.
    Variable(String),
    Identifier(String),
    Keyword(Keyword),
    /// `,` (only between range variables).
    Comma,
    /// A lexing error; always the last token, so that an earlier parse error wins as in Go.
    Error(String),
    Eof,
}

impl TokenKind {
    /// How Go's parser names a token in messages.
    pub fn describe(&self) -> String {
        match self {
            TokenKind::Text(_) => "text".into(),
            TokenKind::LeftDelim => "<left delim>".into(),
            TokenKind::RightDelim => "<right delim>".into(),
            TokenKind::Space => "space".into(),
            TokenKind::Assign => "\"=\"".into(),
            TokenKind::Declare => "\":=\"".into(),
            TokenKind::Pipe => "\"|\"".into(),
            TokenKind::LeftParen => "\"(\"".into(),
            TokenKind::RightParen => "\")\"".into(),
            TokenKind::Str(s) => format!("{s:?}"),
            TokenKind::Char(c) => format!("'{}'", char::from_u32(*c as u32).unwrap_or('?')),
            TokenKind::Number(n) => format!("{n:?}"),
            TokenKind::Bool(b) => format!("\"{b}\""),
            TokenKind::Nil => "\"nil\"".into(),
            TokenKind::Dot => "\".\"".into(),
            TokenKind::Field(f) => format!("\".{f}\""),
            TokenKind::Variable(v) => format!("{v:?}"),
            TokenKind::Identifier(i) => format!("{i:?}"),
            TokenKind::Keyword(k) => format!("<{}>", k.name()),
            TokenKind::Comma => "\",\"".into(),
            TokenKind::Error(e) => e.clone(),
            TokenKind::Eof => "EOF".into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keyword {
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
}

impl Keyword {
    pub fn name(self) -> &'static str {
        match self {
            Keyword::Block => "block",
            Keyword::Break => "break",
            Keyword::Continue => "continue",
            Keyword::Define => "define",
            Keyword::Else => "else",
            Keyword::End => "end",
            Keyword::If => "if",
            Keyword::Range => "range",
            Keyword::Template => "template",
            Keyword::With => "with",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LexError {
    pub span: Span,
    pub message: String,
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Tokens up to the end, or up to a lexing error which is then the last token.
pub fn lex(text: &str) -> Vec<Token> {
    let mut lexer = Lexer {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        tokens: Vec::new(),
        trim_next_text: false,
    };
    if let Err(error) = lexer.run() {
        lexer.push(
            TokenKind::Error(error.message),
            error.span.start,
            error.span.end,
        );
    }
    lexer.tokens
}

struct Lexer<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
    tokens: Vec<Token>,
    /// The previous action ended with ` -}}`: strip leading space of the next text.
    trim_next_text: bool,
}

impl Lexer<'_> {
    fn push(&mut self, kind: TokenKind, start: usize, end: usize) {
        self.tokens.push(Token {
            kind,
            span: Span::new(start, end),
        });
    }

    fn error<T>(
        &self,
        start: usize,
        end: usize,
        message: impl Into<String>,
    ) -> Result<T, LexError> {
        Err(LexError {
            span: Span::new(start, end.max(start)),
            message: message.into(),
        })
    }

    fn run(&mut self) -> Result<(), LexError> {
        loop {
            let rest = &self.text[self.pos..];
            let Some(found) = rest.find(LEFT) else {
                self.emit_text(self.pos, self.text.len(), false);
                self.push(TokenKind::Eof, self.text.len(), self.text.len());
                return Ok(());
            };
            let delim = self.pos + found;
            let after = delim + LEFT.len();
            let trim_left = self.bytes.get(after) == Some(&b'-')
                && self.bytes.get(after + 1).is_some_and(|&c| is_space(c));
            self.emit_text(self.pos, delim, trim_left);
            let inside = after + if trim_left { 2 } else { 0 };
            if self.text[inside..].starts_with("/*") {
                self.pos = self.lex_comment(delim, inside)?;
                continue;
            }
            self.push(TokenKind::LeftDelim, delim, inside);
            self.pos = inside;
            self.lex_action(delim)?;
        }
    }

    fn emit_text(&mut self, start: usize, end: usize, trim_right: bool) {
        let mut text = &self.text[start..end];
        let mut text_start = start;
        if std::mem::take(&mut self.trim_next_text) {
            let trimmed = text.trim_start_matches([' ', '\t', '\r', '\n']);
            text_start += text.len() - trimmed.len();
            text = trimmed;
        }
        if trim_right {
            text = text.trim_end_matches([' ', '\t', '\r', '\n']);
        }
        if !text.is_empty() {
            self.push(
                TokenKind::Text(text.to_string()),
                text_start,
                text_start + text.len(),
            );
        }
    }

    /// `{{/* ... */}}`: no token; returns the offset after the closing delimiter.
    fn lex_comment(&mut self, delim: usize, start: usize) -> Result<usize, LexError> {
        let body = start + 2;
        let Some(close) = self.text[body..].find("*/") else {
            return self.error(delim, self.text.len(), "unclosed comment");
        };
        let after = body + close + 2;
        match self.at_right_delim(after) {
            Some((end, trim)) => {
                self.trim_next_text = trim;
                Ok(end)
            }
            None => self.error(delim, after, "comment ends before closing delimiter"),
        }
    }

    /// At `}}` or ` -}}`: the offset after it and whether it trims.
    fn at_right_delim(&self, pos: usize) -> Option<(usize, bool)> {
        let rest = &self.text[pos..];
        if rest.len() >= 2 && is_space(rest.as_bytes()[0]) && rest[1..].starts_with("-}}") {
            return Some((pos + 4, true));
        }
        rest.starts_with(RIGHT).then_some((pos + 2, false))
    }

    fn at_terminator(&self, pos: usize) -> bool {
        match self.bytes.get(pos) {
            None => true,
            Some(&c) => {
                is_space(c)
                    || matches!(c, b'.' | b',' | b'|' | b':' | b')' | b'(')
                    || self.text[pos..].starts_with(RIGHT)
            }
        }
    }

    fn lex_action(&mut self, delim: usize) -> Result<(), LexError> {
        let mut paren_depth = 0usize;
        loop {
            let pos = self.pos;
            if let Some((end, trim)) = self.at_right_delim(pos) {
                if paren_depth > 0 {
                    return self.error(pos, end, "unclosed left paren");
                }
                self.push(TokenKind::RightDelim, pos, end);
                self.pos = end;
                self.trim_next_text = trim;
                return Ok(());
            }
            let Some(c) = self.text[pos..].chars().next() else {
                return self.error(delim, delim + 2, "unclosed action");
            };
            let next = self.bytes.get(pos + 1).copied();
            match c {
                ' ' | '\t' | '\r' | '\n' => {
                    let mut end = pos;
                    while self.bytes.get(end).is_some_and(|&b| is_space(b)) {
                        end += 1;
                    }
                    // Leave the blank of a ` -}}` for the delimiter check at the loop top.
                    if self.text[end..].starts_with("-}}") {
                        end -= 1;
                    }
                    if end > pos {
                        self.push(TokenKind::Space, pos, end);
                    }
                    self.pos = end;
                }
                ',' => {
                    self.push(TokenKind::Comma, pos, pos + 1);
                    self.pos += 1;
                }
                '=' => {
                    self.push(TokenKind::Assign, pos, pos + 1);
                    self.pos += 1;
                }
                ':' => {
                    if next != Some(b'=') {
                        return self.error(pos, pos + 1, "expected :=");
                    }
                    self.push(TokenKind::Declare, pos, pos + 2);
                    self.pos += 2;
                }
                '|' => {
                    self.push(TokenKind::Pipe, pos, pos + 1);
                    self.pos += 1;
                }
                '(' => {
                    paren_depth += 1;
                    self.push(TokenKind::LeftParen, pos, pos + 1);
                    self.pos += 1;
                }
                ')' => {
                    if paren_depth == 0 {
                        return self.error(pos, pos + 1, "unexpected right paren");
                    }
                    paren_depth -= 1;
                    self.push(TokenKind::RightParen, pos, pos + 1);
                    self.pos += 1;
                }
                '"' => self.lex_quote(delim)?,
                '`' => self.lex_raw()?,
                '\'' => self.lex_char()?,
                '$' => self.lex_variable()?,
                '.' if !next.is_some_and(|b| b.is_ascii_digit()) => self.lex_field()?,
                '.' | '+' | '-' | '0'..='9' => self.lex_number()?,
                c if is_alnum(c) => self.lex_identifier()?,
                c => {
                    return self.error(
                        pos,
                        pos + c.len_utf8(),
                        format!("unrecognized character in action: {}", unicode_name(c)),
                    );
                }
            }
        }
    }

    fn alnum_end(&self, mut pos: usize) -> usize {
        for c in self.text[pos..].chars() {
            if !is_alnum(c) {
                break;
            }
            pos += c.len_utf8();
        }
        pos
    }

    fn check_terminator(&self, start: usize, end: usize) -> Result<(), LexError> {
        if self.at_terminator(end) {
            return Ok(());
        }
        let c = self.text[end..].chars().next().unwrap_or(' ');
        self.error(
            start,
            end + c.len_utf8(),
            format!("bad character {}", unicode_name(c)),
        )
    }

    fn lex_field(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        let end = self.alnum_end(start + 1);
        self.check_terminator(start, end)?;
        let kind = if end == start + 1 {
            TokenKind::Dot
        } else {
            TokenKind::Field(self.text[start + 1..end].to_string())
        };
        self.push(kind, start, end);
        self.pos = end;
        Ok(())
    }

    fn lex_variable(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        let end = self.alnum_end(start + 1);
        self.check_terminator(start, end)?;
        self.push(
            TokenKind::Variable(self.text[start..end].to_string()),
            start,
            end,
        );
        self.pos = end;
        Ok(())
    }

    fn lex_identifier(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        let end = self.alnum_end(start);
        self.check_terminator(start, end)?;
        let word = &self.text[start..end];
        let kind = match word {
            "block" => TokenKind::Keyword(Keyword::Block),
            "break" => TokenKind::Keyword(Keyword::Break),
            "continue" => TokenKind::Keyword(Keyword::Continue),
            "define" => TokenKind::Keyword(Keyword::Define),
            "else" => TokenKind::Keyword(Keyword::Else),
            "end" => TokenKind::Keyword(Keyword::End),
            "if" => TokenKind::Keyword(Keyword::If),
            "range" => TokenKind::Keyword(Keyword::Range),
            "template" => TokenKind::Keyword(Keyword::Template),
            "with" => TokenKind::Keyword(Keyword::With),
            "nil" => TokenKind::Nil,
            "true" => TokenKind::Bool(true),
            "false" => TokenKind::Bool(false),
            _ => TokenKind::Identifier(word.to_string()),
        };
        self.push(kind, start, end);
        self.pos = end;
        Ok(())
    }

    fn lex_number(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        let b = self.bytes;
        let mut pos = start;
        if matches!(b.get(pos), Some(b'+' | b'-')) {
            pos += 1;
        }
        let mut digits: &[u8] = b"0123456789_";
        if b.get(pos) == Some(&b'0') {
            match b.get(pos + 1) {
                Some(b'x' | b'X') => {
                    pos += 2;
                    digits = b"0123456789abcdefABCDEF_";
                }
                Some(b'o' | b'O') => {
                    pos += 2;
                    digits = b"01234567_";
                }
                Some(b'b' | b'B') => {
                    pos += 2;
                    digits = b"01_";
                }
                _ => {}
            }
        }
        let run = |mut p: usize, set: &[u8]| {
            while b.get(p).is_some_and(|c| set.contains(c)) {
                p += 1;
            }
            p
        };
        pos = run(pos, digits);
        if b.get(pos) == Some(&b'.') {
            pos = run(pos + 1, digits);
        }
        if digits.len() == 11 && matches!(b.get(pos), Some(b'e' | b'E')) {
            pos += 1;
            if matches!(b.get(pos), Some(b'+' | b'-')) {
                pos += 1;
            }
            pos = run(pos, b"0123456789_");
        }
        if digits.len() == 23 && matches!(b.get(pos), Some(b'p' | b'P')) {
            pos += 1;
            if matches!(b.get(pos), Some(b'+' | b'-')) {
                pos += 1;
            }
            pos = run(pos, b"0123456789_");
        }
        let bad = self.text[pos..].chars().next().is_some_and(is_alnum);
        if bad || pos == start {
            let end = self.alnum_end(pos).max(pos + 1).min(self.text.len());
            let end = floor_boundary(self.text, end);
            return self.error(
                start,
                end,
                format!("bad number syntax: {:?}", &self.text[start..end]),
            );
        }
        self.push(
            TokenKind::Number(self.text[start..pos].to_string()),
            start,
            pos,
        );
        self.pos = pos;
        Ok(())
    }

    fn lex_quote(&mut self, _delim: usize) -> Result<(), LexError> {
        let start = self.pos;
        let mut pos = start + 1;
        loop {
            match self.bytes.get(pos) {
                None | Some(b'\n') => {
                    return self.error(start, pos, "unterminated quoted string");
                }
                Some(b'\\') => {
                    if matches!(self.bytes.get(pos + 1), None | Some(b'\n')) {
                        return self.error(start, pos, "unterminated quoted string");
                    }
                    pos += 2;
                }
                Some(b'"') => break,
                Some(_) => pos += 1,
            }
        }
        let end = pos + 1;
        let value = unquote(&self.text[start + 1..pos], '"').map_err(|message| LexError {
            span: Span::new(start, end),
            message,
        })?;
        self.push(TokenKind::Str(value), start, end);
        self.pos = end;
        Ok(())
    }

    fn lex_raw(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        let Some(close) = self.text[start + 1..].find('`') else {
            return self.error(start, self.text.len(), "unterminated raw quoted string");
        };
        let end = start + 1 + close + 1;
        let value = self.text[start + 1..end - 1].replace('\r', "");
        self.push(TokenKind::Str(value), start, end);
        self.pos = end;
        Ok(())
    }

    fn lex_char(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        let mut pos = start + 1;
        loop {
            match self.bytes.get(pos) {
                None | Some(b'\n') => {
                    return self.error(start, pos, "unterminated character constant");
                }
                Some(b'\\') => pos += 2,
                Some(b'\'') => break,
                Some(_) => pos += 1,
            }
        }
        let end = (pos + 1).min(self.text.len());
        let inner = self.text.get(start + 1..pos).unwrap_or("");
        let value = unquote(inner, '\'').ok().and_then(|s| {
            let mut chars = s.chars();
            let c = chars.next()?;
            chars.next().is_none().then_some(c)
        });
        let Some(c) = value else {
            return self.error(
                start,
                end,
                format!(
                    "malformed character constant: {}",
                    self.text.get(start..end).unwrap_or("")
                ),
            );
        };
        self.push(TokenKind::Char(c as i64), start, end);
        self.pos = end;
        Ok(())
    }
}

fn floor_boundary(text: &str, mut pos: usize) -> usize {
    while !text.is_char_boundary(pos) {
        pos -= 1;
    }
    pos
}
