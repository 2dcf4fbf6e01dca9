//! A file server on 127.0.0.1 for `ADD <url>` cases: the daemon's BuildKit fetches
//! HTTP sources itself, in the host's network, so a listener on loopback reaches it.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};

/// How many requests one server answers before it stops by itself; a case makes a
/// handful per build.
const MAX_REQUESTS: usize = 200;

/// Serves the files under `root` over HTTP/1.0 on an ephemeral loopback port, from a
/// thread of its own, and returns `http://127.0.0.1:<port>`. The thread ends after
/// `MAX_REQUESTS` requests or with the test process.
pub fn serve(root: &Path) -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = format!("http://{}", listener.local_addr()?);
    let root = root.to_path_buf();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(MAX_REQUESTS).flatten() {
            let _ = answer(stream, &root);
        }
    });
    Ok(address)
}

fn answer(mut stream: TcpStream, root: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Read the headers to their end; none of them changes the answer.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let body = file_for(root, target).and_then(|path| fs::read(path).ok());
    match (method, body) {
        ("GET" | "HEAD", Some(body)) => {
            // No Last-Modified and no ETag: the file's mtime in the image then comes from
            // nothing the server varies, and each build fetches afresh.
            write!(
                stream,
                "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            if method == "GET" {
                stream.write_all(&body)?;
            }
        }
        _ => write!(
            stream,
            "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?,
    }
    stream.flush()
}

/// `/a/b.txt` → `<root>/a/b.txt`; nothing outside `root`.
fn file_for(root: &Path, target: &str) -> Option<PathBuf> {
    let relative = Path::new(target.split('?').next()?.trim_start_matches('/'));
    if relative
        .components()
        .any(|component| !matches!(component, Component::Normal(_)))
    {
        return None;
    }
    Some(root.join(relative))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn a_served_file_comes_back_and_a_path_outside_the_root_does_not() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("hello.txt"), "hello\n").unwrap();
        let address = serve(root.path()).unwrap();
        let get = |path: &str| {
            let mut stream = TcpStream::connect(address.trim_start_matches("http://")).unwrap();
            write!(stream, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).unwrap();
            response
        };
        let ok = get("/hello.txt");
        assert!(ok.starts_with("HTTP/1.0 200 OK\r\n"), "{ok}");
        assert!(ok.ends_with("\r\n\r\nhello\n"), "{ok}");
        assert!(get("/../etc/passwd").starts_with("HTTP/1.0 404"));
        assert!(get("/missing").starts_with("HTTP/1.0 404"));
    }
}
