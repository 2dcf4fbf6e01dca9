//! The registry client against the harness registry (127.0.0.1:5000): images are put
//! there with the docker CLI and the registry's own HTTP API, and read back with
//! `conveyor::registry`.

mod common;

use std::process::Command;

use common::{docker_ok, harness, unique};
use conveyor::registry::{RegistryClient, RegistryError};

/// Pushes busybox as `<registry>/<repository>:<tag>`; returns the manifest digest
/// the push printed.
fn push_busybox(repository: &str, tag: &str) -> String {
    let registry = &harness().registry;
    let reference = format!("{registry}/{repository}:{tag}");
    docker_ok(&["tag", "busybox:local", &reference], None);
    let output = docker_ok(&["push", &reference], None);
    let digest = output
        .split_whitespace()
        .find(|word| word.starts_with("sha256:"))
        .unwrap_or_else(|| panic!("docker push printed no digest:\n{output}"))
        .to_string();
    docker_ok(&["rmi", &reference], None);
    digest
}

/// The body of a successful `curl` request.
fn curl(args: &[&str]) -> String {
    let output = Command::new("curl")
        .args(["-sf"])
        .args(args)
        .output()
        .expect("run curl");
    assert!(
        output.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn manifest_json(registry: &str, repository: &str, digest: &str) -> serde_json::Value {
    let body = curl(&[
        "-H",
        "Accept: application/vnd.docker.distribution.manifest.v2+json",
        "-H",
        "Accept: application/vnd.oci.image.manifest.v1+json",
        &format!("http://{registry}/v2/{repository}/manifests/{digest}"),
    ]);
    serde_json::from_str(&body).unwrap()
}

#[tokio::test]
async fn resolves_a_tag_to_its_manifest_digest_and_config() {
    let registry = &harness().registry;
    let repository = unique("registry-resolve");
    let pushed = push_busybox(&repository, "v1");
    let client = RegistryClient::new("linux/amd64");
    let resolved = client
        .resolve(&format!("{registry}/{repository}:v1"))
        .await
        .unwrap();
    assert_eq!(resolved.digest, pushed);
    assert_eq!(resolved.manifest_digest, pushed);
    // The config is the blob the manifest names, byte for byte.
    let manifest = manifest_json(registry, &repository, &pushed);
    let config_digest = manifest["config"]["digest"].as_str().unwrap();
    let blob = curl(&[&format!(
        "http://{registry}/v2/{repository}/blobs/{config_digest}"
    )]);
    assert_eq!(String::from_utf8(resolved.config).unwrap(), blob);
    // By digest too.
    let by_digest = client
        .resolve(&format!("{registry}/{repository}@{pushed}"))
        .await
        .unwrap();
    assert_eq!(by_digest.digest, pushed);
}

/// An OCI index naming busybox as linux/amd64 and another image as linux/arm64/v8
/// resolves to the manifest of the platform asked for.
#[tokio::test]
async fn an_index_resolves_to_the_platforms_manifest() {
    let registry = &harness().registry;
    let repository = unique("registry-index");
    let amd64 = push_busybox(&repository, "amd64");
    // A second, different manifest: busybox with a label.
    let other_tag = format!("{registry}/{repository}:arm64");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM busybox:local\nLABEL which=arm64\n",
    )
    .unwrap();
    docker_ok(&["build", "-q", "-t", &other_tag, "."], Some(dir.path()));
    let output = docker_ok(&["push", &other_tag], None);
    let arm64 = output
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .unwrap()
        .to_string();
    docker_ok(&["rmi", &other_tag], None);
    assert_ne!(amd64, arm64);

    let media_type = "application/vnd.docker.distribution.manifest.v2+json";
    let raw_size = |digest: &str| {
        curl(&[
            "-H",
            &format!("Accept: {media_type}"),
            &format!("http://{registry}/v2/{repository}/manifests/{digest}"),
        ])
        .len()
    };
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": media_type, "digest": arm64, "size": raw_size(&arm64),
             "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"mediaType": media_type, "digest": amd64, "size": raw_size(&amd64),
             "platform": {"os": "linux", "architecture": "amd64"}},
        ],
    });
    curl(&[
        "-X",
        "PUT",
        "-H",
        "Content-Type: application/vnd.oci.image.index.v1+json",
        "--data-binary",
        &index.to_string(),
        &format!("http://{registry}/v2/{repository}/manifests/multi"),
    ]);

    let reference = format!("{registry}/{repository}:multi");
    let for_amd64 = RegistryClient::new("linux/amd64")
        .resolve(&reference)
        .await
        .unwrap();
    assert_eq!(for_amd64.manifest_digest, amd64);
    // The index's own digest, as the registry names it.
    let index_digest = Command::new("curl")
        .args([
            "-sfI",
            "-H",
            "Accept: application/vnd.oci.image.index.v1+json",
        ])
        .arg(format!("http://{registry}/v2/{repository}/manifests/multi"))
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&index_digest.stdout).to_ascii_lowercase();
    let index_digest = headers
        .lines()
        .find_map(|l| l.strip_prefix("docker-content-digest: "))
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(for_amd64.digest, index_digest);
    let for_arm64 = RegistryClient::new("linux/arm64")
        .resolve(&reference)
        .await
        .unwrap();
    assert_eq!(for_arm64.manifest_digest, arm64);
    assert_eq!(for_arm64.digest, index_digest);
    let config: serde_json::Value = serde_json::from_slice(&for_arm64.config).unwrap();
    assert_eq!(config["config"]["Labels"]["which"], "arm64");

    let error = RegistryClient::new("linux/s390x")
        .resolve(&reference)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("{reference}: the image has no manifest for linux/s390x")
    );
}

