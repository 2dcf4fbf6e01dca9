//! The render-wide state: named templates from every source, the `tpl` parse
//! cache, and the depth guard; plus `include` and `tpl` on top of it.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::{Rc, Weak};
use std::sync::Arc;

use super::TemplateEnv;
use super::ast::{List, Tree, is_empty_list};
use super::error::TemplateError;
use super::exec::{Flow, State};
use super::funcs::{self, FuncError};
use super::parser;
use super::value::{Map, Value};
use crate::diag::Span;

/// Nested `template`, `include` and `tpl` calls allowed before giving up; Go allows
/// 100000 but grows its stack, we must not overflow ours.
pub const MAX_TEMPLATE_DEPTH: usize = 1000;

/// Nested blocks, pipelines and template calls together, across all templates of a
/// render: the bound on recursion depth (and so on stack use) that no input can pass.
pub const MAX_NESTING: usize = 10_000;

/// Counts one level of nesting while alive.
pub struct NestingGuard<'e>(&'e Cell<usize>);

impl Drop for NestingGuard<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

/// One source text: a file, or the text given to `tpl`.
pub struct Source {
    pub file: String,
    pub text: Arc<str>,
}

/// A named template: a file's body or a `define`, with the source it came from.
pub struct Template {
    pub source: Rc<Source>,
    pub list: List,
}

type WeakMap = Weak<RefCell<BTreeMap<String, Value>>>;

/// Everything shared by one render: the templates, the parse caches and the data.
pub struct Engine<'a> {
    pub env: &'a TemplateEnv,
    pub templates: RefCell<HashMap<String, Rc<Template>>>,
    /// `tpl` texts already parsed, with their own `define`s.
    pub tpl_cache: RefCell<HashMap<String, Rc<Parsed>>>,
    pub depth: Cell<usize>,
    pub nesting: Cell<usize>,
    /// Maps that `set`/`merge` put a list or map into: the only way to a reference
    /// cycle (`set . "self" .`), which `Rc` would leak. No value outlives the render,
    /// so dropping the engine empties them and so breaks every cycle.
    mutated: RefCell<Vec<WeakMap>>,
}

impl<'a> Engine<'a> {
    pub fn new(env: &'a TemplateEnv) -> Engine<'a> {
        Engine {
            env,
            templates: RefCell::default(),
            tpl_cache: RefCell::default(),
            depth: Cell::new(0),
            nesting: Cell::new(0),
            mutated: RefCell::default(),
        }
    }

    /// Notes that `value` is going into `map`, for [`Drop`] to break cycles.
    pub fn inserting(&self, map: &Map, value: &Value) {
        if matches!(value, Value::Map(_) | Value::List(_)) {
            let mut mutated = self.mutated.borrow_mut();
            if mutated
                .last()
                .is_some_and(|last| last.ptr_eq(&Rc::downgrade(map)))
            {
                return;
            }
            if mutated.len() >= 1024 && mutated.len().is_power_of_two() {
                mutated.retain(|map| map.strong_count() > 0);
            }
            mutated.push(Rc::downgrade(map));
        }
    }

    /// Parses a source and registers its body under `name`, and its defines. As in
    /// Go, a later definition replaces an earlier one unless it is empty.
    pub fn add_source(
        &self,
        name: &str,
        file: &str,
        text: &str,
    ) -> Result<Rc<Template>, TemplateError> {
        let (body, defines) = parse_source(file, text)?;
        self.define_all(defines);
        self.templates
            .borrow_mut()
            .insert(name.to_string(), body.clone());
        Ok(body)
    }

    /// Adds `define`d templates; as in Go, an empty one does not replace another.
    pub fn define_all(&self, defines: impl IntoIterator<Item = (String, Rc<Template>)>) {
        let mut templates = self.templates.borrow_mut();
        for (name, template) in defines {
            if is_empty_list(&template.list) && templates.contains_key(&name) {
                continue;
            }
            templates.insert(name, template);
        }
    }

    /// One more level of nesting, or `None` past [`MAX_NESTING`].
    pub fn enter(&self) -> Option<NestingGuard<'_>> {
        let level = self.nesting.get();
        if level >= MAX_NESTING {
            return None;
        }
        self.nesting.set(level + 1);
        Some(NestingGuard(&self.nesting))
    }

    /// Refuses one more nested template call past [`MAX_TEMPLATE_DEPTH`]; callers
    /// check first so the error points at the call.
    pub fn check_depth(&self) -> Result<(), String> {
        if self.depth.get() >= MAX_TEMPLATE_DEPTH {
            return Err(format!(
                "exceeded maximum template depth ({MAX_TEMPLATE_DEPTH})"
            ));
        }
        Ok(())
    }

    pub fn lookup(&self, name: &str) -> Option<Rc<Template>> {
        self.templates.borrow().get(name).cloned()
    }

