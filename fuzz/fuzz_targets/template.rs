//! `cargo fuzz run template`: any text through the werf.yaml template engine must
//! give output or an error, never a panic or a stack overflow.

#![no_main]

use std::collections::BTreeMap;
use std::sync::Arc;

use conveyor::werf::template::{MemoryFiles, TemplateEnv, render};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut files = MemoryFiles::default();
    files.files.insert("f.txt".into(), "content".into());
    files.files.insert(".werf/p.tmpl".into(), "{{ . }}".into());
    let env = TemplateEnv {
        env: "dev".into(),
        commit: None,
        files: Arc::new(files),
        env_vars: BTreeMap::new(),
    };
    if let Err(error) = render("werf.yaml", text, &env) {
        assert!(!error.to_string().contains("panicked"), "{error}");
    }
});
