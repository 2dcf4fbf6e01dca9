//! `scripts/bench` runs this: builds on the harness's private dockerd, the stock
//! Dockerfile frontend (`docker buildx build`) next to conveyor's paths — the `# syntax=`
//! frontend through buildx, and `conveyor build --repo` when the binary has it — with
//! the same contexts, alternating paths within each round. Prints each path's median and
//! spread per case and its ratio to stock, then a Markdown table for the README.
//!
//! Environment: `DOCKER_HOST` (the harness daemon), `CONVEYOR_FRONTEND_IMAGE`,
//! `CONVEYOR_BIN` (a release conveyor binary), `CONVEYOR_REGISTRY` (127.0.0.1:5000),
//! `CONVEYOR_BENCH_ROUNDS` (default 5), `CONVEYOR_BENCH_CASES` (comma-separated case
//! names; default all).

mod cases;
mod rss;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cases::{Case, Prepare};

/// One way of building.
#[derive(Clone)]
enum Route {
    Stock,
    Frontend { image: String },
    Cli { binary: PathBuf, registry: String },
}

impl Route {
    fn name(&self) -> &'static str {
        match self {
            Route::Stock => "stock buildx",
            Route::Frontend { .. } => "conveyor frontend",
            Route::Cli { .. } => "conveyor build --repo",
        }
    }
}

/// What a build is asked to do.
pub struct Request<'a> {
    pub dir: &'a Path,
    pub tag: String,
    pub build_args: Vec<String>,
    /// `--print=outline` instead of a build.
    pub outline: bool,
    /// The stages storage repository for the CLI (a fresh one means a cold storage).
    pub repo_suffix: String,
    /// `-f` for conveyor's routes (the stock route builds the context's Dockerfile).
    pub conveyor_file: Option<&'static str>,
}

fn docker() -> Command {
    Command::new("/usr/bin/docker")
}

