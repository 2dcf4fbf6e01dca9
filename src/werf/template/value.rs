//! Template values with Go's semantics. Maps are shared references (`Rc<RefCell>`)
//! as in Go, so sprig's `set` on a dict is seen by every holder of that dict;
//! lists are immutable and `append` makes a new one.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;

use super::exec::MAX_OUTPUT;

pub type Map = Rc<RefCell<BTreeMap<String, Value>>>;

/// Deeper structures than this are reported, never walked into a stack overflow
/// (a map can contain itself after `set $m "self" $m`).
pub const MAX_VALUE_DEPTH: usize = 1000;

/// A value object with methods, such as `.Files`.
pub trait Object {
    /// Go's `%T` name, e.g. `config.files`.
    fn type_name(&self) -> &str;
    fn has_method(&self, name: &str) -> bool;
    fn call(&self, name: &str, args: Vec<Value>) -> Result<Value, String>;
}

#[derive(Clone, Default)]
pub enum Value {
    /// Go's invalid `reflect.Value`: a missing map key. Prints `<no value>`.
    #[default]
    Missing,
    /// A nil interface. Prints `<nil>`.
    Nil,
    Bool(bool),
    /// Go's `int`: template constants, `len`, `int`, `atoi`, YAML integers.
    Int(i64),
    /// Go's `int64`: what sprig's math (`add`, `sub`, …, `int64`) returns. It
    /// compares with `int` (Go's `eq` allows mixing integer kinds) but is a
    /// different type for `typeOf`, `kindIs` and `deepEqual`.
    Int64(i64),
    Float(f64),
    Str(Rc<str>),
    List(Rc<Vec<Value>>),
    Map(Map),
    Object(Rc<dyn Object>),
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_value(self))
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.into())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s.into())
    }
}

impl From<Vec<Value>> for Value {
    fn from(list: Vec<Value>) -> Value {
        Value::List(Rc::new(list))
    }
}

impl From<BTreeMap<String, Value>> for Value {
    fn from(map: BTreeMap<String, Value>) -> Value {
        Value::Map(Rc::new(RefCell::new(map)))
    }
}

impl Value {
    pub fn new_map() -> Value {
        Value::from(BTreeMap::new())
    }

    /// Go's truth: false, 0, nil, empty string/list/map are false.
    pub fn truth(&self) -> bool {
        match self {
            Value::Missing | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.borrow().is_empty(),
            Value::Object(_) => true,
        }
    }

    /// A missing value passed on becomes nil, as Go turns an invalid value into
    /// the zero `interface{}`.
    pub fn or_nil(self) -> Value {
        match self {
            Value::Missing => Value::Nil,
            other => other,
        }
    }

    /// An integer of either Go type.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) | Value::Int64(i) => Some(*i),
            _ => None,
        }
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Missing | Value::Nil)
    }

    /// reflect's kind name, as sprig's `kindOf` gives it.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Missing | Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Object(_) => "struct",
        }
    }

    /// Go's `%T`, as sprig's `typeOf` gives it.
    pub fn type_name(&self) -> String {
        match self {
            Value::Missing | Value::Nil => "<nil>".into(),
            Value::List(_) => "[]interface {}".into(),
            Value::Map(_) => "map[string]interface {}".into(),
            Value::Object(o) => o.type_name().into(),
            other => other.kind_name().into(),
        }
    }
}

/// Go's `fmt.Sprint` of one value (`%v`).
pub fn format_value(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0);
    out
}

fn write_value(out: &mut String, value: &Value, depth: usize) {
    // A map holding itself twice (`set . "a" .`, `set . "b" .`) doubles the text at
    // every level down to MAX_VALUE_DEPTH; stop once it could not be printed anyway.
    if out.len() > MAX_OUTPUT {
        return;
    }
    if depth > MAX_VALUE_DEPTH {
        out.push_str("...");
        return;
    }
    match value {
        Value::Missing => out.push_str("<no value>"),
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&format_float_v(*f)),
        Value::Str(s) => out.push_str(s),
        Value::List(list) => {
            out.push('[');
            for (i, item) in list.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, item, depth + 1);
            }
            out.push(']');
        }
        Value::Map(map) => {
            out.push_str("map[");
            for (i, (key, item)) in map.borrow().iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(key);
                out.push(':');
                write_value(out, item, depth + 1);
            }
            out.push(']');
        }
        Value::Object(o) => {
            let _ = write!(out, "{{{}}}", o.type_name());
        }
    }
}

