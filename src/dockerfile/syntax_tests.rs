use super::*;

/// One line per node: keyword, flags, args; heredocs on following lines.
fn show(text: &str) -> String {
    let scanned = match scan(text) {
        Ok(scanned) => scanned,
        Err(err) => return format!("error: {err}"),
    };
    let mut out = String::new();
    for directive in &scanned.directives {
        out.push_str(&format!("#{}={}\n", directive.name, directive.value));
    }
    for node in &scanned.nodes {
        let flags: Vec<&str> = node.flags.iter().map(|f| f.text.as_str()).collect();
        out.push_str(&format!(
            "{} {:?} {:?}\n",
            node.keyword, flags, node.args.text
        ));
        for heredoc in &node.heredocs {
            out.push_str(&format!(
                "  <<{} {:?} expand={} chomp={}\n",
                heredoc.name, heredoc.content, heredoc.expand, heredoc.chomp
            ));
        }
    }
    out
}

fn check(text: &str, expected: &str) {
    assert_eq!(show(text), expected, "input:\n{text}");
}

#[test]
fn continuation_joins_lines() {
    check("RUN echo a \\\n  b\n", "RUN [] \"echo a   b\"\n");
}

#[test]
fn comments_and_empty_lines_inside_continuation_are_skipped() {
    check(
        "RUN a \\\n# note\n   # indented note\n\n  b\n",
        "RUN [] \"a   b\"\n",
    );
}

#[test]
fn comment_and_blank_lines_between_instructions() {
    check(
        "# c\n\nFROM a\n  # c2\n\nRUN b\n",
        "FROM [] \"a\"\nRUN [] \"b\"\n",
    );
}

#[test]
fn escaped_escape_does_not_continue() {
    // BuildKit's continuation rule: a trailing `\\` is an escaped backslash.
    check(
        "RUN echo \\\\\nRUN b\n",
        "RUN [] \"echo \\\\\\\\\"\nRUN [] \"b\"\n",
    );
}

#[test]
fn continuation_at_end_of_file() {
    check("RUN a \\", "RUN [] \"a\"\n");
    check("RUN a \\\n", "RUN [] \"a\"\n");
}

#[test]
fn trailing_blanks_after_escape_still_continue() {
    check("RUN a \\  \t\nb\n", "RUN [] \"a b\"\n");
}

#[test]
fn crlf_line_endings() {
    check(
        "FROM a\r\nRUN b \\\r\n c\r\n",
        "FROM [] \"a\"\nRUN [] \"b  c\"\n",
    );
}

#[test]
fn byte_order_mark_is_dropped() {
    check("\u{feff}FROM a\n", "FROM [] \"a\"\n");
}

#[test]
fn directives_are_read_until_the_first_other_line() {
    check(
        "# syntax=docker/dockerfile:1\n#ESCAPE = `\n# check=skip=all\nFROM a\n",
        "#syntax=docker/dockerfile:1\n#escape=`\n#check=skip=all\nFROM [] \"a\"\n",
    );
    // After a plain comment, a directive-looking line is just a comment.
    check(
        "# hello\n# escape=`\nRUN a `\nb\n",
        "RUN [] \"a `\"\nb [] \"\"\n",
    );
    // An empty line ends the directives too.
    check("\n# escape=`\nFROM a\n", "FROM [] \"a\"\n");
    // Unknown names end them.
    check("# foo=bar\n# escape=`\nFROM a\n", "FROM [] \"a\"\n");
}

#[test]
fn directive_errors() {
    check(
        "# escape=x\nFROM a\n",
        "error: invalid parser directive: invalid escape token \"x\" (expected ` or \\)",
    );
    check(
        "# syntax=a\n# syntax=b\nFROM a\n",
        "error: invalid parser directive: only one syntax parser directive can be used",
    );
}

#[test]
fn backtick_escape_continues_lines() {
    check(
        "# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo x\n",
        "#escape=`\nFROM [] \"a\"\nRUN [] \"dir c:\\\\   && echo x\"\n",
    );
}

#[test]
fn flags_are_split_off_with_quotes_processed() {
    check(
        "COPY --from=a --chown=\"1 2\" x y\n",
        "COPY [\"--from=a\", \"--chown=1 2\"] \"x y\"\n",
    );
    check(
        "RUN --network=none -- --not-a-flag\n",
        "RUN [\"--network=none\"] \"--not-a-flag\"\n",
    );
    check("RUN -x\n", "RUN [] \"-x\"\n");
    check("COPY --link\n", "COPY [\"--link\"] \"\"\n");
}

#[test]
fn heredoc_basic() {
    check(
        "RUN <<EOF\necho $A\necho b\nEOF\nFROM x\n",
        "RUN [] \"<<EOF\"\n  <<EOF \"echo $A\\necho b\\n\" expand=true chomp=false\nFROM [] \"x\"\n",
    );
}

#[test]
fn heredoc_chomp_strips_leading_tabs() {
    check(
        "RUN <<-EOT\n\techo a\n\t\techo b\n\tEOT\n",
        "RUN [] \"<<-EOT\"\n  <<EOT \"echo a\\necho b\\n\" expand=true chomp=true\n",
    );
}

