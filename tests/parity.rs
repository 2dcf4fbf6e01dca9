//! Parity: every case under `testdata/parity/` is built with the stock Dockerfile frontend
//! and with the frontend under test (`CONVEYOR_FRONTEND_IMAGE`, put in a `# syntax=` line),
//! and the two images must have the same config fields, the same history, the same
//! filesystem entries and, for multi-stage cases, the same `--print=targets`.
//!
//! Without `CONVEYOR_FRONTEND_IMAGE` the stock frontend is compared with itself, the
//! second build with `--no-cache` so that every step runs again: that proves the
//! machinery and that the corpus is deterministic (a case whose steps make different
//! bytes on each run would fail here, and against conveyor for no fault of conveyor).

mod common;
#[path = "parity/mod.rs"]
mod parity;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use common::{harness, testdata, unique};
use parity::case::{Case, load_cases};
use parity::config::diff_configs;
use parity::docker::{
    BuildRequest, Cache, Frontend, build, export_listing, history, inspect_config, make_ssh_key,
    print_targets, push, remove_image,
};
use parity::history::diff_history;
use parity::listing::diff_listings;
use parity::targets::diff_targets;

/// Cases built at once. The daemon runs the builds; two cores keep up with four
/// busybox-sized cases in flight, and the whole corpus stays well under a minute.
const CASES_AT_ONCE: usize = 4;

#[test]
fn stock_and_under_test_frontends_build_the_same_images() {
    let under_test = Frontend::under_test_from_env();
    if under_test == Frontend::Stock {
        say(
            "parity: CONVEYOR_FRONTEND_IMAGE is unset: comparing the stock frontend with itself \
             (the second build with --no-cache); any difference is a bug in the machinery \
             or a nondeterministic case",
        );
    }
    compare_corpus(&under_test);
}

/// The same corpus built by `conveyor build` (the frontend run client-side, the context
/// uploaded through conveyor's session) against `docker buildx build` with the stock
/// frontend.
#[test]
fn stock_frontend_and_conveyor_build_make_the_same_images() {
    compare_corpus(&Frontend::Cli(PathBuf::from(env!(
        "CARGO_BIN_EXE_conveyor"
    ))));
}

fn compare_corpus(under_test: &Frontend) {
    let started = Instant::now();
    say(&format!(
        "parity: comparing the stock frontend with {}",
        under_test.describe()
    ));
    let cases = load_cases(&testdata("parity"));
    assert!(cases.len() >= 28, "only {} parity cases", cases.len());
    harness();

    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..CASES_AT_ONCE {
            scope.spawn(|| {
                while let Some(case) = cases.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let case_started = Instant::now();
                    let problems = match compare_case(case, under_test) {
                        Ok(differences) => differences,
                        Err(error) => vec![error],
                    };
                    let seconds = case_started.elapsed().as_secs_f32();
                    if problems.is_empty() {
                        println!("parity {}: same ({seconds:.1}s)", case.name);
                    } else {
                        println!(
                            "parity {}: {} difference(s) ({seconds:.1}s)",
                            case.name,
                            problems.len()
                        );
                        failures.lock().unwrap().push((case.name.clone(), problems));
                    }
                }
            });
        }
    });

    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    say(&format!(
        "parity: {} cases, {} differing, {:.1}s",
        cases.len(),
        failures.len(),
        started.elapsed().as_secs_f32()
    ));
    if !failures.is_empty() {
        let report: Vec<String> = failures
            .iter()
            .map(|(name, problems)| format!("── {name}\n  {}", problems.join("\n  ")))
            .collect();
        panic!(
            "{} of {} parity cases differ between the stock frontend and {}:\n{}",
            failures.len(),
            cases.len(),
            under_test.describe(),
            report.join("\n")
        );
    }
}

