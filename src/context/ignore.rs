//! `.dockerignore` files and the pattern matcher BuildKit filters contexts with.
//!
//! The semantics are moby/patternmatcher's (used by the Docker CLI, the Dockerfile
//! frontend and fsutil), not gitignore's: every pattern is anchored at the context
//! root, `*` and `?` never cross a `/`, `**` crosses any number of directories, and a
//! path counts as matched when it or any of its parent directories matches. Patterns
//! are tried in order; a later `!pattern` takes a path back out again.
//!
//! Each pattern is translated to a regular expression the way patternmatcher does
//! it, including its shortcuts (exact, prefix and suffix comparisons) and its quirks
//! (`**file` is a plain suffix test, so it also takes `myfile`). Where the regex
//! dialects differ (Go's RE2 versus the `regex` crate), the translated text is
//! adjusted so that it means in Rust what it meant in Go.

use regex::Regex;

use super::ContextError;
use super::gopath;

/// The patterns of a `.dockerignore` file, as the Docker CLI and BuildKit's
/// `dockerignore` reader produce them: a UTF-8 BOM dropped; lines whose first
/// character is `#` skipped (an indented `#` is a pattern); whitespace trimmed; blank
/// lines skipped; each pattern cleaned like Go `filepath.Clean` with one leading `/`
/// removed (the context root is `/`), a leading `!` kept in front.
pub fn parse_dockerignore(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut patterns = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut pattern = line.trim();
        if pattern.is_empty() {
            continue;
        }
        let exception = pattern.starts_with('!');
        if exception {
            pattern = pattern[1..].trim();
        }
        let mut cleaned = String::new();
        if !pattern.is_empty() {
            cleaned = gopath::clean(pattern);
            if cleaned.len() > 1
                && let Some(relative) = cleaned.strip_prefix('/')
            {
                cleaned = relative.to_string();
            }
        }
        patterns.push(if exception {
            format!("!{cleaned}")
        } else {
            cleaned
        });
    }
    patterns
}

/// A list of patterns, checked in order against `/`-separated relative paths.
#[derive(Clone, Debug)]
pub struct PatternMatcher {
    patterns: Vec<Pattern>,
    exclusions: bool,
}

/// One pattern of a [`PatternMatcher`], cleaned, without its `!`.
#[derive(Clone, Debug)]
pub struct Pattern {
    cleaned: String,
    exclusion: bool,
    compiled: Compiled,
}

/// How a pattern is compared, as patternmatcher decides it from the pattern text.
#[derive(Clone, Debug)]
enum Compiled {
    /// No wildcard: the path must equal the pattern.
    Exact,
    /// `dir/**`: the path must start with `dir/`.
    Prefix,
    /// `**/name` or `**name`: the path must end with `/name` (or `name`), or be `name`.
    Suffix,
    Regex(Regex),
    /// patternmatcher accepts a pattern that Go's `filepath.Match` accepts but whose
    /// translation does not compile (`[Local-Only]`), and fails each match with it.
    Broken,
}

/// Per-pattern results for the parent directory of the path being matched, carried
/// down a walk so that each path is matched once, not once per ancestor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MatchInfo {
    parent_matched: Vec<bool>,
}

