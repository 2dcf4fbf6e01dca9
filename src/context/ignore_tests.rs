use super::*;

const MATCH_TABLE: &str = include_str!("../../testdata/context/patternmatcher.txt");
const COMPILE_TABLE: &str = include_str!("../../testdata/context/patternmatcher-compile.txt");

/// One row of `patternmatcher.txt`.
struct Case<'t> {
    line: usize,
    expected: &'t str,
    path: &'t str,
    patterns: Vec<&'t str>,
}

fn match_cases() -> Vec<Case<'static>> {
    let mut cases = Vec::new();
    for (index, line) in MATCH_TABLE.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut columns = line.split('\t');
        let expected = columns.next().unwrap();
        let path = columns
            .next()
            .unwrap_or_else(|| panic!("line {}: no path", index + 1));
        cases.push(Case {
            line: index + 1,
            expected,
            path,
            patterns: columns.collect(),
        });
    }
    assert!(cases.len() > 100, "table not read: {} cases", cases.len());
    cases
}

/// patternmatcher's top-level `Matches`/`MatchesOrParentMatches`: the path is
/// cleaned, and `.` (the whole context) is never matched.
fn outcome(case: &Case, decide: impl Fn(&PatternMatcher, &str) -> bool) -> &'static str {
    let matcher = match PatternMatcher::new(&case.patterns) {
        Ok(matcher) => matcher,
        Err(_) => return "error",
    };
    let path = gopath::clean(case.path);
    if path == "." {
        return "false";
    }
    if decide(&matcher, &path) {
        "true"
    } else {
        "false"
    }
}

