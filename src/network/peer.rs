//! Peer addresses and the `nodes.json` file that lists them.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use url::Url;

/// The base URL of a peer node: http or https, a host, a port, nothing else.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerUrl(Url);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerUrlError {
    #[error("{input:?} is not a URL: {reason}")]
    Unparsable { input: String, reason: String },
    #[error("{0:?} must use http or https")]
    Scheme(String),
    #[error("{0:?} has no host")]
    NoHost(String),
    #[error("{0:?} must be a node's base URL, without a path, query or credentials")]
    NotBase(String),
    #[error("{0:?} must name its port, as in http://host:5000")]
    NoPort(String),
}

impl PeerUrl {
    pub fn parse(input: &str) -> Result<PeerUrl, PeerUrlError> {
        let url = Url::parse(input.trim()).map_err(|e| PeerUrlError::Unparsable {
            input: input.to_owned(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(PeerUrlError::Scheme(input.to_owned()));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(PeerUrlError::NoHost(input.to_owned()));
        }
        if url.path() != "/"
            || url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(PeerUrlError::NotBase(input.to_owned()));
        }
        // Nodes listen on arbitrary ports; a URL without one almost always means a forgotten
        // port rather than a node on 80 or 443, and what we announce must round-trip anyway.
        if !has_explicit_port(input.trim()) {
            return Err(PeerUrlError::NoPort(input.to_owned()));
        }
        Ok(PeerUrl(url))
    }

    /// The peer's own address for a node bound to `addr`.
    pub fn for_socket(addr: SocketAddr) -> PeerUrl {
        let host = match addr.ip() {
            IpAddr::V6(ip) => format!("[{ip}]"),
            IpAddr::V4(ip) => ip.to_string(),
        };
        PeerUrl::parse(&format!("http://{host}:{}", addr.port()))
            .expect("an IP address and port form a valid base URL")
    }

    /// The URL of `path` (which starts with `/`) on this peer.
    pub fn join(&self, path: &str) -> String {
        format!("{}{}", self.0.as_str().trim_end_matches('/'), path)
    }

    pub fn port(&self) -> Option<u16> {
        self.0.port_or_known_default()
    }

    /// The host as written: an IP address (IPv6 without brackets) or a domain name.
    pub fn host(&self) -> Option<url::Host<&str>> {
        self.0.host()
    }

    /// The host and port this URL reaches, the same however it is spelled: `localhost`, any
    /// loopback address and IPv4-mapped IPv6 addresses are read as the address they stand for,
    /// names in lower case. Bans hold for the endpoint, not the spelling.
    pub fn endpoint(&self) -> (String, Option<u16>) {
        let host = match self.0.host() {
            Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
                "loopback".to_owned()
            }
            Some(url::Host::Domain(d)) => d.to_ascii_lowercase(),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => "loopback".to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => match ip.to_ipv4_mapped() {
                Some(v4) if v4.is_loopback() => "loopback".to_owned(),
                Some(v4) => v4.to_string(),
                None if ip.is_loopback() => "loopback".to_owned(),
                None => ip.to_string(),
            },
            None => String::new(),
        };
        (host, self.port())
    }

    /// Whether this URL names a host on this machine or its link: loopback, link-local or
    /// unspecified addresses, and `localhost`. A node reachable beyond loopback does not take
    /// such URLs from others (they would make it probe its own host).
    pub fn is_local_host(&self) -> bool {
        match self.0.host() {
            Some(url::Host::Domain(d)) => {
                d.eq_ignore_ascii_case("localhost")
                    || d.to_ascii_lowercase().ends_with(".localhost")
            }
            Some(url::Host::Ipv4(ip)) => {
                ip.is_loopback() || ip.is_link_local() || ip.is_unspecified()
            }
            Some(url::Host::Ipv6(ip)) => {
                ip.is_loopback()
                    || ip.is_unspecified()
                    || (ip.segments()[0] & 0xffc0) == 0xfe80
                    || ip
                        .to_ipv4_mapped()
                        .is_some_and(|v4| v4.is_loopback() || v4.is_link_local())
            }
            None => false,
        }
    }

    /// Whether this URL points at the node listening on `local` (same port, and a host that is
    /// that address, loopback, or `localhost` when the node listens on loopback or everywhere).
    pub fn is_local_node(&self, local: SocketAddr) -> bool {
        if self.port() != Some(local.port()) {
            return false;
        }
        let listens_locally = local.ip().is_loopback() || local.ip().is_unspecified();
        match self.0.host() {
            Some(url::Host::Domain(d)) => listens_locally && d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => {
                IpAddr::V4(ip) == local.ip() || (listens_locally && ip.is_loopback())
            }
            Some(url::Host::Ipv6(ip)) => {
                IpAddr::V6(ip) == local.ip() || (listens_locally && ip.is_loopback())
            }
            None => false,
        }
    }
}

/// Whether the authority of an (already parsed) URL spells a port. `url` forgets a port equal to
/// the scheme's default, so this looks at the input itself.
fn has_explicit_port(input: &str) -> bool {
    let rest = input.split_once("://").map_or(input, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // An IPv6 host is bracketed and full of colons; the port follows the closing bracket.
    let after_host = authority
        .rsplit_once(']')
        .map_or(authority, |(_, after)| after);
    after_host
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
}

/// Always `scheme://host:port`, the port spelled even when it is the scheme's default, so the
/// text parses back into the same `PeerUrl` on any node.
impl fmt::Display for PeerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = self.0.host_str().unwrap_or_default();
        match self.0.port_or_known_default() {
            Some(port) => write!(f, "{}://{host}:{port}", self.0.scheme()),
            None => write!(f, "{}://{host}", self.0.scheme()),
        }
    }
}

