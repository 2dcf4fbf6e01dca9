//! The parse tree. Every node carries the byte span of the text it came from, so
//! execution errors can point at the failing action.

use crate::diag::Span;

#[derive(Clone, Debug, Default)]
pub struct List {
    pub nodes: Vec<Node>,
}

#[derive(Clone, Debug)]
pub enum Node {
    Text(Span, String),
    /// `{{ pipeline }}`: prints the value unless the pipeline declares variables.
    Action(Span, Pipe),
    If(Control),
    Range(Control),
    With(Control),
    /// `{{ template "name" pipeline }}`; `block` is parsed into a define plus this.
    Template {
        span: Span,
        name: String,
        pipe: Option<Pipe>,
    },
    // Execution reads only the spans it reports errors at; these serve the dump
    // and future tools (source maps into rendered output).
    #[cfg_attr(not(test), allow(dead_code))]
    Break(Span),
    #[cfg_attr(not(test), allow(dead_code))]
    Continue(Span),
}

/// The shared shape of `if`, `range` and `with`.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Clone, Debug)]
pub struct Control {
    pub span: Span,
    pub pipe: Pipe,
    pub list: List,
    pub else_list: Option<List>,
}

#[derive(Clone, Debug)]
pub struct Pipe {
    pub span: Span,
    /// `=` rather than `:=`.
    pub is_assign: bool,
    /// Declared or assigned variables, with the `$`.
    pub decl: Vec<(String, Span)>,
    pub cmds: Vec<Command>,
}

#[derive(Clone, Debug)]
pub struct Command {
    pub span: Span,
    pub args: Vec<Arg>,
}

#[derive(Clone, Debug)]
pub enum Arg {
    Dot(Span),
    Nil(Span),
    Bool(Span, bool),
    Str(Span, String),
    Int(Span, i64),
    Float(Span, f64),
    /// `.A.B`: a field chain on dot.
    Field(Span, Vec<String>),
    /// `$x.A.B`.
    Variable(Span, String, Vec<String>),
    /// A function name.
    Identifier(Span, String),
    /// `(pipeline)` with an optional field chain after it: `(x).A.B`.
    Chain(Span, Box<Arg>, Vec<String>),
    Pipe(Span, Box<Pipe>),
}

impl Arg {
    pub fn span(&self) -> Span {
        match self {
            Arg::Dot(s)
            | Arg::Nil(s)
            | Arg::Bool(s, _)
            | Arg::Str(s, _)
            | Arg::Int(s, _)
            | Arg::Float(s, _)
            | Arg::Field(s, _)
            | Arg::Variable(s, _, _)
            | Arg::Identifier(s, _)
            | Arg::Chain(s, _, _)
            | Arg::Pipe(s, _) => *s,
        }
    }
}

/// One parsed source: its main body and the templates it `define`s.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    pub root: List,
    pub defines: Vec<(String, List)>,
}

/// Whether a list has only blank text, as Go's `IsEmptyTree`: an empty `define`
/// does not replace an earlier one.
pub fn is_empty_list(list: &List) -> bool {
    list.nodes.iter().all(|node| match node {
        Node::Text(_, text) => text.trim().is_empty(),
        _ => false,
    })
}

#[cfg(test)]
impl Tree {
    /// A readable dump of the body with byte spans, one node a line, for tests.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        dump_list(&mut out, &self.root, 0);
        for (name, list) in &self.defines {
            out.push_str(&format!("define {name:?}\n"));
            dump_list(&mut out, list, 1);
        }
        out
    }
}

#[cfg(test)]
fn dump_list(out: &mut String, list: &List, depth: usize) {
    let pad = "  ".repeat(depth);
    for node in &list.nodes {
        let line = match node {
            Node::Text(span, text) => format!("Text {}..{} {text:?}", span.start, span.end),
            Node::Action(span, pipe) => {
                format!("Action {}..{} {}", span.start, span.end, dump_pipe(pipe))
            }
            Node::If(c) | Node::Range(c) | Node::With(c) => {
                let word = match node {
                    Node::If(_) => "If",
                    Node::Range(_) => "Range",
                    _ => "With",
                };
                out.push_str(&format!(
                    "{pad}{word} {}..{} {}\n",
                    c.span.start,
                    c.span.end,
                    dump_pipe(&c.pipe)
                ));
                dump_list(out, &c.list, depth + 1);
                if let Some(else_list) = &c.else_list {
                    out.push_str(&format!("{pad}Else\n"));
                    dump_list(out, else_list, depth + 1);
                }
                continue;
            }
            Node::Template { span, name, pipe } => format!(
                "Template {}..{} {name:?} {}",
                span.start,
                span.end,
                pipe.as_ref().map(dump_pipe).unwrap_or_default()
            ),
            Node::Break(span) => format!("Break {}..{}", span.start, span.end),
            Node::Continue(span) => format!("Continue {}..{}", span.start, span.end),
        };
        out.push_str(&pad);
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

#[cfg(test)]
fn dump_pipe(pipe: &Pipe) -> String {
    let mut out = String::new();
    if !pipe.decl.is_empty() {
        let names: Vec<&str> = pipe.decl.iter().map(|(n, _)| n.as_str()).collect();
        out.push_str(&names.join(", "));
        out.push_str(if pipe.is_assign { " = " } else { " := " });
    }
    let commands: Vec<String> = pipe
        .cmds
        .iter()
        .map(|c| c.args.iter().map(dump_arg).collect::<Vec<_>>().join(" "))
        .collect();
    out.push_str(&commands.join(" | "));
    out
}

#[cfg(test)]
fn dump_arg(arg: &Arg) -> String {
    let span = arg.span();
    let text = match arg {
        Arg::Dot(_) => ".".to_string(),
        Arg::Nil(_) => "nil".to_string(),
        Arg::Bool(_, b) => b.to_string(),
        Arg::Str(_, s) => format!("{s:?}"),
        Arg::Int(_, i) => i.to_string(),
        Arg::Float(_, f) => format!("{f:?}"),
        Arg::Field(_, path) => format!(".{}", path.join(".")),
        Arg::Variable(_, name, path) => std::iter::once(name.as_str())
            .chain(path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("."),
        Arg::Identifier(_, name) => name.clone(),
        Arg::Chain(_, inner, path) => format!("{}.{}", dump_arg(inner), path.join(".")),
        Arg::Pipe(_, pipe) => format!("({})", dump_pipe(pipe)),
    };
    format!("{text}@{}", span.start)
}
