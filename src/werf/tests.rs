//! Loading werf.yaml: the model read from real-style configs, and each kind of wrong
//! config rejected with file:line:col.

use super::*;

pub(super) fn load_ok(text: &str) -> WerfConfig {
    match load("werf.yaml", text, &TemplateEnv::without_project()) {
        Ok(loaded) => loaded.config,
        Err(error) => panic!("{}", error.located("werf.yaml", text)),
    }
}

/// The rendered error message's first line: `file:line:col: message`.
pub(super) fn load_err(text: &str) -> String {
    load_err_with(text, &TemplateEnv::without_project())
}

fn load_err_with(text: &str, env: &TemplateEnv) -> String {
    let error = load("werf.yaml", text, env).expect_err("the config is wrong");
    let located = error.located("werf.yaml", text);
    format!("{}:{}: {}", located.file, located.at, located.message)
}

const META: &str = "project: demo\nconfigVersion: 1\n---\n";

#[test]
fn a_full_stapel_image_is_read() {
    let text = format!(
        "{META}artifact: builder\nfrom: golang:1.22\ngit:\n- add: /src\n  to: /app\n  owner: app\n  includePaths: [go.mod, '**/*.go']\n  stageDependencies:\n    setup: '**/*.go'\nshell:\n  install: go mod download\n  setup: [go build -o /out/app ./...]\n  setupCacheVersion: '2'\n---\nimage: app\nfromImage: base\nimport:\n- artifact: builder\n  add: /out/app\n  to: /usr/bin/app\n  owner: '1000'\n  after: install\nmount:\n- from: build_dir\n  to: /root/.cache\ndocker:\n  ENTRYPOINT: [\"/usr/bin/app\"]\n  EXPOSE: '8080'\n  ENV: {{MODE: prod}}\n---\nimage: base\nfrom: alpine\n"
    );
    let config = load_ok(&text);
    assert_eq!(config.project, "demo");
    let names: Vec<&str> = config.images.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["builder", "app", "base"]);
    let builder = &config.images[0];
    assert!(builder.is_artifact);
    assert_eq!(builder.stapel.git[0].add, "/src");
    assert_eq!(
        builder.stapel.git[0].stage_dependencies[&UserStage::Setup],
        ["**/*.go"]
    );
    assert_eq!(
        builder.stapel.shell.commands[&UserStage::Install][0].value,
        "go mod download"
    );
    assert!(builder.stapel.shell.has_stage(UserStage::Setup));
    assert!(!builder.stapel.shell.has_stage(UserStage::BeforeSetup));
    let app = &config.images[1];
    assert!(matches!(&app.stapel.from, FromBase::Config(base) if base.value == "base"));
    assert_eq!(app.stapel.imports[0].point, ImportPoint::AfterInstall);
    assert_eq!(app.stapel.imports[0].owner.as_deref(), Some("1000"));
    assert_eq!(app.stapel.mounts[0].kind, MountKind::BuildDir);
    let docker = app.stapel.docker.as_ref().unwrap();
    assert_eq!(
        docker.entrypoint,
        Some(Command::Exec(vec!["/usr/bin/app".into()]))
    );
    assert_eq!(docker.expose, ["8080"]);
    assert_eq!(docker.env["MODE"], "prod");
}

#[test]
fn from_naming_an_image_of_the_file_is_that_image() {
    let config = load_ok(&format!(
        "{META}image: a\nfrom: alpine\n---\nimage: b\nfrom: a\n"
    ));
    assert!(matches!(&config.images[1].stapel.from, FromBase::Config(a) if a.value == "a"));
    assert!(matches!(&config.images[0].stapel.from, FromBase::Image(r) if r.value == "alpine"));
}

#[test]
fn an_unknown_key_names_the_allowed_keys() {
    let message = load_err(&format!(
        "{META}image: app\nfrom: alpine\nshel:\n  install: x\n"
    ));
    assert!(
        message.starts_with("werf.yaml:6:1: unknown key \"shel\" in an image; allowed keys: image, artifact, final, from,"),
        "{message}"
    );
    let message = load_err(&format!(
        "{META}image: app\nfrom: alpine\nshell:\n  instal: x\n"
    ));
    assert_eq!(
        message,
        "werf.yaml:7:3: unknown key \"instal\" in shell; allowed keys: cacheVersion, beforeInstall, install, beforeSetup, setup, beforeInstallCacheVersion, installCacheVersion, beforeSetupCacheVersion, setupCacheVersion"
    );
}