#[test]
fn heredoc_quoted_delimiters_do_not_expand() {
    check(
        "RUN <<\"EOF\"\n$A\nEOF\n",
        "RUN [] \"<<\\\"EOF\\\"\"\n  <<EOF \"$A\\n\" expand=false chomp=false\n",
    );
    check(
        "RUN <<'EOF'\n$A\nEOF\n",
        "RUN [] \"<<'EOF'\"\n  <<EOF \"$A\\n\" expand=false chomp=false\n",
    );
}

#[test]
fn two_heredocs_on_one_line() {
    check(
        "RUN cat <<A <<B\na\nA\nb\nB\n",
        "RUN [] \"cat <<A <<B\"\n  <<A \"a\\n\" expand=true chomp=false\n  <<B \"b\\n\" expand=true chomp=false\n",
    );
}

#[test]
fn heredoc_source_of_copy_and_under_onbuild() {
    check(
        "COPY <<EOF /file\nhi\nEOF\n",
        "COPY [] \"<<EOF /file\"\n  <<EOF \"hi\\n\" expand=true chomp=false\n",
    );
    check(
        "ONBUILD RUN <<EOF\nhi\nEOF\n",
        "ONBUILD [] \"RUN <<EOF\"\n  <<EOF \"hi\\n\" expand=true chomp=false\n",
    );
}

#[test]
fn heredocs_only_for_run_copy_add_in_shell_form() {
    check("CMD <<EOF\nEOF\n", "CMD [] \"<<EOF\"\nEOF [] \"\"\n");
    check(
        "RUN [\"cat\", \"<<EOF\"]\nEOF\n",
        "RUN [] \"[\\\"cat\\\", \\\"<<EOF\\\"]\"\nEOF [] \"\"\n",
    );
}

#[test]
fn heredoc_with_space_and_fd() {
    check(
        "RUN 3<< EOF cat\nx\nEOF\n",
        "RUN [] \"3<< EOF cat\"\n  <<EOF \"x\\n\" expand=true chomp=false\n",
    );
}

#[test]
fn unterminated_heredoc() {
    check(
        "RUN <<EOF\necho\n",
        "error: unterminated heredoc: missing \"EOF\" line",
    );
}

#[test]
fn not_heredocs() {
    // `<<` inside a word, and `<<` with no name, are plain text.
    check("RUN echo a<<b\n", "RUN [] \"echo a<<b\"\n");
    check("RUN echo <<\n", "RUN [] \"echo <<\"\n");
}

#[test]
fn spans_map_through_continuations() {
    let text = "FROM a\nRUN --network=none \\\n  echo \\\n  hi\n";
    let scanned = scan(text).unwrap();
    let run = &scanned.nodes[1];
    assert_eq!(
        &text[run.span.start..run.span.end],
        "RUN --network=none \\\n  echo \\\n  hi"
    );
    assert_eq!(&text[run.keyword_span.start..run.keyword_span.end], "RUN");
    let flag = run.flags[0].span;
    assert_eq!(&text[flag.start..flag.end], "--network=none");
    let hi = run.args.text.find("hi").unwrap();
    let span = run.args.span(hi, hi + 2);
    assert_eq!(&text[span.start..span.end], "hi");
    let whole = run.args.whole_span();
    assert_eq!(&text[whole.start..whole.end], "echo \\\n  hi");
}

#[test]
fn heredoc_spans_cover_the_body() {
    let text = "RUN <<EOF\nbody\nEOF\nFROM a\n";
    let scanned = scan(text).unwrap();
    let run = &scanned.nodes[0];
    assert_eq!(&text[run.span.start..run.span.end], "RUN <<EOF\nbody\nEOF");
    let body = run.heredocs[0].span;
    assert_eq!(&text[body.start..body.end], "body\nEOF");
}

#[test]
fn json_detection() {
    assert_eq!(
        parse_json(" [\"a\", \"b\"] "),
        Some(Ok(vec!["a".into(), "b".into()]))
    );
    assert_eq!(parse_json("[\"a\", 1]"), Some(Err(())));
    assert_eq!(parse_json("[\"a\""), None);
    assert_eq!(parse_json("[a]"), None);
    assert_eq!(parse_json("a"), None);
}

#[test]
fn heredoc_words() {
    let word = parse_heredoc_word("<<-'EOF'").unwrap();
    assert_eq!(
        (word.name.as_str(), word.expand, word.chomp, word.fd),
        ("EOF", false, true, None)
    );
    let word = parse_heredoc_word("2<<E\"O\"F").unwrap();
    assert_eq!(
        (word.name.as_str(), word.expand, word.fd),
        ("EOF", false, Some(2))
    );
    assert!(parse_heredoc_word("<<").is_none());
    assert!(parse_heredoc_word("x<<EOF").is_none());
    assert!(parse_heredoc_word("<<E<F").is_none());
}

