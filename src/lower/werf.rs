//! werf stapel stages: shell stages as one `/bin/sh -e` exec each, git mappings as
//! copies from the build context, imports as copies from the imported stage, mounts as
//! cache and tmpfs mounts, and the `docker`/`imageSpec` settings as image config.
//!
//! Where this differs from werf: git content comes from the build context, not from
//! git objects; user stages after gitArchive copy the mappings again before running
//! (werf applies the pending git patch there), and gitLatestPatch copies them once more
//! at the end, so the image holds the context's files; files deleted from the context
//! stay in images whose earlier stages still had them. Commands run as root (uid 0),
//! in the image's working directory, with its environment.

use crate::dockerfile;
use crate::graph::{Stage, WerfStage, WerfStageKind};
use crate::llb;
use crate::werf::{
    Command, DependencyValue, DockerSettings, GitMapping, ImageSpec, MountKind, UserStage,
};

use super::image::Empty;
use super::paths::{chown_opt, clean_path};
use super::{At, LowerError, Lowering, StageState};

impl Lowering<'_> {
    pub(super) fn lower_werf(
        &mut self,
        st: &mut StageState,
        stage: &Stage,
        werf: &WerfStage,
    ) -> Result<(), LowerError> {
        let name = stage.display_name();
        let stapel = &werf.image.stapel;
        match werf.kind {
            WerfStageKind::From | WerfStageKind::GitCache | WerfStageKind::Dockerfile => {
                st.image.commit(format!("werf {name}"), false, false);
            }
            WerfStageKind::User(user_stage) => {
                if user_stage != UserStage::BeforeInstall && !stapel.git.is_empty() {
                    self.copy_git(st, &name, &stapel.git);
                }
                self.run_shell(st, &name, werf, user_stage);
            }
            WerfStageKind::Dependencies(_) => {
                for &(index, source) in &werf.imports {
                    let import = &stapel.imports[index];
                    let source_state = self.stages[source.0]
                        .as_ref()
                        .expect("an imported stage is lowered first")
                        .state
                        .clone();
                    let mut copy =
                        llb::Copy::new(source_state, import.add.clone(), import.to.clone());
                    copy.include_patterns = import.include_paths.clone();
                    copy.exclude_patterns = import.exclude_paths.clone();
                    copy.allow_wildcard = false;
                    copy.owner = owner(import.owner.as_deref(), import.group.as_deref());
                    let source_name = self.graph.stage(source).display_name();
                    st.state = st.state.file(
                        vec![llb::FileAction::Copy(copy)],
                        llb::OpOptions {
                            custom_name: Some(format!(
                                "[{name}] import {} from {source_name} to {}",
                                import.add, import.to
                            )),
                            ..Default::default()
                        },
                    );
                    st.image.commit(
                        format!("werf {name}: import {} from {source_name}", import.add),
                        true,
                        false,
                    );
                }
                if !werf.dependencies.is_empty() {
                    self.set_dependency_env(st, werf)?;
                    st.image
                        .commit(format!("werf {name}: dependencies"), false, false);
                }
            }
            WerfStageKind::GitArchive | WerfStageKind::GitLatestPatch => {
                self.copy_git(st, &name, &stapel.git);
            }
            WerfStageKind::DockerInstructions => {
                let docker = stapel
                    .docker
                    .as_ref()
                    .expect("the stage exists with docker");
                self.apply_instructions(st, &docker_instructions(docker), stage)?;
            }
            WerfStageKind::ImageSpec => {
                let spec = stapel
                    .image_spec
                    .as_ref()
                    .expect("the stage exists with imageSpec");
                apply_image_spec(st, spec);
                st.image.commit(format!("werf {name}"), false, false);
            }
        }
        Ok(())
    }

    /// werf's `dependencies`: each import's value of the dependency image's last stage,
    /// which must be stored (its name, ID and digest exist only there), as image and
    /// build environment from this stage on.
    fn set_dependency_env(&self, st: &mut StageState, werf: &WerfStage) -> Result<(), LowerError> {
        for &(index, on) in &werf.dependencies {
            let dependency = &werf.image.stapel.dependencies[index];
            let Some(stored) = self.options.reused_stages.get(&on) else {
                return Err(LowerError::Werf {
                    message: format!(
                        "image {:?} depends on {:?}, whose name, ID and digest exist only once it is stored: build with a stages storage (`conveyor build --repo`)",
                        werf.image.name, dependency.image.value
                    ),
                    span: dependency.image.span,
                });
            };
            // `<repository>:<tag>`: a tag holds no `/`, so the last `:` after the last
            // `/` splits them (a registry's port comes before the first `/`).
            let slash = stored.reference.rfind('/').map_or(0, |i| i + 1);
            let (repository, tag) = match stored.reference[slash..].rfind(':') {
                Some(colon) => stored.reference.split_at(slash + colon),
                None => (stored.reference.as_str(), ":latest"),
            };
            for import in &dependency.imports {
                let value = match import.value {
                    DependencyValue::ImageName => stored.reference.as_str(),
                    DependencyValue::ImageRepo => repository,
                    DependencyValue::ImageTag => &tag[1..],
                    DependencyValue::ImageId => stored.image_id.as_str(),
                    DependencyValue::ImageDigest => stored.stored_digest.as_str(),
                };
                st.image.set_env(&import.target_env, value);
                st.set_env(&import.target_env, value);
            }
        }
        Ok(())
    }

    /// Copies each git mapping from the build context, honouring include/exclude paths
    /// and owner/group.
    fn copy_git(&mut self, st: &mut StageState, name: &str, mappings: &[GitMapping]) {
        for mapping in mappings {
            let add = clean_path(&mapping.add);
            self.context_paths.insert(add.clone());
            let mut copy = llb::Copy::new(self.context.clone(), add.clone(), mapping.to.clone());
            copy.include_patterns = mapping.include_paths.clone();
            copy.exclude_patterns = mapping.exclude_paths.clone();
            copy.allow_wildcard = false;
            copy.owner = owner(mapping.owner.as_deref(), mapping.group.as_deref());
            st.state = st.state.file(
                vec![llb::FileAction::Copy(copy)],
                llb::OpOptions {
                    custom_name: Some(format!("[{name}] git {add} to {}", mapping.to)),
                    ..Default::default()
                },
            );
            st.image.commit(
                format!("werf {name}: git {add} to {}", mapping.to),
                true,
                false,
            );
        }
    }

    fn run_shell(
        &mut self,
        st: &mut StageState,
        name: &str,
        werf: &WerfStage,
        user_stage: UserStage,
    ) {
        let stapel = &werf.image.stapel;
        let commands: Vec<&str> = stapel
            .shell
            .commands
            .get(&user_stage)
            .into_iter()
            .flatten()
            .map(|c| c.value.as_str())
            .collect();
        if commands.is_empty() {
            // A stage made only of its cache version: nothing to run.
            st.image.commit(format!("werf {name}"), false, false);
            return;
        }
        let script = commands.join("\n");
        let mut mounts: Vec<llb::Mount> = stapel
            .mounts
            .iter()
            .map(|mount| llb::Mount {
                dest: mount.to.clone(),
                kind: match mount.kind {
                    MountKind::TmpDir => llb::MountKind::Tmpfs { size: 0 },
                    MountKind::BuildDir => llb::MountKind::Cache {
                        id: format!("werf-build-dir/{}{}", werf.image.name, mount.to),
                        sharing: llb::CacheSharing::Shared,
                        base: llb::State::scratch(),
                        selector: String::new(),
                    },
                },
            })
            .collect();
        // Secrets are files under /run/secrets for the commands, as werf mounts them;
        // a missing one fails the step rather than running without it.
        mounts.extend(stapel.secrets.iter().map(|secret| llb::Mount {
            dest: format!("/run/secrets/{}", secret.id),
            kind: llb::MountKind::Secret {
                id: secret.id.clone(),
                uid: 0,
                gid: 0,
                mode: 0o400,
                optional: false,
            },
        }));
        // The config allows only these three.
        let network = match stapel.network.as_ref().map(|n| n.value.as_str()) {
            Some("host") => llb::NetMode::Host,
            Some("none") => llb::NetMode::None,
            _ => llb::NetMode::Sandbox,
        };
        let exec = llb::Exec {
            args: vec!["/bin/sh".into(), "-e".into(), "-c".into(), script],
            env: st.env_list(),
            cwd: st.dir.clone(),
            user: "0:0".into(),
            network,
            mounts,
            platform: Some(st.platform.clone()),
            options: llb::OpOptions {
                custom_name: Some(format!("[{name}] {}", commands.join(" && "))),
                ..Default::default()
            },
            ..Default::default()
        };
        st.state = st.state.run(exec).root();
        st.image
            .commit(format!("werf {name}: {}", commands.join("; ")), true, true);
    }

    /// Applies Dockerfile instructions made from werf settings with the Dockerfile
    /// semantics (werf hands its `docker` settings to the builder as such instructions).
    fn apply_instructions(
        &mut self,
        st: &mut StageState,
        text: &str,
        stage: &Stage,
    ) -> Result<(), LowerError> {
        let wrong = |message: String| LowerError::Werf {
            message,
            span: stage.span,
        };
        let parsed = dockerfile::parse(&format!("FROM scratch\n{text}"))
            .map_err(|error| wrong(format!("invalid docker settings: {error}")))?;
        let instructions = &parsed.stages[0].instructions;
        for instruction in instructions {
            let original = super::names::reconstructed_text(instruction);
            let at = At {
                original: &original,
                location: crate::diag::Span::default(),
                span: crate::diag::Span::default(),
            };
            match &instruction.command {
                dockerfile::Command::Workdir(word) => self.lower_workdir(st, word, &at)?,
                other => self.lower_metadata(st, other, &at)?,
            }
        }
        Ok(())
    }
}

