//! A parity case: `testdata/parity/<case>/{Dockerfile, context/, case.toml}`.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub struct Case {
    pub name: String,
    pub dir: PathBuf,
    pub dockerfile: String,
    pub settings: CaseSettings,
}

/// `case.toml`; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSettings {
    /// `--target`.
    pub target: Option<String>,
    /// Also compare `--print=targets` (multi-stage cases).
    #[serde(default)]
    pub print_targets: bool,
    /// `--build-arg NAME=VALUE`.
    #[serde(default)]
    pub build_args: BTreeMap<String, String>,
    /// `--secret id=…,src=<case dir>/<src>`.
    #[serde(default)]
    pub secrets: Vec<Secret>,
    /// `--ssh <id>=<key>` for each id, with a throwaway ed25519 key the test makes with
    /// `ssh-keygen` (buildx loads it into an agent of its own).
    #[serde(default)]
    pub ssh: Vec<String>,
    /// Modes set on the copy of the context (git keeps only 0644 and 0755), by path
    /// relative to `context/`, as octal strings.
    #[serde(default)]
    pub modes: BTreeMap<String, String>,
    /// Empty directories made in the copy of the context (git keeps none).
    #[serde(default)]
    pub empty_dirs: Vec<String>,
    /// An image the case builds FROM, made from a Dockerfile of the case dir with the
    /// stock frontend and pushed to the registry before the case is built.
    pub prebuilt_base: Option<PrebuiltBase>,
    /// A directory of the case served over HTTP on 127.0.0.1 while it builds.
    pub http_server: Option<HttpServer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secret {
    pub id: String,
    pub src: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrebuiltBase {
    /// Relative to the case dir; built with the case's context.
    pub dockerfile: String,
    /// The build arg that receives the pushed reference.
    pub build_arg: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpServer {
    /// Relative to the case dir.
    pub dir: String,
    /// The build arg that receives `http://127.0.0.1:<port>`.
    pub build_arg: String,
}

/// Every case under `root`, by name.
pub fn load_cases(root: &Path) -> Vec<Case> {
    let mut cases: Vec<Case> = fs::read_dir(root)
        .unwrap_or_else(|error| panic!("read {}: {error}", root.display()))
        .map(|entry| entry.expect("read_dir entry").path())
        .filter(|path| path.is_dir())
        .map(|dir| load_case(&dir))
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

fn load_case(dir: &Path) -> Case {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let dockerfile = fs::read_to_string(dir.join("Dockerfile"))
        .unwrap_or_else(|error| panic!("case {name}: read Dockerfile: {error}"));
    let settings = match fs::read_to_string(dir.join("case.toml")) {
        Ok(text) => {
            toml::from_str(&text).unwrap_or_else(|error| panic!("case {name}: case.toml: {error}"))
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => CaseSettings::default(),
        Err(error) => panic!("case {name}: read case.toml: {error}"),
    };
    Case {
        name,
        dir: dir.to_path_buf(),
        dockerfile,
        settings,
    }
}

impl Case {
    /// Copies `context/` (or nothing) to `into`, which must not exist, so that both builds
    /// see the same bytes and modes whatever the checkout's umask was: directories 0755,
    /// files 0755 when git has them executable and 0644 otherwise, symlinks as symlinks;
    /// then makes `empty_dirs` and applies `modes`.
    pub fn prepare_context(&self, into: &Path) -> io::Result<()> {
        let source = self.dir.join("context");
        if source.is_dir() {
            copy_tree(&source, into)?;
        } else {
            fs::create_dir(into)?;
            fs::set_permissions(into, fs::Permissions::from_mode(0o755))?;
        }
        for dir in &self.settings.empty_dirs {
            let path = into.join(dir);
            fs::create_dir_all(&path)?;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755))?;
        }
        for (path, mode) in &self.settings.modes {
            let mode = u32::from_str_radix(mode, 8).map_err(|error| {
                io::Error::other(format!("case {}: mode {mode:?}: {error}", self.name))
            })?;
            fs::set_permissions(into.join(path), fs::Permissions::from_mode(mode))?;
        }
        Ok(())
    }
}

fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        let file_type = entry.file_type()?;
        if file_type.is_symlink() {
            symlink(fs::read_link(&source)?, &target)?;
        } else if file_type.is_dir() {
            copy_tree(&source, &target)?;
        } else {
            fs::copy(&source, &target)?;
            let executable = entry.metadata()?.permissions().mode() & 0o111 != 0;
            let mode = if executable { 0o755 } else { 0o644 };
            fs::set_permissions(&target, fs::Permissions::from_mode(mode))?;
        }
    }
    fs::set_permissions(to, fs::Permissions::from_mode(0o755))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_toml_reads_every_setting() {
        let settings: CaseSettings = toml::from_str(
            r#"
            target = "middle"
            print_targets = true
            empty_dirs = ["e"]
            ssh = ["default"]
            [build_args]
            A = "1"
            [[secrets]]
            id = "token"
            src = "token.txt"
            [modes]
            "key" = "0600"
            [prebuilt_base]
            dockerfile = "base.Dockerfile"
            build_arg = "BASE"
            [http_server]
            dir = "served"
            build_arg = "SERVER"
            "#,
        )
        .unwrap();
        assert_eq!(settings.target.as_deref(), Some("middle"));
        assert!(settings.print_targets);
        assert_eq!(settings.build_args["A"], "1");
        assert_eq!(settings.secrets[0].id, "token");
        assert_eq!(settings.modes["key"], "0600");
        assert_eq!(settings.empty_dirs, ["e"]);
        assert_eq!(settings.ssh, ["default"]);
        assert_eq!(settings.prebuilt_base.unwrap().build_arg, "BASE");
        assert_eq!(settings.http_server.unwrap().dir, "served");
    }

    #[test]
    fn an_unknown_key_in_case_toml_is_an_error() {
        let error = toml::from_str::<CaseSettings>("targt = \"x\"").unwrap_err();
        assert!(
            error.to_string().contains("unknown field `targt`"),
            "{error}"
        );
    }
}
