//! What `conveyor build`'s session serves the daemon, against the real dockerd: secrets
//! (in no layer, no log), the context (no symlink followed out, no `..`, large files
//! whole), ssh-agent forwarding and registry credentials.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use common::conveyor::{built, busybox, conveyor, error_line, registry_manifest_status, write};
use common::{docker, docker_ok, harness, unique};
use sha2::{Digest, Sha256};

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

    assert_secrets_in_no_log_or_layer(&[&file_secret, &env_secret], &log, &tag);
    let _ = docker().args(["rmi", &tag]).output();
}

/// None of `secrets` is in the build log, nor in any layer or the config of the image
/// `tag` as `docker save` writes them (uncompressed tars).
fn assert_secrets_in_no_log_or_layer(secrets: &[&str], log: &str, tag: &str) {
    let saved = docker().args(["save", tag]).output().expect("docker save");
    assert!(saved.status.success());
    assert!(saved.stdout.len() > 1000, "docker save wrote the image");
    for secret in secrets {
        assert!(
            !log.contains(secret),
            "a secret is in the build log:\n{log}"
        );
        let found = saved
            .stdout
            .windows(secret.len())
            .any(|window| window == secret.as_bytes());
        assert!(!found, "a secret is in the saved image");
    }
}

/// A werf.yaml's own `secrets:` (from the environment, a file of the project, and a
/// value in the config) are mounted at /run/secrets/<id> for the stapel commands, and
/// land in no layer and no log line.
#[test]
fn werf_config_secrets_reach_stapel_commands_and_no_layer_or_log() {
    let work = tempfile::tempdir().unwrap();
    let env_secret = unique("werf-env-secret");
    let file_secret = unique("werf-file-secret");
    let value_secret = unique("werf-value-secret");
    let run_id = unique("run");
    write(&work.path().join("secret.txt"), &file_secret);
    write(
        &work.path().join("werf.yaml"),
        &format!(
            "project: secrets\nconfigVersion: 1\n---\nimage: app\nfrom: {}\nsecrets:\n\
             - env: CONVEYOR_TEST_WERF_SECRET\n- src: secret.txt\n- id: plain\n  value: {value_secret}\n\
             shell:\n  install:\n  - ': {run_id}; for id in CONVEYOR_TEST_WERF_SECRET secret.txt plain; do sha256sum /run/secrets/$id | cut -d\" \" -f1; done > /sums'\n",
            busybox()
        ),
    );
    let tag = format!("conveyor-build-test/{}:1", unique("werf-secret"));
    let output = Command::new(env!("CARGO_BIN_EXE_conveyor"))
        .args([
            "build",
            "--progress=plain",
            "-f",
            "werf.yaml",
            "-t",
            &tag,
            ".",
        ])
        .current_dir(work.path())
        .env("DOCKER_HOST", &harness().docker_host)
        .env("DOCKER_CONFIG", work.path())
        .env("CONVEYOR_TEST_WERF_SECRET", &env_secret)
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
    assert_eq!(
        docker_ok(&["run", "--rm", &tag, "cat", "/sums"], None),
        format!(
            "{}\n{}\n{}\n",
            sha(&env_secret),
            sha(&file_secret),
            sha(&value_secret)
        )
    );
    assert_secrets_in_no_log_or_layer(&[&env_secret, &file_secret, &value_secret], &log, &tag);
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

/// A context of many files arrives whole: the receiver asks for files while their
/// STATs still stream in, so its requests must be read as they come (with ~3 000
/// files, unread requests once filled the stream's window and the upload was
/// cancelled).
#[test]
fn a_context_of_many_files_arrives_whole() {
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("context");
    let marker = unique("many");
    for i in 0..6000 {
        write(
            &context.join(format!("files/{:02}/{i}.txt", i % 60)),
            &format!("{marker} {i}\n"),
        );
    }
    write(
        &context.join("Dockerfile"),
        "FROM scratch\nCOPY files/ /files/\n",
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
    for i in [0, 2999, 5999] {
        let path = work.path().join(format!("out/files/{:02}/{i}.txt", i % 60));
        assert_eq!(fs::read_to_string(path).unwrap(), format!("{marker} {i}\n"));
    }
    let received: usize = fs::read_dir(work.path().join("out/files"))
        .unwrap()
        .map(|dir| fs::read_dir(dir.unwrap().path()).unwrap().count())
        .sum();
    assert_eq!(received, 6000);
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
    // A werf config's Dockerfile image names the agent itself (`ssh:`), no --ssh.
    let werf_dir = work.path().join("werf");
    write(
        &werf_dir.join("Dockerfile"),
        &fs::read_to_string(context.join("Dockerfile"))
            .unwrap()
            .replace(": run", &format!(": {}", unique("werf"))),
    );
    write(
        &werf_dir.join("werf.yaml"),
        &format!(
            "project: ssh\nconfigVersion: 1\n---\nimage: app\ndockerfile: Dockerfile\nssh: deploy={}\n",
            socket.display()
        ),
    );
    let werf_run = conveyor(
        &[
            "build",
            "--progress=plain",
            "-f",
            "werf.yaml",
            "--output",
            "type=local,dest=../werf-out",
            ".",
        ],
        &werf_dir,
    );
    let _ = agent.kill();
    let _ = agent.wait();
    built(&run);
    assert_eq!(
        fs::read_to_string(work.path().join("out/ssh.txt")).unwrap(),
        "forwarded\n"
    );
    built(&werf_run);
    assert_eq!(
        fs::read_to_string(work.path().join("werf-out/ssh.txt")).unwrap(),
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

/// The daemon checks a session's health every few seconds and drops it after two
/// failed checks: a secret asked for 12 s into the build still arrives.
#[test]
fn the_session_outlives_the_daemons_health_checks() {
    let work = tempfile::tempdir().unwrap();
    let secret = unique("late-secret");
    write(&work.path().join("secret.txt"), &secret);
    let context = work.path().join("context");
    write(
        &context.join("Dockerfile"),
        &format!(
            "FROM {} AS late\nRUN sleep 12; echo {}\n\
             RUN --mount=type=secret,id=late sha256sum /run/secrets/late | cut -d' ' -f1 > /late.sha\n\
             FROM scratch\nCOPY --from=late /late.sha /\n",
            busybox(),
            unique("run")
        ),
    );
    let secret_arg = format!("id=late,src={}", work.path().join("secret.txt").display());
    let run = conveyor(
        &[
            "build",
            "--progress=plain",
            "--secret",
            &secret_arg,
            "--output",
            "type=local,dest=../out",
            ".",
        ],
        &context,
    );
    built(&run);
    assert_eq!(
        fs::read_to_string(work.path().join("out/late.sha")).unwrap(),
        format!("{}\n", hex::encode(Sha256::digest(secret.as_bytes())))
    );
}
