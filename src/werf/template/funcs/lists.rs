//! sprig's list and dict functions. Dicts are shared: `set`, `unset`, `merge`
//! change the dict they are given and return it, as in Go.

use std::collections::BTreeMap;

use super::{
    Entry, FuncError, FuncResult, call_error, int_arg, is_empty, list_arg, map_arg, string_arg,
    to_string,
};
use crate::werf::template::engine::Engine;
use crate::werf::template::exec::State;
use crate::werf::template::value::{MAX_VALUE_DEPTH, Map, Value, deep_copy, deep_equal};

pub const FUNCS: &[Entry] = &[
    ("list", 0, None, list),
    ("tuple", 0, None, list),
    ("append", 2, Some(2), push),
    ("push", 2, Some(2), push),
    ("prepend", 2, Some(2), prepend),
    ("concat", 0, None, concat),
    ("first", 1, Some(1), first),
    ("last", 1, Some(1), last),
    ("rest", 1, Some(1), rest),
    ("initial", 1, Some(1), initial),
    ("reverse", 1, Some(1), reverse),
    ("uniq", 1, Some(1), uniq),
    ("has", 2, Some(2), has),
    ("without", 1, None, without),
    ("compact", 1, Some(1), compact),
    ("until", 1, Some(1), until),
    ("untilStep", 3, Some(3), until_step),
    ("dict", 0, None, dict),
    ("set", 3, Some(3), set),
    ("unset", 2, Some(2), unset),
    ("hasKey", 2, Some(2), has_key),
    ("get", 2, Some(2), get),
    ("keys", 0, None, keys),
    ("values", 1, Some(1), values),
    ("pluck", 1, None, pluck),
    ("pick", 1, None, pick),
    ("omit", 1, None, omit),
    ("merge", 1, None, merge),
    ("mergeOverwrite", 1, None, merge_overwrite),
    ("deepCopy", 1, Some(1), deep_copy_fn),
    ("dig", 3, None, dig),
    // The must* forms differ from the plain ones only where sprig's plain form
    // panics; ours return errors in both, so they are the same functions.
    ("mustAppend", 2, Some(2), push),
    ("mustPush", 2, Some(2), push),
    ("mustPrepend", 2, Some(2), prepend),
    ("mustFirst", 1, Some(1), first),
    ("mustLast", 1, Some(1), last),
    ("mustRest", 1, Some(1), rest),
    ("mustInitial", 1, Some(1), initial),
    ("mustReverse", 1, Some(1), reverse),
    ("mustUniq", 1, Some(1), uniq),
    ("mustHas", 2, Some(2), has),
    ("mustWithout", 1, None, without),
    ("mustCompact", 1, Some(1), compact),
    ("mustMerge", 1, None, merge),
    ("mustMergeOverwrite", 1, None, merge_overwrite),
    ("mustDeepCopy", 1, Some(1), deep_copy_fn),
];

/// The most items `until`/`untilStep` will make.
const MAX_RANGE_ITEMS: i64 = 1 << 20;

fn list(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(Value::from(
        args.into_iter().map(Value::or_nil).collect::<Vec<_>>(),
    ))
}

fn push(_: &mut State, mut args: Vec<Value>) -> FuncResult {
    let mut items = list_arg(&args[0], "push")?.to_vec();
    items.push(args.remove(1).or_nil());
    Ok(Value::from(items))
}

fn prepend(_: &mut State, mut args: Vec<Value>) -> FuncResult {
    let mut items = list_arg(&args[0], "prepend")?.to_vec();
    items.insert(0, args.remove(1).or_nil());
    Ok(Value::from(items))
}

fn concat(_: &mut State, args: Vec<Value>) -> FuncResult {
    let mut items = Vec::new();
    for arg in &args {
        items.extend(list_arg(arg, "concat")?.iter().cloned());
    }
    Ok(Value::from(items))
}

fn first(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(list_arg(&args[0], "find first")?
        .first()
        .cloned()
        .unwrap_or(Value::Nil))
}

fn last(_: &mut State, args: Vec<Value>) -> FuncResult {
    Ok(list_arg(&args[0], "find last")?
        .last()
        .cloned()
        .unwrap_or(Value::Nil))
}

fn rest(_: &mut State, args: Vec<Value>) -> FuncResult {
    let items = list_arg(&args[0], "find rest")?;
    if items.is_empty() {
        return Ok(Value::Nil);
    }
    Ok(Value::from(items[1..].to_vec()))
}

