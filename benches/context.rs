//! `cargo bench --bench context`: digesting a large build context for signatures —
//! the walk (with a `.dockerignore`) and the content hash of every file a stage copies —
//! on 1 000 files of 100 KiB (100 MiB) in a temporary directory (page-cached after the
//! first iteration, so this measures our code and sha256, not the disk).

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use conveyor::context::{self, Filter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FILES: usize = 1_000;
const FILE_SIZE: usize = 100 * 1024;

fn write_context(root: &Path) {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut buffer = vec![0u8; FILE_SIZE];
    for i in 0..FILES {
        for chunk in buffer.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        let path = root.join(format!("src/{:02}/{i}.bin", i % 50));
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, &buffer).expect("write");
    }
    std::fs::write(root.join("notes.log"), "ignored\n").expect("write");
}

fn bench_context(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    write_context(dir.path());
    let filter = Filter::from_dockerignore("*.log\n");
    let mut group = c.benchmark_group("context");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Bytes((FILES * FILE_SIZE) as u64));
    group.bench_function("digest 100 MiB (1000 files)", |b| {
        b.iter(|| context::digest_paths(black_box(dir.path()), &["src"], &filter).expect("digest"))
    });
    group.finish();
}

criterion_group!(benches, bench_context);
criterion_main!(benches);
