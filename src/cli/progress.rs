//! What `conveyor build` shows while the daemon works, from the Control `Status`
//! stream: `plain` prints each step as BuildKit's plain progress does (`#N name`, its
//! output lines, `#N DONE 0.3s`, `#N CACHED`, `#N ERROR: …`); `tty` keeps one line per
//! step in place, redrawn as steps start and finish, and prints a failing step's
//! output below; `rawjson` writes each status batch as one JSON line (see
//! `progress_json`).

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use prost_types::Timestamp;

use crate::proto::moby::buildkit::v1::StatusResponse;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    /// tty when stderr is a terminal, else plain.
    Auto,
    /// A block of the newest steps redrawn in place, their output scrolling above.
    Tty,
    /// One line per event: `#N name`, output lines, `#N DONE 0.3s`, `#N CACHED`.
    Plain,
    /// Each status batch as one line of JSON, as buildctl/buildx write it; conveyor's
    /// own notes and summary as `{"conveyor":"<text>"}` lines.
    Rawjson,
}

/// Steps the tty block shows at most.
const TTY_STEPS: usize = 15;

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
    /// rawjson: batches, notes and the summary as JSON lines only.
    json: bool,
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
            json: false,
            steps: Vec::new(),
            by_digest: HashMap::new(),
            drawn_lines: 0,
            started_at: Instant::now(),
            announced: 0,
        }
    }

    /// The `rawjson` view: steps are still folded, for the summary's counts.
    pub fn raw_json(out: W) -> Progress<W> {
        Progress {
            json: true,
            ..Progress::new(out, false)
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

    /// Takes one status batch: steps that began are announced, then their output,
    /// then the ones that ended are marked.
    pub fn update(&mut self, status: &StatusResponse) {
        // (line, whether the tty view scrolls it: output and errors do; step
        // starts and ends are shown in the redrawn block instead)
        let mut lines: Vec<(String, bool)> = Vec::new();
        for vertex in &status.vertexes {
            let index = self.step(&vertex.digest);
            if !vertex.name.is_empty() {
                self.steps[index].name = vertex.name.clone();
            }
            if vertex.started.is_some() && self.steps[index].started.is_none() {
                self.steps[index].started = vertex.started;
            }
            if vertex.started.is_some() || vertex.cached {
                self.announce(index, &mut lines);
            }
        }
        for log in &status.logs {
            let index = self.step(&log.vertex);
            self.announce(index, &mut lines);
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
        for vertex in &status.vertexes {
            let index = self.step(&vertex.digest);
            let step = &mut self.steps[index];
            if step.finished || !(vertex.cached || vertex.completed.is_some()) {
                continue;
            }
            step.finished = true;
            if !step.partial.is_empty() {
                let text = String::from_utf8_lossy(&step.partial).into_owned();
                step.partial.clear();
                lines.push((format!("#{} {text}", step.number), true));
            }
            if vertex.cached {
                step.cached = true;
                lines.push((format!("#{} CACHED", step.number), false));
            } else if vertex.error.is_empty() {
                let took = match (&step.started, &vertex.completed) {
                    (Some(started), Some(completed)) => seconds(started, completed),
                    _ => 0.0,
                };
                lines.push((format!("#{} DONE {took:.1}s", step.number), false));
            } else {
                step.error = vertex.error.clone();
                lines.push((format!("#{} ERROR: {}", step.number, vertex.error), true));
            }
        }
        if self.json {
            let _ = writeln!(self.out, "{}", super::progress_json::status_line(status));
            let _ = self.out.flush();
        } else if self.tty {
            self.draw_tty(&lines);
        } else {
            for (line, _) in lines {
                let _ = writeln!(self.out, "{line}");
            }
        }
    }

    /// Numbers a step the first time it shows (steps are numbered in the order they
    /// start, as BuildKit's plain output does) and prints its name.
    fn announce(&mut self, index: usize, lines: &mut Vec<(String, bool)>) {
        if self.steps[index].announced {
            return;
        }
        self.announced += 1;
        let step = &mut self.steps[index];
        step.announced = true;
        step.number = self.announced;
        lines.push((format!("#{} {}", step.number, step.name), false));
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
        let mut shown: Vec<&Step> = self.steps.iter().filter(|s| s.announced).collect();
        shown.sort_by_key(|step| step.number);
        // The newest steps only, so a long build's block fits a terminal.
        let skip = shown.len().saturating_sub(TTY_STEPS);
        for step in shown.into_iter().skip(skip) {
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

    /// A line of conveyor's own between the daemon's steps (the stages storage).
    /// On a tty it scrolls above the step block like step output does, so the next
    /// redraw does not overwrite it (notes come between and during solves).
    pub fn note(&mut self, line: &str) {
        if self.json {
            return self.finish(line);
        }
        if self.tty && self.drawn_lines > 0 {
            self.draw_tty(&[(line.to_string(), true)]);
            return;
        }
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }

    /// The closing line, below the last block, which stays on screen.
    pub fn finish(&mut self, line: &str) {
        if self.json {
            let _ = writeln!(self.out, "{}", super::progress_json::note_line(line));
        } else {
            let _ = writeln!(self.out, "{line}");
        }
        let _ = self.out.flush();
        self.drawn_lines = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::moby::buildkit::v1::{Vertex, VertexLog};

    fn at(seconds: i64, nanos: i32) -> Option<Timestamp> {
        Some(Timestamp { seconds, nanos })
    }

    fn vertex(digest: &str, name: &str) -> Vertex {
        Vertex {
            digest: digest.into(),
            name: name.into(),
            ..Vertex::default()
        }
    }

    /// Two steps: one cached, one that prints two lines (the second split across
    /// messages) and fails.
    fn batches() -> Vec<StatusResponse> {
        vec![
            StatusResponse {
                vertexes: vec![
                    vertex("sha256:b", "[2/2] RUN make"),
                    Vertex {
                        cached: true,
                        started: at(10, 0),
                        completed: at(10, 0),
                        ..vertex("sha256:a", "[1/2] FROM busybox")
                    },
                ],
                ..StatusResponse::default()
            },
            StatusResponse {
                vertexes: vec![Vertex {
                    started: at(10, 0),
                    ..vertex("sha256:b", "[2/2] RUN make")
                }],
                logs: vec![VertexLog {
                    vertex: "sha256:b".into(),
                    msg: b"compiling\nlink".to_vec(),
                    ..VertexLog::default()
                }],
                ..StatusResponse::default()
            },
            StatusResponse {
                vertexes: vec![Vertex {
                    started: at(10, 0),
                    completed: at(11, 500_000_000),
                    error: "exit code: 2".into(),
                    ..vertex("sha256:b", "[2/2] RUN make")
                }],
                logs: vec![VertexLog {
                    vertex: "sha256:b".into(),
                    msg: b"ing failed\n".to_vec(),
                    ..VertexLog::default()
                }],
                ..StatusResponse::default()
            },
        ]
    }

    #[test]
    fn plain_numbers_steps_as_they_start_with_output_timing_and_marks() {
        let mut out = Vec::new();
        let mut progress = Progress::new(&mut out, false);
        for batch in batches() {
            progress.update(&batch);
        }
        assert_eq!(progress.counts(), (1, 1));
        drop(progress);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "#1 [1/2] FROM busybox\n#1 CACHED\n#2 [2/2] RUN make\n#2 compiling\n\
             #2 linking failed\n#2 ERROR: exit code: 2\n"
        );
    }

    #[test]
    fn tty_redraws_the_step_block_and_scrolls_output_above_it() {
        let mut out = Vec::new();
        let mut progress = Progress::new(&mut out, true);
        for batch in batches() {
            progress.update(&batch);
        }
        drop(progress);
        let text = String::from_utf8(out).unwrap();
        let frames: Vec<&str> = text.split("[+] Building").collect();
        assert_eq!(frames.len(), 4, "one frame per batch: {text:?}");
        let last = frames[3];
        assert!(
            last.ends_with(" => [1/2] FROM busybox CACHED\n => [2/2] RUN make ERROR\n"),
            "{last:?}"
        );
        // Each redraw first moves up over the block drawn before it (header + steps),
        // then scrolls the new output.
        let up = "\x1b[1A\x1b[2K".repeat(3);
        assert!(
            frames[2].contains(&format!("{up}#2 linking failed\n")),
            "{text:?}"
        );
        assert!(text.contains("#2 compiling\n") && text.contains("#2 linking failed\n"));
        assert!(
            !text.contains("#1 CACHED"),
            "marks are shown in the block, not scrolled"
        );
    }

    #[test]
    fn tty_notes_scroll_above_the_block_and_the_summary_ends_the_output() {
        let mut out = Vec::new();
        let mut progress = Progress::new(&mut out, true);
        let batches = batches();
        progress.update(&batches[0]);
        progress.note("[conveyor] stage app: building");
        progress.update(&batches[1]);
        progress.finish("1 stages reused, 1 built");
        drop(progress);
        let text = String::from_utf8(out).unwrap();
        let frames: Vec<&str> = text.split("[+] Building").collect();
        // The note is its own frame: it moves up over the first block, then the block
        // is drawn again under it, so the next frame erases the block, not the note.
        assert_eq!(frames.len(), 4, "{text:?}");
        let up = "\x1b[1A\x1b[2K".repeat(2);
        assert!(
            frames[1].ends_with(&format!("{up}[conveyor] stage app: building\n")),
            "{text:?}"
        );
        assert!(
            text.ends_with(" => [2/2] RUN make ...\n1 stages reused, 1 built\n"),
            "{text:?}"
        );
    }
}
