//! File access for templates (`.Files.*`, partials) through [`FileSource`], and
//! [`ProjectDir`], the implementation that keeps every read inside one directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::value::{Object, Value};

/// Read access to the project's files. Paths are project-relative, `/`-separated,
/// and already checked not to leave the project (see [`normalize`]).
pub trait FileSource: Send + Sync {
    /// The file's text, or `None` if there is no such file.
    fn read(&self, path: &str) -> Result<Option<String>, String>;
    fn is_dir(&self, path: &str) -> Result<bool, String>;
    /// Every file under a directory (`""` is the project root), recursively,
    /// project-relative and sorted.
    fn files_under(&self, dir: &str) -> Result<Vec<String>, String>;
}

/// A project-relative path with `.` and `..` resolved; refuses absolute paths and
/// paths that climb out of the project.
pub fn normalize(path: &str) -> Result<String, String> {
    if path.starts_with('/') || path.starts_with('\\') || Path::new(path).is_absolute() {
        return Err(format!(
            "path {path:?} is absolute; only paths inside the project directory can be read"
        ));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!("path {path:?} is outside the project directory"));
                }
            }
            other => parts.push(other),
        }
    }
    Ok(parts.join("/"))
}

/// Files of a project directory on disk. Symlinks are followed only while they
/// stay inside the directory.
pub struct ProjectDir {
    root: PathBuf,
}

impl ProjectDir {
    pub fn new(root: impl AsRef<Path>) -> std::io::Result<ProjectDir> {
        Ok(ProjectDir {
            root: root.as_ref().canonicalize()?,
        })
    }

    /// The real path of a project-relative path, or an error if a symlink leads out.
    fn resolve(&self, path: &str) -> Result<Option<PathBuf>, String> {
        let joined = self.root.join(path);
        match joined.canonicalize() {
            Ok(real) if real.starts_with(&self.root) => Ok(Some(real)),
            Ok(_) => Err(format!(
                "path {path:?} leads outside the project directory through a symlink"
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{path}: {e}")),
        }
    }

    fn walk(
        &self,
        dir: &Path,
        relative: &str,
        out: &mut Vec<String>,
        depth: usize,
    ) -> Result<(), String> {
        if depth > 64 {
            return Ok(());
        }
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{relative}: {e}"))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("{relative}: {e}"))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == ".git" {
                continue;
            }
            let child = if relative.is_empty() {
                name
            } else {
                format!("{relative}/{name}")
            };
            let Ok(Some(real)) = self.resolve(&child) else {
                continue;
            };
            let file_type = entry.file_type().map_err(|e| format!("{child}: {e}"))?;
            if real.is_dir() {
                // Symlinked directories are not descended into (no cycles).
                if !file_type.is_symlink() {
                    self.walk(&real, &child, out, depth + 1)?;
                }
            } else {
                out.push(child);
            }
        }
        Ok(())
    }
}

impl FileSource for ProjectDir {
    fn read(&self, path: &str) -> Result<Option<String>, String> {
        let Some(real) = self.resolve(path)? else {
            return Ok(None);
        };
        if real.is_dir() {
            return Ok(None);
        }
        let bytes = std::fs::read(&real).map_err(|e| format!("{path}: {e}"))?;
        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
    }

    fn is_dir(&self, path: &str) -> Result<bool, String> {
        Ok(self.resolve(path)?.is_some_and(|real| real.is_dir()))
    }

    fn files_under(&self, dir: &str) -> Result<Vec<String>, String> {
        let Some(real) = self.resolve(dir)? else {
            return Ok(Vec::new());
        };
        if !real.is_dir() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        self.walk(&real, dir, &mut out, 0)?;
        out.sort();
        Ok(out)
    }
}

/// Files held in memory, for tests and for callers that read from git.
#[derive(Default)]
pub struct MemoryFiles {
    pub files: BTreeMap<String, String>,
}

impl FileSource for MemoryFiles {
    fn read(&self, path: &str) -> Result<Option<String>, String> {
        Ok(self.files.get(path).cloned())
    }

