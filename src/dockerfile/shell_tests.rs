use super::*;
use std::collections::BTreeMap;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn expand(word: &str, vars: &BTreeMap<String, String>) -> Result<String, ExpandError> {
    Lexer::new('\\')
        .expand_word(word, |name| vars.get(name).cloned())
        .map(|e| e.value)
}

fn check(word: &str, vars: &[(&str, &str)], expected: &str) {
    let vars = env(vars);
    match expand(word, &vars) {
        Ok(value) => assert_eq!(value, expected, "input {word:?}"),
        Err(err) => assert_eq!("error", expected, "input {word:?}: {err}"),
    }
}

fn testdata(name: &str) -> String {
    let path = format!(
        "{}/testdata/dockerfile/shell/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// BuildKit's envVarTest table: `platform|input|expected`, run with the Unix rows.
#[test]
fn buildkit_env_var_table() {
    let vars = env(&[
        ("PWD", "/home"),
        ("SHELL", "bash"),
        ("KOREAN", "한국어"),
        ("NULL", ""),
    ]);
    let mut n_cases = 0;
    for (line_number, line) in testdata("envVarTest").lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.trim().split('|').collect();
        assert_eq!(fields.len(), 3, "line {}", line_number + 1);
        let (platform, input, expected) = (fields[0].trim(), fields[1].trim(), fields[2].trim());
        if platform == "W" {
            continue;
        }
        n_cases += 1;
        match expand(input, &vars) {
            Ok(value) => assert_eq!(value, expected, "line {}: {input:?}", line_number + 1),
            Err(err) => assert_eq!(expected, "error", "line {}: {err}", line_number + 1),
        }
    }
    assert!(n_cases > 200, "only {n_cases} cases ran");
}

/// BuildKit's wordsTest table: `ENV k=v` lines add variables; `input | w1,w2`.
#[test]
fn buildkit_words_table() {
    let mut vars = BTreeMap::new();
    let mut n_cases = 0;
    for (line_number, line) in testdata("wordsTest").lines().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("ENV ") {
            let (k, v) = rest
                .trim_start_matches(' ')
                .split_once('=')
                .unwrap_or((rest, ""));
            vars.insert(k.to_string(), v.to_string());
            continue;
        }
        let (input, expected) = line.split_once('|').expect("one | per line");
        let input = input.trim();
        let expected: Vec<&str> = expected.trim_start_matches(' ').split(',').collect();
        let words = Lexer::new('\\')
            .expand_words(input, |name| vars.get(name).cloned())
            .unwrap_or_else(|_| vec!["error".to_string()]);
        assert_eq!(words, expected, "line {}: {input:?}", line_number + 1);
        n_cases += 1;
    }
    assert!(n_cases > 20);
}

/// BuildKit's TestProcessWithMatches cases (tab-separated data file), including which
/// names were found and which were unset.
#[test]
fn buildkit_process_with_matches_table() {
    let mut n_cases = 0;
    for line in testdata("processWithMatches").lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let vars: BTreeMap<String, String> = if fields[1] == "-" {
            BTreeMap::new()
        } else {
            fields[1]
                .split(';')
                .map(|kv| {
                    let (k, v) = kv.split_once('=').expect("k=v");
                    (k.to_string(), v.to_string())
                })
                .collect()
        };
        let result = Lexer::new('\\').expand_word(fields[0], |name| vars.get(name).cloned());
        match result {
            Ok(expanded) => {
                assert_eq!(expanded.value, fields[2], "input {:?}", fields[0]);
                if fields.len() > 3 {
                    let names = |s: &str| -> Vec<String> {
                        s.split(',')
                            .filter(|n| !n.is_empty())
                            .map(String::from)
                            .collect()
                    };
                    let used: Vec<String> = expanded.used.iter().cloned().collect();
                    let unset: Vec<String> = expanded.unset.iter().cloned().collect();
                    assert_eq!(used, names(fields[3]), "used in {:?}", fields[0]);
                    assert_eq!(unset, names(fields[4]), "unset in {:?}", fields[0]);
                }
            }
            Err(err) => assert_eq!(fields[2], "error", "input {:?}: {err}", fields[0]),
        }
        n_cases += 1;
    }
    assert!(n_cases > 40);
}

#[test]
fn mandatory_vars_report_their_message() {
    let set = env(&[("VAR", "plain"), ("ARG", "x")]);
    let empty = env(&[("VAR", ""), ("ARG", "x")]);
    let unset = env(&[("ARG", "x")]);
    assert_eq!(expand("${VAR:?message here$ARG}", &set).unwrap(), "plain");
    let err = expand("${VAR:?message here$ARG}", &empty).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"failed to process "${VAR:?message here$ARG}": VAR: message herex"#
    );
    assert!(expand("${VAR:?message here$ARG}", &unset).is_err());
    assert_eq!(expand("${VAR?message here$ARG}", &empty).unwrap(), "");
    let err = expand("${VAR?}", &unset).unwrap_err();
    assert_eq!(err.message, "VAR: is not allowed to be unset");
}

#[test]
fn referenced_names_cover_found_and_unset() {
    let vars = env(&[("A", "1")]);
    let expanded = Lexer::new('\\')
        .expand_word("$A ${B:-x} '$C' \"$D\"", |name| vars.get(name).cloned())
        .unwrap();
    assert_eq!(expanded.value, "1 x $C ");
    let referenced: Vec<String> = expanded.referenced().into_iter().collect();
    assert_eq!(referenced, ["A", "B", "D"]);
}

#[test]
fn backtick_escape_token() {
    let vars = env(&[("X", "1")]);
    let lexer = Lexer::new('`');
    let value = |w: &str| {
        lexer
            .expand_word(w, |n| vars.get(n).cloned())
            .unwrap()
            .value
    };
    assert_eq!(value(r"C:\path\$X"), r"C:\path\1");
    assert_eq!(value("`$X"), "$X");
    assert_eq!(value("\"a`\"b\""), "a\"b");
}

#[test]
fn trims_and_replacements() {
    let vars: &[(&str, &str)] = &[("F", "archive.tar.gz"), ("P", "/usr/local/bin")];
    check("${F%.*}", vars, "archive.tar");
    check("${F%%.*}", vars, "archive");
    check("${F#*.}", vars, "tar.gz");
    check("${F##*.}", vars, "gz");
    check("${P/\\//:}", vars, ":usr/local/bin");
    check("${P//\\//:}", vars, ":usr:local:bin");
    check("${P#\\x}", vars, "error");
    check("${F:#x}", vars, "error");
}

#[test]
fn words_split_on_variable_whitespace_but_not_quoted() {
    let vars = env(&[("S", "a  b")]);
    let words = Lexer::new('\\')
        .expand_words("x $S \"$S\" 'q r'", |n| vars.get(n).cloned())
        .unwrap();
    assert_eq!(words, ["x", "a", "b", "a  b", "q r"]);
}

#[test]
fn heredoc_body_lexer_keeps_quotes() {
    let vars = env(&[("NAME", "world")]);
    let value = Lexer::for_heredoc_body()
        .expand_word("echo \"hello $NAME\" 'x' \\$NAME\n", |n| {
            vars.get(n).cloned()
        })
        .unwrap()
        .value;
    assert_eq!(value, "echo \"hello world\" 'x' $NAME\n");
}
