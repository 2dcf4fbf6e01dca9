//! `conveyor build` against the real dockerd and registry: outputs, tags and push,
//! secrets, what the session uploads, and the errors a user meets. (The image it
//! builds is compared with the stock frontend's over the whole parity corpus in
//! tests/parity.rs.)

mod common;

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;

use common::{docker, docker_ok, harness, unique};
use sha2::{Digest, Sha256};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `conveyor ARGS` on the harness's dockerd, with a Docker config of its own (no
/// credentials) so the user's is never read.
fn conveyor(args: &[&str], dir: &Path) -> Run {
    let config = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_conveyor"))
        .args(args)
        .current_dir(dir)
        .env("DOCKER_HOST", &harness().docker_host)
        .env("DOCKER_CONFIG", config.path())
        .env_remove("BUILDKIT_HOST")
        .output()
        .expect("run conveyor");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn built(run: &Run) {
    assert_eq!(run.code, 0, "conveyor build failed:\n{}", run.stderr);
}

/// The error line conveyor ends with: the last line starting `conveyor: `.
fn error_line(run: &Run) -> &str {
    run.stderr
        .lines()
        .rfind(|line| line.starts_with("conveyor: "))
        .unwrap_or_else(|| panic!("no error line in:\n{}", run.stderr))
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn busybox() -> String {
    format!("{}/busybox:latest", harness().registry)
}

/// A context whose result is a few files made by RUN and COPY: a script with mode
/// 0755, a text file, a symlink and a nested directory.
fn files_context(dir: &Path, marker: &str) {
    write(
        &dir.join("context/greeting.txt"),
        &format!("hello {marker}\n"),
    );
    write(
        &dir.join("context/Dockerfile"),
        &format!(
            "FROM {} AS make\nRUN mkdir -p /out/nested && printf '#!/bin/sh\\necho run\\n' > /out/run.sh \
             && chmod 755 /out/run.sh && echo deep > /out/nested/deep.txt && ln -s run.sh /out/link\n\
             FROM scratch\nCOPY --from=make /out/ /\nCOPY greeting.txt /\n",
            busybox()
        ),
    );
}

#[test]
fn local_output_writes_the_result_files() {
    let work = tempfile::tempdir().unwrap();
    let marker = unique("local");
    files_context(work.path(), &marker);
    let run = conveyor(
        &[
            "build",
            "--progress=plain",
            "--output",
            "type=local,dest=../out",
            ".",
        ],
        &work.path().join("context"),
    );
    built(&run);
    let out = work.path().join("out");
    assert_eq!(
        fs::read_to_string(out.join("greeting.txt")).unwrap(),
        format!("hello {marker}\n")
    );
    assert_eq!(
        fs::read_to_string(out.join("nested/deep.txt")).unwrap(),
        "deep\n"
    );
    assert_eq!(
        fs::read_to_string(out.join("run.sh")).unwrap(),
        "#!/bin/sh\necho run\n"
    );
    let mode = fs::metadata(out.join("run.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    assert_eq!(
        fs::read_link(out.join("link")).unwrap(),
        Path::new("run.sh")
    );
    assert!(
        run.stdout.is_empty(),
        "a local output has no image digest: {}",
        run.stdout
    );
}

#[test]
fn tar_output_writes_one_archive_of_the_result() {
    let work = tempfile::tempdir().unwrap();
    let marker = unique("tar");
    files_context(work.path(), &marker);
    let tar_path = work.path().join("result.tar");
    let run = conveyor(
        &[
            "build",
            "--progress=plain",
            "--output",
            &format!("type=tar,dest={}", tar_path.display()),
            ".",
        ],
        &work.path().join("context"),
    );
    built(&run);
    let mut archive = tar::Archive::new(fs::File::open(&tar_path).unwrap());
    let mut seen = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        if path == "greeting.txt" {
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            assert_eq!(text, format!("hello {marker}\n"));
        }
        if path == "link" {
            assert_eq!(entry.link_name().unwrap().unwrap().to_str(), Some("run.sh"));
        }
        seen.push(path.trim_end_matches('/').to_string());
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "greeting.txt",
            "link",
            "nested",
            "nested/deep.txt",
            "run.sh"
        ]
    );
}

#[test]
fn tags_name_the_image_in_the_daemon_and_push_puts_it_in_the_registry() {
    let work = tempfile::tempdir().unwrap();
    let marker = unique("tag");
    write(&work.path().join("hello.txt"), &format!("{marker}\n"));
    write(
        &work.path().join("Dockerfile"),
        &format!(
            "FROM {}\nCOPY hello.txt /\nCMD [\"cat\", \"/hello.txt\"]\n",
            busybox()
        ),
    );
    let local_tag = format!("conveyor-build-test/{}:1", unique("t"));
    let run = conveyor(
        &["build", "--progress=plain", "-t", &local_tag, "."],
        work.path(),
    );
    built(&run);
    // stdout is the image's digest, the id the daemon stored it under.
    let digest = run.stdout.trim().to_string();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );
    let id = docker_ok(
        &["image", "inspect", "--format", "{{.Id}}", &local_tag],
        None,
    );
    assert_eq!(id.trim(), digest);
    assert_eq!(
        docker_ok(&["run", "--rm", &local_tag], None),
        format!("{marker}\n")
    );

    // --push pushes every -t name (as buildx does), here two tags of one repository.
    let pushed_name = format!("conveyor-build-test/{}", unique("p"));
    let pushed = [1, 2].map(|n| format!("{}/{pushed_name}:v{n}", harness().registry));
    let run = conveyor(
        &[
            "build",
            "--progress=plain",
            "-t",
            &pushed[0],
            "-t",
            &pushed[1],
            "--push",
            ".",
        ],
        work.path(),
    );
    built(&run);
    assert_eq!(run.stdout.trim(), digest, "the same image, from the cache");
    for tag in ["v1", "v2"] {
        assert_eq!(
            registry_manifest_status(&pushed_name, tag),
            200,
            "{tag} was pushed"
        );
    }
    assert_eq!(registry_manifest_status(&pushed_name, "v3"), 404);
    for tag in pushed.iter().chain([&local_tag]) {
        let _ = docker().args(["rmi", tag]).output();
    }
}

