//! What a target takes from its caller — the build args it uses, the secrets and ssh
//! sockets its RUNs mount — as `--print=outline` lists them. The rules are those of the
//! stock frontend's outline capture (BuildKit v0.13): an arg is listed when the target,
//! its base stages or the stages it copies or mounts from declare it with ARG, or name
//! it in FROM / `--platform`, or when a listed meta ARG's default refers to it.
//!
//! One difference: an ARG default that refers to a variable of the base image's config
//! (`ARG P=$PATH`) expands here without it, as the graph never sees image configs.

use std::collections::{BTreeMap, BTreeSet};

use crate::diag::Span;
use crate::dockerfile::shell::Lexer;
use crate::dockerfile::{Command, Dockerfile, MountType};

use super::{Base, BuildArgs, GraphError, Selection, StageGraph, StageId};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outline {
    /// The target stage's name, when it has one.
    pub name: Option<String>,
    pub description: Option<String>,
    /// Ordered by the line of their declaration.
    pub args: Vec<OutlineArg>,
    pub secrets: Vec<OutlineMount>,
    pub ssh: Vec<OutlineMount>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutlineArg {
    pub name: String,
    /// The value in this build: build arg, else the default expanded.
    pub value: Option<String>,
    pub description: Option<String>,
    /// The declaring ARG instruction.
    pub span: Span,
}

/// A secret or ssh socket a RUN mounts, by id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutlineMount {
    pub id: String,
    pub required: bool,
    /// The first RUN that mounts it.
    pub span: Span,
}

#[derive(Clone, Debug)]
struct ArgInfo {
    value: Option<String>,
    description: Option<String>,
    span: Span,
    /// Meta ARGs its default refers to.
    refers_to: BTreeSet<String>,
}

/// What one stage declares and uses, BuildKit's per-stage outline capture.
#[derive(Clone, Debug, Default)]
struct Capture {
    declared: BTreeMap<String, ArgInfo>,
    used: BTreeSet<String>,
    secrets: BTreeMap<String, OutlineMount>,
    ssh: BTreeMap<String, OutlineMount>,
    /// Variables known at the end of the stage (its ARG values and ENVs, and its base
    /// stage's), for expanding ARG defaults of stages based on it.
    known: BTreeMap<String, String>,
}