impl fmt::Debug for PeerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerUrl({self})")
    }
}

impl serde::Serialize for PeerUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PeerUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PeerUrl::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PeersFileError {
    #[error("cannot read peers file {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("peers file {path} is not {{\"nodes\": [\"http://host:port\", ...]}}: {error}")]
    Format {
        path: String,
        error: serde_json::Error,
    },
    #[error("peers file {path}: {error}")]
    Entry { path: String, error: PeerUrlError },
}

#[derive(serde::Deserialize)]
struct NodesFile {
    nodes: Vec<String>,
}

/// Reads `{"nodes": [...]}`. A missing file means no peers; duplicates are dropped.
pub fn load_peers_file(path: &Path) -> Result<Vec<PeerUrl>, PeersFileError> {
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(PeersFileError::Read { path: shown, error }),
    };
    let file: NodesFile = serde_json::from_str(&text).map_err(|error| PeersFileError::Format {
        path: shown.clone(),
        error,
    })?;
    let mut peers: Vec<PeerUrl> = Vec::with_capacity(file.nodes.len());
    for entry in &file.nodes {
        let peer = PeerUrl::parse(entry).map_err(|error| PeersFileError::Entry {
            path: shown.clone(),
            error,
        })?;
        if !peers.contains(&peer) {
            peers.push(peer);
        }
    }
    Ok(peers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_urls_are_base_urls() {
        let p = PeerUrl::parse("http://127.0.0.1:5001/").unwrap();
        assert_eq!(p.to_string(), "http://127.0.0.1:5001");
        assert_eq!(p.join("/chain"), "http://127.0.0.1:5001/chain");
        assert!(matches!(
            PeerUrl::parse("ftp://x:1"),
            Err(PeerUrlError::Scheme(_))
        ));
        assert!(matches!(
            PeerUrl::parse("http://x:1/a"),
            Err(PeerUrlError::NotBase(_))
        ));
        assert!(matches!(
            PeerUrl::parse("nonsense"),
            Err(PeerUrlError::Unparsable { .. })
        ));
    }

    #[test]
    fn peer_urls_need_an_explicit_port() {
        for missing in [
            "http://x",
            "http://x/",
            "https://example.com",
            "http://[::1]/",
        ] {
            assert!(
                matches!(PeerUrl::parse(missing), Err(PeerUrlError::NoPort(_))),
                "{missing}"
            );
        }
        // A default port written out is kept, and printed, so the text round-trips.
        for (input, shown) in [
            ("http://x:80", "http://x:80"),
            ("https://example.com:443/", "https://example.com:443"),
            ("http://[::1]:5000", "http://[::1]:5000"),
        ] {
            let url = PeerUrl::parse(input).unwrap();
            assert_eq!(url.to_string(), shown);
            assert_eq!(PeerUrl::parse(&url.to_string()).unwrap(), url);
        }
        let json = serde_json::to_string(&PeerUrl::parse("http://x:1").unwrap()).unwrap();
        assert_eq!(json, r#""http://x:1""#);
        assert!(serde_json::from_str::<PeerUrl>(r#""http://x""#).is_err());
    }

    #[test]
    fn an_endpoint_is_the_same_however_it_is_spelled() {
        let key = |s: &str| PeerUrl::parse(s).unwrap().endpoint();
        assert_eq!(key("http://127.0.0.1:5000"), key("http://localhost:5000"));
        assert_eq!(key("http://127.0.0.1:5000"), key("http://[::1]:5000"));
        assert_eq!(
            key("http://127.0.0.1:5000"),
            key("http://[::ffff:127.0.0.1]:5000")
        );
        assert_eq!(
            key("http://Node.Example:5000"),
            key("http://node.example:5000")
        );
        assert_eq!(key("http://10.0.0.1:1"), key("http://[::ffff:10.0.0.1]:1"));
        assert_ne!(key("http://127.0.0.1:5000"), key("http://127.0.0.1:5001"));
        let local = |s: &str| PeerUrl::parse(s).unwrap().is_local_host();
        assert!(local("http://127.0.0.1:1") && local("http://localhost:1"));
        assert!(local("http://169.254.1.1:1") && local("http://[fe80::1]:1"));
        assert!(local("http://0.0.0.0:1") && local("http://[::1]:1"));
        assert!(!local("http://10.0.0.1:1") && !local("http://node.example:1"));
    }

    #[test]
    fn a_node_recognises_its_own_address() {
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        for own in [
            "http://127.0.0.1:5000",
            "http://localhost:5000",
            "http://127.0.0.2:5000",
        ] {
            assert!(PeerUrl::parse(own).unwrap().is_local_node(local), "{own}");
        }
        for other in [
            "http://127.0.0.1:5001",
            "http://10.0.0.1:5000",
            "http://example.com:5000",
        ] {
            assert!(
                !PeerUrl::parse(other).unwrap().is_local_node(local),
                "{other}"
            );
        }
    }

    #[test]
    fn peers_file_missing_is_empty_and_bad_entries_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nodes.json");
        assert!(load_peers_file(&path).unwrap().is_empty());
        std::fs::write(
            &path,
            r#"{"nodes": ["http://127.0.0.1:5001", "http://127.0.0.1:5001/"]}"#,
        )
        .unwrap();
        assert_eq!(load_peers_file(&path).unwrap().len(), 1);
        std::fs::write(&path, r#"{"nodes": ["mailto:x"]}"#).unwrap();
        let err = load_peers_file(&path).unwrap_err().to_string();
        assert!(err.contains("mailto:x"), "{err}");
        std::fs::write(&path, r#"["http://127.0.0.1:5001"]"#).unwrap();
        assert!(matches!(
            load_peers_file(&path),
            Err(PeersFileError::Format { .. })
        ));
    }
}
