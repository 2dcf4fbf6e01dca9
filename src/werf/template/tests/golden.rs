//! Real-style configs: `testdata/werf/templates/<case>/werf.yaml` with partials in
//! `.werf/`, read through `ProjectDir`, compared with the hand-checked
//! `expected.yaml` beside it.

use super::*;
use crate::werf::template::ProjectDir;

fn cases_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/werf/templates")
}

#[test]
fn golden_configs() {
    let mut cases: Vec<_> = std::fs::read_dir(cases_dir())
        .expect("testdata/werf/templates exists")
        .map(|entry| entry.expect("readable dir entry").path())
        .filter(|path| path.join("werf.yaml").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 2, "golden cases missing: {cases:?}");
    let mut failures = Vec::new();
    for case in &cases {
        let text = std::fs::read_to_string(case.join("werf.yaml")).expect("werf.yaml");
        let expected = std::fs::read_to_string(case.join("expected.yaml")).expect("expected.yaml");
        let mut env = env_with(&[]);
        env.files = Arc::new(ProjectDir::new(case).expect("case dir"));
        match render("werf.yaml", &text, &env) {
            Ok(got) if got == expected => {}
            Ok(got) => failures.push(format!(
                "{}:\n--- want\n{expected}\n--- got\n{got}",
                case.display()
            )),
            Err(e) => failures.push(format!("{}: {e}", case.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn project_dir_refuses_symlinks_out_of_the_project() {
    let root = std::env::temp_dir().join(format!("conveyor-template-{}", std::process::id()));
    let project = root.join("project");
    std::fs::create_dir_all(&project).expect("temp project");
    std::fs::write(root.join("secret.txt"), "secret").expect("secret file");
    std::fs::write(project.join("ok.txt"), "fine").expect("ok file");
    let link = project.join("escape.txt");
    let _ = std::fs::remove_file(&link);
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join("secret.txt"), &link).expect("symlink");
    let mut env = env_with(&[]);
    env.files = Arc::new(ProjectDir::new(&project).expect("project dir"));
    let render_text = |text: &str| render("werf.yaml", text, &env).map_err(|e| e.to_string());
    assert_eq!(
        render_text("{{ .Files.Get \"ok.txt\" }}"),
        Ok("fine".to_string())
    );
    #[cfg(unix)]
    assert_eq!(
        render_text("{{ .Files.Get \"escape.txt\" }}"),
        Err("werf.yaml:1:4: executing \"werf.yaml\": error calling Get: path \"escape.txt\" leads outside the project directory through a symlink".to_string())
    );
    assert_eq!(
        render_text("{{ range $p, $_ := .Files.Glob \"*.txt\" }}{{ $p }};{{ end }}"),
        Ok("ok.txt;".to_string())
    );
    assert_eq!(
        render_text("{{ .Files.Get \"../secret.txt\" }}"),
        Err("werf.yaml:1:4: executing \"werf.yaml\": error calling Get: path \"../secret.txt\" is outside the project directory".to_string())
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_large_config_renders_quickly() {
    let mut text = String::from("{{- $images := list }}\n");
    for i in 0..2000 {
        text.push_str(&format!(
            "{{{{- $images = append $images (dict \"name\" \"img{i}\" \"from\" (printf \"alpine:%d\" {i})) }}}}\n"
        ));
    }
    text.push_str(
        "{{- range $images }}\n---\nimage: {{ .name }}\nfrom: {{ .from | quote }}\n{{- end }}\n",
    );
    let started = std::time::Instant::now();
    let out = run(&text).expect("renders");
    assert_eq!(out.matches("image: img").count(), 2000);
    // Debug build on a shared machine: generous, but catches quadratic blowups.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}
