//! `cargo bench --bench compile`: the whole pure pipeline a build runs before talking
//! to the daemon — parse + stage graph + target selection + signatures + lowering to
//! LLB + marshalling — on generated Dockerfiles of 10, 100 and 1000 stages. Issue #4's
//! budget: 1000 stages in under 20 ms, growing linearly.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use conveyor::graph::{self, SignatureSources};
use conveyor::llb::{Platform, SourceMap};
use conveyor::lower::{self, ContextRef, ImageConfig, ResolvedBase};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

// The allocator the conveyor binary uses (src/main.rs), so the bench measures what runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Stages on the base image, each copying from the stage before it and from the
/// context, with an ARG, an ENV and a RUN: 6 instructions a stage. (A chain of stages
/// each FROM the previous one inherits every earlier ENV and history entry, so its LLB
/// and configs themselves grow quadratically — in any frontend; this measures the
/// compiler.)
fn dockerfile(n_stages: usize) -> String {
    let mut text = String::from(
        "ARG BASE=127.0.0.1:5000/busybox:latest\nFROM ${BASE} AS s0\nRUN echo 0 > /0\n",
    );
    for i in 1..n_stages {
        let from = i - 1;
        text.push_str(&format!(
            "FROM ${{BASE}} AS s{i}\nARG V{i}={i}\nENV STAGE{i}=$V{i}\nCOPY --from=s{from} /{from} /from-{i}\nCOPY src/{i}.txt /src/\nRUN echo $STAGE{i} > /{i}\n"
        ));
    }
    text
}

fn busybox() -> ImageConfig {
    ImageConfig::from_json(
        br#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:1111111111111111111111111111111111111111111111111111111111111111"]},"history":[{"created_by":"ADD busybox"}]}"#,
    )
    .expect("config parses")
}

/// Everything from the text to the marshalled Definition; returns its size.
fn compile(text: &str, base: &ImageConfig) -> usize {
    let dockerfile = conveyor::dockerfile::parse(text).expect("parses");
    let build_args = graph::platform_args("linux/amd64", "linux/amd64");
    let stage_graph = graph::from_dockerfile(&dockerfile, &build_args).expect("graph");
    let selection = stage_graph.select(None).expect("target");
    let mut context_digest =
        |paths: &[String]| -> Result<String, String> { Ok(format!("sha256:{}", paths.len())) };
    let image_digests = BTreeMap::new();
    let mut sources = SignatureSources {
        dockerfile_text: text,
        platform: "linux/amd64",
        build_args: &build_args,
        image_digests: &image_digests,
        context_digest: &mut context_digest,
    };
    let signed = graph::signatures(&stage_graph, &selection, &mut sources).expect("signatures");
    let bases = stage_graph
        .external_images(&selection)
        .into_iter()
        .map(|reference| {
            (
                reference,
                ResolvedBase {
                    digest: format!("sha256:{}", "0".repeat(64)),
                    config: base.clone(),
                },
            )
        })
        .collect();
    let options = lower::Options {
        platform: Platform::new("linux", "amd64", ""),
        build_args: BTreeMap::new(),
        context: ContextRef {
            local_name: "context".into(),
            session_id: "bench".into(),
            exclude_patterns: Vec::new(),
            shared_key_hint: "context".into(),
        },
        // The frontend lowers with the Dockerfile as every op's source map.
        dockerfile_source: Some(Arc::new(SourceMap {
            filename: "Dockerfile".into(),
            data: text.as_bytes().to_vec(),
            language: "Dockerfile".into(),
        })),
        named_contexts: BTreeMap::new(),
        merge_op: true,
        reused_stages: lower::ReusedStages::new(),
        host_dirs: BTreeMap::new(),
        prefix_platform: false,
    };
    let lowered = lower::lower(&stage_graph, &selection, &bases, &options).expect("lowers");
    lowered.definition.encode().len() + signed.len()
}

fn bench_compile(c: &mut Criterion) {
    let base = busybox();
    let mut group = c.benchmark_group("compile");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_millis(500));
    for n_stages in [10, 100, 1000] {
        let text = dockerfile(n_stages);
        group.throughput(Throughput::Elements(n_stages as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n_stages), &text, |b, text| {
            b.iter(|| compile(black_box(text), &base))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_compile);
criterion_main!(benches);
