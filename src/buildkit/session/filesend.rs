//! FileSend.DiffCopy: where the `local` and `tar` exporters put the build's result.
//!
//! For `tar` the daemon streams the archive as `BytesMessage` chunks. For `local` it
//! runs fsutil's sender on the same method, so the frames are fsutil `Packet`s although
//! the service declares `BytesMessage`; the generated server cannot decode those, so
//! this service is written by hand on tonic's `Grpc` with the codec the output needs.
//!
//! The local receiver writes under the destination only: every path must be clean and
//! relative, its parent a real directory (never a symlink, even one the build made),
//! and a hard link must point at a file sent earlier.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::body::Body;
use tonic::codegen::{BoxFuture, Service, http};
use tonic::{Response, Status, Streaming};

use crate::context::go_mode_bits;
use crate::proto::fsutil::types::{Packet, Stat, packet::PacketType};
use crate::proto::moby::filesync::v1::BytesMessage;

use super::MAX_MESSAGE_SIZE;

/// Where an attachable exporter's output goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputTarget {
    /// `type=local,dest=DIR`: the result's files, merged into DIR.
    Local(PathBuf),
    /// `type=tar,dest=FILE`: the result as one tar archive (`-` for stdout).
    Tar(PathBuf),
}

#[derive(Clone)]
pub struct FileSendService {
    pub target: OutputTarget,
}

impl tonic::server::NamedService for FileSendService {
    const NAME: &'static str = "moby.filesync.v1.FileSend";
}

impl<B> Service<http::Request<B>> for FileSendService
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() != "/moby.filesync.v1.FileSend/DiffCopy" {
            return Box::pin(async { Ok(Status::unimplemented("").into_http()) });
        }
        let target = self.target.clone();
        Box::pin(async move {
            Ok(match target {
                OutputTarget::Local(dir) => {
                    let codec = tonic_prost::ProstCodec::<Packet, Packet>::default();
                    let mut grpc = tonic::server::Grpc::new(codec)
                        .apply_max_message_size_config(Some(MAX_MESSAGE_SIZE), None);
                    let method =
                        tower::service_fn(move |call: tonic::Request<Streaming<Packet>>| {
                            let dir = dir.clone();
                            async move {
                                Ok::<_, Status>(Response::new(receive_local(
                                    dir,
                                    call.into_inner(),
                                )))
                            }
                        });
                    grpc.streaming(method, request).await
                }
                OutputTarget::Tar(file) => {
                    let codec = tonic_prost::ProstCodec::<BytesMessage, BytesMessage>::default();
                    let mut grpc = tonic::server::Grpc::new(codec)
                        .apply_max_message_size_config(Some(MAX_MESSAGE_SIZE), None);
                    let method =
                        tower::service_fn(move |call: tonic::Request<Streaming<BytesMessage>>| {
                            let file = file.clone();
                            async move {
                                Ok::<_, Status>(Response::new(receive_tar(file, call.into_inner())))
                            }
                        });
                    grpc.streaming(method, request).await
                }
            })
        })
    }
}

/// Writes the archive's chunks to `dest` as they come; the reply stream ends (the
/// daemon waits for that) once the file is complete.
fn receive_tar(
    dest: PathBuf,
    mut incoming: Streaming<BytesMessage>,
) -> ReceiverStream<Result<BytesMessage, Status>> {
    let (reply, stream) = mpsc::channel(1);
    tokio::spawn(async move {
        let result = async {
            let mut out: Box<dyn std::io::Write + Send> = if dest.as_os_str() == "-" {
                Box::new(std::io::stdout())
            } else {
                Box::new(File::create(&dest).map_err(|e| io_status(&dest, e))?)
            };
            while let Some(message) = incoming.message().await? {
                out.write_all(&message.data)
                    .map_err(|e| io_status(&dest, e))?;
            }
            out.flush().map_err(|e| io_status(&dest, e))
        }
        .await;
        if let Err(status) = result {
            let _ = reply.send(Err(status)).await;
        }
    });
    ReceiverStream::new(stream)
}

fn io_status(path: &Path, error: std::io::Error) -> Status {
    Status::internal(format!("{}: {error}", path.display()))
}

