//! `cargo bench --bench template`: issue #8's budget (a 2 000-line templated werf.yaml
//! renders in under 10 ms) and the Dockerfile parser's growth with the stage count.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use conveyor::werf::template::{CommitDate, CommitInfo, MemoryFiles, TemplateEnv, render};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// Partials under `.werf/`, as a real project keeps them.
const COMMON_TMPL: &str = r#"{{- define "image-common" }}
from: {{ .root.BaseImage }}
fromCacheVersion: {{ printf "%s-%d" .root.Env .img.port | quote }}
{{- end }}

{{- define "labels" }}
{{- range $key, $value := . }}
{{ $key }}: {{ $value | quote }}
{{- end }}
{{- end }}
"#;

const SHELL_TMPL: &str = r#"{{- define "apt-install" -}}
- apt-get update
- apt-get install -y --no-install-recommends {{ join " " . }}
{{- range . }}
- echo {{ printf "installed %s" . | quote }}
{{- end }}
- rm -rf /var/lib/apt/lists/*
{{- end }}
"#;

/// One image block: 40 lines of template.
fn image_block(out: &mut String, i: usize) {
    let port = 8000 + i;
    out.push_str(&format!(
        r#"{{{{- /* image svc-{i} */}}}}
{{{{- $img := dict "name" "svc-{i}" "port" {port} "packages" (list "curl" "git" "ca-certificates" "tzdata") }}}}
{{{{- $_ := set $img "env" (dict "APP_NAME" $img.name "LOG_LEVEL" (ternary "debug" "info" (eq $.Env "dev")) "PORT" (printf "%d" $img.port)) }}}}
---
image: {{{{ $img.name }}}}
{{{{- include "image-common" (dict "img" $img "root" $) }}}}
git:
- add: /services/{{{{ $img.name }}}}
  to: /app
  excludePaths:
  - "**/*_test.go"
  - docs
  stageDependencies:
    install:
    - go.mod
    - go.sum
    setup:
    - "**/*.go"
shell:
  beforeInstall:
  {{{{- include "apt-install" $img.packages | nindent 2 }}}}
  install:
  - cd /app && go mod download
  setup:
  - cd /app && go build -o /usr/local/bin/{{{{ $img.name }}}} ./cmd/{{{{ $img.name }}}}
  {{{{- range $n, $step := list "lint" "vet" "test" }}}}
  - echo {{{{ printf "step %d: %s for %s" $n $step $img.name | quote }}}}
  {{{{- end }}}}
docker:
  WORKDIR: /app
  EXPOSE: {{{{ printf "%d/tcp" $img.port | quote }}}}
  USER: "65534"
  ENTRYPOINT: [{{{{ printf "/usr/local/bin/%s" $img.name | quote }}}}]
  ENV:
  {{{{- toYaml $img.env | nindent 4 }}}}
  LABEL:
  {{{{- include "labels" (dict "app" $img.name "team" $.Team "commit" $.Commit.Hash "env" $.Env) | nindent 4 }}}}
{{{{- if eq (mod {i} 3) 0 }}}}
  HEALTHCHECK: {{{{ printf "CMD wget -qO- http://localhost:%d/healthz" $img.port | quote }}}}
{{{{- end }}}}
"#
    ));
}

/// A werf.yaml of about `lines` lines: a header and 40-line image blocks.
fn werf_yaml(lines: usize) -> String {
    let mut out = String::from(
        r#"{{- $_ := set . "BaseImage" "golang:1.22-bookworm" }}
{{- $_ := set . "Team" "platform" }}
project: bench
configVersion: 1
"#,
    );
    for i in 0..lines.saturating_sub(4).div_ceil(40) {
        image_block(&mut out, i);
    }
    out
}

fn template_env() -> TemplateEnv {
    let mut files = MemoryFiles::default();
    files
        .files
        .insert(".werf/partials/common.tmpl".into(), COMMON_TMPL.into());
    files
        .files
        .insert(".werf/partials/shell.tmpl".into(), SHELL_TMPL.into());
    TemplateEnv {
        env: "dev".into(),
        commit: Ok(CommitInfo {
            hash: "0123456789abcdef0123456789abcdef01234567".into(),
            date: Ok(CommitDate {
                human: "2024-05-01 10:00:00 +0000 UTC".into(),
                unix: 1_714_557_600,
            }),
        }),
        files: Arc::new(files),
        env_vars: BTreeMap::new(),
    }
}

fn bench_template(c: &mut Criterion) {
    let text = werf_yaml(2000);
    let env = template_env();
    let rendered = render("werf.yaml", &text, &env).expect("the bench template renders");
    eprintln!(
        "template: {} lines ({} bytes) in, {} lines ({} bytes) out",
        text.lines().count(),
        text.len(),
        rendered.lines().count(),
        rendered.len()
    );
    let mut group = c.benchmark_group("template");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("render_werf_yaml_2000_lines", |b| {
        b.iter(|| render("werf.yaml", black_box(&text), &env).unwrap())
    });
    group.finish();
}

/// A Dockerfile of `stages` stages, each FROM plus five instructions.
fn dockerfile(stages: usize) -> String {
    let mut out = String::from("# syntax=docker/dockerfile:1\nARG BASE=alpine:3.20\n");
    for i in 0..stages {
        let from = if i == 0 {
            "${BASE}".to_string()
        } else {
            format!("stage{}", i - 1)
        };
        out.push_str(&format!(
            "FROM {from} AS stage{i}\n\
             ENV APP_HOME=/app/{i} PATH=/app/{i}/bin:$PATH\n\
             WORKDIR $APP_HOME\n\
             COPY --chown=1000:1000 --link src/{i}/ ./src/\n\
             RUN --mount=type=cache,target=/root/.cache \\\n    make -C src build-{i} && \\\n    rm -rf /tmp/*\n\
             LABEL org.opencontainers.image.title=\"stage {i}\" index=\"{i}\"\n"
        ));
    }
    out
}

fn bench_dockerfile(c: &mut Criterion) {
    let mut group = c.benchmark_group("dockerfile_parse");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for stages in [10, 100, 1000] {
        let text = dockerfile(stages);
        let parsed = conveyor::dockerfile::parse(&text).expect("the bench Dockerfile parses");
        assert_eq!(parsed.stages.len(), stages);
        assert!(parsed.stages.iter().all(|s| s.instructions.len() == 5));
        group.throughput(Throughput::Elements(stages as u64));
        group.bench_with_input(BenchmarkId::from_parameter(stages), &text, |b, text| {
            b.iter(|| conveyor::dockerfile::parse(black_box(text)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench_template, bench_dockerfile);
criterion_main!(benches);
