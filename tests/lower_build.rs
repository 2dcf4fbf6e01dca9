//! A Dockerfile lowered by `graph` + `lower` builds on the real dockerd: stages, WORKDIR,
//! ARG in RUN, heredoc COPY, cache mounts, `COPY --from`, `COPY --link`. No build
//! context is needed (the session's file sync is not part of this test), and the image
//! config is checked by the unit tests against the stock frontend's; here the exported
//! filesystem is what counts.

mod common;

use std::collections::BTreeMap;

use common::{docker_ok, harness, unique};
use conveyor::buildkit::{Daemon, DaemonAddress, SolveRequest};
use conveyor::proto::moby::buildkit::v1::Exporter;
use conveyor::{dockerfile, graph, llb, lower};

fn base_config() -> lower::ImageConfig {
    lower::ImageConfig::from_json(
        br#"{"architecture":"amd64","os":"linux",
            "config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},
            "rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]}}"#,
    )
    .unwrap()
}

#[tokio::test]
async fn a_lowered_multistage_dockerfile_builds_and_runs() {
    let registry = &harness().registry;
    let marker = unique("m");
    let text = format!(
        r#"ARG BASE={registry}/busybox:latest
FROM $BASE AS build
WORKDIR /src
ARG GREETING=hello
RUN echo "$GREETING {marker}" > msg
COPY <<EOF /src/heredoc.txt
heredoc ${{GREETING}}
EOF
RUN --mount=type=cache,target=/var/cache/t echo cached > /var/cache/t/f && cp /var/cache/t/f /src/cached

FROM $BASE
COPY --from=build /src/ /app/
COPY --link --from=build /src/msg /linked/msg
WORKDIR /app
RUN ls /app > listing
"#
    );
    let dockerfile = dockerfile::parse(&text).unwrap();
    let build_args = graph::BuildArgs::from([("GREETING".to_string(), "hi".to_string())]);
    let stage_graph = graph::from_dockerfile(&dockerfile, &build_args).unwrap();
    let selection = stage_graph.select(None).unwrap();
    let bases: lower::ResolvedBases = stage_graph
        .external_images(&selection)
        .into_iter()
        .map(|reference| {
            let base = lower::ResolvedBase {
                // No digest: the daemon resolves the tag itself.
                digest: String::new(),
                config: base_config(),
            };
            (reference, base)
        })
        .collect();
    let options = lower::Options {
        platform: llb::Platform::new("linux", "amd64", ""),
        build_args,
        context: lower::ContextRef {
            local_name: "context".into(),
            session_id: String::new(),
            exclude_patterns: Vec::new(),
            shared_key_hint: "context".into(),
        },
        dockerfile_source: Some(std::sync::Arc::new(llb::SourceMap {
            filename: "Dockerfile".into(),
            data: text.clone().into_bytes(),
            language: "Dockerfile".into(),
        })),
        named_contexts: BTreeMap::new(),
        merge_op: true,
        reused_stages: lower::ReusedStages::new(),
        host_dirs: BTreeMap::new(),
        prefix_platform: false,
    };
    let lowered = lower::lower(&stage_graph, &selection, &bases, &options).unwrap();

    let image = format!("conveyor-test/lower:{}", unique("t"));
    let request = SolveRequest {
        definition: Some(lowered.definition.to_pb()),
        exporters: vec![Exporter {
            r#type: "moby".into(),
            attrs: BTreeMap::from([("name".into(), image.clone())]),
        }],
        ..Default::default()
    };
    let address = DaemonAddress::parse("docker://", Some(&harness().docker_host)).unwrap();
    let daemon = Daemon::connect(address).await.unwrap();
    let (_, progress) = daemon
        .solve(request, |_| {})
        .await
        .expect("the build succeeds");
    let names: Vec<&str> = progress
        .vertexes()
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("[build 5/5] RUN --mount=type=cache")),
        "{names:?}"
    );

    let output = docker_ok(
        &[
            "run",
            "--rm",
            &image,
            "sh",
            "-c",
            "cat /app/msg /app/heredoc.txt /app/cached /linked/msg /app/listing",
        ],
        None,
    );
    assert_eq!(
        output,
        // The shell creates `listing` before `ls` runs, so it lists itself.
        format!(
            "hi {marker}\nheredoc hi\ncached\nhi {marker}\ncached\nheredoc.txt\nlisting\nmsg\n"
        )
    );
    docker_ok(&["rmi", &image], None);
}
