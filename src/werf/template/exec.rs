//! Executes parse trees with Go's text/template semantics.

use std::rc::Rc;

use super::ast::{Arg, Command, Control, List, Node, Pipe};
use super::engine::{Engine, MAX_NESTING, NestingGuard, Source};
use super::error::TemplateError;
use super::funcs::{self, FuncError};
use super::value::{Value, format_value};
use crate::diag::Span;

pub enum Flow {
    Break,
    Continue,
    Error(Box<TemplateError>),
}

impl From<TemplateError> for Flow {
    fn from(error: TemplateError) -> Flow {
        Flow::Error(Box::new(error))
    }
}

type Walk<T = ()> = Result<T, Flow>;

/// The most one template may print: a runaway loop fails instead of exhausting memory.
pub const MAX_OUTPUT: usize = 256 << 20;

/// What a `range` walks, without copying it (an integer range may be huge).
enum RangeItems {
    List(Rc<Vec<Value>>),
    Map(super::value::Map, Vec<String>),
    Int(i64),
}

impl RangeItems {
    fn len(&self) -> usize {
        match self {
            RangeItems::List(list) => list.len(),
            RangeItems::Map(_, keys) => keys.len(),
            RangeItems::Int(n) => usize::try_from(*n).unwrap_or(0),
        }
    }

    /// The key (index) and element of item `i`.
    fn get(&self, i: usize) -> (Value, Value) {
        match self {
            RangeItems::List(list) => (Value::Int(i as i64), list[i].clone()),
            RangeItems::Map(map, keys) => {
                let value = map.borrow().get(&keys[i]).cloned().unwrap_or_default();
                (Value::from(keys[i].as_str()), value)
            }
            RangeItems::Int(_) => (Value::Int(i as i64), Value::Int(i as i64)),
        }
    }
}

/// The state of executing one template: its variables and output.
pub struct State<'e, 'a> {
    pub engine: &'e Engine<'a>,
    source: Rc<Source>,
    name: String,
    vars: Vec<(String, Value)>,
    out: String,
}

impl<'e, 'a> State<'e, 'a> {
    pub fn new(
        engine: &'e Engine<'a>,
        source: Rc<Source>,
        name: &str,
        dot: &Value,
    ) -> State<'e, 'a> {
        State {
            engine,
            source,
            name: name.to_string(),
            vars: vec![("$".to_string(), dot.clone())],
            out: String::new(),
        }
    }

    pub fn into_output(self) -> String {
        self.out
    }

    pub fn error(&self, span: Span, message: impl Into<String>) -> Flow {
        Flow::from(TemplateError::new(
            &self.source.file,
            &self.source.text,
            span,
            Some(&self.name),
            message,
        ))
    }

    pub fn walk_list(&mut self, dot: &Value, list: &List) -> Walk {
        for node in &list.nodes {
            self.walk(dot, node)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Value, node: &Node) -> Walk {
        let engine = self.engine;
        let _nesting = match node {
            Node::If(c) | Node::With(c) | Node::Range(c) => Some(self.enter(engine, c.pipe.span)?),
            _ => None,
        };
        match node {
            Node::Text(span, text) => self.write(text, *span)?,
            Node::Action(span, pipe) => {
                let value = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    let text = self.printable(&value, pipe.span)?;
                    self.write(&text, *span)?;
                }
            }
            Node::If(control) => self.walk_if_or_with(dot, control, false)?,
            Node::With(control) => self.walk_if_or_with(dot, control, true)?,
            Node::Range(control) => self.walk_range(dot, control)?,
            Node::Template { span, name, pipe } => {
                let value = match pipe {
                    Some(pipe) => self.eval_pipeline(dot, pipe)?,
                    None => Value::Missing,
                };
                let Some(template) = self.engine.lookup(name) else {
                    return Err(self.error(*span, format!("no such template {name:?}")));
                };
                self.engine
                    .check_depth()
                    .map_err(|message| self.error(*span, message))?;
                let output = self.engine.execute(name, &template, value)?;
                self.write(&output, *span)?;
            }
            Node::Break(_) => return Err(Flow::Break),
            Node::Continue(_) => return Err(Flow::Continue),
        }
        Ok(())
    }

