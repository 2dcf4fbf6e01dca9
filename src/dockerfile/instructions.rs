//! Typed instructions, after BuildKit's `frontend/dockerfile/instructions`. Values are
//! kept unexpanded: which instructions expand `$VAR`, and when, is the business of the
//! pass that knows the variables ([`Keyword::expands_variables`] says which).

use std::time::Duration;

pub use super::mount::{Mount, MountType, Sharing};
pub use super::syntax::Heredoc;
use crate::diag::Span;

/// A piece of source text as written (quotes and `$VAR` intact) and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Keyword {
    From,
    Run,
    Cmd,
    Label,
    Maintainer,
    Expose,
    Env,
    Add,
    Copy,
    Entrypoint,
    Volume,
    User,
    Workdir,
    Arg,
    Onbuild,
    StopSignal,
    Healthcheck,
    Shell,
}

impl Keyword {
    pub const ALL: [Keyword; 18] = [
        Keyword::From,
        Keyword::Run,
        Keyword::Cmd,
        Keyword::Label,
        Keyword::Maintainer,
        Keyword::Expose,
        Keyword::Env,
        Keyword::Add,
        Keyword::Copy,
        Keyword::Entrypoint,
        Keyword::Volume,
        Keyword::User,
        Keyword::Workdir,
        Keyword::Arg,
        Keyword::Onbuild,
        Keyword::StopSignal,
        Keyword::Healthcheck,
        Keyword::Shell,
    ];

    pub const ALL_NAMES: [&'static str; 18] = [
        "FROM",
        "RUN",
        "CMD",
        "LABEL",
        "MAINTAINER",
        "EXPOSE",
        "ENV",
        "ADD",
        "COPY",
        "ENTRYPOINT",
        "VOLUME",
        "USER",
        "WORKDIR",
        "ARG",
        "ONBUILD",
        "STOPSIGNAL",
        "HEALTHCHECK",
        "SHELL",
    ];

    /// The upper-case name, as in the Dockerfile reference.
    pub fn name(self) -> &'static str {
        let index = Keyword::ALL
            .iter()
            .position(|&k| k == self)
            .unwrap_or_default();
        Keyword::ALL_NAMES[index]
    }

    /// Case-insensitive lookup.
    pub fn from_name(name: &str) -> Option<Keyword> {
        Keyword::ALL_NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
            .map(|i| Keyword::ALL[i])
    }

    /// Whether the frontend expands `$VAR` in this instruction's arguments (BuildKit's
    /// `SupportsSingleWordExpansion`, plus FROM and EXPOSE which its dispatcher expands).
    ///
    /// - FROM: image and `--platform`, with the meta ARGs only.
    /// - ADD, COPY: sources, destination, `--chown`, `--chmod`, ADD `--checksum`;
    ///   heredoc bodies when their delimiter is unquoted. Not COPY `--from`.
    /// - ENV, LABEL: keys and values. ARG: names and defaults.
    /// - EXPOSE: each word, split again after expansion ([`super::shell::Lexer::expand_words`]).
    /// - VOLUME: each word. USER, WORKDIR, STOPSIGNAL: the whole argument.
    ///
    /// RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK and MAINTAINER are left to the shell or
    /// the image; ONBUILD triggers are expanded when they fire in a child build. RUN's
    /// `--mount` values are the one part of RUN the frontend expands: see
    /// [`Keyword::expands_mount_values`].
    pub fn expands_variables(self) -> bool {
        matches!(
            self,
            Keyword::From
                | Keyword::Add
                | Keyword::Copy
                | Keyword::Env
                | Keyword::Label
                | Keyword::Arg
                | Keyword::Expose
                | Keyword::Volume
                | Keyword::User
                | Keyword::Workdir
                | Keyword::StopSignal
        )
    }

    /// RUN `--mount` values (`target=$HOME/.cache`) are expanded though the command is not.
    pub fn expands_mount_values(self) -> bool {
        self == Keyword::Run
    }
}