/// The outline of the selection's target. `user_build_args` are the `--build-arg`
/// values alone: the graph's meta ARGs already hold the platform ARGs.
pub fn outline(
    dockerfile: &Dockerfile,
    graph: &StageGraph,
    selection: &Selection,
    user_build_args: &BuildArgs,
) -> Result<Outline, GraphError> {
    let lexer = Lexer::new(graph.escape);
    let meta_names: BTreeSet<&str> = graph.meta_args.iter().map(|m| m.name.as_str()).collect();
    let meta_value = |name: &str| {
        graph
            .meta_args
            .iter()
            .rev()
            .find(|m| m.name == name)
            .map(|m| m.value.clone())
    };

    let mut meta = BTreeMap::new();
    for (index, decl) in dockerfile.meta_args.iter().enumerate() {
        let name = &decl.name.text;
        let mut refers_to = BTreeSet::new();
        if let (None, Some(default)) = (user_build_args.get(name), &decl.default) {
            // Only the meta ARGs before this one are in scope.
            let earlier: BTreeSet<&str> = dockerfile.meta_args[..index]
                .iter()
                .map(|d| d.name.text.as_str())
                .collect();
            refers_to = referenced(&lexer, &default.text, default.span, |n| {
                earlier.contains(n) || meta_names.contains(n)
            })?;
        }
        meta.insert(
            name.clone(),
            ArgInfo {
                value: meta_value(name).flatten(),
                description: decl.description.clone(),
                span: decl.instruction_span,
                refers_to,
            },
        );
    }

    let mut captures: BTreeMap<StageId, Capture> = BTreeMap::new();
    for &id in &selection.order {
        let stage = graph.stage(id);
        let written = &dockerfile.stages[id.0];
        let mut capture = match stage.base {
            Base::Stage(parent) => Capture {
                used: captures[&parent].used.clone(),
                known: captures[&parent].known.clone(),
                ..Capture::default()
            },
            _ => Capture::default(),
        };
        capture.declared = meta.clone();
        let words = std::iter::once(&written.from).chain(written.platform.as_ref());
        for word in words {
            let names = referenced(&lexer, &word.text, word.span, |n| meta_names.contains(n))?;
            capture.used.extend(names);
        }
        for step in &stage.steps {
            let instruction = &step.instruction;
            let expand = |capture: &Capture, text: &str, span: Span| {
                lexer
                    .expand_value(text, |n| capture.known.get(n).cloned())
                    .map_err(|err| GraphError::Expand {
                        message: err.to_string(),
                        span,
                    })
            };
            match &instruction.command {
                Command::Arg(decls) => {
                    for decl in decls {
                        let name = decl.name.text.clone();
                        let default = match &decl.default {
                            Some(word) => Some(expand(&capture, &word.text, word.span)?),
                            None => None,
                        };
                        let given = user_build_args.get(&name).cloned().or(default);
                        // An ARG with no value of its own takes the meta ARG's, and the
                        // meta ARG's declaration is the one listed.
                        let (value, inherited) = match given {
                            Some(value) => (Some(value), false),
                            None => match meta_value(&name) {
                                Some(value) => (value, true),
                                None => (None, false),
                            },
                        };
                        if !inherited {
                            capture.declared.insert(
                                name.clone(),
                                ArgInfo {
                                    value: value.clone(),
                                    description: decl.description.clone(),
                                    span: decl.instruction_span,
                                    refers_to: BTreeSet::new(),
                                },
                            );
                        }
                        if let Some(value) = value {
                            capture.known.insert(name.clone(), value);
                        }
                        capture.used.insert(name);
                    }
                }
                Command::Env(pairs) => {
                    for pair in pairs {
                        let value = expand(&capture, &pair.value.text, pair.value.span)?;
                        capture.known.insert(pair.key.text.clone(), value);
                    }
                }
                Command::Run(run) => {
                    for mount in &run.mounts {
                        let (id, into) = match mount.kind {
                            MountType::Secret => {
                                let id = mount.source.clone().or(mount.id.clone()).or_else(|| {
                                    let target = mount.target.as_deref()?;
                                    target
                                        .rsplit('/')
                                        .find(|s| !s.is_empty())
                                        .map(str::to_string)
                                });
                                (id, &mut capture.secrets)
                            }
                            MountType::Ssh => (
                                Some(mount.id.clone().unwrap_or_else(|| "default".into())),
                                &mut capture.ssh,
                            ),
                            _ => continue,
                        };
                        if let Some(id) = id {
                            into.entry(id.clone()).or_insert(OutlineMount {
                                id,
                                required: mount.required,
                                span: instruction.span,
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        captures.insert(id, capture);
    }

    let mut collected = Collected::default();
    collect(graph, &captures, selection.target, &mut collected);
    let by_line = |span: &Span| span.start;
    collected.args.sort_by_key(|a| by_line(&a.span));
    collected.secrets.sort_by_key(|m| by_line(&m.span));
    collected.ssh.sort_by_key(|m| by_line(&m.span));
    let target = &dockerfile.stages[selection.target.0];
    Ok(Outline {
        name: target.name.clone(),
        description: target.description.clone(),
        args: collected.args,
        secrets: collected.secrets,
        ssh: collected.ssh,
    })
}

#[derive(Default)]
struct Collected {
    args: Vec<OutlineArg>,
    secrets: Vec<OutlineMount>,
    ssh: Vec<OutlineMount>,
    seen_args: BTreeSet<String>,
    seen_secrets: BTreeSet<String>,
    seen_ssh: BTreeSet<String>,
}

/// A stage's own captures first, then its base stage's, then those of the stages it
/// reads from; the first declaration of a name wins.
fn collect(
    graph: &StageGraph,
    captures: &BTreeMap<StageId, Capture>,
    id: StageId,
    out: &mut Collected,
) {
    let capture = &captures[&id];
    let mut used = capture.used.clone();
    let mut pending: Vec<String> = used.iter().cloned().collect();
    while let Some(name) = pending.pop() {
        if let Some(info) = capture.declared.get(&name) {
            for dep in &info.refers_to {
                if used.insert(dep.clone()) {
                    pending.push(dep.clone());
                }
            }
        }
    }
    for name in &used {
        if let Some(info) = capture.declared.get(name)
            && out.seen_args.insert(name.clone())
        {
            out.args.push(OutlineArg {
                name: name.clone(),
                value: info.value.clone(),
                description: info.description.clone(),
                span: info.span,
            });
        }
    }
    for (mounts, seen, into) in [
        (&capture.secrets, &mut out.seen_secrets, &mut out.secrets),
        (&capture.ssh, &mut out.seen_ssh, &mut out.ssh),
    ] {
        for (id, mount) in mounts {
            if seen.insert(id.clone()) {
                into.push(mount.clone());
            }
        }
    }
    let stage = graph.stage(id);
    if let Base::Stage(parent) = stage.base {
        collect(graph, captures, parent, out);
    }
    let mut read_from = Vec::new();
    for dependency in stage.steps.iter().flat_map(|s| &s.dependencies) {
        if let Base::Stage(other) = dependency.on
            && !read_from.contains(&other)
        {
            read_from.push(other);
        }
    }
    for other in read_from {
        collect(graph, captures, other, out);
    }
}

/// The variables `text` refers to that `in_scope` accepts.
fn referenced(
    lexer: &Lexer,
    text: &str,
    span: Span,
    in_scope: impl Fn(&str) -> bool,
) -> Result<BTreeSet<String>, GraphError> {
    let expanded = lexer
        .expand_word(text, |name| in_scope(name).then(String::new))
        .map_err(|err| GraphError::Expand {
            message: err.to_string(),
            span,
        })?;
    Ok(expanded.used)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile;

    fn outline_of(text: &str, target: Option<&str>, args: &[(&str, &str)]) -> Outline {
        let dockerfile = dockerfile::parse(text).unwrap();
        let user: BuildArgs = args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut build_args = super::super::platform_args("linux/amd64", "linux/amd64");
        build_args.extend(user.clone());
        let graph = super::super::from_dockerfile(&dockerfile, &build_args).unwrap();
        let selection = graph.select(target).unwrap();
        outline(&dockerfile, &graph, &selection, &user).unwrap()
    }

    fn arg_rows(outline: &Outline) -> Vec<(String, Option<String>, Option<String>)> {
        outline
            .args
            .iter()
            .map(|a| (a.name.clone(), a.value.clone(), a.description.clone()))
            .collect()
    }

    const TEXT: &str = "\
# BASE the base image
ARG BASE=busybox
ARG UNUSED=1
ARG TAG=${BASE}-x
FROM ${BASE} AS build
# VERSION the version
ARG VERSION=1.0
ENV E=e
ARG DERIVED=${VERSION}-${E}
RUN --mount=type=secret,id=token --mount=type=ssh true
RUN --mount=type=secret,target=/run/x/key,required=true --mount=type=ssh,id=gh,required true

FROM busybox AS other
ARG OTHER
RUN --mount=type=secret,id=other true

FROM build
ARG TAG
ARG FINAL=yes
COPY --from=other /bin/sh /x
";

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn lists_what_the_target_and_the_stages_it_reads_use_in_line_order() {
        let outline = outline_of(TEXT, None, &[("VERSION", "2")]);
        assert_eq!(
            arg_rows(&outline),
            [
                ("BASE".into(), some("busybox"), some("the base image")),
                ("TAG".into(), some("busybox-x"), None),
                ("VERSION".into(), some("2"), some("the version")),
                ("DERIVED".into(), some("2-e"), None),
                ("OTHER".into(), None, None),
                ("FINAL".into(), some("yes"), None),
            ]
        );
        let ids = |mounts: &[OutlineMount]| {
            mounts
                .iter()
                .map(|m| (m.id.clone(), m.required))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(&outline.secrets),
            [
                ("token".into(), false),
                ("key".into(), true),
                ("other".into(), false)
            ]
        );
        assert_eq!(
            ids(&outline.ssh),
            [("default".into(), false), ("gh".into(), true)]
        );
        assert_eq!(outline.name, None);
    }

    #[test]
    fn a_middle_target_lists_only_what_it_reaches() {
        let outline = outline_of(TEXT, Some("other"), &[]);
        assert_eq!(arg_rows(&outline), [("OTHER".into(), None, None)]);
        assert_eq!(outline.secrets.len(), 1);
        assert!(outline.ssh.is_empty());
        assert_eq!(outline.name.as_deref(), Some("other"));
    }

    #[test]
    fn a_meta_arg_used_in_from_pulls_in_the_meta_args_its_default_names() {
        let text = "ARG REG=r.example\nARG IMAGE=$REG/app\nFROM $IMAGE\n";
        let outline = outline_of(text, None, &[]);
        assert_eq!(
            arg_rows(&outline),
            [
                ("REG".into(), some("r.example"), None),
                ("IMAGE".into(), some("r.example/app"), None)
            ]
        );
        // Given as a build arg, its default is not expanded and names nothing.
        let outline = outline_of(text, None, &[("IMAGE", "x")]);
        assert_eq!(arg_rows(&outline), [("IMAGE".into(), some("x"), None)]);
    }
}
