//! Stage signatures: a sha256 per stage over everything that decides its content, so a
//! stored stage image can be found again by it (`<repo>:<signature>`).
//!
//! A stage's inputs, in this order, each a name and a `sha256:` digest:
//! - `from`: the parent stage's signature, or the base image (its resolved digest when
//!   the caller knows it, else the digest of the reference text), or `scratch`;
//! - `platform`: the target platform (`linux/amd64`);
//! - `arg NAME`: each ARG the stage declares, with the value it takes in this build (a
//!   build arg, else its default) — build args a stage does not declare are not seen;
//! - `step N KEYWORD`: the text of each instruction as written (continuations, heredoc
//!   bodies and all); with the ARG values above and the base, this fixes what ENV,
//!   WORKDIR, COPY paths… expand to;
//! - `context N`: for COPY/ADD from the build context and RUN bind mounts of it, the
//!   content digest of exactly the files they read (after `.dockerignore`); a source
//!   that cannot be expanded here (it names a variable of the base image) digests the
//!   whole context instead, so a change is never missed;
//! - `from-stage N` / `from-image N`: the signature of the stage, or the image, that
//!   COPY --from or RUN --mount from= reads.
//!
//! signature = sha256("conveyor.signature.v1\n" + for each input "name\tdigest\n").
//! Pure: digests of files and images are computed by the caller and passed in.

use std::collections::BTreeMap;

use crate::dockerfile::shell::Lexer;
use crate::dockerfile::{Command, Instruction, MountType};

use super::werf_signature::WerfSources;
use super::{Base, Selection, StageGraph, StageId};

/// One thing a signature depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureInput {
    pub name: String,
    pub digest: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageSignature {
    /// `sha256:<hex>`
    pub signature: String,
    pub inputs: Vec<SignatureInput>,
}

/// What the caller knows of the world outside the Dockerfile.
pub struct SignatureSources<'a> {
    /// The source text the graph was parsed from (instruction spans point into it).
    pub dockerfile_text: &'a str,
    pub platform: &'a str,
    pub build_args: &'a BTreeMap<String, String>,
    /// Resolved digests of images by reference as written; missing ones are signed by
    /// their reference text.
    pub image_digests: &'a BTreeMap<String, String>,
    /// The content digest of these context sources (paths relative to the context,
    /// wildcards allowed; `.` for all of it).
    pub context_digest: &'a mut dyn FnMut(&[String]) -> Result<String, String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("cannot sign stage {stage}: {reason}")]
pub struct SignatureError {
    pub stage: String,
    pub reason: String,
}

pub(super) fn sha256(text: &str) -> String {
    crate::digest::sha256(text.as_bytes())
}

