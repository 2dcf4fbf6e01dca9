//! sprig's string functions.

use std::collections::BTreeMap;

use base64::Engine as _;
use sha2::Digest as _;

use super::printf::go_quote;
use super::{Entry, FuncResult, call_error, int_arg, string_arg, to_string};
use crate::werf::template::exec::State;
use crate::werf::template::value::Value;

pub const FUNCS: &[Entry] = &[
    ("quote", 0, None, quote),
    ("squote", 0, None, squote),
    ("cat", 0, None, cat),
    ("indent", 2, Some(2), indent),
    ("nindent", 2, Some(2), nindent),
    ("trim", 1, Some(1), trim),
    ("trimAll", 2, Some(2), trim_all),
    ("trimall", 2, Some(2), trim_all),
    ("trimPrefix", 2, Some(2), trim_prefix),
    ("trimSuffix", 2, Some(2), trim_suffix),
    ("hasPrefix", 2, Some(2), has_prefix),
    ("hasSuffix", 2, Some(2), has_suffix),
    ("contains", 2, Some(2), contains),
    ("replace", 3, Some(3), replace),
    ("upper", 1, Some(1), upper),
    ("lower", 1, Some(1), lower),
    ("title", 1, Some(1), title),
    ("untitle", 1, Some(1), untitle),
    ("camelcase", 1, Some(1), camelcase),
    ("snakecase", 1, Some(1), snakecase),
    ("kebabcase", 1, Some(1), kebabcase),
    ("repeat", 2, Some(2), repeat),
    ("substr", 3, Some(3), substr),
    ("trunc", 2, Some(2), trunc),
    ("nospace", 1, Some(1), nospace),
    ("split", 2, Some(2), split),
    ("splitn", 3, Some(3), splitn),
    ("splitList", 2, Some(2), split_list),
    ("join", 2, Some(2), join),
    ("sortAlpha", 1, Some(1), sort_alpha),
    ("toString", 1, Some(1), to_string_fn),
    ("toStrings", 1, Some(1), to_strings),
    ("sha256sum", 1, Some(1), sha256sum),
    ("b64enc", 1, Some(1), b64enc),
    ("b64dec", 1, Some(1), b64dec),
    ("regexMatch", 2, Some(2), regex_match),
    ("regexFind", 2, Some(2), regex_find),
    ("regexFindAll", 3, Some(3), regex_find_all),
    ("regexReplaceAll", 3, Some(3), regex_replace_all),
    (
        "regexReplaceAllLiteral",
        3,
        Some(3),
        regex_replace_all_literal,
    ),
    ("regexSplit", 3, Some(3), regex_split),
    ("mustRegexMatch", 2, Some(2), regex_match),
    ("mustRegexFind", 2, Some(2), regex_find),
    ("mustRegexFindAll", 3, Some(3), regex_find_all),
    ("mustRegexReplaceAll", 3, Some(3), regex_replace_all),
    (
        "mustRegexReplaceAllLiteral",
        3,
        Some(3),
        regex_replace_all_literal,
    ),
    ("mustRegexSplit", 3, Some(3), regex_split),
];

fn s(value: String) -> FuncResult {
    Ok(Value::from(value))
}

/// Each non-nil argument `%q`-quoted, joined by spaces.
fn quote(_: &mut State, args: Vec<Value>) -> FuncResult {
    let parts: Vec<String> = args
        .iter()
        .filter(|a| !a.is_nil())
        .map(|a| go_quote(&to_string(a), '"'))
        .collect();
    s(parts.join(" "))
}

fn squote(_: &mut State, args: Vec<Value>) -> FuncResult {
    let parts: Vec<String> = args
        .iter()
        .filter(|a| !a.is_nil())
        .map(|a| format!("'{}'", to_string(a)))
        .collect();
    s(parts.join(" "))
}

fn cat(_: &mut State, args: Vec<Value>) -> FuncResult {
    let parts: Vec<String> = args.iter().filter(|a| !a.is_nil()).map(to_string).collect();
    s(parts.join(" "))
}

/// Results bigger than this are refused before they are built.
const MAX_RESULT: usize = 256 << 20;

fn too_large<T>() -> Result<T, super::FuncError> {
    call_error(format!("result larger than {} MiB", MAX_RESULT >> 20))
}

