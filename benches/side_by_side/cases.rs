//! The bench's cases and the contexts they build, generated into a temporary directory.

use std::fs;
use std::path::{Path, PathBuf};

use super::Request;

const BASE: &str = "127.0.0.1:5000/busybox:latest";

/// What happens before each timed build.
pub enum Prepare {
    /// Build cache pruned, images removed, a fresh stages storage.
    Cold,
    /// Built once untimed; then rebuilt with nothing changed.
    NoChange,
    /// Built once untimed; one context file changes before each build.
    FileChange(PathBuf),
    /// Built once untimed; one build arg takes a new value for each build.
    ArgChange(&'static str),
    /// `--print=outline` round trips, warm.
    Outline,
    /// Built once untimed (the stages storage filled); then, before each build, the
    /// daemon's build cache and images pruned, as on a new machine or CI runner that
    /// shares the storage: stock builds from scratch, `--repo` pulls stored stages.
    PrunedCache,
}

pub struct Case {
    pub name: &'static str,
    pub prepare: Prepare,
    pub dir: PathBuf,
    /// The context's size, for the upload case's throughput.
    pub bytes: Option<u64>,
    /// Bumped before every timed build, so each build sees a new change.
    change: std::cell::Cell<u64>,
    /// The build file conveyor's routes build (`-f`); the stock route always builds
    /// the context's Dockerfile.
    conveyor_file: Option<&'static str>,
}

impl Case {
    fn new(name: &'static str, prepare: Prepare, dir: &Path) -> Case {
        Case {
            name,
            prepare,
            dir: dir.to_path_buf(),
            bytes: None,
            change: std::cell::Cell::new(0),
            conveyor_file: None,
        }
    }

    /// Makes this round's change (a file edit), if the case has one.
    pub fn before_round(&self, _round: usize) {
        self.change.set(self.change.get() + 1);
        if let Prepare::FileChange(file) = &self.prepare {
            let mut text = fs::read_to_string(file).expect("read the file to change");
            text.push_str(&format!("/* change {} */\n", self.change.get()));
            fs::write(file, text).expect("change the file");
        }
    }

    pub fn request(&self, round: usize, route: &str, fresh_storage: bool) -> Request<'_> {
        let build_args = match self.prepare {
            Prepare::ArgChange(name) => vec![format!("{name}=change-{}", self.change.get())],
            _ => Vec::new(),
        };
        let repo_suffix = if fresh_storage {
            format!(
                "-{}-{round}-{route}-{}",
                self.name,
                uuid::Uuid::new_v4().simple()
            )
        } else {
            format!("-{}", self.name)
        };
        Request {
            dir: &self.dir,
            tag: format!("conveyor-bench/{}:{route}", self.name),
            build_args,
            outline: matches!(self.prepare, Prepare::Outline),
            repo_suffix,
            conveyor_file: self.conveyor_file,
        }
    }
}

/// Every case, with its context written under `root`.
pub fn all(root: &Path) -> Vec<Case> {
    let five = root.join("five-stages");
    write_five_stages(&five);
    let fan_in = root.join("fan-in");
    write_fan_in(&fan_in, 20);
    let werf = root.join("werf");
    write_werf(&werf);
    let upload = root.join("upload");
    let bytes = write_upload(&upload, 10_000, 10_000);
    let mut cases = vec![
        Case::new("cold-5-stages", Prepare::Cold, &five),
        Case::new("cold-fan-in-20", Prepare::Cold, &fan_in),
        Case::new("no-change", Prepare::NoChange, &five),
        Case::new(
            "one-file",
            Prepare::FileChange(five.join("src/util.c")),
            &five,
        ),
        Case::new("one-arg", Prepare::ArgChange("MODE"), &five),
        Case::new("upload", Prepare::Cold, &upload),
        Case::new("new-runner", Prepare::PrunedCache, &five),
        Case::new("outline", Prepare::Outline, &five),
        Case {
            conveyor_file: Some("werf.yaml"),
            ..Case::new("cold-werf", Prepare::Cold, &werf)
        },
    ];
    cases
        .iter_mut()
        .find(|c| c.name == "upload")
        .expect("the upload case")
        .bytes = Some(bytes);
    cases
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().expect("a parent")).expect("create the directory");
    fs::write(path, text).expect("write a context file");
}

