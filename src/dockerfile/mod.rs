//! Dockerfile parsing: directives, lines, heredocs, typed instructions and word expansion.
pub mod shell;
