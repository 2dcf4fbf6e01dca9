//! sprig's defaults, type tests, JSON, numbers, semver and `fail`.

use super::{Entry, FuncResult, call_error, parse_go_int, string_arg, to_float64, to_int64};
use crate::werf::template::exec::State;
use crate::werf::template::value::{Value, deep_equal, from_json_value, to_json};

pub const FUNCS: &[Entry] = &[
    ("default", 1, None, default),
    ("empty", 1, Some(1), empty),
    ("coalesce", 0, None, coalesce),
    ("all", 0, None, all),
    ("any", 0, None, any),
    ("ternary", 3, Some(3), ternary),
    ("kindOf", 1, Some(1), kind_of),
    ("kindIs", 2, Some(2), kind_is),
    ("typeOf", 1, Some(1), type_of),
    ("typeIs", 2, Some(2), type_is),
    ("deepEqual", 2, Some(2), deep_equal_fn),
    ("toJson", 1, Some(1), to_json_fn),
    ("toPrettyJson", 1, Some(1), to_pretty_json),
    ("toRawJson", 1, Some(1), to_raw_json),
    ("fromJson", 1, Some(1), from_json),
    ("mustToJson", 1, Some(1), must_to_json),
    ("mustToPrettyJson", 1, Some(1), must_to_pretty_json),
    ("mustToRawJson", 1, Some(1), must_to_raw_json),
    ("mustFromJson", 1, Some(1), must_from_json),
    ("int", 1, Some(1), int),
    ("int64", 1, Some(1), int64),
    ("float64", 1, Some(1), float64),
    ("atoi", 1, Some(1), atoi),
    ("add", 0, None, add),
    ("add1", 1, Some(1), add1),
    ("sub", 2, Some(2), sub),
    ("mul", 1, None, mul),
    ("div", 2, Some(2), div),
    ("mod", 2, Some(2), modulo),
    ("max", 1, None, max),
    ("biggest", 1, None, max),
    ("min", 1, None, min),
    ("semverCompare", 2, Some(2), semver_compare),
    ("fail", 1, Some(1), fail),
];

/// `default D GIVEN`: GIVEN unless it is empty.
fn default(_: &mut State, args: Vec<Value>) -> FuncResult {
    match args.get(1) {
        Some(given) if given.truth() => Ok(given.clone()),
        _ => Ok(args[0].clone()),
    }
}

fn empty(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Bool(!args[0].truth()))
}

fn coalesce(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(args.into_iter().find(Value::truth).unwrap_or(Value::Nil))
}

fn all(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Bool(args.iter().all(Value::truth)))
}

fn any(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Bool(args.iter().any(Value::truth)))
}

/// `ternary IF_TRUE IF_FALSE CONDITION`; the condition must be a bool.
fn ternary(_: &mut State, args: Vec<Value>) -> FuncResult {
    match &args[2] {
        Value::Bool(true) => Ok(args[0].clone()),
        Value::Bool(false) => Ok(args[1].clone()),
        other => Err(super::FuncError::Arg(format!(
            "wrong type for value; expected bool; got {}",
            other.type_name()
        ))),
    }
}

fn kind_of(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::from(args[0].kind_name()))
}

fn kind_is(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Bool(string_arg(&args[0])? == args[1].kind_name()))
}

fn type_of(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::from(args[0].type_name()))
}

fn type_is(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Bool(string_arg(&args[0])? == args[1].type_name()))
}

fn deep_equal_fn(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Bool(deep_equal(&args[0], &args[1])))
}

/// Like sprig, an encoding error gives "" rather than failing.
fn to_json_fn(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::from(
        to_json(&args[0], None, true).unwrap_or_default(),
    ))
}

fn to_pretty_json(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::from(
        to_json(&args[0], Some("  "), true).unwrap_or_default(),
    ))
}

fn to_raw_json(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::from(
        to_json(&args[0], None, false).unwrap_or_default(),
    ))
}

/// Invalid JSON gives nil, as sprig's `fromJson` does.
fn from_json(_: &mut State, args: Vec<Value>) -> FuncResult {
    let text = string_arg(&args[0])?;
    Ok(serde_json::from_str::<serde_json::Value>(&text)
        .map(from_json_value)
        .unwrap_or(Value::Nil))
}

