//! The instructions that only change the image config (and the environment later
//! instructions see): ENV, ARG, LABEL, MAINTAINER, EXPOSE, VOLUME, USER, STOPSIGNAL,
//! SHELL, CMD, ENTRYPOINT, HEALTHCHECK, ONBUILD. History lines are worded as
//! BuildKit's, including the Go `%q`/`%v` formatting it uses.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::dockerfile::{self, Command, CommandLine, shell::Lexer};

use super::image::{Empty, Healthcheck};
use super::run::with_shell;
use super::{At, LowerError, Lowering, StageState};

/// ARGs that never reach the environment (BuildKit's `nonEnvArgs`).
const NON_ENV_ARGS: [&str; 2] = ["BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"];

impl Lowering<'_> {
    pub(super) fn lower_metadata(
        &mut self,
        st: &mut StageState,
        command: &Command,
        at: &At<'_>,
    ) -> Result<(), LowerError> {
        match command {
            Command::Env(pairs) => {
                // Every word is expanded with the environment before the instruction.
                let expanded = self.expand_pairs(st, pairs)?;
                let mut history = String::from("ENV");
                for (key, value) in &expanded {
                    history.push_str(&format!(" {key}={value}"));
                    st.set_env(key, value);
                    st.image.set_env(key, value);
                }
                st.image.commit(history, false, false);
            }
            Command::Label(pairs) => {
                let expanded = self.expand_pairs(st, pairs)?;
                let mut history = String::from("LABEL");
                for (key, value) in expanded {
                    history.push_str(&format!(" {key}={value}"));
                    st.image.config.labels.insert(key, value);
                }
                st.image.commit(history, false, false);
            }
            Command::Arg(args) => {
                let mut shown = Vec::new();
                for arg in args {
                    let name = self.expand(st, &arg.name.text, arg.name.span)?;
                    let default = match &arg.default {
                        Some(word) => Some(self.expand(st, &word.text, word.span)?),
                        None => None,
                    };
                    shown.push(match &default {
                        Some(value) => format!("{name}={value}"),
                        None => name.clone(),
                    });
                    let image_arg = st.werf_dockerfile.as_ref().and_then(|i| i.args.get(&name));
                    let value = image_arg
                        .or(self.options.build_args.get(&name))
                        .cloned()
                        .or(default)
                        .or_else(|| {
                            self.meta_args
                                .iter()
                                .rev()
                                .find(|(n, _)| *n == name)
                                .and_then(|(_, v)| v.clone())
                        });
                    if let Some(value) = &value
                        && !NON_ENV_ARGS.contains(&name.as_str())
                    {
                        st.set_env(&name, value);
                    }
                    st.args.push((name, value));
                }
                st.image
                    .commit(format!("ARG {}", shown.join(" ")), false, false);
            }
            Command::Maintainer(word) => {
                st.image.author = word.text.clone();
                st.image
                    .commit(format!("MAINTAINER {}", word.text), false, false);
            }
            Command::Expose(words) => {
                let lexer = Lexer::new(self.graph.escape);
                let mut ports = BTreeMap::new();
                for word in words {
                    let expanded = lexer
                        .expand_words(&word.text, |name| st.env_value(name))
                        .map_err(|err| LowerError::Expand {
                            message: err.to_string(),
                            span: word.span,
                        })?;
                    for spec in expanded {
                        for port in parse_port_spec(&spec).ok_or_else(|| LowerError::Invalid {
                            instruction: "EXPOSE",
                            message: format!("invalid port {spec:?}"),
                            span: word.span,
                        })? {
                            ports.insert(port, Empty {});
                        }
                    }
                }
                let listed: Vec<String> = ports.keys().map(|p| format!("{p}:{{}}")).collect();
                st.image.config.exposed_ports.extend(ports);
                st.image
                    .commit(format!("EXPOSE map[{}]", listed.join(" ")), false, false);
            }
            Command::Volume(words) => {
                let mut volumes = Vec::new();
                for word in words {
                    let volume = self.expand(st, &word.text, word.span)?;
                    if volume.is_empty() {
                        return Err(LowerError::Invalid {
                            instruction: "VOLUME",
                            message: "VOLUME specified can not be an empty string".into(),
                            span: word.span,
                        });
                    }
                    st.image.config.volumes.insert(volume.clone(), Empty {});
                    volumes.push(volume);
                }
                st.image
                    .commit(format!("VOLUME [{}]", volumes.join(" ")), false, false);
            }
            Command::User(word) => {
                let user = self.expand(st, &word.text, word.span)?;
                st.user = user.clone();
                st.image.config.user = user.clone();
                st.image.commit(format!("USER {user}"), false, false);
            }
            Command::StopSignal(word) => {
                let signal = self.expand(st, &word.text, word.span)?;
                if !is_signal(&signal) {
                    return Err(LowerError::Invalid {
                        instruction: "STOPSIGNAL",
                        message: format!("invalid signal: {signal}"),
                        span: word.span,
                    });
                }
                st.image.config.stop_signal = signal.clone();
                st.image
                    .commit(format!("STOPSIGNAL {signal}"), false, false);
            }
            Command::Shell(shell) => {
                st.image.config.shell = shell.clone();
                st.image
                    .commit(format!("SHELL [{}]", shell.join(" ")), false, false);
            }
            Command::Cmd(line) => {
                let args = self.command_args(st, line);
                st.image.config.cmd = args.clone();
                // BuildKit v0.13 marks every CMD as escaped (a Windows notion it sets on
                // all platforms).
                st.image.config.args_escaped = true;
                st.cmd_set = true;
                st.image
                    .commit(format!("CMD {}", go_quote_list(&args)), false, false);
            }
            Command::Entrypoint(line) => {
                let args = self.command_args(st, line);
                st.image.config.entrypoint = args.clone();
                if !st.cmd_set {
                    st.image.config.cmd = Vec::new();
                }
                st.image
                    .commit(format!("ENTRYPOINT {}", go_quote_list(&args)), false, false);
            }
            Command::Healthcheck(check) => {
                let config = match check {
                    dockerfile::Healthcheck::None => Healthcheck {
                        test: vec!["NONE".into()],
                        ..Healthcheck::default()
                    },
                    dockerfile::Healthcheck::Cmd(cmd) => {
                        let test = match &cmd.command {
                            CommandLine::Exec(args) => std::iter::once("CMD".to_string())
                                .chain(args.iter().cloned())
                                .collect(),
                            CommandLine::Shell(line) => vec!["CMD-SHELL".to_string(), line.clone()],
                        };
                        let nanos = |d: Option<Duration>| d.map_or(0, |d| d.as_nanos() as i64);
                        Healthcheck {
                            test,
                            interval: nanos(cmd.interval),
                            timeout: nanos(cmd.timeout),
                            start_period: nanos(cmd.start_period),
                            start_interval: nanos(cmd.start_interval),
                            retries: i64::from(cmd.retries.unwrap_or(0)),
                        }
                    }
                };
                let history = format!(
                    "HEALTHCHECK &{{{} {} {} {} {} {}}}",
                    go_quote_list(&config.test),
                    go_quote(&go_duration(config.interval)),
                    go_quote(&go_duration(config.timeout)),
                    go_quote(&go_duration(config.start_period)),
                    go_quote(&go_duration(config.start_interval)),
                    go_quote_rune(config.retries),
                );
                st.image.config.healthcheck = Some(config);
                st.image.commit(history, false, false);
            }
            Command::Onbuild(onbuild) => {
                st.image.config.on_build.push(onbuild.expression.clone());
            }
            Command::From(_)
            | Command::Run(_)
            | Command::Copy(_)
            | Command::Add(_)
            | Command::Workdir(_) => {
                unreachable!(
                    "{:?} is lowered elsewhere ({})",
                    command.keyword(),
                    at.original
                )
            }
        }
        Ok(())
    }

    fn expand_pairs(
        &self,
        st: &StageState,
        pairs: &[dockerfile::KeyValue],
    ) -> Result<Vec<(String, String)>, LowerError> {
        pairs
            .iter()
            .map(|pair| {
                Ok((
                    self.expand(st, &pair.key.text, pair.key.span)?,
                    self.expand(st, &pair.value.text, pair.value.span)?,
                ))
            })
            .collect()
    }

    /// CMD and ENTRYPOINT: exec form as is, shell form through the stage's SHELL.
    fn command_args(&self, st: &StageState, line: &CommandLine) -> Vec<String> {
        match line {
            CommandLine::Exec(args) => args.clone(),
            CommandLine::Shell(text) => with_shell(&st.image.config.shell, vec![text.clone()]),
        }
    }
}