fn owner(user: Option<&str>, group: Option<&str>) -> Option<llb::ChownOpt> {
    match (user, group) {
        (None, None) => None,
        (Some(user), None) => Some(chown_opt(user)),
        (user, Some(group)) => Some(chown_opt(&format!("{}:{group}", user.unwrap_or("0")))),
    }
}

/// A Dockerfile string in double quotes, with nothing expanded.
fn quoted(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' | '\\' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_array(args: &[String]) -> String {
    serde_json::to_string(args).expect("strings are JSON")
}

/// The `docker` section as Dockerfile instructions, ENTRYPOINT before CMD so that a
/// CMD given with it is kept (an ENTRYPOINT alone resets the inherited CMD, as in a
/// Dockerfile).
fn docker_instructions(docker: &DockerSettings) -> String {
    let mut text = String::new();
    if !docker.volumes.is_empty() {
        text.push_str(&format!("VOLUME {}\n", json_array(&docker.volumes)));
    }
    if !docker.expose.is_empty() {
        text.push_str(&format!("EXPOSE {}\n", docker.expose.join(" ")));
    }
    for (key, value) in &docker.env {
        text.push_str(&format!("ENV {key}={}\n", quoted(value)));
    }
    for (key, value) in &docker.labels {
        text.push_str(&format!("LABEL {}={}\n", quoted(key), quoted(value)));
    }
    for (keyword, command) in [("ENTRYPOINT", &docker.entrypoint), ("CMD", &docker.cmd)] {
        match command {
            Some(Command::Exec(args)) => {
                text.push_str(&format!("{keyword} {}\n", json_array(args)))
            }
            Some(Command::Shell(line)) => text.push_str(&format!("{keyword} {line}\n")),
            None => {}
        }
    }
    if let Some(dir) = &docker.workdir {
        text.push_str(&format!("WORKDIR {dir}\n"));
    }
    if let Some(user) = &docker.user {
        text.push_str(&format!("USER {user}\n"));
    }
    if let Some(check) = &docker.healthcheck {
        text.push_str(&format!("HEALTHCHECK {check}\n"));
    }
    text
}