/// The HTTP status of `GET /v2/NAME/manifests/TAG` on the harness registry.
fn registry_manifest_status(name: &str, tag: &str) -> u16 {
    let mut stream = std::net::TcpStream::connect(&harness().registry).unwrap();
    write!(
        stream,
        "GET /v2/{name}/manifests/{tag} HTTP/1.1\r\nHost: {}\r\nAccept: application/vnd.docker.distribution.manifest.v2+json\r\nConnection: close\r\n\r\n",
        harness().registry
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {response:?}"))
}

#[test]
fn secrets_reach_run_mounts_and_no_layer_or_log() {
    let work = tempfile::tempdir().unwrap();
    let file_secret = unique("file-secret-value");
    let env_secret = unique("env-secret-value");
    // Secrets are not part of a step's cache key: a run id in the steps keeps an
    // earlier run's cached result from standing in for this one's.
    let run_id = unique("run");
    write(&work.path().join("secret.txt"), &file_secret);
    write(
        &work.path().join("context/Dockerfile"),
        &format!(
            "FROM {}\n\
             RUN --mount=type=secret,id=token : {run_id}; sha256sum /run/secrets/token | cut -d' ' -f1 > /token.sha\n\
             RUN --mount=type=secret,id=api,env=API_KEY printf %s \"$API_KEY\" | sha256sum | cut -d' ' -f1 > /api.sha\n",
            busybox()
        ),
    );
    let tag = format!("conveyor-build-test/{}:1", unique("secret"));
    let output = Command::new(env!("CARGO_BIN_EXE_conveyor"))
        .args(["build", "--progress=plain", "-t", &tag])
        .arg("--secret")
        .arg(format!(
            "id=token,src={}",
            work.path().join("secret.txt").display()
        ))
        .args(["--secret", "id=api,env=CONVEYOR_TEST_API_KEY", "."])
        .current_dir(work.path().join("context"))
        .env("DOCKER_HOST", &harness().docker_host)
        .env("DOCKER_CONFIG", work.path())
        .env("CONVEYOR_TEST_API_KEY", &env_secret)
        .env_remove("BUILDKIT_HOST")
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{log}");
    let sha = |text: &str| hex::encode(Sha256::digest(text.as_bytes()));
    let read_back = docker_ok(
        &["run", "--rm", &tag, "cat", "/token.sha", "/api.sha"],
        None,
    );
    assert_eq!(
        read_back,
        format!("{}\n{}\n", sha(&file_secret), sha(&env_secret))
    );

    for secret in [&file_secret, &env_secret] {
        assert!(
            !log.contains(secret.as_str()),
            "a secret is in the build log:\n{log}"
        );
    }
    // Every layer and the config, as `docker save` writes them (uncompressed tars).
    let saved = docker().args(["save", &tag]).output().expect("docker save");
    assert!(saved.status.success());
    assert!(saved.stdout.len() > 1000, "docker save wrote the image");
    for secret in [&file_secret, &env_secret] {
        let found = saved
            .stdout
            .windows(secret.len())
            .any(|window| window == secret.as_bytes());
        assert!(!found, "a secret is in the saved image");
    }
    let _ = docker().args(["rmi", &tag]).output();
}

#[test]
fn the_context_upload_follows_no_symlink_out_and_no_dotdot_path() {
    let work = tempfile::tempdir().unwrap();
    let outside = unique("outside-the-context");
    write(&work.path().join("outside.txt"), &outside);
    let context = work.path().join("context");
    write(&context.join("inside.txt"), "inside\n");
    symlink("/etc/passwd", context.join("passwd-link")).unwrap();
    symlink("/etc", context.join("etc-link")).unwrap();
    symlink("../outside.txt", context.join("outside-link")).unwrap();
    write(&context.join("Dockerfile"), "FROM scratch\nCOPY . /ctx/\n");

    let run = conveyor(
        &[
            "build",
            "--progress=plain",
            "--output",
            "type=local,dest=../out",
            ".",
        ],
        &context,
    );
    built(&run);
    let out = work.path().join("out/ctx");
    assert_eq!(
        fs::read_to_string(out.join("inside.txt")).unwrap(),
        "inside\n"
    );
    // The links arrive as links, their targets as text: nothing they point at.
    assert_eq!(
        fs::read_link(out.join("passwd-link")).unwrap(),
        Path::new("/etc/passwd")
    );
    assert_eq!(
        fs::read_link(out.join("etc-link")).unwrap(),
        Path::new("/etc")
    );
    assert_eq!(
        fs::read_link(out.join("outside-link")).unwrap(),
        Path::new("../outside.txt")
    );
    let mut names: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Dockerfile",
            "etc-link",
            "inside.txt",
            "outside-link",
            "passwd-link"
        ]
    );

    // A source through a link or `..` resolves inside the context, where neither
    // target exists: the build fails and names the source.
    for (source, named) in [
        ("passwd-link", "passwd"),
        ("../outside.txt", "outside.txt"),
        ("outside-link", "outside.txt"),
        ("etc-link/hostname", "hostname"),
    ] {
        write(
            &context.join("Dockerfile"),
            &format!("FROM scratch\nCOPY {source} /x\n"),
        );
        let run = conveyor(
            &[
                "build",
                "--progress=plain",
                "--output",
                "type=local,dest=../out2",
                ".",
            ],
            &context,
        );
        assert_eq!(run.code, 1, "COPY {source} must fail:\n{}", run.stderr);
        let line = error_line(&run);
        assert!(line.contains(named) && line.contains("not found"), "{line}");
        assert!(!run.stderr.contains(&outside) && !run.stderr.contains("root:x:0:0"));
        assert!(!work.path().join("out2/x").exists());
    }
}

