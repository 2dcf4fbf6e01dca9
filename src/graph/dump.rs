//! `StageGraph::dump()`: one line per fact, for diffs in golden tests.

use std::fmt::Write;

use super::{Base, Selection, StageGraph, Via};

pub(super) fn dump(graph: &StageGraph, selection: Option<&Selection>) -> String {
    let mut out = String::new();
    for arg in &graph.meta_args {
        match &arg.value {
            Some(value) => writeln!(out, "meta-arg {} = {value:?}", arg.name),
            None => writeln!(out, "meta-arg {} unset", arg.name),
        }
        .expect("write to String");
    }
    for stage in &graph.stages {
        let _ = write!(out, "stage {} {:?}", stage.index, stage.display_name());
        let _ = write!(out, " base {}", base_text(graph, &stage.base));
        if let Some(platform) = &stage.platform {
            let _ = write!(out, " platform {platform:?}");
        }
        let _ = writeln!(out, " @{}..{}", stage.span.start, stage.span.end);
        for step in &stage.steps {
            let _ = write!(
                out,
                "  {} @{}..{}",
                step.instruction.keyword().name(),
                step.instruction.span.start,
                step.instruction.span.end
            );
            for dependency in &step.dependencies {
                let via = match dependency.via {
                    Via::CopyFrom => "--from".to_string(),
                    Via::Mount(index) => format!("mount#{index}"),
                };
                let _ = write!(out, " {via}={}", base_text(graph, &dependency.on));
            }
            out.push('\n');
        }
    }
    if let Some(selection) = selection {
        let order: Vec<String> = selection
            .order
            .iter()
            .map(|id| graph.stage(*id).display_name())
            .collect();
        let _ = writeln!(
            out,
            "target {:?}\norder {}",
            graph.stage(selection.target).display_name(),
            order.join(" ")
        );
        let images: Vec<String> = graph
            .external_images(selection)
            .iter()
            .map(|r| format!("{r:?}"))
            .collect();
        let _ = writeln!(out, "images [{}]", images.join(", "));
    }
    out
}

fn base_text(graph: &StageGraph, base: &Base) -> String {
    match base {
        Base::Image { reference, .. } => format!("image {reference:?}"),
        Base::Stage(id) => format!("stage {:?}", graph.stage(*id).display_name()),
        Base::Scratch => "scratch".into(),
    }
}
