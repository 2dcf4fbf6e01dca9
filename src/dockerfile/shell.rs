//! Dockerfile word expansion and splitting, with the rules of BuildKit's
//! `frontend/dockerfile/shell/lex.go`: `$VAR`, `${VAR}`, the `${VAR:-w}` family, the
//! `#`/`%` trims and `/` replacement, single and double quotes, and a configurable escape
//! token. This is not POSIX sh: there is no command substitution, no arithmetic, and
//! unset variables expand to nothing.
//!
//! The parser never expands; later passes call [`Lexer::expand_word`] or
//! [`Lexer::expand_words`] with the variables in scope at that instruction, and use the
//! reported names to tell which build args a stage depends on.

use std::collections::BTreeSet;

use super::pattern::Pattern;

#[path = "shell_words.rs"]
mod words;
use words::Words;

/// The result of expanding one word.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expanded {
    /// The expanded text, quotes removed.
    pub value: String,
    /// Variables that were looked up and found.
    pub used: BTreeSet<String>,
    /// Variables that were looked up and not found (they expanded as unset).
    pub unset: BTreeSet<String>,
}

impl Expanded {
    /// Every variable name the word referred to, found or not.
    pub fn referenced(&self) -> BTreeSet<String> {
        self.used.union(&self.unset).cloned().collect()
    }
}

/// Why a word could not be expanded: an unclosed quote, a bad `${…}`, or a `${VAR:?msg}`
/// whose variable was unset. Carries no span: the caller knows which word it passed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("failed to process {word:?}: {message}")]
pub struct ExpandError {
    pub word: String,
    pub message: String,
}

/// A word lexer with one escape token (`\` by default, `` ` `` under `# escape=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lexer {
    escape: char,
    /// Keep quote characters in the output (heredoc detection needs them).
    raw_quotes: bool,
    /// Keep escape characters in the output.
    raw_escapes: bool,
    /// Leave references to unset variables as written instead of expanding to "".
    skip_unset: bool,
    /// Treat quotes as ordinary characters (heredoc bodies).
    skip_process_quotes: bool,
}

impl Lexer {
    pub fn new(escape: char) -> Lexer {
        Lexer {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_unset: false,
            skip_process_quotes: false,
        }
    }

    /// The lexer BuildKit uses on the body of an expanding heredoc (`COPY <<EOF`): always
    /// `\` as escape, quotes are plain text, only `$` references and escapes are processed.
    pub fn for_heredoc_body() -> Lexer {
        Lexer {
            skip_process_quotes: true,
            ..Lexer::new('\\')
        }
    }

    /// The lexer the syntax pass uses to find heredoc words on a line: nothing is
    /// removed and unset variables stay as written, so words keep their source shape.
    pub(crate) fn for_heredoc_detection() -> Lexer {
        Lexer {
            raw_quotes: true,
            raw_escapes: true,
            skip_unset: true,
            ..Lexer::new('\\')
        }
    }

    /// The lexer that tells a quoted heredoc delimiter from a bare one.
    pub(crate) fn for_heredoc_name(raw_quotes: bool) -> Lexer {
        Lexer {
            raw_quotes,
            skip_unset: true,
            ..Lexer::new('\\')
        }
    }

    /// Expands `word` as one word (BuildKit `ProcessWord`): whitespace is kept.
    pub fn expand_word<F>(&self, word: &str, lookup: F) -> Result<Expanded, ExpandError>
    where
        F: FnMut(&str) -> Option<String>,
    {
        if self.is_literal(word) {
            return Ok(Expanded {
                value: word.to_string(),
                ..Expanded::default()
            });
        }
        let (value, scan) = self.scan_value(word, lookup, true)?;
        Ok(Expanded {
            value,
            used: scan.used,
            unset: scan.unset,
        })
    }

