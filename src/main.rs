use clap::Parser;

fn main() {
    let args = conveyor::cli::Args::parse();
    if let Err(failure) = conveyor::cli::run(args) {
        eprintln!("conveyor: {}", failure.message);
        std::process::exit(failure.code);
    }
}
