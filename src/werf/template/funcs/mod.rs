//! The function map: Go's builtins, the sprig functions werf configs use, and
//! werf's own (`include`, `tpl`, `env`, …). Each function gets the evaluated
//! arguments, the piped value last.

mod builtin;
mod lists;
mod misc;
mod paths;
mod printf;
mod strings;
mod werf;

use std::collections::HashMap;
use std::sync::OnceLock;

use super::error::TemplateError;
use super::exec::State;
use super::value::{Value, format_value};

pub use printf::sprintf;

pub enum FuncError {
    /// The function failed: shown as `error calling NAME: message`.
    Call(String),
    /// An argument had the wrong type: shown as is, as Go does.
    Arg(String),
    /// An error inside an included or `tpl` template.
    Nested(Box<TemplateError>),
}

pub type FuncResult = Result<Value, FuncError>;

pub struct Func {
    pub min_args: usize,
    pub max_args: Option<usize>,
    pub call: fn(&mut State, Vec<Value>) -> FuncResult,
}

type Entry = (
    &'static str,
    usize,
    Option<usize>,
    fn(&mut State, Vec<Value>) -> FuncResult,
);

fn table() -> &'static HashMap<&'static str, Func> {
    static TABLE: OnceLock<HashMap<&'static str, Func>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut map = HashMap::new();
        for entries in [
            builtin::FUNCS,
            strings::FUNCS,
            lists::FUNCS,
            misc::FUNCS,
            paths::FUNCS,
            werf::FUNCS,
        ] {
            for &(name, min_args, max_args, call) in entries {
                map.insert(
                    name,
                    Func {
                        min_args,
                        max_args,
                        call,
                    },
                );
            }
        }
        map
    })
}

/// Every function name but `and`/`or` (which exec evaluates itself).
#[cfg(test)]
pub fn names() -> impl Iterator<Item = &'static str> {
    table().keys().copied()
}

pub fn lookup(name: &str) -> Option<&'static Func> {
    table().get(name)
}

/// Whether the parser should accept `name` as a function.
pub fn exists(name: &str) -> bool {
    name == "and" || name == "or" || table().contains_key(name)
}

pub fn call_error<T>(message: impl Into<String>) -> Result<T, FuncError> {
    Err(FuncError::Call(message.into()))
}

/// A `string` parameter: Go refuses anything else.
pub fn string_arg(value: &Value) -> Result<String, FuncError> {
    match value {
        Value::Str(s) => Ok(s.to_string()),
        Value::Missing => Err(FuncError::Arg("invalid value; expected string".into())),
        Value::Nil => Err(FuncError::Arg(
            "wrong type for value; expected string; got interface {}".into(),
        )),
        other => Err(FuncError::Arg(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        ))),
    }
}

/// An `int` parameter. Integral floats pass (Go accepts constants like `3.0`).
pub fn int_arg(value: &Value) -> Result<i64, FuncError> {
    match value {
        Value::Int(i) | Value::Int64(i) => Ok(*i),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(*f as i64),
        Value::Missing => Err(FuncError::Arg("invalid value; expected int".into())),
        other => Err(FuncError::Arg(format!(
            "wrong type for value; expected int; got {}",
            other.type_name()
        ))),
    }
}

/// sprig's `strval`: strings as they are, anything else through `%v`.
pub fn to_string(value: &Value) -> String {
    match value {
        Value::Str(s) => s.to_string(),
        Value::Missing | Value::Nil => "<nil>".into(),
        other => format_value(other),
    }
}

/// spf13/cast's `ToInt64`, as sprig's `int`, `add` etc. use it: unparsable gives 0.
pub fn to_int64(value: &Value) -> i64 {
    match value {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::Str(s) => parse_go_int(trim_zero_decimal(s.trim())).unwrap_or(0),
        _ => 0,
    }
}

/// cast's `trimZeroDecimal`: `"3.00"` → `"3"`, so such strings convert to ints.
fn trim_zero_decimal(s: &str) -> &str {
    match s.split_once('.') {
        Some((int, fraction))
            if !int.is_empty() && !fraction.is_empty() && fraction.bytes().all(|b| b == b'0') =>
        {
            int
        }
        _ => s,
    }
}

/// `strconv.ParseInt(s, 0, 64)`: decimal, 0x, 0o, 0b, leading-0 octal, underscores.
pub fn parse_go_int(s: &str) -> Option<i64> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(b) = lower.strip_prefix("0x") {
        (16, b)
    } else if let Some(b) = lower.strip_prefix("0o") {
        (8, b)
    } else if let Some(b) = lower.strip_prefix("0b") {
        (2, b)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if body.is_empty() || body.starts_with('_') || body.ends_with('_') {
        return None;
    }
    let clean: String = body.chars().filter(|&c| c != '_').collect();
    let v = i64::from_str_radix(&clean, radix).ok()?;
    Some(if negative { -v } else { v })
}

/// cast's `ToFloat64`.
pub fn to_float64(value: &Value) -> f64 {
    match value {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(s) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// A list argument for sprig's list functions; `what` names the function for
/// the error message sprig gives (`Cannot find first on type string`).
pub fn list_arg(value: &Value, what: &str) -> Result<std::rc::Rc<Vec<Value>>, FuncError> {
    match value {
        Value::List(list) => Ok(list.clone()),
        other => call_error(format!("Cannot {what} on type {}", other.type_name())),
    }
}

pub fn map_arg(value: &Value) -> Result<super::value::Map, FuncError> {
    match value {
        Value::Map(map) => Ok(map.clone()),
        Value::Missing => Err(FuncError::Arg(
            "invalid value; expected map[string]interface {}".into(),
        )),
        other => Err(FuncError::Arg(format!(
            "wrong type for value; expected map[string]interface {{}}; got {}",
            other.type_name()
        ))),
    }
}

/// sprig's `empty`: the zero value of its type.
pub fn is_empty(value: &Value) -> bool {
    !value.truth()
}
