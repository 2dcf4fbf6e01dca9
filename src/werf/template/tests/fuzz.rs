//! Thousands of mutated templates through the parser and evaluator: every one must
//! give output or an error, never a panic or a stack overflow.

use super::*;

const SEEDS: &[&str] = &[
    "{{ substr 1 3 \"héllo\" }}{{ trunc -2 \"xé\" }}{{ slice \"abc\" 1 2 }}{{ index \"é\" 1 }}{{ b64dec \"!!\" }}",
    "{{ untilStep 0 10 3 }}{{ until -3 }}{{ div 7 (sub 2 2) }}{{ mod 1 0 }}{{ mul 3 (add1 4) }}{{ max 1 \"9\" }}",
    "{{ indent 2 (toYaml (dict \"a\" (list 1 (dict \"b\" \"x: y\")))) }}{{ regexFindAll \"[a-\" \"abc\" -1 }}",
    "{{ dig \"a\" \"b\" 0 (dict \"a\" (dict \"b\" 1)) }}{{ pluck \"a\" (dict \"a\" 1) }}{{ uniq (list 1 1 2) }}",
    "{{ if .a }}x{{ else if .b }}y{{ else }}z{{ end }}",
    "{{ range $i, $v := list 1 2 3 }}{{ $i }}{{ $v }}{{ if eq $v 2 }}{{ break }}{{ end }}{{ end }}",
    "{{ define \"t\" }}{{ . }}{{ end }}{{ template \"t\" 1 }}{{ include \"t\" 2 }}",
    "{{- /* c */ -}} {{ with $x := dict \"a\" (list 1 \"b\") }}{{ $x.a }}{{ end }}",
    "{{ $d := dict }}{{ $_ := set $d \"k\" (list 1 2) }}{{ toYaml $d | nindent 2 }}{{ toJson $d }}",
    "{{ printf \"%5.2f %q %x %-3d\" 3.14159 \"s\" 255 7 }}",
    "{{ tpl \"{{ .x }}\" (dict \"x\" (split \"/\" \"a/b\")) }}",
    "{{ range 3 }}{{ . }}{{ continue }}{{ end }}{{ block \"b\" . }}b{{ end }}",
    "{{ (fromYaml \"a: [1, {b: c}]\").a | toJson }}{{ fromJson \"[1,2]\" }}",
    "{{ and 1 (or 0 \"x\") (not false) }}{{ index (list (dict \"a\" 1)) 0 \"a\" }}",
    "{{ .Files.Get \"f.txt\" | trim | upper }}{{ range $k, $v := .Files.Glob \"*\" }}{{ $k }}{{ end }}",
    "{{ $x := 0 }}{{ $x = add $x 1 }}{{ slice \"abc\" 1 }}{{ 'a' }}{{ 0x1F }}{{ 1e3 }}{{ `raw` }}",
    "{{ semverCompare \"^1.2 || ~2.0\" \"1.4.0\" }}{{ regexReplaceAll \"(a+)\" \"caaat\" \"<$1>\" }}",
    "{{ merge (dict \"a\" (dict \"b\" 1)) (dict \"a\" (dict \"c\" 2)) | toPrettyJson }}",
];

const FRAGMENTS: &[&str] = &[
    "{{",
    "}}",
    "{{-",
    "-}}",
    " ",
    "(",
    ")",
    "|",
    "$",
    "$x",
    ".",
    ".a",
    "\"",
    "`",
    "'",
    "/*",
    "*/",
    "end",
    "if",
    "else",
    "range",
    "with",
    "define",
    "template",
    "block",
    "break",
    "continue",
    ":=",
    "=",
    ",",
    "nil",
    "1",
    "-",
    "x",
    "\n",
    "é",
    "\\",
    "0x",
    "1e",
    "include",
    "tpl",
    "{{ end }}",
    "{{ else }}",
    "printf \"%",
];