fn indent_text(spaces: i64, text: &str) -> Result<String, super::FuncError> {
    let spaces = spaces.max(0) as usize;
    let lines = text.matches('\n').count() + 1;
    if spaces.saturating_mul(lines).saturating_add(text.len()) > MAX_RESULT {
        return too_large();
    }
    let pad = " ".repeat(spaces);
    Ok(format!("{pad}{}", text.replace('\n', &format!("\n{pad}"))))
}

fn indent(_: &mut State, args: Vec<Value>) -> FuncResult {
    s(indent_text(int_arg(&args[0])?, &string_arg(&args[1])?)?)
}

fn nindent(_: &mut State, args: Vec<Value>) -> FuncResult {
    s(format!(
        "\n{}",
        indent_text(int_arg(&args[0])?, &string_arg(&args[1])?)?
    ))
}

fn trim(_: &mut State, args: Vec<Value>) -> FuncResult {
    s(string_arg(&args[0])?.trim().to_string())
}

fn trim_all(_: &mut State, args: Vec<Value>) -> FuncResult {
    let cutset: Vec<char> = string_arg(&args[0])?.chars().collect();
    s(string_arg(&args[1])?
        .trim_matches(cutset.as_slice())
        .to_string())
}

fn trim_prefix(_: &mut State, args: Vec<Value>) -> FuncResult {
    let (prefix, text) = (string_arg(&args[0])?, string_arg(&args[1])?);
    s(text
        .strip_prefix(prefix.as_str())
        .unwrap_or(&text)
        .to_string())
}

fn trim_suffix(_: &mut State, args: Vec<Value>) -> FuncResult {
    let (suffix, text) = (string_arg(&args[0])?, string_arg(&args[1])?);
    s(text
        .strip_suffix(suffix.as_str())
        .unwrap_or(&text)
        .to_string())
}

fn has_prefix(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Bool(
        string_arg(&args[1])?.starts_with(&string_arg(&args[0])?),
    ))
}

fn has_suffix(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Bool(
        string_arg(&args[1])?.ends_with(&string_arg(&args[0])?),
    ))
}

fn contains(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Bool(
        string_arg(&args[1])?.contains(&string_arg(&args[0])?),
    ))
}

/// `replace OLD NEW SRC`.
fn replace(_: &mut State, args: Vec<Value>) -> FuncResult {
    let (old, new, src) = (
        string_arg(&args[0])?,
        string_arg(&args[1])?,
        string_arg(&args[2])?,
    );
    let n_matches = if old.is_empty() {
        src.chars().count() + 1
    } else {
        src.matches(&old).count()
    };
    if n_matches
        .saturating_mul(new.len())
        .saturating_add(src.len())
        > MAX_RESULT
    {
        return too_large();
    }
    if old.is_empty() {
        // Go inserts NEW around every character when OLD is empty.
        let mut out = new.clone();
        for c in src.chars() {
            out.push(c);
            out.push_str(&new);
        }
        return s(out);
    }
    s(src.replace(&old, &new))
}

fn upper(_: &mut State, args: Vec<Value>) -> FuncResult {
    s(string_arg(&args[0])?.to_uppercase())
}

fn lower(_: &mut State, args: Vec<Value>) -> FuncResult {
    s(string_arg(&args[0])?.to_lowercase())
}

/// Go's `strings.Title`: upper-case the first letter of every word. Words are
/// split at ASCII characters other than letters, digits and `_`, and at blanks.
fn title(_: &mut State, args: Vec<Value>) -> FuncResult {
    let mut out = String::new();
    let mut previous_is_separator = true;
    for c in string_arg(&args[0])?.chars() {
        if previous_is_separator {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        previous_is_separator = if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            // Beyond ASCII, Go treats only blanks as separators.
            !c.is_alphanumeric() && c.is_whitespace()
        };
    }
    s(out)
}

/// goutils' `Uncapitalize`: lower-case the first letter of every blank-separated word.
fn untitle(_: &mut State, args: Vec<Value>) -> FuncResult {
    let mut out = String::new();
    let mut previous_is_space = true;
    for c in string_arg(&args[0])?.chars() {
        if previous_is_space {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        previous_is_space = c.is_whitespace();
    }
    s(out)
}

/// Splits into words as xstrings does: at `_`, `-`, `.`, blanks, and at case
/// changes (`HTTPServer` → `HTTP`, `Server`).
fn words(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' || c == '-' || c == '.' || c.is_whitespace() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            continue;
        }
        if c.is_uppercase() && !word.is_empty() {
            let previous = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if previous.is_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_uppercase() && next_is_lower)
            {
                words.push(std::mem::take(&mut word));
            }
        }
        word.push(c);
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// sprig's `camelcase` is xstrings' `ToPascalCase`: `foo_bar` → `FooBar`.
fn camelcase(_: &mut State, args: Vec<Value>) -> FuncResult {
    let mut out = String::new();
    for word in words(&string_arg(&args[0])?) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(&chars.as_str().to_lowercase());
        }
    }
    s(out)
}

