//! The stages storage read back from the harness registry and the private dockerd's
//! image store: stage images are made with the docker CLI (labels per the schema in
//! `storage::labels`), then found by signature with `conveyor::storage`.

mod common;

use std::path::Path;

use common::{docker_ok, harness, unique};
use conveyor::storage::{self, StageLabels, StagesStorage, StoredInput};

/// A fresh random signature.
fn random_signature() -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    format!("sha256:{a}{b}")
}

fn stage_labels(stage: &str, signature: &str, marker: &str) -> StageLabels {
    StageLabels {
        config: "Dockerfile".into(),
        stage: stage.into(),
        signature: signature.into(),
        inputs: vec![
            StoredInput {
                name: "from".into(),
                digest: format!("sha256:{}", "1".repeat(64)),
                files: Vec::new(),
            },
            StoredInput {
                name: "step 0 RUN".into(),
                digest: format!("sha256:{marker}"),
                files: Vec::new(),
            },
        ],
    }
}

/// Builds busybox plus a layer plus `labels` as `reference` in the private daemon
/// (the layer gives the image its own creation time: a LABEL alone keeps the base's).
fn build_labelled(reference: &str, labels: &StageLabels, dir: &Path) {
    let mut dockerfile = format!(
        "FROM busybox:local\nRUN echo {} > /marker\n",
        uuid::Uuid::new_v4().simple()
    );
    for (key, value) in labels.to_labels() {
        dockerfile.push_str(&format!(
            "LABEL {key}={}\n",
            serde_json::to_string(&value).unwrap()
        ));
    }
    std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
    docker_ok(&["build", "-q", "-t", reference, "."], Some(dir));
}

#[tokio::test]
async fn registry_storage_finds_stages_by_signature_with_their_inputs() {
    let registry = &harness().registry;
    let repo = format!("{registry}/{}", unique("stages"));
    let storage = StagesStorage::open(&repo, "linux/amd64", &harness().docker_host).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let first = random_signature();
    let first_labels = stage_labels("build", &first, "a");
    let reference = storage.reference(&first).unwrap();
    build_labelled(&reference, &first_labels, dir.path());
    docker_ok(&["push", "-q", &reference], None);
    // Younger, same stage: `newest` must pick it.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = random_signature();
    let second_labels = stage_labels("build", &second, "b");
    let second_reference = storage.reference(&second).unwrap();
    build_labelled(&second_reference, &second_labels, dir.path());
    docker_ok(&["push", "-q", &second_reference], None);
    // A tag that is not a signature is left out of the list.
    docker_ok(&["tag", &reference, &format!("{repo}:latest")], None);
    docker_ok(&["push", "-q", &format!("{repo}:latest")], None);
    for r in [&reference, &second_reference, &format!("{repo}:latest")] {
        docker_ok(&["rmi", r], None);
    }

    let found = storage.lookup(&first).await.unwrap().expect("stored");
    assert_eq!(found.reference, reference);
    assert_eq!(found.labels.as_ref(), Some(&first_labels));
    assert!(found.digest.starts_with("sha256:"), "{}", found.digest);
    let config: serde_json::Value = serde_json::from_slice(&found.config).unwrap();
    assert_eq!(config["config"]["Labels"]["conveyor.stage"], "build");

    assert_eq!(storage.lookup(&random_signature()).await.unwrap(), None);

    let records = storage.list().await.unwrap();
    let mut listed: Vec<&str> = records.iter().map(|r| r.reference.as_str()).collect();
    listed.sort();
    let mut expected = vec![reference.as_str(), second_reference.as_str()];
    expected.sort();
    assert_eq!(listed, expected);
    let newest = storage::newest(&records, "Dockerfile", "build").unwrap();
    assert_eq!(newest.labels, second_labels);
}

#[tokio::test]
async fn an_image_under_a_signature_with_another_signature_label_is_an_error() {
    let registry = &harness().registry;
    let repo = format!("{registry}/{}", unique("stages-bad"));
    let storage = StagesStorage::open(&repo, "linux/amd64", &harness().docker_host).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tag_signature = random_signature();
    let labelled = random_signature();
    let reference = storage.reference(&tag_signature).unwrap();
    build_labelled(&reference, &stage_labels("x", &labelled, "c"), dir.path());
    docker_ok(&["push", "-q", &reference], None);
    docker_ok(&["rmi", &reference], None);
    let error = storage
        .lookup(&tag_signature)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        format!(
            "stages storage {repo}: {reference} is labelled with signature {labelled}, not its tag's"
        )
    );
}

#[tokio::test]
async fn local_storage_reads_the_daemons_image_store() {
    let storage = StagesStorage::open("local", "linux/amd64", &harness().docker_host).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let signature = random_signature();
    let labels = stage_labels(&unique("local-stage"), &signature, "d");
    let reference = storage.reference(&signature).unwrap();
    assert!(reference.starts_with("conveyor-stages:"));
    build_labelled(&reference, &labels, dir.path());

    let found = storage.lookup(&signature).await.unwrap().expect("stored");
    let id = docker_ok(&["image", "inspect", "-f", "{{.Id}}", &reference], None);
    assert_eq!(found.digest, id.trim());
    assert_eq!(found.labels.as_ref(), Some(&labels));
    let config: serde_json::Value = serde_json::from_slice(&found.config).unwrap();
    assert_eq!(config["os"], "linux");
    assert!(
        config["rootfs"]["diff_ids"][0]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(storage.lookup(&random_signature()).await.unwrap(), None);

    let records = storage.list().await.unwrap();
    let newest = storage::newest(&records, "Dockerfile", &labels.stage).unwrap();
    assert_eq!(newest.reference, reference);
    docker_ok(&["rmi", &reference], None);

    let down =
        StagesStorage::open("local", "linux/amd64", "unix:///nonexistent/docker.sock").unwrap();
    let error = down.lookup(&signature).await.unwrap_err().to_string();
    assert!(
        error.starts_with(&format!(
            "stages storage conveyor-stages: Docker Engine at unix:///nonexistent/docker.sock: GET /images/{reference}/json: "
        )),
        "{error}"
    );
}