/// xorshift64*: deterministic, no crate needed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(5) {
            0 => {
                let fragment = FRAGMENTS[rng.below(FRAGMENTS.len())];
                bytes.splice(at..at, fragment.bytes());
            }
            1 if at < bytes.len() => {
                let end = (at + 1 + rng.below(6)).min(bytes.len());
                bytes.drain(at..end);
            }
            2 if at < bytes.len() => {
                let alphabet = b"{}()|$.\"' -x9";
                bytes[at] = alphabet[rng.below(alphabet.len())];
            }
            3 => bytes.truncate(at),
            _ => {
                let other = SEEDS[rng.below(SEEDS.len())].as_bytes();
                let from = rng.below(other.len());
                let to = (from + rng.below(40)).min(other.len());
                bytes.splice(at..at, other[from..to].iter().copied());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn mutated_templates_never_panic() {
    let env = env_with(&[("f.txt", " hello "), (".werf/p.tmpl", "{{ . }}")]);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut n_ok = 0;
    for round in 0..3000 {
        let seed = SEEDS[round % SEEDS.len()];
        let text = mutate(&mut rng, seed);
        match super::super::render("werf.yaml", &text, &env) {
            Ok(_) => n_ok += 1,
            Err(error) => {
                let message = error.to_string();
                assert!(!message.contains("panicked"), "{text:?}: {message}");
                // Rendering the error must not panic either.
                let _ = error.located();
            }
        }
    }
    // The mutations are not all fatal: the evaluator is exercised too.
    assert!(n_ok > 200, "only {n_ok} of 3000 rendered");
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let parens = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
    let error = run(&parens).unwrap_err();
    assert!(error.contains("nested too deeply"), "{error}");
    let ifs = format!("{}x{}", "{{ if 1 }}".repeat(5000), "{{ end }}".repeat(5000));
    let error = run(&ifs).unwrap_err();
    assert!(error.contains("nested too deeply"), "{error}");
}

#[test]
fn deeply_nested_documents_are_refused_not_overflowed() {
    let deep_yaml = format!("{{{{ fromYaml \"a: {}\" }}}}", "[".repeat(100_000));
    let result = run(&deep_yaml);
    assert!(result.is_err(), "{:?}", result.map(|s| s.len()));
    let deep_json = format!("{{{{ fromJson \"{}\" }}}}", "[".repeat(100_000));
    assert_eq!(run(&deep_json).as_deref(), Ok("<no value>"));
}

#[test]
fn runaway_output_is_refused() {
    let text = "{{ $s := repeat 1048576 \"x\" }}{{ range 300 }}{{ $s }}{{ end }}";
    let error = run(text).unwrap_err();
    assert_eq!(
        error,
        "werf.yaml:1:46: executing \"werf.yaml\": output larger than 256 MiB"
    );
}

#[test]
fn nesting_across_template_calls_is_bounded() {
    // 900 nested blocks per level, recursing: the total depth is what is bounded.
    let body = format!(
        "{}{{{{ template \"r\" . }}}}{}",
        "{{ if 1 }}".repeat(900),
        "{{ end }}".repeat(900)
    );
    let text = format!("{{{{ define \"r\" }}}}{body}{{{{ end }}}}{{{{ template \"r\" . }}}}");
    let error = run(&text).unwrap_err();
    assert!(
        error.contains("nested too deeply (more than 10000 levels)"),
        "{error}"
    );
    let parens = format!("{}include \"p\" .{}", "(".repeat(900), ")".repeat(900));
    let text = format!(
        "{{{{ define \"p\" }}}}{{{{ print {parens} }}}}{{{{ end }}}}{{{{ template \"p\" . }}}}"
    );
    let error = run(&text).unwrap_err();
    assert!(
        error.contains("nested too deeply (more than 10000 levels)"),
        "{error}"
    );
}

#[test]
fn huge_string_results_are_refused_before_they_are_built() {
    check_table(&[
        (
            "{{ indent 100000000 \"a\\nb\\nc\" }}",
            "ERR:werf.yaml:1:4: executing \"werf.yaml\": error calling indent: result larger than 256 MiB",
        ),
        (
            "{{ repeat 300000000 \"x\" }}",
            "ERR:werf.yaml:1:4: executing \"werf.yaml\": error calling repeat: result larger than 256 MiB",
        ),
        (
            "{{ replace \"\" (repeat 1000000 \"y\") (repeat 1000 \"x\") }}",
            "ERR:werf.yaml:1:4: executing \"werf.yaml\": error calling replace: result larger than 256 MiB",
        ),
    ]);
}

/// Every function, with every mix of odd arguments up to three: errors are fine,
/// panics are not.
#[test]
fn every_function_survives_odd_arguments() {
    const ARGS: &[&str] = &[
        "nil",
        "0",
        "-1",
        "\"\"",
        "\"a/b é\"",
        "(list 1 \"x\")",
        "(dict \"k\" 1)",
        "1.5",
        ".missing",
        "9223372036854775807",
        "-9223372036854775807",
        ".Files",
    ];
    let env = env_with(&[("f.txt", "x")]);
    let mut names: Vec<&str> = crate::werf::template::funcs::names().collect();
    names.sort();
    let mut n_renders = 0;
    for name in names {
        let func = crate::werf::template::funcs::lookup(name).expect("listed");
        let max = func.max_args.unwrap_or(func.min_args + 1).min(3);
        for arity in func.min_args..=max {
            let combos = ARGS.len().pow(arity as u32);
            for combo in 0..combos {
                let mut args = Vec::new();
                let mut rest = combo;
                for _ in 0..arity {
                    args.push(ARGS[rest % ARGS.len()]);
                    rest /= ARGS.len();
                }
                let text = format!("{{{{ {name} {} }}}}", args.join(" "));
                let _ = crate::werf::template::render_here("werf.yaml", &text, &env);
                n_renders += 1;
            }
        }
    }
    assert!(n_renders > 10_000, "{n_renders}");
}