#[test]
fn never_panics_on_odd_input() {
    for text in [
        "",
        "\\",
        "\n\\\n",
        "RUN \\",
        "ONBUILD",
        "RUN <<",
        "RUN <<\"",
        "é\\\né",
        "RUN --",
        "--x",
        "RUN --a=\"é",
        "COPY <<é\né\n",
        "\u{feff}",
        "# escape=`\n`",
        "RUN a `\n",
        "RUN <<-\t\n",
    ] {
        let _ = show(text);
    }
}

/// BuildKit's TestParseExtractsHeredoc table (parser_heredoc_test.go), as data. BuildKit
/// chomps `<<-` bodies later; we chomp at parse time, so chomped rows expect tab-less text.
#[test]
fn buildkit_heredoc_table() {
    let text = "
FROM alpine:3.6
ENV NAME=me
RUN ls
USER <<INVALID
INVALID
RUN <<EMPTY
EMPTY
RUN 3<<EMPTY2
EMPTY2
RUN \"<<NOHEREDOC\"
RUN <<INDENT
\tfoo
\tbar
INDENT
RUN <<-UNINDENT
\tbaz
\tquux
UNINDENT
RUN <<-UNINDENT2
\tbaz
\tquux
\tUNINDENT2
RUN <<-EXPAND
\texpand $NAME
EXPAND
RUN <<-'NOEXPAND'
\tdon't expand $NAME
NOEXPAND
RUN <<COPY
echo hello world
echo foo bar
COPY
RUN <<COMMENT
# internal comment
echo hello world
echo foo bar # trailing comment
COMMENT
RUN --mount=type=cache,target=/foo <<MOUNT
echo hello
MOUNT
COPY <<FILE1 <<FILE2 /dest
content 1
FILE1
content 2
FILE2
COPY <<EOF /quotes
\"foo\"
'bar'
EOF
COPY <<X <<Y /dest
Y
X
X
Y
RUN <<COMPLEX python3
print('hello world')
COMPLEX
COPY <<file.txt /dest
hello world
file.txt
RUN <<eo'f'
echo foo
eof
RUN <<eo\\'f
echo foo
eo'f
RUN <<'e'o\\'f
echo foo
eo'f
RUN <<'one two'
echo bar
one two
RUN <<$EOF
$EOF
RUN <<  EOF
EOF
RUN <<  EOF  > foo
EOF
\t";
    // (name, content, expand, chomp, fd) per heredoc, per instruction after FROM.
    type Row = (&'static str, &'static str, bool, bool, Option<u32>);
    let expected: Vec<Vec<Row>> = vec![
        vec![],
        vec![],
        vec![],
        vec![],
        vec![("EMPTY", "", true, false, None)],
        vec![("EMPTY2", "", true, false, Some(3))],
        vec![],
        vec![("INDENT", "\tfoo\n\tbar\n", true, false, None)],
        vec![("UNINDENT", "baz\nquux\n", true, true, None)],
        vec![("UNINDENT2", "baz\nquux\n", true, true, None)],
        vec![("EXPAND", "expand $NAME\n", true, true, None)],
        vec![("NOEXPAND", "don't expand $NAME\n", false, true, None)],
        vec![(
            "COPY",
            "echo hello world\necho foo bar\n",
            true,
            false,
            None,
        )],
        vec![(
            "COMMENT",
            "# internal comment\necho hello world\necho foo bar # trailing comment\n",
            true,
            false,
            None,
        )],
        vec![("MOUNT", "echo hello\n", true, false, None)],
        vec![
            ("FILE1", "content 1\n", true, false, None),
            ("FILE2", "content 2\n", true, false, None),
        ],
        vec![("EOF", "\"foo\"\n'bar'\n", true, false, None)],
        vec![
            ("X", "Y\n", true, false, None),
            ("Y", "X\n", true, false, None),
        ],
        vec![("COMPLEX", "print('hello world')\n", true, false, None)],
        vec![("file.txt", "hello world\n", true, false, None)],
        vec![("eof", "echo foo\n", false, false, None)],
        vec![("eo'f", "echo foo\n", true, false, None)],
        vec![("eo'f", "echo foo\n", false, false, None)],
        vec![("one two", "echo bar\n", false, false, None)],
        vec![("$EOF", "", true, false, None)],
        vec![("EOF", "", true, false, None)],
        vec![("EOF", "", true, false, None)],
    ];
    let scanned = scan(text).unwrap();
    assert_eq!(scanned.nodes.len(), expected.len() + 1);
    for (node, rows) in scanned.nodes[1..].iter().zip(&expected) {
        let actual: Vec<(String, String, bool, bool, Option<u32>)> = node
            .heredocs
            .iter()
            .map(|h| (h.name.clone(), h.content.clone(), h.expand, h.chomp, h.fd))
            .collect();
        let rows: Vec<(String, String, bool, bool, Option<u32>)> = rows
            .iter()
            .map(|&(name, content, expand, chomp, fd)| {
                (name.to_string(), content.to_string(), expand, chomp, fd)
            })
            .collect();
        assert_eq!(
            actual, rows,
            "instruction {:?} {:?}",
            node.keyword, node.args.text
        );
    }
}
