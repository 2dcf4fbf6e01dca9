//! Go's `fmt.Sprintf` for the verbs templates use: %v %s %d %q %t %x %X %o %b %c
//! %f %e %g %T %%, with flags `-+# 0`, width and precision. Mismatches print Go's
//! `%!d(string=x)` forms instead of failing, as Go does.

use crate::werf::template::value::{Value, format_float_v, format_value};

#[derive(Default)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut next_arg = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                _ => break,
            }
            chars.next();
        }
        spec.width = number(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.precision = Some(number(&mut chars).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next_arg += 1;
        let text = format_one(verb, &spec, arg);
        out.push_str(&pad(
            &spec,
            text,
            matches!(arg, Value::Int(_) | Value::Int64(_) | Value::Float(_)),
        ));
    }
    if next_arg < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[next_arg..]
            .iter()
            .map(|a| format!("{}={}", a.type_name(), plain(a)))
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

fn number(chars: &mut std::iter::Peekable<std::str::Chars>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        n = Some(
            n.unwrap_or(0)
                .saturating_mul(10)
                .saturating_add(d as usize)
                .min(1 << 16),
        );
        chars.next();
    }
    n
}

fn plain(value: &Value) -> String {
    match value {
        Value::Missing | Value::Nil => "<nil>".into(),
        other => format_value(other),
    }
}

fn bad(verb: char, value: &Value) -> String {
    match value {
        Value::Missing | Value::Nil => format!("%!{verb}(<nil>)"),
        other => format!("%!{verb}({}={})", other.type_name(), plain(other)),
    }
}

fn sign(spec: &Spec, negative: bool, digits: String) -> String {
    if negative {
        format!("-{digits}")
    } else if spec.plus {
        format!("+{digits}")
    } else if spec.space {
        format!(" {digits}")
    } else {
        digits
    }
}

fn format_one(verb: char, spec: &Spec, value: &Value) -> String {
    // int64 formats as int does; only %T and mismatches name its type.
    if let Value::Int64(i) = value {
        if verb == 'T' {
            return value.type_name();
        }
        let text = format_one(verb, spec, &Value::Int(*i));
        return if text.starts_with("%!") {
            bad(verb, value)
        } else {
            text
        };
    }
    if let Value::List(list) = value
        && verb != 'T'
        && !(verb == 'q' || verb == 'x' || verb == 'X')
    {
        let parts: Vec<String> = list.iter().map(|v| format_one(verb, spec, v)).collect();
        return format!("[{}]", parts.join(" "));
    }
    match (verb, value) {
        ('T', v) => v.type_name(),
        ('v', Value::Float(f)) if spec.precision.is_some() => format_g(*f, spec),
        ('v', Value::Int(i)) if spec.plus => sign(spec, *i < 0, i.unsigned_abs().to_string()),
        ('v', v) => plain(v),
        ('s', Value::Str(s)) => match spec.precision {
            Some(p) => s.chars().take(p).collect(),
            None => s.to_string(),
        },
        // Go applies %s to each map value; ours prints the map as %v does.
        ('s', v @ Value::Map(_)) => plain(v),
        ('t', Value::Bool(b)) => b.to_string(),
        ('d', Value::Int(i)) => sign(spec, *i < 0, i.unsigned_abs().to_string()),
        ('o', Value::Int(i)) => sign(
            spec,
            *i < 0,
            format!(
                "{}{:o}",
                if spec.sharp { "0" } else { "" },
                i.unsigned_abs()
            ),
        ),
        ('b', Value::Int(i)) => sign(spec, *i < 0, format!("{:b}", i.unsigned_abs())),
        ('x', Value::Int(i)) => sign(
            spec,
            *i < 0,
            format!(
                "{}{:x}",
                if spec.sharp { "0x" } else { "" },
                i.unsigned_abs()
            ),
        ),
        ('X', Value::Int(i)) => sign(
            spec,
            *i < 0,
            format!(
                "{}{:X}",
                if spec.sharp { "0X" } else { "" },
                i.unsigned_abs()
            ),
        ),
        ('x', Value::Str(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
        ('X', Value::Str(s)) => s.bytes().map(|b| format!("{b:02X}")).collect(),
        ('c', Value::Int(i)) => u32::try_from(*i)
            .ok()
            .and_then(char::from_u32)
            .unwrap_or('\u{FFFD}')
            .to_string(),
        ('q', Value::Str(s)) => {
            if spec.sharp && !s.contains('`') {
                format!("`{s}`")
            } else {
                go_quote(s, '"')
            }
        }
        ('q', Value::Int(i)) => {
            let c = u32::try_from(*i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            go_quote(&c.to_string(), '\'')
        }
        ('f' | 'F', Value::Float(f)) => sign(
            spec,
            f.is_sign_negative() && *f != 0.0,
            format!("{:.*}", spec.precision.unwrap_or(6), f.abs()),
        ),
        ('f' | 'F', Value::Int(i)) => bad(verb, &Value::Int(*i)),
        ('e', Value::Float(f)) => sign(
            spec,
            *f < 0.0,
            exp_form(f.abs(), spec.precision.unwrap_or(6)),
        ),
        ('g', Value::Float(f)) => format_g(*f, spec),
        (verb, v) => bad(verb, v),
    }
}

/// `%e` with a fixed precision, Go style exponent (`e+06`).
fn exp_form(f: f64, precision: usize) -> String {
    let s = format!("{f:.precision$e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    format!(
        "{mantissa}e{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.abs()
    )
}

fn format_g(f: f64, spec: &Spec) -> String {
    match spec.precision {
        None => {
            let s = format_float_v(f.abs());
            sign(spec, f < 0.0, s)
        }
        Some(p) => {
            let p = p.max(1);
            if f == 0.0 {
                return "0".into();
            }
            let exp = f.abs().log10().floor() as i32;
            let s = if exp < -4 || exp >= p as i32 {
                let e = exp_form(f.abs(), p - 1);
                let (m, rest) = e.split_once('e').unwrap_or((&e, ""));
                let m = if m.contains('.') {
                    m.trim_end_matches('0').trim_end_matches('.')
                } else {
                    m
                };
                format!("{m}e{rest}")
            } else {
                let decimals = (p as i32 - 1 - exp).max(0) as usize;
                let s = format!("{:.decimals$}", f.abs());
                if s.contains('.') {
                    s.trim_end_matches('0').trim_end_matches('.').to_string()
                } else {
                    s
                }
            };
            sign(spec, f < 0.0, s)
        }
    }
}

fn pad(spec: &Spec, text: String, numeric: bool) -> String {
    let Some(width) = spec.width else {
        return text;
    };
    let len = text.chars().count();
    if len >= width {
        return text;
    }
    let fill = width - len;
    if spec.minus {
        return text + &" ".repeat(fill);
    }
    if spec.zero && numeric {
        let (sign, digits) = match text.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (c.to_string(), text[1..].to_string()),
            _ => (String::new(), text),
        };
        return sign + &"0".repeat(fill) + &digits;
    }
    " ".repeat(fill) + &text
}

/// `strconv.Quote` (or `QuoteRune` with `'`): Go escapes, printable Unicode kept.
pub fn go_quote(s: &str, quote: char) -> String {
    let mut out = String::new();
    out.push(quote);
    for c in s.chars() {
        match c {
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() || c == '\u{FEFF}' => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}