/// A small C program "compiled" in five stages with busybox tools only: sources,
/// configure (reads the MODE build arg), compile (one object per file), link, and a
/// final image with the result.
fn write_five_stages(dir: &Path) {
    for i in 0..20 {
        let name = if i == 0 {
            "util".to_string()
        } else {
            format!("unit{i}")
        };
        let mut text = format!("#include \"config.h\"\nint {name}(int x) {{\n");
        for line in 0..100 {
            text.push_str(&format!("    x = x * {line} + {i};\n"));
        }
        text.push_str("    return x;\n}\n");
        write(&dir.join(format!("src/{name}.c")), &text);
    }
    write(
        &dir.join("Dockerfile"),
        &format!(
            "FROM {BASE} AS sources
COPY src/ /src/

FROM sources AS configure
ARG MODE=release
RUN mkdir -p /build && echo \"#define MODE \\\"$MODE\\\"\" > /build/config.h && ls /src > /build/files

FROM configure AS compile
RUN cd /src && for f in *.c; do cat \"$f\" /build/config.h | sha256sum > \"/build/${{f%.c}}.o\"; done

FROM compile AS link
RUN cat /build/*.o > /build/app && sha256sum /build/app > /build/app.sum

FROM {BASE}
COPY --from=link /build/app /build/app.sum /usr/local/bin/
CMD [\"cat\", \"/usr/local/bin/app.sum\"]
"
        ),
    );
}

/// A werf config with an artifact and two images (`worker` built on `app`, which imports
/// the artifact's result), built by conveyor's routes from werf.yaml. The stock
/// frontend cannot read werf.yaml: its side builds the context's Dockerfile, the same
/// build written as stages (compiler → app → worker, the same commands and copies), so
/// the comparison is of the same work.
fn write_werf(dir: &Path) {
    for i in 0..20 {
        let body = format!("int unit{i}(int x) {{ return x * {i}; }}\n").repeat(100);
        write(&dir.join(format!("src/unit{i}.c")), &body);
    }
    let compile = r#"mkdir -p /build && cd /src && for f in *.c; do sha256sum "$f" > "/build/${f%.c}.o"; done && cat /build/*.o > /build/app"#;
    let werf_yaml = r#"project: bench
configVersion: 1
---
artifact: compiler
from: BASE
git:
- add: /src
  to: /src
shell:
  install: 'COMPILE'
---
image: app
from: BASE
shell:
  install: echo app > /role
import:
- artifact: compiler
  add: /build/app
  to: /usr/local/bin/app
  after: install
docker:
  CMD: ["cat", "/usr/local/bin/app"]
---
image: worker
fromImage: app
shell:
  install: echo worker > /worker
"#;
    write(
        &dir.join("werf.yaml"),
        &werf_yaml.replace("BASE", BASE).replace("COMPILE", compile),
    );
    let dockerfile = r#"FROM BASE AS compiler
COPY src/ /src/
RUN COMPILE

FROM BASE AS app
RUN echo app > /role
COPY --from=compiler /build/app /usr/local/bin/app
CMD ["cat", "/usr/local/bin/app"]

FROM app AS worker
RUN echo worker > /worker
"#;
    write(
        &dir.join("Dockerfile"),
        &dockerfile.replace("BASE", BASE).replace("COMPILE", compile),
    );
}

/// `parts - 1` independent stages each digesting its own file, and a final stage that
/// copies every result in.
fn write_fan_in(dir: &Path, stages: usize) {
    let mut dockerfile = String::new();
    let mut last = format!("FROM {BASE}\n");
    for i in 1..stages {
        write(
            &dir.join(format!("parts/{i}.txt")),
            &format!("part {i}\n").repeat(1000),
        );
        dockerfile.push_str(&format!(
            "FROM {BASE} AS part{i}\nCOPY parts/{i}.txt /p/\nRUN sha256sum /p/{i}.txt > /p/{i}.sum\n\n"
        ));
        last.push_str(&format!("COPY --from=part{i} /p/{i}.sum /sums/\n"));
    }
    dockerfile.push_str(&last);
    write(&dir.join("Dockerfile"), &dockerfile);
}

/// `files` files of `size` pseudo-random (incompressible) bytes, read by a RUN through
/// a bind mount so the build is the upload. Returns the bytes written.
fn write_upload(dir: &Path, files: usize, size: usize) -> u64 {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut buffer = vec![0u8; size];
    for i in 0..files {
        for chunk in buffer.chunks_mut(8) {
            // xorshift64: fast, deterministic, incompressible enough for a transfer.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        let path = dir.join(format!("data/{:02}/{i}.bin", i % 100));
        fs::create_dir_all(path.parent().expect("a parent")).expect("create the directory");
        fs::write(&path, &buffer).expect("write a context file");
    }
    write(
        &dir.join("Dockerfile"),
        &format!(
            "FROM {BASE}\nRUN --mount=type=bind,target=/ctx du -sk /ctx > /size && find /ctx -type f | wc -l > /count\n"
        ),
    );
    (files * size) as u64
}
