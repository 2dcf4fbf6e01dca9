//! The parser never panics: odd inputs, and random texts from Dockerfile-ish pieces,
//! whose spans must stay inside the text.

use super::*;

#[test]
fn never_panics_on_odd_input() {
    for text in [
        "FROM",
        "FROM a\nONBUILD ONBUILD",
        "FROM a\nHEALTHCHECK",
        "FROM a\nHEALTHCHECK CMD",
        "FROM a\nCOPY <<EOF",
        "FROM a\nRUN --mount=\"",
        "FROM a\nRUN --mount=type=cache,\"x",
        "FROM a\nENV é",
        "FROM a\nENV é=ü\\",
        "FROM a\nLABEL \"",
        "FROM a\nARG \"é",
        "FROM a\nUSER é \\\n",
        "FROM a\nHEALTHCHECK --interval=1é CMD x",
        "FROM a\nCOPY --chown=é a b",
        "FROM a AS é",
    ] {
        if let Err(err) = parse(text) {
            let _ = err.located("Dockerfile", text).to_string();
        }
    }
}

/// A cheap fuzz: random texts built from Dockerfile-ish pieces must never panic, and
/// every span must lie inside the text on character boundaries.
#[test]
fn random_inputs_never_panic_and_spans_stay_in_bounds() {
    const PIECES: &[&str] = &[
        "FROM ",
        "RUN ",
        "COPY ",
        "ADD ",
        "ENV ",
        "ARG ",
        "LABEL ",
        "ONBUILD ",
        "HEALTHCHECK ",
        "CMD ",
        "SHELL ",
        "USER ",
        "EXPOSE ",
        "VOLUME ",
        "WORKDIR ",
        "a",
        "b=c",
        " ",
        "  ",
        "\t",
        "\n",
        "\r\n",
        "\\",
        "\\\n",
        "`",
        "\"",
        "'",
        "[",
        "]",
        ",",
        "<<",
        "<<-",
        "EOF",
        "\nEOF\n",
        "--",
        "--mount=",
        "type=cache",
        "--from=",
        "--link",
        "$",
        "${",
        "}",
        ":-",
        "#",
        "# escape=`\n",
        "é",
        "☃",
        "\u{feff}",
        "=",
        "AS ",
        "NONE",
        "CMD",
        "/",
        "--platform=x ",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let mut text = String::new();
        if next() % 2 == 0 {
            text.push_str("FROM a\n");
        }
        for _ in 0..(next() % 24) {
            text.push_str(PIECES[(next() % PIECES.len() as u64) as usize]);
        }
        let check_span = |span: Span| {
            assert!(
                span.start <= span.end && span.end <= text.len(),
                "{span:?} in {text:?}"
            );
            assert!(
                text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
                "{span:?} in {text:?}"
            );
        };
        match parse(&text) {
            Ok(dockerfile) => {
                let _ = dockerfile.dump();
                for stage in &dockerfile.stages {
                    check_span(stage.span);
                    check_span(stage.from.span);
                    for instruction in &stage.instructions {
                        check_span(instruction.span);
                        check_span(instruction.keyword_span);
                        for expandable in instruction.expandable_texts() {
                            check_span(expandable.span);
                            let _ = shell::Lexer::new(dockerfile.escape)
                                .expand_word(expandable.text, |_| Some("v".to_string()));
                        }
                    }
                }
            }
            Err(err) => {
                check_span(err.span());
                let _ = err.located("Dockerfile", &text).to_string();
            }
        }
    }
}
