//! `RUN --mount=type=…,key=value,…`, after BuildKit's `instructions/commands_runmount.go`.
//!
//! Values are kept as written: BuildKit expands `$VAR` in them when the RUN is
//! dispatched, so `target=$HOME/.cache` or `uid=$UID` are legal and only a later pass
//! knows their value. Numeric values (`mode`, `uid`, `gid`, `size`) are checked here
//! when they hold no `$`. The keys that choose behaviour (`type`, `sharing`, `ro`/`rw`,
//! `required`) must be literal, which is stricter than BuildKit.

use super::error::{ParseError, suggest};
use super::instructions::Word;
use crate::diag::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountType {
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

impl MountType {
    pub fn name(self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Cache => "cache",
            MountType::Tmpfs => "tmpfs",
            MountType::Secret => "secret",
            MountType::Ssh => "ssh",
        }
    }
}

/// `sharing=` of a cache mount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sharing {
    Shared,
    Private,
    Locked,
}

impl Sharing {
    pub fn name(self) -> &'static str {
        match self {
            Sharing::Shared => "shared",
            Sharing::Private => "private",
            Sharing::Locked => "locked",
        }
    }
}

/// One `--mount`. String values are unexpanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    pub kind: MountType,
    /// `target`, `dst`, `destination`.
    pub target: Option<String>,
    /// `source`, `src`.
    pub source: Option<String>,
    /// A stage name or image (not expanded, as in BuildKit).
    pub from: Option<String>,
    /// Cache id or secret/ssh id.
    pub id: Option<String>,
    pub sharing: Option<Sharing>,
    /// Resolved: explicit `ro`/`rw`, else read-only except for cache and tmpfs.
    pub readonly: bool,
    /// Secret and ssh mounts only.
    pub required: bool,
    /// Tmpfs size limit, as written (`64m`).
    pub size: Option<String>,
    /// Octal file mode, as written.
    pub mode: Option<String>,
    pub uid: Option<String>,
    pub gid: Option<String>,
    /// Secret exposed as this environment variable.
    pub env: Option<String>,
    /// The `--mount=…` value.
    pub span: Span,
}

