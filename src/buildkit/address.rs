//! Where the daemon is: buildkitd (`unix://`, `tcp://`) or Docker Engine's embedded
//! BuildKit (`docker://`, `DOCKER_HOST`).

use std::fmt;
use std::path::PathBuf;

use super::BuildkitError;

/// A socket to dial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    /// `host:port`
    Tcp(String),
}

/// A daemon conveyor can solve on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DaemonAddress {
    /// buildkitd, speaking gRPC on the socket itself.
    Buildkitd(Endpoint),
    /// Docker Engine: gRPC after an `Upgrade: h2c` on `POST /grpc`.
    DockerEngine(Endpoint),
}

pub const DEFAULT_DOCKER_SOCKET: &str = "/var/run/docker.sock";

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix://{}", path.display()),
            Endpoint::Tcp(host_port) => write!(f, "tcp://{host_port}"),
        }
    }
}

impl fmt::Display for DaemonAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DaemonAddress::Buildkitd(endpoint) => write!(f, "{endpoint}"),
            DaemonAddress::DockerEngine(endpoint) => write!(f, "docker://{endpoint}"),
        }
    }
}

impl Endpoint {
    /// `unix:///path` or `tcp://host:port`.
    pub fn parse(text: &str) -> Result<Endpoint, String> {
        if let Some(path) = text.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(
                    "unix:// needs a socket path, as in unix:///run/buildkit/buildkitd.sock".into(),
                );
            }
            return Ok(Endpoint::Unix(PathBuf::from(path)));
        }
        if let Some(host_port) = text.strip_prefix("tcp://") {
            let host_port = host_port.trim_end_matches('/');
            match host_port.rsplit_once(':') {
                Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                    return Ok(Endpoint::Tcp(host_port.to_string()));
                }
                _ => return Err("tcp:// needs host:port, as in tcp://127.0.0.1:1234".into()),
            }
        }
        Err("expected unix:///path or tcp://host:port".into())
    }
}

impl DaemonAddress {
    /// Parses `unix://PATH`, `tcp://HOST:PORT` (buildkitd) or `docker://` (Docker Engine
    /// at `DOCKER_HOST`, else the default socket), `docker://unix:///PATH`,
    /// `docker://tcp://HOST:PORT`, `docker:///PATH`.
    pub fn parse(text: &str, docker_host: Option<&str>) -> Result<DaemonAddress, BuildkitError> {
        let invalid = |reason: String| BuildkitError::InvalidAddress {
            address: text.to_string(),
            reason,
        };
        if let Some(rest) = text.strip_prefix("docker://") {
            let endpoint = if rest.is_empty() {
                match docker_host {
                    Some(host) if !host.is_empty() => Endpoint::parse(host)
                        .map_err(|reason| invalid(format!("DOCKER_HOST={host}: {reason}")))?,
                    _ => Endpoint::Unix(PathBuf::from(DEFAULT_DOCKER_SOCKET)),
                }
            } else if rest.starts_with('/') {
                Endpoint::Unix(PathBuf::from(rest))
            } else {
                Endpoint::parse(rest).map_err(invalid)?
            };
            return Ok(DaemonAddress::DockerEngine(endpoint));
        }
        if text.starts_with("unix://") || text.starts_with("tcp://") {
            return Endpoint::parse(text)
                .map(DaemonAddress::Buildkitd)
                .map_err(invalid);
        }
        Err(invalid(
            "expected unix://PATH or tcp://HOST:PORT (buildkitd), or docker:// (Docker Engine)"
                .into(),
        ))
    }

    /// The daemon to use: `explicit` (`--addr`), else `BUILDKIT_HOST`, else Docker
    /// Engine at `DOCKER_HOST`, else Docker Engine at the default socket.
    pub fn choose(
        explicit: Option<&str>,
        buildkit_host: Option<&str>,
        docker_host: Option<&str>,
    ) -> Result<DaemonAddress, BuildkitError> {
        match (explicit, buildkit_host) {
            (Some(addr), _) => DaemonAddress::parse(addr, docker_host),
            (None, Some(addr)) if !addr.is_empty() => DaemonAddress::parse(addr, docker_host),
            _ => DaemonAddress::parse("docker://", docker_host),
        }
    }

