//! Builtins, sprig and werf functions, with the outputs their docs give.

use super::*;

#[test]
fn builtins() {
    check_table(&[
        (
            "{{ len \"héllo\" }} {{ len (list 1 2) }} {{ len (dict \"a\" 1) }}",
            "6 2 1",
        ),
        ("{{ index (list 1 2 3) 1 }}", "2"),
        ("{{ index (dict \"a\" (list 5 6)) \"a\" 1 }}", "6"),
        ("{{ index \"abc\" 0 }}", "97"),
        (
            "{{ index (list 1) 5 }}",
            "ERR:werf.yaml:1:4: executing \"werf.yaml\": error calling index: index out of range: 5",
        ),
        (
            "{{ index .missing 1 }}",
            "ERR:werf.yaml:1:4: executing \"werf.yaml\": error calling index: index of untyped nil",
        ),
        (
            "{{ slice \"abcdef\" 1 3 }} {{ slice (list 1 2 3) 1 }}",
            "bc [2 3]",
        ),
        // Sprint puts a space only between two non-strings.
        ("{{ print 1 2 \"a\" \"b\" 3 }}", "1 2ab3"),
        ("{{ println 1 \"a\" }}", "1 a\n"),
        (
            "{{ html \"<a href='x'>&</a>\" }}",
            "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;",
        ),
        ("{{ js \"it's <b>\" }}", "it\\'s \\u003Cb\\u003E"),
        ("{{ urlquery \"a b&c=d/é\" }}", "a+b%26c%3Dd%2F%C3%A9"),
        (
            "{{ len 3 }}",
            "ERR:werf.yaml:1:4: executing \"werf.yaml\": error calling len: len of type int",
        ),
    ]);
}

#[test]
fn printf_verbs() {
    check_table(&[
        (
            "{{ printf \"%s|%v|%d|%t\" \"s\" 1.5 42 true }}",
            "s|1.5|42|true",
        ),
        ("{{ printf \"%q\" \"a\\\"b\\n\" }}", "\"a\\\"b\\n\""),
        ("{{ printf \"%q\" 'x' }}", "'x'"),
        ("{{ printf \"%x %X %x\" 255 255 \"hi\" }}", "ff FF 6869"),
        (
            "{{ printf \"%5d|%-5d|%05d\" 42 42 42 }}",
            "   42|42   |00042",
        ),
        (
            "{{ printf \"%.2f|%8.3f|%f\" 3.14159 2.5 1.0 }}",
            "3.14|   2.500|1.000000",
        ),
        (
            "{{ printf \"%6s|%-6s|%.2s\" \"ab\" \"ab\" \"abcdef\" }}",
            "    ab|ab    |ab",
        ),
        (
            "{{ printf \"%v %v\" (list 1 \"a\") (dict \"k\" \"v\") }}",
            "[1 a] map[k:v]",
        ),
        ("{{ printf \"%d%%\" 50 }}", "50%"),
        ("{{ printf \"%d\" \"x\" }}", "%!d(string=x)"),
        ("{{ printf \"%s %s\" \"a\" }}", "a %!s(MISSING)"),
        ("{{ printf \"%s\" \"a\" \"b\" }}", "a%!(EXTRA string=b)"),
        ("{{ printf \"%v\" nil }}", "<nil>"),
        (
            "{{ printf \"%T %T %T\" 1 \"s\" (list) }}",
            "int string []interface {}",
        ),
        ("{{ printf \"%e\" 1234.5 }}", "1.234500e+03"),
        ("{{ printf \"%g\" 0.000012 }}", "1.2e-05"),
        ("{{ printf \"%+d\" 5 }}", "+5"),
    ]);
}

