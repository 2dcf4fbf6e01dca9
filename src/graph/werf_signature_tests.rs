//! What re-signs a werf stage.

use std::collections::BTreeMap;

use crate::graph::{SignatureSources, from_werf, platform_args, signatures};
use crate::werf::{TemplateEnv, load};

/// The signature of the last stage of image `app`.
fn last_signature(text: &str) -> String {
    signed_with(text, &BTreeMap::new())
}

/// `last_signature` with these image references resolved to digests.
fn signed_with(text: &str, image_digests: &BTreeMap<String, String>) -> String {
    let loaded = load("werf.yaml", text, &TemplateEnv::without_project()).unwrap();
    let args = platform_args("linux/amd64", "linux/amd64");
    let graph = from_werf(&loaded.config, &args).unwrap();
    let selection = graph.select(Some("app")).unwrap();
    for reference in image_digests.keys() {
        assert!(graph.external_images(&selection).contains(reference));
    }
    let mut context = |_: &[String]| -> Result<String, String> { Ok("sha256:0".into()) };
    let signed = signatures(
        &graph,
        &selection,
        &mut SignatureSources {
            dockerfile_text: &loaded.rendered,
            platform: "linux/amd64",
            build_args: &args,
            image_digests,
            context_digest: &mut context,
        },
    )
    .unwrap();
    signed[&selection.target].signature.clone()
}

#[test]
fn every_image_spec_option_re_signs_the_image_spec_stage() {
    let spec = |extra: &str| {
        format!(
            "project: p\nconfigVersion: 1\n---\nimage: app\nfrom: alpine\nimageSpec:\n  author: me\n{extra}"
        )
    };
    let options = [
        "  clearHistory: true\n",
        "  config:\n    clearCmd: true\n",
        "  config:\n    clearEntrypoint: true\n",
        "  config:\n    clearUser: true\n",
        "  config:\n    clearWorkingDir: true\n",
        "  config:\n    removeEnv: [A]\n",
        "  config:\n    removeLabels: [A]\n",
        "  config:\n    removeVolumes: [/a]\n",
        "  config:\n    keepEssentialWerfLabels: true\n",
        "  config:\n    expose: []\n",
        "  config:\n    healthcheck: {test: [CMD, 'true']}\n",
    ];
    let mut seen = vec![last_signature(&spec(""))];
    for option in options {
        let signature = last_signature(&spec(option));
        assert!(!seen.contains(&signature), "{option} did not re-sign");
        seen.push(signature);
    }
}

#[test]
fn the_projects_image_spec_re_signs_final_images() {
    let image = "---\nimage: app\nfrom: alpine\n";
    let without = last_signature(&format!("project: p\nconfigVersion: 1\n{image}"));
    let with = last_signature(&format!(
        "project: p\nconfigVersion: 1\nbuild:\n  imageSpec:\n    config:\n      removeLabels: [a]\n{image}"
    ));
    assert_ne!(without, with);
}

/// The signature of `app`'s last stage with the import source resolved to `digest`.
fn signature_with_digest(text: &str, reference: &str, digest: &str) -> String {
    signed_with(
        text,
        &BTreeMap::from([(reference.to_string(), digest.to_string())]),
    )
}

#[test]
fn an_external_import_is_signed_by_its_reference_and_resolved_digest() {
    let config = |reference: &str| {
        format!(
            "project: p\nconfigVersion: 1\n---\nimage: app\nfrom: busybox\nimport:\n- from: {reference}\n  add: /etc/os-release\n  after: install\n"
        )
    };
    let one = signature_with_digest(&config("alpine:3.20"), "alpine:3.20", "sha256:1");
    let moved = signature_with_digest(&config("alpine:3.20"), "alpine:3.20", "sha256:2");
    let renamed = signature_with_digest(&config("alpine:3.21"), "alpine:3.21", "sha256:1");
    assert_ne!(one, moved, "a new digest re-signs");
    assert_ne!(one, renamed, "another reference re-signs");
}

#[test]
fn a_host_directory_mount_is_signed_by_its_path() {
    let config = |path: &str| {
        format!(
            "project: p\nconfigVersion: 1\n---\nimage: app\nfrom: alpine\nmount:\n- fromPath: {path}\n  to: /data\nshell:\n  install: ls /data\n"
        )
    };
    assert_ne!(
        last_signature(&config("data")),
        last_signature(&config("other"))
    );
}