impl Mount {
    /// The values BuildKit expands when the RUN runs (all but `from`).
    pub fn expandable_values(&self) -> Vec<&str> {
        [
            &self.target,
            &self.source,
            &self.id,
            &self.size,
            &self.mode,
            &self.uid,
            &self.gid,
            &self.env,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect()
    }
}

const KEYS: &[&str] = &[
    "type",
    "from",
    "source",
    "src",
    "target",
    "dst",
    "destination",
    "readonly",
    "ro",
    "readwrite",
    "rw",
    "id",
    "sharing",
    "required",
    "size",
    "mode",
    "uid",
    "gid",
    "env",
];

pub(crate) fn parse_mount(value: &Word) -> Result<Mount, ParseError> {
    // A field's own span when the value is the source text byte for byte; when quotes,
    // escapes or a line continuation made them differ, offsets in the text do not map
    // to the source, so the error takes the value's span.
    let error_at = |message: String, start: usize, end: usize| {
        let span = if value.span.len() == value.text.len() {
            Span::new(value.span.start + start, value.span.start + end)
        } else {
            value.span
        };
        ParseError::Mount { message, span }
    };
    let whole = |message: String| ParseError::Mount {
        message,
        span: value.span,
    };
    let fields = csv_fields(&value.text).map_err(whole)?;
    let mut mount = Mount {
        kind: MountType::Bind,
        target: None,
        source: None,
        from: None,
        id: None,
        sharing: None,
        readonly: false,
        required: false,
        size: None,
        mode: None,
        uid: None,
        gid: None,
        env: None,
        span: value.span,
    };
    let mut readonly_set = false;
    for (field, start, end) in fields {
        let field_error = |message: String| error_at(message, start, end);
        let (key, val) = match field.split_once('=') {
            Some((key, val)) => (key.to_ascii_lowercase(), Some(val.to_string())),
            None => (field.to_ascii_lowercase(), None),
        };
        let flag = |val: &Option<String>| -> Result<bool, ParseError> {
            match val {
                None => Ok(true),
                Some(v) => parse_bool(v).ok_or_else(|| {
                    field_error(format!(
                        "invalid value for {key}: {v:?} (expected true or false)"
                    ))
                }),
            }
        };
        match key.as_str() {
            "readonly" | "ro" => {
                mount.readonly = flag(&val)?;
                readonly_set = true;
                continue;
            }
            "readwrite" | "rw" => {
                mount.readonly = !flag(&val)?;
                readonly_set = true;
                continue;
            }
            "required" => {
                if !matches!(mount.kind, MountType::Secret | MountType::Ssh) {
                    return Err(field_error(format!(
                        "unexpected key 'required' for mount type '{}' (only secret and ssh)",
                        mount.kind.name()
                    )));
                }
                mount.required = flag(&val)?;
                continue;
            }
            _ => {}
        }
        let Some(val) = val else {
            return Err(field_error(format!(
                "invalid field '{field}': expected a key=value pair"
            )));
        };
        let literal = !val.contains('$');
        match key.as_str() {
            "type" => {
                mount.kind = match val.to_ascii_lowercase().as_str() {
                    "bind" => MountType::Bind,
                    "cache" => MountType::Cache,
                    "tmpfs" => MountType::Tmpfs,
                    "secret" => MountType::Secret,
                    "ssh" => MountType::Ssh,
                    _ => {
                        return Err(field_error(format!(
                            "unsupported mount type {val:?} (expected one of bind, cache, tmpfs, secret, ssh)"
                        )));
                    }
                }
            }
            "from" => {
                if val.find('$').is_some_and(|at| at + 1 != val.len()) {
                    return Err(field_error(
                        "'from' doesn't support variable expansion, define alias stage instead"
                            .to_string(),
                    ));
                }
                mount.from = Some(val);
            }
            "source" | "src" => mount.source = Some(val),
            "target" | "dst" | "destination" => mount.target = Some(val),
            "id" => mount.id = Some(val),
            "env" => mount.env = Some(val),
            "sharing" => {
                mount.sharing = Some(match val.to_ascii_lowercase().as_str() {
                    "shared" => Sharing::Shared,
                    "private" => Sharing::Private,
                    "locked" => Sharing::Locked,
                    _ => {
                        return Err(field_error(format!(
                            "unsupported sharing value {val:?} (expected one of shared, private, locked)"
                        )));
                    }
                })
            }
            "size" => {
                if mount.kind != MountType::Tmpfs {
                    return Err(field_error(format!(
                        "unexpected key 'size' for mount type '{}' (only tmpfs)",
                        mount.kind.name()
                    )));
                }
                if literal && !is_byte_size(&val) {
                    return Err(field_error(format!("invalid value for size: {val:?}")));
                }
                mount.size = Some(val);
            }
            "mode" => {
                if literal && u32::from_str_radix(&val, 8).is_err() {
                    return Err(field_error(format!(
                        "invalid value {val:?} for mode (expected octal)"
                    )));
                }
                mount.mode = Some(val);
            }
            "uid" | "gid" => {
                if literal && val.parse::<u32>().is_err() {
                    return Err(field_error(format!("invalid value {val:?} for {key}")));
                }
                if key == "uid" {
                    mount.uid = Some(val);
                } else {
                    mount.gid = Some(val);
                }
            }
            _ => {
                let hint = suggest(&key, KEYS)
                    .map(|s| format!("; did you mean {s}?"))
                    .unwrap_or_default();
                return Err(field_error(format!(
                    "unexpected key '{key}' in '{field}' (expected one of {}){hint}",
                    KEYS.join(", ")
                )));
            }
        }
    }
    check(&mount).map_err(whole)?;
    if !readonly_set {
        mount.readonly = !matches!(mount.kind, MountType::Cache | MountType::Tmpfs);
    }
    Ok(mount)
}

fn check(mount: &Mount) -> Result<(), String> {
    let kind = mount.kind.name();
    if !matches!(
        mount.kind,
        MountType::Secret | MountType::Ssh | MountType::Cache
    ) {
        for (key, set) in [
            ("mode", mount.mode.is_some()),
            ("uid", mount.uid.is_some()),
            ("gid", mount.gid.is_some()),
        ] {
            if set {
                return Err(format!("{key} not allowed for {kind:?} type mounts"));
            }
        }
    }
    if mount.kind == MountType::Secret {
        if mount.from.is_some() {
            return Err("secret mount should not have a from".to_string());
        }
        if mount.sharing.is_some() {
            return Err("secret mount should not define sharing".to_string());
        }
        if mount.source.is_none() && mount.target.is_none() && mount.id.is_none() {
            return Err("secret mount needs one of id, source or target".to_string());
        }
        if mount.source.is_some() && mount.id.is_some() {
            return Err("secret mount can't have both source and id".to_string());
        }
    }
    if mount.sharing.is_some() && mount.kind != MountType::Cache {
        return Err(format!("sharing is only for cache mounts, not {kind}"));
    }
    Ok(())
}

/// Go's `strconv.ParseBool`.
fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// A size as docker's `units.RAMInBytes` reads it: a number and an optional unit
/// (`b`, `k`, `kb`, `kib`, … up to `p`), any case.
fn is_byte_size(value: &str) -> bool {
    let number_end = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(number_end);
    if number.parse::<f64>().is_err() {
        return false;
    }
    let unit = unit.trim_start().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    matches!(unit, "" | "k" | "m" | "g" | "t" | "p")
}

/// Comma-separated fields with CSV quoting (`"a,b"`, `""` for a quote), each with the
/// byte range it takes in `text`, quotes included.
fn csv_fields(text: &str) -> Result<Vec<(String, usize, usize)>, String> {
    let mut fields = Vec::new();
    let mut chars = text.char_indices().peekable();
    loop {
        let start = chars.peek().map_or(text.len(), |&(i, _)| i);
        let mut field = String::new();
        if chars.peek().is_some_and(|&(_, c)| c == '"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(format!("unclosed quote in {text:?}")),
                    Some((_, '"')) if chars.peek().is_some_and(|&(_, c)| c == '"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some((_, '"')) => break,
                    Some((_, c)) => field.push(c),
                }
            }
            let end = chars.peek().map_or(text.len(), |&(i, _)| i);
            match chars.next() {
                None => {
                    fields.push((field, start, end));
                    return Ok(fields);
                }
                Some((_, ',')) => fields.push((field, start, end)),
                Some((_, c)) => {
                    return Err(format!("unexpected {c:?} after a quoted field in {text:?}"));
                }
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push((field, start, text.len()));
                        return Ok(fields);
                    }
                    Some((end, ',')) => {
                        fields.push((field, start, end));
                        break;
                    }
                    Some((_, '"')) => return Err(format!("bare \" in a field of {text:?}")),
                    Some((_, c)) => field.push(c),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(text: &str) -> Result<Mount, String> {
        let word = Word {
            text: text.to_string(),
            span: Span::new(0, text.len()),
        };
        parse_mount(&word).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_to_read_only_bind() {
        let m = mount("target=/src").unwrap();
        assert_eq!(m.kind, MountType::Bind);
        assert_eq!(m.target.as_deref(), Some("/src"));
        assert!(m.readonly);
    }

    #[test]
    fn cache_is_writable_with_sharing_and_file_info() {
        let m = mount(
            "type=cache,id=go,target=/root/.cache,sharing=locked,mode=0755,uid=1000,gid=$GID",
        )
        .unwrap();
        assert_eq!(m.kind, MountType::Cache);
        assert!(!m.readonly);
        assert_eq!(m.sharing, Some(Sharing::Locked));
        assert_eq!(m.mode.as_deref(), Some("0755"));
        assert_eq!(m.gid.as_deref(), Some("$GID"));
    }

    #[test]
    fn key_aliases_and_flags() {
        let m = mount("type=bind,src=a,dst=/b,from=build,rw").unwrap();
        assert_eq!(
            (m.source.as_deref(), m.target.as_deref()),
            (Some("a"), Some("/b"))
        );
        assert_eq!(m.from.as_deref(), Some("build"));
        assert!(!m.readonly);
        let m = mount("type=tmpfs,destination=/t,size=64m,ro=true").unwrap();
        assert_eq!(m.size.as_deref(), Some("64m"));
        assert!(m.readonly);
        let m = mount("type=secret,id=tok,env=TOKEN,required").unwrap();
        assert!(m.required);
        assert_eq!(m.env.as_deref(), Some("TOKEN"));
        let m = mount("type=ssh,required=false").unwrap();
        assert!(!m.required);
    }

    #[test]
    fn errors_name_what_was_expected() {
        let check = |text: &str, expected: &str| {
            assert_eq!(
                mount(text).unwrap_err(),
                format!("invalid --mount: {expected}")
            );
        };
        check(
            "type=volume",
            "unsupported mount type \"volume\" (expected one of bind, cache, tmpfs, secret, ssh)",
        );
        check(
            "type=cache,tagret=/x",
            "unexpected key 'tagret' in 'tagret=/x' (expected one of type, from, source, src, target, dst, destination, readonly, ro, readwrite, rw, id, sharing, required, size, mode, uid, gid, env); did you mean target?",
        );
        check(
            "type=bind,mode=0644",
            "mode not allowed for \"bind\" type mounts",
        );
        check(
            "type=cache,size=1g",
            "unexpected key 'size' for mount type 'cache' (only tmpfs)",
        );
        check(
            "required,type=secret,id=x",
            "unexpected key 'required' for mount type 'bind' (only secret and ssh)",
        );
        check(
            "type=secret",
            "secret mount needs one of id, source or target",
        );
        check(
            "type=secret,id=a,src=b",
            "secret mount can't have both source and id",
        );
        check(
            "type=bind,sharing=locked",
            "sharing is only for cache mounts, not bind",
        );
        check(
            "type=cache,sharing=all",
            "unsupported sharing value \"all\" (expected one of shared, private, locked)",
        );
        check("type=cache,uid=me", "invalid value \"me\" for uid");
        check(
            "type=cache,mode=9",
            "invalid value \"9\" for mode (expected octal)",
        );
        check("type=tmpfs,size=lots", "invalid value for size: \"lots\"");
        check(
            "from=$STAGE",
            "'from' doesn't support variable expansion, define alias stage instead",
        );
        check(
            "ro=maybe",
            "invalid value for ro: \"maybe\" (expected true or false)",
        );
        check(
            "target",
            "invalid field 'target': expected a key=value pair",
        );
    }

    #[test]
    fn csv_quoting() {
        let fields = csv_fields("a=1,\"b=2,3\",c=\"\"").unwrap_err();
        assert!(fields.contains("bare"), "{fields}");
        let text = "a=1,\"b=2,3\",\"c=\"\"x\"\"\"";
        let fields = csv_fields(text).unwrap();
        let texts: Vec<&str> = fields.iter().map(|(f, _, _)| f.as_str()).collect();
        assert_eq!(texts, ["a=1", "b=2,3", "c=\"x\""]);
        assert_eq!((fields[0].1, fields[0].2), (0, 3));
        assert_eq!((fields[1].1, fields[1].2), (4, 11));
        assert_eq!((fields[2].1, fields[2].2), (12, text.len()));
    }
}