#[test]
fn wrong_types_are_located_at_the_value() {
    assert_eq!(
        load_err(&format!(
            "{META}image: app\nfrom: alpine\nshell:\n  install: {{a: b}}\n"
        )),
        "werf.yaml:7:12: install must be a string or a list of strings, not a mapping"
    );
    assert_eq!(
        load_err(&format!("{META}image: app\nfrom: alpine\nfinal: maybe\n")),
        "werf.yaml:6:8: final must be true or false, not a string"
    );
    assert_eq!(
        load_err(&format!("{META}image: app\nfrom: alpine\ngit: /src\n")),
        "werf.yaml:6:6: git must be a list, not a string"
    );
}

#[test]
fn from_and_from_image_together_are_refused() {
    assert_eq!(
        load_err(&format!(
            "{META}image: a\nfrom: alpine\n---\nimage: b\nfrom: alpine\nfromImage: a\n"
        )),
        "werf.yaml:9:1: `from` and `fromImage` cannot be used together"
    );
}

#[test]
fn importing_a_missing_image_is_refused() {
    assert_eq!(
        load_err(&format!(
            "{META}image: app\nfrom: alpine\nimport:\n- image: biulder\n  add: /out\n  after: install\n"
        )),
        "werf.yaml:7:10: the imported image \"biulder\" is not an image or artifact of this werf.yaml (it has: app); an external image needs a tag or digest (`alpine:3.20`)"
    );
    assert_eq!(
        load_err(&format!("{META}image: app\nfromImage: nope\n")),
        "werf.yaml:5:12: the base image \"nope\" is not an image or artifact of this werf.yaml (it has: app)"
    );
}

#[test]
fn secrets_take_env_src_or_value_with_ids() {
    let config = load_ok(&format!(
        "{META}image: app\nfrom: alpine\nsecrets:\n- env: TOKEN\n- src: ./keys/deploy.key\n- id: plain\n  value: text\n- id: renamed\n  env: OTHER\n"
    ));
    let secrets: Vec<(&str, &SecretValue)> = config
        .secrets()
        .into_iter()
        .map(|s| (s.id.as_str(), &s.value))
        .collect();
    assert_eq!(
        secrets,
        [
            ("TOKEN", &SecretValue::Env("TOKEN".into())),
            ("deploy.key", &SecretValue::File("./keys/deploy.key".into())),
            ("plain", &SecretValue::Literal("text".into())),
            ("renamed", &SecretValue::Env("OTHER".into())),
        ]
    );
    let image = "image: app\nfrom: alpine\nsecrets:\n";
    assert_eq!(
        load_err(&format!("{META}{image}- env: A\n  src: b\n")),
        "werf.yaml:7:3: a secret needs exactly one of `env`, `src` or `value`"
    );
    assert_eq!(
        load_err(&format!("{META}{image}- value: x\n")),
        "werf.yaml:7:3: a secret with `value` needs an `id`"
    );
    assert_eq!(
        load_err(&format!("{META}{image}- env: A\n- id: A\n  value: x\n")),
        "werf.yaml:8:7: two secrets with the id \"A\""
    );
}

#[test]
fn from_latest_is_taken_and_type_checked() {
    // conveyor always signs a base by its resolved digest, as `fromLatest: true` asks.
    load_ok(&format!(
        "{META}image: app\nfrom: alpine\nfromLatest: true\n"
    ));
    let message = load_err(&format!(
        "{META}image: app\nfrom: alpine\nfromLatest: often\n"
    ));
    assert!(message.starts_with("werf.yaml:6:13: "), "{message}");
}