#[tokio::test]
async fn tags_exist_or_not_and_are_listed() {
    let registry = &harness().registry;
    let repository = unique("registry-tags");
    for tag in ["b", "a", "c"] {
        push_busybox(&repository, tag);
    }
    let client = RegistryClient::new("linux/amd64");
    let mut tags = client
        .list_tags(&format!("{registry}/{repository}"))
        .await
        .unwrap();
    tags.sort();
    assert_eq!(tags, ["a", "b", "c"]);
    assert!(
        client
            .exists(&format!("{registry}/{repository}:a"))
            .await
            .unwrap()
    );
    assert!(
        !client
            .exists(&format!("{registry}/{repository}:d"))
            .await
            .unwrap()
    );
    // A repository that was never pushed: no tags, no tag.
    let missing = format!("{registry}/{}", unique("registry-none"));
    assert!(client.list_tags(&missing).await.unwrap().is_empty());
    assert!(!client.exists(&format!("{missing}:a")).await.unwrap());
    let error = client.resolve(&format!("{missing}:a")).await.unwrap_err();
    assert_eq!(error.to_string(), format!("{missing}:a: not found"));
}

#[tokio::test]
async fn bad_references_and_unreachable_registries_are_clear_errors() {
    let client = RegistryClient::new("linux/amd64");
    let error = client.resolve("127.0.0.1:5000/UPPER:x").await.unwrap_err();
    assert!(matches!(error, RegistryError::Reference { .. }), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("invalid image reference \"127.0.0.1:5000/UPPER:x\": "),
        "{error}"
    );
    // Port 9 on loopback: nothing listens (discard is not run here).
    let error = client.exists("127.0.0.1:9/nothing:x").await.unwrap_err();
    assert!(
        error.to_string().starts_with("127.0.0.1:9/nothing:x: "),
        "{error}"
    );
}

#[tokio::test]
async fn credentials_come_from_the_docker_config() {
    // The harness registry takes anyone; a broken config is still read and reported.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, r#"{"auths": {"127.0.0.1:5000": {"auth": "%%"}}}"#).unwrap();
    let client = RegistryClient::with_docker_config("linux/amd64", &path);
    let error = client
        .resolve("127.0.0.1:5000/busybox:latest")
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("config.json: auths.127.0.0.1:5000: `auth` is not base64"),
        "{error}"
    );
}

/// A second registry, on a free loopback port, that wants a user and password (htpasswd,
/// Basic auth): stopped when dropped.
struct AuthRegistry {
    child: std::process::Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Drop for AuthRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `testuser` / `pw`, bcrypt-hashed as the registry's htpasswd wants.
const HTPASSWD: &str = "testuser:$2b$12$KLxVqcJfsA.pbIbqka1zb.8n9Arl.jADggSbU5.mI7yaVZraE/4CO\n";

fn auth_registry() -> AuthRegistry {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    std::fs::write(dir.path().join("htpasswd"), HTPASSWD).unwrap();
    let config = format!(
        "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {root}/data\nhttp:\n  addr: {address}\nauth:\n  htpasswd:\n    realm: conveyor-test\n    path: {root}/htpasswd\n",
        root = dir.path().display()
    );
    std::fs::write(dir.path().join("config.yml"), config).unwrap();
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(dir.path().join("config.yml"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start docker-registry");
    let registry = AuthRegistry {
        child,
        address,
        _dir: dir,
    };
    for _ in 0..50 {
        if std::net::TcpStream::connect(&registry.address).is_ok() {
            return registry;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the auth registry did not start");
}

#[tokio::test]
async fn a_registry_with_basic_auth_takes_the_docker_login_credentials() {
    let registry = auth_registry();
    let docker_config = tempfile::tempdir().unwrap();
    let config_dir = docker_config.path().to_str().unwrap();
    let reference = format!("{}/{}:v1", registry.address, unique("auth"));
    docker_ok(
        &[
            "--config",
            config_dir,
            "login",
            "-u",
            "testuser",
            "-p",
            "pw",
            &registry.address,
        ],
        None,
    );
    docker_ok(&["tag", "busybox:local", &reference], None);
    docker_ok(&["--config", config_dir, "push", "-q", &reference], None);
    docker_ok(&["rmi", &reference], None);

    let config_file = docker_config.path().join("config.json");
    let client = RegistryClient::with_docker_config("linux/amd64", &config_file);
    let resolved = client.resolve(&reference).await.unwrap();
    assert!(resolved.digest.starts_with("sha256:"));
    assert!(client.exists(&reference).await.unwrap());

    // No credentials: refused, and said so.
    let empty = docker_config.path().join("empty.json");
    std::fs::write(&empty, "{}").unwrap();
    let anonymous = RegistryClient::with_docker_config("linux/amd64", &empty);
    let error = anonymous.resolve(&reference).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("{reference}: the registry refused the credentials (see `docker login`)")
    );
}
