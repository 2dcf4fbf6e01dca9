//! Reading typed values out of YAML nodes, each failure a located [`ConfigError`]:
//! the key or value it is about, what was expected, and the keys a mapping allows.

use std::collections::BTreeMap;

use crate::diag::Span;

use super::error::ConfigError;
use super::yaml::{Kind, Node};

/// A mapping whose keys were checked against the allowed ones.
pub(super) struct Fields<'n> {
    entries: &'n [(Node, Node)],
}

/// The mapping in `node`, refusing any key not in `allowed`.
pub(super) fn fields<'n>(
    node: &'n Node,
    what: &str,
    allowed: &[&str],
) -> Result<Fields<'n>, ConfigError> {
    let Kind::Map(entries) = &node.kind else {
        return Err(wrong_type(node, what, "a mapping"));
    };
    for (index, (key, _)) in entries.iter().enumerate() {
        let name = key.scalar_text().unwrap_or_default();
        if !allowed.contains(&name.as_str()) {
            return Err(ConfigError::new(
                key.span,
                format!(
                    "unknown key {name:?} in {what}; allowed keys: {}",
                    allowed.join(", ")
                ),
            ));
        }
        if entries[..index]
            .iter()
            .any(|(k, _)| k.scalar_text().as_deref() == Some(&name))
        {
            return Err(ConfigError::new(
                key.span,
                format!("duplicate key {name:?} in {what}"),
            ));
        }
    }
    Ok(Fields { entries })
}

pub(super) fn wrong_type(node: &Node, what: &str, expected: &str) -> ConfigError {
    ConfigError::new(
        node.span,
        format!("{what} must be {expected}, not {}", node.kind.type_name()),
    )
}

impl<'n> Fields<'n> {
    pub(super) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The value under `key`; an explicit `null` counts as absent.
    pub(super) fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.scalar_text().as_deref() == Some(key))
            .map(|(_, v)| v)
            .filter(|v| v.kind != Kind::Null)
    }

    /// Where `key` is written (for errors about it), if present.
    pub(super) fn key_span(&self, key: &str) -> Option<Span> {
        self.entries
            .iter()
            .find(|(k, _)| k.scalar_text().as_deref() == Some(key))
            .map(|(k, _)| k.span)
    }

    pub(super) fn string(&self, key: &str) -> Result<Option<Located<String>>, ConfigError> {
        self.get(key).map(|node| string(node, key)).transpose()
    }

    pub(super) fn bool(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Node {
                kind: Kind::Bool(b),
                ..
            }) => Ok(Some(*b)),
            Some(node) => Err(wrong_type(node, key, "true or false")),
        }
    }

    /// A string or a list of strings (werf accepts both for paths and commands).
    pub(super) fn strings(&self, key: &str) -> Result<Vec<Located<String>>, ConfigError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(node) => strings(node, key),
        }
    }

    /// A mapping of scalars (`ENV`, `LABEL`), in document order.
    pub(super) fn string_map(&self, key: &str) -> Result<BTreeMap<String, String>, ConfigError> {
        let Some(node) = self.get(key) else {
            return Ok(BTreeMap::new());
        };
        let Kind::Map(entries) = &node.kind else {
            return Err(wrong_type(node, key, "a mapping"));
        };
        entries
            .iter()
            .map(|(k, v)| {
                let name = string(k, key)?.value;
                let value = match &v.kind {
                    Kind::Null => String::new(),
                    _ => string(v, &format!("{key}.{name}"))?.value,
                };
                Ok((name, value))
            })
            .collect()
    }

    /// A list of mappings (`git`, `import`, `mount`).
    pub(super) fn list(&self, key: &str) -> Result<&'n [Node], ConfigError> {
        match self.get(key) {
            None => Ok(&[]),
            Some(Node {
                kind: Kind::Seq(items),
                ..
            }) => Ok(items),
            Some(node) => Err(wrong_type(node, key, "a list")),
        }
    }
}

/// A value with where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub span: Span,
}

pub(super) fn string(node: &Node, what: &str) -> Result<Located<String>, ConfigError> {
    node.scalar_text()
        .map(|value| Located {
            value,
            span: node.span,
        })
        .ok_or_else(|| wrong_type(node, what, "a string"))
}

pub(super) fn strings(node: &Node, what: &str) -> Result<Vec<Located<String>>, ConfigError> {
    match &node.kind {
        Kind::Null => Ok(Vec::new()),
        Kind::Seq(items) => items
            .iter()
            .map(|item| string(item, what).map_err(|_| wrong_type(item, what, "a list of strings")))
            .collect(),
        _ => string(node, what)
            .map(|s| vec![s])
            .map_err(|_| wrong_type(node, what, "a string or a list of strings")),
    }
}