#[test]
fn sprig_strings() {
    check_table(&[
        ("{{ quote \"a\" 1 nil }}", "\"a\" \"1\""),
        ("{{ \"it's\" | squote }}", "'it's'"),
        ("{{ \"a\\nb\" | indent 2 }}", "  a\n  b"),
        ("x:{{ \"a\\nb\" | nindent 4 }}", "x:\n    a\n    b"),
        (
            "{{ trim \"  x  \" }}|{{ trimAll \"$\" \"$5.00$\" }}|{{ trimPrefix \"-\" \"-x-\" }}|{{ trimSuffix \"-\" \"-x-\" }}",
            "x|5.00|x-|-x",
        ),
        (
            "{{ hasPrefix \"ca\" \"cat\" }} {{ hasSuffix \"at\" \"cat\" }} {{ contains \"a\" \"cat\" }}",
            "true true true",
        ),
        ("{{ \"a-b-c\" | replace \"-\" \"+\" }}", "a+b+c"),
        (
            "{{ upper \"abc\" }} {{ lower \"ABC\" }} {{ title \"hello wide-world it's\" }} {{ untitle \"Hello World\" }}",
            "ABC abc Hello Wide-World It'S hello world",
        ),
        (
            "{{ camelcase \"http_server\" }} {{ camelcase \"foo-bar baz\" }}",
            "HttpServer FooBarBaz",
        ),
        (
            "{{ snakecase \"FirstName\" }} {{ snakecase \"HTTPServer\" }} {{ kebabcase \"FirstName\" }}",
            "first_name http_server first-name",
        ),
        ("{{ repeat 3 \"ab\" }}", "ababab"),
        (
            "{{ substr 1 3 \"hello\" }} {{ substr -1 2 \"hello\" }} {{ substr 2 99 \"hello\" }}",
            "el he llo",
        ),
        (
            "{{ trunc 3 \"hello\" }} {{ trunc -2 \"hello\" }} {{ trunc 10 \"hi\" }}",
            "hel lo hi",
        ),
        ("{{ cat \"a\" 1 nil \"b\" }}", "a 1 b"),
        (
            "{{ $p := split \"/\" \"a/b/c\" }}{{ $p._0 }}{{ $p._2 }}",
            "ac",
        ),
        ("{{ split \"/\" \"a/b\" }}", "map[_0:a _1:b]"),
        (
            "{{ $p := splitn \":\" 2 \"k:v:w\" }}{{ $p._0 }}|{{ $p._1 }}",
            "k|v:w",
        ),
        (
            "{{ splitList \",\" \"a,b,,c\" }} {{ len (splitList \",\" \"\") }}",
            "[a b  c] 1",
        ),
        ("{{ join \"-\" (list \"a\" 1 nil \"b\") }}", "a-1-b"),
        ("{{ sortAlpha (list \"b\" \"C\" \"a\") }}", "[C a b]"),
        ("{{ toString 12 }} {{ typeOf (toString 1.5) }}", "12 string"),
        ("{{ toStrings (list 1 \"a\" true) }}", "[1 a true]"),
        (
            "{{ sha256sum \"hello\" }}",
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        ),
        (
            "{{ b64enc \"hello\" }} {{ b64dec \"aGVsbG8=\" }}",
            "aGVsbG8= hello",
        ),
        (
            "{{ regexMatch \"^[a-z]+$\" \"abc\" }} {{ regexFind \"[0-9]+\" \"ab12cd34\" }}",
            "true 12",
        ),
        (
            "{{ regexFindAll \"[0-9]\" \"a1b2c3\" -1 }} {{ regexFindAll \"[0-9]\" \"a1b2c3\" 2 }}",
            "[1 2 3] [1 2]",
        ),
        (
            "{{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"${1}W\" }}",
            "-W-xxW-",
        ),
        (
            "{{ regexReplaceAllLiteral \"a(x*)b\" \"-ab-axxb-\" \"${1}\" }}",
            "-${1}-${1}-",
        ),
        ("{{ regexSplit \"z+\" \"pizza\" -1 }}", "[pi a]"),
        (
            "{{ upper 5 }}",
            "ERR:werf.yaml:1:4: executing \"werf.yaml\": wrong type for value; expected string; got int",
        ),
        (
            "{{ .missing | upper }}",
            "ERR:werf.yaml:1:15: executing \"werf.yaml\": invalid value; expected string",
        ),
    ]);
}

