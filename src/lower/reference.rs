//! Image reference normalisation as `docker` and BuildKit do it (distribution's
//! `ParseNormalizedNamed` + `TagNameOnly`): `busybox` → `docker.io/library/busybox:latest`.

/// The fully qualified form of an image reference: registry domain, path (with
/// `library/` for official Docker Hub images), and `:latest` when neither tag nor digest
/// is given. Case and syntax are not validated: the daemon does that when resolving.
pub fn normalize_reference(reference: &str) -> String {
    let (name, digest) = match reference.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (reference, None),
    };
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (path, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    let (domain, remainder) = match path.split_once('/') {
        Some((first, rest))
            if first.contains('.')
                || first.contains(':')
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (first, rest.to_string())
        }
        _ => ("docker.io", path.to_string()),
    };
    let domain = if domain == "index.docker.io" {
        "docker.io"
    } else {
        domain
    };
    let remainder = if domain == "docker.io" && !remainder.contains('/') {
        format!("library/{remainder}")
    } else {
        remainder
    };
    let mut out = format!("{domain}/{remainder}");
    match (tag, digest) {
        (Some(tag), _) => {
            out.push(':');
            out.push_str(tag);
        }
        (None, None) => out.push_str(":latest"),
        (None, Some(_)) => {}
    }
    if let Some(digest) = digest {
        out.push('@');
        out.push_str(digest);
    }
    out
}

/// The normalised reference pinned to `digest` (the tag stays, as BuildKit writes it).
pub fn pin_reference(reference: &str, digest: &str) -> String {
    let normalized = normalize_reference(reference);
    let name = normalized
        .split_once('@')
        .map_or(normalized.as_str(), |(n, _)| n);
    if digest.is_empty() {
        name.to_string()
    } else {
        format!("{name}@{digest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_docker() {
        let cases = [
            ("busybox", "docker.io/library/busybox:latest"),
            ("busybox:1.36", "docker.io/library/busybox:1.36"),
            ("library/busybox", "docker.io/library/busybox:latest"),
            ("user/app:v1", "docker.io/user/app:v1"),
            (
                "127.0.0.1:5000/busybox:latest",
                "127.0.0.1:5000/busybox:latest",
            ),
            ("localhost/app", "localhost/app:latest"),
            ("localhost:5000/a/b", "localhost:5000/a/b:latest"),
            ("ghcr.io/o/r@sha256:ab", "ghcr.io/o/r@sha256:ab"),
            ("alpine:3@sha256:ab", "docker.io/library/alpine:3@sha256:ab"),
            ("index.docker.io/library/x", "docker.io/library/x:latest"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_reference(input), want, "{input}");
        }
        assert_eq!(
            pin_reference("busybox", "sha256:cd"),
            "docker.io/library/busybox:latest@sha256:cd"
        );
    }
}
