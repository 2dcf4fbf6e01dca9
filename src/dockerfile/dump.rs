//! `Dockerfile::dump()`: one line per fact, indented by nesting, strings quoted Rust-style,
//! spans as byte ranges `@start..end`. Made for diffs in golden tests, not for parsing.

use std::fmt::Write;

use super::instructions::*;
use super::{Dockerfile, Stage};
use crate::diag::Span;

pub(super) fn dump(dockerfile: &Dockerfile) -> String {
    let mut out = Dump::default();
    for directive in &dockerfile.directives {
        out.line(
            0,
            format!("directive {} {:?}", directive.name, directive.value),
            directive.span,
        );
    }
    out.plain(0, format!("escape {:?}", dockerfile.escape));
    for arg in &dockerfile.meta_args {
        out.line(0, format!("meta-arg {}", arg_text(arg)), arg.name.span);
    }
    for stage in &dockerfile.stages {
        stage_dump(&mut out, stage);
    }
    out.text
}

#[derive(Default)]
struct Dump {
    text: String,
}

impl Dump {
    fn line(&mut self, indent: usize, text: String, span: Span) {
        let _ = writeln!(
            self.text,
            "{}{text} @{}..{}",
            "  ".repeat(indent),
            span.start,
            span.end
        );
    }

    fn plain(&mut self, indent: usize, text: String) {
        let _ = writeln!(self.text, "{}{text}", "  ".repeat(indent));
    }

    fn word(&mut self, indent: usize, label: &str, word: &Word) {
        self.line(indent, format!("{label} {:?}", word.text), word.span);
    }

    fn opt_word(&mut self, indent: usize, label: &str, word: &Option<Word>) {
        if let Some(word) = word {
            self.word(indent, label, word);
        }
    }
}

fn stage_dump(out: &mut Dump, stage: &Stage) {
    let name = match &stage.name {
        Some(name) => format!(" name={name:?}"),
        None => String::new(),
    };
    out.line(0, format!("stage {}{name}", stage.index), stage.span);
    out.word(1, "from", &stage.from);
    out.opt_word(1, "platform", &stage.platform);
    for instruction in &stage.instructions {
        instruction_dump(out, 1, instruction);
    }
}

fn arg_text(arg: &ArgDecl) -> String {
    match &arg.default {
        Some(default) => format!("{:?} default={:?}", arg.name.text, default.text),
        None => format!("{:?}", arg.name.text),
    }
}

fn command_line_text(command: &CommandLine) -> String {
    match command {
        CommandLine::Exec(words) => format!("exec {words:?}"),
        CommandLine::Shell(line) => format!("shell {line:?}"),
    }
}