#[test]
fn sprig_lists() {
    check_table(&[
        ("{{ list 1 \"a\" }}", "[1 a]"),
        (
            "{{ $l := list 1 2 }}{{ $m := append $l 3 }}{{ $l }} {{ $m }}",
            "[1 2] [1 2 3]",
        ),
        (
            "{{ prepend (list 2) 1 }} {{ concat (list 1) (list 2 3) }}",
            "[1 2] [1 2 3]",
        ),
        (
            "{{ first (list 1 2 3) }} {{ last (list 1 2 3) }} {{ rest (list 1 2 3) }} {{ initial (list 1 2 3) }}",
            "1 3 [2 3] [1 2]",
        ),
        ("{{ first list }}", "<no value>"),
        ("{{ uniq (list 1 2 1 \"1\" 2) }}", "[1 2 1]"),
        (
            "{{ has 2 (list 1 2) }} {{ has \"2\" (list 1 2) }} {{ has 1 nil }}",
            "true false false",
        ),
        ("{{ without (list 1 2 3 2) 2 }}", "[1 3]"),
        ("{{ compact (list 1 \"\" 0 nil \"a\" (list)) }}", "[1 a]"),
        (
            "{{ until 3 }} {{ until -2 }} {{ untilStep 0 10 3 }} {{ untilStep 5 0 -2 }}",
            "[0 1 2] [0 -1] [0 3 6 9] [5 3 1]",
        ),
        ("{{ reverse (list 1 2 3) }}", "[3 2 1]"),
        (
            "{{ first \"x\" }}",
            "ERR:werf.yaml:1:4: executing \"werf.yaml\": error calling first: Cannot find first on type string",
        ),
    ]);
}

#[test]
fn sprig_dicts() {
    check_table(&[
        ("{{ dict \"b\" 1 \"a\" 2 }}", "map[a:2 b:1]"),
        ("{{ dict \"a\" }}", "map[a:]"),
        (
            "{{ $d := dict }}{{ $_ := set $d \"k\" \"v\" }}{{ $d.k }}",
            "v",
        ),
        (
            "{{ $d := dict \"a\" 1 \"b\" 2 }}{{ $_ := unset $d \"a\" }}{{ $d }}",
            "map[b:2]",
        ),
        (
            "{{ hasKey (dict \"a\" nil) \"a\" }} {{ hasKey (dict) \"a\" }}",
            "true false",
        ),
        (
            "{{ get (dict \"a\" 1) \"a\" }}|{{ get (dict) \"a\" }}|",
            "1||",
        ),
        (
            "{{ keys (dict \"b\" 1 \"a\" 2) }} {{ values (dict \"b\" 1 \"a\" 2) }}",
            "[a b] [2 1]",
        ),
        (
            "{{ pluck \"a\" (dict \"a\" 1) (dict \"b\" 2) (dict \"a\" 3) }}",
            "[1 3]",
        ),
        (
            "{{ pick (dict \"a\" 1 \"b\" 2 \"c\" 3) \"a\" \"c\" }} {{ omit (dict \"a\" 1 \"b\" 2) \"a\" }}",
            "map[a:1 c:3] map[b:2]",
        ),
        (
            "{{ $dst := dict \"a\" 1 \"n\" (dict \"x\" 1) \"e\" \"\" }}{{ $_ := merge $dst (dict \"a\" 2 \"b\" 3 \"n\" (dict \"x\" 2 \"y\" 2) \"e\" \"f\") }}{{ $dst }}",
            "map[a:1 b:3 e:f n:map[x:1 y:2]]",
        ),
        (
            "{{ $dst := dict \"a\" 1 \"n\" (dict \"x\" 1) }}{{ $_ := mergeOverwrite $dst (dict \"a\" 2 \"n\" (dict \"x\" 2 \"y\" 2)) }}{{ $dst }}",
            "map[a:2 n:map[x:2 y:2]]",
        ),
        (
            "{{ $a := dict \"n\" (dict \"x\" 1) }}{{ $b := deepCopy $a }}{{ $_ := set $b.n \"x\" 2 }}{{ $a.n.x }}{{ $b.n.x }}",
            "12",
        ),
        (
            "{{ dig \"a\" \"b\" \"def\" (dict \"a\" (dict \"b\" \"found\")) }} {{ dig \"a\" \"z\" \"def\" (dict \"a\" (dict)) }}",
            "found def",
        ),
        (
            "{{ set \"x\" \"k\" 1 }}",
            "ERR:werf.yaml:1:4: executing \"werf.yaml\": wrong type for value; expected map[string]interface {}; got string",
        ),
    ]);
}

