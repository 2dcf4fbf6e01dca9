//! The texts BuildKit shows for instructions: the `Original` logical line, a rendering
//! of a parsed instruction when there is no text, and what decides the vertex prefix.

use crate::dockerfile::{self, Command, Instruction};
use crate::graph::{Base, StageGraph};

/// The first word upper-cased (BuildKit's `uppercaseCmd`).
pub(super) fn uppercase_command(text: &str) -> String {
    let mut out = text.to_string();
    let keyword_end = text.find(' ').unwrap_or(text.len());
    out[..keyword_end].make_ascii_uppercase();
    out
}

/// An instruction's logical line: physical lines joined where they end in the escape
/// token, comment and empty lines inside the continuation skipped, trimmed.
pub(super) fn logical_line(text: &str, escape: char) -> String {
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        let trimmed = line.trim_start();
        if i > 0 && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        let without_ws = line.trim_end();
        match without_ws.strip_suffix(escape) {
            Some(piece) => out.push_str(piece),
            None => {
                out.push_str(line);
                break;
            }
        }
    }
    let trimmed = out.trim();
    if trimmed.len() == out.len() {
        out
    } else {
        trimmed.to_string()
    }
}

/// The instruction written back from its parsed form, for names when the caller gave
/// no Dockerfile text: keyword, the flags that matter for COPY/ADD, and the arguments
/// as written (RUN's `--mount` flags are left out).
pub(super) fn reconstructed_text(instruction: &Instruction) -> String {
    let keyword = instruction.keyword().name();
    let command_line = |line: &dockerfile::CommandLine| match line {
        dockerfile::CommandLine::Shell(text) => text.clone(),
        dockerfile::CommandLine::Exec(args) => {
            serde_json::to_string(args).expect("a list of strings is JSON")
        }
    };
    let mut words: Vec<String> = vec![keyword.to_string()];
    let flag = |name: &str, word: &Option<dockerfile::Word>| {
        word.as_ref().map(|w| format!("--{name}={}", w.text))
    };
    let sources = |sources: &dockerfile::Sources, words: &mut Vec<String>| {
        words.extend(sources.paths.iter().map(|w| w.text.clone()));
        words.extend(sources.heredocs.iter().map(|h| format!("<<{}", h.name)));
        words.push(sources.dest.text.clone());
    };
    match &instruction.command {
        Command::Run(run) => words.push(command_line(&run.command)),
        Command::Copy(copy) => {
            words.extend(flag("from", &copy.from));
            words.extend(flag("chown", &copy.chown));
            words.extend(flag("chmod", &copy.chmod));
            if copy.link {
                words.push("--link".into());
            }
            if copy.parents {
                words.push("--parents".into());
            }
            sources(&copy.sources, &mut words);
        }
        Command::Add(add) => {
            words.extend(flag("chown", &add.chown));
            words.extend(flag("chmod", &add.chmod));
            if add.link {
                words.push("--link".into());
            }
            sources(&add.sources, &mut words);
        }
        Command::Workdir(word) => words.push(word.text.clone()),
        _ => {}
    }
    words.join(" ")
}

/// Sources BuildKit turns into states of their own besides the stages: each
/// `COPY --from` that names no stage and each RUN `--mount` whose `from` names no stage
/// (a mount without `from` counts too: BuildKit looks up "scratch" for it).
pub(super) fn count_unregistered_sources(graph: &StageGraph) -> usize {
    let mut count = 0;
    for stage in &graph.stages {
        for step in &stage.steps {
            match &step.instruction.command {
                Command::Copy(_) => {
                    count += usize::from(matches!(
                        step.copy_from(),
                        Some(Base::Image { .. } | Base::Scratch)
                    ));
                }
                Command::Run(run) => {
                    for index in 0..run.mounts.len() {
                        count +=
                            usize::from(!matches!(step.mount_from(index), Some(Base::Stage(_))));
                    }
                }
                _ => {}
            }
        }
    }
    count
}