/// Writes to the process's stderr past libtest's capture, so that a passing run says
/// what it compared (`println!` shows only with `--nocapture` or on failure).
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Builds the case both ways and returns every difference; `Err` when a step other than
/// the comparison failed (a build, inspect, export).
fn compare_case(case: &Case, under_test: &Frontend) -> Result<Vec<String>, String> {
    let work = tempfile::tempdir().map_err(|error| format!("tempdir: {error}"))?;
    let context = work.path().join("context");
    case.prepare_context(&context)
        .map_err(|error| format!("prepare the context: {error}"))?;
    let stock_dockerfile = write_dockerfile(work.path(), "stock", &Frontend::Stock, case)?;
    let test_dockerfile = write_dockerfile(work.path(), "under-test", under_test, case)?;

    let ssh_key = work.path().join("ssh-key");
    if !case.settings.ssh.is_empty() {
        make_ssh_key(&ssh_key)?;
    }
    let mut extra_build_args = Vec::new();
    if let Some(server) = &case.settings.http_server {
        let address = parity::http::serve(&case.dir.join(&server.dir))
            .map_err(|error| format!("serve {}: {error}", server.dir))?;
        extra_build_args.push((server.build_arg.clone(), address));
    }
    let base = match &case.settings.prebuilt_base {
        Some(prebuilt) => {
            let reference = format!(
                "{}/parity/{}-base:{}",
                harness().registry,
                case.name,
                unique("t")
            );
            build(&BuildRequest {
                dockerfile: &case.dir.join(&prebuilt.dockerfile),
                context: &context,
                case_dir: &case.dir,
                settings: &Default::default(),
                extra_build_args: &[],
                ssh_key: None,
                tag: &reference,
                cache: Cache::Use,
                cli: None,
            })
            .map_err(|error| format!("prebuilt base: {error}"))?;
            push(&reference)?;
            extra_build_args.push((prebuilt.build_arg.clone(), reference.clone()));
            Some(reference)
        }
        None => None,
    };

    let request = |dockerfile, tag, cache, cli| BuildRequest {
        dockerfile,
        context: &context,
        case_dir: &case.dir,
        settings: &case.settings,
        extra_build_args: &extra_build_args,
        ssh_key: Some(&ssh_key),
        tag,
        cache,
        cli,
    };
    let stock_tag = format!("parity-stock/{}:{}", case.name, unique("t"));
    let test_tag = format!("parity-under-test/{}:{}", case.name, unique("t"));
    let stock_request = request(&stock_dockerfile, &stock_tag, Cache::Use, None);
    let test_request = request(
        &test_dockerfile,
        &test_tag,
        Cache::Ignore,
        under_test.cli_binary(),
    );

    let result = (|| {
        build(&stock_request).map_err(|error| format!("stock build: {error}"))?;
        build(&test_request).map_err(|error| format!("build under test: {error}"))?;
        let mut differences: Vec<String> = Vec::new();
        let (stock_config, test_config) = (inspect_config(&stock_tag)?, inspect_config(&test_tag)?);
        differences.extend(
            diff_configs(&stock_config, &test_config)
                .iter()
                .map(ToString::to_string),
        );
        let (stock_history, test_history) = (history(&stock_tag)?, history(&test_tag)?);
        differences.extend(diff_history(&stock_history, &test_history));
        let (stock_files, test_files) = (export_listing(&stock_tag)?, export_listing(&test_tag)?);
        differences.extend(
            diff_listings(&stock_files, &test_files)
                .iter()
                .map(ToString::to_string),
        );
        if case.settings.print_targets && under_test.prints_targets() {
            let stock_targets = print_targets(&stock_request, &Frontend::Stock)
                .map_err(|error| format!("stock: {error}"))?;
            let test_targets = print_targets(&test_request, under_test)
                .map_err(|error| format!("under test: {error}"))?;
            differences.extend(diff_targets(&stock_targets, &test_targets));
        }
        Ok(differences)
    })();

    remove_image(&stock_tag);
    remove_image(&test_tag);
    if let Some(base) = base {
        remove_image(&base);
    }
    result
}