/// The shortest decimal digits and exponent of a finite float: `d.ddd × 10^exp`.
fn shortest_digits(f: f64) -> (String, i32) {
    let s = format!("{:e}", f.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    (mantissa.replace('.', ""), exp.parse().unwrap_or(0))
}

fn non_finite(f: f64) -> Option<String> {
    if f.is_nan() {
        Some("NaN".into())
    } else if f.is_infinite() {
        Some(if f > 0.0 { "+Inf" } else { "-Inf" }.into())
    } else {
        None
    }
}

/// `strconv.FormatFloat(f, 'e', -1, 64)`: `1.5e+06`.
pub fn format_float_e(f: f64) -> String {
    if let Some(s) = non_finite(f) {
        return s;
    }
    let (digits, exp) = shortest_digits(f);
    let mut out = String::new();
    if f.is_sign_negative() {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    out
}

/// `strconv.FormatFloat(f, 'f', -1, 64)`.
pub fn format_float_f(f: f64) -> String {
    non_finite(f).unwrap_or_else(|| format!("{f}"))
}

/// Go's `%v` for a float64: `%g` with the shortest digits, in exponent form when
/// the exponent is below -4 or at least 6 (so `1e+06` but `100000`).
pub fn format_float_v(f: f64) -> String {
    if let Some(s) = non_finite(f) {
        return s;
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let (_, exp) = shortest_digits(f);
    if !(-4..6).contains(&exp) {
        format_float_e(f)
    } else {
        format_float_f(f)
    }
}

/// `reflect.DeepEqual` on template values (ints and floats are different types).
pub fn deep_equal(a: &Value, b: &Value) -> bool {
    deep_equal_at(a, b, 0)
}

fn deep_equal_at(a: &Value, b: &Value, depth: usize) -> bool {
    if depth > MAX_VALUE_DEPTH {
        return false;
    }
    match (a, b) {
        (Value::Missing | Value::Nil, Value::Missing | Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(p, q)| deep_equal_at(p, q, depth + 1))
        }
        (Value::Map(x), Value::Map(y)) => {
            if Rc::ptr_eq(x, y) {
                return true;
            }
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal_at(v, w, depth + 1)))
        }
        (Value::Object(x), Value::Object(y)) => Rc::ptr_eq(x, y),
        _ => false,
    }
}

/// A copy with fresh maps all the way down (sprig's `deepCopy`).
pub fn deep_copy(value: &Value, depth: usize) -> Result<Value, String> {
    if depth > MAX_VALUE_DEPTH {
        return Err("value nested too deeply (a map containing itself?)".into());
    }
    Ok(match value {
        Value::List(list) => Value::from(
            list.iter()
                .map(|v| deep_copy(v, depth + 1))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Value::Map(map) => {
            let entries: Vec<(String, Value)> = map
                .borrow()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let mut copy = BTreeMap::new();
            for (k, v) in entries {
                copy.insert(k, deep_copy(&v, depth + 1)?);
            }
            Value::from(copy)
        }
        other => other.clone(),
    })
}

/// Go's `encoding/json` output: sorted keys, HTML-safe escapes, floats as Go
/// writes them. `indent` is `None` for compact output.
pub fn to_json(value: &Value, indent: Option<&str>, escape_html: bool) -> Result<String, String> {
    let mut out = String::new();
    let style = JsonStyle {
        indent,
        escape_html,
    };
    write_json(&mut out, value, &style, 0)?;
    Ok(out)
}

struct JsonStyle<'i> {
    indent: Option<&'i str>,
    escape_html: bool,
}

fn write_json(
    out: &mut String,
    value: &Value,
    style: &JsonStyle,
    depth: usize,
) -> Result<(), String> {
    let indent = style.indent;
    if depth > MAX_VALUE_DEPTH {
        return Err("json: unsupported value: encountered a cycle".into());
    }
    if out.len() > MAX_OUTPUT {
        return Err(format!("json: output larger than {} MiB", MAX_OUTPUT >> 20));
    }
    let newline = |out: &mut String, level: usize| {
        if let Some(unit) = indent {
            out.push('\n');
            for _ in 0..level {
                out.push_str(unit);
            }
        }
    };
    match value {
        Value::Missing | Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(format!("json: unsupported value: {}", format_float_v(*f)));
            }
            let abs = f.abs();
            if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
                let e = format_float_e(*f);
                // Go writes e-07 as e-7.
                out.push_str(&e.replace("e-0", "e-").replace("e+0", "e+"));
            } else {
                out.push_str(&format_float_f(*f));
            }
        }
        Value::Str(s) => json_string(out, s, style.escape_html),
        Value::List(list) => {
            if list.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in list.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_json(out, item, style, depth + 1)?;
            }
            newline(out, depth);
            out.push(']');
        }
        Value::Map(map) => {
            let entries: Vec<(String, Value)> = map
                .borrow()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if entries.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                json_string(out, key, style.escape_html);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write_json(out, item, style, depth + 1)?;
            }
            newline(out, depth);
            out.push('}');
        }
        Value::Object(_) => out.push_str("{}"),
    }
    Ok(())
}

fn json_string(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if escape_html => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON document as template values: numbers become float64 as in Go.
pub fn from_json_value(json: serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::from(s),
        serde_json::Value::Array(items) => {
            Value::from(items.into_iter().map(from_json_value).collect::<Vec<_>>())
        }
        serde_json::Value::Object(entries) => Value::from(
            entries
                .into_iter()
                .map(|(k, v)| (k, from_json_value(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}