/// One instruction with the span of its whole text (continuation lines and heredoc
/// bodies included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instruction {
    pub command: Command,
    pub span: Span,
    pub keyword_span: Span,
}

impl Instruction {
    pub fn keyword(&self) -> Keyword {
        self.command.keyword()
    }

    /// The texts the frontend runs through word expansion for this instruction, in
    /// order: what a signature must scan to learn which build args a stage uses. FROM's
    /// image and platform live on [`super::Stage`] and are not included; ONBUILD yields
    /// nothing (its trigger expands in the child build).
    pub fn expandable_texts(&self) -> Vec<ExpandableText<'_>> {
        let mut words: Vec<&Word> = Vec::new();
        let mut others: Vec<ExpandableText<'_>> = Vec::new();
        match &self.command {
            Command::Env(pairs) | Command::Label(pairs) => {
                for pair in pairs {
                    words.extend([&pair.key, &pair.value]);
                }
            }
            Command::Arg(args) => {
                for arg in args {
                    words.push(&arg.name);
                    words.extend(&arg.default);
                }
            }
            Command::Expose(list) | Command::Volume(list) => words.extend(list),
            Command::User(w) | Command::Workdir(w) | Command::StopSignal(w) => words.push(w),
            Command::Add(add) => {
                words.extend(
                    [&add.chown, &add.chmod, &add.checksum]
                        .into_iter()
                        .flatten(),
                );
                words.extend(&add.sources.paths);
                words.push(&add.sources.dest);
                others.extend(heredoc_texts(&add.sources.heredocs));
            }
            Command::Copy(copy) => {
                words.extend([&copy.chown, &copy.chmod].into_iter().flatten());
                words.extend(&copy.sources.paths);
                words.push(&copy.sources.dest);
                others.extend(heredoc_texts(&copy.sources.heredocs));
            }
            Command::Run(run) => {
                for mount in &run.mounts {
                    others.extend(mount.expandable_values().into_iter().map(|value| {
                        ExpandableText {
                            text: value,
                            span: mount.span,
                            heredoc_body: false,
                        }
                    }));
                }
            }
            Command::From(_)
            | Command::Cmd(_)
            | Command::Entrypoint(_)
            | Command::Maintainer(_)
            | Command::Onbuild(_)
            | Command::Healthcheck(_)
            | Command::Shell(_) => {}
        }
        words
            .into_iter()
            .map(ExpandableText::word)
            .chain(others)
            .collect()
    }
}

/// A text the frontend expands; see [`Instruction::expandable_texts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpandableText<'a> {
    pub text: &'a str,
    pub span: Span,
    /// A heredoc body: expand it with [`super::shell::Lexer::for_heredoc_body`], where
    /// quotes are plain text; everything else uses the stage's escape token.
    pub heredoc_body: bool,
}

impl<'a> ExpandableText<'a> {
    fn word(word: &'a Word) -> ExpandableText<'a> {
        ExpandableText {
            text: &word.text,
            span: word.span,
            heredoc_body: false,
        }
    }
}

fn heredoc_texts(heredocs: &[Heredoc]) -> impl Iterator<Item = ExpandableText<'_>> {
    heredocs
        .iter()
        .filter(|h| h.expand)
        .map(|h| ExpandableText {
            text: &h.content,
            span: h.span,
            heredoc_body: true,
        })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    From(FromCommand),
    Run(RunCommand),
    Cmd(CommandLine),
    Label(Vec<KeyValue>),
    Maintainer(Word),
    /// In source order (BuildKit sorts the ports when it builds the image config).
    Expose(Vec<Word>),
    Env(Vec<KeyValue>),
    Add(AddCommand),
    Copy(CopyCommand),
    Entrypoint(CommandLine),
    Volume(Vec<Word>),
    User(Word),
    Workdir(Word),
    Arg(Vec<ArgDecl>),
    Onbuild(OnbuildCommand),
    StopSignal(Word),
    Healthcheck(Healthcheck),
    /// Always exec form.
    Shell(Vec<String>),
}

