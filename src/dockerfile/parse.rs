//! From syntax nodes to typed instructions: each keyword's argument form (JSON or shell,
//! words, `key=value` pairs), its flags, and the rules BuildKit checks at parse time.

use super::error::{ParseError, suggest};
use super::flags::Flags;
use super::instructions::*;
use super::mount::parse_mount;
use super::syntax::{Logical, Node, is_blank, parse_heredoc_word, parse_json, split_command};
use crate::diag::Span;

pub(crate) fn parse_node(node: &Node, escape: char) -> Result<Instruction, ParseError> {
    let Some(keyword) = Keyword::from_name(&node.keyword) else {
        return Err(ParseError::UnknownInstruction {
            name: node.keyword.clone(),
            suggestion: suggest(&node.keyword, &Keyword::ALL_NAMES).map(String::from),
            span: node.keyword_span,
        });
    };
    let flags = Flags::parse(keyword, &node.flags)?;
    let args = &node.args;
    let command = match keyword {
        Keyword::From => Command::From(parse_from(node, &flags)?),
        Keyword::Run => Command::Run(parse_run(node, &flags)?),
        Keyword::Cmd => Command::Cmd(command_line(keyword, args)?),
        Keyword::Entrypoint => Command::Entrypoint(command_line(keyword, args)?),
        Keyword::Label => Command::Label(key_values(keyword, args, escape, node.span)?),
        Keyword::Env => Command::Env(key_values(keyword, args, escape, node.span)?),
        Keyword::Maintainer | Keyword::User | Keyword::Workdir | Keyword::StopSignal => {
            let Some(word) = whole(args) else {
                return Err(arguments(keyword, "exactly one argument", node.span));
            };
            match keyword {
                Keyword::Maintainer => Command::Maintainer(word),
                Keyword::User => Command::User(word),
                Keyword::Workdir => Command::Workdir(word),
                _ => Command::StopSignal(word),
            }
        }
        Keyword::Expose => {
            let ports = blank_separated(args);
            if ports.is_empty() {
                return Err(arguments(keyword, "at least one argument", node.span));
            }
            Command::Expose(ports)
        }
        Keyword::Add | Keyword::Copy => {
            let sources = sources(keyword, node)?;
            if keyword == Keyword::Add {
                Command::Add(AddCommand {
                    sources,
                    chown: flags.value("chown"),
                    chmod: flags.value("chmod"),
                    link: flags.bool("link").unwrap_or(false),
                    keep_git_dir: flags.bool("keep-git-dir"),
                    checksum: flags.value("checksum"),
                    unpack: flags.bool("unpack"),
                    exclude: flags.values("exclude"),
                })
            } else {
                Command::Copy(CopyCommand {
                    sources,
                    from: flags.value("from"),
                    chown: flags.value("chown"),
                    chmod: flags.value("chmod"),
                    link: flags.bool("link").unwrap_or(false),
                    parents: flags.bool("parents").unwrap_or(false),
                    exclude: flags.values("exclude"),
                })
            }
        }
        Keyword::Volume => {
            let volumes = json_or_words(keyword, args)?;
            if volumes.is_empty() {
                return Err(arguments(keyword, "at least one argument", node.span));
            }
            let mut trimmed = Vec::new();
            for volume in volumes {
                let text = volume.text.trim();
                if text.is_empty() {
                    return Err(invalid(
                        keyword,
                        "a volume can't be an empty string",
                        volume.span,
                    ));
                }
                trimmed.push(Word {
                    text: text.to_string(),
                    span: volume.span,
                });
            }
            Command::Volume(trimmed)
        }
        Keyword::Arg => Command::Arg(parse_args(node, escape)?),
        Keyword::Onbuild => Command::Onbuild(parse_onbuild(node, escape)?),
        Keyword::Healthcheck => {
            Command::Healthcheck(super::healthcheck::parse_healthcheck(node, &flags)?)
        }
        Keyword::Shell => match parse_json(&args.text) {
            Some(Ok(shell)) if shell.is_empty() => {
                return Err(arguments(keyword, "at least one argument", node.span));
            }
            Some(Ok(shell)) => Command::Shell(shell),
            Some(Err(())) => return Err(not_strings(keyword, args)),
            None => {
                return Err(invalid(
                    keyword,
                    "the arguments must be a JSON array, as in SHELL [\"/bin/sh\", \"-c\"]",
                    args.whole_span(),
                ));
            }
        },
    };
    Ok(Instruction {
        command,
        span: node.span,
        keyword_span: node.keyword_span,
    })
}

