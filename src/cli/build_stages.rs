//! `conveyor build --repo`: a build through the stages storage. Every selected stage
//! is signed and looked up as `<repo>:<signature>` (a werf stage importing from a
//! stage not stored yet, once that stage is built); a stored stage is never rebuilt
//! (the frontend, given `CONVEYOR_REPO`, lowers it to its stored image); each missing
//! stage the target needs is built on its own, dependencies first, and stored by its
//! signature, with the storage's labels, only once its solve succeeded — so a failed
//! build leaves no tag for a stage that did not complete, and the next build reuses
//! every stage that did.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Stderr;
use std::sync::Mutex;

use futures_util::future::join_all;

use crate::buildkit::{Daemon, DaemonAddress, Session};
use crate::graph::StageId;
use crate::storage;

use super::Failure;
use super::build::{BuildInput, BuildRequest, push_tags, solve_with_status};
use super::output;
use super::progress::Progress;
use super::stages::{self, BuildSpec};

pub struct StagesBuild<'a> {
    pub daemon: &'a Daemon,
    pub address: &'a DaemonAddress,
    pub session: &'a Session,
    pub input: &'a BuildInput,
    pub request: &'a BuildRequest,
    pub repo: &'a str,
    pub progress: &'a mut Progress<Stderr>,
}

/// Which stages came from the storage and which were built into it, by name.
pub struct StagesReport {
    pub reused: Vec<String>,
    pub built: Vec<String>,
    /// Every stored stage the target needs, as the frontend option `conveyor.stored`.
    pub stored: String,
    /// The commits remote git refs were signed with, as the frontend option
    /// `conveyor.git-commits` (empty for none).
    pub git_commits: String,
}