fn must_to_json(_: &mut State, args: Vec<Value>) -> FuncResult {
    to_json(&args[0], None, true)
        .map(Value::from)
        .or_else(call_error)
}

fn must_to_pretty_json(_: &mut State, args: Vec<Value>) -> FuncResult {
    to_json(&args[0], Some("  "), true)
        .map(Value::from)
        .or_else(call_error)
}

fn must_to_raw_json(_: &mut State, args: Vec<Value>) -> FuncResult {
    to_json(&args[0], None, false)
        .map(Value::from)
        .or_else(call_error)
}

fn must_from_json(_: &mut State, args: Vec<Value>) -> FuncResult {
    let text = string_arg(&args[0])?;
    serde_json::from_str::<serde_json::Value>(&text)
        .map(from_json_value)
        .or_else(|e| call_error(e.to_string()))
}

fn int(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Int(to_int64(&args[0])))
}

fn int64(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Int64(to_int64(&args[0])))
}

fn float64(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Float(to_float64(&args[0])))
}

/// `strconv.Atoi`, 0 on failure.
fn atoi(_: &mut State, args: Vec<Value>) -> FuncResult {
    let text = string_arg(&args[0])?;
    let valid = !text.is_empty()
        && text
            .strip_prefix(['+', '-'])
            .unwrap_or(&text)
            .chars()
            .all(|c| c.is_ascii_digit());
    Ok(Value::Int(if valid {
        parse_go_int(&text).unwrap_or(0)
    } else {
        0
    }))
}

fn add(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Int64(
        args.iter().map(to_int64).fold(0i64, i64::wrapping_add),
    ))
}

fn add1(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Int64(to_int64(&args[0]).wrapping_add(1)))
}

fn sub(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Int64(
        to_int64(&args[0]).wrapping_sub(to_int64(&args[1])),
    ))
}

fn mul(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Int64(
        args.iter().map(to_int64).fold(1i64, i64::wrapping_mul),
    ))
}

fn div(_: &mut State, args: Vec<Value>) -> FuncResult {
    let (a, b) = (to_int64(&args[0]), to_int64(&args[1]));
    if b == 0 {
        return call_error("runtime error: integer divide by zero");
    }
    Ok(Value::Int64(a.wrapping_div(b)))
}

fn modulo(_: &mut State, args: Vec<Value>) -> FuncResult {
    let (a, b) = (to_int64(&args[0]), to_int64(&args[1]));
    if b == 0 {
        return call_error("runtime error: integer divide by zero");
    }
    Ok(Value::Int64(a.wrapping_rem(b)))
}

fn max(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Int64(args.iter().map(to_int64).max().unwrap_or(0)))
}

fn min(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Int64(args.iter().map(to_int64).min().unwrap_or(0)))
}

fn fail(_: &mut State, args: Vec<Value>) -> FuncResult {
    call_error(string_arg(&args[0])?)
}

/// `semverCompare CONSTRAINT VERSION` with Masterminds/semver's constraint syntax:
/// `||` between alternatives, `,` or blanks between conditions, operators
/// `= != > >= < <= ~ ^`, `x`/`*` wildcards and `A - B` ranges.
fn semver_compare(_: &mut State, args: Vec<Value>) -> FuncResult {
    let constraint = string_arg(&args[0])?;
    let version = string_arg(&args[1])?;
    let Some(version) = Version::parse(&version) else {
        return call_error("invalid semantic version");
    };
    let mut any = false;
    for alternative in constraint.split("||") {
        let mut all = true;
        for condition in conditions(alternative) {
            match check(&condition, &version) {
                Some(ok) => all &= ok,
                None => return call_error(format!("improper constraint: {constraint}")),
            }
        }
        any |= all;
    }
    Ok(Value::Bool(any))
}

#[derive(Clone, Debug, PartialEq)]
struct Version {
    parts: [u64; 3],
    /// How many of the three parts were given (a wildcard ends the count).
    given: usize,
    pre: String,
}

