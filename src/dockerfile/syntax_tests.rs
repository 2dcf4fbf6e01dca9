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