pub(crate) fn arguments(keyword: Keyword, expected: &str, span: Span) -> ParseError {
    ParseError::Arguments {
        instruction: keyword.name(),
        expected: expected.to_string(),
        span,
    }
}

pub(crate) fn invalid(keyword: Keyword, message: impl Into<String>, span: Span) -> ParseError {
    ParseError::Invalid {
        instruction: keyword.name(),
        message: message.into(),
        span,
    }
}

fn not_strings(keyword: Keyword, args: &Logical) -> ParseError {
    invalid(
        keyword,
        "a JSON array of arguments must hold only strings",
        args.whole_span(),
    )
}

fn parse_from(node: &Node, flags: &Flags) -> Result<FromCommand, ParseError> {
    let words = blank_separated(&node.args);
    let (image, name) = match words.as_slice() {
        [image] => (image.clone(), None),
        [image, as_word, name] if as_word.text.eq_ignore_ascii_case("as") => {
            let lower = name.text.to_ascii_lowercase();
            let valid = lower.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && lower
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
            if !valid {
                return Err(invalid(
                    Keyword::From,
                    format!(
                        "invalid stage name {:?}: it must start with a letter and hold only letters, digits, '-', '_' and '.'",
                        name.text
                    ),
                    name.span,
                ));
            }
            (
                image.clone(),
                Some(Word {
                    text: lower,
                    span: name.span,
                }),
            )
        }
        _ => {
            return Err(arguments(
                Keyword::From,
                "one argument (an image) or three (image AS name)",
                node.span,
            ));
        }
    };
    Ok(FromCommand {
        image,
        platform: flags.value("platform"),
        name,
    })
}

fn parse_run(node: &Node, flags: &Flags) -> Result<RunCommand, ParseError> {
    let mounts = flags
        .values("mount")
        .iter()
        .map(parse_mount)
        .collect::<Result<Vec<_>, _>>()?;
    let network = match flags.value("network") {
        None => None,
        Some(word) => Some(match word.text.as_str() {
            "default" => Network::Default,
            "none" => Network::None,
            "host" => Network::Host,
            other => {
                return Err(flag_value(
                    "network",
                    format!("unknown network mode {other:?} (expected one of default, none, host)"),
                    word.span,
                ));
            }
        }),
    };
    let security = match flags.value("security") {
        None => None,
        Some(word) => Some(match word.text.as_str() {
            "sandbox" => Security::Sandbox,
            "insecure" => Security::Insecure,
            other => {
                return Err(flag_value(
                    "security",
                    format!("unknown security mode {other:?} (expected sandbox or insecure)"),
                    word.span,
                ));
            }
        }),
    };
    let command = command_line(Keyword::Run, &node.args)?;
    if command == CommandLine::Shell(String::new()) {
        return Err(arguments(Keyword::Run, "a command", node.span));
    }
    Ok(RunCommand {
        command,
        heredocs: node.heredocs.clone(),
        mounts,
        network,
        security,
    })
}

fn flag_value(flag: &str, message: String, span: Span) -> ParseError {
    ParseError::FlagValue {
        instruction: Keyword::Run.name(),
        flag: flag.to_string(),
        message,
        span,
    }
}

/// JSON form if the text is a JSON array of strings, else shell form.
pub(crate) fn command_line(keyword: Keyword, args: &Logical) -> Result<CommandLine, ParseError> {
    match parse_json(&args.text) {
        Some(Ok(words)) => Ok(CommandLine::Exec(words)),
        Some(Err(())) => Err(not_strings(keyword, args)),
        None => Ok(CommandLine::Shell(args.text.clone())),
    }
}