impl Version {
    fn parse(text: &str) -> Option<Version> {
        let text = text.trim();
        let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
        let text = text.split('+').next()?;
        let (numbers, pre) = match text.split_once('-') {
            Some((n, p)) => (n, p.to_string()),
            None => (text, String::new()),
        };
        let mut parts = [0u64; 3];
        let mut given = 0;
        for (i, part) in numbers.split('.').enumerate() {
            if i >= 3 {
                return None;
            }
            if matches!(part, "x" | "X" | "*") {
                break;
            }
            parts[i] = part.parse().ok()?;
            given = i + 1;
        }
        if numbers.is_empty() {
            return None;
        }
        Some(Version { parts, given, pre })
    }

    fn cmp(&self, other: &Version) -> std::cmp::Ordering {
        self.parts.cmp(&other.parts).then_with(|| {
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                (false, false) => compare_pre(&self.pre, &other.pre),
            }
        })
    }
}

fn compare_pre(a: &str, b: &str) -> std::cmp::Ordering {
    let mut x = a.split('.');
    let mut y = b.split('.');
    loop {
        match (x.next(), y.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(p), Some(q)) => {
                let order = match (p.parse::<u64>(), q.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    (Ok(_), Err(_)) => std::cmp::Ordering::Less,
                    (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
                    (Err(_), Err(_)) => p.cmp(q),
                };
                if order != std::cmp::Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// Splits one alternative into `op version` conditions; `A - B` becomes two.
fn conditions(alternative: &str) -> Vec<String> {
    let words: Vec<&str> = alternative
        .split([',', ' '])
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if words.get(i + 1) == Some(&"-") && i + 2 < words.len() {
            out.push(format!(">={}", words[i]));
            out.push(format!("<={}", words[i + 2]));
            i += 3;
            continue;
        }
        // An operator written apart from its version: `>= 1.2`.
        if words[i].chars().all(|c| "=!<>~^".contains(c)) && i + 1 < words.len() {
            out.push(format!("{}{}", words[i], words[i + 1]));
            i += 2;
            continue;
        }
        out.push(words[i].to_string());
        i += 1;
    }
    out
}

fn check(condition: &str, version: &Version) -> Option<bool> {
    let op_len = condition
        .find(|c: char| !"=!<>~^".contains(c))
        .unwrap_or(condition.len());
    let (op, rest) = condition.split_at(op_len);
    let bound = Version::parse(rest)?;
    // A pre-release version only satisfies constraints that name a pre-release.
    if !version.pre.is_empty() && bound.pre.is_empty() {
        return Some(false);
    }
    let upper = |level: usize| {
        let mut parts = [0u64; 3];
        parts[..level].copy_from_slice(&bound.parts[..level]);
        if level > 0 {
            parts[level - 1] += 1;
        }
        Version {
            parts,
            given: 3,
            pre: String::new(),
        }
    };
    let lower = Version {
        given: 3,
        ..bound.clone()
    };
    let cmp = version.cmp(&lower);
    use std::cmp::Ordering::{Greater, Less};
    Some(match op {
        "" | "=" => {
            if bound.given == 3 {
                cmp.is_eq()
            } else {
                cmp != Less && version.cmp(&upper(bound.given)) == Less
            }
        }
        "!=" => {
            if bound.given == 3 {
                !cmp.is_eq()
            } else {
                cmp == Less || version.cmp(&upper(bound.given)) != Less
            }
        }
        ">" => {
            if bound.given == 3 {
                cmp == Greater
            } else {
                version.cmp(&upper(bound.given)) != Less
            }
        }
        ">=" | "=>" => cmp != Less,
        "<" => cmp == Less,
        "<=" | "=<" => {
            if bound.given == 3 {
                cmp != Greater
            } else {
                version.cmp(&upper(bound.given)) == Less
            }
        }
        "~" | "~>" => cmp != Less && version.cmp(&upper(bound.given.clamp(1, 2))) == Less,
        "^" => {
            let level = if bound.parts[0] > 0 || bound.given <= 1 {
                1
            } else if bound.parts[1] > 0 || bound.given == 2 {
                2
            } else {
                3
            };
            cmp != Less && version.cmp(&upper(level)) == Less
        }
        _ => return None,
    })
}
