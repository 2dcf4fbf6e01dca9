//! Differential test against BuildKit's own parser test corpus
//! (`frontend/dockerfile/parser/testfiles/<case>/{Dockerfile,result}`, copied as data into
//! `testdata/dockerfile/buildkit-parser/`): our syntax pass, rendered in the s-expression
//! form of BuildKit's `Node.Dump()`, must give the same `result`. This checks line joining,
//! comments, escapes, flags and argument splitting at the syntax level, before our
//! stricter instruction rules apply.

use super::parse::quoted_words;
use super::syntax::{Logical, Node, is_blank, parse_json, scan, split_command};
use std::path::Path;

/// Go's `%q` for the strings that occur here.
fn go_quote(text: &str) -> String {
    let mut out = String::from("\"");
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn blank_split(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    text.split(is_blank)
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// The argument nodes BuildKit's line parsers would build for this keyword.
fn arguments(keyword: &str, args: &Logical, escape: char) -> Vec<String> {
    let text = args.text.as_str();
    let json = || parse_json(text).and_then(Result::ok);
    match keyword {
        "add" | "copy" | "volume" => json().unwrap_or_else(|| blank_split(text)),
        "cmd" | "entrypoint" | "run" | "shell" => match json() {
            Some(words) => words,
            None if text.is_empty() => Vec::new(),
            None => vec![text.to_string()],
        },
        "expose" | "from" => blank_split(text),
        "maintainer" | "stopsignal" | "user" | "workdir" if !text.is_empty() => {
            vec![text.to_string()]
        }
        "arg" => quoted_words(args, escape)
            .into_iter()
            .map(|w| w.0)
            .collect(),
        "env" | "label" => {
            let words = quoted_words(args, escape);
            match words.first() {
                None => Vec::new(),
                Some(first) if !first.0.contains('=') => {
                    let key_end = text.find(is_blank).unwrap_or(text.len());
                    let value = text[key_end..].trim_start_matches(is_blank);
                    vec![
                        text[..key_end].to_string(),
                        value.to_string(),
                        String::new(),
                    ]
                }
                Some(_) => words
                    .into_iter()
                    .flat_map(|(word, _, _)| {
                        let (key, value) = word.split_once('=').unwrap_or((&word, ""));
                        [key.to_string(), value.to_string(), "=".to_string()]
                    })
                    .collect(),
            }
        }
        "healthcheck" => {
            let kind_end = text.find(char::is_whitespace).unwrap_or(text.len());
            if kind_end == 0 {
                return Vec::new();
            }
            let rest = text[kind_end..].trim_start();
            let mut out = vec![text[..kind_end].to_string()];
            match parse_json(rest).and_then(Result::ok) {
                Some(words) => out.extend(words),
                None if rest.is_empty() => {}
                None => out.push(rest.to_string()),
            }
            out
        }
        _ => Vec::new(),
    }
}

fn dump_node(keyword: &str, flags: &[String], args: &Logical, escape: char) -> String {
    let keyword = keyword.to_ascii_lowercase();
    let mut out = keyword.clone();
    if !flags.is_empty() {
        let quoted: Vec<String> = flags.iter().map(|f| go_quote(f)).collect();
        out.push_str(&format!(" [{}]", quoted.join(" ")));
    }
    if keyword == "onbuild" {
        if !args.text.is_empty() {
            let inner = split_command(args, escape);
            let flags: Vec<String> = inner.flags.iter().map(|f| f.text.clone()).collect();
            out.push_str(&format!(
                " ({})",
                dump_node(&inner.keyword, &flags, &inner.args, escape)
            ));
        }
        return out;
    }
    for argument in arguments(&keyword, args, escape) {
        out.push(' ');
        out.push_str(&go_quote(&argument));
    }
    out
}

fn dump(nodes: &[Node], escape: char) -> String {
    nodes
        .iter()
        .map(|node| {
            let flags: Vec<String> = node.flags.iter().map(|f| f.text.clone()).collect();
            format!(
                "({})\n",
                dump_node(&node.keyword, &flags, &node.args, escape)
            )
        })
        .collect()
}

#[test]
fn syntax_pass_matches_buildkit_parser_testfiles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/dockerfile/buildkit-parser");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .expect("buildkit-parser dir")
        .map(|e| e.expect("entry").path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let text = std::fs::read_to_string(case.join("Dockerfile")).expect("Dockerfile");
        let expected = std::fs::read_to_string(case.join("result")).expect("result");
        let actual = match scan(&text) {
            Ok(scanned) => dump(&scanned.nodes, scanned.escape),
            Err(err) => format!("error: {err}\n"),
        };
        if actual != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- actual\n{actual}",
                case.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
