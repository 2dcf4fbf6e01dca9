//! The few pieces of Go's `path/filepath` (Unix flavour) whose exact behaviour the
//! build context has to reproduce: `Clean`, `Dir`, `Join`, `Match` and fsutil's
//! `containsWildcards`. BuildKit, the Docker CLI and fsutil all run these on every
//! pattern and path, so "close enough" would make our walk disagree with the
//! daemon's about which files exist.

/// Go's `Match` reports one error only: the pattern is malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadPattern;

/// Go `filepath.Clean` on Unix: the shortest lexically equal path. `..` at the
/// start of a relative path is kept, at the root of an absolute one dropped; the
/// empty path becomes `.`.
pub fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Go `filepath.Dir`: everything before the last `/`, cleaned.
pub fn dir(path: &str) -> String {
    match path.rfind('/') {
        Some(slash) => clean(&path[..=slash]),
        None => ".".to_string(),
    }
}

/// Go `filepath.Join` of two elements: empty elements are dropped, the rest joined
/// with `/` and cleaned.
pub fn join(first: &str, second: &str) -> String {
    match (first.is_empty(), second.is_empty()) {
        (true, true) => String::new(),
        (true, false) => clean(second),
        (false, true) => clean(first),
        (false, false) => clean(&format!("{first}/{second}")),
    }
}

/// fsutil's `containsWildcards`: an unescaped `*`, `?` or `[`.
pub fn contains_wildcards(name: &str) -> bool {
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'*' | b'?' | b'[' => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// Go `filepath.Match` on Unix: `*` (no `/`), `?` (one char, not `/`), `[...]` and
/// `[^...]` classes with ranges, `\` escapes. A chunk (the text between stars) is
/// checked for syntax to its end even when the name stops matching inside it, so
/// `.` reveals most malformed patterns, as patternmatcher relies on; a malformed
/// chunk after the one that failed goes unnoticed, as in Go.
pub fn match_pattern(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let mut pattern = pattern.as_bytes();
    let mut name = name.as_bytes();
    'chunks: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // A trailing star takes the rest of the name unless a `/` is left.
            return Ok(!name.contains(&b'/'));
        }
        let at_start = match_chunk(chunk, name);
        if let Ok(Some(after)) = at_start
            && (after.is_empty() || !pattern.is_empty())
        {
            name = after;
            continue;
        }
        at_start?;
        if star {
            // Let the star take one more byte each round, never a `/`.
            let mut skip = 0;
            while skip < name.len() && name[skip] != b'/' {
                if let Some(after) = match_chunk(chunk, &name[skip + 1..])? {
                    // The last chunk has to use up the name.
                    if pattern.is_empty() && !after.is_empty() {
                        skip += 1;
                        continue;
                    }
                    name = after;
                    continue 'chunks;
                }
                skip += 1;
            }
        }
        // Unlike `path.Match`, `filepath.Match` (Go 1.24) does not check the
        // chunks after the first that fails, so `a*[` matches nothing without error.
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Splits off leading stars and the chunk up to the next star outside a class.
fn scan_chunk(pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let stars = pattern.iter().take_while(|&&b| b == b'*').count();
    let pattern = &pattern[stars..];
    let mut in_class = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_class = true,
            b']' => in_class = false,
            b'*' if !in_class => break,
            _ => {}
        }
        i += 1;
    }
    (stars > 0, &pattern[..i], &pattern[i..])
}

