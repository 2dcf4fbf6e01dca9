//! HEALTHCHECK: `NONE`, or `CMD` with its timing flags, whose values are Go durations.

use std::time::Duration;

use super::error::ParseError;
use super::flags::Flags;
use super::instructions::*;
use super::parse::{arguments, command_line, invalid};
use super::syntax::Node;

pub(crate) fn parse_healthcheck(node: &Node, flags: &Flags) -> Result<Healthcheck, ParseError> {
    let text = &node.args.text;
    let kind_end = text.find(char::is_whitespace).unwrap_or(text.len());
    if kind_end == 0 {
        return Err(arguments(
            Keyword::Healthcheck,
            "NONE or CMD and a command",
            node.span,
        ));
    }
    let kind = text[..kind_end].to_ascii_uppercase();
    let rest = &text[kind_end..];
    let command_start = kind_end + (rest.len() - rest.trim_start().len());
    let command_args = node.args.sub(command_start, text.len());
    match kind.as_str() {
        "NONE" if command_args.text.is_empty() => Ok(Healthcheck::None),
        "NONE" => Err(invalid(
            Keyword::Healthcheck,
            "HEALTHCHECK NONE takes no arguments",
            command_args.whole_span(),
        )),
        "CMD" => {
            let command = command_line(Keyword::Healthcheck, &command_args)?;
            if matches!(&command, CommandLine::Exec(w) if w.is_empty())
                || command == CommandLine::Shell(String::new())
            {
                return Err(arguments(
                    Keyword::Healthcheck,
                    "a command after CMD",
                    node.span,
                ));
            }
            let retries = match flags.value("retries") {
                None => None,
                Some(word) => {
                    Some(
                        word.text
                            .parse::<u32>()
                            .map_err(|_| ParseError::FlagValue {
                                instruction: Keyword::Healthcheck.name(),
                                flag: "retries".to_string(),
                                message: format!(
                                    "expected a number of retries (0 or more), got {:?}",
                                    word.text
                                ),
                                span: word.span,
                            })?,
                    )
                }
            };
            Ok(Healthcheck::Cmd(HealthcheckCmd {
                command,
                interval: duration_flag(flags, "interval")?,
                timeout: duration_flag(flags, "timeout")?,
                start_period: duration_flag(flags, "start-period")?,
                start_interval: duration_flag(flags, "start-interval")?,
                retries,
            }))
        }
        _ => Err(invalid(
            Keyword::Healthcheck,
            format!(
                "unknown type {:?} (expected NONE or CMD)",
                &text[..kind_end]
            ),
            node.args.span(0, kind_end),
        )),
    }
}

fn duration_flag(flags: &Flags, name: &str) -> Result<Option<Duration>, ParseError> {
    let Some(word) = flags.value(name) else {
        return Ok(None);
    };
    let error = |message: String| ParseError::FlagValue {
        instruction: Keyword::Healthcheck.name(),
        flag: name.to_string(),
        message,
        span: word.span,
    };
    if word.text.is_empty() {
        return Ok(None);
    }
    let nanos = go_duration_nanos(&word.text).ok_or_else(|| {
        error(format!(
            "expected a duration such as 30s or 1m30s, got {:?}",
            word.text
        ))
    })?;
    match nanos {
        0 => Ok(None),
        n if n < 1_000_000 => Err(error("can't be less than 1ms".to_string())),
        n => Ok(Some(Duration::from_nanos(
            u64::try_from(n).unwrap_or(u64::MAX),
        ))),
    }
}

/// Go's `time.ParseDuration`: `[-+]` then number-unit pairs (`1h2m3.5s`); units ns, us,
/// µs, ms, s, m, h. Returns nanoseconds.
fn go_duration_nanos(text: &str) -> Option<i128> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_len];
        if number.is_empty() || number == "." {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * scale;
    }
    let nanos = total.round() as i128;
    Some(if negative { -nanos } else { nanos })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration_nanos("30s"), Some(30_000_000_000));
        assert_eq!(go_duration_nanos("1m30s"), Some(90_000_000_000));
        assert_eq!(go_duration_nanos("1.5h"), Some(5_400_000_000_000));
        assert_eq!(go_duration_nanos("10ms"), Some(10_000_000));
        assert_eq!(go_duration_nanos("0"), Some(0));
        assert_eq!(go_duration_nanos("-1s"), Some(-1_000_000_000));
        assert_eq!(go_duration_nanos("10"), None);
        assert_eq!(go_duration_nanos("s"), None);
        assert_eq!(go_duration_nanos("1x"), None);
    }
}