#[test]
fn ansible_is_reported_as_not_supported_at_its_position() {
    assert_eq!(
        load_err(&format!(
            "{META}image: app\nfrom: alpine\nansible:\n  install:\n  - shell: echo\n"
        )),
        "werf.yaml:6:1: ansible stages are not supported yet"
    );
}

#[test]
fn template_errors_point_at_the_template_line() {
    let text = format!("{META}image: app\nfrom: {{{{ .Values.base | required \"base\" }}}}\n");
    let message = load_err(&text);
    assert!(message.starts_with("werf.yaml:5:"), "{message}");
    let text = format!("{META}image: app\nfrom: alpine\n{{{{ if }}}}\n");
    assert!(
        load_err(&text).starts_with("werf.yaml:6:"),
        "{}",
        load_err(&text)
    );
}

#[test]
fn errors_after_rendering_are_mapped_to_the_template_line() {
    // The template adds lines above; the wrong line itself is written as is.
    let text = format!(
        "{META}{{{{ range list \"a\" \"b\" }}}}\n---\nimage: {{{{ . }}}}\nfrom: alpine\n{{{{ end }}}}\n---\nimage: c\nfrom: alpine\nbogus: 1\n"
    );
    assert_eq!(
        load_err(&text),
        "werf.yaml:12:1: unknown key \"bogus\" in an image; allowed keys: image, artifact, final, from, fromImage, fromArtifact, fromLatest, fromCacheVersion, cacheVersion, disableGitAfterPatch, git, shell, ansible, import, dependencies, docker, imageSpec, mount, platform, network, secrets"
    );
}

#[test]
fn commit_without_a_repository_is_a_clear_error() {
    let message = load_err(&format!(
        "{META}image: app\nfrom: alpine\ndocker:\n  LABEL:\n    rev: {{{{ .Commit.Hash }}}}\n"
    ));
    assert!(message.starts_with("werf.yaml:8:"), "{message}");
    assert!(message.contains("no git repository was given"), "{message}");
}

#[test]
fn werf_configs_are_recognised_by_name_or_content() {
    assert!(is_werf_config("werf.yaml", ""));
    assert!(is_werf_config("ci/werf.yml", ""));
    assert!(is_werf_config("build.yaml", "# syntax=x\nproject: a\n"));
    assert!(!is_werf_config("Dockerfile", "# syntax=x\nFROM a\n"));
}

#[test]
fn yaml_syntax_errors_are_located() {
    let message = load_err(&format!("{META}image: app\nfrom: [alpine\n"));
    assert_eq!(message, "werf.yaml:5:7: unclosed bracket '['");
}

#[test]
fn platforms_are_listed_per_image_or_for_the_build() {
    let config = load_ok(&format!(
        "{META}image: app\nfrom: alpine\nplatform: [linux/arm64, linux/amd64]\n---\n\
         image: one\nfrom: alpine\nplatform: linux/arm64\n---\nimage: other\nfrom: alpine\n"
    ));
    assert_eq!(
        config.image_platforms("app"),
        ["linux/arm64", "linux/amd64"]
    );
    assert_eq!(config.image_platforms("one"), ["linux/arm64"]);
    assert!(config.image_platforms("other").is_empty());
    let with_build = "project: p\nconfigVersion: 1\nbuild:\n  platform: [linux/amd64, linux/386]\n---\n\
                      image: app\nfrom: alpine\n---\nimage: pinned\nfrom: alpine\nplatform: [linux/arm64]\n";
    let config = load_ok(with_build);
    assert_eq!(config.image_platforms("app"), ["linux/amd64", "linux/386"]);
    assert_eq!(config.image_platforms("pinned"), ["linux/arm64"]);
    assert_eq!(
        load_err(&format!(
            "{META}image: app\nfrom: alpine\nplatform: [linux/arm64, linux/arm64]\n"
        )),
        "werf.yaml:6:25: platform \"linux/arm64\" is listed twice"
    );
    assert_eq!(
        load_err(&format!(
            "{META}image: app\nfrom: alpine\nplatform: arm64\n"
        )),
        "werf.yaml:6:11: invalid platform \"arm64\": expected os/arch[/variant], as in linux/amd64"
    );
}