fn initial(_: &mut State, args: Vec<Value>) -> FuncResult {
    let items = list_arg(&args[0], "find initial")?;
    if items.is_empty() {
        return Ok(Value::Nil);
    }
    Ok(Value::from(items[..items.len() - 1].to_vec()))
}

fn reverse(_: &mut State, args: Vec<Value>) -> FuncResult {
    let mut items = list_arg(&args[0], "find reverse")?.to_vec();
    items.reverse();
    Ok(Value::from(items))
}

fn uniq(_: &mut State, args: Vec<Value>) -> FuncResult {
    let mut out: Vec<Value> = Vec::new();
    for item in list_arg(&args[0], "find uniq")?.iter() {
        if !out.iter().any(|seen| deep_equal(seen, item)) {
            out.push(item.clone());
        }
    }
    Ok(Value::from(out))
}

/// `has NEEDLE LIST`.
fn has(_: &mut State, args: Vec<Value>) -> FuncResult {
    if args[1].is_nil() {
        return Ok(Value::Bool(false));
    }
    let items = list_arg(&args[1], "find has")?;
    Ok(Value::Bool(
        items.iter().any(|item| deep_equal(item, &args[0])),
    ))
}

fn without(_: &mut State, args: Vec<Value>) -> FuncResult {
    let items = list_arg(&args[0], "find without")?;
    let omit = &args[1..];
    Ok(Value::from(
        items
            .iter()
            .filter(|item| !omit.iter().any(|o| deep_equal(o, item)))
            .cloned()
            .collect::<Vec<_>>(),
    ))
}

fn compact(_: &mut State, args: Vec<Value>) -> FuncResult {
    let items = list_arg(&args[0], "compact")?;
    Ok(Value::from(
        items
            .iter()
            .filter(|item| !is_empty(item))
            .cloned()
            .collect::<Vec<_>>(),
    ))
}

fn int_range(start: i64, stop: i64, step: i64) -> FuncResult {
    let mut out = Vec::new();
    if step == 0 {
        return Ok(Value::from(out));
    }
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        if out.len() as i64 >= MAX_RANGE_ITEMS {
            return call_error(format!("range of more than {MAX_RANGE_ITEMS} items"));
        }
        out.push(Value::Int(i));
        i = i.saturating_add(step);
    }
    Ok(Value::from(out))
}

fn until(_: &mut State, args: Vec<Value>) -> FuncResult {
    let count = int_arg(&args[0])?;
    int_range(0, count, if count < 0 { -1 } else { 1 })
}

fn until_step(_: &mut State, args: Vec<Value>) -> FuncResult {
    int_range(int_arg(&args[0])?, int_arg(&args[1])?, int_arg(&args[2])?)
}

/// `dict k1 v1 k2 v2…`; keys go through `toString`, a missing last value is "".
fn dict(_: &mut State, args: Vec<Value>) -> FuncResult {
    let mut map = BTreeMap::new();
    let mut pairs = args.into_iter();
    while let Some(key) = pairs.next() {
        let value = pairs
            .next()
            .map(Value::or_nil)
            .unwrap_or_else(|| Value::from(""));
        map.insert(to_string(&key), value);
    }
    Ok(Value::from(map))
}

fn set(state: &mut State, mut args: Vec<Value>) -> FuncResult {
    let map = map_arg(&args[0])?;
    let key = string_arg(&args[1])?;
    let value = args.remove(2).or_nil();
    state.engine.inserting(&map, &value);
    map.borrow_mut().insert(key, value);
    Ok(Value::Map(map))
}

fn unset(_: &mut State, args: Vec<Value>) -> FuncResult {
    let map = map_arg(&args[0])?;
    map.borrow_mut().remove(&string_arg(&args[1])?);
    Ok(Value::Map(map))
}

fn has_key(_: &mut State, args: Vec<Value>) -> FuncResult {
    let map = map_arg(&args[0])?;
    let key = string_arg(&args[1])?;
    Ok(Value::Bool(map.borrow().contains_key(&key)))
}

/// `get DICT KEY`: "" when the key is missing.
fn get(_: &mut State, args: Vec<Value>) -> FuncResult {
    let map = map_arg(&args[0])?;
    let key = string_arg(&args[1])?;
    Ok(map
        .borrow()
        .get(&key)
        .cloned()
        .unwrap_or_else(|| Value::from("")))
}

fn maps(args: &[Value]) -> Result<Vec<Map>, FuncError> {
    args.iter().map(map_arg).collect()
}