#[test]
fn sprig_defaults_types_json_math() {
    check_table(&[
        (
            "{{ default \"d\" \"\" }} {{ default \"d\" \"v\" }} {{ .missing | default \"m\" }} {{ default 5 0 }}",
            "d v m 5",
        ),
        (
            "{{ empty \"\" }} {{ empty (list) }} {{ empty 0 }} {{ empty \"x\" }} {{ empty .missing }}",
            "true true true false true",
        ),
        (
            "{{ coalesce 0 \"\" \"x\" \"y\" }} {{ coalesce 0 }}",
            "x <no value>",
        ),
        (
            "{{ ternary \"y\" \"n\" true }} {{ true | ternary \"y\" \"n\" }} {{ ternary 1 2 false }}",
            "y y 2",
        ),
        (
            "{{ kindOf 1 }} {{ kindOf \"s\" }} {{ kindOf (list) }} {{ kindOf (dict) }} {{ kindOf 1.5 }} {{ kindOf true }} {{ kindOf nil }}",
            "int string slice map float64 bool invalid",
        ),
        (
            "{{ kindIs \"map\" (dict) }} {{ kindIs \"slice\" (dict) }}",
            "true false",
        ),
        (
            "{{ typeOf (dict) }} {{ typeOf 1 }} {{ typeIs \"string\" \"x\" }}",
            "map[string]interface {} int true",
        ),
        (
            "{{ toJson (dict \"b\" (list 1 \"<x>\" nil true) \"a\" 1.5) }}",
            "{\"a\":1.5,\"b\":[1,\"\\u003cx\\u003e\",null,true]}",
        ),
        ("{{ toRawJson (dict \"a\" \"<&>\") }}", "{\"a\":\"<&>\"}"),
        (
            "{{ toPrettyJson (dict \"a\" (list 1 2) \"b\" (dict)) }}",
            "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}",
        ),
        (
            "{{ $v := fromJson \"{\\\"a\\\": [1, 2.5, \\\"x\\\"], \\\"n\\\": 1000000}\" }}{{ $v.a }} {{ $v.n }} {{ typeOf $v.n }}",
            "[1 2.5 x] 1e+06 float64",
        ),
        ("{{ fromJson \"not json\" }}", "<no value>"),
        (
            "{{ int \"42\" }} {{ int \"3.00\" }} {{ int 3.9 }} {{ int \"x\" }} {{ int64 \"0x10\" }} {{ float64 \"1.5\" }} {{ atoi \"12\" }} {{ atoi \"1x\" }}",
            "42 3 3 0 16 1.5 12 0",
        ),
        (
            "{{ add 1 2 \"3\" }} {{ add1 5 }} {{ sub 5 7 }} {{ mul 2 3 4 }} {{ div 7 2 }} {{ mod 7 3 }} {{ max 1 5 3 }} {{ min 4 2 8 }}",
            "6 6 -2 24 3 1 5 2",
        ),
        (
            "{{ div 1 0 }}",
            "ERR:werf.yaml:1:4: executing \"werf.yaml\": error calling div: runtime error: integer divide by zero",
        ),
        ("{{ add .Commit.Date.Unix 10 }}", "1714557610"),
        (
            "{{ semverCompare \">=1.2.0\" \"1.3.0\" }} {{ semverCompare \"^1.2\" \"2.0.0\" }} {{ semverCompare \"~1.2.3\" \"1.2.9\" }} {{ semverCompare \"1.2.x\" \"1.2.7\" }} {{ semverCompare \">1.0, <2.0\" \"1.5.0\" }} {{ semverCompare \"<1 || >=3\" \"3.1.0\" }}",
            "true false true true true true",
        ),
        (
            "{{ semverCompare \">=1.0.0\" \"1.1.0-rc1\" }} {{ semverCompare \">=1.0.0-0\" \"1.1.0-rc1\" }}",
            "false true",
        ),
        (
            "{{ fail \"boom\" }}",
            "ERR:werf.yaml:1:4: executing \"werf.yaml\": error calling fail: boom",
        ),
    ]);
}

