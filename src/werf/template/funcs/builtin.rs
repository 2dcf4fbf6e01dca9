//! Go text/template's builtin functions (`and`/`or` are in exec: they short-circuit).

use std::cmp::Ordering;

use super::{Entry, FuncError, FuncResult, call_error, sprintf};
use crate::werf::template::exec::State;
use crate::werf::template::value::{Value, format_value};

pub const FUNCS: &[Entry] = &[
    ("eq", 1, None, eq),
    ("ne", 2, Some(2), ne),
    ("lt", 2, Some(2), lt),
    ("le", 2, Some(2), le),
    ("gt", 2, Some(2), gt),
    ("ge", 2, Some(2), ge),
    ("not", 1, Some(1), not),
    ("len", 1, Some(1), len),
    ("index", 1, None, index),
    ("slice", 1, None, slice),
    ("print", 0, None, print),
    ("println", 0, None, println),
    ("printf", 1, None, printf),
    ("html", 0, None, html),
    ("js", 0, None, js),
    ("urlquery", 0, None, urlquery),
];

#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    Str,
    Other,
}

fn kind(value: &Value) -> Kind {
    match value {
        Value::Missing | Value::Nil => Kind::Invalid,
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Str(_) => Kind::Str,
        _ => Kind::Other,
    }
}

const INCOMPATIBLE: &str = "incompatible types for comparison";
const BAD_TYPE: &str = "invalid type for comparison";

fn equal(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let (ka, kb) = (kind(a), kind(b));
    if ka != kb {
        if ka != Kind::Invalid && kb != Kind::Invalid {
            return call_error(INCOMPATIBLE);
        }
        return Ok(false);
    }
    Ok(match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x == y,
        _ if ka == Kind::Int => a.as_int() == b.as_int(),
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        _ if ka == Kind::Invalid => true,
        _ => return call_error(format!("non-comparable type {}: {BAD_TYPE}", a.type_name())),
    })
}

/// `eq a b c…` is true when `a` equals any of the others.
fn eq(_: &mut State, args: Vec<Value>) -> FuncResult {
    let Some((first, rest)) = args.split_first() else {
        return call_error("missing argument for comparison");
    };
    if rest.is_empty() {
        return call_error("missing argument for comparison");
    }
    for other in rest {
        if equal(first, other)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn ne(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Bool(!equal(&args[0], &args[1])?))
}

fn less(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let (ka, kb) = (kind(a), kind(b));
    if matches!(ka, Kind::Invalid | Kind::Other) || matches!(kb, Kind::Invalid | Kind::Other) {
        return call_error(BAD_TYPE);
    }
    if ka != kb {
        return call_error(INCOMPATIBLE);
    }
    Ok(match (a, b) {
        _ if ka == Kind::Int => a.as_int() < b.as_int(),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y) == Some(Ordering::Less),
        (Value::Str(x), Value::Str(y)) => x < y,
        _ => return call_error(BAD_TYPE),
    })
}

fn lt(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Bool(less(&args[0], &args[1])?))
}

fn le(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Bool(
        less(&args[0], &args[1])? || equal(&args[0], &args[1])?,
    ))
}

fn gt(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Bool(
        !(less(&args[0], &args[1])? || equal(&args[0], &args[1])?),
    ))
}

fn ge(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Bool(!less(&args[0], &args[1])?))
}

fn not(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Bool(!args[0].truth()))
}

fn len(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Int(match &args[0] {
        Value::Str(s) => s.len() as i64,
        Value::List(l) => l.len() as i64,
        Value::Map(m) => m.borrow().len() as i64,
        Value::Missing | Value::Nil => return call_error("len of nil pointer"),
        other => return call_error(format!("len of type {}", other.type_name())),
    }))
}

fn index_arg(index: &Value, len: usize, what: &str) -> Result<usize, FuncError> {
    let i = match index {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Missing | Value::Nil => return call_error(format!("cannot index {what} with nil")),
        other => {
            return call_error(format!(
                "cannot index {what} with type {}",
                other.type_name()
            ));
        }
    };
    if i < 0 || i as usize >= len {
        return call_error(format!("index out of range: {i}"));
    }
    Ok(i as usize)
}