/// Keys of all dicts. Go's order is random; ours is sorted per dict.
fn keys(_: &mut State, args: Vec<Value>) -> FuncResult {
    let mut out = Vec::new();
    for map in maps(&args)? {
        out.extend(map.borrow().keys().map(|k| Value::from(k.as_str())));
    }
    Ok(Value::from(out))
}

/// Values in key order (Go's order is random).
fn values(_: &mut State, args: Vec<Value>) -> FuncResult {
    let map = map_arg(&args[0])?;
    let out: Vec<Value> = map.borrow().values().cloned().collect();
    Ok(Value::from(out))
}

fn pluck(_: &mut State, args: Vec<Value>) -> FuncResult {
    let key = string_arg(&args[0])?;
    let mut out = Vec::new();
    for map in maps(&args[1..])? {
        if let Some(value) = map.borrow().get(&key) {
            out.push(value.clone());
        }
    }
    Ok(Value::from(out))
}

fn pick(_: &mut State, args: Vec<Value>) -> FuncResult {
    let map = map_arg(&args[0])?;
    let mut out = BTreeMap::new();
    for key in &args[1..] {
        let key = string_arg(key)?;
        if let Some(value) = map.borrow().get(&key) {
            out.insert(key, value.clone());
        }
    }
    Ok(Value::from(out))
}

fn omit(_: &mut State, args: Vec<Value>) -> FuncResult {
    let map = map_arg(&args[0])?;
    let omit: Vec<String> = args[1..].iter().map(string_arg).collect::<Result<_, _>>()?;
    let out: BTreeMap<String, Value> = map
        .borrow()
        .iter()
        .filter(|(k, _)| !omit.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(Value::from(out))
}

/// mergo's deep merge of `src` into `dst`: nested dicts merge; otherwise `dst`
/// keeps its non-empty values unless `overwrite` (and then empty `src` values
/// still do not overwrite).
fn merge_into(
    engine: &Engine,
    dst: &Map,
    src: &Map,
    overwrite: bool,
    depth: usize,
) -> Result<(), FuncError> {
    if depth > MAX_VALUE_DEPTH || std::rc::Rc::ptr_eq(dst, src) {
        return Ok(());
    }
    let entries: Vec<(String, Value)> = src
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, value) in entries {
        let existing = dst.borrow().get(&key).cloned();
        match (existing, &value) {
            (Some(Value::Map(inner_dst)), Value::Map(inner_src)) => {
                merge_into(engine, &inner_dst, inner_src, overwrite, depth + 1)?;
            }
            (None, _) => {
                engine.inserting(dst, &value);
                dst.borrow_mut().insert(key, value);
            }
            (Some(current), _) => {
                if (overwrite && !is_empty(&value)) || (!overwrite && is_empty(&current)) {
                    engine.inserting(dst, &value);
                    dst.borrow_mut().insert(key, value);
                }
            }
        }
    }
    Ok(())
}

fn merge_all(engine: &Engine, args: Vec<Value>, overwrite: bool) -> FuncResult {
    let all = maps(&args)?;
    let dst = &all[0];
    for src in &all[1..] {
        merge_into(engine, dst, src, overwrite, 0)?;
    }
    Ok(Value::Map(dst.clone()))
}

fn merge(state: &mut State, args: Vec<Value>) -> FuncResult {
    merge_all(state.engine, args, false)
}

fn merge_overwrite(state: &mut State, args: Vec<Value>) -> FuncResult {
    merge_all(state.engine, args, true)
}

fn deep_copy_fn(_: &mut State, args: Vec<Value>) -> FuncResult {
    deep_copy(&args[0], 0).map_err(FuncError::Call)
}

/// `dig K1 K2… DEFAULT DICT`.
fn dig(_: &mut State, args: Vec<Value>) -> FuncResult {
    let n = args.len();
    let mut current = map_arg(&args[n - 1])?;
    let default = args[n - 2].clone();
    let keys: Vec<String> = args[..n - 2]
        .iter()
        .map(string_arg)
        .collect::<Result<_, _>>()?;
    for (i, key) in keys.iter().enumerate() {
        let Some(step) = current.borrow().get(key).cloned() else {
            return Ok(default);
        };
        if i == keys.len() - 1 {
            return Ok(step);
        }
        match step {
            Value::Map(inner) => current = inner,
            other => {
                return call_error(format!(
                    "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                    other.type_name()
                ));
            }
        }
    }
    Ok(default)
}
