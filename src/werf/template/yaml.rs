//! `toYaml` and `fromYaml` as werf has them: gopkg.in/yaml.v2 directly (not
//! Helm's JSON round trip), so integers stay integers. The YAML is what go-yaml
//! v2 emits: keys in its "natural" order, two-space indent, sequences flush under
//! their key, literal blocks for multi-line strings, double quotes for strings
//! that would read as another type, single quotes for strings plain style can't
//! hold. The emitter is written by hand because serde-saphyr's style differs.

use std::cmp::Ordering;

use super::exec::MAX_OUTPUT;
use super::value::{MAX_VALUE_DEPTH, Value, format_float_v};

pub fn to_yaml(value: &Value) -> Result<String, String> {
    let mut out = String::new();
    emit(&mut out, value, 0, Context::Top, 0)?;
    Ok(out.trim_end_matches('\n').to_string())
}

/// `fromYaml`: a document as a dict (yaml.v2 into `map[string]interface{}`).
pub fn from_yaml(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Ok(Value::new_map());
    }
    match serde_saphyr::from_str::<serde_json::Value>(text) {
        Ok(json @ serde_json::Value::Object(_)) => Ok(from_yaml_value(json)),
        Ok(serde_json::Value::Null) => Ok(Value::new_map()),
        Ok(other) => Err(format!(
            "yaml: unmarshal errors: cannot unmarshal {} into map[string]interface {{}}",
            json_kind(&other)
        )),
        // serde-saphyr appends a source excerpt; the first line is the message.
        Err(e) => Err(format!(
            "yaml: {}",
            e.to_string().lines().next().unwrap_or_default()
        )),
    }
}

