//! Language constructs, with the outputs Go's text/template gives.

use super::*;

#[test]
fn text_comments_and_trim_markers() {
    check_table(&[
        // From Go's parse tests.
        ("x \r\n\t{{- 3}}", "x3"),
        ("{{3 -}}\n\n\ty", "3y"),
        ("x\n{{-  3   -}}\ny", "x3y"),
        ("x \r\n\t{{- /* hi */}}", "x"),
        ("{{/* hi */ -}}\n\n\ty", "y"),
        ("{{-\n/*\nhello\n*/\n-}}", ""),
        ("{{ $x \n := \n 1 \n }}{{ $x }}", "1"),
        ("{{\n\"x\"\n|\nprintf\n}}", "x"),
        ("{{\n}}", "ERR:werf.yaml:2:1: missing value for command"),
        ("plain text", "plain text"),
        ("", ""),
        ("a{{/* comment */}}b", "ab"),
        ("a {{- /* comment */ -}} b", "ab"),
        ("a\n  {{- /* multi\nline */}}\nb", "a\nb"),
        ("x  {{- 3 -}}  y", "x3y"),
        ("x  {{- 3 }}  y", "x3  y"),
        ("x  {{ 3 -}}\n\n  y", "x  3y"),
        ("{{- 3 -}}", "3"),
        ("{{-3}}", "-3"),
        ("a {{/* c */ -}} b", "a b"),
        ("{{ \"{{\" }}", "{{"),
        ("{{ `raw {{ }} \\n` }}", "raw {{ }} \\n"),
        ("{{ 'a' }}", "97"),
        ("{{ '\\n' }}", "10"),
        ("{{ \"tab\\there\\u00e9\\x41\" }}", "tab\there\u{e9}A"),
    ]);
}

#[test]
fn numbers_and_constants() {
    check_table(&[
        ("{{ 42 }}", "42"),
        ("{{ -7 }}", "-7"),
        ("{{ 0x1F }}", "31"),
        ("{{ 0o17 }}", "15"),
        ("{{ 017 }}", "15"),
        ("{{ 0b101 }}", "5"),
        ("{{ 1_000 }}", "1000"),
        ("{{ 1.5 }}", "1.5"),
        ("{{ 1.0 }}", "1"),
        ("{{ 1e3 }}", "1000"),
        ("{{ 1e6 }}", "1e+06"),
        ("{{ 100000.0 }}", "100000"),
        ("{{ 0.00001 }}", "1e-05"),
        ("{{ .5 }}", "0.5"),
        ("{{ true }} {{ false }}", "true false"),
        ("{{ print nil }}", "<nil>"),
        ("{{ \"s\" }}", "s"),
    ]);
}

#[test]
fn fields_variables_and_no_value() {
    check_table(&[
        ("{{ .Env }}", "production"),
        (
            "{{ .Commit.Hash }} {{ .Commit.Date.Unix }}",
            "0123abcd 1714557600",
        ),
        ("{{ .Commit.Date.Human }}", "2024-05-01 10:00:00 +0000 UTC"),
        ("{{ .missing }}", "<no value>"),
        ("{{ .missing.deeper.still }}", "<no value>"),
        ("{{ $x := .missing }}{{ $x }}", "<no value>"),
        ("{{ $x := 1 }}{{ $x }}", "1"),
        ("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", "2"),
        (
            "{{ $ }}",
            "map[Commit:map[Date:map[Human:2024-05-01 10:00:00 +0000 UTC Unix:1714557600] Hash:0123abcd] Env:production Files:{config.files}]",
        ),
        ("{{ $.Env }}", "production"),
        ("{{ $d := dict \"a\" (dict \"b\" 1) }}{{ $d.a.b }}", "1"),
        ("{{ (dict \"a\" 2).a }}", "2"),
        ("{{ $d := dict \"a\" nil }}{{ $d.a }}", "<no value>"),
        ("{{ index (dict) \"nokey\" }}", "<no value>"),
        ("{{ list 1 nil \"x\" }}", "[1 <nil> x]"),
        ("{{ dict \"k\" (list 1 2) }}", "map[k:[1 2]]"),
        ("{{ . | printf \"%T\" }}", "map[string]interface {}"),
        ("{{ with $x := 5 }}{{ $x }}{{ end }}", "5"),
        // A variable declared inside a block is gone after it.
        (
            "{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}",
            "21",
        ),
        // `=` reaches the outer variable from inside a block.
        (
            "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}",
            "2",
        ),
    ]);
}