/// The signature of `inputs`: the sha256 of their lines, hashed as they are read
/// rather than gathered into one text first.
fn combine(inputs: &[SignatureInput]) -> String {
    use sha2::{Digest as _, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(b"conveyor.signature.v1\n");
    for input in inputs {
        hasher.update(input.name.as_bytes());
        hasher.update(b"\t");
        hasher.update(input.digest.as_bytes());
        hasher.update(b"\n");
    }
    crate::digest::sha256_string(&hasher.finalize())
}

/// Signs every selected stage, dependencies first. A graph from a werf config needs
/// [`signatures_with_werf`].
pub fn signatures(
    graph: &StageGraph,
    selection: &Selection,
    sources: &mut SignatureSources<'_>,
) -> Result<BTreeMap<StageId, StageSignature>, SignatureError> {
    signatures_with_werf(graph, selection, sources, None)
}

/// [`signatures`] with what werf stages read besides (see `werf_signature`). With
/// `WerfSources::import_digest`, a stage whose import content is not known yet (and
/// every stage after it) is left out of the map.
pub fn signatures_with_werf(
    graph: &StageGraph,
    selection: &Selection,
    sources: &mut SignatureSources<'_>,
    mut werf_sources: Option<&mut WerfSources<'_>>,
) -> Result<BTreeMap<StageId, StageSignature>, SignatureError> {
    let mut signed: BTreeMap<StageId, StageSignature> = BTreeMap::new();
    let platform_digest = sha256(sources.platform);
    for &id in &selection.order {
        let stage = graph.stage(id);
        let error = |reason: String| SignatureError {
            stage: stage.display_name(),
            reason,
        };
        // A stage on an unsigned one stays unsigned (see `WerfSources::import_digest`).
        if graph
            .stage_dependencies(id)
            .iter()
            .any(|dependency| !signed.contains_key(dependency))
        {
            continue;
        }
        // Werf inputs come last but are asked first: a stage that cannot be signed
        // yet asks for no context digests.
        let werf_inputs = match &stage.werf {
            Some(werf) => {
                match super::werf_signature::werf_inputs(
                    werf,
                    &signed,
                    sources.image_digests,
                    werf_sources.as_deref_mut(),
                )
                .map_err(error)?
                {
                    Some(inputs) => inputs,
                    None => continue,
                }
            }
            None => Vec::new(),
        };
        let mut inputs = Vec::new();
        let base_digest = |base: &Base, signed: &BTreeMap<StageId, StageSignature>| match base {
            Base::Stage(parent) => signed[parent].signature.clone(),
            Base::Image { reference, .. } => sources
                .image_digests
                .get(reference)
                .cloned()
                .unwrap_or_else(|| sha256(reference)),
            Base::Scratch => sha256("scratch"),
        };
        inputs.push(SignatureInput {
            name: "from".into(),
            digest: base_digest(&stage.base, &signed),
        });
        inputs.push(SignatureInput {
            name: "platform".into(),
            digest: platform_digest.clone(),
        });
        if let Some(image) = &stage.werf_dockerfile {
            inputs.extend(werf_dockerfile_inputs(image));
        }

        let lexer = Lexer::new(graph.escape);
        // Variables this stage can expand without knowing the base image: its ARGs
        // and ENVs, in order. `None` marks a name the stage knows but has no value for.
        let mut known: BTreeMap<String, Option<String>> = BTreeMap::new();
        for (index, step) in stage.steps.iter().enumerate() {
            let instruction = &step.instruction;
            let text = stage
                .source
                .as_deref()
                .unwrap_or(sources.dockerfile_text)
                .get(instruction.span.start..instruction.span.end)
                .unwrap_or_default();
            let keyword = instruction.keyword().name();
            match &instruction.command {
                Command::Arg(args) => {
                    for arg in args {
                        let name = arg.name.text.clone();
                        let image_arg = stage
                            .werf_dockerfile
                            .as_ref()
                            .and_then(|i| i.args.get(&name));
                        let value = image_arg
                            .or(sources.build_args.get(&name))
                            .cloned()
                            .or_else(|| {
                                let default = arg.default.as_ref()?;
                                expand(&lexer, &default.text, &known)
                            });
                        let digest = value.as_deref().map_or_else(|| sha256("unset"), sha256);
                        inputs.push(SignatureInput {
                            name: format!("arg {name}"),
                            digest,
                        });
                        known.insert(name, value);
                    }
                }
                Command::Env(pairs) => {
                    for pair in pairs {
                        let value = expand(&lexer, &pair.value.text, &known);
                        known.insert(pair.key.text.clone(), value);
                    }
                }
                _ => {}
            }
            inputs.push(SignatureInput {
                name: format!("step {index} {keyword}"),
                digest: sha256(text),
            });

            if let Some(paths) =
                context_sources(instruction, step.copy_from().is_some(), &lexer, &known)
            {
                let digest = (sources.context_digest)(&paths).map_err(error)?;
                inputs.push(SignatureInput {
                    name: format!("context {index}"),
                    digest,
                });
            }
            for dependency in &step.dependencies {
                let name = match dependency.on {
                    Base::Stage(_) => format!("from-stage {index}"),
                    _ => format!("from-image {index}"),
                };
                inputs.push(SignatureInput {
                    name,
                    digest: base_digest(&dependency.on, &signed),
                });
            }
        }
        inputs.extend(werf_inputs);
        signed.insert(
            id,
            StageSignature {
                signature: combine(&inputs),
                inputs,
            },
        );
    }
    Ok(signed)
}

/// What a werf Dockerfile image adds to each of its stages' signatures: its
/// `cacheVersion`, and the `network` and `addHost` its RUNs get (its `args` count
/// where an ARG takes them, as build args do).
fn werf_dockerfile_inputs(image: &crate::werf::DockerfileImage) -> Vec<SignatureInput> {
    let mut inputs = Vec::new();
    if let Some(version) = &image.cache_version {
        inputs.push(SignatureInput {
            name: "cache-version".into(),
            digest: sha256(version),
        });
    }
    if let Some(network) = &image.network {
        inputs.push(SignatureInput {
            name: "network".into(),
            digest: sha256(&network.value),
        });
    }
    if !image.add_hosts.is_empty() {
        let hosts: Vec<String> = image
            .add_hosts
            .iter()
            .map(|(host, ip)| format!("{host}:{ip}"))
            .collect();
        inputs.push(SignatureInput {
            name: "add-host".into(),
            digest: sha256(&hosts.join("\n")),
        });
    }
    inputs
}

/// A word expanded with what the stage itself defines; `None` when it names anything
/// else (a variable of the base image, or one the stage knows without a value).
fn expand(lexer: &Lexer, word: &str, known: &BTreeMap<String, Option<String>>) -> Option<String> {
    let mut resolvable = true;
    let expanded = lexer
        .expand_value(word, |name| match known.get(name) {
            Some(Some(value)) => Some(value.clone()),
            _ => {
                resolvable = false;
                None
            }
        })
        .ok()?;
    resolvable.then_some(expanded)
}

/// The context paths an instruction reads, expanded; `["."]` when they cannot be
/// known here. `None` when it reads nothing from the context.
fn context_sources(
    instruction: &Instruction,
    has_copy_from: bool,
    lexer: &Lexer,
    known: &BTreeMap<String, Option<String>>,
) -> Option<Vec<String>> {
    let words: Vec<&str> = match &instruction.command {
        Command::Copy(copy) if !has_copy_from => {
            copy.sources.paths.iter().map(|w| w.text.as_str()).collect()
        }
        Command::Add(add) => add
            .sources
            .paths
            .iter()
            .map(|w| w.text.as_str())
            .filter(|path| !path.contains("://") && !path.starts_with("git@"))
            .collect(),
        Command::Run(run) => run
            .mounts
            .iter()
            .filter(|m| m.kind == MountType::Bind && m.from.is_none())
            .map(|m| m.source.as_deref().unwrap_or("."))
            .collect(),
        _ => Vec::new(),
    };
    if words.is_empty() {
        return None;
    }
    let expanded: Option<Vec<String>> = words
        .iter()
        .map(|word| expand(lexer, word, known))
        .collect();
    Some(expanded.unwrap_or_else(|| vec![".".to_string()]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{from_dockerfile, platform_args};

    const DOCKERFILE: &str = "\
ARG BASE=busybox
FROM ${BASE} AS deps
ARG DEPS_VERSION=1
COPY deps.txt /deps/
RUN echo $DEPS_VERSION > /deps/version

FROM ${BASE} AS app
ARG APP_MODE=release
COPY src/ /app/
RUN --mount=type=bind,source=conf,target=/conf cat /conf/x

FROM app AS final
COPY --from=deps /deps /deps
CMD [\"/app/run\"]
";

    /// Signatures of every stage with the given build args and a context whose files
    /// have these digests (each path's digest is `path:version`).
    fn sign(
        text: &str,
        build_args: &[(&str, &str)],
        files: &BTreeMap<&str, &str>,
    ) -> BTreeMap<String, String> {
        let dockerfile = crate::dockerfile::parse(text).unwrap();
        let mut args = platform_args("linux/amd64", "linux/amd64");
        args.extend(
            build_args
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let graph = from_dockerfile(&dockerfile, &args).unwrap();
        let selection = graph.select(None).unwrap();
        let mut context_digest = |paths: &[String]| -> Result<String, String> {
            let described: Vec<String> = paths
                .iter()
                .map(|p| format!("{p}:{}", files.get(p.as_str()).unwrap_or(&"0")))
                .collect();
            Ok(sha256(&described.join(",")))
        };
        let image_digests = BTreeMap::from([("busybox".to_string(), "sha256:b0".to_string())]);
        let mut sources = SignatureSources {
            dockerfile_text: text,
            platform: "linux/amd64",
            build_args: &args,
            image_digests: &image_digests,
            context_digest: &mut context_digest,
        };
        let signed = signatures(&graph, &selection, &mut sources).unwrap();
        signed
            .into_iter()
            .map(|(id, s)| (graph.stage(id).display_name(), s.signature))
            .collect()
    }

    fn changed(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
        a.iter()
            .filter(|(name, sig)| b[*name] != **sig)
            .map(|(name, _)| name.clone())
            .collect()
    }

    #[test]
    fn a_signature_is_the_documented_composition() {
        let text = "FROM busybox\nRUN true\n";
        let dockerfile = crate::dockerfile::parse(text).unwrap();
        let args = platform_args("linux/amd64", "linux/amd64");
        let graph = from_dockerfile(&dockerfile, &args).unwrap();
        let selection = graph.select(None).unwrap();
        let mut context_digest = |_: &[String]| -> Result<String, String> { unreachable!() };
        let mut sources = SignatureSources {
            dockerfile_text: text,
            platform: "linux/amd64",
            build_args: &args,
            image_digests: &BTreeMap::new(),
            context_digest: &mut context_digest,
        };
        let signed = signatures(&graph, &selection, &mut sources).unwrap();
        let stage = &signed[&selection.target];
        let digest = |text: &str| crate::digest::sha256(text.as_bytes());
        let expected = [
            ("from", digest("busybox")),
            ("platform", digest("linux/amd64")),
            ("step 0 RUN", digest("RUN true")),
        ];
        let inputs: Vec<(&str, String)> = (stage.inputs.iter())
            .map(|input| (input.name.as_str(), input.digest.clone()))
            .collect();
        assert_eq!(inputs, expected);
        let lines: String = (expected.iter())
            .map(|(name, digest)| format!("{name}\t{digest}\n"))
            .collect();
        assert_eq!(
            stage.signature,
            digest(&format!("conveyor.signature.v1\n{lines}"))
        );
    }

    #[test]
    fn same_inputs_sign_the_same() {
        let files = BTreeMap::new();
        let first = sign(DOCKERFILE, &[], &files);
        assert_eq!(first, sign(DOCKERFILE, &[], &files));
        assert_eq!(first.len(), 3);
        assert!(
            first
                .values()
                .all(|s| s.starts_with("sha256:") && s.len() == 71)
        );
    }

    #[test]
    fn a_context_file_change_resigns_its_stage_and_dependents_only() {
        let before = sign(DOCKERFILE, &[], &BTreeMap::new());
        let deps_changed = sign(DOCKERFILE, &[], &BTreeMap::from([("deps.txt", "2")]));
        assert_eq!(changed(&before, &deps_changed), ["deps", "final"]);
        let src_changed = sign(DOCKERFILE, &[], &BTreeMap::from([("src/", "2")]));
        assert_eq!(changed(&before, &src_changed), ["app", "final"]);
        let mount_changed = sign(DOCKERFILE, &[], &BTreeMap::from([("conf", "2")]));
        assert_eq!(changed(&before, &mount_changed), ["app", "final"]);
    }

    #[test]
    fn build_args_count_only_where_declared() {
        let before = sign(DOCKERFILE, &[], &BTreeMap::new());
        assert_eq!(
            changed(
                &before,
                &sign(DOCKERFILE, &[("DEPS_VERSION", "2")], &BTreeMap::new())
            ),
            ["deps", "final"]
        );
        assert_eq!(
            changed(
                &before,
                &sign(DOCKERFILE, &[("APP_MODE", "debug")], &BTreeMap::new())
            ),
            ["app", "final"]
        );
        assert!(
            changed(
                &before,
                &sign(DOCKERFILE, &[("UNUSED", "x")], &BTreeMap::new())
            )
            .is_empty()
        );
        // A meta ARG changes the base of every stage built FROM it.
        let rebased = sign(DOCKERFILE, &[("BASE", "alpine")], &BTreeMap::new());
        assert_eq!(changed(&before, &rebased), ["app", "deps", "final"]);
    }

    #[test]
    fn instruction_text_changes_resign_from_there_on() {
        let before = sign(DOCKERFILE, &[], &BTreeMap::new());
        let edited = DOCKERFILE.replace("echo $DEPS_VERSION", "echo v$DEPS_VERSION");
        assert_eq!(
            changed(&before, &sign(&edited, &[], &BTreeMap::new())),
            ["deps", "final"]
        );
        let edited = DOCKERFILE.replace("CMD [\"/app/run\"]", "CMD [\"/app/serve\"]");
        assert_eq!(
            changed(&before, &sign(&edited, &[], &BTreeMap::new())),
            ["final"]
        );
    }

    #[test]
    fn sources_expanded_with_the_stage_variables_or_the_whole_context() {
        let text =
            "FROM busybox\nARG DIR=conf\nENV SUB=$DIR/app\nCOPY $SUB/x.txt /x\nCOPY $HOME/y /y\n";
        let dockerfile = crate::dockerfile::parse(text).unwrap();
        let graph = from_dockerfile(&dockerfile, &BTreeMap::new()).unwrap();
        let selection = graph.select(None).unwrap();
        let mut asked: Vec<Vec<String>> = Vec::new();
        let mut context_digest = |paths: &[String]| -> Result<String, String> {
            asked.push(paths.to_vec());
            Ok(sha256("x"))
        };
        let mut sources = SignatureSources {
            dockerfile_text: text,
            platform: "linux/amd64",
            build_args: &BTreeMap::new(),
            image_digests: &BTreeMap::new(),
            context_digest: &mut context_digest,
        };
        signatures(&graph, &selection, &mut sources).unwrap();
        assert_eq!(
            asked,
            [vec!["conf/app/x.txt".to_string()], vec![".".to_string()]]
        );
    }
}
