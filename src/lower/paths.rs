//! Path and platform helpers with Go's semantics (`path.Clean`, `path.Join`, BuildKit's
//! `NormalizeWorkdir`, llb's `WithUser`).

use crate::llb;

/// `os/arch[/variant]`.
pub(super) fn parse_platform(value: &str) -> Option<llb::Platform> {
    let parts: Vec<&str> = value.split('/').collect();
    match parts.as_slice() {
        [os, arch] if !os.is_empty() && !arch.is_empty() => Some(llb::Platform::new(os, arch, "")),
        [os, arch, variant] if !os.is_empty() && !arch.is_empty() => {
            Some(llb::Platform::new(os, arch, variant))
        }
        _ => None,
    }
}

/// `WORKDIR path` relative to the current one, cleaned, always absolute.
pub(super) fn normalize_workdir(current: &str, requested: &str) -> String {
    if requested.starts_with('/') {
        clean_path(requested)
    } else {
        let base = if current.is_empty() { "/" } else { current };
        clean_path(&format!("{base}/{requested}"))
    }
}

/// Go's `path.Clean` of `/` + `path`: absolute, no `.`, `..` or repeated slashes (a
/// relative path is taken from the root, with no `/` to prepend first).
pub(super) fn clean_path(path: &str) -> String {
    clean_parts(path.split('/'), path.len())
}

/// The parts of a path, `.` and empty ones dropped and `..` applied, joined into one
/// absolute path (built in place: lowering cleans a few paths per instruction).
fn clean_parts<'p>(parts: impl Iterator<Item = &'p str>, len: usize) -> String {
    let mut out = String::with_capacity(len + 1);
    for part in parts {
        match part {
            "" | "." => {}
            ".." => {
                let parent = out.rfind('/').unwrap_or(0);
                out.truncate(parent);
            }
            other => {
                out.push('/');
                out.push_str(other);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// `path.Join(dir, p)` for an absolute `dir`, keeping a trailing `/` off.
pub(super) fn join_path(dir: &str, path: &str) -> String {
    if path.starts_with('/') {
        clean_path(path)
    } else {
        clean_parts(
            dir.split('/').chain(path.split('/')),
            dir.len() + path.len() + 1,
        )
    }
}

/// `user[:group]` with numeric ids where the parts are numbers (llb's `WithUser`).
pub(super) fn chown_opt(value: &str) -> llb::ChownOpt {
    let user_opt = |part: &str| match part.parse::<u32>() {
        Ok(id) => llb::UserOpt::Id(id),
        Err(_) => llb::UserOpt::Name(part.to_string()),
    };
    let mut parts = value.splitn(2, ':');
    llb::ChownOpt {
        user: parts.next().map(user_opt),
        group: parts.next().map(user_opt),
    }
}

#[cfg(test)]
mod tests {
    /// Go's `path.Clean("/" + path)` for each: what the `/` prepended before gave.
    #[test]
    fn clean_path_cleans_from_the_root() {
        for (path, cleaned) in [
            ("", "/"),
            (".", "/"),
            ("a/b", "/a/b"),
            ("/a/./b/", "/a/b"),
            ("../x", "/x"),
            ("a/../../b", "/b"),
            ("//a//b", "/a/b"),
            ("src/*.txt", "/src/*.txt"),
        ] {
            assert_eq!(super::clean_path(path), cleaned, "{path:?}");
        }
    }
}