fn snakecase(_: &mut State, args: Vec<Value>) -> FuncResult {
    let words: Vec<String> = words(&string_arg(&args[0])?)
        .iter()
        .map(|w| w.to_lowercase())
        .collect();
    s(words.join("_"))
}

fn kebabcase(_: &mut State, args: Vec<Value>) -> FuncResult {
    let words: Vec<String> = words(&string_arg(&args[0])?)
        .iter()
        .map(|w| w.to_lowercase())
        .collect();
    s(words.join("-"))
}

fn repeat(_: &mut State, args: Vec<Value>) -> FuncResult {
    let count = int_arg(&args[0])?;
    let text = string_arg(&args[1])?;
    if count < 0 {
        return call_error("strings: negative Repeat count");
    }
    if (count as u128) * (text.len() as u128) > MAX_RESULT as u128 {
        return too_large();
    }
    s(text.repeat(count as usize))
}

fn byte_slice(text: &str, start: usize, end: usize) -> Result<String, super::FuncError> {
    match text.get(start..end) {
        Some(part) => Ok(part.to_string()),
        None if start <= end && end <= text.len() => {
            Ok(String::from_utf8_lossy(&text.as_bytes()[start..end]).into_owned())
        }
        None => call_error(format!("slice bounds out of range [{start}:{end}]")),
    }
}

/// `substr START END S` on bytes, as sprig does.
fn substr(_: &mut State, args: Vec<Value>) -> FuncResult {
    let (start, end, text) = (
        int_arg(&args[0])?,
        int_arg(&args[1])?,
        string_arg(&args[2])?,
    );
    let len = text.len() as i64;
    let (from, to) = if start < 0 {
        (0, end)
    } else if end < 0 || end > len {
        (start, len)
    } else {
        (start, end)
    };
    if from < 0 || to < 0 || from > len || to > len || from > to {
        return call_error(format!("slice bounds out of range [{from}:{to}]"));
    }
    s(byte_slice(&text, from as usize, to as usize)?)
}

fn trunc(_: &mut State, args: Vec<Value>) -> FuncResult {
    let (count, text) = (int_arg(&args[0])?, string_arg(&args[1])?);
    let len = text.len() as i64;
    if count < 0 && len + count > 0 {
        return s(byte_slice(&text, (len + count) as usize, text.len())?);
    }
    if count >= 0 && len > count {
        return s(byte_slice(&text, 0, count as usize)?);
    }
    s(text)
}

fn nospace(_: &mut State, args: Vec<Value>) -> FuncResult {
    s(string_arg(&args[0])?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect())
}

/// Go's `strings.SplitN` (n < 0: all).
fn go_split(text: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<String> = text.chars().map(String::from).collect();
        if n > 0 && chars.len() > n as usize {
            let mut head: Vec<String> = chars[..n as usize - 1].to_vec();
            head.push(chars[n as usize - 1..].concat());
            return head;
        }
        return chars;
    }
    if n < 0 {
        return text.split(sep).map(str::to_string).collect();
    }
    text.splitn(n as usize, sep).map(str::to_string).collect()
}

fn parts_map(parts: Vec<String>) -> Value {
    let map: BTreeMap<String, Value> = parts
        .into_iter()
        .enumerate()
        .map(|(i, part)| (format!("_{i}"), Value::from(part)))
        .collect();
    Value::from(map)
}

/// `split SEP S` gives a dict `_0`, `_1`, …
fn split(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(parts_map(go_split(
        &string_arg(&args[1])?,
        &string_arg(&args[0])?,
        -1,
    )))
}

fn splitn(_: &mut State, args: Vec<Value>) -> FuncResult {
    let n = int_arg(&args[1])?;
    Ok(parts_map(go_split(
        &string_arg(&args[2])?,
        &string_arg(&args[0])?,
        n,
    )))
}

fn split_list(_: &mut State, args: Vec<Value>) -> FuncResult {
    let parts = go_split(&string_arg(&args[1])?, &string_arg(&args[0])?, -1);
    Ok(Value::from(
        parts.into_iter().map(Value::from).collect::<Vec<_>>(),
    ))
}