fn run_ok(mut command: Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    if !output.status.success() {
        panic!(
            "{what} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn build(route: &Route, request: &Request<'_>) -> Duration {
    let mut command = match route {
        Route::Stock | Route::Frontend { .. } => {
            let mut command = docker();
            command
                .args(["buildx", "build", "--progress=quiet"])
                .env("BUILDX_EXPERIMENTAL", "1");
            if request.outline {
                command.arg("--print=outline");
            } else {
                command.args(["-t", &request.tag]);
            }
            if let Route::Frontend { image } = route {
                command.args(["--build-arg", &format!("BUILDKIT_SYNTAX={image}")]);
            }
            command
        }
        Route::Cli { binary, registry } => {
            let mut command = Command::new(binary);
            command.args([
                "build",
                "--progress=plain",
                "--repo",
                &format!("{registry}/bench-stages{}", request.repo_suffix),
                "-t",
                &request.tag,
            ]);
            command
        }
    };
    if let (false, Some(file)) = (matches!(route, Route::Stock), request.conveyor_file) {
        command.args(["-f", file]);
    }
    for arg in &request.build_args {
        command.args(["--build-arg", arg]);
    }
    command.arg(".").current_dir(request.dir);
    let started = Instant::now();
    run_ok(
        command,
        &format!("{} in {}", route.name(), request.dir.display()),
    );
    started.elapsed()
}

/// Forgets everything the daemon built: build cache and the bench's images.
fn prune() {
    let mut command = docker();
    command.args(["builder", "prune", "-af"]);
    run_ok(command, "docker builder prune");
    let listed = docker()
        .args(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"])
        .output()
        .expect("docker image ls");
    let tags: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        // The bench's images, and local copies of stored stages: a pruned daemon
        // holds neither.
        .filter(|t| t.starts_with("conveyor-bench/") || t.contains("/bench-stages-"))
        .map(str::to_string)
        .collect();
    if !tags.is_empty() {
        let mut command = docker();
        command.args(["rmi", "-f"]).args(&tags);
        run_ok(command, "docker rmi");
    }
}

struct Stats {
    median: Duration,
    min: Duration,
    max: Duration,
}

fn stats(samples: &[Duration]) -> Stats {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    };
    Stats {
        median,
        min: sorted[0],
        max: sorted[n - 1],
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

/// Runs one case: per round, its preparation, then every route in turn (rotated each
/// round, so no route always goes first).
fn run_case(case: &Case, routes: &[Route], rounds: usize) -> Vec<(String, Stats)> {
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); routes.len()];
    // Warm-up for the warm cases: one untimed build per route.
    if !matches!(case.prepare, Prepare::Cold) {
        prune();
        for route in routes {
            build(route, &case.request(0, route_key(route), false));
        }
    }
    for round in 1..=rounds {
        for offset in 0..routes.len() {
            let index = (round + offset) % routes.len();
            let route = &routes[index];
            let fresh_storage = matches!(case.prepare, Prepare::Cold);
            if fresh_storage || matches!(case.prepare, Prepare::PrunedCache) {
                prune();
            }
            case.before_round(round);
            let request = case.request(round, route_key(route), fresh_storage);
            samples[index].push(build(route, &request));
        }
    }
    routes
        .iter()
        .zip(samples)
        .map(|(route, s)| (route.name().to_string(), stats(&s)))
        .collect()
}

fn route_key(route: &Route) -> &'static str {
    match route {
        Route::Stock => "stock",
        Route::Frontend { .. } => "frontend",
        Route::Cli { .. } => "cli",
    }
}

/// Whether `binary` has the `build` command (the CLI route).
fn has_build_command(binary: &Path) -> bool {
    Command::new(binary)
        .args(["build", "--help"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn main() {
    // `cargo bench` passes `--bench`; this program takes no arguments.
    let Ok(image) = std::env::var("CONVEYOR_FRONTEND_IMAGE") else {
        eprintln!("side_by_side: run it through scripts/bench (needs the harness)");
        return;
    };
    let registry = std::env::var("CONVEYOR_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5000".into());
    let rounds: usize = std::env::var("CONVEYOR_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let mut routes = vec![
        Route::Stock,
        Route::Frontend {
            image: image.clone(),
        },
    ];
    if let Ok(binary) = std::env::var("CONVEYOR_BIN") {
        let binary = PathBuf::from(binary);
        if has_build_command(&binary) {
            routes.push(Route::Cli { binary, registry });
        } else {
            eprintln!(
                "side_by_side: {} has no build command; CLI route left out",
                binary.display()
            );
        }
    }
    let workdir = tempfile::tempdir().expect("a temporary directory");
    let cases = cases::all(workdir.path());
    let wanted: Option<Vec<String>> = std::env::var("CONVEYOR_BENCH_CASES")
        .ok()
        .map(|v| v.split(',').map(str::to_string).collect());

    let rss = rss::PeakWatcher::start("conveyor-frontend");
    let mut table = Vec::new();
    for case in &cases {
        if let Some(wanted) = &wanted
            && !wanted.iter().any(|w| w == case.name)
        {
            continue;
        }
        eprintln!("== {} ({rounds} rounds)", case.name);
        let results = run_case(case, &routes, rounds);
        let stock = results[0].1.median.as_secs_f64();
        for (name, s) in &results {
            let ratio = s.median.as_secs_f64() / stock;
            let extra = case
                .bytes
                .map(|b| format!(", {:.1} MB/s", b as f64 / 1e6 / s.median.as_secs_f64()))
                .unwrap_or_default();
            println!(
                "{:<14} {:<22} median {} (min {}, max {}) ratio {ratio:.2}{extra}",
                case.name,
                name,
                seconds(s.median),
                seconds(s.min),
                seconds(s.max)
            );
            table.push(format!(
                "| {} | {} | {} | {}–{} | {ratio:.2}× |",
                case.name,
                name,
                seconds(s.median),
                seconds(s.min),
                seconds(s.max)
            ));
        }
    }
    let peak = rss.stop();
    let size = docker()
        .args(["image", "inspect", "--format", "{{.Size}}", &image])
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<u64>()
                .ok()
        });

    println!("\n| case | path | median | min–max | vs stock |\n|---|---|---|---|---|");
    for row in table {
        println!("{row}");
    }
    match peak {
        Some(kib) => println!("\nfrontend peak RSS: {:.1} MB", kib as f64 / 1024.0),
        None => println!("\nfrontend peak RSS: not observed (no frontend process seen)"),
    }
    if let Some(size) = size {
        println!("frontend image size: {:.1} MB", size as f64 / 1e6);
    }
}