    /// `choose` with `BUILDKIT_HOST` and `DOCKER_HOST` read from the environment.
    pub fn from_env(explicit: Option<&str>) -> Result<DaemonAddress, BuildkitError> {
        let buildkit_host = std::env::var("BUILDKIT_HOST").ok();
        let docker_host = std::env::var("DOCKER_HOST").ok();
        DaemonAddress::choose(explicit, buildkit_host.as_deref(), docker_host.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(path: &str) -> Endpoint {
        Endpoint::Unix(PathBuf::from(path))
    }

    #[test]
    fn parses_each_form() {
        let parse = |text| DaemonAddress::parse(text, Some("unix:///d.sock")).unwrap();
        assert_eq!(
            parse("unix:///run/b.sock"),
            DaemonAddress::Buildkitd(unix("/run/b.sock"))
        );
        assert_eq!(
            parse("tcp://127.0.0.1:1234"),
            DaemonAddress::Buildkitd(Endpoint::Tcp("127.0.0.1:1234".into()))
        );
        assert_eq!(
            parse("docker://"),
            DaemonAddress::DockerEngine(unix("/d.sock"))
        );
        assert_eq!(
            parse("docker:///x/docker.sock"),
            DaemonAddress::DockerEngine(unix("/x/docker.sock"))
        );
        assert_eq!(
            parse("docker://unix:///y.sock"),
            DaemonAddress::DockerEngine(unix("/y.sock"))
        );
        assert_eq!(
            parse("docker://tcp://localhost:2375"),
            DaemonAddress::DockerEngine(Endpoint::Tcp("localhost:2375".into()))
        );
        assert_eq!(
            DaemonAddress::parse("docker://", None).unwrap(),
            DaemonAddress::DockerEngine(unix(DEFAULT_DOCKER_SOCKET))
        );
    }

    #[test]
    fn precedence_is_flag_then_buildkit_host_then_docker_host() {
        let choose = DaemonAddress::choose;
        assert_eq!(
            choose(Some("unix:///flag"), Some("unix:///bk"), Some("unix:///dk")).unwrap(),
            DaemonAddress::Buildkitd(unix("/flag"))
        );
        assert_eq!(
            choose(None, Some("unix:///bk"), Some("unix:///dk")).unwrap(),
            DaemonAddress::Buildkitd(unix("/bk"))
        );
        assert_eq!(
            choose(None, None, Some("unix:///dk")).unwrap(),
            DaemonAddress::DockerEngine(unix("/dk"))
        );
        assert_eq!(
            choose(None, Some(""), None).unwrap(),
            DaemonAddress::DockerEngine(unix(DEFAULT_DOCKER_SOCKET))
        );
    }

    #[test]
    fn wrong_addresses_say_what_was_expected() {
        let message = |text| DaemonAddress::parse(text, None).unwrap_err().to_string();
        assert_eq!(
            message("http://x"),
            "invalid daemon address \"http://x\": expected unix://PATH or tcp://HOST:PORT (buildkitd), or docker:// (Docker Engine)"
        );
        assert_eq!(
            message("tcp://nohost"),
            "invalid daemon address \"tcp://nohost\": tcp:// needs host:port, as in tcp://127.0.0.1:1234"
        );
        assert_eq!(
            message("unix://"),
            "invalid daemon address \"unix://\": unix:// needs a socket path, as in unix:///run/buildkit/buildkitd.sock"
        );
        assert_eq!(
            DaemonAddress::parse("docker://", Some("ssh://host"))
                .unwrap_err()
                .to_string(),
            "invalid daemon address \"docker://\": DOCKER_HOST=ssh://host: expected unix:///path or tcp://host:port"
        );
    }
}