/// `imageSpec.config`: values set as they are, without Dockerfile expansion.
fn apply_image_spec(st: &mut StageState, spec: &ImageSpec) {
    let config = &mut st.image.config;
    if let Some(author) = &spec.author {
        st.image.author = author.clone();
    }
    for volume in &spec.volumes {
        config.volumes.insert(volume.clone(), Empty {});
    }
    for port in &spec.expose {
        let port = if port.contains('/') {
            port.clone()
        } else {
            format!("{port}/tcp")
        };
        config.exposed_ports.insert(port, Empty {});
    }
    config.labels.extend(spec.labels.clone());
    if let Some(user) = &spec.user {
        config.user = user.clone();
    }
    if !spec.entrypoint.is_empty() {
        config.entrypoint = spec.entrypoint.clone();
        if spec.cmd.is_empty() {
            config.cmd.clear();
        }
    }
    if !spec.cmd.is_empty() {
        config.cmd = spec.cmd.clone();
    }
    if let Some(dir) = &spec.working_dir {
        config.working_dir = dir.clone();
    }
    if let Some(signal) = &spec.stop_signal {
        config.stop_signal = signal.clone();
    }
    for (key, value) in &spec.env {
        st.image.set_env(key, value);
        st.set_env(key, value);
    }
}

#[cfg(test)]
#[path = "werf_tests.rs"]
mod tests;