#[test]
fn pipelines_and_parentheses() {
    check_table(&[
        ("{{ \"a\" | printf \"%s-%s\" \"b\" }}", "b-a"),
        ("{{ 3 | printf \"%d\" | printf \"<%s>\" }}", "<3>"),
        ("{{ printf \"%d\" (add 1 2) }}", "3"),
        ("{{ (list 1 2 3) | len }}", "3"),
        ("{{ (print \"x\") }}", "x"),
        ("{{ \"b\" | print \"a\" }}", "ab"),
        ("{{ $x := \"v\" | upper }}{{ $x }}", "V"),
    ]);
}

#[test]
fn if_else_with() {
    check_table(&[
        ("{{ if true }}y{{ end }}", "y"),
        ("{{ if false }}y{{ else }}n{{ end }}", "n"),
        (
            "{{ if 0 }}a{{ else if \"\" }}b{{ else if list 1 }}c{{ else }}d{{ end }}",
            "c",
        ),
        ("{{ if .missing }}a{{ else }}b{{ end }}", "b"),
        ("{{ if (dict) }}a{{ else }}b{{ end }}", "b"),
        ("{{ if 0.0 }}a{{ else }}b{{ end }}", "b"),
        ("{{ with \"x\" }}{{ . }}{{ end }}", "x"),
        ("{{ with \"\" }}{{ . }}{{ else }}empty{{ end }}", "empty"),
        ("{{ with 0 }}a{{ else with 2 }}{{ . }}{{ end }}", "2"),
        ("{{ with $v := \"q\" }}{{ $v }}{{ . }}{{ end }}", "qq"),
        ("{{ if and 1 0 }}a{{ else }}b{{ end }}", "b"),
    ]);
}

#[test]
fn and_or_short_circuit_and_return_operands() {
    check_table(&[
        ("{{ and 1 2 }}", "2"),
        ("{{ and 1 0 2 }}", "0"),
        ("{{ or 0 \"\" \"x\" }}", "x"),
        ("{{ or 0 \"\" }}", ""),
        // The second operand would fail: nil pointer evaluating interface {}.b.
        (
            "{{ $m := dict \"a\" nil }}{{ and $m.a $m.a.b }}",
            "<no value>",
        ),
        ("{{ $m := dict }}{{ or 1 (fail \"no\") }}", "1"),
        ("{{ 0 | and 1 }}", "0"),
        ("{{ not 0 }} {{ not 1 }}", "true false"),
    ]);
}

#[test]
fn comparisons_follow_go_types() {
    check_table(&[
        ("{{ eq 1 1 }}", "true"),
        ("{{ eq 1 2 3 1 }}", "true"),
        ("{{ eq \"a\" \"b\" \"c\" }}", "false"),
        ("{{ eq .missing \"a\" }}", "false"),
        ("{{ ne \"a\" \"b\" }}", "true"),
        (
            "{{ lt 1 2 }} {{ le 2 2 }} {{ gt 1 2 }} {{ ge 2 3 }}",
            "true true false false",
        ),
        ("{{ lt \"a\" \"b\" }}", "true"),
        ("{{ lt 1.5 2.5 }}", "true"),
        ("{{ eq (add 1 1) 2 }}", "true"),
        ("{{ eq (len \"ab\") 2 }}", "true"),
        (
            "{{ eq 1 \"1\" }}",
            "ERR:werf.yaml:1:4: executing \"werf.yaml\": error calling eq: incompatible types for comparison",
        ),
        (
            "{{ lt 1 1.5 }}",
            "ERR:werf.yaml:1:4: executing \"werf.yaml\": error calling lt: incompatible types for comparison",
        ),
        (
            "{{ lt true false }}",
            "ERR:werf.yaml:1:4: executing \"werf.yaml\": error calling lt: invalid type for comparison",
        ),
        (
            "{{ eq 1 }}",
            "ERR:werf.yaml:1:4: executing \"werf.yaml\": error calling eq: missing argument for comparison",
        ),
    ]);
}

