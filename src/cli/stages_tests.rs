//! werf imports signed by source signature (no storage) or by content (storage).

use std::collections::BTreeMap;
use std::path::Path;

use super::*;

fn loaded() -> Loaded {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/werf/artifact-import-after-install");
    load(&BuildSpec {
        file: Some(dir.join("werf.yaml")),
        context: dir.clone(),
        target: Some("app".into()),
        build_args: BTreeMap::new(),
        platform: "linux/amd64".into(),
    })
    .unwrap_or_else(|f| panic!("{}", f.message))
}

fn id(loaded: &Loaded, name: &str) -> StageId {
    *loaded
        .selection
        .order
        .iter()
        .find(|&&id| loaded.stage_graph.stage(id).display_name() == name)
        .unwrap_or_else(|| panic!("no stage {name}"))
}

fn input_names(signed: &Signed, id: StageId) -> Vec<String> {
    signed.signatures[&id]
        .inputs
        .iter()
        .map(|input| input.name.clone())
        .filter(|name| name.starts_with("import"))
        .collect()
}

#[test]
fn imports_wait_for_their_content_with_a_storage() {
    let loaded = loaded();
    let dependencies = id(&loaded, "app/dependenciesAfterInstall");
    let last = id(&loaded, "app/dockerInstructions");
    let before = id(&loaded, "app/beforeInstall");
    let source = id(&loaded, "builder/setup");

    let by_source = loaded
        .sign(&BTreeMap::new())
        .unwrap_or_else(|f| panic!("{}", f.message));
    assert_eq!(
        input_names(&by_source, dependencies),
        ["import 0", "import 0 source"]
    );
    assert!(by_source.pending_imports.is_empty());

    let waiting = loaded
        .sign_imports(&BTreeMap::new(), Some(&ImportDigests::new()))
        .unwrap_or_else(|f| panic!("{}", f.message));
    assert!(!waiting.signatures.contains_key(&dependencies));
    assert!(!waiting.signatures.contains_key(&last));
    assert_eq!(
        waiting.signatures[&before].signature,
        by_source.signatures[&before].signature
    );
    let source_signature = &by_source.signatures[&source].signature;
    assert_eq!(
        waiting.pending_imports,
        [ImportedFiles {
            source_signature: source_signature.clone(),
            add: "/out/app".into(),
            include_paths: Vec::new(),
            exclude_paths: Vec::new(),
        }]
    );
    assert_eq!(loaded.waits_for(&waiting, last), ["builder/setup"]);
    let labels = loaded
        .stage_labels(&waiting)
        .unwrap_or_else(|f| panic!("{}", f.message));
    assert!(labels.contains_key(&before) && !labels.contains_key(&last));

    let with = |digest: &str| {
        let known = vec![(waiting.pending_imports[0].clone(), digest.to_string())];
        loaded
            .sign_imports(&BTreeMap::new(), Some(&known))
            .unwrap_or_else(|f| panic!("{}", f.message))
    };
    let one = with("sha256:1");
    assert_eq!(
        input_names(&one, dependencies),
        ["import 0", "import 0 content"]
    );
    assert!(one.pending_imports.is_empty());
    assert_eq!(with("sha256:1").signatures[&last], one.signatures[&last]);
    let two = with("sha256:2");
    assert_ne!(
        two.signatures[&dependencies].signature,
        one.signatures[&dependencies].signature
    );
    assert_ne!(
        two.signatures[&last].signature,
        one.signatures[&last].signature
    );
    assert_eq!(
        two.signatures[&before].signature,
        one.signatures[&before].signature
    );
}