    /// Runs a template with `dot` and returns its output.
    pub fn execute(
        &self,
        name: &str,
        template: &Rc<Template>,
        dot: Value,
    ) -> Result<String, TemplateError> {
        let depth = self.depth.get();
        if depth >= MAX_TEMPLATE_DEPTH {
            return Err(TemplateError::new(
                &template.source.file,
                &template.source.text,
                Span::default(),
                Some(name),
                format!("exceeded maximum template depth ({MAX_TEMPLATE_DEPTH})"),
            ));
        }
        self.depth.set(depth + 1);
        let mut state = State::new(self, template.source.clone(), name, &dot);
        let result = state.walk_list(&dot, &template.list);
        let out = state.into_output();
        self.depth.set(depth);
        match result {
            Ok(()) => Ok(out),
            Err(Flow::Error(error)) => Err(*error),
            // The parser only allows break/continue inside range.
            Err(Flow::Break | Flow::Continue) => Ok(out),
        }
    }
}

/// The `define`d templates of one source.
pub type Defines = Vec<(String, Rc<Template>)>;

/// A parsed source: its body and its defines.
pub type Parsed = (Rc<Template>, Defines);

pub fn parse_source(file: &str, text: &str) -> Result<Parsed, TemplateError> {
    let source = Rc::new(Source {
        file: file.to_string(),
        text: Arc::from(text),
    });
    let tree: Tree = parser::parse(text, &funcs::exists)
        .map_err(|error| TemplateError::new(file, &source.text, error.span, None, error.message))?;
    let defines = tree
        .defines
        .into_iter()
        .map(|(name, list)| {
            let template = Rc::new(Template {
                source: source.clone(),
                list,
            });
            (name, template)
        })
        .collect();
    let body = Rc::new(Template {
        source,
        list: tree.root,
    });
    Ok((body, defines))
}

impl State<'_, '_> {
    /// Runs a named template for `include`.
    pub fn include(&mut self, name: &str, dot: Value) -> Result<String, FuncError> {
        self.engine.check_depth().map_err(FuncError::Call)?;
        let Some(template) = self.engine.lookup(name) else {
            return Err(FuncError::Call(format!("template {name:?} not found")));
        };
        self.engine
            .execute(name, &template, dot)
            .map_err(|error| FuncError::Nested(Box::new(error)))
    }

    /// Renders `text` for `tpl`; its parse is cached by text.
    pub fn tpl(&mut self, text: &str, dot: Value) -> Result<String, FuncError> {
        self.engine.check_depth().map_err(FuncError::Call)?;
        let cached = self.engine.tpl_cache.borrow().get(text).cloned();
        let parsed = match cached {
            Some(parsed) => parsed,
            None => {
                let parsed = Rc::new(
                    parse_source("<tpl>", text)
                        .map_err(|error| FuncError::Nested(Box::new(error)))?,
                );
                self.engine
                    .tpl_cache
                    .borrow_mut()
                    .insert(text.to_string(), parsed.clone());
                parsed
            }
        };
        // As in werf, the text's defines join the shared set and stay there.
        self.engine.define_all(parsed.1.iter().cloned());
        self.engine
            .execute("<tpl>", &parsed.0, dot)
            .map_err(|error| FuncError::Nested(Box::new(error)))
    }
}

impl Drop for Engine<'_> {
    fn drop(&mut self) {
        for map in self.mutated.take() {
            if let Some(map) = map.upgrade() {
                let entries = std::mem::take(&mut *map.borrow_mut());
                drop(entries);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::werf::template::tests::env_with;

    /// Found by `cargo fuzz run template` (LeakSanitizer): `set . "Base" .` made the
    /// root map hold itself, and the `Rc` cycle outlived the render.
    #[test]
    fn cycles_made_by_set_and_merge_are_freed_with_the_engine() {
        let env = env_with(&[]);
        for text in [
            r#"{{- $_ := set . "Base" . }}x"#,
            r#"{{- $_ := set . "l" (list 1 .) }}{{ $_ := merge . (dict "m" (dict "n" .)) }}x"#,
            r#"{{- $_ := set . "d" (dict "a" (dict)) }}{{ $_ := mergeOverwrite .d (dict "a" (dict "b" $)) }}x"#,
        ] {
            let root: Map = Rc::default();
            let weak = Rc::downgrade(&root);
            let engine = Engine::new(&env);
            let main = engine.add_source("werf.yaml", "werf.yaml", text).unwrap();
            let out = engine.execute("werf.yaml", &main, Value::Map(root));
            assert_eq!(out.unwrap(), "x", "{text}");
            assert!(weak.upgrade().is_some(), "the cycle holds the root: {text}");
            drop(main);
            drop(engine);
            assert!(weak.upgrade().is_none(), "leaked: {text}");
        }
    }
}

#[cfg(test)]
mod cycle_output_tests {
    use crate::werf::template::tests::run;

    /// Found by `cargo fuzz run template` (out-of-memory): a map holding itself under
    /// two keys doubles its `%v` text at each of the 1000 levels printed; now the text
    /// stops at the output limit and the render fails instead of allocating without end.
    #[test]
    fn printing_a_map_that_holds_itself_twice_stops_at_the_output_limit() {
        let text = r#"{{- $_ := set . "a" . }}{{ $_ := set . "b" . }}"#;
        let err = run(&format!("{text}{{{{ . }}}}")).unwrap_err();
        assert!(err.contains("output larger than 256 MiB"), "{err}");
        // sprig's toJson and toYaml give "" on an error, as here on the cycle.
        assert_eq!(run(&format!("{text}{{{{ toJson . }}}}")).unwrap(), "");
        assert_eq!(run(&format!("{text}{{{{ toYaml . }}}}")).unwrap(), "");
    }
}