/// Writes the Dockerfile a frontend gets into a directory of its own outside the context,
/// with the case's `Dockerfile.dockerignore` beside it when it has one (BuildKit reads
/// `<Dockerfile>.dockerignore` next to the Dockerfile before the context's `.dockerignore`).
fn write_dockerfile(
    work: &Path,
    side: &str,
    frontend: &Frontend,
    case: &Case,
) -> Result<PathBuf, String> {
    let dir = work.join(side);
    let path = dir.join("Dockerfile");
    fs::create_dir(&dir)
        .and_then(|()| fs::write(&path, frontend.dockerfile(&case.dockerfile)))
        .map_err(|error| format!("write {}: {error}", path.display()))?;
    let own_ignore = case.dir.join("Dockerfile.dockerignore");
    if own_ignore.is_file() {
        fs::copy(&own_ignore, dir.join("Dockerfile.dockerignore"))
            .map_err(|error| format!("copy {}: {error}", own_ignore.display()))?;
    }
    Ok(path)
}

/// The machinery finds a real difference between two built images, and only it: two
/// Dockerfiles that differ in one ENV value and one file's mode, built and compared as a
/// case is, give exactly an `Env` config difference and a `mode` difference at `/f`
/// (and the history lines of the two steps that differ).
#[test]
fn two_images_differing_in_one_env_value_and_one_mode_differ_exactly_there() {
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("context");
    fs::create_dir(&context).unwrap();
    let settings = Default::default();
    let build_one = |side: &str, env_value: &str, mode: &str| {
        let dockerfile = work.path().join(format!("{side}.Dockerfile"));
        fs::write(
            &dockerfile,
            format!(
                "FROM {}/busybox:latest\nENV X={env_value}\nRUN echo same > /f && chmod {mode} /f\n",
                harness().registry
            ),
        )
        .unwrap();
        let tag = format!("parity-machinery/{side}:{}", unique("t"));
        build(&BuildRequest {
            dockerfile: &dockerfile,
            context: &context,
            case_dir: work.path(),
            settings: &settings,
            extra_build_args: &[],
            ssh_key: None,
            tag: &tag,
            cache: Cache::Use,
            cli: None,
        })
        .unwrap();
        tag
    };
    let stock_tag = build_one("a", "1", "644");
    let test_tag = build_one("b", "2", "600");

    let config_fields: Vec<String> = diff_configs(
        &inspect_config(&stock_tag).unwrap(),
        &inspect_config(&test_tag).unwrap(),
    )
    .into_iter()
    .map(|difference| difference.field)
    .collect();
    assert_eq!(config_fields, ["Env"]);

    let listing_differences: Vec<String> = diff_listings(
        &export_listing(&stock_tag).unwrap(),
        &export_listing(&test_tag).unwrap(),
    )
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        listing_differences,
        ["/f: mode stock 0644 ≠ under test 0600"]
    );

    let history_differences =
        diff_history(&history(&stock_tag).unwrap(), &history(&test_tag).unwrap());
    assert_eq!(history_differences.len(), 2, "{history_differences:?}");
    assert!(
        history_differences[0].contains("ENV X=1"),
        "{history_differences:?}"
    );
    assert!(
        history_differences[1].contains("chmod 644"),
        "{history_differences:?}"
    );

    remove_image(&stock_tag);
    remove_image(&test_tag);
}

/// `--print=targets` is compared for every case with more than one stage; a case added
/// without `print_targets = true` fails here. (A line starting with FROM is a stage: the
/// corpus has no FROM inside a heredoc or a continuation.)
#[test]
fn every_multi_stage_case_compares_its_targets() {
    let missing: Vec<String> = load_cases(&testdata("parity"))
        .into_iter()
        .filter(|case| {
            let stages = case
                .dockerfile
                .lines()
                .filter(|line| {
                    let word = line.split_whitespace().next().unwrap_or("");
                    word.eq_ignore_ascii_case("FROM")
                })
                .count();
            stages > 1 && !case.settings.print_targets
        })
        .map(|case| case.name)
        .collect();
    assert_eq!(missing, Vec::<String>::new());
}
