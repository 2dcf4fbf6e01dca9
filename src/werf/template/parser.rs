//! Builds a [`Tree`] from tokens with the checks Go's parser makes: functions must
//! exist, variables must be declared, `break`/`continue` only inside `range`,
//! `define` only at the top level.

use super::ast::{Arg, Command, Control, List, Node, Pipe, Tree};
use super::lexer::{Keyword, Token, TokenKind, lex};
use super::literals::number;
use crate::diag::Span;

#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub span: Span,
    pub message: String,
}

/// Deepest nesting of parentheses and blocks accepted.
const MAX_NESTING: usize = 1000;

pub(super) type Result<T> = std::result::Result<T, ParseError>;

/// Parses one source. `has_function` says whether a name is a known function.
pub fn parse(text: &str, has_function: &dyn Fn(&str) -> bool) -> Result<Tree> {
    let mut parser = Parser {
        text,
        tokens: lex(text),
        pos: 0,
        vars: vec!["$".to_string()],
        range_depth: 0,
        depth: 0,
        has_function,
        tree: Tree::default(),
    };
    let mut root = List::default();
    loop {
        match parser.peek().kind {
            TokenKind::Eof => break,
            TokenKind::LeftDelim
                if matches!(
                    parser.peek_non_space_at(parser.pos + 1).kind,
                    TokenKind::Keyword(Keyword::Define)
                ) =>
            {
                parser.next();
                parser.next_non_space();
                parser.parse_define()?;
            }
            _ => match parser.text_or_action()? {
                Item::Node(node) => root.nodes.push(node),
                Item::End(span) => return Err(error(span, "unexpected {{end}}")),
                Item::Else(span, _) => return Err(error(span, "unexpected {{else}}")),
            },
        }
    }
    parser.tree.root = root;
    Ok(parser.tree)
}

pub(super) fn error(span: Span, message: impl Into<String>) -> ParseError {
    ParseError {
        span,
        message: message.into(),
    }
}

struct Parser<'f> {
    text: &'f str,
    tokens: Vec<Token>,
    pos: usize,
    vars: Vec<String>,
    range_depth: usize,
    depth: usize,
    has_function: &'f dyn Fn(&str) -> bool,
    tree: Tree,
}