#[test]
fn user_errors_are_one_clear_line_and_a_nonzero_exit() {
    let work = tempfile::tempdir().unwrap();
    write(
        &work.path().join("Dockerfile"),
        &format!(
            "FROM {} AS base\nRUN echo failing-step-output; exit 7\n",
            busybox()
        ),
    );

    let run = conveyor(&["build", "--addr", "http://127.0.0.1:1", "."], work.path());
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "conveyor: invalid daemon address \"http://127.0.0.1:1\": expected unix://PATH or tcp://HOST:PORT (buildkitd), or docker:// (Docker Engine)\n"
    );

    let socket = work.path().join("no-daemon.sock");
    let address = format!("unix://{}", socket.display());
    let run = conveyor(&["build", "--addr", &address, "."], work.path());
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(&format!(
            "conveyor: cannot connect to the BuildKit daemon at {address}: "
        )),
        "{}",
        run.stderr
    );

    let run = conveyor(&["build", "-f", "Missingfile", "."], work.path());
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "conveyor: cannot read build file Missingfile: No such file or directory (os error 2)\n"
    );

    let run = conveyor(
        &["build", "--progress=plain", "--target", "nope", "."],
        work.path(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        error_line(&run),
        "conveyor: Dockerfile:1:1: target stage \"nope\" could not be found"
    );

    let run = conveyor(&["build", "--progress=plain", "."], work.path());
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        error_line(&run),
        "conveyor: build failed at [[2/2] RUN echo failing-step-output; exit 7]: process \"/bin/sh -c echo failing-step-output; exit 7\" did not complete successfully: exit code: 7"
    );
    // The failing step's output is shown, marked with its step number.
    assert!(
        run.stderr
            .lines()
            .any(|line| line.starts_with('#') && line.ends_with(" failing-step-output")),
        "{}",
        run.stderr
    );
}

