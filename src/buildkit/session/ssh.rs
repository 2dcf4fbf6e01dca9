//! The SSH service: `RUN --mount=type=ssh` reaches the user's ssh-agent through the
//! session (`--ssh default` for `$SSH_AUTH_SOCK`, `--ssh ID=SOCKET`). Like buildx,
//! the build gets a read-only agent: it may list keys and ask for signatures, never
//! add, remove or lock them. The agent protocol is strictly one request then one
//! answer, each a 4-byte big-endian length and a body whose first byte is its type,
//! so requests are read whole and either forwarded or refused.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::proto::moby::sshforward::v1::ssh_server::Ssh;
use crate::proto::moby::sshforward::v1::{BytesMessage, CheckAgentRequest, CheckAgentResponse};

const DEFAULT_ID: &str = "default";
/// The largest agent message the OpenSSH agent accepts.
const MAX_AGENT_MESSAGE: usize = 256 << 10;
const SSH_AGENT_FAILURE: u8 = 5;
const SSH_AGENTC_REQUEST_IDENTITIES: u8 = 11;
const SSH_AGENTC_SIGN_REQUEST: u8 = 13;

/// Parses `default` (the agent at `$SSH_AUTH_SOCK`), `ID` (the same under another
/// id) or `ID=SOCKET`. Key files, which buildx loads into an agent of its own, are
/// not taken: start an ssh-agent and `ssh-add` them.
pub fn parse_ssh(text: &str) -> Result<(String, PathBuf), String> {
    let (id, socket) = match text.split_once('=') {
        Some((id, socket)) => (id.to_string(), PathBuf::from(socket)),
        None => {
            let socket = std::env::var_os("SSH_AUTH_SOCK")
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    format!("--ssh {text} needs SSH_AUTH_SOCK (a running ssh-agent), or give {text}=SOCKET")
                })?;
            (text.to_string(), PathBuf::from(socket))
        }
    };
    if id.is_empty() || id.contains(',') {
        return Err(format!("invalid --ssh {text:?}: expected ID or ID=SOCKET"));
    }
    use std::os::unix::fs::FileTypeExt;
    match std::fs::metadata(&socket) {
        Ok(metadata) if metadata.file_type().is_socket() => Ok((id, socket)),
        Ok(_) => Err(format!(
            "--ssh {text}: {} is not an ssh-agent socket (key files are not taken: ssh-add them to an agent)",
            socket.display()
        )),
        Err(error) => Err(format!("--ssh {text}: {}: {error}", socket.display())),
    }
}

pub struct SshService {
    pub agents: Arc<BTreeMap<String, PathBuf>>,
}

impl SshService {
    fn agent(&self, id: &str) -> Result<PathBuf, Status> {
        let id = if id.is_empty() { DEFAULT_ID } else { id };
        self.agents
            .get(id)
            .cloned()
            .ok_or_else(|| Status::not_found(format!("unset ssh forward key {id}")))
    }
}

#[tonic::async_trait]
impl Ssh for SshService {
    type ForwardAgentStream = ReceiverStream<Result<BytesMessage, Status>>;

    async fn check_agent(
        &self,
        request: Request<CheckAgentRequest>,
    ) -> Result<Response<CheckAgentResponse>, Status> {
        self.agent(&request.into_inner().id)?;
        Ok(Response::new(CheckAgentResponse {}))
    }

