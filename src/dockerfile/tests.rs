use super::*;

#[test]
fn scratch_print() {
    let path = std::env::var("DF").unwrap_or_default();
    if path.is_empty() {
        return;
    }
    let text = std::fs::read_to_string(path).unwrap();
    match parse(&text) {
        Ok(d) => println!("{}", d.dump()),
        Err(e) => println!("{}", e.located("Dockerfile", &text)),
    }
}
