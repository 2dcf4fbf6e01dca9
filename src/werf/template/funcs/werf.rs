//! werf's own template functions: `include`, `tpl`, `required`, `env`,
//! `fromYaml`, `toYaml`.

use super::{Entry, FuncResult, call_error, string_arg, to_string};
use crate::werf::template::exec::State;
use crate::werf::template::value::Value;
use crate::werf::template::yaml;

pub const FUNCS: &[Entry] = &[
    ("include", 2, Some(2), include),
    ("tpl", 2, Some(2), tpl),
    ("required", 2, Some(2), required),
    ("env", 1, None, env),
    ("fromYaml", 1, Some(1), from_yaml),
    ("toYaml", 1, Some(1), to_yaml),
    // werf's debug forms log when `--debug-templates` is on and otherwise act
    // as the plain ones; we have no log, so printf_debug and dump_debug print "".
    ("include_debug", 2, Some(2), include),
    ("tpl_debug", 2, Some(2), tpl),
    ("printf_debug", 1, None, nothing),
    ("dump_debug", 1, Some(1), nothing),
];

fn nothing(_: &mut State, _: Vec<Value>) -> FuncResult {
    Ok(Value::from(""))
}

/// Go runs a template on `nil` data with an invalid dot: fields on it are "no value".
fn data(value: &Value) -> Value {
    if value.is_nil() {
        Value::Missing
    } else {
        value.clone()
    }
}

/// `include NAME DATA`: a partial (path under `.werf/`) or a `define`d template.
fn include(state: &mut State, args: Vec<Value>) -> FuncResult {
    let name = string_arg(&args[0])?;
    Ok(Value::from(state.include(&name, data(&args[1]))?))
}

/// `tpl TEXT DATA`: renders TEXT as a template; it sees every `define`.
fn tpl(state: &mut State, args: Vec<Value>) -> FuncResult {
    let text = string_arg(&args[0])?;
    Ok(Value::from(state.tpl(&text, data(&args[1]))?))
}

/// `required MESSAGE VALUE`: VALUE, or an error if it is nil or "".
fn required(_: &mut State, args: Vec<Value>) -> FuncResult {
    let message = string_arg(&args[0])?;
    match &args[1] {
        Value::Missing | Value::Nil => call_error(message),
        Value::Str(s) if s.is_empty() => call_error(message),
        value => Ok(value.clone()),
    }
}

/// `env NAME [DEFAULT]`: the variable, or DEFAULT when it is unset or empty;
/// unset without a default is "" (werf's non-strict mode).
fn env(state: &mut State, args: Vec<Value>) -> FuncResult {
    // werf takes any value as the name and prints it.
    let name = to_string(&args[0]);
    if args.len() > 2 {
        return call_error("more than 1 optional argument prohibited");
    }
    let value = state.engine.env.env_vars.get(&name).cloned();
    match (value, args.get(1)) {
        (Some(v), _) if !v.is_empty() => Ok(Value::from(v)),
        (Some(_) | None, Some(default)) => Ok(Value::from(string_arg(default)?)),
        (Some(v), None) => Ok(Value::from(v)),
        (None, None) => Ok(Value::from("")),
    }
}

fn from_yaml(_: &mut State, args: Vec<Value>) -> FuncResult {
    yaml::from_yaml(&string_arg(&args[0])?).or_else(call_error)
}

/// Like werf and Helm, a value that can't be encoded gives "".
fn to_yaml(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::from(yaml::to_yaml(&args[0]).unwrap_or_default()))
}