/// Matches one star-free chunk against the start of `name`; `Some(rest)` on a
/// match. Keeps parsing after a mismatch so that syntax errors are always found.
fn match_chunk<'n>(mut chunk: &[u8], mut name: &'n [u8]) -> Result<Option<&'n [u8]>, BadPattern> {
    let mut failed = false;
    while let Some(&first) = chunk.first() {
        if !failed && name.is_empty() {
            failed = true;
        }
        match first {
            b'[' => {
                let mut ch = '\0';
                if !failed {
                    let (decoded, width) = decode_char(name);
                    ch = decoded;
                    name = &name[width..];
                }
                chunk = &chunk[1..];
                let negated = chunk.first() == Some(&b'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut n_ranges = 0;
                loop {
                    if chunk.first() == Some(&b']') && n_ranges > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = class_char(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&b'-') {
                        let (end, rest) = class_char(&chunk[1..])?;
                        hi = end;
                        chunk = rest;
                    }
                    if lo <= ch && ch <= hi {
                        matched = true;
                    }
                    n_ranges += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    if name[0] == b'/' {
                        failed = true;
                    }
                    name = &name[decode_char(name).1..];
                }
                chunk = &chunk[1..];
            }
            _ => {
                if first == b'\\' {
                    chunk = &chunk[1..];
                    if chunk.is_empty() {
                        return Err(BadPattern);
                    }
                }
                if !failed {
                    if chunk[0] != name[0] {
                        failed = true;
                    }
                    name = &name[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    Ok(if failed { None } else { Some(name) })
}

/// One possibly escaped character of a class. A class may not end here, and an
/// unescaped `-` or `]` is not a character, as in Go.
fn class_char(chunk: &[u8]) -> Result<(char, &[u8]), BadPattern> {
    let mut chunk = match chunk.first() {
        None | Some(b'-') | Some(b']') => return Err(BadPattern),
        Some(b'\\') => &chunk[1..],
        Some(_) => chunk,
    };
    if chunk.is_empty() {
        return Err(BadPattern);
    }
    let (ch, width) = decode_char(chunk);
    if ch == char::REPLACEMENT_CHARACTER && width == 1 {
        return Err(BadPattern);
    }
    chunk = &chunk[width..];
    if chunk.is_empty() {
        return Err(BadPattern);
    }
    Ok((ch, chunk))
}

/// Go's `utf8.DecodeRune`: the first character and its width, or U+FFFD of width 1
/// for a byte that does not start valid UTF-8 (the star loop may cut a character).
fn decode_char(bytes: &[u8]) -> (char, usize) {
    for width in 1..=bytes.len().min(4) {
        if let Ok(text) = std::str::from_utf8(&bytes[..width])
            && let Some(ch) = text.chars().next()
        {
            return (ch, width);
        }
    }
    (char::REPLACEMENT_CHARACTER, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_matches_go() {
        let cases = [
            ("", "."),
            (".", "."),
            ("/", "/"),
            ("//a//b/", "/a/b"),
            ("a/./b/../c", "a/c"),
            ("../x", "../x"),
            ("a/../../x", "../x"),
            ("/../x", "/x"),
            ("!a/../b", "b"),
            ("docs/", "docs"),
            ("**/", "**"),
        ];
        for (input, want) in cases {
            assert_eq!(clean(input), want, "clean({input:?})");
        }
    }

    #[test]
    fn dir_and_join_match_go() {
        assert_eq!(dir("a/b/c"), "a/b");
        assert_eq!(dir("file/"), "file");
        assert_eq!(dir("/"), "/");
        assert_eq!(dir("file"), ".");
        assert_eq!(join(".", "a/../b"), "b");
        assert_eq!(join("/x", "y"), "/x/y");
        assert_eq!(join("", "y/"), "y");
    }

    #[test]
    fn wildcards_ignore_escaped_characters() {
        assert!(contains_wildcards("a*"));
        assert!(contains_wildcards("[ab]"));
        assert!(!contains_wildcards(r"a\*b"));
        assert!(!contains_wildcards("plain/path"));
    }

    #[test]
    fn match_pattern_agrees_with_go_on_its_own_table() {
        // Go's path/filepath match_test.go table, as data: pattern, name, result.
        let bad = Err(BadPattern);
        let cases: &[(&str, &str, Result<bool, BadPattern>)] = &[
            ("abc", "abc", Ok(true)),
            ("*", "abc", Ok(true)),
            ("*c", "abc", Ok(true)),
            ("a*", "a", Ok(true)),
            ("a*", "abc", Ok(true)),
            ("a*", "ab/c", Ok(false)),
            ("a*/b", "abc/b", Ok(true)),
            ("a*/b", "a/c/b", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Ok(false)),
            ("a*b?c*x", "abxbbxdbxebxczzx", Ok(true)),
            ("a*b?c*x", "abxbbxdbxebxczzy", Ok(false)),
            ("ab[c]", "abc", Ok(true)),
            ("ab[b-d]", "abc", Ok(true)),
            ("ab[e-g]", "abc", Ok(false)),
            ("ab[^c]", "abc", Ok(false)),
            ("ab[^b-d]", "abc", Ok(false)),
            ("ab[^e-g]", "abc", Ok(true)),
            ("a\\*b", "a*b", Ok(true)),
            ("a\\*b", "ab", Ok(false)),
            ("a?b", "a☺b", Ok(true)),
            ("a[^a]b", "a☺b", Ok(true)),
            ("a???b", "a☺b", Ok(false)),
            ("a[^a][^a][^a]b", "a☺b", Ok(false)),
            ("[a-ζ]*", "α", Ok(true)),
            ("*[a-ζ]", "A", Ok(false)),
            ("a?b", "a/b", Ok(false)),
            ("a*b", "a/b", Ok(false)),
            ("[\\]a]", "]", Ok(true)),
            ("[\\-]", "-", Ok(true)),
            ("[x\\-]", "x", Ok(true)),
            ("[x\\-]", "-", Ok(true)),
            ("[x\\-]", "z", Ok(false)),
            ("[\\-x]", "x", Ok(true)),
            ("[\\-x]", "-", Ok(true)),
            ("[\\-x]", "a", Ok(false)),
            ("[]a]", "]", bad),
            ("[-]", "-", bad),
            ("[x-]", "x", bad),
            ("[x-]", "-", bad),
            ("[x-]", "z", bad),
            ("[-x]", "x", bad),
            ("[-x]", "-", bad),
            ("[-x]", "a", bad),
            ("\\", "a", bad),
            ("[a-b-c]", "a", bad),
            ("[", "a", bad),
            ("[^", "a", bad),
            ("[^bc", "a", bad),
            ("a[", "a", bad),
            ("a[", "ab", bad),
            ("a[", "x", bad),
            ("a/b[", "x", bad),
            ("*x", "xxx", Ok(true)),
        ];
        for &(pattern, name, want) in cases {
            assert_eq!(
                match_pattern(pattern, name),
                want,
                "match({pattern:?}, {name:?})"
            );
        }
    }
}