fn index(_: &mut State, args: Vec<Value>) -> FuncResult {
    let mut item = args[0].clone();
    if item.is_nil() {
        return call_error("index of untyped nil");
    }
    for index in &args[1..] {
        item = match &item {
            Value::Missing | Value::Nil => return call_error("index of nil pointer"),
            Value::List(list) => list[index_arg(index, list.len(), "slice/array")?].clone(),
            Value::Str(s) => Value::Int(i64::from(
                s.as_bytes()[index_arg(index, s.len(), "slice/array")?],
            )),
            Value::Map(map) => match index {
                Value::Str(key) => map.borrow().get(&**key).cloned().unwrap_or(Value::Nil),
                Value::Missing | Value::Nil => {
                    return call_error("value is nil; should be of type string");
                }
                other => {
                    return call_error(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    ));
                }
            },
            other => return call_error(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn slice(_: &mut State, args: Vec<Value>) -> FuncResult {
    let item = &args[0];
    let len = match item {
        Value::Missing | Value::Nil => return call_error("slice of untyped nil"),
        Value::Str(s) => s.len(),
        Value::List(l) => l.len(),
        other => return call_error(format!("can't slice item of type {}", other.type_name())),
    };
    if args.len() > 4 || (args.len() == 4 && matches!(item, Value::Str(_))) {
        return call_error(format!("too many slice indexes: {}", args.len() - 1));
    }
    let mut bounds = [0usize, len, len];
    for (i, index) in args[1..].iter().enumerate() {
        let Some(x) = index.as_int() else {
            return call_error(format!(
                "cannot index slice/array with type {}",
                index.type_name()
            ));
        };
        if x < 0 || x as usize > len {
            return call_error(format!("index out of range: {x}"));
        }
        bounds[i] = x as usize;
    }
    if bounds[0] > bounds[1] {
        return call_error(format!(
            "invalid slice index: {} > {}",
            bounds[0], bounds[1]
        ));
    }
    Ok(match item {
        Value::Str(s) => match s.get(bounds[0]..bounds[1]) {
            Some(part) => Value::from(part),
            None => return call_error("slice splits a UTF-8 character"),
        },
        Value::List(l) => Value::from(l[bounds[0]..bounds[1]].to_vec()),
        _ => Value::Nil,
    })
}

/// `fmt.Sprint`: a space between operands when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 && !matches!(arg, Value::Str(_)) && !matches!(args[i - 1], Value::Str(_)) {
            out.push(' ');
        }
        out.push_str(&print_operand(arg));
    }
    out
}

fn print_operand(value: &Value) -> String {
    match value {
        Value::Missing | Value::Nil => "<nil>".into(),
        other => format_value(other),
    }
}

fn print(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::from(sprint(&args)))
}

fn println(_: &mut State, args: Vec<Value>) -> FuncResult {
    let parts: Vec<String> = args.iter().map(print_operand).collect();
    Ok(Value::from(parts.join(" ") + "\n"))
}

fn printf(_: &mut State, args: Vec<Value>) -> FuncResult {
    let format = super::string_arg(&args[0])?;
    Ok(Value::from(sprintf(&format, &args[1..])))
}

/// The text the escapers work on: a lone string as is, else `fmt.Sprint`.
fn escaper_input(args: &[Value]) -> String {
    match args {
        [Value::Str(s)] => s.to_string(),
        _ => sprint(args),
    }
}

fn html(_: &mut State, args: Vec<Value>) -> FuncResult {
    let mut out = String::new();
    for c in escaper_input(&args).chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Ok(Value::from(out))
}

fn js(_: &mut State, args: Vec<Value>) -> FuncResult {
    let mut out = String::new();
    for c in escaper_input(&args).chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 || c.is_control() => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    Ok(Value::from(out))
}

fn urlquery(_: &mut State, args: Vec<Value>) -> FuncResult {
    let mut out = String::new();
    for b in escaper_input(&args).bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    Ok(Value::from(out))
}