    /// [`Lexer::expand_word`]'s text alone, without recording which variables were
    /// looked up: what lowering and signing need, thousands of times a build.
    pub fn expand_value<F>(&self, word: &str, lookup: F) -> Result<String, ExpandError>
    where
        F: FnMut(&str) -> Option<String>,
    {
        if self.is_literal(word) {
            return Ok(word.to_string());
        }
        Ok(self.scan_value(word, lookup, false)?.0)
    }

    /// The expanded text of `word`, and the scan that made it (with the names it
    /// looked up when `record_names`).
    fn scan_value<'l, F>(
        &'l self,
        word: &str,
        lookup: F,
        record_names: bool,
    ) -> Result<(String, Scan<'l, F>), ExpandError>
    where
        F: FnMut(&str) -> Option<String>,
    {
        let mut scan = Scan::new(self, word, lookup);
        scan.collect_words = false;
        scan.record_names = record_names;
        let (value, _) = scan
            .process_stop_on(None, self.raw_escapes)
            .map_err(|message| ExpandError {
                word: word.to_string(),
                message,
            })?;
        Ok((value, scan))
    }

    /// Expands `word` and splits the result on unquoted whitespace (BuildKit
    /// `ProcessWords`). Whitespace that came from a variable also splits, unless the
    /// reference was inside double quotes.
    pub fn expand_words<F>(&self, word: &str, lookup: F) -> Result<Vec<String>, ExpandError>
    where
        F: FnMut(&str) -> Option<String>,
    {
        if self.is_literal(word) {
            return Ok(word
                .split(char::is_whitespace)
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect());
        }
        let mut scan = Scan::new(self, word, lookup);
        let (_, words) = scan
            .process_stop_on(None, self.raw_escapes)
            .map_err(|message| ExpandError {
                word: word.to_string(),
                message,
            })?;
        Ok(words)
    }
}

impl Lexer {
    /// A word with no `$`, quote, `<` or escape token expands to itself: most words of
    /// a Dockerfile, and a compile expands thousands of them.
    fn is_literal(&self, word: &str) -> bool {
        !word
            .chars()
            .any(|c| matches!(c, '$' | '<' | '\'' | '"') || c == self.escape)
    }
}

impl Default for Lexer {
    fn default() -> Lexer {
        Lexer::new('\\')
    }
}

struct Scan<'l, F> {
    lexer: &'l Lexer,
    chars: Vec<char>,
    pos: usize,
    raw_escapes: bool,
    /// Whether the caller wants the words too (`expand_words`), not only the text.
    collect_words: bool,
    /// Whether to fill `used` and `unset` (`expand_value` does not need them).
    record_names: bool,
    lookup: F,
    used: BTreeSet<String>,
    unset: BTreeSet<String>,
}

