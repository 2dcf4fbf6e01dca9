//! `cargo fuzz run dockerfile`: any text through the Dockerfile parser must give a
//! Dockerfile whose spans all point into the text, or an error that renders with its
//! excerpt; never a panic.

#![no_main]

use conveyor::diag::Span;
use conveyor::dockerfile::{Instruction, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    match parse(text) {
        Ok(dockerfile) => {
            for stage in &dockerfile.stages {
                check_span(text, stage.span, "stage");
                check_span(text, stage.from_span, "stage FROM");
                assert!(
                    within(stage.from_span, stage.span),
                    "FROM outside its stage"
                );
                check_span(text, stage.from.span, "FROM image");
                if let Some(platform) = &stage.platform {
                    check_span(text, platform.span, "FROM --platform");
                }
                for instruction in &stage.instructions {
                    check_instruction(text, instruction);
                    assert!(
                        within(instruction.span, stage.span),
                        "instruction {:?} outside its stage {:?}",
                        instruction.span,
                        stage.span
                    );
                }
            }
            for arg in &dockerfile.meta_args {
                check_all_spans(text, &format!("{arg:?}"));
            }
            // Every other span in the tree (words, flags, mounts, heredocs…).
            check_all_spans(text, &format!("{:?}", dockerfile.stages));
            let _ = dockerfile.dump();
        }
        Err(error) => {
            check_span(text, error.span(), "error");
            let located = error.located("Dockerfile", text);
            let _ = located.to_string();
        }
    }
});

fn check_instruction(text: &str, instruction: &Instruction) {
    check_span(text, instruction.span, "instruction");
    check_span(text, instruction.keyword_span, "keyword");
    assert!(
        within(instruction.keyword_span, instruction.span),
        "keyword {:?} outside its instruction {:?}",
        instruction.keyword_span,
        instruction.span
    );
    for expandable in instruction.expandable_texts() {
        check_span(text, expandable.span, "expandable text");
    }
}

fn within(inner: Span, outer: Span) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

fn check_span(text: &str, span: Span, what: &str) {
    assert!(
        span.start <= span.end && span.end <= text.len(),
        "{what} span {span:?} out of bounds (text is {} bytes)",
        text.len()
    );
    assert!(
        text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "{what} span {span:?} not on char boundaries"
    );
}

/// Checks each `Span { start: …, end: … }` in a Debug rendering, skipping the
/// insides of string and char literals (where the input text may spell one).
fn check_all_spans(text: &str, debug: &str) {
    const OPEN: &str = "Span { start: ";
    let bytes = debug.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'"' | b'\'') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            _ if bytes[i..].starts_with(OPEN.as_bytes()) => {
                let rest = &debug[i + OPEN.len()..];
                let (start, after) = rest.split_once(", end: ").expect("span debug form");
                let (end, _) = after.split_once(" }").expect("span debug form");
                let span = Span {
                    start: start.parse().expect("start"),
                    end: end.parse().expect("end"),
                };
                check_span(text, span, "nested");
                i += OPEN.len();
            }
            _ => i += 1,
        }
    }
}