#[test]
fn dockerfile_images_are_read_with_their_dockerfile() {
    let mut files = template::MemoryFiles::default();
    files
        .files
        .insert("web/Dockerfile".into(), "FROM alpine\n".into());
    let env = TemplateEnv {
        files: std::sync::Arc::new(files),
        ..TemplateEnv::without_project()
    };
    let text = format!("{META}image: web\ndockerfile: web/Dockerfile\ntarget: runtime\n");
    let config = load("werf.yaml", &text, &env).unwrap().config;
    let image = &config.dockerfile_images[0];
    assert_eq!(image.name, "web");
    assert_eq!(image.text.as_deref(), Some("FROM alpine\n"));
    assert_eq!(image.target.as_ref().unwrap().value, "runtime");
    assert_eq!(
        load_err_with(
            &format!("{META}image: web\ndockerfile: Dockerfile\nstaged: true\n"),
            &env
        ),
        "werf.yaml:6:1: `staged` of a Dockerfile image is not supported yet"
    );
    let text = format!(
        "{META}image: web\ndockerfile: Dockerfile\nargs: {{A: b, NUM: 3}}\ncacheVersion: v2\nnetwork: host\naddHost: [a.local:10.1.2.3, b.local:::1]\nfinal: false\ncontextAddFiles: [x.txt]\n"
    );
    let image = load("werf.yaml", &text, &env)
        .unwrap()
        .config
        .dockerfile_images[0]
        .clone();
    assert_eq!(
        image.args,
        std::collections::BTreeMap::from([("A".into(), "b".into()), ("NUM".into(), "3".into())])
    );
    assert_eq!(image.cache_version.as_deref(), Some("v2"));
    assert_eq!(image.network.map(|n| n.value).as_deref(), Some("host"));
    assert_eq!(
        image.add_hosts,
        [
            ("a.local".to_string(), "10.1.2.3".to_string()),
            ("b.local".to_string(), "::1".to_string())
        ]
    );
    assert!(!image.is_final);
    for (options, expected) in [
        (
            "addHost: nohost\n",
            "werf.yaml:6:10: expected addHost as host:ip, not \"nohost\"",
        ),
        (
            "ssh: a,b\n",
            "werf.yaml:6:6: expected ssh as ID or ID=SOCKET (e.g. default), not \"a,b\"",
        ),
        (
            "network: bridge\n",
            "werf.yaml:6:10: network must be default, host or none, not \"bridge\"",
        ),
        (
            "contextAddFiles: [../x]\n",
            "werf.yaml:6:19: contextAddFiles paths must be relative to the context, not \"../x\"",
        ),
    ] {
        let text = format!("{META}image: web\ndockerfile: Dockerfile\n{options}");
        assert_eq!(load_err_with(&text, &env), expected);
    }
}

#[test]
fn a_config_without_images_is_refused() {
    assert_eq!(
        load_err("project: p\nconfigVersion: 1\n"),
        "werf.yaml:1:1: werf.yaml defines no image: add a document with `image: <name>`"
    );
}

#[test]
fn remote_git_mappings_are_read_with_their_ref() {
    let hash = "a5a01abf6bf1ef5953a120ff3eedb09c23acb750";
    let config = load_ok(&format!(
        "{META}image: app\nfrom: alpine\ngit:\n- url: https://example.com/lib.git\n  branch: main\n  add: /src\n  to: /lib\n- url: git@example.com:lib.git\n  tag: v1\n  to: /tagged\n- url: https://example.com/lib.git\n  branch: main\n  commit: {}\n  to: /pinned\n- url: https://example.com/lib.git\n  to: /head\n- to: /local\n",
        hash.to_uppercase()
    ));
    let refs: Vec<GitRef> = config.images[0]
        .stapel
        .git
        .iter()
        .filter_map(|git| git.remote.as_ref().map(RemoteGit::git_ref))
        .collect();
    assert_eq!(
        refs,
        [
            GitRef::Branch("main".into()),
            GitRef::Tag("v1".into()),
            // werf's order: a commit wins over a branch; hashes are kept in lower case.
            GitRef::Commit(hash.into()),
            GitRef::Head,
        ]
    );
    assert!(config.images[0].stapel.git[4].remote.is_none());
    assert_eq!(config.remote_refs().len(), 4);
}

