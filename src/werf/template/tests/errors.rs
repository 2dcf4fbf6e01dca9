//! Errors name the file, line and column of the failing action, and the
//! include/tpl calls that led there, outermost first.

use super::*;

fn error_of(text: &str, files: &[(&str, &str)]) -> String {
    match run_with(text, files) {
        Ok(out) => panic!("expected an error, rendered {out:?}"),
        Err(e) => e,
    }
}

#[test]
fn unclosed_action_points_at_its_opening() {
    assert_eq!(
        error_of("image: app\nfrom: {{ .Values.base\n", &[]),
        "werf.yaml:2:7: unclosed action"
    );
    // Actions may span lines, so as in Go the next line is read as arguments.
    assert_eq!(
        error_of("image: app\nfrom: {{ .Values.base\nshell: {}\n", &[]),
        "werf.yaml:3:1: function \"shell\" not defined"
    );
    assert_eq!(
        error_of("{{ if true }}x", &[]),
        "werf.yaml:1:15: unexpected EOF"
    );
    // A comment must follow `{{` (or `{{- `) directly, as in Go.
    assert_eq!(
        error_of("a\n{{ /* c */ }}", &[]),
        "werf.yaml:2:4: unrecognized character in action: U+002F '/'"
    );
}

#[test]
fn unknown_function_points_at_its_name() {
    assert_eq!(
        error_of("image: app\nfrom: {{ foo 1 }}\n", &[]),
        "werf.yaml:2:10: function \"foo\" not defined"
    );
}

#[test]
fn missing_partial_reports_the_include() {
    assert_eq!(
        error_of(
            "a: 1\nb: 2\nc: {{ include \"partials/missing.tmpl\" . }}\n",
            &[]
        ),
        "werf.yaml:3:7: executing \"werf.yaml\": error calling include: template \"partials/missing.tmpl\" not found"
    );
}

#[test]
fn fail_in_a_partial_reports_both_places() {
    let files = [(".werf/partials/a.tmpl", "ok\n {{ fail \"boom\" }}\n")];
    let text = "x\n  {{ include \"partials/a.tmpl\" . }}";
    assert_eq!(
        error_of(text, &files),
        "werf.yaml:2:6: executing \"werf.yaml\": error calling include: \
         .werf/partials/a.tmpl:2:5: executing \"partials/a.tmpl\": error calling fail: boom"
    );
    let error = super::super::render("werf.yaml", text, &env_with(&files)).unwrap_err();
    let frames: Vec<String> = error.located().iter().map(ToString::to_string).collect();
    assert_eq!(
        frames,
        [
            "werf.yaml:2:6: executing \"werf.yaml\": error calling include\n   2 |   {{ include \"partials/a.tmpl\" . }}\n     |      ^^^^^^^",
            ".werf/partials/a.tmpl:2:5: executing \"partials/a.tmpl\": error calling fail: boom\n   2 |  {{ fail \"boom\" }}\n     |     ^^^^",
        ]
    );
    assert_eq!(error.innermost().file, ".werf/partials/a.tmpl");
}

#[test]
fn nested_include_and_tpl_stack() {
    let files = [
        (".werf/outer.tmpl", "{{ include \"inner.tmpl\" . }}"),
        (
            ".werf/inner.tmpl",
            "\n\n{{ tpl \"{{ .nope.deeper }}{{ index 1 2 }}\" . }}",
        ),
    ];
    assert_eq!(
        error_of("{{ include \"outer.tmpl\" . }}", &files),
        "werf.yaml:1:4: executing \"werf.yaml\": error calling include: \
         .werf/outer.tmpl:1:4: executing \"outer.tmpl\": error calling include: \
         .werf/inner.tmpl:3:4: executing \"inner.tmpl\": error calling tpl: \
         <tpl>:1:22: executing \"<tpl>\": error calling index: can't index item of type int"
    );
}

