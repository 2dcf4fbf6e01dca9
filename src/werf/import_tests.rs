//! Imports from external images (`from:`/`image:` with a tag or digest).

use crate::werf::tests::{load_err, load_ok};

const META: &str = "project: demo\nconfigVersion: 1\n---\n";

#[test]
fn a_reference_with_a_tag_or_digest_is_an_external_image() {
    let config = load_ok(&format!(
        "{META}image: app\nfrom: alpine\nimport:\n- from: alpine:3.20\n  add: /etc/alpine-release\n  after: install\n- image: registry:5000/tools@sha256:abc\n  add: /bin/tool\n  before: setup\n- from: lib\n  add: /lib\n  after: setup\n---\nimage: lib\nfrom: alpine\n"
    ));
    let imports = &config.images[0].stapel.imports;
    let external: Vec<(&str, bool)> = imports
        .iter()
        .map(|i| (i.source.value.as_str(), i.external))
        .collect();
    assert_eq!(
        external,
        [
            ("alpine:3.20", true),
            ("registry:5000/tools@sha256:abc", true),
            ("lib", false)
        ]
    );
    // `to` defaults to `add`, as for any import.
    assert_eq!(imports[0].to, "/etc/alpine-release");
}

#[test]
fn wrong_external_imports_are_located() {
    let image = "image: app\nfrom: alpine\nimport:\n";
    assert_eq!(
        load_err(&format!(
            "{META}{image}- from: alpine:3.20\n  image: alpine:3.19\n  add: /a\n  after: install\n"
        )),
        "werf.yaml:8:3: an import takes one of `image`, `from` or `artifact`, not `from` and `image`"
    );
    assert_eq!(
        load_err(&format!(
            "{META}{image}- from: alpine:3.20\n  stage: install\n  add: /a\n  after: install\n"
        )),
        "werf.yaml:8:10: `stage` names a stage of an image of this config; \"alpine:3.20\" is an external image"
    );
    // Without a tag, werf takes the name as an image of the config.
    assert_eq!(
        load_err(&format!(
            "{META}{image}- from: alpine\n  add: /a\n  after: install\n"
        )),
        "werf.yaml:7:9: the imported image \"alpine\" is not an image or artifact of this werf.yaml (it has: app); an external image needs a tag or digest (`alpine:3.20`)"
    );
}