/// JSON array (each element spans the whole array) or blank-separated words.
fn json_or_words(keyword: Keyword, args: &Logical) -> Result<Vec<Word>, ParseError> {
    match parse_json(&args.text) {
        Some(Ok(words)) => Ok(words
            .into_iter()
            .map(|text| Word {
                text,
                span: args.whole_span(),
            })
            .collect()),
        Some(Err(())) => Err(not_strings(keyword, args)),
        None => Ok(blank_separated(args)),
    }
}

fn sources(keyword: Keyword, node: &Node) -> Result<Sources, ParseError> {
    let mut words = json_or_words(keyword, &node.args)?;
    let Some(dest) = words.pop().filter(|_| !words.is_empty()) else {
        return Err(arguments(
            keyword,
            "at least two arguments: one or more sources and a destination",
            node.span,
        ));
    };
    if parse_heredoc_word(&dest.text).is_some() {
        return Err(invalid(
            keyword,
            "a heredoc can't be the destination",
            dest.span,
        ));
    }
    let mut sources = Sources {
        paths: Vec::new(),
        heredocs: Vec::new(),
        dest,
    };
    for word in words {
        let heredoc = parse_heredoc_word(&word.text)
            .and_then(|h| node.heredocs.iter().find(|body| body.name == h.name));
        match heredoc {
            Some(body) => sources.heredocs.push(body.clone()),
            None => sources.paths.push(word),
        }
    }
    Ok(sources)
}

/// The whole argument text as one word (USER, WORKDIR, …).
fn whole(args: &Logical) -> Option<Word> {
    (!args.text.is_empty()).then(|| Word {
        text: args.text.clone(),
        span: args.whole_span(),
    })
}

/// Words separated by blanks; quotes mean nothing here (BuildKit splits FROM, EXPOSE,
/// COPY and ADD sources this way).
fn blank_separated(args: &Logical) -> Vec<Word> {
    let text = &args.text;
    let mut words = Vec::new();
    let mut start = None;
    for (i, ch) in text.char_indices().chain([(text.len(), ' ')]) {
        match (start, is_blank(ch)) {
            (None, false) => start = Some(i),
            (Some(s), true) => {
                words.push(Word {
                    text: text[s..i].to_string(),
                    span: args.span(s, i),
                });
                start = None;
            }
            _ => {}
        }
    }
    words
}

/// Whitespace-separated words that respect quotes, keeping quotes and escapes in the
/// text (BuildKit's `parseWords`, used by ENV, LABEL and ARG).
pub(crate) fn quoted_words(args: &Logical, escape: char) -> Vec<(String, usize, usize)> {
    let text = &args.text;
    let mut words = Vec::new();
    let mut word = String::new();
    let mut word_start = None::<usize>;
    let mut blank_ok = false;
    let mut quote: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, ch)) = chars.next() {
        let start = *word_start.get_or_insert(i);
        if quote.is_none() {
            if ch.is_whitespace() {
                if blank_ok || !word.is_empty() {
                    words.push((std::mem::take(&mut word), start, i));
                }
                word_start = None;
                blank_ok = false;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = Some(ch);
                blank_ok = true;
            }
            if ch == escape {
                match chars.next() {
                    None => continue,
                    Some((_, next)) => {
                        word.push(ch);
                        word.push(next);
                        continue;
                    }
                }
            }
            word.push(ch);
        } else {
            if Some(ch) == quote {
                quote = None;
            } else if ch == escape && quote != Some('\'') {
                match chars.next() {
                    None => {
                        quote = None;
                        continue;
                    }
                    Some((_, next)) => {
                        word.push(ch);
                        word.push(next);
                        continue;
                    }
                }
            }
            word.push(ch);
        }
    }
    if let Some(start) = word_start
        && (blank_ok || !word.is_empty())
    {
        words.push((word, start, text.len()));
    }
    words
}

