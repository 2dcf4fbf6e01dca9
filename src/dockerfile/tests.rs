use super::*;

/// The dump without its `@start..end` spans, so small cases read easily.
fn dump_without_spans(text: &str) -> String {
    match parse(text) {
        Ok(dockerfile) => dockerfile
            .dump()
            .lines()
            .map(|line| match line.rfind(" @") {
                Some(at) if line[at + 2..].contains("..") => &line[..at],
                _ => line,
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Err(err) => format!("error: {}", err.located("Dockerfile", text)),
    }
}

fn check(text: &str, expected: &str) {
    assert_eq!(
        dump_without_spans(text),
        expected.trim_end(),
        "input:\n{text}"
    );
}

/// Only the stage's instructions, from `stage 0` on, for cases with one FROM.
fn check_body(text: &str, expected: &str) {
    let dump = dump_without_spans(&format!("FROM base\n{text}"));
    let body = dump
        .split_once("  from \"base\"\n")
        .map_or(dump.as_str(), |(_, body)| body);
    assert_eq!(
        body,
        expected.trim_end(),
        "input:\n{text}\nfull dump:\n{dump}"
    );
}

fn check_err(text: &str, expected: &str) {
    match parse(text) {
        Ok(dockerfile) => panic!("expected an error, got:\n{}", dockerfile.dump()),
        Err(err) => assert_eq!(err.located("Dockerfile", text).to_string(), expected),
    }
}

/// Just the message of the error from `FROM base` + `text`.
fn check_body_err(text: &str, expected: &str) {
    match parse(&format!("FROM base\n{text}")) {
        Ok(dockerfile) => panic!("expected an error, got:\n{}", dockerfile.dump()),
        Err(err) => assert_eq!(err.to_string(), expected, "input:\n{text}"),
    }
}

#[test]
fn stages_meta_args_and_names() {
    check(
        "ARG A=1 B\nfrom --platform=$P img:$A as Build\nARG C\nFROM build\n",
        r#"
escape '\\'
meta-arg "A" default="1"
meta-arg "B"
stage 0 name="build"
  from "img:$A"
  platform "$P"
  ARG
    "C"
stage 1
  from "build""#
            .trim_start(),
    );
}

#[test]
fn keywords_are_case_insensitive() {
    check_body(
        "rUn echo\nWorkDir /x\n",
        "  RUN shell \"echo\"\n  WORKDIR \"/x\"",
    );
}

#[test]
fn run_forms() {
    check_body("RUN [\"a\", \"b c\"]\n", "  RUN exec [\"a\", \"b c\"]");
    // Invalid JSON falls back to shell form, as in BuildKit.
    check_body("RUN [\"a\", b]\n", "  RUN shell \"[\\\"a\\\", b]\"");
    check_body("RUN [a]\n", "  RUN shell \"[a]\"");
    check_body_err(
        "RUN [\"a\", 1]\n",
        "RUN: a JSON array of arguments must hold only strings",
    );
    check_body_err("RUN\n", "RUN requires a command");
}

#[test]
fn run_flags() {
    check_body(
        "RUN --mount=type=cache,target=/c,id=x --mount=type=secret,id=s,required --network=host --security=insecure make\n",
        r#"
  RUN shell "make"
    mount type=cache target="/c" id="x" readonly=false
    mount type=secret id="s" readonly=true required
    network Host
    security Insecure"#
            .trim_start_matches('\n'),
    );
    check_body_err(
        "RUN --network=bridge x\n",
        "RUN --network: unknown network mode \"bridge\" (expected one of default, none, host)",
    );
    check_body_err(
        "RUN --security=yes x\n",
        "RUN --security: unknown security mode \"yes\" (expected sandbox or insecure)",
    );
    check_body_err(
        "RUN --mount=type=bind,oops=1 x\n",
        "invalid --mount: unexpected key 'oops' in 'oops=1' (expected one of type, from, source, src, target, dst, destination, readonly, ro, readwrite, rw, id, sharing, required, size, mode, uid, gid, env)",
    );
}

#[test]
fn run_heredoc() {
    check_body(
        "RUN <<EOF\necho $HOME\nEOF\n",
        "  RUN shell \"<<EOF\"\n    heredoc \"EOF\" \"echo $HOME\\n\"",
    );
    check_body(
        "RUN python3 <<-'PY' > out\n\tprint(1)\n\tPY\n",
        "  RUN shell \"python3 <<-'PY' > out\"\n    heredoc \"PY\" no-expand chomp \"print(1)\\n\"",
    );
}

#[test]
fn cmd_and_entrypoint() {
    check_body(
        "CMD [\"run\"]\nENTRYPOINT exec app\nCMD []\n",
        "  CMD exec [\"run\"]\n  ENTRYPOINT shell \"exec app\"\n  CMD exec []",
    );
}

#[test]
fn env_and_label_pairs() {
    check_body(
        "ENV A=1 B=\"x y\" C=a\\ b\nLABEL org.x=\"1\" y=\nENV OLD some value  \n",
        r#"
  ENV
    "A"="1"
    "B"="\"x y\""
    "C"="a\\ b"
  LABEL
    "org.x"="\"1\""
    "y"=""
  ENV
    "OLD"="some value" (legacy form)"#
            .trim_start_matches('\n'),
    );
    check_body_err(
        "ENV A=1 B\n",
        "ENV: can't find = in \"B\"; expected name=value",
    );
    check_body_err(
        "ENV ONLY\n",
        "ENV requires two arguments in the form `KEY value` (or key=value pairs)",
    );
    check_body_err("LABEL =x\n", "LABEL: names can not be blank");
    check_body_err("ENV\n", "ENV requires at least one argument");
}

#[test]
fn add_and_copy() {
    check_body(
        "COPY --from=build --chown=1:1 --chmod=644 --link --parents --exclude=*.md --exclude=x a b /d/\n",
        r#"
  COPY
    from "build"
    chown "1:1"
    chmod "644"
    link
    parents
    exclude "*.md"
    exclude "x"
    src "a"
    src "b"
    dest "/d/""#
            .trim_start_matches('\n'),
    );
    check_body(
        "ADD --keep-git-dir=false --checksum=sha256:abc --unpack=true --link=false https://x/y.tgz /\n",
        r#"
  ADD
    keep-git-dir false
    checksum "sha256:abc"
    unpack true
    src "https://x/y.tgz"
    dest "/""#
            .trim_start_matches('\n'),
    );
    check_body(
        "COPY [\"a b\", \"/c\"]\n",
        "  COPY\n    src \"a b\"\n    dest \"/c\"",
    );
    check_body_err(
        "COPY a\n",
        "COPY requires at least two arguments: one or more sources and a destination",
    );
    check_body_err(
        "COPY a <<EOF\nEOF\n",
        "COPY: a heredoc can't be the destination",
    );
}

#[test]
fn copy_heredoc_sources() {
    check_body(
        "COPY <<A <<\"B\" x /dest/\n$v\nA\n$w\nB\n",
        r#"
  COPY
    src "x"
    heredoc "A" "$v\n"
    heredoc "B" no-expand "$w\n"
    dest "/dest/""#
            .trim_start_matches('\n'),
    );
}

#[test]
fn flag_errors() {
    check_body_err(
        "COPY --form=a b c\n",
        "unknown flag --form for COPY (allowed: --from, --chown, --chmod, --link, --parents, --exclude); did you mean --from?",
    );
    check_body_err(
        "WORKDIR --x /a\n",
        "unknown flag --x for WORKDIR (it takes no flags)",
    );
    check_body_err(
        "COPY --link=maybe a b\n",
        "COPY --link: expected true or false, got \"maybe\"",
    );
    check_body_err(
        "COPY --from a b\n",
        "COPY --from: needs a value (--from=<value>)",
    );
    check_body_err(
        "COPY --from=a --from=b a b\n",
        "COPY --from: given more than once",
    );
    check_body(
        "COPY --link=TRUE a b\n",
        "  COPY\n    link\n    src \"a\"\n    dest \"b\"",
    );
}

#[test]
fn expose_volume_user_workdir_stopsignal_maintainer() {
    check_body(
        "EXPOSE 80/tcp $P\nVOLUME [\"/a\", \"/b\"]\nVOLUME /c /d\nUSER app:app\nWORKDIR /w x\nSTOPSIGNAL SIGTERM\nMAINTAINER Me <me@x>\n",
        r#"
  EXPOSE
    - "80/tcp"
    - "$P"
  VOLUME
    - "/a"
    - "/b"
  VOLUME
    - "/c"
    - "/d"
  USER "app:app"
  WORKDIR "/w x"
  STOPSIGNAL "SIGTERM"
  MAINTAINER "Me <me@x>""#
            .trim_start_matches('\n'),
    );
    check_body_err("USER\n", "USER requires exactly one argument");
    check_body_err("EXPOSE\n", "EXPOSE requires at least one argument");
    check_body_err(
        "VOLUME [\"\"]\n",
        "VOLUME: a volume can't be an empty string",
    );
}

#[test]
fn arg_forms() {
    check_body(
        "ARG A B=2 C=\"x y\" D=\n",
        "  ARG\n    \"A\"\n    \"B\" default=\"2\"\n    \"C\" default=\"\\\"x y\\\"\"\n    \"D\" default=\"\"",
    );
    check_body_err("ARG =x\n", "ARG: names can not be blank");
    check_body_err("ARG\n", "ARG requires at least one argument");
}

#[test]
fn onbuild() {
    check_body(
        "ONBUILD RUN --network=none make\nonbuild COPY <<EOF /x\nhi\nEOF\n",
        r#"
  ONBUILD "RUN --network=none make"
    RUN shell "make"
      network None
  ONBUILD "COPY <<EOF /x\nhi\nEOF"
    COPY
      heredoc "EOF" "hi\n"
      dest "/x""#
            .trim_start_matches('\n'),
    );
    check_body_err(
        "ONBUILD ONBUILD RUN x\n",
        "ONBUILD: chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
    );
    check_body_err(
        "ONBUILD FROM x\n",
        "ONBUILD: FROM isn't allowed as an ONBUILD trigger",
    );
    check_body_err(
        "ONBUILD maintainer x\n",
        "ONBUILD: MAINTAINER isn't allowed as an ONBUILD trigger",
    );
    check_body_err("ONBUILD\n", "ONBUILD requires an instruction to run later");
    check_body_err(
        "ONBUILD COPY --nope a b\n",
        "unknown flag --nope for COPY (allowed: --from, --chown, --chmod, --link, --parents, --exclude)",
    );
}

#[test]
fn healthcheck() {
    check_body(
        "HEALTHCHECK --interval=30s --timeout=1m30s --start-period=0s --start-interval=5ms --retries=3 CMD curl -f http://x/\nHEALTHCHECK none\nHEALTHCHECK CMD [\"/bin/check\"]\n",
        r#"
  HEALTHCHECK CMD shell "curl -f http://x/"
    interval 30s
    timeout 90s
    start-interval 5ms
    retries 3
  HEALTHCHECK NONE
  HEALTHCHECK CMD exec ["/bin/check"]"#
            .trim_start_matches('\n'),
    );
    check_body_err(
        "HEALTHCHECK NONE x\n",
        "HEALTHCHECK: HEALTHCHECK NONE takes no arguments",
    );
    check_body_err(
        "HEALTHCHECK CMD\n",
        "HEALTHCHECK requires a command after CMD",
    );
    check_body_err(
        "HEALTHCHECK RUN x\n",
        "HEALTHCHECK: unknown type \"RUN\" (expected NONE or CMD)",
    );
    check_body_err(
        "HEALTHCHECK --interval=1us CMD x\n",
        "HEALTHCHECK --interval: can't be less than 1ms",
    );
    check_body_err(
        "HEALTHCHECK --timeout=10 CMD x\n",
        "HEALTHCHECK --timeout: expected a duration such as 30s or 1m30s, got \"10\"",
    );
    check_body_err(
        "HEALTHCHECK --retries=-1 CMD x\n",
        "HEALTHCHECK --retries: expected a number of retries (0 or more), got \"-1\"",
    );
}

#[test]
fn shell_instruction() {
    check_body("SHELL [\"pwsh\", \"-c\"]\n", "  SHELL [\"pwsh\", \"-c\"]");
    check_body_err(
        "SHELL /bin/sh -c\n",
        "SHELL: the arguments must be a JSON array, as in SHELL [\"/bin/sh\", \"-c\"]",
    );
    check_body_err("SHELL []\n", "SHELL requires at least one argument");
}

#[test]
fn from_errors() {
    check_err(
        "FROM a b\n",
        "Dockerfile:1:1: FROM requires one argument (an image) or three (image AS name)\n   1 | FROM a b\n     | ^^^^^^^^",
    );
    check_err(
        "FROM a AS 1x\n",
        "Dockerfile:1:11: FROM: invalid stage name \"1x\": it must start with a letter and hold only letters, digits, '-', '_' and '.'\n   1 | FROM a AS 1x\n     |           ^^",
    );
}

#[test]
fn structure_errors() {
    check_err(
        "ARG A\nRUN x\nFROM a\n",
        "Dockerfile:2:1: RUN before the first FROM (only ARG may come before FROM)\n   2 | RUN x\n     | ^^^",
    );
    check_err(
        "# just a comment\n",
        "Dockerfile:2:1: file with no instructions (expected at least FROM)\n   2 | \n     | ^",
    );
    check_err(
        "ARG A\n",
        "Dockerfile:2:1: no FROM instruction: a Dockerfile needs at least one stage\n   2 | \n     | ^",
    );
    check_err(
        "FROM a\nFORM b\n",
        "Dockerfile:2:1: unknown instruction \"FORM\" (expected one of FROM, RUN, CMD, LABEL, MAINTAINER, EXPOSE, ENV, ADD, COPY, ENTRYPOINT, VOLUME, USER, WORKDIR, ARG, ONBUILD, STOPSIGNAL, HEALTHCHECK, SHELL); did you mean FROM?\n   2 | FORM b\n     | ^^^^",
    );
}

#[test]
fn escape_directive_applies_to_words() {
    check(
        "# escape=`\nFROM a\nENV P=C:\\dir X=a` b\nRUN a `\n  b\n",
        r#"
directive escape "`"
escape '`'
stage 0
  from "a"
  ENV
    "P"="C:\\dir"
    "X"="a` b"
  RUN shell "a   b""#
            .trim_start_matches('\n'),
    );
}

#[test]
fn spans_point_at_words() {
    let text = "FROM a\nCOPY --chown=app \\\n  src /dst\n";
    let dockerfile = parse(text).unwrap();
    let Command::Copy(copy) = &dockerfile.stages[0].instructions[0].command else {
        panic!("not COPY");
    };
    let slice = |span: Span| &text[span.start..span.end];
    assert_eq!(slice(copy.sources.paths[0].span), "src");
    assert_eq!(slice(copy.sources.dest.span), "/dst");
    assert_eq!(slice(copy.chown.as_ref().unwrap().span), "app");
    assert_eq!(
        slice(dockerfile.stages[0].instructions[0].span),
        "COPY --chown=app \\\n  src /dst"
    );
    assert_eq!(slice(dockerfile.stages[0].span), &text[..text.len() - 1]);
}

#[test]
fn expansion_rule_per_keyword() {
    let expanding: Vec<&str> = Keyword::ALL
        .iter()
        .filter(|k| k.expands_variables())
        .map(|k| k.name())
        .collect();
    assert_eq!(
        expanding,
        [
            "FROM",
            "LABEL",
            "EXPOSE",
            "ENV",
            "ADD",
            "COPY",
            "VOLUME",
            "USER",
            "WORKDIR",
            "ARG",
            "STOPSIGNAL"
        ]
    );
    assert!(!Keyword::Run.expands_variables());
    assert!(Keyword::Run.expands_mount_values());
}

/// Found by `cargo fuzz run dockerfile`: when quotes or escapes make a `--mount` value
/// differ from its source, a field's offsets in the value do not map to the source, and
/// the error span cut into a character (here a U+FFFD from lossy UTF-8). Such errors
/// now take the flag's span; exact values keep the field's own span.
#[test]
fn mount_field_error_spans_map_to_the_source() {
    let text = "RUN --mount=tye\u{FFFD}\u{FFFD}PY\"/\n";
    let err = parse(text).unwrap_err();
    let span = err.span();
    assert!(
        text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "{span:?}"
    );
    assert_eq!(
        &text[span.start..span.end],
        "--mount=tye\u{FFFD}\u{FFFD}PY\"/"
    );
    let _ = err.located("Dockerfile", text).to_string();

    let text = "FROM a\nRUN --mount=type=bind,\"oops\"=1 x\n";
    let span = parse(text).unwrap_err().span();
    assert_eq!(&text[span.start..span.end], "--mount=type=bind,\"oops\"=1");

    let text = "FROM a\nRUN --mount=type=bind,oops=é x\n";
    let span = parse(text).unwrap_err().span();
    assert_eq!(&text[span.start..span.end], "oops=é");
}

#[test]
fn expandable_texts_list_what_the_frontend_expands() {
    let text = "FROM a\nENV K=$V\nRUN --mount=type=cache,target=$T,from=x echo $NOT\nCOPY --from=$NO --chown=$U <<EOF <<'Q' $S /d\n$H\nEOF\n$NO\nQ\nCMD $NO\nONBUILD RUN $NO\nARG A=$B\n";
    let dockerfile = parse(text).unwrap();
    let texts: Vec<(&str, bool)> = dockerfile.stages[0]
        .instructions
        .iter()
        .flat_map(|i| i.expandable_texts())
        .map(|t| (t.text, t.heredoc_body))
        .collect();
    assert_eq!(
        texts,
        [
            ("K", false),
            ("$V", false),
            ("$T", false),
            ("$U", false),
            ("$S", false),
            ("/d", false),
            ("$H\n", true),
            ("A", false),
            ("$B", false),
        ]
    );
}

/// The inputs of BuildKit's instructions/parse_test.go argument-count and error cases,
/// with our messages.
#[test]
fn buildkit_instruction_error_cases() {
    for keyword in ["MAINTAINER", "WORKDIR", "USER", "STOPSIGNAL"] {
        check_body_err(keyword, &format!("{keyword} requires exactly one argument"));
    }
    for keyword in ["ENV", "LABEL", "EXPOSE", "VOLUME"] {
        check_body_err(
            keyword,
            &format!("{keyword} requires at least one argument"),
        );
    }
    check_body_err("ONBUILD", "ONBUILD requires an instruction to run later");
    check_body_err(
        "HEALTHCHECK",
        "HEALTHCHECK requires NONE or CMD and a command",
    );
    for keyword in ["ADD", "COPY"] {
        check_body_err(
            &format!("{keyword} arg1"),
            &format!(
                "{keyword} requires at least two arguments: one or more sources and a destination"
            ),
        );
    }
    check_body_err(
        "COPY\t\n",
        "COPY requires at least two arguments: one or more sources and a destination",
    );
    check_body_err(
        "ONBUILD FROM scratch",
        "ONBUILD: FROM isn't allowed as an ONBUILD trigger",
    );
    check_body_err(
        "MAINTAINER --boo joe@example.com",
        "unknown flag --boo for MAINTAINER (it takes no flags)",
    );
    check_body_err(
        "ONBUILD ONBUILD RUN touch foobar",
        "ONBUILD: chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
    );
    let unknown = |name: &str| {
        format!(
            "unknown instruction {name:?} (expected one of {})",
            Keyword::ALL_NAMES.join(", ")
        )
    };
    check_body_err("FOO bar", &unknown("FOO"));
    check_body_err("foo bar", &unknown("foo"));
    check_body(
        "HEALTHCHECK CMD hello world",
        "  HEALTHCHECK CMD shell \"hello world\"",
    );
    check_body_err(
        "HEALTHCHECK --interval=50ns CMD x",
        "HEALTHCHECK --interval: can't be less than 1ms",
    );
    check_body(
        "HEALTHCHECK --interval=0ms CMD x",
        "  HEALTHCHECK CMD shell \"x\"",
    );
    check_body(
        "HEALTHCHECK --interval=1ms CMD x",
        "  HEALTHCHECK CMD shell \"x\"\n    interval 1ms",
    );
}

#[test]
fn doc_comments_describe_stages_as_buildkit_reads_them() {
    let text = "# base is the stage everything starts from\n# and a second line\n\nFROM a AS base\n# other words first\n#\n# final is what ships\nFROM base AS final\n# nothing about it\nFROM base AS quiet\n";
    let dockerfile = crate::dockerfile::parse(text).unwrap();
    let descriptions: Vec<_> = dockerfile
        .stages
        .iter()
        .map(|s| s.description.as_deref())
        .collect();
    assert_eq!(
        descriptions,
        [
            Some("is the stage everything starts from"),
            Some("is what ships"),
            None
        ]
    );
}