/// docker's `signal.ParseSignal` on Linux: a number, or a signal name with or without
/// `SIG`, `RTMIN+n`/`RTMAX-n` included.
fn is_signal(text: &str) -> bool {
    const NAMES: [&str; 33] = [
        "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT",
        "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM",
        "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU",
    ];
    if let Ok(number) = text.parse::<u32>() {
        return number > 0 && number <= 64;
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    let realtime = |prefix: &str, sign: char| {
        name.strip_prefix(prefix).is_some_and(|rest| {
            rest.is_empty()
                || rest
                    .strip_prefix(sign)
                    .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n <= 15))
        })
    };
    NAMES.contains(&name) || name == "XFSZ" || realtime("RTMIN", '+') || realtime("RTMAX", '-')
}

/// docker's `nat.ParsePortSpecs` for one spec: `80`, `80/udp`, `8000-8002`,
/// `127.0.0.1:8080:80/tcp` (the container side counts). `None` when malformed.
fn parse_port_spec(spec: &str) -> Option<Vec<String>> {
    let (ports, protocol) = match spec.rsplit_once('/') {
        Some((ports, protocol)) => (ports, protocol.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    let container = ports.rsplit(':').next()?;
    let (start, end) = match container.split_once('-') {
        Some((start, end)) => (start.parse::<u16>().ok()?, end.parse::<u16>().ok()?),
        None => {
            let port = container.parse::<u16>().ok()?;
            (port, port)
        }
    };
    if end < start || protocol.is_empty() {
        return None;
    }
    Some((start..=end).map(|p| format!("{p}/{protocol}")).collect())
}

/// Go's `strconv.Quote`.
pub(super) fn go_quote(text: &str) -> String {
    let mut out = String::from("\"");
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
pub(super) fn go_quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("[{}]", quoted.join(" "))
}

/// Go's `%q` of an integer: a quoted character literal (`'\x00'`, `'\x03'`).
fn go_quote_rune(value: i64) -> String {
    match u32::try_from(value).ok().and_then(char::from_u32) {
        Some('\'') => "'\\''".into(),
        Some('\\') => "'\\\\'".into(),
        Some('"') => "'\"'".into(),
        Some(c) => {
            let inner = go_quote(&c.to_string());
            format!("'{}'", &inner[1..inner.len() - 1])
        }
        None => format!("%!q(int={value})"),
    }
}

/// Go's `time.Duration.String()` for non-negative durations.
pub(super) fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let fraction = |value: i64, unit: i64| -> String {
        let whole = value / unit;
        let rest = value % unit;
        if rest == 0 {
            whole.to_string()
        } else {
            let digits = unit.to_string().len() - 1;
            let text = format!("{rest:0digits$}");
            format!("{whole}.{}", text.trim_end_matches('0'))
        }
    };
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", fraction(nanos, 1_000));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", fraction(nanos, 1_000_000));
    }
    let hours = nanos / 3_600_000_000_000;
    let minutes = (nanos / 60_000_000_000) % 60;
    let seconds = fraction(nanos % 60_000_000_000, 1_000_000_000);
    if hours > 0 {
        format!("{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_formatting_matches_fmt() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(30_000_000_000), "30s");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(500_000_000), "500ms");
        assert_eq!(go_quote_rune(0), "'\\x00'");
        assert_eq!(go_quote_rune(3), "'\\x03'");
        assert_eq!(go_quote_rune(65), "'A'");
        assert_eq!(
            go_quote_list(&["a b".into(), "c\"d".into()]),
            "[\"a b\" \"c\\\"d\"]"
        );
    }

    #[test]
    fn signals_parse_like_docker() {
        for ok in ["SIGTERM", "term", "9", "SIGRTMIN+3", "RTMAX-1", "SIGXFSZ"] {
            assert!(is_signal(ok), "{ok}");
        }
        for bad in ["", "SIGFOO", "0", "65", "RTMIN+16"] {
            assert!(!is_signal(bad), "{bad}");
        }
    }

    #[test]
    fn port_specs_expand_like_nat() {
        assert_eq!(parse_port_spec("80"), Some(vec!["80/tcp".into()]));
        assert_eq!(parse_port_spec("53/UDP"), Some(vec!["53/udp".into()]));
        assert_eq!(
            parse_port_spec("8000-8002"),
            Some(vec![
                "8000/tcp".into(),
                "8001/tcp".into(),
                "8002/tcp".into()
            ])
        );
        assert_eq!(
            parse_port_spec("127.0.0.1:8080:80"),
            Some(vec!["80/tcp".into()])
        );
        assert_eq!(parse_port_spec("x"), None);
    }
}
