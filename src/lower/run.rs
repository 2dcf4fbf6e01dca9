//! RUN: the command line (shell form through SHELL, exec form as is, heredocs), its
//! `--mount`s, `--network` and `--security`, after BuildKit's `dispatchRun` and
//! `convert_runmount.go`.

use crate::dockerfile::{
    CommandLine, Mount, MountType, Network, RunCommand, Security, Sharing, shell::Lexer,
};
use crate::graph::{Dependency, Via};
use crate::llb;

use super::{
    At, DESCRIPTION_COMMAND, LowerError, Lowering, StageState, clean_path, join_path,
    uppercase_command,
};

impl Lowering<'_> {
    pub(super) fn lower_run(
        &mut self,
        st: &mut StageState,
        run: &RunCommand,
        dependencies: &[Dependency],
        at: &At<'_>,
    ) -> Result<(), LowerError> {
        let mut custom_name = at.original.to_string();
        let mut mounts = Vec::new();
        let (mut args, prepend_shell) = match &run.command {
            CommandLine::Exec(args) => (args.clone(), false),
            CommandLine::Shell(line) => (vec![line.clone()], true),
        };
        if prepend_shell && !run.heredocs.is_empty() {
            let line = args[0].clone();
            if is_single_heredoc(&line) {
                let heredoc = &run.heredocs[0];
                let data = heredoc.content.clone();
                if data.starts_with("#!") {
                    // A script with its own interpreter: written to a file and run.
                    let script = llb::State::scratch().file(
                        vec![llb::FileAction::MkFile(llb::MkFile {
                            path: format!("/{}", heredoc.name),
                            mode: 0o755,
                            data: data.clone().into_bytes(),
                            owner: None,
                            timestamp: None,
                        })],
                        llb::OpOptions {
                            custom_name: Some("[internal] preparing inline document".into()),
                            ..Default::default()
                        },
                    );
                    mounts.push(llb::Mount {
                        dest: "/dev/pipes/".into(),
                        kind: llb::MountKind::Bind {
                            source: script,
                            selector: "/".into(),
                            readonly: true,
                        },
                    });
                    args = vec![format!("/dev/pipes/{}", heredoc.name)];
                } else {
                    // The body is the script the shell runs.
                    args = vec![data];
                }
                custom_name.push_str(&format!(" ({})", summarize_heredoc(&heredoc.content)));
            } else {
                // Heredocs inside a longer command: hand the whole text to the shell.
                let mut full = line;
                for heredoc in &run.heredocs {
                    full.push('\n');
                    full.push_str(&heredoc.content);
                    full.push_str(&heredoc.name);
                }
                args = vec![full];
            }
        }
        if prepend_shell {
            args = with_shell(&st.image.config.shell, args);
        }

        let mut secret_env = Vec::new();
        for (index, mount) in run.mounts.iter().enumerate() {
            let from = dependencies.iter().find(|d| d.via == Via::Mount(index));
            self.lower_mount(st, mount, from, &mut mounts, &mut secret_env)?;
        }

        let env = st.env_list();
        // BuildKit names RUN vertices with quotes kept and unset variables left as
        // written (escapes processed): the lexer that reads heredoc delimiters does that.
        let raw_lexer = Lexer::for_heredoc_name(true);
        let shown = raw_lexer
            .expand_value(&custom_name, |name| st.env_value(name))
            .unwrap_or_else(|_| custom_name.clone());
        let name = st.prefix(&uppercase_command(&shown));
        let mut options = self.op_options(Some(name), at.location);
        options
            .description
            .push((DESCRIPTION_COMMAND, at.original.to_string()));
        let history = run_history(&args, &st.args, st);
        let exec = llb::Exec {
            args,
            env,
            cwd: st.dir.clone(),
            user: st.user.clone(),
            network: match run.network {
                Some(Network::Host) => llb::NetMode::Host,
                Some(Network::None) => llb::NetMode::None,
                Some(Network::Default) => llb::NetMode::Sandbox,
                None => image_network(st),
            },
            extra_hosts: st
                .werf_dockerfile
                .as_ref()
                .map(|image| image.add_hosts.clone())
                .unwrap_or_default(),
            security: match run.security {
                Some(Security::Insecure) => llb::SecurityMode::Insecure,
                Some(Security::Sandbox) | None => llb::SecurityMode::Sandbox,
            },
            mounts,
            secret_env,
            platform: Some(st.platform.clone()),
            options,
            ..Default::default()
        };
        st.state = st.state.run(exec).root();
        st.image.commit(history, true, true);
        Ok(())
    }

    fn lower_mount(
        &mut self,
        st: &mut StageState,
        mount: &Mount,
        from: Option<&Dependency>,
        mounts: &mut Vec<llb::Mount>,
        secret_env: &mut Vec<(String, String, bool)>,
    ) -> Result<(), LowerError> {
        let span = mount.span;
        let expand = |value: &Option<String>| -> Result<Option<String>, LowerError> {
            value.as_ref().map(|v| self.expand(st, v, span)).transpose()
        };
        let target = expand(&mount.target)?;
        let source = expand(&mount.source)?;
        let id = expand(&mount.id)?;
        let mode = number(&expand(&mount.mode)?, 8, "mode", span)?;
        let uid = number(&expand(&mount.uid)?, 10, "uid", span)?;
        let gid = number(&expand(&mount.gid)?, 10, "gid", span)?;
        let env = expand(&mount.env)?;
        let mount_error = |message: String| LowerError::Mount { message, span };

        match mount.kind {
            MountType::Secret => {
                let id = match (source.clone().or(id), &target) {
                    (Some(id), _) => id,
                    (None, Some(target)) => base_name(target),
                    (None, None) if env.is_some() => {
                        return Err(mount_error("secret mount needs an id or source".into()));
                    }
                    (None, None) => {
                        return Err(mount_error("one of source, target required".into()));
                    }
                };
                let optional = !mount.required;
                if let Some(env) = env {
                    secret_env.push((id.clone(), env, optional));
                    if target.is_none() {
                        return Ok(());
                    }
                }
                let dest = target.unwrap_or_else(|| format!("/run/secrets/{}", base_name(&id)));
                mounts.push(llb::Mount {
                    dest,
                    kind: llb::MountKind::Secret {
                        id,
                        uid: uid.unwrap_or(0),
                        gid: gid.unwrap_or(0),
                        mode: mode.unwrap_or(0o400),
                        optional,
                    },
                });
                return Ok(());
            }
            MountType::Ssh => {
                if source.is_some() {
                    return Err(mount_error("ssh does not support source".into()));
                }
                let n_ssh = mounts
                    .iter()
                    .filter(|m| matches!(m.kind, llb::MountKind::Ssh { .. }))
                    .count();
                mounts.push(llb::Mount {
                    dest: target.unwrap_or_else(|| format!("/run/buildkit/ssh_agent.{n_ssh}")),
                    kind: llb::MountKind::Ssh {
                        id: id.unwrap_or_else(|| "default".into()),
                        uid: uid.unwrap_or(0),
                        gid: gid.unwrap_or(0),
                        mode: mode.unwrap_or(0o600),
                        optional: !mount.required,
                    },
                });
                return Ok(());
            }
            MountType::Bind | MountType::Cache | MountType::Tmpfs => {}
        }

        let written_target = target.clone().unwrap_or_default();
        let dest = if written_target.starts_with('/') {
            clean_path(&written_target)
        } else {
            join_path(&st.dir, &written_target)
        };
        if dest == "/" {
            return Err(mount_error(format!("invalid mount target {dest:?}")));
        }
        let mut base = match (from, mount.kind) {
            (Some(dependency), _) => {
                self.dependency_state(&dependency.on, dependency.span, &st.platform)?
            }
            (None, MountType::Bind) => self.context.clone(),
            (None, _) => llb::State::scratch(),
        };
        let source_path = clean_path(source.as_deref().unwrap_or_default());
        let mut selector = String::new();
        if source_path != "/" {
            selector = source_path.clone();
        } else if mount.kind != MountType::Tmpfs
            && (uid.is_some() || gid.is_some() || mode.is_some())
        {
            // BuildKit prepares a directory with the requested owner and mode and mounts it.
            base = base.file(
                vec![llb::FileAction::MkDir(llb::MkDir {
                    path: "/cache".into(),
                    mode: mode.unwrap_or(0o755),
                    make_parents: false,
                    owner: Some(llb::ChownOpt {
                        user: Some(llb::UserOpt::Id(uid.unwrap_or(0))),
                        group: Some(llb::UserOpt::Id(gid.unwrap_or(0))),
                    }),
                    timestamp: None,
                })],
                llb::OpOptions {
                    custom_name: Some("[internal] settings cache mount permissions".into()),
                    ..Default::default()
                },
            );
            selector = "/cache".into();
        }
        if from.is_none() && mount.kind != MountType::Cache {
            self.context_paths.insert(source_path);
        }
        let kind = match mount.kind {
            MountType::Tmpfs => llb::MountKind::Tmpfs {
                size: match &mount.size {
                    Some(size) => parse_size(&self.expand(st, size, span)?)
                        .ok_or_else(|| mount_error(format!("invalid tmpfs size {size:?}")))?,
                    None => 0,
                },
            },
            MountType::Cache => {
                // BuildKit's id is the namespace (empty here) and the id or the target as
                // written, cleaned, joined by `/`.
                let id = id.unwrap_or_else(|| clean_relative(&written_target));
                llb::MountKind::Cache {
                    id: format!("/{id}"),
                    sharing: match mount.sharing {
                        Some(Sharing::Private) => llb::CacheSharing::Private,
                        Some(Sharing::Locked) => llb::CacheSharing::Locked,
                        Some(Sharing::Shared) | None => llb::CacheSharing::Shared,
                    },
                    base,
                    selector,
                }
            }
            _ => llb::MountKind::Bind {
                source: base,
                selector,
                readonly: mount.readonly,
            },
        };
        mounts.push(llb::Mount { dest, kind });
        Ok(())
    }
}

