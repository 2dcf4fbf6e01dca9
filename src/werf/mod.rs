//! werf.yaml support. For now only the Go text/template engine that renders it.

pub mod template;