/// What ends a list: `{{end}}`, or `{{else}}` (with whether `if`/`with` follows).
enum Item {
    Node(Node),
    End(Span),
    Else(Span, Option<Keyword>),
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        // The lexer always ends with Eof or Error, which the parser never steps over.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        if !matches!(token.kind, TokenKind::Eof | TokenKind::Error(_)) {
            self.pos += 1;
        }
        token
    }

    fn peek_non_space_at(&self, mut pos: usize) -> &Token {
        while self
            .tokens
            .get(pos)
            .is_some_and(|t| t.kind == TokenKind::Space)
        {
            pos += 1;
        }
        &self.tokens[pos.min(self.tokens.len() - 1)]
    }

    fn peek_non_space(&self) -> &Token {
        self.peek_non_space_at(self.pos)
    }

    fn next_non_space(&mut self) -> Token {
        loop {
            let token = self.next();
            if token.kind != TokenKind::Space {
                return token;
            }
        }
    }

    fn unexpected<T>(&self, token: &Token, context: &str) -> Result<T> {
        if let TokenKind::Error(message) = &token.kind {
            return Err(error(token.span, message.clone()));
        }
        Err(error(
            token.span,
            format!("unexpected {} in {context}", token.kind.describe()),
        ))
    }

    fn expect_right_delim(&mut self, context: &str) -> Result<Token> {
        let token = self.next_non_space();
        if token.kind != TokenKind::RightDelim {
            return self.unexpected(&token, context);
        }
        Ok(token)
    }

    fn parse_define(&mut self) -> Result<()> {
        let name_token = self.next_non_space();
        let TokenKind::Str(name) = name_token.kind.clone() else {
            return self.unexpected(&name_token, "define clause");
        };
        self.expect_right_delim("define clause")?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        if let Item::Else(span, _) = end {
            return Err(error(span, "unexpected {{else}} in define clause"));
        }
        self.add_define(name, list);
        Ok(())
    }

    fn add_define(&mut self, name: String, list: List) {
        // A later definition replaces an earlier one, unless it is empty.
        if let Some(slot) = self.tree.defines.iter_mut().find(|(n, _)| *n == name) {
            if !super::ast::is_empty_list(&list) {
                slot.1 = list;
            }
        } else {
            self.tree.defines.push((name, list));
        }
    }

    /// Nodes up to `{{end}}` or `{{else}}`.
    fn item_list(&mut self) -> Result<(List, Item)> {
        let mut list = List::default();
        loop {
            if let TokenKind::LeftDelim = self.peek().kind
                && let TokenKind::Keyword(Keyword::Define) =
                    self.peek_non_space_at(self.pos + 1).kind
            {
                let token = self.peek_non_space_at(self.pos + 1).clone();
                return Err(error(token.span, "unexpected <define> in command"));
            }
            if let TokenKind::Eof = self.peek().kind {
                let span = self.peek().span;
                return Err(error(span, "unexpected EOF"));
            }
            match self.text_or_action()? {
                Item::Node(node) => list.nodes.push(node),
                end => return Ok((list, end)),
            }
        }
    }

    fn text_or_action(&mut self) -> Result<Item> {
        let token = self.next();
        match token.kind {
            TokenKind::Text(text) => Ok(Item::Node(Node::Text(token.span, text))),
            TokenKind::LeftDelim => self.action(token.span),
            _ => self.unexpected(&token, "input"),
        }
    }

    fn action(&mut self, open: Span) -> Result<Item> {
        let token = self.next_non_space();
        match token.kind {
            TokenKind::Keyword(Keyword::Block) => self.block(open),
            TokenKind::Keyword(Keyword::Break) => self.break_or_continue(open, token, true),
            TokenKind::Keyword(Keyword::Continue) => self.break_or_continue(open, token, false),
            TokenKind::Keyword(Keyword::Else) => self.else_control(open),
            TokenKind::Keyword(Keyword::End) => {
                let close = self.expect_right_delim("end")?;
                Ok(Item::End(open.cover(close.span)))
            }
            TokenKind::Keyword(Keyword::If) => Ok(Item::Node(Node::If(self.control(open, "if")?))),
            TokenKind::Keyword(Keyword::Range) => {
                Ok(Item::Node(Node::Range(self.control(open, "range")?)))
            }
            TokenKind::Keyword(Keyword::With) => {
                Ok(Item::Node(Node::With(self.control(open, "with")?)))
            }
            TokenKind::Keyword(Keyword::Template) => self.template(open),
            TokenKind::Keyword(Keyword::Define) => {
                Err(error(token.span, "unexpected <define> in command"))
            }
            _ => {
                self.pos -=
                    usize::from(!matches!(token.kind, TokenKind::Eof | TokenKind::Error(_)));
                let pipe = self.pipeline("command", TokenKind::RightDelim)?;
                let span = open.cover(self.tokens[self.pos - 1].span);
                Ok(Item::Node(Node::Action(span, pipe)))
            }
        }
    }

    fn break_or_continue(&mut self, open: Span, token: Token, is_break: bool) -> Result<Item> {
        let word = if is_break { "break" } else { "continue" };
        let close = self.next_non_space();
        if close.kind != TokenKind::RightDelim {
            return self.unexpected(&close, &format!("{{{{{word}}}}}"));
        }
        if self.range_depth == 0 {
            return Err(error(
                token.span,
                format!("{{{{{word}}}}} outside {{{{range}}}}"),
            ));
        }
        let span = open.cover(close.span);
        Ok(Item::Node(if is_break {
            Node::Break(span)
        } else {
            Node::Continue(span)
        }))
    }

    fn else_control(&mut self, open: Span) -> Result<Item> {
        let peek = self.peek_non_space().clone();
        match peek.kind {
            TokenKind::Keyword(keyword @ (Keyword::If | Keyword::With)) => {
                // `{{else if …}}`: leave the keyword for the caller.
                Ok(Item::Else(open, Some(keyword)))
            }
            _ => {
                let close = self.expect_right_delim("else")?;
                Ok(Item::Else(open.cover(close.span), None))
            }
        }
    }

    fn control(&mut self, open: Span, context: &str) -> Result<Control> {
        self.depth += 1;
        let result = self.control_inner(open, context);
        self.depth -= 1;
        result
    }

    fn control_inner(&mut self, open: Span, context: &str) -> Result<Control> {
        let mark = self.vars.len();
        let pipe = self.pipeline(context, TokenKind::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let body = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, end) = body?;
        let else_list = match end {
            Item::End(_) => None,
            Item::Else(span, chained) => {
                let chained = chained.filter(|k| {
                    (context == "if" && *k == Keyword::If)
                        || (context == "with" && *k == Keyword::With)
                });
                if let Some(keyword) = chained {
                    self.next_non_space();
                    let inner = self.control(span, keyword.name())?;
                    let node = if keyword == Keyword::If {
                        Node::If(inner)
                    } else {
                        Node::With(inner)
                    };
                    Some(List { nodes: vec![node] })
                } else {
                    if self.peek_non_space().kind != TokenKind::RightDelim
                        && matches!(self.peek_non_space().kind, TokenKind::Keyword(_))
                    {
                        let token = self.peek_non_space().clone();
                        return self.unexpected(&token, "else");
                    }
                    let (list, end) = self.item_list()?;
                    if let Item::Else(span, _) = end {
                        return Err(error(span, "expected end; found {{else}}"));
                    }
                    Some(list)
                }
            }
            Item::Node(_) => None,
        };
        self.vars.truncate(mark);
        let end = self.tokens[self.pos.saturating_sub(1)].span;
        Ok(Control {
            span: open.cover(end),
            pipe,
            list,
            else_list,
        })
    }

    fn template(&mut self, open: Span) -> Result<Item> {
        let token = self.next_non_space();
        let TokenKind::Str(name) = token.kind.clone() else {
            return self.unexpected(&token, "template clause");
        };
        let pipe = if self.peek_non_space().kind == TokenKind::RightDelim {
            self.next_non_space();
            None
        } else {
            Some(self.pipeline("template clause", TokenKind::RightDelim)?)
        };
        let span = open.cover(self.tokens[self.pos - 1].span);
        Ok(Item::Node(Node::Template { span, name, pipe }))
    }

    fn block(&mut self, open: Span) -> Result<Item> {
        let token = self.next_non_space();
        let TokenKind::Str(name) = token.kind.clone() else {
            return self.unexpected(&token, "block clause");
        };
        let pipe = self.pipeline("block clause", TokenKind::RightDelim)?;
        let span = open.cover(self.tokens[self.pos - 1].span);
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let saved_depth = std::mem::take(&mut self.range_depth);
        let body = self.item_list();
        self.vars = saved_vars;
        self.range_depth = saved_depth;
        let (list, end) = body?;
        if let Item::Else(span, _) = end {
            return Err(error(span, "unexpected {{else}} in block clause"));
        }
        self.add_define(name.clone(), list);
        Ok(Item::Node(Node::Template {
            span,
            name,
            pipe: Some(pipe),
        }))
    }

    /// Nesting of parentheses and control blocks is bounded so a hostile input
    /// cannot overflow the stack.
    fn pipeline(&mut self, context: &str, end: TokenKind) -> Result<Pipe> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            let span = self.peek().span;
            return Err(error(
                span,
                format!("nested too deeply (more than {MAX_NESTING} levels)"),
            ));
        }
        let result = self.pipeline_inner(context, end);
        self.depth -= 1;
        result
    }

    fn pipeline_inner(&mut self, context: &str, end: TokenKind) -> Result<Pipe> {
        let start = self.peek_non_space().span;
        let mut pipe = Pipe {
            span: start,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        self.declarations(&mut pipe, context)?;
        loop {
            let token = self.next_non_space();
            if token.kind == end {
                pipe.span = start.cover(token.span);
                if let Some(last) = pipe.cmds.last() {
                    pipe.span = start.cover(last.span);
                }
                self.check_pipeline(&pipe, context, token.span)?;
                return Ok(pipe);
            }
            match token.kind {
                TokenKind::Bool(_)
                | TokenKind::Char(_)
                | TokenKind::Dot
                | TokenKind::Field(_)
                | TokenKind::Identifier(_)
                | TokenKind::Number(_)
                | TokenKind::Nil
                | TokenKind::Str(_)
                | TokenKind::Variable(_)
                | TokenKind::LeftParen => {
                    self.pos -= 1;
                    let command = self.command()?;
                    pipe.cmds.push(command);
                }
                _ => return self.unexpected(&token, context),
            }
        }
    }

    fn declarations(&mut self, pipe: &mut Pipe, context: &str) -> Result<()> {
        loop {
            let save = self.pos;
            let var = self.next_non_space();
            let TokenKind::Variable(name) = var.kind.clone() else {
                self.pos = save;
                return Ok(());
            };
            let after = self.next_non_space();
            match after.kind {
                TokenKind::Assign | TokenKind::Declare => {
                    pipe.is_assign = after.kind == TokenKind::Assign;
                    pipe.decl.push((name.clone(), var.span));
                    self.vars.push(name);
                    return Ok(());
                }
                TokenKind::Comma => {
                    pipe.decl.push((name.clone(), var.span));
                    self.vars.push(name);
                    if context == "range" && pipe.decl.len() < 2 {
                        let next = self.peek_non_space().clone();
                        if matches!(
                            next.kind,
                            TokenKind::Variable(_) | TokenKind::RightDelim | TokenKind::RightParen
                        ) {
                            continue;
                        }
                        return Err(error(next.span, "range can only initialize variables"));
                    }
                    return Err(error(
                        after.span,
                        format!("too many declarations in {context}"),
                    ));
                }
                _ => {
                    self.pos = save;
                    return Ok(());
                }
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str, at: Span) -> Result<()> {
        if pipe.cmds.is_empty() {
            return Err(error(at, format!("missing value for {context}")));
        }
        for (i, command) in pipe.cmds.iter().enumerate().skip(1) {
            if let Some(
                arg @ (Arg::Bool(..)
                | Arg::Dot(_)
                | Arg::Nil(_)
                | Arg::Int(..)
                | Arg::Float(..)
                | Arg::Str(..)),
            ) = command.args.first()
            {
                return Err(error(
                    arg.span(),
                    format!("non executable command in pipeline stage {}", i + 1),
                ));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> Result<Command> {
        let mut command = Command {
            span: self.peek_non_space().span,
            args: Vec::new(),
        };
        loop {
            while self.peek().kind == TokenKind::Space {
                self.next();
            }
            if let Some(operand) = self.operand()? {
                command.span = command.span.cover(operand.span());
                command.args.push(operand);
            }
            let token = self.next();
            match token.kind {
                TokenKind::Space => continue,
                TokenKind::RightDelim | TokenKind::RightParen => self.pos -= 1,
                TokenKind::Pipe => {}
                _ => return self.unexpected(&token, "operand"),
            }
            break;
        }
        if command.args.is_empty() {
            return Err(error(command.span, "empty command"));
        }
        Ok(command)
    }

    fn operand(&mut self) -> Result<Option<Arg>> {
        let Some(term) = self.term()? else {
            return Ok(None);
        };
        let mut fields = Vec::new();
        let mut span = term.span();
        while let TokenKind::Field(name) = &self.peek().kind {
            fields.push(name.clone());
            span = span.cover(self.peek().span);
            self.next();
        }
        if fields.is_empty() {
            return Ok(Some(term));
        }
        Ok(Some(match term {
            Arg::Field(s, mut path) => {
                path.extend(fields);
                Arg::Field(s.cover(span), path)
            }
            Arg::Variable(s, name, mut path) => {
                path.extend(fields);
                Arg::Variable(s.cover(span), name, path)
            }
            Arg::Bool(..)
            | Arg::Str(..)
            | Arg::Int(..)
            | Arg::Float(..)
            | Arg::Nil(_)
            | Arg::Dot(_) => {
                return Err(error(
                    span,
                    format!("unexpected . after term {:?}", self.source_of(term.span())),
                ));
            }
            other => Arg::Chain(span, Box::new(other), fields),
        }))
    }

    fn source_of(&self, span: Span) -> String {
        self.text
            .get(span.start..span.end)
            .unwrap_or("")
            .to_string()
    }

    fn term(&mut self) -> Result<Option<Arg>> {
        let token = self.next_non_space();
        let span = token.span;
        Ok(Some(match token.kind {
            TokenKind::Identifier(name) => {
                if !(self.has_function)(&name) {
                    return Err(error(span, format!("function {name:?} not defined")));
                }
                Arg::Identifier(span, name)
            }
            TokenKind::Dot => Arg::Dot(span),
            TokenKind::Nil => Arg::Nil(span),
            TokenKind::Variable(name) => {
                if !self.vars.contains(&name) {
                    return Err(error(span, format!("undefined variable {name:?}")));
                }
                Arg::Variable(span, name, Vec::new())
            }
            TokenKind::Field(name) => Arg::Field(span, vec![name]),
            TokenKind::Bool(b) => Arg::Bool(span, b),
            TokenKind::Char(c) => Arg::Int(span, c),
            TokenKind::Number(text) => number(span, &text)?,
            TokenKind::Str(s) => Arg::Str(span, s),
            TokenKind::LeftParen => {
                let pipe = self.pipeline("parenthesized pipeline", TokenKind::RightParen)?;
                let close = self.tokens[self.pos - 1].span;
                Arg::Pipe(span.cover(close), Box::new(pipe))
            }
            TokenKind::Error(message) => return Err(error(span, message)),
            _ => {
                if !matches!(token.kind, TokenKind::Eof) {
                    self.pos -= 1;
                }
                return Ok(None);
            }
        }))
    }
}