#[test]
fn range_over_lists_maps_and_integers() {
    check_table(&[
        ("{{ range list 1 2 3 }}{{ . }},{{ end }}", "1,2,3,"),
        (
            "{{ range $i, $v := list \"a\" \"b\" }}{{ $i }}={{ $v }} {{ end }}",
            "0=a 1=b ",
        ),
        ("{{ range $v := list \"a\" \"b\" }}{{ $v }}{{ end }}", "ab"),
        (
            "{{ range $k, $v := dict \"b\" 2 \"a\" 1 \"c\" 3 }}{{ $k }}{{ $v }}{{ end }}",
            "a1b2c3",
        ),
        ("{{ range dict \"b\" 2 \"a\" 1 }}{{ . }}{{ end }}", "12"),
        ("{{ range 3 }}{{ . }}{{ end }}", "012"),
        ("{{ range $i := 3 }}{{ $i }}{{ end }}", "012"),
        ("{{ range 0 }}x{{ else }}none{{ end }}", "none"),
        // An integer range is walked, never materialised.
        (
            "{{ range $i := 100000000000 }}{{ if eq $i 2 }}{{ break }}{{ end }}{{ $i }}{{ end }}",
            "01",
        ),
        ("{{ range list }}x{{ else }}empty{{ end }}", "empty"),
        ("{{ range .missing }}x{{ else }}nothing{{ end }}", "nothing"),
        // The else branch keeps the outer dot.
        (
            "{{ with \"d\" }}{{ range list }}x{{ else }}{{ . }}{{ end }}{{ end }}",
            "d",
        ),
        (
            "{{ range list 1 2 3 4 }}{{ if eq . 3 }}{{ break }}{{ end }}{{ . }}{{ end }}",
            "12",
        ),
        (
            "{{ range list 1 2 3 4 }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ . }}{{ end }}",
            "134",
        ),
        (
            "{{ range $i, $e := list 1 2 }}{{ range list \"a\" \"b\" }}{{ if eq . \"b\" }}{{ break }}{{ end }}{{ $i }}{{ . }}{{ end }}{{ end }}",
            "0a1a",
        ),
        (
            "{{ $n := 0 }}{{ range list 1 2 3 }}{{ $n = add $n . }}{{ end }}{{ $n }}",
            "6",
        ),
        (
            "{{ range $i, $c := \"ab\" }}{{ end }}",
            "ERR:werf.yaml:1:20: executing \"werf.yaml\": range can't iterate over ab",
        ),
        (
            "{{ range $a, $b := 3 }}{{ end }}",
            "ERR:werf.yaml:1:20: executing \"werf.yaml\": can't use 3 to iterate over more than one variable",
        ),
        // Setting a key while ranging over the same map is allowed.
        (
            "{{ $m := dict \"a\" 1 }}{{ range $k, $v := $m }}{{ $_ := set $m \"z\" 2 }}{{ $k }}{{ end }}{{ len $m }}",
            "a2",
        ),
    ]);
}

