use std::path::Path;

use prost::Message;

use super::*;
use crate::proto::pb;

fn request(dir: &Path, format: LlbFormat) -> LlbRequest {
    LlbRequest {
        file: None,
        context: dir.to_path_buf(),
        target: None,
        build_args: vec![("MODE".into(), "prod".into())],
        platform: None,
        format,
    }
}

fn json_text(dir: &Path) -> String {
    let bytes = definition_bytes(&request(dir, LlbFormat::Json))
        .unwrap_or_else(|failure| panic!("{}: {}", dir.display(), failure.message));
    String::from_utf8(bytes).unwrap()
}

fn testdata(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/cli-llb")
        .join(case)
}

#[test]
fn json_matches_the_goldens_and_is_the_same_every_run() {
    crate::golden::check_cases("cli-llb", 1, |dir| {
        let first = json_text(dir);
        assert_eq!(first, json_text(dir), "{}", dir.display());
        first
    });
}

/// The werf golden lives beside a werf.yaml (golden cases hold Dockerfiles).
#[test]
fn werf_json_matches_its_golden() {
    let dir = testdata("werf-scratch");
    let actual = json_text(&dir);
    if let Some(report) = crate::golden::compare(&dir, &actual) {
        panic!("{report}");
    }
}

#[test]
fn the_pb_is_a_definition_whose_context_is_the_local_named_context_without_a_session() {
    let dir = testdata("scratch-copy-run");
    let bytes = definition_bytes(&request(&dir, LlbFormat::Pb))
        .unwrap_or_else(|failure| panic!("{}", failure.message));
    let definition = pb::Definition::decode(bytes.as_slice()).expect("the pb decodes");
    let decoded = crate::llb::Definition::from_pb(definition.clone());
    let ops = decoded.ops();
    let locals: Vec<&pb::SourceOp> = ops
        .iter()
        .filter_map(|(_, op)| match &op.op {
            Some(pb::op::Op::Source(source)) if source.identifier.starts_with("local://") => {
                Some(source)
            }
            _ => None,
        })
        .collect();
    assert_eq!(locals.len(), 1, "{}", decoded.dump());
    assert_eq!(locals[0].identifier, "local://context");
    assert!(
        !locals[0].attrs.contains_key("local.session"),
        "{:?}",
        locals[0].attrs
    );
    assert_eq!(
        locals[0].attrs["local.excludepatterns"],
        r#"["ignored.txt"]"#
    );
    assert_eq!(locals[0].attrs["local.followpaths"], r#"["app.sh"]"#);
    // The RUN's environment has the build arg (exec form: no expansion); the ops point
    // at the Dockerfile's lines.
    let run = ops
        .iter()
        .find_map(|(_, op)| match &op.op {
            Some(pb::op::Op::Exec(exec)) => exec.meta.clone(),
            _ => None,
        })
        .expect("an exec op");
    assert_eq!(run.args, ["/bin/app.sh", "$MODE"]);
    assert!(run.env.contains(&"MODE=prod".to_string()), "{:?}", run.env);
    let source = definition.source.as_ref().expect("source locations");
    assert_eq!(source.infos[0].filename, "Dockerfile");
    // The JSON dumps the same Definition.
    let json: serde_json::Value = serde_json::from_str(&json_text(&dir)).unwrap();
    assert_eq!(json, decoded.to_json());
}

#[test]
fn an_unknown_target_is_an_input_error_naming_it() {
    let dir = testdata("scratch-copy-run");
    let mut bad = request(&dir, LlbFormat::Pb);
    bad.target = Some("nope".into());
    let failure = definition_bytes(&bad).expect_err("an unknown target fails");
    assert_eq!(failure.code, 2);
    assert!(failure.message.contains("\"nope\""), "{}", failure.message);
}

#[test]
fn a_bad_platform_is_an_input_error() {
    let dir = testdata("scratch-copy-run");
    let mut bad = request(&dir, LlbFormat::Pb);
    bad.platform = Some("linux/".into());
    let failure = definition_bytes(&bad).expect_err("a bad platform fails");
    assert_eq!(failure.code, 2, "{}", failure.message);
}