    fn is_dir(&self, path: &str) -> Result<bool, String> {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        Ok(self.files.keys().any(|k| k.starts_with(&prefix)))
    }

    fn files_under(&self, dir: &str) -> Result<Vec<String>, String> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        Ok(self
            .files
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .cloned()
            .collect())
    }
}

/// `.Files` in templates.
pub struct Files {
    pub source: Arc<dyn FileSource>,
}

impl Object for Files {
    fn type_name(&self) -> &str {
        "config.files"
    }

    fn has_method(&self, name: &str) -> bool {
        matches!(name, "Get" | "Glob" | "Exists" | "IsDir")
    }

    fn call(&self, name: &str, args: Vec<Value>) -> Result<Value, String> {
        let [Value::Str(arg)] = args.as_slice() else {
            return Err(match args.len() {
                1 => format!(
                    "wrong type for value; expected string; got {}",
                    args[0].type_name()
                ),
                n => format!("wrong number of args for {name}: want 1 got {n}"),
            });
        };
        let path = normalize(arg)?;
        match name {
            "Get" => match self.source.read(&path)? {
                Some(text) => Ok(Value::from(text)),
                None => Err(format!("file {arg:?} not found")),
            },
            "Exists" => Ok(Value::Bool(
                self.source.read(&path)?.is_some() || self.source.is_dir(&path)?,
            )),
            "IsDir" => Ok(Value::Bool(self.source.is_dir(&path)?)),
            _ => self.glob(&path),
        }
    }
}

impl Files {
    fn glob(&self, pattern: &str) -> Result<Value, String> {
        let patterns = expand_braces(pattern);
        let mut out = BTreeMap::new();
        for pattern in &patterns {
            let literal: Vec<&str> = pattern
                .split('/')
                .take_while(|part| !part.contains(['*', '?', '[']))
                .collect();
            let dir = if literal.len() == pattern.split('/').count() {
                // No wildcard at all: the path itself, if it is a file.
                if let Some(text) = self.source.read(pattern)? {
                    out.insert(pattern.clone(), Value::from(text));
                }
                continue;
            } else {
                literal.join("/")
            };
            for file in self.source.files_under(&dir)? {
                if glob_match(pattern, &file)
                    && let Some(text) = self.source.read(&file)?
                {
                    out.insert(file, Value::from(text));
                }
            }
        }
        Ok(Value::from(out))
    }
}

/// `{a,b}` alternatives expanded into separate patterns (no nesting).
fn expand_braces(pattern: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (pattern.find('{'), pattern.find('}')) else {
        return vec![pattern.to_string()];
    };
    if close < open {
        return vec![pattern.to_string()];
    }
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    pattern[open + 1..close]
        .split(',')
        .flat_map(|alt| expand_braces(&format!("{head}{alt}{tail}")))
        .take(256)
        .collect()
}

/// Glob match by path component: `**` spans any number of components, `*` and
/// `?` stay within one, `[...]` is a character class.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
    let path: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    match_components(&pattern, &path)
}

fn match_components(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| match_components(rest, &path[skip..])),
        Some((first, rest)) => {
            !path.is_empty()
                && match_component(first.as_bytes(), path[0].as_bytes())
                && match_components(rest, &path[1..])
        }
    }
}

fn match_component(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| match_component(rest, &name[skip..])),
        Some((b'?', rest)) => !name.is_empty() && match_component(rest, &name[1..]),
        Some((b'[', rest)) => {
            let Some(close) = rest.iter().position(|&b| b == b']') else {
                return !name.is_empty() && name[0] == b'[' && match_component(rest, &name[1..]);
            };
            let Some((&c, name_rest)) = name.split_first() else {
                return false;
            };
            let (negate, class) = match rest[..close].split_first() {
                Some((b'!' | b'^', class)) => (true, class),
                _ => (false, &rest[..close]),
            };
            let mut matched = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == b'-' {
                    matched |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    matched |= class[i] == c;
                    i += 1;
                }
            }
            matched != negate && match_component(&rest[close + 1..], name_rest)
        }
        Some((&b, rest)) => name.first() == Some(&b) && match_component(rest, &name[1..]),
    }
}
