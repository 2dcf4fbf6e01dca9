//! `no-cache` (`--no-cache`): the stock frontend marks each RUN and COPY/ADD op
//! `ignore_cache`, so they run again while base images still come from the cache.
//! Here the marking is done on the lowered definition: every exec and file op.
//! File ops also include WORKDIR's mkdir, which the stock frontend leaves cached;
//! running it again makes the same directory. FIXME: `no-cache=stage,…` (buildx's
//! `--no-cache-filter`) should mark only those stages' ops; every stage's are marked.

use crate::llb::Definition;
use crate::proto::pb::op::Op;

/// Marks every exec and file op of `definition` to be run again.
pub fn ignore_cache_of_runs_and_copies(definition: &mut Definition) {
    definition.ignore_cache_of(|op| matches!(op.op, Some(Op::Exec(_) | Op::File(_))));
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::llb::{Exec, ImageSource, OpOptions, Platform};

    #[test]
    fn marks_execs_and_file_ops_but_not_sources() {
        let image = ImageSource {
            reference: "docker.io/library/busybox:latest".into(),
            platform: Some(Platform::new("linux", "amd64", "")),
            ..Default::default()
        }
        .state();
        let ran = image
            .run(Exec {
                args: vec!["true".into()],
                cwd: "/".into(),
                ..Default::default()
            })
            .root();
        let made = ran.file(
            vec![crate::llb::FileAction::MkFile(crate::llb::MkFile {
                path: "/f".into(),
                mode: 0o644,
                data: Vec::new(),
                owner: None,
                timestamp: None,
            })],
            OpOptions::default(),
        );
        let mut definition = Definition::marshal(&made);
        ignore_cache_of_runs_and_copies(&mut definition);
        let definition = definition.to_pb();
        let kinds: Vec<(bool, &str)> = definition.def[..definition.def.len() - 1]
            .iter()
            .map(|bytes| {
                let op = crate::proto::pb::Op::decode(bytes.as_slice()).unwrap();
                let kind = match op.op {
                    Some(Op::Source(_)) => "source",
                    Some(Op::Exec(_)) => "exec",
                    Some(Op::File(_)) => "file",
                    _ => "other",
                };
                let ignored = definition
                    .metadata
                    .get(&crate::llb::digest_of(bytes))
                    .is_some_and(|m| m.ignore_cache);
                (ignored, kind)
            })
            .collect();
        assert_eq!(kinds, [(false, "source"), (true, "exec"), (true, "file")]);
    }
}