#[test]
fn define_template_block() {
    check_table(&[
        (
            "{{ define \"x\" }}[{{ . }}]{{ end }}{{ template \"x\" 5 }}",
            "[5]",
        ),
        (
            "{{ template \"x\" \"a\" }}{{ define \"x\" }}<{{ . }}>{{ end }}",
            "<a>",
        ),
        (
            "{{ define \"x\" }}{{ .missing }}{{ end }}{{ template \"x\" }}",
            "<no value>",
        ),
        ("{{ block \"b\" \"v\" }}({{ . }}){{ end }}", "(v)"),
        // A later definition wins, as when a base's block is overridden.
        (
            "{{ define \"b\" }}new{{ end }}{{ block \"b\" . }}old{{ end }}",
            "old",
        ),
        (
            "{{ block \"b\" . }}old{{ end }}{{ define \"b\" }}new{{ end }}",
            "new",
        ),
        (
            "{{ define \"x\" }}{{ $ }}{{ end }}{{ template \"x\" 7 }}",
            "7",
        ),
        (
            "{{ define \"r\" }}{{ if gt . 0 }}{{ . }}{{ template \"r\" sub . 1 }}{{ end }}{{ end }}{{ template \"r\" 3 }}",
            "321",
        ),
        ("{{ define \"x\" }}X{{ end }}{{ include \"x\" . }}", "X"),
        (
            "{{ define \"x\" }}X{{ end }}{{ include \"x\" . | lower }}",
            "x",
        ),
    ]);
}

