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
