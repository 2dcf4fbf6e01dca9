//! The frontend's peak RSS: BuildKit runs the frontend image's `/conveyor-frontend` as a
//! process of this machine (in its own namespaces), so a thread polls /proc for it and
//! keeps the largest `VmHWM` (the kernel's high-water mark of the process's RSS) seen.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct PeakWatcher {
    stop: Arc<AtomicBool>,
    peak_kib: Arc<AtomicU64>,
    thread: JoinHandle<()>,
}

impl PeakWatcher {
    /// Watches processes whose program is `…/<program>`.
    pub fn start(program: &'static str) -> PeakWatcher {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_kib = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, peak_kib) = (stop.clone(), peak_kib.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    for kib in matching_hwm(program) {
                        peak_kib.fetch_max(kib, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        };
        PeakWatcher {
            stop,
            peak_kib,
            thread,
        }
    }

    /// The peak in KiB, if a matching process was ever seen.
    pub fn stop(self) -> Option<u64> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the watcher thread");
        Some(self.peak_kib.load(Ordering::Relaxed)).filter(|kib| *kib > 0)
    }
}

fn matching_hwm(program: &str) -> Vec<u64> {
    let suffix = format!("/{program}");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(cmdline) = std::fs::read(path.join("cmdline")) else {
            continue;
        };
        let first = cmdline.split(|b| *b == 0).next().unwrap_or_default();
        if !first.ends_with(suffix.as_bytes()) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(path.join("status")) else {
            continue;
        };
        if let Some(kib) = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        {
            found.push(kib);
        }
    }
    found
}
