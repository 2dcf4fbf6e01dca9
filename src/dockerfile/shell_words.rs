//! The words word expansion collects besides its text (`Lexer::expand_words`).

/// Words being collected: whitespace ends a word unless it was added raw (quoted).
pub(super) struct Words {
    buf: String,
    words: Vec<String>,
    in_word: bool,
    /// Off when only the expanded text is wanted (`expand_word`): nothing is collected.
    enabled: bool,
}

impl Words {
    pub(super) fn new(enabled: bool) -> Words {
        Words {
            buf: String::new(),
            words: Vec::new(),
            in_word: false,
            enabled,
        }
    }

    pub(super) fn add_char(&mut self, ch: char) {
        if !self.enabled {
            return;
        }
        if ch.is_whitespace() {
            if self.in_word && !self.buf.is_empty() {
                self.words.push(std::mem::take(&mut self.buf));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(ch);
        }
    }

    pub(super) fn add_raw_char(&mut self, ch: char) {
        if !self.enabled {
            return;
        }
        self.buf.push(ch);
        self.in_word = true;
    }

    pub(super) fn add_string(&mut self, text: &str) {
        if !self.enabled {
            return;
        }
        for ch in text.chars() {
            self.add_char(ch);
        }
    }

    pub(super) fn add_raw_string(&mut self, text: &str) {
        if !self.enabled {
            return;
        }
        self.buf.push_str(text);
        self.in_word = true;
    }

    pub(super) fn finish(mut self) -> Vec<String> {
        if !self.buf.is_empty() {
            self.words.push(self.buf);
        }
        self.words
    }
}
