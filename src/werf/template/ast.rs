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
    Break(Span),
    Continue(Span),
}

/// The shared shape of `if`, `range` and `with`.
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