    fn printable(&self, value: &Value, span: Span) -> Walk<String> {
        if let Value::Object(object) = value {
            return Err(self.error(
                span,
                format!("can't print value of type {}", object.type_name()),
            ));
        }
        Ok(format_value(value))
    }

    /// Appends to the output, refusing to grow it past [`MAX_OUTPUT`].
    fn write(&mut self, text: &str, span: Span) -> Walk {
        if self.out.len() + text.len() > MAX_OUTPUT {
            return Err(self.error(span, format!("output larger than {} MiB", MAX_OUTPUT >> 20)));
        }
        self.out.push_str(text);
        Ok(())
    }

    fn walk_if_or_with(&mut self, dot: &Value, control: &Control, is_with: bool) -> Walk {
        let mark = self.vars.len();
        let value = self.eval_pipeline(dot, &control.pipe)?;
        let result = if value.truth() {
            let dot = if is_with { &value } else { dot };
            self.walk_list(dot, &control.list)
        } else if let Some(else_list) = &control.else_list {
            self.walk_list(dot, else_list)
        } else {
            Ok(())
        };
        self.vars.truncate(mark);
        result
    }

    fn walk_range(&mut self, dot: &Value, control: &Control) -> Walk {
        let mark = self.vars.len();
        let value = self.eval_pipeline_value(dot, &control.pipe)?;
        let decl = &control.pipe.decl;
        let value_span = control
            .pipe
            .cmds
            .first()
            .map_or(control.pipe.span, |c| c.span);
        for (name, _) in decl {
            self.vars.push((name.clone(), value.clone()));
        }
        let items = match &value {
            Value::Missing => RangeItems::Int(0),
            Value::List(list) => RangeItems::List(list.clone()),
            // Keys are taken now; values are read live, as Go does.
            Value::Map(map) => RangeItems::Map(map.clone(), map.borrow().keys().cloned().collect()),
            Value::Int(n) | Value::Int64(n) => {
                if decl.len() > 1 {
                    return Err(self.error(
                        value_span,
                        format!("can't use {n} to iterate over more than one variable"),
                    ));
                }
                RangeItems::Int(*n)
            }
            other => {
                return Err(self.error(
                    value_span,
                    format!("range can't iterate over {}", format_value(other)),
                ));
            }
        };
        let result = self.range_items(dot, control, items, mark);
        self.vars.truncate(mark);
        result
    }