/// Go's `path.Clean` on a path that may be relative.
fn clean_relative(path: &str) -> String {
    let cleaned = clean_path(path);
    if path.starts_with('/') {
        cleaned
    } else {
        cleaned.trim_start_matches('/').to_string()
    }
}

fn base_name(path: &str) -> String {
    let cleaned = clean_relative(path);
    cleaned
        .rsplit('/')
        .find(|p| !p.is_empty())
        .unwrap_or("/")
        .to_string()
}

fn number(
    value: &Option<String>,
    radix: u32,
    key: &str,
    span: crate::diag::Span,
) -> Result<Option<u32>, LowerError> {
    match value {
        None => Ok(None),
        Some(text) => u32::from_str_radix(text, radix)
            .map(Some)
            .map_err(|_| LowerError::Mount {
                message: format!("invalid {key} {text:?}"),
                span,
            }),
    }
}

/// A tmpfs size as docker's `units.RAMInBytes` reads it: a number with an optional
/// binary unit (`64m`, `1g`, `512k`, `100b`).
fn parse_size(text: &str) -> Option<i64> {
    let lower = text.trim().to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let number: f64 = lower[..digits_end].parse().ok()?;
    let unit = lower[digits_end..].trim();
    let multiplier: f64 = match unit.trim_end_matches('b').trim_end_matches('i') {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0_f64.powi(4),
        "p" => 1024.0_f64.powi(5),
        _ => return None,
    };
    Some((number * multiplier) as i64)
}

