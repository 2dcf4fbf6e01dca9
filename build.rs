//! Compiles our own `proto/` files into Rust at build time with protox (a pure-Rust
//! protobuf compiler), so no system `protoc` is needed.

fn main() {
    let files = [
        "ops.proto",
        "fsutil.proto",
        "types.proto",
        "caps.proto",
        "errdefs.proto",
        "gateway.proto",
        "control.proto",
        "session.proto",
        "secrets.proto",
        "sshforward.proto",
        "google/rpc/status.proto",
        "health.proto",
    ];
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(files, ["proto"]).expect("compile proto/ with protox");
    tonic_prost_build::configure()
        // Proto maps as BTreeMap: sorted keys, so the same ops marshal to the same bytes.
        .btree_map(".")
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)
        .expect("generate Rust from proto/");
}