    fn range_items(
        &mut self,
        dot: &Value,
        control: &Control,
        items: RangeItems,
        mark: usize,
    ) -> Walk {
        if items.len() == 0 {
            if let Some(else_list) = &control.else_list {
                return self.walk_list(dot, else_list);
            }
            return Ok(());
        }
        let n_decl = control.pipe.decl.len();
        for i in 0..items.len() {
            let (key, elem) = items.get(i);
            match n_decl {
                1 => self.vars[mark].1 = elem.clone(),
                2 => {
                    self.vars[mark].1 = key;
                    self.vars[mark + 1].1 = elem.clone();
                }
                _ => {}
            }
            let inner = self.vars.len();
            let result = self.walk_list(&elem, &control.list);
            self.vars.truncate(inner);
            match result {
                Ok(()) | Err(Flow::Continue) => {}
                Err(Flow::Break) => break,
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// A pipeline's value, with its variables declared or assigned.
    fn eval_pipeline(&mut self, dot: &Value, pipe: &Pipe) -> Walk<Value> {
        let value = self.eval_pipeline_value(dot, pipe)?;
        for (name, span) in &pipe.decl {
            if pipe.is_assign {
                match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    Some(slot) => slot.1 = value.clone(),
                    None => return Err(self.error(*span, format!("undefined variable: {name}"))),
                }
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    /// A nesting level for the duration of a block or pipeline.
    fn enter<'g>(&self, engine: &'g Engine, span: Span) -> Walk<NestingGuard<'g>> {
        engine.enter().ok_or_else(|| {
            self.error(
                span,
                format!("nested too deeply (more than {MAX_NESTING} levels)"),
            )
        })
    }

    fn eval_pipeline_value(&mut self, dot: &Value, pipe: &Pipe) -> Walk<Value> {
        let engine = self.engine;
        let _nesting = self.enter(engine, pipe.span)?;
        let mut value: Option<Value> = None;
        for command in &pipe.cmds {
            let result = self.eval_command(dot, command, value.take())?;
            // Go digs a nil interface out to "no value" between commands.
            value = Some(match result {
                Value::Nil => Value::Missing,
                other => other,
            });
        }
        Ok(value.unwrap_or_default())
    }

    fn eval_command(&mut self, dot: &Value, command: &Command, last: Option<Value>) -> Walk<Value> {
        let first = &command.args[0];
        match first {
            Arg::Field(span, path) => {
                self.eval_fields(dot, dot.clone(), path, *span, &command.args, last)
            }
            Arg::Chain(span, inner, path) => {
                let receiver = self.eval_arg(dot, inner)?;
                self.eval_fields(dot, receiver, path, *span, &command.args, last)
            }
            Arg::Variable(span, name, path) => {
                let value = self.variable(name, *span)?;
                if path.is_empty() {
                    self.not_a_function(&command.args, &last)?;
                    return Ok(value);
                }
                self.eval_fields(dot, value, path, *span, &command.args, last)
            }
            Arg::Identifier(span, name) => {
                self.eval_function(dot, name, *span, &command.args[1..], last)
            }
            Arg::Pipe(_, pipe) => {
                self.not_a_function(&command.args, &last)?;
                self.eval_pipeline(dot, pipe)
            }
            Arg::Nil(span) => Err(self.error(*span, "nil is not a command")),
            constant => {
                self.not_a_function(&command.args, &last)?;
                self.eval_arg(dot, constant)
            }
        }
    }

    fn not_a_function(&self, args: &[Arg], last: &Option<Value>) -> Walk {
        if args.len() > 1 || last.is_some() {
            let span = args[0].span();
            let text = self.source.text.get(span.start..span.end).unwrap_or("");
            return Err(self.error(span, format!("can't give argument to non-function {text}")));
        }
        Ok(())
    }

    fn variable(&self, name: &str, span: Span) -> Walk<Value> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, value)) => Ok(value.clone()),
            None => Err(self.error(span, format!("undefined variable: {name}"))),
        }
    }

    /// `receiver.A.B args…`: every field but the last takes no arguments.
    fn eval_fields(
        &mut self,
        dot: &Value,
        mut receiver: Value,
        path: &[String],
        span: Span,
        args: &[Arg],
        last: Option<Value>,
    ) -> Walk<Value> {
        let Some((final_name, init)) = path.split_last() else {
            return Ok(receiver);
        };
        for name in init {
            receiver = self.eval_field(dot, name, span, &[], None, receiver)?;
        }
        self.eval_field(dot, final_name, span, args, last, receiver)
    }

    fn eval_field(
        &mut self,
        dot: &Value,
        name: &str,
        span: Span,
        args: &[Arg],
        last: Option<Value>,
        receiver: Value,
    ) -> Walk<Value> {
        let has_args = args.len() > 1 || last.is_some();
        match &receiver {
            Value::Missing => Ok(Value::Missing),
            Value::Object(object) if object.has_method(name) => {
                let mut values = Vec::new();
                for arg in args.iter().skip(1) {
                    values.push(self.eval_arg(dot, arg)?);
                }
                values.extend(last);
                object
                    .call(name, values)
                    .map_err(|message| self.error(span, format!("error calling {name}: {message}")))
            }
            Value::Map(map) => {
                if has_args {
                    return Err(
                        self.error(span, format!("{name} is not a method but has arguments"))
                    );
                }
                Ok(map.borrow().get(name).cloned().unwrap_or_default())
            }
            Value::Nil => Err(self.error(
                span,
                format!("nil pointer evaluating interface {{}}.{name}"),
            )),
            other => Err(self.error(
                span,
                format!("can't evaluate field {name} in type {}", other.type_name()),
            )),
        }
    }

    /// An argument's value (a function name here is a call without arguments).
    fn eval_arg(&mut self, dot: &Value, arg: &Arg) -> Walk<Value> {
        Ok(match arg {
            Arg::Dot(_) => dot.clone(),
            Arg::Nil(_) => Value::Nil,
            Arg::Bool(_, b) => Value::Bool(*b),
            Arg::Str(_, s) => Value::from(s.as_str()),
            Arg::Int(_, i) => Value::Int(*i),
            Arg::Float(_, f) => Value::Float(*f),
            Arg::Field(span, path) => self.eval_fields(
                dot,
                dot.clone(),
                path,
                *span,
                std::slice::from_ref(arg),
                None,
            )?,
            Arg::Variable(span, name, path) => {
                let value = self.variable(name, *span)?;
                self.eval_fields(dot, value, path, *span, std::slice::from_ref(arg), None)?
            }
            Arg::Chain(span, inner, path) => {
                let receiver = self.eval_arg(dot, inner)?;
                self.eval_fields(dot, receiver, path, *span, std::slice::from_ref(arg), None)?
            }
            Arg::Identifier(span, name) => self.eval_function(dot, name, *span, &[], None)?,
            Arg::Pipe(_, pipe) => self.eval_pipeline(dot, pipe)?,
        })
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        name: &str,
        span: Span,
        args: &[Arg],
        last: Option<Value>,
    ) -> Walk<Value> {
        // Go's builtins that take reflect.Value refuse a literal nil argument.
        const REFLECT_ARGS: &[&str] = &[
            "and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len", "index", "slice",
        ];
        if REFLECT_ARGS.contains(&name)
            && let Some(nil) = args.iter().find(|arg| matches!(arg, Arg::Nil(_)))
        {
            return Err(self.error(nil.span(), "cannot assign nil to reflect.Value"));
        }
        if name == "and" || name == "or" {
            return self.eval_and_or(dot, name, span, args, last);
        }
        let Some(func) = funcs::lookup(name) else {
            return Err(self.error(span, format!("{name:?} is not a defined function")));
        };
        let mut values = Vec::with_capacity(args.len() + 1);
        for arg in args {
            values.push(self.eval_arg(dot, arg)?);
        }
        values.extend(last);
        if values.len() < func.min_args || func.max_args.is_some_and(|max| values.len() > max) {
            let want = match func.max_args {
                Some(max) if max == func.min_args => format!("want {max}"),
                _ => format!("want at least {}", func.min_args),
            };
            return Err(self.error(
                span,
                format!(
                    "wrong number of args for {name}: {want} got {}",
                    values.len()
                ),
            ));
        }
        let result = (func.call)(self, values);
        if let Ok(Value::Str(s)) = &result
            && s.len() > MAX_OUTPUT
        {
            // Strings that double in a loop stop here, not in an allocation failure.
            return Err(self.error(
                span,
                format!(
                    "error calling {name}: result larger than {} MiB",
                    MAX_OUTPUT >> 20
                ),
            ));
        }
        result.map_err(|error| match error {
            FuncError::Call(message) => {
                self.error(span, format!("error calling {name}: {message}"))
            }
            FuncError::Arg(message) => self.error(span, message),
            FuncError::Nested(inner) => {
                let mut outer = TemplateError::new(
                    &self.source.file,
                    &self.source.text,
                    span,
                    Some(&self.name),
                    format!("error calling {name}"),
                );
                outer.cause = Some(inner);
                Flow::from(outer)
            }
        })
    }

    /// Go 1.18's short-circuit `and`/`or`: the first deciding argument, else the last.
    fn eval_and_or(
        &mut self,
        dot: &Value,
        name: &str,
        span: Span,
        args: &[Arg],
        last: Option<Value>,
    ) -> Walk<Value> {
        if args.is_empty() && last.is_none() {
            return Err(self.error(
                span,
                format!("wrong number of args for {name}: want at least 1 got 0"),
            ));
        }
        let stop_on = name == "or";
        let mut value = Value::Missing;
        for arg in args {
            value = self.eval_arg(dot, arg)?;
            if value.truth() == stop_on {
                return Ok(value);
            }
        }
        Ok(last.unwrap_or(value))
    }
}
