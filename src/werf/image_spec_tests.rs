//! Reading imageSpec (an image's and the project's) and merging them as werf does.

use super::KeyPatterns;
use crate::werf::{ImageSpec, TemplateEnv, WerfConfig, load};

const META: &str = "project: demo\nconfigVersion: 1\n";

fn load_ok(text: &str) -> WerfConfig {
    match load("werf.yaml", text, &TemplateEnv::without_project()) {
        Ok(loaded) => loaded.config,
        Err(error) => panic!("{}", error.located("werf.yaml", text)),
    }
}

fn load_err(text: &str) -> String {
    let error = load("werf.yaml", text, &TemplateEnv::without_project()).expect_err("wrong");
    let located = error.located("werf.yaml", text);
    format!("{}:{}: {}", located.file, located.at, located.message)
}

fn spec_of<'c>(config: &'c WerfConfig, image: &str) -> Option<&'c ImageSpec> {
    let image = config.images.iter().find(|i| i.name == image).unwrap();
    image.stapel.image_spec.as_ref()
}

#[test]
fn every_clear_and_remove_option_is_read() {
    let config = load_ok(&format!(
        "{META}---\nimage: app\nfrom: alpine\nimageSpec:\n  clearHistory: true\n  config:\n    clearCmd: true\n    clearEntrypoint: true\n    clearUser: true\n    clearWorkingDir: true\n    removeEnv: [GOPATH, /^GO.*/]\n    removeLabels: /org\\.opencontainers\\..*/\n    removeVolumes: [/data]\n    keepEssentialWerfLabels: true\n    expose: []\n    healthcheck:\n      test: [CMD, true]\n      interval: 5\n      retries: 3\n"
    ));
    let spec = spec_of(&config, "app").unwrap();
    assert!(spec.clear_history && spec.clear_cmd && spec.clear_entrypoint);
    assert!(spec.clear_user && spec.clear_working_dir && spec.keep_essential_werf_labels);
    assert_eq!(spec.remove_env, ["GOPATH", "/^GO.*/"]);
    assert_eq!(spec.remove_labels, [r"/org\.opencontainers\..*/"]);
    assert_eq!(spec.remove_volumes, ["/data"]);
    // Written empty: the inherited ports are replaced by none.
    assert_eq!(spec.expose, Some(Vec::new()));
    let check = spec.healthcheck.as_ref().unwrap();
    assert_eq!((check.interval, check.retries, check.timeout), (5, 3, 0));
}

#[test]
fn bad_patterns_and_values_are_located() {
    let image = "---\nimage: app\nfrom: alpine\nimageSpec:\n  config:\n";
    let message = load_err(&format!("{META}{image}    removeLabels: [a, '/(x/']\n"));
    assert!(
        message.starts_with("werf.yaml:8:23: invalid regular expression \"/(x/\": "),
        "{message}"
    );
    assert_eq!(
        load_err(&format!("{META}{image}    clearCmd: yes-please\n")),
        "werf.yaml:8:15: clearCmd must be true or false, not a string"
    );
    assert_eq!(
        load_err(&format!(
            "{META}{image}    healthcheck:\n      interval: 5s\n"
        )),
        "werf.yaml:9:17: interval must be a whole number of seconds, not a string"
    );
}

#[test]
fn the_projects_image_spec_is_merged_into_final_images_only() {
    let config = load_ok(&format!(
        "{META}build:\n  imageSpec:\n    author: ops@example.com\n    clearHistory: true\n    config:\n      labels: {{team: ops, origin: '%project%/%image%'}}\n      removeLabels: [/maintainer.*/]\n---\nimage: app\nfrom: alpine\nimageSpec:\n  author: dev@example.com\n  config:\n    labels: {{team: dev, tier: web}}\n    removeLabels: [vendor]\n---\nimage: plain\nfrom: alpine\n---\nimage: helper\nfinal: false\nfrom: alpine\n---\nartifact: tools\nfrom: alpine\n"
    ));
    let app = spec_of(&config, "app").unwrap();
    // The project's author and labels win; remove patterns add up, the image's first.
    assert_eq!(app.author.as_deref(), Some("ops@example.com"));
    assert_eq!(app.labels["team"], "ops");
    assert_eq!(app.labels["tier"], "web");
    assert_eq!(app.labels["origin"], "demo/app");
    assert_eq!(app.remove_labels, ["vendor", "/maintainer.*/"]);
    assert!(app.clear_history);
    // An image without its own imageSpec gets the project's.
    let plain = spec_of(&config, "plain").unwrap();
    assert_eq!(plain.labels["origin"], "demo/plain");
    assert!(plain.clear_history);
    // Helpers (`final: false`) and artifacts keep theirs (none).
    assert_eq!(spec_of(&config, "helper"), None);
    assert_eq!(spec_of(&config, "tools"), None);
}

#[test]
fn the_projects_image_spec_allows_only_what_werf_allows() {
    assert_eq!(
        load_err(&format!(
            "{META}build:\n  imageSpec:\n    config:\n      user: app\n---\nimage: app\nfrom: alpine\n"
        )),
        "werf.yaml:6:7: unknown key \"user\" in build.imageSpec.config; allowed keys: labels, removeLabels, keepEssentialWerfLabels"
    );
}

#[test]
fn dockerfile_images_take_an_image_spec_and_the_projects() {
    let mut files = crate::werf::template::MemoryFiles::default();
    files
        .files
        .insert("Dockerfile".into(), "FROM alpine\n".into());
    let env = TemplateEnv {
        files: std::sync::Arc::new(files),
        ..TemplateEnv::without_project()
    };
    let text = format!(
        "{META}build:\n  imageSpec:\n    author: me\n---\nimage: web\ndockerfile: Dockerfile\nimageSpec:\n  config:\n    clearCmd: true\n    labels: {{of: '%image%'}}\n---\nimage: plain\ndockerfile: Dockerfile\n"
    );
    let config = load("werf.yaml", &text, &env).unwrap().config;
    let web = config.dockerfile_images[0].image_spec.as_ref().unwrap();
    assert_eq!(web.author.as_deref(), Some("me"));
    assert!(web.clear_cmd);
    assert_eq!(web.labels["of"], "web");
    let plain = config.dockerfile_images[1].image_spec.as_ref().unwrap();
    assert_eq!(plain.author.as_deref(), Some("me"));
}

#[test]
fn patterns_match_whole_names_or_exact_names() {
    let patterns = KeyPatterns::new(&["PATH".into(), "/GO[A-Z]*/".into()]).unwrap();
    assert!(patterns.matches("PATH"));
    assert!(patterns.matches("GOPATH"));
    assert!(!patterns.matches("MYGOPATH"), "anchored at both ends");
    assert!(!patterns.matches("GOPATH2"));
    assert!(!patterns.matches("PATHS"));
}