/// A file far over one gRPC message (4 MiB by default) streams through the session in
/// chunks and arrives byte for byte.
#[test]
fn a_large_context_file_arrives_whole() {
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("context");
    let mut state = u64::from_le_bytes(*b"conveyor") ^ u64::from(std::process::id());
    let mut bytes = Vec::with_capacity(24 << 20);
    while bytes.len() < 24 << 20 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    fs::create_dir_all(&context).unwrap();
    fs::write(context.join("big.bin"), &bytes).unwrap();
    write(
        &context.join("Dockerfile"),
        "FROM scratch\nCOPY big.bin /\n",
    );
    let run = conveyor(
        &[
            "build",
            "--progress=plain",
            "--output",
            "type=local,dest=../out",
            ".",
        ],
        &context,
    );
    built(&run);
    let received = fs::read(work.path().join("out/big.bin")).unwrap();
    assert_eq!(received.len(), bytes.len());
    assert!(received == bytes, "the content differs");
}

/// `--ssh ID=SOCKET` makes a RUN's ssh mount a socket on the user's agent; without it
/// the build stops at that RUN.
#[test]
fn ssh_agents_reach_run_mounts() {
    let work = tempfile::tempdir().unwrap();
    let key = work.path().join("key");
    let made = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "conveyor-build-test",
            "-f",
        ])
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    let socket = work.path().join("agent.sock");
    let mut agent = Command::new("ssh-agent")
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
    let context = work.path().join("context");
    write(
        &context.join("Dockerfile"),
        &format!(
            "FROM {} AS run\nRUN --mount=type=ssh,id=deploy : {}; test -S \"$SSH_AUTH_SOCK\" && echo forwarded > /ssh.txt\n\
             FROM scratch\nCOPY --from=run /ssh.txt /\n",
            busybox(),
            unique("run")
        ),
    );
    // Without the agent first: once the RUN ran, the cache would answer for it.
    let without = conveyor(
        &[
            "build",
            "--progress=plain",
            "--output",
            "type=local,dest=../out2",
            ".",
        ],
        &context,
    );
    let ssh = format!("deploy={}", socket.display());
    let run = conveyor(
        &[
            "build",
            "--progress=plain",
            "--ssh",
            &ssh,
            "--output",
            "type=local,dest=../out",
            ".",
        ],
        &context,
    );
    let _ = agent.kill();
    let _ = agent.wait();
    built(&run);
    assert_eq!(
        fs::read_to_string(work.path().join("out/ssh.txt")).unwrap(),
        "forwarded\n"
    );
    assert_eq!(without.code, 1, "{}", without.stderr);
    let line = error_line(&without);
    assert!(line.contains("deploy"), "{line}");
}

