fn main() {
    eprintln!("conveyor: no command yet");
    std::process::exit(2);
}
