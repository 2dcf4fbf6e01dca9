//! FileSync.DiffCopy: the daemon asks for one of the session's directories (the build
//! context, the build file's directory) and conveyor sends it as fsutil's packet
//! stream — every entry's `Stat` in walk order, then the bytes of each regular file
//! the daemon requests, 32 KiB at a time, read from disk as they are sent.
//!
//! What is sent is decided by `context::walk`: the include and exclude patterns and
//! follow paths of the request, never a symlink followed out of the directory, no
//! path with `..`. File bytes are read through `context::open_file`, which refuses a
//! file swapped for a symlink since the walk.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::context::{self, Entry, EntryKind, Filter};
use crate::proto::fsutil::types::{Packet, Stat, packet::PacketType};
use crate::proto::moby::filesync::v1::file_sync_server::FileSync;

const CHUNK: usize = 32 << 10;

/// The directories a session serves, by local name (`context`, `dockerfile`).
pub struct FileSyncService {
    pub dirs: Arc<BTreeMap<String, PathBuf>>,
}

type PacketStream = ReceiverStream<Result<Packet, Status>>;

/// A repeated metadata value, URL-query-unescaped when BuildKit marked the key
/// `<key>-encoded` (it does when a value has non-ASCII characters).
pub(super) fn metadata_values(metadata: &tonic::metadata::MetadataMap, key: &str) -> Vec<String> {
    let encoded = metadata
        .get(format!("{key}-encoded"))
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches!(v, "1" | "t" | "T" | "true" | "TRUE" | "True"));
    metadata
        .get_all(key)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(|value| {
            if encoded {
                query_unescape(value)
            } else {
                value.to_string()
            }
        })
        .collect()
}

