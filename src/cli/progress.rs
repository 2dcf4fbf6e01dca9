//! What `conveyor build` shows while the daemon works, from the Control `Status`
//! stream: `plain` prints each step as BuildKit's plain progress does (`#N name`, its
//! output lines, `#N DONE 0.3s`, `#N CACHED`, `#N ERROR: …`); `tty` keeps one line per
//! step in place, redrawn as steps start and finish, and prints a failing step's
//! output below.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use prost_types::Timestamp;

use crate::proto::moby::buildkit::v1::StatusResponse;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    /// tty when stderr is a terminal, else plain.
    Auto,
    Tty,
    Plain,
}

#[derive(Default)]
struct Step {
    number: usize,
    name: String,
    started: Option<Timestamp>,
    announced: bool,
    cached: bool,
    finished: bool,
    error: String,
    /// Output not yet ended by a newline.
    partial: Vec<u8>,
}

/// Folds status batches into steps and writes them to `out` (stderr).
pub struct Progress<W: Write> {
    out: W,
    tty: bool,
    steps: Vec<Step>,
    by_digest: HashMap<String, usize>,
    /// Lines of the last tty frame, to move the cursor back over.
    drawn_lines: usize,
    started_at: Instant,
    /// Steps are numbered in the order they start, as BuildKit's plain output does.
    announced: usize,
}

fn seconds(from: &Timestamp, to: &Timestamp) -> f64 {
    let nanos = (to.seconds - from.seconds) as f64 * 1e9 + (to.nanos - from.nanos) as f64;
    (nanos / 1e9).max(0.0)
}

impl<W: Write> Progress<W> {
    pub fn new(out: W, tty: bool) -> Progress<W> {
        Progress {
            out,
            tty,
            steps: Vec::new(),
            by_digest: HashMap::new(),
            drawn_lines: 0,
            started_at: Instant::now(),
            announced: 0,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started_at.elapsed()
    }

    fn step(&mut self, digest: &str) -> usize {
        if let Some(&index) = self.by_digest.get(digest) {
            return index;
        }
        self.steps.push(Step::default());
        self.by_digest
            .insert(digest.to_string(), self.steps.len() - 1);
        self.steps.len() - 1
    }

    /// Takes one status batch.
    pub fn update(&mut self, status: &StatusResponse) {
        // (line, whether the tty view scrolls it: output and errors do; step
        // starts and ends are shown in the redrawn block instead)
        let mut lines: Vec<(String, bool)> = Vec::new();
        for vertex in &status.vertexes {
            let index = self.step(&vertex.digest);
            let begun = vertex.started.is_some() || vertex.cached;
            if begun && !self.steps[index].announced {
                self.announced += 1;
                self.steps[index].number = self.announced;
            }
            let step = &mut self.steps[index];
            if !vertex.name.is_empty() {
                step.name = vertex.name.clone();
            }
            if vertex.started.is_some() && step.started.is_none() {
                step.started = vertex.started;
            }
            if begun && !step.announced {
                step.announced = true;
                lines.push((format!("#{} {}", step.number, step.name), false));
            }
            if vertex.cached && !step.cached && !step.finished {
                step.cached = true;
                step.finished = true;
                lines.push((format!("#{} CACHED", step.number), false));
            } else if let Some(completed) = &vertex.completed
                && !step.finished
            {
                step.finished = true;
                let took = step
                    .started
                    .as_ref()
                    .map(|started| seconds(started, completed))
                    .unwrap_or(0.0);
                if vertex.error.is_empty() {
                    lines.push((format!("#{} DONE {took:.1}s", step.number), false));
                } else {
                    step.error = vertex.error.clone();
                    lines.push((format!("#{} ERROR: {}", step.number, vertex.error), true));
                }
            }
        }
        for log in &status.logs {
            let index = self.step(&log.vertex);
            if !self.steps[index].announced {
                self.announced += 1;
                self.steps[index].number = self.announced;
                self.steps[index].announced = true;
            }
            let step = &mut self.steps[index];
            step.partial.extend_from_slice(&log.msg);
            while let Some(end) = step.partial.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = step.partial.drain(..=end).collect();
                let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
                lines.push((
                    format!("#{} {}", step.number, text.trim_end_matches('\r')),
                    true,
                ));
            }
        }
        if self.tty {
            self.draw_tty(&lines);
        } else {
            for (line, _) in lines {
                let _ = writeln!(self.out, "{line}");
            }
        }
    }

    /// tty: the output lines scroll above a block of one line per step, redrawn.
    fn draw_tty(&mut self, lines: &[(String, bool)]) {
        let mut frame = String::new();
        for _ in 0..self.drawn_lines {
            frame.push_str("\x1b[1A\x1b[2K");
        }
        for (line, _) in lines.iter().filter(|(_, scrolls)| *scrolls) {
            frame.push_str(line);
            frame.push('\n');
        }
        let elapsed = self.started_at.elapsed().as_secs_f64();
        frame.push_str(&format!("[+] Building {elapsed:.1}s\n"));
        let mut drawn = 1;
        for step in self.steps.iter().filter(|s| s.announced) {
            let state = if step.cached {
                "CACHED".to_string()
            } else if !step.error.is_empty() {
                "ERROR".to_string()
            } else if step.finished {
                "DONE".to_string()
            } else {
                "...".to_string()
            };
            frame.push_str(&format!(" => {} {}\n", step.name, state));
            drawn += 1;
        }
        self.drawn_lines = drawn;
        let _ = self.out.write_all(frame.as_bytes());
        let _ = self.out.flush();
    }

    /// Steps that ran, and steps the daemon had cached.
    pub fn counts(&self) -> (usize, usize) {
        let cached = self.steps.iter().filter(|s| s.cached).count();
        let ran = self
            .steps
            .iter()
            .filter(|s| s.finished && !s.cached)
            .count();
        (ran, cached)
    }

    pub fn finish(&mut self, line: &str) {
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }
}
