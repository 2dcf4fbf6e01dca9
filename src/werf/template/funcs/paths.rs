//! sprig's slash-path functions (Go's `path` package): `base`, `dir`, `ext`,
//! `clean`, `isAbs`.

use super::{Entry, FuncResult, string_arg};
use crate::werf::template::exec::State;
use crate::werf::template::value::Value;

pub const FUNCS: &[Entry] = &[
    ("base", 1, Some(1), base),
    ("dir", 1, Some(1), dir),
    ("ext", 1, Some(1), ext),
    ("clean", 1, Some(1), clean),
    ("isAbs", 1, Some(1), is_abs),
];

/// `path.Clean`: the shortest equivalent path, lexically.
pub fn clean_path(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

fn base(_: &mut State, args: Vec<Value>) -> FuncResult {
    let path = string_arg(&args[0])?;
    if path.is_empty() {
        return Ok(Value::from("."));
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(Value::from("/"));
    }
    Ok(Value::from(trimmed.rsplit('/').next().unwrap_or(trimmed)))
}

fn dir(_: &mut State, args: Vec<Value>) -> FuncResult {
    let path = string_arg(&args[0])?;
    let head = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "",
    };
    Ok(Value::from(clean_path(head)))
}

fn ext(_: &mut State, args: Vec<Value>) -> FuncResult {
    let path = string_arg(&args[0])?;
    let last = path.rsplit('/').next().unwrap_or("");
    Ok(Value::from(last.rfind('.').map_or("", |i| &last[i..])))
}

fn clean(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::from(clean_path(&string_arg(&args[0])?)))
}

fn is_abs(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::Bool(string_arg(&args[0])?.starts_with('/')))
}