/// Go's `url.QueryUnescape` (`+` is a space, `%XX` a byte); a malformed escape is
/// kept as written. Written here because it is ten lines and no crate in the tree
/// does it.
fn query_unescape(text: &str) -> String {
    let hex = |byte: u8| (byte as char).to_digit(16);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn stat_of(entry: &Entry) -> Stat {
    Stat {
        path: entry.path.clone(),
        mode: entry.mode,
        uid: entry.uid,
        gid: entry.gid,
        size: entry.size as i64,
        mod_time: entry.mtime_ns,
        linkname: entry.link_target.clone().unwrap_or_default(),
        ..Default::default()
    }
}

fn packet(kind: PacketType) -> Packet {
    Packet {
        r#type: kind as i32,
        ..Default::default()
    }
}

#[tonic::async_trait]
impl FileSync for FileSyncService {
    type DiffCopyStream = PacketStream;
    type TarStreamStream = PacketStream;

    async fn diff_copy(
        &self,
        request: Request<Streaming<Packet>>,
    ) -> Result<Response<PacketStream>, Status> {
        let metadata = request.metadata();
        let dir_name = metadata_values(metadata, "dir-name")
            .into_iter()
            .next()
            .unwrap_or_default();
        let Some(root) = self.dirs.get(&dir_name).cloned() else {
            return Err(Status::not_found(format!(
                "no access allowed to dir {dir_name:?}"
            )));
        };
        let filter = Filter {
            include_patterns: metadata_values(metadata, "include-patterns"),
            exclude_patterns: metadata_values(metadata, "exclude-patterns"),
            follow_paths: metadata_values(metadata, "followpaths"),
        };
        let incoming = request.into_inner();
        let (sender, receiver) = mpsc::channel(64);
        tokio::spawn(send_dir(root, filter, incoming, sender));
        Ok(Response::new(ReceiverStream::new(receiver)))
    }

    async fn tar_stream(
        &self,
        _request: Request<Streaming<Packet>>,
    ) -> Result<Response<PacketStream>, Status> {
        Err(Status::unimplemented("only diffcopy is served"))
    }
}

type Outgoing = mpsc::Sender<Result<Packet, Status>>;

/// What the receiver asks of the sender.
enum Asked {
    File(u32),
    /// The receiver has everything: answer with FIN.
    Finished,
    /// The receiver failed or hung up: stop.
    Gone,
}

/// The sender's side of DiffCopy for one directory. As fsutil's sender, it reads the
/// receiver's requests while the STATs are still going out: the receiver asks for
/// files as soon as it has their STATs, and left unread, those requests ended the
/// upload (seen with ~3 000 files).
async fn send_dir(root: PathBuf, filter: Filter, incoming: Streaming<Packet>, out: Outgoing) {
    let walk_root = root.clone();
    let walked = tokio::task::spawn_blocking(move || context::walk(&walk_root, &filter)).await;
    let entries = match walked {
        Ok(Ok(entries)) => entries,
        Ok(Err(error)) => return send_error(&out, &error.to_string()).await,
        Err(error) => return send_error(&out, &error.to_string()).await,
    };
    // Every STAT takes the next id; regular files (not hard links) can be requested
    // by it.
    let mut requestable: HashMap<u32, String> = entries
        .iter()
        .enumerate()
        .filter(|(_, entry)| entry.kind == EntryKind::File)
        .map(|(id, entry)| (id as u32, entry.path.clone()))
        .collect();

    let mut incoming = super::read_ahead(incoming);
    let stats_out = out.clone();
    let stats = tokio::spawn(async move {
        for entry in &entries {
            let stat = Packet {
                stat: Some(stat_of(entry)),
                ..packet(PacketType::PacketStat)
            };
            if stats_out.send(Ok(stat)).await.is_err() {
                return;
            }
        }
        let _ = stats_out.send(Ok(packet(PacketType::PacketStat))).await;
    });

    // Several files go out at once (their DATA packets carry their ids), so small
    // files do not each wait for a round trip through a blocking read.
    let root = Arc::new(root);
    let mut sending: JoinSet<Result<(), String>> = JoinSet::new();
    let failed = |message: String, stats: &tokio::task::JoinHandle<()>| {
        stats.abort();
        message
    };
    while let Some(received) = incoming.recv().await {
        let next = match received
            .map(|packet| PacketType::try_from(packet.r#type).map(|t| (t, packet.id)))
        {
            Ok(Ok((PacketType::PacketReq, id))) => Asked::File(id),
            Ok(Ok((PacketType::PacketFin, _))) => Asked::Finished,
            Ok(Ok((PacketType::PacketErr, _))) | Err(_) => Asked::Gone,
            Ok(_) => continue,
        };
        match next {
            Asked::File(id) => {
                let Some(path) = requestable.remove(&id) else {
                    let message = failed(format!("invalid file id {id}"), &stats);
                    return send_error(&out, &message).await;
                };
                if sending.len() >= FILES_AT_ONCE
                    && let Some(Ok(Err(message)) | Err(message)) = next_done(&mut sending).await
                {
                    let message = failed(message, &stats);
                    return send_error(&out, &message).await;
                }
                let (root, out) = (Arc::clone(&root), out.clone());
                sending.spawn(async move { send_file(&root, &path, id, &out).await });
            }
            Asked::Finished => {
                while let Some(done) = next_done(&mut sending).await {
                    if let Ok(Err(message)) | Err(message) = done {
                        let message = failed(message, &stats);
                        return send_error(&out, &message).await;
                    }
                }
                // The receiver finishes only after the last STAT; wait for it to
                // have gone out all the same, so FIN is the last packet.
                let _ = stats.await;
                let _ = out.send(Ok(packet(PacketType::PacketFin))).await;
                return;
            }
            Asked::Gone => break,
        }
    }
    sending.abort_all();
    stats.abort();
}

/// How many requested files are sent at once.
const FILES_AT_ONCE: usize = 4;

/// The next file send to finish: `Ok(result)`, or `Err` if its task died.
async fn next_done(
    sending: &mut JoinSet<Result<(), String>>,
) -> Option<Result<Result<(), String>, String>> {
    sending
        .join_next()
        .await
        .map(|joined| joined.map_err(|error| error.to_string()))
}

/// One file's bytes as DATA packets, then an empty DATA for its end; read on a
/// blocking thread a chunk at a time, so a large file is never in memory whole.
async fn send_file(root: &Arc<PathBuf>, path: &str, id: u32, out: &Outgoing) -> Result<(), String> {
    let (chunks_sender, mut chunks) = mpsc::channel::<Result<Vec<u8>, String>>(4);
    let root = Arc::clone(root);
    let path = path.to_string();
    tokio::task::spawn_blocking(move || {
        let mut file = match context::open_file(&root, &path) {
            Ok(file) => file,
            Err(error) => {
                let _ = chunks_sender.blocking_send(Err(error.to_string()));
                return;
            }
        };
        loop {
            let mut buf = vec![0u8; CHUNK];
            match file.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    if chunks_sender.blocking_send(Ok(buf)).is_err() {
                        return;
                    }
                }
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => {
                    let _ = chunks_sender.blocking_send(Err(format!("{path}: {error}")));
                    return;
                }
            }
        }
    });
    while let Some(chunk) = chunks.recv().await {
        let data = chunk?;
        let packet = Packet {
            id,
            data,
            ..packet(PacketType::PacketData)
        };
        out.send(Ok(packet))
            .await
            .map_err(|_| "the daemon hung up".to_string())?;
    }
    out.send(Ok(Packet {
        id,
        ..packet(PacketType::PacketData)
    }))
    .await
    .map_err(|_| "the daemon hung up".to_string())
}

async fn send_error(out: &Outgoing, message: &str) {
    let _ = out
        .send(Ok(Packet {
            data: message.as_bytes().to_vec(),
            ..packet(PacketType::PacketErr)
        }))
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_metadata_values_are_unescaped_when_marked_encoded() {
        let mut metadata = tonic::metadata::MetadataMap::new();
        metadata.append("exclude-patterns", "node_modules".parse().unwrap());
        metadata.append("exclude-patterns", "%C3%A9t%C3%A9/*.log".parse().unwrap());
        metadata.append("exclude-patterns-encoded", "1".parse().unwrap());
        metadata.append("followpaths", "a%20b".parse().unwrap());
        assert_eq!(
            metadata_values(&metadata, "exclude-patterns"),
            ["node_modules", "été/*.log"]
        );
        // Not marked encoded: taken as written.
        assert_eq!(metadata_values(&metadata, "followpaths"), ["a%20b"]);
        assert!(metadata_values(&metadata, "include-patterns").is_empty());
    }

    #[test]
    fn unescapes_as_go_query_unescape() {
        assert_eq!(query_unescape("a%2Fb+c"), "a/b c");
        assert_eq!(query_unescape("%C3%A9t%C3%A9"), "été");
        assert_eq!(query_unescape("100%"), "100%");
        assert_eq!(query_unescape("%zz"), "%zz");
    }
}