fn key_values(
    keyword: Keyword,
    args: &Logical,
    escape: char,
    span: Span,
) -> Result<Vec<KeyValue>, ParseError> {
    let words = quoted_words(args, escape);
    let Some(first) = words.first() else {
        return Err(arguments(keyword, "at least one argument", span));
    };
    if !first.0.contains('=') {
        // Legacy `ENV key value`: the value is the rest of the line, as written.
        let text = &args.text;
        let Some(key_end) = text.find(is_blank) else {
            return Err(arguments(
                keyword,
                "two arguments in the form `KEY value` (or key=value pairs)",
                args.whole_span(),
            ));
        };
        let rest = &text[key_end..];
        let value_start = key_end + (rest.len() - rest.trim_start_matches(is_blank).len());
        return Ok(vec![KeyValue {
            key: Word {
                text: text[..key_end].to_string(),
                span: args.span(0, key_end),
            },
            value: Word {
                text: text[value_start..].to_string(),
                span: args.span(value_start, text.len()),
            },
            legacy: true,
        }]);
    }
    let mut pairs = Vec::new();
    for (word, start, end) in words {
        let Some(eq) = word.find('=') else {
            return Err(invalid(
                keyword,
                format!("can't find = in {word:?}; expected name=value"),
                args.span(start, end),
            ));
        };
        if eq == 0 {
            return Err(invalid(
                keyword,
                "names can not be blank",
                args.span(start, end),
            ));
        }
        pairs.push(KeyValue {
            key: Word {
                text: word[..eq].to_string(),
                span: args.span(start, start + eq),
            },
            value: Word {
                text: word[eq + 1..].to_string(),
                span: args.span(start + eq + 1, end),
            },
            legacy: false,
        });
    }
    Ok(pairs)
}

fn parse_args(node: &Node, escape: char) -> Result<Vec<ArgDecl>, ParseError> {
    let (args, span) = (&node.args, node.span);
    let words = quoted_words(args, escape);
    if words.is_empty() {
        return Err(arguments(Keyword::Arg, "at least one argument", span));
    }
    let mut decls = Vec::new();
    for (word, start, end) in words {
        let (name, default) = match word.find('=') {
            Some(0) => {
                return Err(invalid(
                    Keyword::Arg,
                    "names can not be blank",
                    args.span(start, end),
                ));
            }
            Some(eq) => (
                Word {
                    text: word[..eq].to_string(),
                    span: args.span(start, start + eq),
                },
                Some(Word {
                    text: word[eq + 1..].to_string(),
                    span: args.span(start + eq + 1, end),
                }),
            ),
            None => (
                Word {
                    text: word,
                    span: args.span(start, end),
                },
                None,
            ),
        };
        decls.push(ArgDecl {
            description: super::doc_comment(&node.comments, Some(&name.text)),
            name,
            default,
            instruction_span: span,
        });
    }
    Ok(decls)
}

fn parse_onbuild(node: &Node, escape: char) -> Result<OnbuildCommand, ParseError> {
    if node.args.text.is_empty() {
        return Err(arguments(
            Keyword::Onbuild,
            "an instruction to run later",
            node.span,
        ));
    }
    let inner = split_command(&node.args, escape);
    match Keyword::from_name(&inner.keyword) {
        Some(Keyword::Onbuild) => {
            return Err(invalid(
                Keyword::Onbuild,
                "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
                inner.keyword_span,
            ));
        }
        Some(k @ (Keyword::From | Keyword::Maintainer)) => {
            return Err(invalid(
                Keyword::Onbuild,
                format!("{} isn't allowed as an ONBUILD trigger", k.name()),
                inner.keyword_span,
            ));
        }
        _ => {}
    }
    let trigger_span = Span::new(inner.keyword_span.start, node.span.end);
    let trigger = Node {
        keyword: inner.keyword,
        keyword_span: inner.keyword_span,
        flags: inner.flags,
        args: inner.args,
        original: String::new(),
        heredocs: node.heredocs.clone(),
        span: trigger_span,
        comments: Vec::new(),
    };
    let trigger = parse_node(&trigger, escape)?;
    // The text BuildKit stores: the line without its leading ONBUILD, heredocs appended.
    let original = node.original.trim_start();
    let mut expression = original
        .get(node.keyword.len()..)
        .unwrap_or_default()
        .trim_start()
        .to_string();
    for heredoc in &node.heredocs {
        expression.push('\n');
        expression.push_str(&heredoc.content);
        expression.push_str(&heredoc.name);
    }
    Ok(OnbuildCommand {
        trigger: Box::new(trigger),
        expression,
    })
}