#[test]
fn sprig_paths_and_must_forms() {
    check_table(&[
        (
            "{{ base \"a/b/c.txt\" }} {{ base \"a/b/\" }} {{ base \"\" }} {{ base \"/\" }}",
            "c.txt b . /",
        ),
        (
            "{{ dir \"a/b/c.txt\" }} {{ dir \"c.txt\" }} {{ dir \"/x\" }}",
            "a/b . /",
        ),
        ("{{ ext \"a/b.tar.gz\" }}|{{ ext \"a.d/b\" }}|", ".gz||"),
        (
            "{{ clean \"a//b/./c/..\" }} {{ clean \"../../x\" }} {{ clean \"/../x\" }} {{ clean \"\" }}",
            "a/b ../../x /x .",
        ),
        ("{{ isAbs \"/a\" }} {{ isAbs \"a\" }}", "true false"),
        (
            "{{ mustFirst (list 1 2) }} {{ mustToJson (list 1) }}",
            "1 [1]",
        ),
        (
            "{{ mustFromJson \"{\" }}",
            "ERR:werf.yaml:1:4: executing \"werf.yaml\": error calling mustFromJson: EOF while parsing an object at line 1 column 1",
        ),
        (
            "{{ $m := dict }}{{ $_ := set $m \"m\" $m }}{{ mustToJson $m }}",
            "ERR:werf.yaml:1:45: executing \"werf.yaml\": error calling mustToJson: json: unsupported value: encountered a cycle",
        ),
    ]);
}

#[test]
fn sprig_math_gives_int64() {
    check_table(&[
        (
            "{{ typeOf (add 1 2) }} {{ kindOf (sub 5 1) }} {{ typeOf (int64 \"7\") }} {{ typeOf (int \"7\") }} {{ typeOf (len \"ab\") }}",
            "int64 int64 int64 int int",
        ),
        (
            "{{ kindIs \"int\" (add 1 2) }} {{ kindIs \"int64\" (mul 2 3) }}",
            "false true",
        ),
        (
            "{{ eq (add 1 1) 2 }} {{ lt (max 1 5) 6 }} {{ deepEqual (add 1 1) 2 }} {{ has (add 1 1) (list 2) }}",
            "true true false false",
        ),
        (
            "{{ printf \"%T %d %x|%5d\" (add 1 2) (add 1 2) (add 15 0) (add 1 2) }}",
            "int64 3 f|    3",
        ),
        ("{{ printf \"%s\" (add 1 2) }}", "%!s(int64=3)"),
        (
            "{{ range add 1 2 }}{{ . }}{{ end }} {{ index (list 7 8) (add 0 1) }} {{ repeat (add 1 1) \"ab\" }}",
            "012 8 abab",
        ),
        (
            "{{ toJson (list (add 1 2) 4) }} {{ toYaml (dict \"n\" (mod 7 4)) }}",
            "[3,4] \"n\": 3",
        ),
    ]);
}