/// yaml.v2's types: integers as int, other numbers as float64.
fn from_yaml_value(json: serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => Value::from(s),
        serde_json::Value::Array(items) => {
            Value::from(items.into_iter().map(from_yaml_value).collect::<Vec<_>>())
        }
        serde_json::Value::Object(entries) => Value::from(
            entries
                .into_iter()
                .map(|(k, v)| (k, from_yaml_value(v)))
                .collect::<std::collections::BTreeMap<_, _>>(),
        ),
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Array(_) => "!!seq",
        serde_json::Value::String(_) => "!!str",
        serde_json::Value::Number(n) if n.is_i64() => "!!int",
        serde_json::Value::Number(_) => "!!float",
        serde_json::Value::Bool(_) => "!!bool",
        _ => "!!map",
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Context {
    Top,
    /// After `key:`.
    MapValue,
    /// After `- `.
    ListItem,
}

fn emit(
    out: &mut String,
    value: &Value,
    indent: usize,
    context: Context,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_VALUE_DEPTH {
        return Err("json: unsupported value: encountered a cycle".into());
    }
    if out.len() > MAX_OUTPUT {
        return Err(format!("yaml: output larger than {} MiB", MAX_OUTPUT >> 20));
    }
    let pad = " ".repeat(indent);
    match value {
        Value::Map(map) => {
            let mut entries: Vec<(String, Value)> = map
                .borrow()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            entries.sort_by(|(a, _), (b, _)| natural_order(a, b));
            if entries.is_empty() {
                out.push_str(if context == Context::Top {
                    "{}\n"
                } else {
                    " {}\n"
                });
                return Ok(());
            }
            match context {
                Context::MapValue => out.push('\n'),
                Context::ListItem | Context::Top => {}
            }
            for (i, (key, item)) in entries.iter().enumerate() {
                // The first key of a list item shares the `- ` line.
                if !(context == Context::ListItem && i == 0) {
                    out.push_str(&pad);
                }
                out.push_str(&scalar_string(key, indent));
                out.push(':');
                emit(out, item, indent + 2, Context::MapValue, depth + 1)?;
            }
        }
        Value::List(list) => {
            if list.is_empty() {
                out.push_str(if context == Context::Top {
                    "[]\n"
                } else {
                    " []\n"
                });
                return Ok(());
            }
            // go-yaml v2 puts a mapping's sequence at the key's own indent.
            let item_indent = if context == Context::MapValue {
                indent - 2
            } else {
                indent
            };
            let item_pad = " ".repeat(item_indent);
            match context {
                Context::MapValue => out.push('\n'),
                Context::ListItem | Context::Top => {}
            }
            for (i, item) in list.iter().enumerate() {
                if !(context == Context::ListItem && i == 0) {
                    out.push_str(&item_pad);
                }
                out.push('-');
                match item {
                    Value::Map(m) if !m.borrow().is_empty() => {
                        out.push(' ');
                        emit(out, item, item_indent + 2, Context::ListItem, depth + 1)?;
                    }
                    Value::List(l) if !l.is_empty() => {
                        out.push(' ');
                        emit(out, item, item_indent + 2, Context::ListItem, depth + 1)?;
                    }
                    _ => emit(out, item, item_indent + 2, Context::MapValue, depth + 1)?,
                }
            }
        }
        scalar => {
            let text = match scalar {
                Value::Str(s) => scalar_string(s, indent.saturating_sub(2)),
                Value::Object(_) => "{}".to_string(),
                Value::Missing | Value::Nil => "null".to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Int(i) | Value::Int64(i) => i.to_string(),
                Value::Float(f) => match format_float_v(*f).as_str() {
                    "+Inf" => ".inf".to_string(),
                    "-Inf" => "-.inf".to_string(),
                    "NaN" => ".nan".to_string(),
                    other => other.to_string(),
                },
                Value::Map(_) | Value::List(_) => unreachable_scalar(),
            };
            if context != Context::Top {
                out.push(' ');
            }
            let folds = matches!(scalar, Value::Str(_)) && !text.starts_with(['|', '"']);
            if folds {
                let column = out.len() - out.rfind('\n').map_or(0, |i| i + 1);
                out.push_str(&fold(&text, column, indent));
            } else {
                out.push_str(&text);
            }
            out.push('\n');
        }
    }
    Ok(())
}

/// go-yaml v2 wraps plain and single-quoted scalars at a blank once the line is
/// past 80 columns (unless another blank follows); continuation lines are
/// indented by `indent`. `column` is where the scalar starts.
fn fold(text: &str, mut column: usize, indent: usize) -> String {
    const BEST_WIDTH: usize = 80;
    let chars: Vec<char> = text.chars().collect();
    let quoted = chars.first() == Some(&'\'');
    let mut out = String::with_capacity(text.len());
    let mut spaces = false;
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let inner = !quoted || (i > 1 && i + 2 < chars.len());
            let next_is_space = chars.get(i + 1) == Some(&' ');
            if !spaces && column > BEST_WIDTH && inner && !next_is_space {
                out.push('\n');
                out.push_str(&" ".repeat(indent));
                column = indent;
            } else {
                out.push(c);
                column += 1;
            }
            spaces = true;
        } else {
            out.push(c);
            column += 1;
            spaces = false;
        }
    }
    out
}

/// A string as go-yaml v2 writes it; `indent` is the indent of the line holding it.
fn scalar_string(s: &str, indent: usize) -> String {
    // Characters go-yaml can't print raw (tabs, controls, BOM, beyond U+FFFF)
    // force double quotes, and so do blanks at the end of a line or of the text
    // in a multi-line string.
    let special = s.chars().any(|c| !yaml_printable(c) || c == '\u{FEFF}');
    if s.contains('\n') {
        let space_break = s.contains(" \n") || s.ends_with(' ');
        if special || space_break {
            return double_quoted(s);
        }
        return literal_block(s, indent + 2);
    }
    if special || reads_as_other_type(s) {
        return double_quoted(s);
    }
    if plain_allowed(s) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "''"))
}