impl Command {
    pub fn keyword(&self) -> Keyword {
        match self {
            Command::From(_) => Keyword::From,
            Command::Run(_) => Keyword::Run,
            Command::Cmd(_) => Keyword::Cmd,
            Command::Label(_) => Keyword::Label,
            Command::Maintainer(_) => Keyword::Maintainer,
            Command::Expose(_) => Keyword::Expose,
            Command::Env(_) => Keyword::Env,
            Command::Add(_) => Keyword::Add,
            Command::Copy(_) => Keyword::Copy,
            Command::Entrypoint(_) => Keyword::Entrypoint,
            Command::Volume(_) => Keyword::Volume,
            Command::User(_) => Keyword::User,
            Command::Workdir(_) => Keyword::Workdir,
            Command::Arg(_) => Keyword::Arg,
            Command::Onbuild(_) => Keyword::Onbuild,
            Command::StopSignal(_) => Keyword::StopSignal,
            Command::Healthcheck(_) => Keyword::Healthcheck,
            Command::Shell(_) => Keyword::Shell,
        }
    }
}

/// `FROM [--platform=p] image [AS name]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FromCommand {
    pub image: Word,
    pub platform: Option<Word>,
    /// Lower-cased, as BuildKit stores stage names.
    pub name: Option<Word>,
}

/// The command of RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandLine {
    /// JSON form: run as given.
    Exec(Vec<String>),
    /// Shell form: the joined line, handed to the stage's SHELL.
    Shell(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    Default,
    None,
    Host,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    Sandbox,
    Insecure,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunCommand {
    pub command: CommandLine,
    /// Bodies of the `<<EOF` words in the command, in order.
    pub heredocs: Vec<Heredoc>,
    pub mounts: Vec<Mount>,
    /// `None` when `--network` was not given (BuildKit's default).
    pub network: Option<Network>,
    pub security: Option<Security>,
}

/// `key=value` of ENV and LABEL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    pub key: Word,
    pub value: Word,
    /// Written in the legacy `ENV key value` form: the value is the rest of the line.
    pub legacy: bool,
}

/// `ARG name[=default]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgDecl {
    pub name: Word,
    pub default: Option<Word>,
    /// The doc comment `# NAME text` before the ARG instruction (what `--print=outline`
    /// shows as the arg's description).
    pub description: Option<String>,
    /// The whole ARG instruction (outline locations are the instruction's lines).
    pub instruction_span: Span,
}

/// Sources of COPY/ADD: paths (or URLs) and heredoc bodies written as `<<EOF` sources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sources {
    pub paths: Vec<Word>,
    pub heredocs: Vec<Heredoc>,
    pub dest: Word,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCommand {
    pub sources: Sources,
    pub chown: Option<Word>,
    pub chmod: Option<Word>,
    pub link: bool,
    /// `None` when not given: the default depends on the BuildKit version.
    pub keep_git_dir: Option<bool>,
    pub checksum: Option<Word>,
    pub unpack: Option<bool>,
    pub exclude: Vec<Word>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyCommand {
    pub sources: Sources,
    /// A stage name, stage index or image; never expanded.
    pub from: Option<Word>,
    pub chown: Option<Word>,
    pub chmod: Option<Word>,
    pub link: bool,
    pub parents: bool,
    pub exclude: Vec<Word>,
}

/// `ONBUILD <instruction>`: the trigger, checked now, and its text as it goes into the
/// image config (BuildKit stores the line without `ONBUILD`, heredocs appended).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnbuildCommand {
    pub trigger: Box<Instruction>,
    pub expression: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: disable the base image's check.
    None,
    Cmd(HealthcheckCmd),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthcheckCmd {
    pub command: CommandLine,
    /// Durations are `None` when not given or given as zero (the daemon default).
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub start_period: Option<Duration>,
    pub start_interval: Option<Duration>,
    pub retries: Option<u32>,
}
