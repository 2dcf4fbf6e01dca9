//! Exec ops: run a process over a root filesystem with extra mounts.

use std::sync::Arc;

use super::state::{Node, OpKind, OpOptions, Output, Platform, State};

/// A process to run, as `State::run` takes it. Env entries are `KEY=value`.
#[derive(Clone, Debug, Default)]
pub struct Exec {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub user: String,
    pub hostname: String,
    /// `(host, ip)` pairs added to /etc/hosts.
    pub extra_hosts: Vec<(String, String)>,
    pub network: NetMode,
    pub security: SecurityMode,
    /// Mounts besides the root filesystem.
    pub mounts: Vec<Mount>,
    /// Secrets exposed as environment variables: `(secret id, variable, optional)`.
    pub secret_env: Vec<(String, String, bool)>,
    pub platform: Option<Platform>,
    pub options: OpOptions,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NetMode {
    /// The daemon's default: a sandboxed network.
    #[default]
    Sandbox,
    Host,
    None,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SecurityMode {
    #[default]
    Sandbox,
    Insecure,
}

#[derive(Clone, Debug)]
pub struct Mount {
    pub dest: String,
    pub kind: MountKind,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CacheSharing {
    #[default]
    Shared,
    Private,
    Locked,
}

#[derive(Clone, Debug)]
pub enum MountKind {
    /// A filesystem (or the `selector` path inside it). Writable bind mounts are
    /// outputs of the exec.
    Bind {
        source: State,
        selector: String,
        readonly: bool,
    },
    /// A persistent cache directory shared between builds, seeded from `base`.
    Cache {
        id: String,
        sharing: CacheSharing,
        base: State,
        selector: String,
    },
    Tmpfs {
        size: i64,
    },
    Secret {
        id: String,
        uid: u32,
        gid: u32,
        mode: u32,
        optional: bool,
    },
    Ssh {
        id: String,
        uid: u32,
        gid: u32,
        mode: u32,
        optional: bool,
    },
}

impl MountKind {
    fn is_output(&self) -> bool {
        matches!(
            self,
            MountKind::Bind {
                readonly: false,
                ..
            }
        )
    }

    /// Secrets and ssh sockets come after the filesystem mounts, as Go's builder
    /// orders them; the rest sort by destination.
    fn group(&self) -> u8 {
        match self {
            MountKind::Secret { .. } => 1,
            MountKind::Ssh { .. } => 2,
            _ => 0,
        }
    }
}

/// The stored form of an exec: the root is the first mount at `/`, mounts sorted.
#[derive(Debug)]
pub(super) struct ExecOp {
    pub(super) exec: Exec,
    pub(super) mounts: Vec<Mount>,
}

/// The outputs of an exec: its root filesystem and each writable mount.
#[derive(Clone, Debug)]
pub struct ExecResult {
    node: Arc<Node>,
    output_dests: Vec<String>,
}

impl ExecResult {
    /// The root filesystem after the process ran.
    pub fn root(&self) -> State {
        self.output("/")
            .expect("an exec always has a writable root mount")
    }

    /// A writable mount's content after the process ran.
    pub fn output(&self, dest: &str) -> Option<State> {
        let index = self.output_dests.iter().position(|d| d == dest)?;
        Some(State {
            output: Some(Output {
                node: self.node.clone(),
                index: index as i64,
            }),
        })
    }
}

impl State {
    /// Runs `exec` with this state as its root filesystem.
    pub fn run(&self, mut exec: Exec) -> ExecResult {
        // Like Go's builder: with an ssh agent mounted, SSH_AUTH_SOCK points at the
        // first one unless the caller set it.
        let first_ssh = exec
            .mounts
            .iter()
            .find(|m| matches!(m.kind, MountKind::Ssh { .. }));
        if let Some(ssh) = first_ssh
            && !exec.env.iter().any(|e| e.starts_with("SSH_AUTH_SOCK="))
        {
            exec.env.push(format!("SSH_AUTH_SOCK={}", ssh.dest));
        }
        let root = Mount {
            dest: "/".into(),
            kind: MountKind::Bind {
                source: self.clone(),
                selector: String::new(),
                readonly: false,
            },
        };
        let mut mounts: Vec<Mount> = std::iter::once(root).chain(exec.mounts.drain(..)).collect();
        mounts.sort_by(|a, b| (a.kind.group(), &a.dest).cmp(&(b.kind.group(), &b.dest)));
        let output_dests = mounts
            .iter()
            .filter(|m| m.kind.is_output())
            .map(|m| m.dest.clone())
            .collect();
        let platform = exec.platform.clone();
        let options = std::mem::take(&mut exec.options);
        let node = Arc::new(Node {
            op: OpKind::Exec(Box::new(ExecOp { exec, mounts })),
            platform,
            options,
        });
        ExecResult { node, output_dests }
    }
}