/// sprig's `strslice`: a list's non-nil items as strings; anything else is one item.
fn strslice(value: &Value) -> Vec<String> {
    match value {
        Value::List(list) => list.iter().filter(|v| !v.is_nil()).map(to_string).collect(),
        Value::Missing | Value::Nil => Vec::new(),
        other => vec![to_string(other)],
    }
}

fn join(_: &mut State, args: Vec<Value>) -> FuncResult {
    s(strslice(&args[1]).join(&string_arg(&args[0])?))
}

fn sort_alpha(_: &mut State, args: Vec<Value>) -> FuncResult {
    let mut items = match &args[0] {
        Value::List(_) => strslice(&args[0]),
        other => vec![to_string(other)],
    };
    items.sort();
    Ok(Value::from(
        items.into_iter().map(Value::from).collect::<Vec<_>>(),
    ))
}

fn to_string_fn(_: &mut State, args: Vec<Value>) -> FuncResult {
    s(to_string(&args[0]))
}

fn to_strings(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::from(
        strslice(&args[0])
            .into_iter()
            .map(Value::from)
            .collect::<Vec<_>>(),
    ))
}

fn sha256sum(_: &mut State, args: Vec<Value>) -> FuncResult {
    let digest = sha2::Sha256::digest(string_arg(&args[0])?.as_bytes());
    s(digest.iter().map(|b| format!("{b:02x}")).collect())
}

fn b64enc(_: &mut State, args: Vec<Value>) -> FuncResult {
    s(base64::engine::general_purpose::STANDARD.encode(string_arg(&args[0])?))
}

/// Like sprig, a decoding failure is the error text itself, not an error.
fn b64dec(_: &mut State, args: Vec<Value>) -> FuncResult {
    match base64::engine::general_purpose::STANDARD.decode(string_arg(&args[0])?) {
        Ok(bytes) => s(String::from_utf8_lossy(&bytes).into_owned()),
        Err(error) => s(error.to_string()),
    }
}

fn regex(pattern: &str) -> Result<regex::Regex, super::FuncError> {
    regex::Regex::new(pattern).or_else(|error| call_error(format!("error parsing regexp: {error}")))
}

fn regex_match(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Bool(
        regex(&string_arg(&args[0])?)?.is_match(&string_arg(&args[1])?),
    ))
}

fn regex_find(_: &mut State, args: Vec<Value>) -> FuncResult {
    let text = string_arg(&args[1])?;
    let found = regex(&string_arg(&args[0])?)?
        .find(&text)
        .map(|m| m.as_str().to_string());
    s(found.unwrap_or_default())
}

fn regex_find_all(_: &mut State, args: Vec<Value>) -> FuncResult {
    let (re, text, n) = (
        regex(&string_arg(&args[0])?)?,
        string_arg(&args[1])?,
        int_arg(&args[2])?,
    );
    let limit = if n < 0 { usize::MAX } else { n as usize };
    let found: Vec<Value> = re
        .find_iter(&text)
        .take(limit)
        .map(|m| Value::from(m.as_str()))
        .collect();
    Ok(Value::from(found))
}

/// Go's `$1`/`${name}` expansion matches the regex crate's.
fn regex_replace_all(_: &mut State, args: Vec<Value>) -> FuncResult {
    let (re, text, with) = (
        regex(&string_arg(&args[0])?)?,
        string_arg(&args[1])?,
        string_arg(&args[2])?,
    );
    s(re.replace_all(&text, with.as_str()).into_owned())
}

fn regex_replace_all_literal(_: &mut State, args: Vec<Value>) -> FuncResult {
    let (re, text, with) = (
        regex(&string_arg(&args[0])?)?,
        string_arg(&args[1])?,
        string_arg(&args[2])?,
    );
    s(re.replace_all(&text, regex::NoExpand(&with)).into_owned())
}

fn regex_split(_: &mut State, args: Vec<Value>) -> FuncResult {
    let (re, text, n) = (
        regex(&string_arg(&args[0])?)?,
        string_arg(&args[1])?,
        int_arg(&args[2])?,
    );
    if n == 0 {
        return Ok(Value::from(Vec::new()));
    }
    let parts: Vec<Value> = if n < 0 {
        re.split(&text).map(Value::from).collect()
    } else {
        re.splitn(&text, n as usize).map(Value::from).collect()
    };
    Ok(Value::from(parts))
}