/// Whether a RUN line is nothing but one heredoc word (`<<EOF`, `<<-"EOF"`, `3<<EOF`).
fn is_single_heredoc(line: &str) -> bool {
    let trimmed = line.trim();
    let rest = trimmed.trim_start_matches(|c: char| c.is_ascii_digit());
    let Some(rest) = rest.strip_prefix("<<") else {
        return false;
    };
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    !rest.is_empty() && !rest.contains(char::is_whitespace) && !rest.contains("<<")
}

/// The first line of a heredoc, `...` when there are more (BuildKit's `summarizeHeredoc`).
fn summarize_heredoc(doc: &str) -> String {
    let doc = doc.trim().replace("\r\n", "\n");
    let mut lines = doc.split('\n');
    let first = lines.next().unwrap_or_default().to_string();
    if lines.next().is_some() {
        format!("{first}...")
    } else {
        first
    }
}

/// The stage's SHELL (default `/bin/sh -c`) followed by the joined arguments.
pub(super) fn with_shell(shell: &[String], args: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = if shell.is_empty() {
        vec!["/bin/sh".into(), "-c".into()]
    } else {
        shell.to_vec()
    };
    out.push(args.join(" "));
    out
}

/// The history text of a RUN: `RUN |N K=V …` for the stage's ARGs, then the
/// arguments, space-separated — written into one string.
fn run_history(
    args: &[String],
    build_args: &[(String, Option<String>)],
    st: &StageState,
) -> String {
    let mut text = String::from("RUN ");
    if !build_args.is_empty() {
        text.push('|');
        text.push_str(&build_args.len().to_string());
        for (key, value) in build_args {
            let value = st.env_str(key).or(value.as_deref()).unwrap_or_default();
            text.push(' ');
            text.push_str(key);
            text.push('=');
            text.push_str(value);
        }
        text.push(' ');
    }
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(arg);
    }
    text
}

/// A RUN without `--network`: its werf Dockerfile image's `network`, else the sandbox.
fn image_network(st: &StageState) -> llb::NetMode {
    let network = st.werf_dockerfile.as_ref().and_then(|i| i.network.as_ref());
    match network.map(|n| n.value.as_str()) {
        Some("host") => llb::NetMode::Host,
        Some("none") => llb::NetMode::None,
        _ => llb::NetMode::Sandbox,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_match_buildkit() {
        assert!(is_single_heredoc("<<EOF"));
        assert!(is_single_heredoc(" <<-\"EOF\" "));
        assert!(!is_single_heredoc("cat <<EOF"));
        assert!(!is_single_heredoc("<<EOF > /x"));
        assert_eq!(summarize_heredoc("\necho a\necho b\n"), "echo a...");
        assert_eq!(summarize_heredoc("echo a\n"), "echo a");
        assert_eq!(parse_size("64m"), Some(64 << 20));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("x"), None);
        assert_eq!(base_name("/run/x/id"), "id");
        assert_eq!(clean_relative("root/.cache/"), "root/.cache");
    }
}
