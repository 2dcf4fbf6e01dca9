//! Golden plans of `testdata/werf/<case>/werf.yaml` (stages, skipped stages, edges and
//! signatures; `err-*` cases: the located error), and the signature rules of werf's
//! conveyor on a config whose files are changed between plans.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::super::plan::PlanRequest;
use super::super::stages::BuildSpec;
use super::plan;

fn request(dir: &Path, target: Option<&str>) -> PlanRequest {
    PlanRequest {
        spec: BuildSpec {
            file: Some(dir.join("werf.yaml")),
            context: dir.to_path_buf(),
            target: target.map(str::to_string),
            build_args: BTreeMap::new(),
            platform: "linux/amd64".into(),
        },
        repo: None,
        json: false,
        env: "production".into(),
    }
}

fn plan_of(dir: &Path, target: Option<&str>) -> Result<String, String> {
    let file = dir.join("werf.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    // Names relative to the case directory, so that goldens do not hold this machine's paths.
    plan(&request(dir, target), "werf.yaml", &text, Vec::new()).map_err(|f| f.message)
}

#[test]
fn golden_plans() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/werf");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("werf.yaml").is_file())
        .collect();
    dirs.sort();
    let ok = dirs
        .iter()
        .filter(|d| !d.file_name().unwrap().to_string_lossy().starts_with("err-"))
        .count();
    assert!(ok >= 12, "only {ok} werf plan cases");
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|dir| {
            let is_err = dir
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("err-");
            let output = match (plan_of(dir, None), is_err) {
                (Ok(plan), false) => plan,
                (Err(message), true) => format!("error: {message}\n"),
                (Ok(plan), true) => format!("expected an error, got a plan:\n{plan}"),
                (Err(message), false) => format!("unexpected error: {message}\n"),
            };
            crate::golden::compare(dir, &output)
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A copy of `testdata/werf/git-stage-dependencies` in a temporary directory.
struct Project {
    dir: PathBuf,
}

impl Project {
    fn new(name: &str) -> Project {
        let dir = std::env::temp_dir().join(format!("conveyor-werf-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let source =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/werf/git-stage-dependencies");
        copy_dir(&source, &dir);
        Project { dir }
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn edit_config(&self, from: &str, to: &str) {
        let config = std::fs::read_to_string(self.dir.join("werf.yaml")).unwrap();
        assert!(config.contains(from), "{from:?} is in the config");
        self.write("werf.yaml", &config.replace(from, to));
    }

    /// Stage name → signature, every built stage of the plan.
    fn signatures(&self) -> BTreeMap<String, String> {
        let mut request = request(&self.dir, None);
        request.json = true;
        let text = std::fs::read_to_string(self.dir.join("werf.yaml")).unwrap();
        let json = plan(&request, "werf.yaml", &text, Vec::new())
            .unwrap_or_else(|f| panic!("{}", f.message));
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let mut out = BTreeMap::new();
        for image in value["images"].as_array().unwrap() {
            for stage in image["stages"].as_array().unwrap() {
                if let Some(signature) = stage["signature"].as_str() {
                    out.insert(
                        stage["name"].as_str().unwrap().to_string(),
                        signature.to_string(),
                    );
                }
            }
        }
        out
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "expected" {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn changed(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<String> {
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    let order = [
        "from",
        "beforeInstall",
        "gitArchive",
        "install",
        "setup",
        "gitLatestPatch",
    ];
    order
        .iter()
        .filter(|name| before[**name] != after[**name])
        .map(|name| name.to_string())
        .collect()
}

#[test]
fn changing_an_install_command_resigns_install_and_later_only() {
    let project = Project::new("install");
    let before = project.signatures();
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        [
            "beforeInstall",
            "from",
            "gitArchive",
            "gitLatestPatch",
            "install",
            "setup"
        ]
    );
    project.edit_config("pip install -r", "pip install --no-cache-dir -r");
    assert_eq!(
        changed(&before, &project.signatures()),
        ["install", "setup", "gitLatestPatch"]
    );
}

#[test]
fn a_file_under_setup_dependencies_resigns_setup_and_later_only() {
    let project = Project::new("setupdeps");
    let before = project.signatures();
    project.write("app/src/pkg/main.py", "print('changed')\n");
    assert_eq!(
        changed(&before, &project.signatures()),
        ["setup", "gitLatestPatch"]
    );
    // A file under install's dependencies re-signs install and what follows.
    let before = project.signatures();
    project.write("app/requirements.txt", "flask==3.1\n");
    assert_eq!(
        changed(&before, &project.signatures()),
        ["install", "setup", "gitLatestPatch"]
    );
    // A mapped file no stage depends on only re-signs the late patch.
    let before = project.signatures();
    project.write("app/src/pkg/data.json", "{}\n");
    assert_eq!(changed(&before, &project.signatures()), ["gitLatestPatch"]);
}

#[test]
fn changing_from_cache_version_resigns_every_stage() {
    let project = Project::new("fromcache");
    let before = project.signatures();
    project.edit_config(
        "from: alpine:3.20\n",
        "from: alpine:3.20\nfromCacheVersion: \"2\"\n",
    );
    assert_eq!(
        changed(&before, &project.signatures()),
        [
            "from",
            "beforeInstall",
            "gitArchive",
            "install",
            "setup",
            "gitLatestPatch"
        ]
    );
}

#[test]
fn target_selects_an_image_and_what_it_needs() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/werf/artifact-import-after-install");
    let plan = plan_of(&dir, Some("builder")).unwrap();
    assert!(
        plan.contains("image builder (artifact)") && !plan.contains("image app"),
        "{plan}"
    );
    let plan = plan_of(&dir, Some("app")).unwrap();
    assert!(
        plan.contains("image builder (artifact)") && plan.contains("image app"),
        "{plan}"
    );
    let error = plan_of(&dir, Some("ap")).unwrap_err();
    assert!(
        error.contains("target stage \"ap\" could not be found; did you mean \"app\"?"),
        "{error}"
    );
}
