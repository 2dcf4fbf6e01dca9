//! Source spans and how they are shown to a user. Imports nothing from the rest of the
//! crate: every module's errors carry a `Span`, and only the edges (cli, gateway) turn
//! one into `file:line:col` text.

use std::fmt;

/// A byte range `start..end` in one source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        debug_assert!(start <= end, "span {start}..{end} runs backwards");
        Span { start, end }
    }

    /// The smallest span holding both.
    pub fn cover(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    pub fn len(self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// A 1-based line and column (columns count characters, as editors do).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for LineCol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// Where each line of a text starts, to turn byte offsets into line:col.
#[derive(Clone, Debug)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { line_starts }
    }

    /// Line and column of a byte offset; offsets past the end clamp to the end.
    pub fn line_col(&self, text: &str, offset: usize) -> LineCol {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let col = text[self.line_starts[line]..offset].chars().count() + 1;
        LineCol {
            line: line + 1,
            col,
        }
    }

    /// The text of a 1-based line, without its newline.
    pub fn line_text<'t>(&self, text: &'t str, line: usize) -> &'t str {
        let start = self.line_starts[line - 1];
        let end = self
            .line_starts
            .get(line)
            .map_or(text.len(), |&next| next - 1);
        text[start..end].trim_end_matches('\r')
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A message about a place in a named source text, rendered as
/// `file:line:col: message`, the offending line, and a caret under the span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    pub file: String,
    pub at: LineCol,
    pub message: String,
    pub excerpt: String,
}

impl Located {
    pub fn new(file: &str, text: &str, span: Span, message: impl Into<String>) -> Located {
        let index = LineIndex::new(text);
        let at = index.line_col(text, span.start);
        let line = index.line_text(text, at.line);
        let width = if span.is_empty() {
            1
        } else {
            let end = index.line_col(text, span.end);
            if end.line == at.line {
                (end.col - at.col).max(1)
            } else {
                line.chars().count() + 1 - at.col
            }
        };
        let excerpt = format!(
            "{:>4} | {line}\n     | {}{}",
            at.line,
            " ".repeat(at.col - 1),
            "^".repeat(width.max(1))
        );
        Located {
            file: file.to_string(),
            at,
            message: message.into(),
            excerpt,
        }
    }
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}\n{}",
            self.file, self.at, self.message, self.excerpt
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_and_in_chars() {
        let text = "FROM a\nRUN é x\n";
        let index = LineIndex::new(text);
        assert_eq!(index.line_col(text, 0), LineCol { line: 1, col: 1 });
        assert_eq!(index.line_col(text, 7), LineCol { line: 2, col: 1 });
        let x = text.find('x').unwrap();
        assert_eq!(index.line_col(text, x), LineCol { line: 2, col: 7 });
        assert_eq!(
            index.line_col(text, text.len()),
            LineCol { line: 3, col: 1 }
        );
    }

    #[test]
    fn located_renders_file_line_col_and_caret() {
        let text = "FROM a\nFOO bar\n";
        let located = Located::new(
            "Dockerfile",
            text,
            Span::new(7, 10),
            "unknown instruction FOO",
        );
        assert_eq!(
            located.to_string(),
            "Dockerfile:2:1: unknown instruction FOO\n   2 | FOO bar\n     | ^^^"
        );
    }
}
