//! conveyor as a `docker buildx` custom frontend (`BUILDKIT_SYNTAX` / `# syntax=`),
//! side by side with the stock Dockerfile frontend on the private dockerd.

mod common;

use common::{buildx, frontend_image, testdata};

fn syntax_arg() -> String {
    format!("BUILDKIT_SYNTAX={}", frontend_image())
}

#[test]
fn print_targets_lists_the_same_stages_as_the_stock_frontend() {
    let dir = testdata("dockerfile/multistage");
    let (stock_ok, stock, stock_err) = buildx(&["--progress=quiet", "--print=targets", "."], &dir);
    assert!(stock_ok, "stock frontend: {stock_err}");
    let (ours_ok, ours, ours_err) = buildx(
        &[
            "--progress=quiet",
            "--print=targets",
            "--build-arg",
            &syntax_arg(),
            ".",
        ],
        &dir,
    );
    assert!(ours_ok, "conveyor frontend: {ours_err}");
    assert_eq!(ours, stock);
    assert!(stock.contains("final (default)"), "{stock}");
}

/// `--print=<request>` through the stock frontend and through conveyor's, with the
/// same extra arguments; both must succeed.
fn print_both(request: &str, extra: &[&str], dir: &std::path::Path) -> (String, String) {
    let print = format!("--print={request}");
    let mut stock_args = vec!["--progress=quiet", print.as_str()];
    stock_args.extend(extra);
    stock_args.push(".");
    let (stock_ok, stock, stock_err) = buildx(&stock_args, dir);
    assert!(stock_ok, "stock frontend: {stock_err}");
    let syntax = syntax_arg();
    let mut ours_args = vec!["--progress=quiet", print.as_str(), "--build-arg", &syntax];
    ours_args.extend(extra);
    ours_args.push(".");
    let (ours_ok, ours, ours_err) = buildx(&ours_args, dir);
    assert!(ours_ok, "conveyor frontend: {ours_err}");
    (stock, ours)
}

/// The JSON document in buildx's output (`--progress=quiet` prints an image id first).
fn json(output: &str) -> serde_json::Value {
    let start = output
        .find(['{', '['])
        .unwrap_or_else(|| panic!("no JSON in {output}"));
    serde_json::from_str(&output[start..]).unwrap_or_else(|e| panic!("{e}: {output}"))
}

#[test]
fn print_outline_shows_the_same_args_secrets_and_ssh_as_the_stock_frontend() {
    let dir = testdata("frontend/outline");
    for extra in [
        &["--build-arg", "VERSION=2"][..],
        &["--target", "other"][..],
        &[
            "--target",
            "build",
            "--build-arg",
            "BASE=127.0.0.1:5000/busybox",
        ][..],
    ] {
        let (stock, ours) = print_both("outline", extra, &dir);
        assert_eq!(ours, stock, "text outline with {extra:?}");
        let (stock, ours) = print_both("outline,format=json", extra, &dir);
        assert_eq!(json(&ours), json(&stock), "JSON outline with {extra:?}");
    }
    // The case above must really list something of each kind.
    let (stock, _) = print_both("outline", &["--build-arg", "VERSION=2"], &dir);
    for expected in [
        "VERSION     2",
        "DERIVED     2-e",
        "key      true",
        "gh        true",
    ] {
        assert!(stock.contains(expected), "{expected:?} in {stock}");
    }
    let (stock, _) = print_both("outline", &["--target", "build"], &dir);
    assert!(
        stock.contains("TARGET:      build\nDESCRIPTION: compiles the thing\n"),
        "{stock}"
    );
}

#[test]
fn describe_lists_the_same_subrequests_as_the_stock_frontend() {
    let dir = testdata("frontend/outline");
    let (stock, ours) = print_both("subrequests.describe,format=json", &[], &dir);
    assert_eq!(json(&ours), json(&stock));
    assert_eq!(json(&stock)[0]["name"], "frontend.outline");
}

#[test]
fn bad_input_reports_file_line_and_column_through_buildx() {
    let dir = testdata("frontend/unknown-instruction");
    let (ok, _, stderr) = buildx(
        &[
            "--progress=plain",
            "--print=targets",
            "--build-arg",
            &syntax_arg(),
            ".",
        ],
        &dir,
    );
    assert!(!ok, "an unknown instruction must fail the request");
    assert!(
        stderr.contains("Dockerfile:3:1: unknown instruction \"FROB\""),
        "{stderr}"
    );
}

#[test]
fn an_unknown_from_names_its_place_and_the_stage_meant() {
    let dir = testdata("frontend/unknown-from");
    let (ok, _, stderr) = buildx(
        &["--progress=plain", "--build-arg", &syntax_arg(), "."],
        &dir,
    );
    assert!(!ok, "COPY --from of no stage and no image must fail");
    assert!(
        stderr.contains("Dockerfile:4:13: cannot resolve image \"biuld\": "),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean stage \"build\"?"), "{stderr}");
}

#[test]
fn builds_the_multistage_testdata_like_the_stock_frontend() {
    let dir = testdata("dockerfile/multistage");
    let tag = format!("conveyor-test/frontend:{}", common::unique("t"));
    let (ok, _, stderr) = buildx(
        &[
            "--progress=plain",
            "--load",
            "-t",
            &tag,
            "--build-arg",
            &syntax_arg(),
            ".",
        ],
        &dir,
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "resolve image config for docker-image://{}",
            frontend_image()
        )),
        "{stderr}"
    );
    let output = common::docker_ok(&["run", "--rm", &tag], None);
    assert_eq!(output, "HELLO FROM A MULTI-STAGE BUILD\nbuilt\n");
    common::docker_ok(&["rmi", &tag], None);
}