impl PatternMatcher {
    /// Compiles patterns (a `!` prefix marks an exception). Blank patterns are
    /// skipped; each is trimmed and cleaned. A lone `!` and any pattern Go's
    /// `filepath.Match` rejects are errors.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<PatternMatcher, ContextError> {
        let mut compiled = Vec::with_capacity(patterns.len());
        let mut exclusions = false;
        for pattern in patterns {
            let trimmed = pattern.as_ref().trim();
            if trimmed.is_empty() {
                continue;
            }
            let mut cleaned = gopath::clean(trimmed);
            let exclusion = cleaned.starts_with('!');
            if exclusion {
                if cleaned.len() == 1 {
                    return Err(ContextError::BadPattern {
                        pattern: pattern.as_ref().to_string(),
                        reason: "illegal exclusion pattern: \"!\"",
                    });
                }
                cleaned.remove(0);
                exclusions = true;
            }
            if gopath::match_pattern(&cleaned, ".").is_err() {
                return Err(ContextError::BadPattern {
                    pattern: pattern.as_ref().to_string(),
                    reason: "syntax error in pattern",
                });
            }
            let compiled_form = compile(&cleaned);
            compiled.push(Pattern {
                cleaned,
                exclusion,
                compiled: compiled_form,
            });
        }
        Ok(PatternMatcher {
            patterns: compiled,
            exclusions,
        })
    }

    /// Whether any pattern is an exception (`!pattern`).
    pub fn exclusions(&self) -> bool {
        self.exclusions
    }

    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Whether `path` or one of its parent directories matches, the last pattern
    /// that applies deciding (patternmatcher `MatchesOrParentMatches`). `path` is
    /// relative and `/`-separated.
    pub fn matches_or_parent_matches(&self, path: &str) -> Result<bool, ContextError> {
        let parents = parent_prefixes(path);
        let mut matched = false;
        for pattern in &self.patterns {
            // An include pattern cannot change an already matched path, nor an
            // exception an unmatched one.
            if pattern.exclusion != matched {
                continue;
            }
            let mut hit = pattern.matches(path)?;
            if !hit {
                for parent in &parents {
                    // patternmatcher ignores errors on parents: the path itself
                    // has been matched with the same pattern already.
                    if pattern.matches(parent).unwrap_or(false) {
                        hit = true;
                        break;
                    }
                }
            }
            if hit {
                matched = !pattern.exclusion;
            }
        }
        Ok(matched)
    }

    /// The same decision as [`PatternMatcher::matches_or_parent_matches`], reusing
    /// the parent directory's per-pattern results (patternmatcher
    /// `MatchesUsingParentResults`, what fsutil's walker calls). With an empty
    /// `parent` the ancestors are matched from scratch.
    pub fn matches_using_parent_results(
        &self,
        path: &str,
        parent: &MatchInfo,
    ) -> Result<(bool, MatchInfo), ContextError> {
        let known = &parent.parent_matched;
        if !known.is_empty() && known.len() != self.patterns.len() {
            return Err(ContextError::BadPattern {
                pattern: path.to_string(),
                reason: "parent match info is for another pattern list",
            });
        }
        let mut matched = false;
        let mut info = MatchInfo {
            parent_matched: vec![false; self.patterns.len()],
        };
        for (index, pattern) in self.patterns.iter().enumerate() {
            let mut hit = known.get(index).copied().unwrap_or(false);
            if !hit {
                if pattern.exclusion != matched {
                    continue;
                }
                hit = pattern.matches(path)?;
                if !hit && known.is_empty() {
                    hit = parent_prefixes(path)
                        .iter()
                        .any(|parent| pattern.matches(parent).unwrap_or(false));
                }
            }
            info.parent_matched[index] = hit;
            if hit {
                matched = !pattern.exclusion;
            }
        }
        Ok((matched, info))
    }
}

impl Pattern {
    /// The cleaned pattern, without its `!`.
    pub fn as_str(&self) -> &str {
        &self.cleaned
    }

    pub fn is_exclusion(&self) -> bool {
        self.exclusion
    }

    fn matches(&self, path: &str) -> Result<bool, ContextError> {
        Ok(match &self.compiled {
            Compiled::Exact => path == self.cleaned,
            Compiled::Prefix => path.starts_with(&self.cleaned[..self.cleaned.len() - 2]),
            Compiled::Suffix => {
                let suffix = &self.cleaned[2..];
                path.ends_with(suffix) || suffix.strip_prefix('/').is_some_and(|bare| path == bare)
            }
            Compiled::Regex(regex) => regex.is_match(path),
            Compiled::Broken => {
                return Err(ContextError::BadPattern {
                    pattern: self.cleaned.clone(),
                    reason: "pattern does not translate to a valid regular expression",
                });
            }
        })
    }
}