fn packet(kind: PacketType) -> Packet {
    Packet {
        r#type: kind as i32,
        ..Default::default()
    }
}

/// The receiving side of fsutil's DiffCopy, merging into `dest`.
fn receive_local(
    dest: PathBuf,
    incoming: Streaming<Packet>,
) -> ReceiverStream<Result<Packet, Status>> {
    let (out, stream) = mpsc::channel(64);
    tokio::spawn(async move {
        let mut receiver = LocalReceiver {
            dest,
            dirs: HashSet::new(),
            open: HashMap::new(),
            dir_times: Vec::new(),
            known_files: HashSet::new(),
        };
        if let Err(message) = receiver.run(incoming, &out).await {
            let _ = out
                .send(Ok(Packet {
                    data: message.into_bytes(),
                    ..packet(PacketType::PacketErr)
                }))
                .await;
        }
    });
    ReceiverStream::new(stream)
}

struct OpenFile {
    path: String,
    file: File,
    mode: u32,
    modified: SystemTime,
}

/// fsutil's `modTime`: Unix nanoseconds.
fn system_time(nanos: i64) -> SystemTime {
    if nanos >= 0 {
        UNIX_EPOCH + Duration::from_nanos(nanos as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(nanos.unsigned_abs())
    }
}

struct LocalReceiver {
    dest: PathBuf,
    /// Directories made or checked under `dest` in this transfer.
    dirs: HashSet<String>,
    /// Files requested and not yet complete, by packet id.
    open: HashMap<u32, OpenFile>,
    /// Directories' modes and modification times, set once everything inside is
    /// written (a read-only directory could not take its files otherwise).
    dir_times: Vec<(String, u32, SystemTime)>,
    /// Regular files of this output, which hard links may point at.
    known_files: HashSet<String>,
}

/// Relative, `/`-separated, no empty, `.` or `..` component.
fn is_clean(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && path.split('/').all(|c| !matches!(c, "" | "." | ".."))
}

impl LocalReceiver {
    async fn run(
        &mut self,
        incoming: Streaming<Packet>,
        out: &mpsc::Sender<Result<Packet, Status>>,
    ) -> Result<(), String> {
        fs::create_dir_all(&self.dest).map_err(|e| format!("{}: {e}", self.dest.display()))?;
        let mut packets = super::read_ahead(incoming);
        let mut next_id: u32 = 0;
        let mut listed = false;
        let mut fin_sent = false;
        loop {
            if listed && self.open.is_empty() && !fin_sent {
                // Innermost first: setting a parent's time is not undone by a child.
                for (path, mode, modified) in self.dir_times.iter().rev() {
                    let full = self.dest.join(path);
                    let _ = File::open(&full).and_then(|dir| dir.set_modified(*modified));
                    self.set_mode(path, *mode)?;
                }
                out.send(Ok(packet(PacketType::PacketFin)))
                    .await
                    .map_err(|_| "the daemon hung up")?;
                fin_sent = true;
            }
            let Some(received) = packets
                .recv()
                .await
                .transpose()
                .map_err(|s| s.message().to_string())?
            else {
                return if fin_sent {
                    Ok(())
                } else {
                    Err("the daemon ended the output early".into())
                };
            };
            match PacketType::try_from(received.r#type) {
                Ok(PacketType::PacketStat) => match received.stat {
                    None => listed = true,
                    Some(stat) => {
                        let id = next_id;
                        next_id += 1;
                        if self.create(&stat, id)? {
                            let request = Packet {
                                id,
                                ..packet(PacketType::PacketReq)
                            };
                            out.send(Ok(request))
                                .await
                                .map_err(|_| "the daemon hung up")?;
                        }
                    }
                },
                Ok(PacketType::PacketData) => {
                    let Some(open) = self.open.get_mut(&received.id) else {
                        return Err(format!("data for unknown file id {}", received.id));
                    };
                    let full = self.dest.join(&open.path);
                    if received.data.is_empty() {
                        let open = self.open.remove(&received.id).expect("open");
                        open.file
                            .set_modified(open.modified)
                            .map_err(|e| format!("{}: {e}", full.display()))?;
                        drop(open.file);
                        self.set_mode(&open.path, open.mode)?;
                    } else {
                        open.file
                            .write_all(&received.data)
                            .map_err(|e| format!("{}: {e}", full.display()))?;
                    }
                }
                Ok(PacketType::PacketFin) => return Ok(()),
                Ok(PacketType::PacketErr) => {
                    return Err(format!(
                        "error from sender: {}",
                        String::from_utf8_lossy(&received.data)
                    ));
                }
                _ => {}
            }
        }
    }

    /// The parent of `path` must be `dest` or a real directory under it.
    fn check_parent(&mut self, path: &str) -> Result<(), String> {
        let Some((parent, _)) = path.rsplit_once('/') else {
            return Ok(());
        };
        if self.dirs.contains(parent) {
            return Ok(());
        }
        let mut walked = String::new();
        for component in parent.split('/') {
            if !walked.is_empty() {
                walked.push('/');
            }
            walked.push_str(component);
            let full = self.dest.join(&walked);
            match fs::symlink_metadata(&full) {
                Ok(metadata) if metadata.is_dir() => {}
                _ => {
                    return Err(format!(
                        "{path}: its parent {walked} is not a directory in the output"
                    ));
                }
            }
        }
        self.dirs.insert(parent.to_string());
        Ok(())
    }

    /// Makes the entry; returns whether its content must be requested.
    fn create(&mut self, stat: &Stat, id: u32) -> Result<bool, String> {
        let path = stat.path.as_str();
        if !is_clean(path) {
            return Err(format!(
                "refusing output path {path:?}: not a clean relative path"
            ));
        }
        self.check_parent(path)?;
        let full = self.dest.join(path);
        let error = |e: std::io::Error| format!("{}: {e}", full.display());
        let existing = fs::symlink_metadata(&full).ok();
        if stat.mode & go_mode_bits::DIR != 0 {
            match existing {
                Some(metadata) if metadata.is_dir() => {}
                Some(_) => {
                    fs::remove_file(&full).map_err(error)?;
                    fs::create_dir(&full).map_err(error)?;
                }
                None => fs::create_dir(&full).map_err(error)?,
            }
            self.dirs.insert(path.to_string());
            self.dir_times
                .push((path.to_string(), stat.mode, system_time(stat.mod_time)));
            return Ok(false);
        }
        if stat.mode & go_mode_bits::OTHER_TYPES != 0 {
            // Devices and pipes are not recreated in a local output (that needs root
            // and means nothing outside the image).
            return Ok(false);
        }
        if let Some(metadata) = existing {
            if metadata.is_dir() {
                fs::remove_dir_all(&full).map_err(error)?;
            } else {
                fs::remove_file(&full).map_err(error)?;
            }
        }
        if stat.mode & go_mode_bits::SYMLINK != 0 {
            std::os::unix::fs::symlink(&stat.linkname, &full).map_err(error)?;
            return Ok(false);
        }
        if !stat.linkname.is_empty() {
            if !is_clean(&stat.linkname) || !self.known_files.contains(&stat.linkname) {
                return Err(format!(
                    "refusing hard link {path:?} to {:?}: not a file of this output",
                    stat.linkname
                ));
            }
            fs::hard_link(self.dest.join(&stat.linkname), &full).map_err(error)?;
            return Ok(false);
        }
        let file = File::create(&full).map_err(error)?;
        self.known_files.insert(path.to_string());
        self.open.insert(
            id,
            OpenFile {
                path: path.to_string(),
                file,
                mode: stat.mode,
                modified: system_time(stat.mod_time),
            },
        );
        Ok(true)
    }

    /// Permission bits with setuid, setgid and sticky, as buildx writes them (`/tmp` is
    /// 1777); `mode` is fsutil's, a Go `os.FileMode`.
    fn set_mode(&self, path: &str, mode: u32) -> Result<(), String> {
        let full = self.dest.join(path);
        let permissions = crate::context::unix_permissions(mode);
        fs::set_permissions(&full, fs::Permissions::from_mode(permissions))
            .map_err(|e| format!("{}: {e}", full.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_paths_only() {
        assert!(is_clean("a/b.txt"));
        for path in ["", "/etc/passwd", "../x", "a/../b", "a//b", "./a", "a/"] {
            assert!(!is_clean(path), "{path:?}");
        }
    }
}
