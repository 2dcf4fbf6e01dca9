//! The parity machinery: cases, docker operations, and the comparisons of image config,
//! history, filesystem listing and build targets.

pub mod case;
pub mod config;
pub mod docker;
pub mod history;
pub mod http;
pub mod listing;
pub mod targets;