/// `a`, `a/b` for `a/b/c`: the parent directories patternmatcher tries, built from
/// Go's `filepath.Dir` (so `file/` has the parent `file`, and `/` has `` and `/`).
fn parent_prefixes(path: &str) -> Vec<String> {
    let parent = gopath::dir(path);
    if parent == "." {
        return Vec::new();
    }
    let parts: Vec<&str> = parent.split('/').collect();
    (1..=parts.len()).map(|n| parts[..n].join("/")).collect()
}

/// The kind of comparison patternmatcher would pick, before the regex is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Detected {
    Exact,
    Prefix,
    Suffix,
    Regex,
}

fn compile(cleaned: &str) -> Compiled {
    let (detected, go_regex) = translate(cleaned);
    match detected {
        Detected::Exact => Compiled::Exact,
        Detected::Prefix => Compiled::Prefix,
        Detected::Suffix => Compiled::Suffix,
        Detected::Regex => match go_regex_to_rust(&go_regex).map(|rust| Regex::new(&rust)) {
            Some(Ok(regex)) => Compiled::Regex(regex),
            _ => Compiled::Broken,
        },
    }
}

/// The regex patternmatcher builds for a cleaned pattern, in Go's syntax, and the
/// comparison it settles on. `*` is `[^/]*`, `?` is `[^/]`, `**/` is `(.*/)?`, a
/// trailing `**` is `.*`; `.+()$` are escaped; `\x` stays an escape; `[` and `]`
/// pass through, so classes are handed to the regex engine as written.
///
/// patternmatcher means to escape `|`, `{` and `}` as well, but the bitmap it keeps
/// them in has no room for characters above 63, so they reach the regex raw: `a*|b`
/// is an alternation. We do the same, or our walk would disagree with the daemon's.
fn translate(pattern: &str) -> (Detected, String) {
    let chars: Vec<char> = pattern.chars().collect();
    let mut regex = String::from("^");
    let mut detected = Detected::Exact;
    let mut at = 0;
    let mut first_token = true;
    while at < chars.len() {
        let ch = chars[at];
        at += 1;
        match ch {
            '*' if chars.get(at) == Some(&'*') => {
                at += 1;
                if chars.get(at) == Some(&'/') {
                    at += 1;
                }
                if at == chars.len() {
                    // A trailing `**` takes everything, as in .gitignore.
                    if detected == Detected::Exact {
                        detected = Detected::Prefix;
                    } else {
                        regex.push_str(".*");
                        detected = Detected::Regex;
                    }
                } else {
                    regex.push_str("(.*/)?");
                    detected = Detected::Regex;
                }
                if first_token {
                    detected = Detected::Suffix;
                }
            }
            '*' => {
                regex.push_str("[^/]*");
                detected = Detected::Regex;
            }
            '?' => {
                regex.push_str("[^/]");
                detected = Detected::Regex;
            }
            '.' | '+' | '(' | ')' | '$' => {
                regex.push('\\');
                regex.push(ch);
            }
            '\\' => {
                regex.push('\\');
                if let Some(&escaped) = chars.get(at) {
                    at += 1;
                    regex.push(escaped);
                    detected = Detected::Regex;
                }
            }
            '[' | ']' => {
                regex.push(ch);
                detected = Detected::Regex;
            }
            _ => regex.push(ch),
        }
        first_token = false;
    }
    if detected == Detected::Regex {
        regex.push('$');
    }
    (detected, regex)
}