fn instruction_dump(out: &mut Dump, indent: usize, instruction: &Instruction) {
    let keyword = instruction.keyword().name();
    let inner = indent + 1;
    match &instruction.command {
        Command::From(from) => {
            out.line(indent, keyword.to_string(), instruction.span);
            out.word(inner, "image", &from.image);
            out.opt_word(inner, "platform", &from.platform);
            out.opt_word(inner, "name", &from.name);
        }
        Command::Run(run) => {
            out.line(
                indent,
                format!("{keyword} {}", command_line_text(&run.command)),
                instruction.span,
            );
            for mount in &run.mounts {
                out.line(inner, mount_text(mount), mount.span);
            }
            if let Some(network) = run.network {
                out.plain(inner, format!("network {network:?}"));
            }
            if let Some(security) = run.security {
                out.plain(inner, format!("security {security:?}"));
            }
            heredocs_dump(out, inner, &run.heredocs);
        }
        Command::Cmd(command) | Command::Entrypoint(command) => {
            out.line(
                indent,
                format!("{keyword} {}", command_line_text(command)),
                instruction.span,
            );
        }
        Command::Label(pairs) | Command::Env(pairs) => {
            out.line(indent, keyword.to_string(), instruction.span);
            for pair in pairs {
                let legacy = if pair.legacy { " (legacy form)" } else { "" };
                out.line(
                    inner,
                    format!("{:?}={:?}{legacy}", pair.key.text, pair.value.text),
                    pair.key.span.cover(pair.value.span),
                );
            }
        }
        Command::Maintainer(word)
        | Command::User(word)
        | Command::Workdir(word)
        | Command::StopSignal(word) => {
            out.line(
                indent,
                format!("{keyword} {:?}", word.text),
                instruction.span,
            );
        }
        Command::Expose(words) | Command::Volume(words) => {
            out.line(indent, keyword.to_string(), instruction.span);
            for word in words {
                out.word(inner, "-", word);
            }
        }
        Command::Add(add) => {
            out.line(indent, keyword.to_string(), instruction.span);
            out.opt_word(inner, "chown", &add.chown);
            out.opt_word(inner, "chmod", &add.chmod);
            if add.link {
                out.plain(inner, "link".to_string());
            }
            if let Some(keep) = add.keep_git_dir {
                out.plain(inner, format!("keep-git-dir {keep}"));
            }
            out.opt_word(inner, "checksum", &add.checksum);
            if let Some(unpack) = add.unpack {
                out.plain(inner, format!("unpack {unpack}"));
            }
            for exclude in &add.exclude {
                out.word(inner, "exclude", exclude);
            }
            sources_dump(out, inner, &add.sources);
        }
        Command::Copy(copy) => {
            out.line(indent, keyword.to_string(), instruction.span);
            out.opt_word(inner, "from", &copy.from);
            out.opt_word(inner, "chown", &copy.chown);
            out.opt_word(inner, "chmod", &copy.chmod);
            if copy.link {
                out.plain(inner, "link".to_string());
            }
            if copy.parents {
                out.plain(inner, "parents".to_string());
            }
            for exclude in &copy.exclude {
                out.word(inner, "exclude", exclude);
            }
            sources_dump(out, inner, &copy.sources);
        }
        Command::Arg(args) => {
            out.line(indent, keyword.to_string(), instruction.span);
            for arg in args {
                out.line(inner, arg_text(arg), arg.name.span);
            }
        }
        Command::Onbuild(onbuild) => {
            out.line(
                indent,
                format!("{keyword} {:?}", onbuild.expression),
                instruction.span,
            );
            instruction_dump(out, inner, &onbuild.trigger);
        }
        Command::Healthcheck(Healthcheck::None) => {
            out.line(indent, format!("{keyword} NONE"), instruction.span);
        }
        Command::Healthcheck(Healthcheck::Cmd(check)) => {
            out.line(
                indent,
                format!("{keyword} CMD {}", command_line_text(&check.command)),
                instruction.span,
            );
            for (label, value) in [
                ("interval", check.interval),
                ("timeout", check.timeout),
                ("start-period", check.start_period),
                ("start-interval", check.start_interval),
            ] {
                if let Some(value) = value {
                    out.plain(inner, format!("{label} {value:?}"));
                }
            }
            if let Some(retries) = check.retries {
                out.plain(inner, format!("retries {retries}"));
            }
        }
        Command::Shell(shell) => {
            out.line(indent, format!("{keyword} {shell:?}"), instruction.span);
        }
    }
}

fn sources_dump(out: &mut Dump, indent: usize, sources: &Sources) {
    for path in &sources.paths {
        out.word(indent, "src", path);
    }
    heredocs_dump(out, indent, &sources.heredocs);
    out.word(indent, "dest", &sources.dest);
}

fn heredocs_dump(out: &mut Dump, indent: usize, heredocs: &[Heredoc]) {
    for heredoc in heredocs {
        let mut attributes = String::new();
        if !heredoc.expand {
            attributes.push_str(" no-expand");
        }
        if heredoc.chomp {
            attributes.push_str(" chomp");
        }
        if let Some(fd) = heredoc.fd {
            let _ = write!(attributes, " fd={fd}");
        }
        out.line(
            indent,
            format!(
                "heredoc {:?}{attributes} {:?}",
                heredoc.name, heredoc.content
            ),
            heredoc.span,
        );
    }
}

fn mount_text(mount: &Mount) -> String {
    let mut text = format!("mount type={}", mount.kind.name());
    for (key, value) in [
        ("target", &mount.target),
        ("source", &mount.source),
        ("from", &mount.from),
        ("id", &mount.id),
        ("size", &mount.size),
        ("mode", &mount.mode),
        ("uid", &mount.uid),
        ("gid", &mount.gid),
        ("env", &mount.env),
    ] {
        if let Some(value) = value {
            let _ = write!(text, " {key}={value:?}");
        }
    }
    if let Some(sharing) = mount.sharing {
        let _ = write!(text, " sharing={}", sharing.name());
    }
    let _ = write!(text, " readonly={}", mount.readonly);
    if mount.required {
        text.push_str(" required");
    }
    text
}