#[test]
fn werf_functions() {
    check_table(&[
        (
            "{{ env \"HOME_DIR\" }}|{{ env \"UNSET\" }}|{{ env \"UNSET\" \"dflt\" }}|{{ env \"EMPTY\" \"dflt\" }}",
            "/home/u||dflt|dflt",
        ),
        ("{{ required \"need x\" \"x\" }}", "x"),
        (
            "{{ required \"need x\" .x }}",
            "ERR:werf.yaml:1:4: executing \"werf.yaml\": error calling required: need x",
        ),
        (
            "{{ tpl \"{{ .a }}-{{ .b }}\" (dict \"a\" 1 \"b\" \"two\") }}",
            "1-two",
        ),
        // YAML 1.1 as in go-yaml v2: a bare `y` is true (the "Norway problem").
        (
            "{{ $c := fromYaml \"a: 1\\nb: [x, y]\\nc: {d: true}\\ne: ~\" }}{{ $c.a }} {{ $c.b }} {{ $c.c.d }} {{ typeOf $c.a }}",
            "1 [x true] true int",
        ),
        (
            "{{ fromYaml \"- a\" }}",
            "ERR:werf.yaml:1:4: executing \"werf.yaml\": error calling fromYaml: yaml: unmarshal errors: cannot unmarshal !!seq into map[string]interface {}",
        ),
        (
            "{{ fromYaml \"a: [1\" }}",
            "ERR:werf.yaml:1:4: executing \"werf.yaml\": error calling fromYaml: yaml: error: line 1 column 4: unclosed bracket '['",
        ),
        // go-yaml v2 orders keys naturally: digit runs as numbers, non-letters first.
        (
            "{{ toYaml (dict \"a10\" 1 \"a2\" 2 \"B\" 3 \"_x\" 4 \"b\" 5) }}",
            "_x: 4\nB: 3\na2: 2\na10: 1\nb: 5",
        ),
        (
            "{{ toYaml (dict \"f\" 1000000.0 \"g\" 2.5 \"i\" 1000000) }}",
            "f: 1e+06\ng: 2.5\ni: 1000000",
        ),
        // Tabs, characters beyond U+FFFF and blanks before a line break force
        // double quotes, with go-yaml's escapes.
        (
            "{{ toYaml (dict \"t\" \"a\\tb\" \"e\" \"hi 😀\" \"m\" \"a \\nb\" \"s\" \"x\\u00a0y\") }}",
            "e: \"hi \\U0001F600\"\nm: \"a \\nb\"\ns: x\u{a0}y\nt: \"a\\tb\"",
        ),
        // go-yaml v2 folds long plain scalars after column 80.
        (
            "{{ toYaml (dict \"run\" (list (repeat 20 \"word \" | trim))) }}",
            "run:\n- word word word word word word word word word word word word word word word word\n  word word word word",
        ),
        // As in werf, a define inside a tpl text joins the shared set.
        (
            "{{ tpl \"{{ define \\\"late\\\" }}L{{ end }}\" . }}{{ include \"late\" . }}",
            "L",
        ),
        (
            "{{ define \"d\" }}D{{ end }}{{ include_debug \"d\" . }}{{ tpl_debug \"{{ 1 }}\" . }}[{{ printf_debug \"%s\" 1 }}{{ dump_debug . }}]",
            "D1[]",
        ),
        // werf passes the commit time as a string.
        ("{{ typeOf .Commit.Date.Unix }}", "string"),
        // go-yaml v2 quotes keys that YAML 1.1 reads as bools, such as `n`.
        (
            "{{ toYaml (dict \"b\" (list 1 \"x\" (dict \"k\" \"v\" \"l\" 2)) \"a\" (dict \"n\" (dict \"m\" true)) \"e\" (list) \"f\" (dict)) }}",
            "a:\n  \"n\":\n    m: true\nb:\n- 1\n- x\n- k: v\n  l: 2\ne: []\nf: {}",
        ),
        (
            "{{ toYaml (dict \"s\" \"true\" \"n\" \"123\" \"c\" \"a: b\" \"h\" \"#x\" \"q\" \"it's\" \"e\" \"\" \"z\" nil) }}",
            "c: 'a: b'\ne: \"\"\nh: '#x'\n\"n\": \"123\"\nq: it's\ns: \"true\"\nz: null",
        ),
        (
            "{{ toYaml (dict \"script\" \"echo a\\necho b\\n\" \"one\" \"x\\ny\") }}",
            "one: |-\n  x\n  y\nscript: |\n  echo a\n  echo b",
        ),
        ("{{ toYaml (list (list 1 2) \"a\") }}", "- - 1\n  - 2\n- a"),
        (
            "{{ toYaml \"plain\" }}|{{ toYaml 1.5 }}|{{ toYaml (dict) }}",
            "plain|1.5|{}",
        ),
        (
            "{{ toYaml (fromYaml \"port: 8080\\nratio: 0.5\") }}",
            "port: 8080\nratio: 0.5",
        ),
        (
            "{{ include \"nope\" . }}",
            "ERR:werf.yaml:1:4: executing \"werf.yaml\": error calling include: template \"nope\" not found",
        ),
        (
            "{{ env \"A\" \"b\" \"c\" }}",
            "ERR:werf.yaml:1:4: executing \"werf.yaml\": error calling env: more than 1 optional argument prohibited",
        ),
    ]);
}