#[test]
fn wrong_remote_git_mappings_are_located() {
    let git = |lines: &str| load_err(&format!("{META}image: app\nfrom: alpine\ngit:\n{lines}"));
    assert_eq!(
        git("- to: /app\n  branch: main\n"),
        "werf.yaml:8:3: git `branch` names a ref of a remote repository: it needs `url`"
    );
    assert_eq!(
        git("- url: https://example.com/lib.git\n  commit: a5a01ab\n  to: /app\n"),
        "werf.yaml:8:11: git commit must be a full commit hash (40 hex digits), not \"a5a01ab\": BuildKit fetches a commit only by its full hash"
    );
    assert_eq!(
        git("- url: file:///srv/lib\n  to: /app\n"),
        "werf.yaml:7:8: git url must be a remote repository (https://, http://, git://, ssh:// or user@host:path), not \"file:///srv/lib\""
    );
    assert_eq!(
        git("- url: https://example.com/lib.git\n  branch: --upload-pack=x\n  to: /app\n"),
        "werf.yaml:8:11: git branch must be a ref name, not \"--upload-pack=x\""
    );
    assert_eq!(
        git("- url: https://example.com/lib.git\n  to: /app\n  basicAuth:\n    username: u\n"),
        "werf.yaml:9:3: git `basicAuth` (private repositories) is not supported yet"
    );
}

#[test]
fn a_commit_without_a_date_renders_its_hash_and_refuses_the_date() {
    let mut env = TemplateEnv::without_project();
    env.commit = Ok(template::CommitInfo {
        hash: "0123abcd".into(),
        date: Err("no date here".into()),
    });
    let text = format!(
        "{META}image: app\nfrom: alpine\ndocker:\n  LABEL:\n    rev: {{{{ .Commit.Hash }}}}\n"
    );
    let loaded = load("werf.yaml", &text, &env).unwrap();
    let docker = loaded.config.images[0].stapel.docker.as_ref().unwrap();
    assert_eq!(docker.labels["rev"], "0123abcd");
    let message = load_err_with(
        &format!(
            "{META}image: app\nfrom: alpine\ndocker:\n  LABEL:\n    at: {{{{ .Commit.Date.Unix }}}}\n"
        ),
        &env,
    );
    assert!(message.starts_with("werf.yaml:8:"), "{message}");
    assert!(message.contains("no date here"), "{message}");
}

#[test]
fn dependencies_are_checked_as_werf_checks_them() {
    let base = "image: backend\nfrom: alpine\n---\n";
    let cases = [
        (
            "image: web\nfrom: alpine\ndependencies:\n- image: api\n  before: setup\n",
            "werf.yaml:10:10: the dependency \"api\" is not an image or artifact of this werf.yaml (it has: backend, web)",
        ),
        (
            "image: web\nfrom: alpine\ndependencies:\n- image: backend\n  before: setup\n  after: install\n",
            "werf.yaml:12:3: a dependency takes `before` or `after`, not both",
        ),
        (
            "image: web\nfrom: alpine\ndependencies:\n- image: backend\n  after: build\n",
            "werf.yaml:11:10: expected `install` or `setup`, not \"build\"",
        ),
        (
            "image: web\nfrom: alpine\ndependencies:\n- image: backend\n  after: setup\n  imports:\n  - {type: ImageName, targetEnv: A}\n  - {type: ImageTag, targetEnv: A}\n",
            "werf.yaml:14:33: targetEnv \"A\" is imported twice in this dependency",
        ),
        (
            "image: web\nfrom: alpine\ndependencies:\n- image: backend\n  after: setup\n  imports:\n  - {type: ImageName, targetBuildArg: A}\n",
            "werf.yaml:13:23: `targetBuildArg` is for Dockerfile images; a stapel image takes `targetEnv`",
        ),
    ];
    for (image, expected) in cases {
        assert_eq!(load_err(&format!("{META}{base}{image}")), expected);
    }
}
