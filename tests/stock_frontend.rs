//! The harness is fit for side-by-side comparisons: the stock Dockerfile frontend
//! (BuildKit's built-in `dockerfile.v0`, through `docker buildx build`) builds a
//! multi-stage Dockerfile on the private dockerd, and the image runs.

mod common;

use common::{docker_ok, testdata, unique};

#[test]
fn stock_frontend_builds_the_multistage_testdata() {
    let tag = format!("conveyor-test/multistage:{}", unique("t"));
    let dir = testdata("dockerfile/multistage");
    docker_ok(
        &[
            "buildx",
            "build",
            "--progress=plain",
            "--load",
            "-t",
            &tag,
            ".",
        ],
        Some(&dir),
    );
    let output = docker_ok(&["run", "--rm", &tag], None);
    assert_eq!(output, "HELLO FROM A MULTI-STAGE BUILD\nbuilt\n");
    let config = docker_ok(
        &[
            "image",
            "inspect",
            "--format",
            "{{json .Config.Env}} {{.Config.WorkingDir}}",
            &tag,
        ],
        None,
    );
    assert!(config.contains("GREETING_FILE=/app/loud.txt"), "{config}");
    docker_ok(&["rmi", &tag], None);
}