#[test]
fn methods_with_arguments_on_data() {
    let files = [
        ("config/app.yaml", "name: app\nport: 8080\n"),
        ("config/db.yaml", "name: db\n"),
        ("config/sub/x.txt", "x"),
    ];
    let cases = [
        ("{{ .Files.Get \"config/db.yaml\" }}", "name: db\n"),
        ("{{ $.Files.Get \"config/db.yaml\" | trim }}", "name: db"),
        (
            "{{ $ctx := . }}{{ $ctx.Files.Exists \"config/app.yaml\" }}",
            "true",
        ),
        (
            "{{ .Files.Exists \"nope\" }} {{ .Files.IsDir \"config\" }} {{ .Files.IsDir \"config/db.yaml\" }}",
            "false true false",
        ),
        (
            "{{ range $path, $content := .Files.Glob \"config/*.yaml\" }}{{ $path }}:{{ len $content }};{{ end }}",
            "config/app.yaml:21;config/db.yaml:9;",
        ),
        (
            "{{ range $path, $_ := .Files.Glob \"config/**\" }}{{ $path }};{{ end }}",
            "config/app.yaml;config/db.yaml;config/sub/x.txt;",
        ),
        (
            "{{ range $path, $_ := .Files.Glob \"**/*.txt\" }}{{ $path }};{{ end }}",
            "config/sub/x.txt;",
        ),
        ("{{ .Files.Get \"config/./sub/../db.yaml\" }}", "name: db\n"),
        (
            "{{ (fromYaml (.Files.Get \"config/app.yaml\")).port }}",
            "8080",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(run_with(text, &files).as_deref(), Ok(expected), "{text}");
    }
}

#[test]
fn files_outside_the_project_are_refused() {
    assert_eq!(
        run("{{ .Files.Get \"../secret\" }}"),
        Err("werf.yaml:1:4: executing \"werf.yaml\": error calling Get: path \"../secret\" is outside the project directory".into())
    );
    assert_eq!(
        run("{{ .Files.Get \"/etc/passwd\" }}"),
        Err("werf.yaml:1:4: executing \"werf.yaml\": error calling Get: path \"/etc/passwd\" is absolute; only paths inside the project directory can be read".into())
    );
    assert_eq!(
        run("{{ .Files.Get \"missing.txt\" }}"),
        Err("werf.yaml:1:4: executing \"werf.yaml\": error calling Get: file \"missing.txt\" not found".into())
    );
}

#[test]
fn set_on_root_is_seen_by_a_later_include_and_tpl() {
    let files = [(
        ".werf/partials/show.tmpl",
        "{{ .Values.name }}/{{ .Extra }}",
    )];
    let text = "{{ $_ := set . \"Values\" (dict \"name\" \"app\") }}{{ $_ := set . \"Extra\" 1 }}{{ include \"partials/show.tmpl\" . }} {{ tpl \"{{ .Extra }}\" . }}";
    assert_eq!(run_with(text, &files).as_deref(), Ok("app/1 1"));
    // A dict built in one include and mutated by set in another.
    let files = [(".werf/a.tmpl", "{{ $_ := set . \"seen\" \"yes\" }}")];
    let text = "{{ $ctx := dict }}{{ include \"a.tmpl\" $ctx }}{{ $ctx.seen }}";
    assert_eq!(run_with(text, &files).as_deref(), Ok("yes"));
}

#[test]
fn tpl_sees_defines_and_is_cached() {
    let text = "{{ define \"greet\" }}hi {{ .n }}{{ end }}{{ range list 1 2 }}{{ tpl \"{{ include \\\"greet\\\" . }};\" (dict \"n\" .) }}{{ end }}";
    assert_eq!(run(text).as_deref(), Ok("hi 1;hi 2;"));
}

#[test]
fn deep_recursion_is_an_error_not_a_crash() {
    let text = "{{ define \"loop\" }}{{ template \"loop\" . }}{{ end }}{{ template \"loop\" . }}";
    let error = run(text).unwrap_err();
    // `template` errors are not wrapped (as in Go): only the innermost call shows.
    assert_eq!(
        error,
        "werf.yaml:1:20: executing \"loop\": exceeded maximum template depth (1000)"
    );
    let text = "{{ define \"loop\" }}{{ include \"loop\" . }}{{ end }}{{ include \"loop\" . }}";
    let error = run(text).unwrap_err();
    assert!(
        error.ends_with(
            "werf.yaml:1:23: executing \"loop\": error calling include: exceeded maximum template depth (1000)"
        ),
        "{}",
        &error[error.len().saturating_sub(300)..]
    );
    // A map containing itself prints without overflowing.
    let out = run("{{ $m := dict }}{{ $_ := set $m \"self\" $m }}{{ toJson $m }}").unwrap();
    assert_eq!(out, "");
}

#[test]
fn parse_tree_keeps_spans() {
    let text = "a {{- $x := .b.c | f 1 -}}\n{{ if $x }}{{ (g).h }}{{ else }}{{ break }}{{ end }}";
    let has_function = |name: &str| name == "f" || name == "g";
    let text = text.replace("{{ break }}", "{{ range . }}{{ break }}{{ end }}");
    let tree = crate::werf::template::parser::parse(&text, &has_function).expect("parses");
    assert_eq!(
        tree.dump(),
        "Text 0..1 \"a\"\n\
         Action 2..26 $x := .b.c@12 | f@19 1@21\n\
         If 27..101 $x@33\n\
         \x20 Action 38..49 (g@42)@41.h@41\n\
         Else\n\
         \x20 Range 59..92 .@68\n\
         \x20   Break 72..83\n"
    );
}

/// Cases from Go's own text/template exec tests, with dicts in place of structs.
#[test]
fn cases_from_go_exec_tests() {
    check_table(&[
        (
            "{{and false 0}} {{and 1 0}} {{and 0 true}} {{and 1 1}}",
            "false 0 0 1",
        ),
        (
            "{{or 0 0}} {{or 1 0}} {{or 0 true}} {{or 1 1}}",
            "0 1 true 1",
        ),
        (
            "{{if and true 1 `hi` | not}}TRUE{{else}}FALSE{{end}}",
            "FALSE",
        ),
        (
            "{{if eq 1 3}}1{{else if eq 2 3}}2{{else if eq 3 3}}3{{end}}",
            "3",
        ),
        (
            "{{if $x := true}}{{with $x := 17}}{{$x}},{{end}}{{$x}}{{end}}",
            "17,true",
        ),
        (
            "{{printf `%d %d %d` (1) (2 | add 3) (add 4 (add 5 6))}}",
            "1 5 15",
        ),
        ("{{($).Env}}", "production"),
        (
            "{{(dict \"up\" \"down\" \"left\" \"right\").left}}",
            "right",
        ),
        ("{{printf \"%04x\" 127}}", "007f"),
        ("{{printf \"%g\" 3.5}}", "3.5"),
        ("{{printf `%T` 0xef}} {{printf `%T` 0XEE}}", "int int"),
        (
            "{{html \"<script>alert(\\\"XSS\\\");</script>\"}}",
            "&lt;script&gt;alert(&#34;XSS&#34;);&lt;/script&gt;",
        ),
        (
            "{{printf \"<script>alert(\\\"XSS\\\");</script>\" | html}}",
            "&lt;script&gt;alert(&#34;XSS&#34;);&lt;/script&gt;",
        ),
        (
            "{{\"http://www.example.org/\"|urlquery}}",
            "http%3A%2F%2Fwww.example.org%2F",
        ),
        ("{{js \"It'd be nice.\"}}", "It\\'d be nice."),
        ("{{\"aaa\"|printf}}", "aaa"),
        ("{{with $x := $}}{{$y := $.Env}}{{$y}}{{end}}", "production"),
        (
            "{{range $x := list 21 22 23}}<{{$foo:=$x}}{{$x}}>{{end}}",
            "<21><22><23>",
        ),
        ("{{with 1.5}}{{.}}{{else}}ZERO{{end}}", "1.5"),
        ("{{with list 3 4 5}}{{.}}{{else}}EMPTY{{end}}", "[3 4 5]"),
        ("{{or (list) \"slice is empty\"}}", "slice is empty"),
        (
            "{{dict.three}}-{{(dict \"three\" 3).three}}",
            "<no value>-3",
        ),
        (
            "{{list.three}}",
            "ERR:werf.yaml:1:3: executing \"werf.yaml\": can't evaluate field three in type []interface {}",
        ),
        (
            "{{if nil}}TRUE{{end}}",
            "ERR:werf.yaml:1:6: executing \"werf.yaml\": nil is not a command",
        ),
        (
            "{{true|printf}}",
            "ERR:werf.yaml:1:8: executing \"werf.yaml\": wrong type for value; expected string; got bool",
        ),
        (
            "{{index (dict) nil}}",
            "ERR:werf.yaml:1:16: executing \"werf.yaml\": cannot assign nil to reflect.Value",
        ),
        (
            "{{index nil 1}}",
            "ERR:werf.yaml:1:9: executing \"werf.yaml\": cannot assign nil to reflect.Value",
        ),
        (
            "{{$x := (1.0)}}{{$x.anything}}",
            "ERR:werf.yaml:1:18: executing \"werf.yaml\": can't evaluate field anything in type float64",
        ),
        (
            "{{3 2}}",
            "ERR:werf.yaml:1:3: executing \"werf.yaml\": can't give argument to non-function 3",
        ),
        (
            "{{$x := 1}}{{3 | $x}}",
            "ERR:werf.yaml:1:18: executing \"werf.yaml\": can't give argument to non-function $x",
        ),
    ]);
}

#[test]
fn tpl_texts_are_parsed_once() {
    use crate::werf::template::engine::Engine;
    let env = env_with(&[]);
    let engine = Engine::new(&env);
    let text = "{{ range list 1 2 3 }}{{ tpl \"<{{ . }}>\" . }}{{ tpl \"[{{ . }}]\" . }}{{ end }}";
    let main = engine
        .add_source("werf.yaml", "werf.yaml", text)
        .expect("parses");
    let out = engine
        .execute(
            "werf.yaml",
            &main,
            crate::werf::template::value::Value::Missing,
        )
        .expect("renders");
    assert_eq!(out, "<1>[1]<2>[2]<3>[3]");
    assert_eq!(engine.tpl_cache.borrow().len(), 2);
}
