//! Shell patterns for `${VAR#pat}`, `${VAR%pat}` and `${VAR/pat/repl}`, matched
//! without regular expressions.

/// A shell pattern as `${VAR#pat}` uses it: `*`, `?`, literals; `\` escapes `*`, `?`, `\`,
/// and is dropped before `}` and `/`. No bracket expressions (BuildKit has none either).
#[derive(Debug)]
pub(crate) struct Pattern {
    tokens: Vec<Token>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Token {
    Star,
    Any,
    Literal(char),
}

impl Pattern {
    pub(crate) fn parse(pattern: &str) -> Result<Pattern, String> {
        let invalid =
            |message: String| format!("invalid pattern ({pattern}) in substitution: {message}");
        let mut tokens = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(ch) = chars.next() {
            tokens.push(match ch {
                '*' => Token::Star,
                '?' => Token::Any,
                '\\' => {
                    if matches!(chars.peek(), Some('}' | '/')) {
                        continue;
                    }
                    match chars.next() {
                        Some(escaped @ ('*' | '?' | '\\')) => Token::Literal(escaped),
                        Some(other) => return Err(invalid(format!("invalid escape '\\{other}'"))),
                        None => return Err(invalid("invalid escape '\\' at end".to_string())),
                    }
                }
                other => Token::Literal(other),
            });
        }
        Ok(Pattern { tokens })
    }

    /// Whether the pattern matches all of `text` (dynamic programming, no backtracking
    /// blow-up on `****`).
    fn matches(&self, text: &[char]) -> bool {
        // reachable[j]: the tokens so far can match text[..j].
        let mut reachable = vec![false; text.len() + 1];
        reachable[0] = true;
        for token in &self.tokens {
            let mut next = vec![false; text.len() + 1];
            match token {
                Token::Star => {
                    let mut any = false;
                    for j in 0..=text.len() {
                        any |= reachable[j];
                        next[j] = any;
                    }
                }
                Token::Any => {
                    next[1..].copy_from_slice(&reachable[..text.len()]);
                }
                Token::Literal(ch) => {
                    for j in 0..text.len() {
                        next[j + 1] = reachable[j] && text[j] == *ch;
                    }
                }
            }
            reachable = next;
        }
        reachable[text.len()]
    }

    pub(crate) fn trim_prefix(&self, value: &str, greedy: bool) -> String {
        let chars: Vec<char> = value.chars().collect();
        let mut lengths = 0..=chars.len();
        let found = if greedy {
            lengths.rev().find(|&k| self.matches(&chars[..k]))
        } else {
            lengths.find(|&k| self.matches(&chars[..k]))
        };
        match found {
            Some(k) => chars[k..].iter().collect(),
            None => value.to_string(),
        }
    }

    pub(crate) fn trim_suffix(&self, value: &str, greedy: bool) -> String {
        let chars: Vec<char> = value.chars().collect();
        let mut starts = 0..=chars.len();
        // The longest suffix starts earliest; the shortest starts latest.
        let found = if greedy {
            starts.find(|&i| self.matches(&chars[i..]))
        } else {
            starts.rev().find(|&i| self.matches(&chars[i..]))
        };
        match found {
            Some(i) => chars[..i].iter().collect(),
            None => value.to_string(),
        }
    }

    /// The leftmost match's longest extent starting at `start`.
    fn longest_match_at(&self, chars: &[char], start: usize) -> Option<usize> {
        (start..=chars.len())
            .rev()
            .find(|&end| self.matches(&chars[start..end]))
    }

    pub(crate) fn replace(&self, value: &str, replacement: &str, all: bool) -> String {
        let chars: Vec<char> = value.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        let mut last_end = None;
        let mut replaced = false;
        while i <= chars.len() {
            if (!replaced || all)
                && let Some(end) = self.longest_match_at(&chars, i)
            {
                // As with Go's ReplaceAll, an empty match right after a match is skipped.
                if !(end == i && last_end == Some(i)) {
                    out.push_str(replacement);
                    replaced = true;
                    last_end = Some(end);
                    if end > i {
                        i = end;
                        continue;
                    }
                }
            }
            if let Some(&ch) = chars.get(i) {
                out.push(ch);
            }
            i += 1;
        }
        out
    }
}