/// The frontend option `conveyor.stored`: `POSITION=REFERENCE[@DIGEST]` of each stored
/// stage, so the frontend takes them as they are instead of signing the stages again.
/// The digest is the manifest digest a registry holds (werf's `ImageDigest` of a
/// dependency): Docker Engine's BuildKit resolves a tag it has itself without one.
fn stored_option(
    references: &BTreeMap<StageId, String>,
    digests: &BTreeMap<StageId, String>,
    done: &BTreeSet<StageId>,
) -> String {
    done.iter()
        .filter_map(|id| {
            let reference = references.get(id)?;
            Some(match digests.get(id) {
                Some(digest) => format!("{}={reference}@{digest}", id.0),
                None => format!("{}={reference}", id.0),
            })
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The platform signatures are made for: the one asked for, else the daemon's first
/// worker's — what the frontend falls back to as well.
async fn signing_platform(daemon: &Daemon, request: &BuildRequest) -> Result<String, Failure> {
    if let Some(platform) = &request.platform {
        return Ok(crate::gateway::parse_platform(platform)
            .map_err(Failure::input)?
            .id());
    }
    let workers = daemon.list_workers().await.map_err(Failure::build)?;
    Ok(workers
        .first()
        .and_then(|worker| worker.platforms.first())
        .map(|p| crate::llb::Platform::new(&p.os, &p.architecture, &p.variant).id())
        .unwrap_or_else(|| "linux/amd64".to_string()))
}

/// Looks every selected stage up and builds, in order, those the target needs that the
/// storage lacks. A werf stage importing from a stage not stored yet is signed (and
/// looked up) only once that stage is built: its signature takes the imported content.
pub async fn build_missing_stages(job: StagesBuild<'_>) -> Result<StagesReport, Failure> {
    let request = job.request;
    let platform = signing_platform(job.daemon, request).await?;
    let spec = BuildSpec {
        file: Some(
            request
                .file
                .clone()
                .unwrap_or_else(|| request.context.join("Dockerfile")),
        ),
        context: request.context.clone(),
        target: request.target.clone(),
        build_args: request.build_args.iter().cloned().collect(),
        platform: platform.clone(),
    };
    let loaded = stages::load(&spec)?;
    if request.platform.is_none() && loaded.listed_platforms.len() > 1 {
        return Err(Failure::input(format!(
            "{}: the image is built for several platforms ({}) and --repo stores stages for one: choose one with --platform, or build without --repo",
            loaded.file.display(),
            loaded.listed_platforms.join(", ")
        )));
    }
    let digests = stages::resolve_images(&loaded).await?;
    let storage = stages::open_storage(job.repo, &platform)?;
    let on_docker = matches!(job.address, DaemonAddress::DockerEngine(_));
    if job.repo == storage::LOCAL && !on_docker {
        return Err(Failure::input(
            "--repo local is Docker Engine's image store: build on Docker Engine (--addr docker://), or give a registry repository",
        ));
    }

    let graph = &loaded.stage_graph;
    let in_registry = job.repo != storage::LOCAL;
    let mut imports = stages::ImportDigests::new();
    // Found in the storage by their signature, and built by this build.
    let mut stored: BTreeSet<StageId> = BTreeSet::new();
    let mut built: BTreeSet<StageId> = BTreeSet::new();
    let mut looked_up: BTreeSet<StageId> = BTreeSet::new();
    let mut references: BTreeMap<StageId, String> = BTreeMap::new();
    // The registry's manifest digest of each stored stage (see `stored_option`).
    let mut manifest_digests: BTreeMap<StageId, String> = BTreeMap::new();
    let mut report = StagesReport {
        reused: Vec::new(),
        built: Vec::new(),
        stored: String::new(),
        git_commits: if loaded.git_commits.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&loaded.git_commits).expect("commits are JSON")
        },
    };
    let target = StoreTarget {
        daemon: job.daemon,
        address: job.address,
        session: job.session,
        repo: job.repo,
    };

    // Sign what can be signed, look it up, build a wave of what is missing; again,
    // until the target is stored. Each wave solves every needed stage whose
    // dependencies are all stored; a failure ends the build after its wave, so only
    // stages that completed are tagged.
    loop {
        let progress = &mut *job.progress;
        let signed = loaded
            .sign_stored(&digests, &storage, &mut imports, &mut |line| {
                progress.note(&format!("[conveyor] {line}"))
            })
            .await?;
        for &id in &loaded.selection.order {
            let Some(signature) = signed.signatures.get(&id) else {
                continue;
            };
            if !looked_up.insert(id) {
                continue;
            }
            let signature = &signature.signature;
            references.insert(id, storage.reference(signature).map_err(Failure::build)?);
            if let Some(found) = storage.lookup(signature).await.map_err(Failure::build)? {
                stored.insert(id);
                if in_registry {
                    manifest_digests.insert(id, found.digest);
                }
            }
        }
        let done: BTreeSet<StageId> = stored.union(&built).copied().collect();
        let needed =
            crate::lower::prune_reused(graph, &loaded.selection, |id| done.contains(&id)).order;
        for &id in &needed {
            let name = graph.stage(id).display_name();
            if stored.contains(&id) && !report.reused.contains(&name) {
                job.progress.note(&format!(
                    "[conveyor] stage {name}: reused {}",
                    references[&id]
                ));
                report.reused.push(name);
            }
        }
        let needed_references: BTreeMap<StageId, String> = needed
            .iter()
            .filter_map(|id| Some((*id, references.get(id)?.clone())))
            .collect();
        let pending: Vec<StageId> = needed
            .iter()
            .copied()
            .filter(|id| !done.contains(id))
            .collect();
        if pending.is_empty() {
            report.stored = stored_option(&needed_references, &manifest_digests, &done);
            return Ok(report);
        }
        let (wave, _) = next_wave(&pending, &needed, &done, |id| graph.stage_dependencies(id));
        let wave: Vec<StageId> = wave
            .into_iter()
            .filter(|id| signed.signatures.contains_key(id))
            .collect();
        if wave.is_empty() {
            return Err(Failure::build(
                "the stages left to build depend on each other in a cycle",
            ));
        }
        let mut labels = loaded.stage_labels(&signed)?;
        let progress = Mutex::new(&mut *job.progress);
        let mut solves = Vec::new();
        for &id in &wave {
            let name = graph.stage(id).display_name();
            let reference = references[&id].clone();
            let stage_labels = labels
                .remove(&id)
                .expect("every signed stage has labels")
                .to_labels();
            let mut attrs: BTreeMap<String, String> = job.input.frontend_attrs.clone();
            attrs.insert("conveyor.stage".into(), id.0.to_string());
            attrs.insert(
                "conveyor.labels".into(),
                serde_json::to_string(&stage_labels).expect("labels are JSON"),
            );
            attrs.insert(
                format!("build-arg:{}", crate::gateway::CONVEYOR_REPO),
                job.repo.to_string(),
            );
            attrs.insert(
                "conveyor.stored".into(),
                stored_option(&needed_references, &manifest_digests, &done),
            );
            if !report.git_commits.is_empty() {
                attrs.insert("conveyor.git-commits".into(), report.git_commits.clone());
            }
            note(
                &progress,
                &format!("[conveyor] stage {name}: building, to be stored as {reference}"),
            );
            solves.push(build_stage(&target, attrs, name, reference, &progress));
        }
        let mut failure = None;
        for (id, result) in wave.iter().zip(join_all(solves).await) {
            match result {
                Ok(name) => {
                    if in_registry {
                        let signature = &signed.signatures[id].signature;
                        let pushed = storage.lookup(signature).await.map_err(Failure::build)?;
                        let pushed = pushed.ok_or_else(|| {
                            Failure::build(format!(
                                "stage {name} was pushed but is not in the registry"
                            ))
                        })?;
                        manifest_digests.insert(*id, pushed.digest);
                    }
                    built.insert(*id);
                    report.built.push(name);
                }
                Err(error) => failure = failure.or(Some(error)),
            }
        }
        if let Some(failure) = failure {
            return Err(failure);
        }
    }
}

/// Splits `pending` into the stages that can be solved now — every dependency done,
/// or not needed at all — and the rest.
fn next_wave(
    pending: &[StageId],
    needed: &[StageId],
    done: &BTreeSet<StageId>,
    dependencies: impl Fn(StageId) -> Vec<StageId>,
) -> (Vec<StageId>, Vec<StageId>) {
    pending.iter().partition(|&&id| {
        dependencies(id)
            .iter()
            .all(|dep| done.contains(dep) || !needed.contains(dep))
    })
}

/// Where a stage is solved and stored.
struct StoreTarget<'a> {
    daemon: &'a Daemon,
    address: &'a DaemonAddress,
    session: &'a Session,
    repo: &'a str,
}

