//! The frontend image's program: `conveyor frontend` and nothing else. The image needs
//! none of the CLI, and leaving it out leaves out the registry client and its TLS
//! stack, most of the CLI binary's size (the image stays under 10 MB).

// As in the conveyor binary (src/main.rs): the compile runs a third faster on it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("conveyor-frontend: cannot start the async runtime: {error}");
            std::process::exit(1);
        }
    };
    if let Err(error) = runtime.block_on(conveyor::gateway::serve_stdio()) {
        eprintln!("conveyor-frontend: {error}");
        std::process::exit(1);
    }
}