#[test]
fn parse_error_in_a_partial_names_the_partial() {
    let files = [(".werf/partials/a.tmpl", "line\n\n  {{ foo }}")];
    assert_eq!(
        error_of("{{ include \"partials/a.tmpl\" . }}", &files),
        ".werf/partials/a.tmpl:3:6: function \"foo\" not defined"
    );
    assert_eq!(
        error_of("{{ tpl \"{{ bar }}\" . }}", &[]),
        "werf.yaml:1:4: executing \"werf.yaml\": error calling tpl: <tpl>:1:4: function \"bar\" not defined"
    );
}

#[test]
fn parse_errors() {
    let cases = [
        ("{{ end }}", "werf.yaml:1:1: unexpected {{end}}"),
        ("{{ else }}", "werf.yaml:1:1: unexpected {{else}}"),
        ("{{ break }}", "werf.yaml:1:4: {{break}} outside {{range}}"),
        ("{{ $x }}", "werf.yaml:1:4: undefined variable \"$x\""),
        ("{{ \"abc }}", "werf.yaml:1:4: unterminated quoted string"),
        ("{{ 3x }}", "werf.yaml:1:4: bad number syntax: \"3x\""),
        ("{{ ) }}", "werf.yaml:1:4: unexpected right paren"),
        ("{{ (1 }}", "werf.yaml:1:7: unclosed left paren"),
        ("{{ if }}{{ end }}", "werf.yaml:1:7: missing value for if"),
        (
            "{{ 1 | 2 }}",
            "werf.yaml:1:8: non executable command in pipeline stage 2",
        ),
        (
            "{{ range $a, $b, $c := . }}{{ end }}",
            "werf.yaml:1:16: too many declarations in range",
        ),
        (
            "{{ template x }}",
            "werf.yaml:1:13: unexpected \"x\" in template clause",
        ),
        (
            "{{ if true }}{{ define \"x\" }}{{ end }}{{ end }}",
            "werf.yaml:1:17: unexpected <define> in command",
        ),
        ("{{/* open", "werf.yaml:1:1: unclosed comment"),
        (
            "{{/* c */ x }}",
            "werf.yaml:1:1: comment ends before closing delimiter",
        ),
    ];
    let mut failures = Vec::new();
    for (text, want) in cases {
        let got = run(text).err().unwrap_or_default();
        if got != want {
            failures.push(format!("{text:?}\n  want {want:?}\n   got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn execution_errors() {
    let cases = [
        (
            "{{ nil }}",
            "werf.yaml:1:4: executing \"werf.yaml\": nil is not a command",
        ),
        (
            "{{ 1 2 }}",
            "werf.yaml:1:4: executing \"werf.yaml\": can't give argument to non-function 1",
        ),
        (
            "{{ \"s\".x }}",
            "werf.yaml:1:4: unexpected . after term \"\\\"s\\\"\"",
        ),
        (
            "{{ $m := dict \"a\" 1 }}{{ $m.a.b }}",
            "werf.yaml:1:26: executing \"werf.yaml\": can't evaluate field b in type int",
        ),
        (
            "{{ $m := dict \"a\" nil }}{{ $m.a.b }}",
            "werf.yaml:1:28: executing \"werf.yaml\": nil pointer evaluating interface {}.b",
        ),
        (
            "{{ .Env.x }}",
            "werf.yaml:1:4: executing \"werf.yaml\": can't evaluate field x in type string",
        ),
        (
            "{{ .Files }}",
            "werf.yaml:1:4: executing \"werf.yaml\": can't print value of type config.files",
        ),
        (
            "{{ .Env 1 }}",
            "werf.yaml:1:4: executing \"werf.yaml\": Env is not a method but has arguments",
        ),
        (
            "{{ template \"none\" }}",
            "werf.yaml:1:1: executing \"werf.yaml\": no such template \"none\"",
        ),
        (
            "{{ define \"d\" }}\n {{ fail \"in define\" }}{{ end }}{{ template \"d\" }}",
            "werf.yaml:2:5: executing \"d\": error calling fail: in define",
        ),
        (
            "{{ range 1.5 }}{{ end }}",
            "werf.yaml:1:10: executing \"werf.yaml\": range can't iterate over 1.5",
        ),
    ];
    let mut failures = Vec::new();
    for (text, want) in cases {
        let got = run(text).err().unwrap_or_default();
        if got != want {
            failures.push(format!("{text:?}\n  want {want:?}\n   got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
