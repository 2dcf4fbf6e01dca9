//! Go's literal syntax: string escapes, character names, number constants.

use super::ast::Arg;
use super::parser::{Result as ParseResult, error};
use crate::diag::Span;

/// Go's `%#U` rendering of a character, as used in its lexer messages.
pub fn unicode_name(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{c}'", c as u32)
    }
}

/// Go's string unquoting for the body of a `"…"` or `'…'` literal.
pub fn unquote(body: &str, quote: char) -> Result<String, String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    let bad = || "invalid syntax".to_string();
    while let Some(c) = chars.next() {
        if c != '\\' {
            if c == quote {
                return Err(bad());
            }
            out.push(c);
            continue;
        }
        let e = chars.next().ok_or_else(bad)?;
        let mut hex = |n: usize| -> Result<u32, String> {
            let mut v = 0u32;
            for _ in 0..n {
                let d = chars.next().and_then(|c| c.to_digit(16)).ok_or_else(bad)?;
                v = v * 16 + d;
            }
            Ok(v)
        };
        match e {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '"' | '\'' if e == quote => out.push(e),
            'x' => {
                let v = hex(2)?;
                // A byte escape; only ASCII is representable in a Rust String.
                out.push(char::from_u32(v).filter(|_| v < 0x80).ok_or_else(bad)?);
            }
            'u' => out.push(char::from_u32(hex(4)?).ok_or_else(bad)?),
            'U' => out.push(char::from_u32(hex(8)?).ok_or_else(bad)?),
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    let d = chars.next().and_then(|c| c.to_digit(8)).ok_or_else(bad)?;
                    v = v * 8 + d;
                }
                out.push(char::from_u32(v).filter(|c| c.is_ascii()).ok_or_else(bad)?);
            }
            _ => return Err(bad()),
        }
    }
    Ok(out)
}

/// Go's number constants: integers (decimal, 0x, 0o, 0b, leading-0 octal, `_`)
/// print as ints; anything with a fraction or exponent is a float64.
pub fn number(span: Span, text: &str) -> ParseResult<Arg> {
    let bad = || error(span, format!("illegal number syntax: {text:?}"));
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    let (negative, digits) = match clean.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let lower = digits.to_ascii_lowercase();
    let radix_int = if let Some(hex) = lower.strip_prefix("0x") {
        (!hex.contains('p')).then(|| i64::from_str_radix(hex, 16))
    } else if let Some(oct) = lower.strip_prefix("0o") {
        Some(i64::from_str_radix(oct, 8))
    } else if let Some(bin) = lower.strip_prefix("0b") {
        Some(i64::from_str_radix(bin, 2))
    } else if !lower.contains(['.', 'e']) {
        if lower.len() > 1 && lower.starts_with('0') {
            Some(i64::from_str_radix(&lower[1..], 8))
        } else {
            Some(lower.parse::<i64>())
        }
    } else {
        None
    };
    match radix_int {
        Some(Ok(v)) => Ok(Arg::Int(span, if negative { -v } else { v })),
        Some(Err(_)) if lower.chars().all(|c| c.is_ascii_digit()) => {
            Err(error(span, format!("integer overflow: {text:?}")))
        }
        Some(Err(_)) => Err(bad()),
        None => {
            let v: f64 = lower.parse().map_err(|_| bad())?;
            Ok(Arg::Float(span, if negative { -v } else { v }))
        }
    }
}
