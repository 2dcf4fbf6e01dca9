//! A Go text/template engine with sprig's and werf's functions, for werf.yaml.
//!
//! No Rust crate renders werf configs faithfully (gtmpl lacks shared maps for
//! `set`, `=`, `break`, methods with arguments, short-circuit `and`/`or`; see
//! shared/research/templates.md), so this is our own. The entry point is
//! [`render`]; the data a template sees comes from [`TemplateEnv`].
//!
//! Pipeline: `lexer` (tokens, trim markers, comments) → `parser` (tree with spans,
//! Go's parse-time checks) → `exec` (Go's evaluation rules) with `funcs`; `engine`
//! holds what one render shares (named templates, the `tpl` cache, the depth guard).
//!
//! Known differences from werf (Go text/template + sprig + werf's functions):
//! - Of Go's integer types only `int` and `int64` exist, and an `int`
//!   parameter accepts either (Go refuses int64 there). Lists are all
//!   `[]interface {}` (sprig's `[]string` results included).
//! - werf's `fromYaml` gives `map[interface{}]interface{}` for nested maps, on
//!   which `set` and `toJson` fail in werf; here every map is a string-keyed dict.
//! - `keys`/`values` are sorted by key (Go: random order).
//! - `toYaml` folds long plain and single-quoted strings at 80 columns as
//!   go-yaml v2 does, but not double-quoted ones.
//! - `env` behaves as in werf's loose giterminism mode (unset → "").
//! - Nested template calls stop at 1000 (Go: 100000); output stops at 256 MiB.

mod ast;
mod engine;
mod error;
mod exec;
mod files;
mod funcs;
mod lexer;
mod literals;
mod parser;
mod value;
mod yaml;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

pub use error::TemplateError;
pub use files::{FileSource, MemoryFiles, ProjectDir, normalize};

use crate::diag::Span;
use engine::Engine;
use value::Value;

/// Where werf looks for partials: every `.werf/**/*.tmpl`, named by the path
/// below this directory (`include "partials/base.tmpl" .`).
pub const PARTIALS_DIR: &str = ".werf";

/// The commit a config is rendered for (`.Commit.*`).
#[derive(Clone, Debug)]
pub struct CommitInfo {
    pub hash: String,
    /// `.Commit.Date`, or why it is not known (using it is then an error saying so).
    pub date: Result<CommitDate, String>,
}

#[derive(Clone, Debug)]
pub struct CommitDate {
    /// `.Commit.Date.Human`: Go's `time.Time.String()`, e.g.
    /// `2024-05-01 10:00:00 +0000 UTC`.
    pub human: String,
    /// `.Commit.Date.Unix`, which templates see as a string, as in werf.
    pub unix: i64,
}

/// Everything a template can see besides its own text.
#[derive(Clone)]
pub struct TemplateEnv {
    /// `.Env`: werf's `--env` option (an environment name, not process variables).
    pub env: String,
    /// `.Commit.*`, or why there is no commit (using it is then an error saying so).
    pub commit: Result<CommitInfo, String>,
    /// `.Files.*` and the partials.
    pub files: Arc<dyn FileSource>,
    /// What `env NAME` reads; the caller passes the process environment.
    pub env_vars: BTreeMap<String, String>,
}

/// Stack for the render thread. Recursion is bounded by `engine::MAX_NESTING`
/// and `engine::MAX_TEMPLATE_DEPTH`; the worst inputs in the tests need under
/// 48 MiB in a debug build, so this leaves a wide margin (it is only reserved,
/// pages are touched as used).
const RENDER_STACK: usize = 512 << 20;

/// Renders `text` (the contents of `file_name`, e.g. `werf.yaml`) with the
/// partials under `.werf/` and the data in `env`.
pub fn render(file_name: &str, text: &str, env: &TemplateEnv) -> Result<String, TemplateError> {
    let internal = |message: &str| {
        Err(TemplateError::new(
            file_name,
            &Arc::from(text),
            Span::default(),
            None,
            message,
        ))
    };
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("werf-template".into())
            .stack_size(RENDER_STACK)
            .spawn_scoped(scope, || render_here(file_name, text, env));
        match spawned {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|_| internal("internal error: the template engine panicked")),
            Err(_) => render_here(file_name, text, env),
        }
    })
}

fn render_here(file_name: &str, text: &str, env: &TemplateEnv) -> Result<String, TemplateError> {
    let engine = Engine::new(env);
    let text_arc: Arc<str> = Arc::from(text);
    let at_top =
        |message: String| TemplateError::new(file_name, &text_arc, Span::default(), None, message);
    let partials = env.files.files_under(PARTIALS_DIR).map_err(at_top)?;
    for path in partials.iter().filter(|p| p.ends_with(".tmpl")) {
        let partial = env.files.read(path).map_err(at_top)?.unwrap_or_default();
        let name = path
            .strip_prefix(&format!("{PARTIALS_DIR}/"))
            .unwrap_or(path);
        engine.add_source(name, path, &partial)?;
    }
    let main = engine.add_source(file_name, file_name, text)?;
    engine.execute(file_name, &main, root_data(env))
}

fn root_data(env: &TemplateEnv) -> Value {
    let mut root = BTreeMap::new();
    root.insert("Env".to_string(), Value::from(env.env.as_str()));
    root.insert(
        "Files".to_string(),
        Value::Object(Rc::new(files::Files {
            source: env.files.clone(),
        })),
    );
    let unknown = |reason: &String| {
        Value::Object(Rc::new(Unknown {
            reason: reason.clone(),
        }))
    };
    let commit = match &env.commit {
        Err(reason) => unknown(reason),
        Ok(commit) => {
            let date = match &commit.date {
                Err(reason) => unknown(reason),
                Ok(date) => {
                    let mut fields = BTreeMap::new();
                    fields.insert("Human".to_string(), Value::from(date.human.as_str()));
                    // werf passes the Unix time as a string; sprig's math converts it.
                    fields.insert("Unix".to_string(), Value::from(date.unix.to_string()));
                    Value::from(fields)
                }
            };
            let mut info = BTreeMap::new();
            info.insert("Hash".to_string(), Value::from(commit.hash.as_str()));
            info.insert("Date".to_string(), date);
            Value::from(info)
        }
    };
    root.insert("Commit".to_string(), commit);
    Value::from(root)
}

/// `.Commit` (or `.Commit.Date`) when it is not known: any field is an error with the
/// reason.
struct Unknown {
    reason: String,
}

impl value::Object for Unknown {
    fn type_name(&self) -> &str {
        "config.commit"
    }

    fn has_method(&self, _name: &str) -> bool {
        true
    }

    fn call(&self, _name: &str, _args: Vec<Value>) -> Result<Value, String> {
        Err(self.reason.clone())
    }
}