fn note(progress: &Mutex<&mut Progress<Stderr>>, line: &str) {
    progress.lock().expect("progress lock").note(line);
}

/// Solves one stage and stores it as `reference`; its name once stored.
async fn build_stage(
    job: &StoreTarget<'_>,
    attrs: BTreeMap<String, String>,
    name: String,
    reference: String,
    progress: &Mutex<&mut Progress<Stderr>>,
) -> Result<String, Failure> {
    let exports = output::exporters(
        job.address,
        None,
        std::slice::from_ref(&reference),
        job.repo != storage::LOCAL,
    )
    .map_err(Failure::input)?;
    solve_with_status(
        job.daemon,
        job.session,
        attrs,
        exports.exporters,
        |status| progress.lock().expect("progress lock").update(status),
    )
    .await?;
    if let (DaemonAddress::DockerEngine(endpoint), false) =
        (job.address, exports.push_after.is_empty())
    {
        push_tags(endpoint, &exports.push_after).await?;
    }
    note(
        progress,
        &format!("[conveyor] stage {name}: stored {reference}"),
    );
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waves_follow_dependencies() {
        // 0 ← 1, 0 ← 2, {1, 2, 3} ← 4; stage 0 is stored, stage 5 is not needed.
        let dependencies = |id: StageId| match id.0 {
            1 | 2 => vec![StageId(0)],
            3 => vec![StageId(5)],
            4 => vec![StageId(1), StageId(2), StageId(3)],
            _ => vec![],
        };
        let needed: Vec<StageId> = (0..5).map(StageId).collect();
        let mut done = BTreeSet::from([StageId(0)]);
        let pending: Vec<StageId> = (1..5).map(StageId).collect();
        let (wave, rest) = next_wave(&pending, &needed, &done, dependencies);
        assert_eq!(wave, [StageId(1), StageId(2), StageId(3)]);
        assert_eq!(rest, [StageId(4)]);
        done.extend([StageId(1), StageId(2)]);
        let (wave, rest) = next_wave(&rest, &needed, &done, dependencies);
        assert_eq!((wave, rest), (vec![], vec![StageId(4)]));
        done.insert(StageId(3));
        let (wave, rest) = next_wave(&[StageId(4)], &needed, &done, dependencies);
        assert_eq!((wave, rest), (vec![StageId(4)], vec![]));
    }
}