impl<'l, F: FnMut(&str) -> Option<String>> Scan<'l, F> {
    fn new(lexer: &'l Lexer, word: &str, lookup: F) -> Self {
        Scan {
            lexer,
            chars: word.chars().collect(),
            pos: 0,
            raw_escapes: lexer.raw_escapes,
            collect_words: true,
            record_names: true,
            lookup,
            used: BTreeSet::new(),
            unset: BTreeSet::new(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let ch = self.peek();
        if ch.is_some() {
            self.pos += 1;
        }
        ch
    }

    fn get_env(&mut self, name: &str) -> Option<String> {
        let value = (self.lookup)(name);
        if !self.record_names {
            return value;
        }
        if value.is_some() {
            self.used.insert(name.to_string());
        } else {
            self.unset.insert(name.to_string());
        }
        value
    }

    /// Processes up to `stop` (consumed) or the end; returns the text and its words.
    fn process_stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>), String> {
        let saved = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let result = self.process_stop_on_inner(stop);
        self.raw_escapes = saved;
        result
    }

    fn process_stop_on_inner(
        &mut self,
        stop: Option<char>,
    ) -> Result<(String, Vec<String>), String> {
        // Most words expand to about their own length.
        let mut result = String::with_capacity(self.chars.len() - self.pos);
        let mut words = Words::new(self.collect_words);
        let escape = self.lexer.escape;
        while let Some(ch) = self.peek() {
            if stop == Some(ch) {
                self.next();
                return Ok((result, words.finish()));
            }
            match ch {
                '$' => {
                    let text = self.process_dollar()?;
                    result.push_str(&text);
                    words.add_string(&text);
                }
                '<' => {
                    let text = self.process_possible_heredoc();
                    result.push_str(&text);
                    words.add_raw_string(&text);
                }
                '\'' if !self.lexer.skip_process_quotes => {
                    let text = self.process_single_quote()?;
                    result.push_str(&text);
                    words.add_raw_string(&text);
                }
                '"' if !self.lexer.skip_process_quotes => {
                    let text = self.process_double_quote()?;
                    result.push_str(&text);
                    words.add_raw_string(&text);
                }
                _ => {
                    self.next();
                    if ch == escape {
                        if self.raw_escapes {
                            words.add_raw_char(ch);
                            result.push(ch);
                        }
                        // The escape token escapes the next character; at the end it vanishes.
                        let Some(escaped) = self.next() else { break };
                        words.add_raw_char(escaped);
                        result.push(escaped);
                    } else {
                        words.add_char(ch);
                        result.push(ch);
                    }
                }
            }
        }
        if let Some(stop) = stop {
            return Err(format!(
                "unexpected end of statement while looking for matching {stop}"
            ));
        }
        Ok((result, words.finish()))
    }

    fn process_single_quote(&mut self) -> Result<String, String> {
        // Everything up to the next single quote is literal; a single quote cannot be escaped.
        let mut result = String::new();
        let open = self.next();
        if self.lexer.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.next() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching single-quote"
                            .to_string(),
                    );
                }
                Some('\'') => {
                    if self.lexer.raw_quotes {
                        result.push('\'');
                    }
                    return Ok(result);
                }
                Some(ch) => result.push(ch),
            }
        }
    }

    fn process_double_quote(&mut self) -> Result<String, String> {
        // Literal except `$` references; the escape token only escapes `"`, `$` and itself.
        let mut result = String::new();
        let open = self.next();
        if self.lexer.raw_quotes {
            result.extend(open);
        }
        let escape = self.lexer.escape;
        loop {
            match self.peek() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching double-quote"
                            .to_string(),
                    );
                }
                Some('"') => {
                    self.next();
                    if self.lexer.raw_quotes {
                        result.push('"');
                    }
                    return Ok(result);
                }
                Some('$') => {
                    let text = self.process_dollar()?;
                    result.push_str(&text);
                }
                Some(mut ch) => {
                    self.next();
                    if ch == escape {
                        if self.raw_escapes {
                            result.push(ch);
                        }
                        match self.peek() {
                            None => continue,
                            Some(next) if next == '"' || next == '$' || next == escape => {
                                self.next();
                                ch = next;
                            }
                            Some(_) => {}
                        }
                    }
                    result.push(ch);
                }
            }
        }
    }

    fn process_dollar(&mut self) -> Result<String, String> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.process_name();
            if name.is_empty() {
                return Ok("$".to_string());
            }
            return Ok(match self.get_env(&name) {
                Some(value) => value,
                None if self.lexer.skip_unset => format!("${name}"),
                None => String::new(),
            });
        }
        self.next();
        match self.peek() {
            None => return Err("syntax error: missing '}'".to_string()),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution".to_string()),
            Some(_) => {}
        }
        let name = self.process_name();
        let ch = self.next();
        match ch {
            Some('}') => Ok(match self.get_env(&name) {
                Some(value) => value,
                None if self.lexer.skip_unset => format!("${{{name}}}"),
                None => String::new(),
            }),
            Some(':' | '+' | '-' | '?' | '#' | '%') => self.process_modifier(name, ch),
            Some('/') => self.process_replace(name),
            _ => Err(format!(
                "unsupported modifier ({}) in substitution",
                ch.map(String::from).unwrap_or_default()
            )),
        }
    }

    fn process_modifier(&mut self, name: String, first: Option<char>) -> Result<String, String> {
        let mut modifier: String = first.into_iter().collect();
        let mut op = first;
        let null_is_unset = first == Some(':');
        if null_is_unset {
            op = self.next();
            modifier.extend(op);
        }
        let trims = matches!(op, Some('#' | '%'));
        if null_is_unset && trims {
            return Err(format!("unsupported modifier ({modifier}) in substitution"));
        }
        let word = self.process_stop_on(Some('}'), trims).map_err(|message| {
            if self.peek().is_none() {
                "syntax error: missing '}'".to_string()
            } else {
                message
            }
        })?;
        let word = word.0;
        let value = self.get_env(&name);
        if self.lexer.skip_unset && value.is_none() {
            return Ok(format!("${{{name}{modifier}{word}}}"));
        }
        let empty_or_unset = match &value {
            None => true,
            Some(value) => null_is_unset && value.is_empty(),
        };
        match op {
            Some('-') => Ok(if empty_or_unset {
                word
            } else {
                value.unwrap_or_default()
            }),
            Some('+') => Ok(if empty_or_unset { String::new() } else { word }),
            Some('?') => match value {
                None => Err(format!(
                    "{name}: {}",
                    if word.is_empty() {
                        "is not allowed to be unset"
                    } else {
                        &word
                    }
                )),
                Some(value) if null_is_unset && value.is_empty() => Err(format!(
                    "{name}: {}",
                    if word.is_empty() {
                        "is not allowed to be empty"
                    } else {
                        &word
                    }
                )),
                Some(value) => Ok(value),
            },
            Some(op @ ('#' | '%')) => {
                // `#`/`%` remove the shortest match, `##`/`%%` the longest.
                let (greedy, pattern) = match word.strip_prefix(op) {
                    Some(rest) => (true, rest),
                    None => (false, word.as_str()),
                };
                let pattern = Pattern::parse(pattern)?;
                let value = value.unwrap_or_default();
                Ok(if op == '#' {
                    pattern.trim_prefix(&value, greedy)
                } else {
                    pattern.trim_suffix(&value, greedy)
                })
            }
            _ => Err(format!("unsupported modifier ({modifier}) in substitution")),
        }
    }

    fn process_replace(&mut self, name: String) -> Result<String, String> {
        let replace_all = self.peek() == Some('/');
        if replace_all {
            self.next();
        }
        let (pattern, _) = self.process_stop_on(Some('/'), true).map_err(|message| {
            if self.peek().is_none() {
                "syntax error: missing '/' in ${}".to_string()
            } else {
                message
            }
        })?;
        let (replacement, _) = self.process_stop_on(Some('}'), true).map_err(|message| {
            if self.peek().is_none() {
                "syntax error: missing '}'".to_string()
            } else {
                message
            }
        })?;
        let value = self.get_env(&name);
        if self.lexer.skip_unset && value.is_none() {
            return Ok(format!("${{{name}/{pattern}/{replacement}}}"));
        }
        let compiled = Pattern::parse(&pattern)?;
        Ok(compiled.replace(&value.unwrap_or_default(), &replacement, replace_all))
    }

    /// A variable name: letters, digits and `_`; or all digits (positional); or one
    /// special parameter character.
    fn process_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_numeric() {
                while let Some(digit) = self.peek().filter(|c| c.is_numeric()) {
                    self.next();
                    name.push(digit);
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                return ch.to_string();
            }
            if !ch.is_alphanumeric() && ch != '_' {
                break;
            }
            self.next();
            name.push(ch);
        }
        name
    }

    /// `<<` keeps the whitespace after it in the same word, so `<< EOF` is one word.
    fn process_possible_heredoc(&mut self) -> String {
        self.next();
        if self.peek() != Some('<') {
            return "<".to_string();
        }
        self.next();
        let mut result = "<<".to_string();
        while let Some(ch) = self.peek().filter(|c| matches!(c, '\t' | '\r' | ' ')) {
            self.next();
            result.push(ch);
        }
        result
    }
}

#[cfg(test)]
#[path = "shell_tests.rs"]
mod tests;