fn check_table(decide: impl Fn(&PatternMatcher, &str) -> bool) {
    let mut failures = Vec::new();
    for case in match_cases() {
        let got = outcome(&case, &decide);
        if got != case.expected {
            failures.push(format!(
                "line {}: {:?} against {:?}: got {got}, want {}",
                case.line, case.path, case.patterns, case.expected
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn table_matches_or_parent_matches() {
    check_table(|matcher, path| matcher.matches_or_parent_matches(path).unwrap());
}

#[test]
fn table_matches_using_parent_results_walking_down() {
    // As fsutil's walker does: match each ancestor in turn, handing its results on.
    check_table(|matcher, path| {
        let mut info = MatchInfo::default();
        for parent in parent_prefixes(path) {
            info = matcher
                .matches_using_parent_results(&parent, &info)
                .unwrap()
                .1;
        }
        matcher.matches_using_parent_results(path, &info).unwrap().0
    });
}

#[test]
fn table_matches_using_parent_results_without_context() {
    check_table(|matcher, path| {
        let no_context = MatchInfo::default();
        matcher
            .matches_using_parent_results(path, &no_context)
            .unwrap()
            .0
    });
}

#[test]
fn table_paths_are_not_cleaned_by_the_matcher() {
    // TestMatches hands `file/` and `/` to the matcher as they are.
    let matcher = PatternMatcher::new(&["**/dir2/*"]).unwrap();
    assert!(matcher.matches_or_parent_matches("dir/dir2/file/").unwrap());
    let everything = PatternMatcher::new(&["**/"]).unwrap();
    assert!(everything.matches_or_parent_matches("/").unwrap());
}

#[test]
fn compile_table() {
    let mut n_cases = 0;
    for line in COMPILE_TABLE.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut columns = line.split('\t');
        let pattern = columns.next().unwrap();
        let kind = columns.next().unwrap();
        let go_regex = columns.next().unwrap_or("");
        let (detected, regex) = translate(&gopath::clean(pattern));
        let want = match kind {
            "exact" => Detected::Exact,
            "prefix" => Detected::Prefix,
            "suffix" => Detected::Suffix,
            "regexp" => Detected::Regex,
            other => panic!("unknown kind {other}"),
        };
        assert_eq!(detected, want, "pattern {pattern:?}");
        if want == Detected::Regex {
            assert_eq!(regex, go_regex, "pattern {pattern:?}");
        }
        n_cases += 1;
    }
    assert_eq!(n_cases, 21);
}

#[test]
fn lone_exclamation_is_an_error() {
    let err = PatternMatcher::new(&["!"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "bad pattern `!`: illegal exclusion pattern: \"!\""
    );
}

#[test]
fn malformed_pattern_is_an_error_naming_it() {
    let err = PatternMatcher::new(&["docs", "a[b"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "bad pattern `a[b`: syntax error in pattern"
    );
}

#[test]
fn pattern_valid_for_go_match_but_not_as_regex_fails_each_match() {
    // patternmatcher regression test for moby/moby#52203: `[Local-Only]` passes
    // `filepath.Match` (a backwards range just never matches) but its regex does
    // not compile, so every match reports a bad pattern, the second one too.
    let matcher = PatternMatcher::new(&["[Local-Only]/"]).unwrap();
    for _ in 0..2 {
        let err = matcher.matches_or_parent_matches("x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad pattern `[Local-Only]`: pattern does not translate to a valid regular expression"
        );
    }
}

#[test]
fn blank_patterns_are_dropped_and_exceptions_flagged() {
    let matcher = PatternMatcher::new(&["docs", "config", ""]).unwrap();
    assert_eq!(matcher.patterns().len(), 2);
    assert!(!matcher.exclusions());
    for patterns in [
        ["docs", "!docs/README.md"],
        ["docs", "  !docs/README.md"],
        ["docs", "!docs/README.md  "],
    ] {
        let matcher = PatternMatcher::new(&patterns).unwrap();
        assert!(matcher.exclusions(), "{patterns:?}");
        let exception = &matcher.patterns()[1];
        assert!(exception.is_exclusion());
        assert_eq!(exception.as_str(), "docs/README.md");
    }
}

#[test]
fn classes_mean_in_rust_what_they_meant_in_go() {
    // patternmatcher hands classes to RE2 as written, and `*` inside one is still
    // replaced: `[*]` becomes the RE2 class `[[^/]` followed by `*]`.
    assert_eq!(translate("x[*]").1, "^x[[^/]*]$");
    assert_eq!(
        go_regex_to_rust("^x[[^/]*]$").as_deref(),
        Some(r"^x[\[^/]*]$")
    );
    let matcher = PatternMatcher::new(&["x[*]"]).unwrap();
    assert!(matcher.matches_or_parent_matches("x^^]").unwrap());
    assert!(!matcher.matches_or_parent_matches("x*").unwrap());
    // Set operators are plain characters in RE2.
    assert_eq!(go_regex_to_rust("^[a&&b]$").as_deref(), Some(r"^[a\&\&b]$"));
    assert_eq!(go_regex_to_rust("^[+--]$").as_deref(), Some(r"^[+-\-]$"));
    assert_eq!(
        go_regex_to_rust("^[[:digit:]x]$").as_deref(),
        Some("^[[:digit:]x]$")
    );
    assert_eq!(go_regex_to_rust("^[]a]$").as_deref(), Some("^[]a]$"));
    let matcher = PatternMatcher::new(&["v[&~]"]).unwrap();
    assert!(matcher.matches_or_parent_matches("v&").unwrap());
    assert!(matcher.matches_or_parent_matches("v~").unwrap());
    assert!(!matcher.matches_or_parent_matches("va").unwrap());
}

#[test]
fn suffix_patterns_keep_patternmatchers_quirk() {
    // `**file` is a bare suffix test in patternmatcher, so it takes `myfile` too.
    let matcher = PatternMatcher::new(&["**file"]).unwrap();
    assert!(matcher.matches_or_parent_matches("dir/myfile").unwrap());
    let matcher = PatternMatcher::new(&["**/file"]).unwrap();
    assert!(!matcher.matches_or_parent_matches("dir/myfile").unwrap());
}

#[test]
fn dockerignore_parsing_ported_from_ignorefile() {
    let text =
        "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ";
    assert_eq!(
        parse_dockerignore(text),
        [
            "test1",
            "test2",
            "a/file/here",
            "lastfile",
            "!inverted/abs/path",
            "!",
            "!"
        ]
    );
    assert!(parse_dockerignore("").is_empty());
}

#[test]
fn dockerignore_parsing_edge_cases() {
    let text = "\u{feff}# bom then comment\r\n  # indented hash is a pattern\r\n\
                docs/../src//main.rs \r\n/\r\n//abs\r\n\t**/*.log\t\n!./keep/\nfoo/\n";
    assert_eq!(
        parse_dockerignore(text),
        [
            "# indented hash is a pattern",
            "src/main.rs",
            "/",
            "abs",
            "**/*.log",
            "!keep",
            "foo"
        ]
    );
}

#[test]
fn dockerignore_exception_inside_excluded_directory() {
    let patterns = parse_dockerignore("docs\n!docs/README.md\n*.tmp\n");
    let matcher = PatternMatcher::new(&patterns).unwrap();
    let excluded = |path: &str| matcher.matches_or_parent_matches(path).unwrap();
    assert!(excluded("docs"));
    assert!(excluded("docs/guide.md"));
    assert!(!excluded("docs/README.md"));
    assert!(excluded("a.tmp"));
    assert!(!excluded("sub/a.tmp"), "patterns are anchored at the root");
    assert!(!excluded("src/main.rs"));
}

#[test]
fn alternation_and_braces_reach_the_regex_as_in_patternmatcher() {
    // patternmatcher's escape bitmap drops `|`, `{` and `}`: `a*|b` is an
    // alternation (anything starting with `a`, or ending with `b`).
    let matcher = PatternMatcher::new(&["a*|b"]).unwrap();
    let matches = |path: &str| matcher.matches_or_parent_matches(path).unwrap();
    assert!(matches("ax"));
    assert!(matches("zzb"));
    assert!(!matches("zz"));
    // A counted repetition counts; a `{` that starts none is a character.
    let matcher = PatternMatcher::new(&["[ab]{2}", "x*{"]).unwrap();
    let matches = |path: &str| matcher.matches_or_parent_matches(path).unwrap();
    assert!(matches("ab"));
    assert!(!matches("abb"));
    assert!(matches("xy{"));
    // RE2 refuses a repetition of a repetition, so patternmatcher fails the match.
    let matcher = PatternMatcher::new(&["*{2}"]).unwrap();
    assert!(matcher.matches_or_parent_matches("x").is_err());
    assert_eq!(go_regex_to_rust("^[^/]*{2}$"), None);
    assert_eq!(go_regex_to_rust("^a{2}{3}$"), None);
    assert_eq!(go_regex_to_rust("^a{1001}$"), None);
    assert_eq!(go_regex_to_rust("^a{3,2}$"), None);
    assert_eq!(
        go_regex_to_rust("^a*?b{2,}$").as_deref(),
        Some("^a*?b{2,}$")
    );
    assert_eq!(go_regex_to_rust("^a{$").as_deref(), Some(r"^a\{$"));
}