/// Rewrites a Go (RE2) regex so the `regex` crate reads it the same way, or `None`
/// where RE2 would refuse it. The differences that patternmatcher's output can run
/// into:
/// - Inside a class Rust nests classes (`[a[b]]`) and has set operators (`&&`,
///   `--`, `~~`), where RE2 has plain characters: there a `[` that does not open
///   `[:name:]`, every `&` and `~`, and the second `-` of a `--` are escaped. A `]`
///   right after `[` or `[^` is a character in both.
/// - RE2 reads a `{` that does not start `{n}`, `{n,}` or `{n,m}` as a character
///   (and so a lone `}`); Rust rejects both. They are escaped.
/// - RE2 refuses a repetition of a repetition (`[^/]*{2}`, `a{2}{3}`; one `?` after
///   a repetition makes it lazy) and counts above 1000; Rust accepts them.
fn go_regex_to_rust(go: &str) -> Option<String> {
    let chars: Vec<char> = go.chars().collect();
    let mut out = String::with_capacity(go.len() + 8);
    let mut at = 0;
    let mut in_class = false;
    // The previous token outside a class was a repetition operator.
    let mut after_repeat = false;
    while at < chars.len() {
        let ch = chars[at];
        at += 1;
        if in_class {
            match ch {
                '\\' => {
                    out.push('\\');
                    if let Some(&escaped) = chars.get(at) {
                        out.push(escaped);
                        at += 1;
                    }
                }
                ']' => {
                    out.push(']');
                    in_class = false;
                }
                '[' if chars.get(at) == Some(&':') => {
                    // As in RE2, the name's closing `:]` is looked for after the `[:`.
                    let rest: String = chars[at + 1..].iter().collect();
                    match rest.find(":]") {
                        Some(end) => {
                            let named = &rest[..end + 2];
                            out.push_str("[:");
                            out.push_str(named);
                            at += 1 + named.chars().count();
                        }
                        None => out.push_str("\\["),
                    }
                }
                '[' | '&' | '~' => {
                    out.push('\\');
                    out.push(ch);
                }
                '-' if out.ends_with('-') && !out.ends_with("\\-") => out.push_str("\\-"),
                _ => out.push(ch),
            }
            continue;
        }
        let repetition = match ch {
            '*' | '+' | '?' => Some((1, true)),
            '{' => counted_repetition(&chars[at - 1..]),
            _ => None,
        };
        if let Some((len, accepted)) = repetition {
            if after_repeat || !accepted {
                return None;
            }
            out.extend(&chars[at - 1..at - 1 + len]);
            at += len - 1;
            if chars.get(at) == Some(&'?') {
                out.push('?');
                at += 1;
            }
            after_repeat = true;
            continue;
        }
        after_repeat = false;
        match ch {
            '\\' => {
                out.push('\\');
                if let Some(&escaped) = chars.get(at) {
                    out.push(escaped);
                    at += 1;
                }
            }
            '{' | '}' => {
                out.push('\\');
                out.push(ch);
            }
            '[' => {
                out.push('[');
                in_class = true;
                if chars.get(at) == Some(&'^') {
                    out.push('^');
                    at += 1;
                }
                if chars.get(at) == Some(&']') {
                    out.push(']');
                    at += 1;
                }
            }
            _ => out.push(ch),
        }
    }
    Some(out)
}

/// A counted repetition (`{2}`, `{2,}`, `{2,5}`) at the start of `chars`, as RE2
/// recognises one: its length, and whether RE2 accepts its counts (at most 1000,
/// min not above max).
fn counted_repetition(chars: &[char]) -> Option<(usize, bool)> {
    let number = |from: usize| -> (usize, Option<u32>) {
        let digits: String = chars[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        (digits.len(), digits.parse().ok())
    };
    let (n_min_digits, min) = number(1);
    if n_min_digits == 0 {
        return None;
    }
    let mut at = 1 + n_min_digits;
    let mut max = min;
    let mut open_ended = false;
    if chars.get(at) == Some(&',') {
        let (n_max_digits, parsed) = number(at + 1);
        at += 1 + n_max_digits;
        open_ended = n_max_digits == 0;
        max = parsed;
    }
    if chars.get(at) != Some(&'}') {
        return None;
    }
    let within = |count: Option<u32>| count.is_some_and(|count| count <= 1000);
    let accepted = within(min) && (open_ended || (within(max) && min <= max));
    Some((at + 1, accepted))
}

#[cfg(test)]
#[path = "ignore_tests.rs"]
mod tests;