/// A registry that wants a password: a proxy on 127.0.0.1 in front of the harness
/// registry that answers 401 with a Basic challenge to any connection whose first
/// request lacks `Authorization: Basic <user:password>`, and pipes the others through.
/// Returns its `host:port` and the count of connections let through.
fn password_registry(
    user: &str,
    password: &str,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use base64::prelude::{BASE64_STANDARD, Engine as _};
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let expected = format!(
        "authorization: basic {}",
        BASE64_STANDARD
            .encode(format!("{user}:{password}"))
            .to_ascii_lowercase()
    );
    let let_through = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&let_through);
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            let expected = expected.clone();
            let counter = Arc::clone(&counter);
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                // A TLS handshake first (the daemon tries https, then http for an
                // insecure registry once it sees an HTTP answer): answer in HTTP.
                if client.read(&mut byte).ok() != Some(1) {
                    return;
                }
                if byte[0] == 0x16 {
                    let _ =
                        client.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
                    return;
                }
                head.push(byte[0]);
                while !head.ends_with(b"\r\n\r\n") {
                    match client.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
                if !text.lines().any(|line| line.trim() == expected) {
                    let _ = client.write_all(
                        b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"conveyor-test\"\r\n\
                          Docker-Distribution-Api-Version: registry/2.0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    return;
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let Ok(mut upstream) = TcpStream::connect(&harness().registry) else {
                    return;
                };
                if upstream.write_all(&head).is_err() {
                    return;
                }
                let (mut client_reader, mut upstream_writer) =
                    (client.try_clone().unwrap(), upstream.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut client_reader, &mut upstream_writer);
                    let _ = upstream_writer.shutdown(std::net::Shutdown::Write);
                });
                let _ = std::io::copy(&mut upstream, &mut client);
            });
        }
    });
    (address, let_through)
}

/// The daemon's pulls ask the session for credentials (Auth.Credentials) and the push
/// after the build takes them from the same config.json: a registry that wants a
/// password refuses a build without one and serves, and takes a push from, a build
/// with one.
#[test]
fn registry_credentials_come_from_the_docker_config() {
    use base64::prelude::{BASE64_STANDARD, Engine as _};
    let (registry, let_through) = password_registry("builder", "s3cret-pass");
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("context");
    write(
        &context.join("Dockerfile"),
        &format!(
            "FROM {registry}/busybox:latest\nRUN echo {} > /run-id\n",
            unique("run")
        ),
    );
    let config_dir = work.path().join("docker-config");
    let tag = format!("{registry}/conveyor-auth-test:{}", unique("t"));
    let build = |config: Option<&str>| {
        fs::create_dir_all(&config_dir).unwrap();
        let _ = fs::remove_file(config_dir.join("config.json"));
        if let Some(config) = config {
            fs::write(config_dir.join("config.json"), config).unwrap();
        }
        let output = Command::new(env!("CARGO_BIN_EXE_conveyor"))
            .args(["build", "--progress=plain", "-t", &tag, "--push", "."])
            .current_dir(&context)
            .env("DOCKER_HOST", &harness().docker_host)
            .env("DOCKER_CONFIG", &config_dir)
            .env_remove("BUILDKIT_HOST")
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    // The base cannot be resolved: reported where the build file names it (exit 2).
    let (code, stderr) = build(None);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("401 Unauthorized") || stderr.contains("unauthorized"),
        "{stderr}"
    );
    assert_eq!(let_through.load(std::sync::atomic::Ordering::SeqCst), 0);

    let auth = BASE64_STANDARD.encode("builder:s3cret-pass");
    let config = format!(r#"{{"auths": {{"{registry}": {{"auth": "{auth}"}}}}}}"#);
    let (code, stderr) = build(Some(&config));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(let_through.load(std::sync::atomic::Ordering::SeqCst) > 0);
    let (name, tag_name) = tag.rsplit_once(':').unwrap();
    let repository = name.strip_prefix(&format!("{registry}/")).unwrap();
    assert_eq!(
        registry_manifest_status(repository, tag_name),
        200,
        "pushed through the proxy"
    );
    let _ = docker().args(["rmi", &tag]).output();
}