    async fn forward_agent(
        &self,
        request: Request<Streaming<BytesMessage>>,
    ) -> Result<Response<Self::ForwardAgentStream>, Status> {
        let id = request
            .metadata()
            .get("buildkit.ssh.id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let socket = self.agent(&id)?;
        let agent = UnixStream::connect(&socket).await.map_err(|error| {
            Status::unavailable(format!(
                "cannot reach ssh-agent {}: {error}",
                socket.display()
            ))
        })?;
        let (out, stream) = mpsc::channel(16);
        tokio::spawn(relay(request.into_inner(), agent, out));
        Ok(Response::new(ReceiverStream::new(stream)))
    }
}

/// Reads whole agent messages out of the gRPC byte stream; forwards the read-only
/// ones and answers the rest with SSH_AGENT_FAILURE.
async fn relay(
    mut incoming: impl Stream<Item = Result<BytesMessage, Status>> + Unpin,
    mut agent: UnixStream,
    out: mpsc::Sender<Result<BytesMessage, Status>>,
) {
    let mut pending: Vec<u8> = Vec::new();
    loop {
        // One whole request from the build.
        let request = loop {
            if pending.len() >= 4 {
                let length = u32::from_be_bytes(pending[..4].try_into().expect("4 bytes")) as usize;
                if length == 0 || length > MAX_AGENT_MESSAGE {
                    return;
                }
                if pending.len() >= 4 + length {
                    break pending.drain(..4 + length).collect::<Vec<u8>>();
                }
            }
            match incoming.next().await {
                Some(Ok(message)) => pending.extend_from_slice(&message.data),
                _ => return,
            }
        };
        let answer = if matches!(
            request[4],
            SSH_AGENTC_REQUEST_IDENTITIES | SSH_AGENTC_SIGN_REQUEST
        ) {
            match ask_agent(&mut agent, &request).await {
                Some(answer) => answer,
                None => return,
            }
        } else {
            vec![0, 0, 0, 1, SSH_AGENT_FAILURE]
        };
        if out.send(Ok(BytesMessage { data: answer })).await.is_err() {
            return;
        }
    }
}

async fn ask_agent(agent: &mut UnixStream, request: &[u8]) -> Option<Vec<u8>> {
    agent.write_all(request).await.ok()?;
    let mut length = [0u8; 4];
    agent.read_exact(&mut length).await.ok()?;
    let size = u32::from_be_bytes(length) as usize;
    if size > MAX_AGENT_MESSAGE {
        return None;
    }
    let mut answer = vec![0u8; 4 + size];
    answer[..4].copy_from_slice(&length);
    agent.read_exact(&mut answer[4..]).await.ok()?;
    Some(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real ssh-agent holding one key, on a socket in `dir`.
    fn agent_with_a_key(dir: &std::path::Path) -> (std::process::Child, PathBuf) {
        use std::process::Command;
        let key = dir.join("key");
        let made = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "conveyor-test", "-f"])
            .arg(&key)
            .status()
            .unwrap();
        assert!(made.success());
        let socket = dir.join("agent.sock");
        let agent = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..200 {
            if socket.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let added = Command::new("ssh-add")
            .arg("-q")
            .arg(&key)
            .env("SSH_AUTH_SOCK", &socket)
            .status()
            .unwrap();
        assert!(added.success());
        (agent, socket)
    }

    /// Sends `requests` (whole agent messages, split across frames at odd places)
    /// through the relay and returns the answers' types and bodies.
    async fn through_relay(socket: &std::path::Path, requests: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let bytes: Vec<u8> = requests.concat();
        let frames: Vec<Result<BytesMessage, Status>> = bytes
            .chunks(3)
            .map(|chunk| {
                Ok(BytesMessage {
                    data: chunk.to_vec(),
                })
            })
            .collect();
        let agent = UnixStream::connect(socket).await.unwrap();
        let (out, mut answers) = mpsc::channel(16);
        tokio::spawn(relay(tokio_stream::iter(frames), agent, out));
        let mut received = Vec::new();
        for _ in requests {
            let answer = answers.recv().await.unwrap().unwrap().data;
            received.push(answer[4..].to_vec());
        }
        received
    }

    fn message(body: &[u8]) -> Vec<u8> {
        let mut framed = (body.len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(body);
        framed
    }

    #[tokio::test]
    async fn the_build_may_list_keys_but_not_remove_them() {
        let dir = tempfile::tempdir().unwrap();
        let (mut agent, socket) = agent_with_a_key(dir.path());
        const REMOVE_ALL_IDENTITIES: u8 = 19;
        const IDENTITIES_ANSWER: u8 = 12;
        let answers = through_relay(
            &socket,
            &[
                message(&[SSH_AGENTC_REQUEST_IDENTITIES]),
                message(&[REMOVE_ALL_IDENTITIES]),
                message(&[SSH_AGENTC_REQUEST_IDENTITIES]),
            ],
        )
        .await;
        let _ = agent.kill();
        let _ = agent.wait();
        for listed in [&answers[0], &answers[2]] {
            assert_eq!(listed[0], IDENTITIES_ANSWER);
            assert_eq!(&listed[1..5], &1u32.to_be_bytes(), "one key, still there");
            assert!(listed.windows(13).any(|w| w == b"conveyor-test"));
        }
        assert_eq!(answers[1], [SSH_AGENT_FAILURE]);
    }

    #[test]
    fn only_agent_sockets_are_taken() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("id_ed25519");
        std::fs::write(&key, "not a socket").unwrap();
        let text = format!("deploy={}", key.display());
        assert_eq!(
            parse_ssh(&text).unwrap_err(),
            format!(
                "--ssh {text}: {} is not an ssh-agent socket (key files are not taken: ssh-add them to an agent)",
                key.display()
            )
        );
        let socket = dir.path().join("agent.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        assert_eq!(
            parse_ssh(&format!("deploy={}", socket.display())).unwrap(),
            ("deploy".to_string(), socket)
        );
        assert_eq!(
            parse_ssh("=x").unwrap_err(),
            "invalid --ssh \"=x\": expected ID or ID=SOCKET"
        );
    }
}