/// go-yaml v2's `is_printable`: LF, printable ASCII, and the BMP from U+00A0
/// except surrogates and U+FFFE/U+FFFF.
fn yaml_printable(c: char) -> bool {
    matches!(c, '\n' | '\x20'..='\x7e' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
}

fn literal_block(s: &str, indent: usize) -> String {
    let chomp = if !s.ends_with('\n') {
        "-"
    } else if s.ends_with("\n\n") {
        "+"
    } else {
        ""
    };
    let indicator = if s.starts_with([' ', '\n']) { "2" } else { "" };
    let pad = " ".repeat(indent);
    let mut out = format!("|{indicator}{chomp}");
    let body = s.strip_suffix('\n').unwrap_or(s);
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    out
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        let is_break = matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}');
        if c != '"' && c != '\\' && !is_break && yaml_printable(c) && c != '\u{FEFF}' {
            out.push(c);
            continue;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\x0b' => out.push_str("\\v"),
            '\x0c' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\x1b' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c => {
                let n = c as u32;
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02X}"));
                } else if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04X}"));
                } else {
                    out.push_str(&format!("\\U{n:08X}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// Strings YAML 1.1 (go-yaml v2) would resolve to null, bool, int or float.
fn reads_as_other_type(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "y",
        "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
        "OFF", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
        ".nan", ".NaN", ".NAN", "<<",
    ];
    if WORDS.contains(&s) {
        return true;
    }
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() {
        return false;
    }
    let clean: String = body.chars().filter(|&c| c != '_').collect();
    let lower = clean.to_ascii_lowercase();
    if let Some(hex) = lower.strip_prefix("0x") {
        return !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    if let Some(bin) = lower.strip_prefix("0b") {
        return !bin.is_empty() && bin.chars().all(|c| c == '0' || c == '1');
    }
    if !clean.is_empty() && clean.chars().all(|c| c.is_ascii_digit()) {
        return true;
    }
    // Sexagesimal numbers such as 1:20 (YAML 1.1).
    if clean.contains(':')
        && clean
            .split(':')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit() || c == '.'))
        && clean.chars().next().is_some_and(|c| c.is_ascii_digit())
    {
        return true;
    }
    is_yaml_float(&clean)
}

fn is_yaml_float(s: &str) -> bool {
    // [0-9]*\.?[0-9]+([eE][-+][0-9]+)? loosely, as go-yaml v2 accepts via ParseFloat.
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = mantissa.replace('.', "");
    let mantissa_ok = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && mantissa.matches('.').count() <= 1;
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exponent_ok && (mantissa.contains('.') || exponent.is_some())
}

/// go-yaml's emitter check for the plain style in block context.
fn plain_allowed(s: &str) -> bool {
    if s.starts_with(' ') || s.ends_with(' ') || s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_blank = chars.get(i + 1).is_none_or(|n| *n == ' ' || *n == '\t');
        let preceded_by_blank = i > 0 && (chars[i - 1] == ' ' || chars[i - 1] == '\t');
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    return false;
                }
                '?' | ':' | '-' if followed_by_blank => return false,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_blank => return false,
                '#' if preceded_by_blank => return false,
                _ => {}
            }
        }
    }
    true
}

fn unreachable_scalar() -> String {
    // Maps and lists are handled above; keep a harmless value rather than panic.
    "null".to_string()
}

/// go-yaml v2's key order: runs of digits compare as numbers, and a non-letter
/// sorts before a letter (`a2` < `a10`, `_x` < `B`).
fn natural_order(a: &str, b: &str) -> Ordering {
    let (ar, br): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let (a_letter, b_letter) = (ar[i].is_alphabetic(), br[i].is_alphabetic());
        if a_letter && b_letter {
            return ar[i].cmp(&br[i]);
        }
        if a_letter || b_letter {
            return if b_letter {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            // Inside a number that did not start with 0, leading zeros count.
            for j in (0..i).rev() {
                if !ar[j].is_ascii_digit() {
                    break;
                }
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an
                .saturating_mul(10)
                .saturating_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn
                .saturating_mul(10)
                .saturating_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}
