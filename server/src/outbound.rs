//! Where the server may connect: the outbound allow-list.
//!
//! By default an account's `base_url` must be `https` on the default port,
//! without user info, query or fragment, and its host must match one of its
//! provider's public host patterns ([`provider_host_patterns`]: `api.close.com`,
//! `{instance}.my.salesforce.com`, where `{var}` stands for exactly one DNS
//! label). The operator adds hosts with `serve --allow-host HOST[:PORT]`
//! (an IP address or a name; without a port, any port), which also permits
//! plain `http` to them.
//!
//! The check runs when an account is created or changed, when it is used,
//! and again when a connection is made: [`SafeResolver`] refuses names that
//! resolve to loopback, private, link-local or other non-public addresses
//! unless the name is operator-allowed, so DNS cannot rebind an allowed
//! name into the private network. (An IP-address host is never resolved; it
//! passes only when the operator allowed it.)

use crm_runtime::reexports::reqwest;
use crm_runtime::reexports::reqwest::Url;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use unified_crm::Provider;
use url::Host;

/// The public API hosts of each provider, from its spec's `servers`
/// (`specs/providers/*.yaml`). `{var}` in a pattern matches exactly one DNS
/// label.
pub fn provider_host_patterns(provider: Provider) -> &'static [&'static str] {
    // From the provider spec's `servers` (generated).
    provider.host_patterns()
}

/// Whether `host` (lower-case, as a URL has it) matches `pattern`: the same
/// number of labels, each literal label equal (ASCII case-insensitive),
/// each `{var}` label a valid DNS label.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let patterns: Vec<&str> = pattern.split('.').collect();
    let labels: Vec<&str> = host.split('.').collect();
    patterns.len() == labels.len()
        && patterns.iter().zip(&labels).all(|(pattern, label)| {
            if pattern.starts_with('{') && pattern.ends_with('}') && pattern.len() > 2 {
                is_dns_label(label)
            } else {
                pattern.eq_ignore_ascii_case(label)
            }
        })
}

/// Letters, digits and inner hyphens, 1 to 63 characters.
fn is_dns_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// A host the operator allows (`--allow-host`): a name or an IP address,
/// with an optional port (without one, every port).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedHost {
    host: Host<String>,
    port: Option<u16>,
}

impl FromStr for AllowedHost {
    type Err = String;

    /// `HOST`, `HOST:PORT`, `[V6]`, `[V6]:PORT` or a bare IPv6 address.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad = |why: &str| format!("`{text}` is not HOST[:PORT]: {why}");
        if text.is_empty() {
            return Err(bad("empty"));
        }
        if text.contains(['/', '@', '?', '#']) || text.contains(char::is_whitespace) {
            return Err(bad("give a host and an optional port, not a URL"));
        }
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (inside, after) = rest.split_once(']').ok_or_else(|| bad("unclosed `[`"))?;
            let port = match after {
                "" => None,
                _ => Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| bad("junk after `]`"))?,
                ),
            };
            (format!("[{inside}]"), port)
        } else if text.matches(':').count() > 1 {
            (format!("[{text}]"), None)
        } else {
            match text.split_once(':') {
                Some((host, port)) => (host.to_owned(), Some(port)),
                None => (text.to_owned(), None),
            }
        };
        let port = port
            .map(|port| {
                port.parse::<u16>()
                    .map_err(|_| bad("the port is not a number"))
            })
            .transpose()?;
        let host = Host::parse(&host).map_err(|error| bad(&error.to_string()))?;
        Ok(AllowedHost { host, port })
    }
}

impl std::fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.host),
            None => write!(f, "{}", self.host),
        }
    }
}

/// The outbound rules of one server.
#[derive(Clone, Debug, Default)]
pub struct OutboundPolicy {
    allowed: Vec<AllowedHost>,
}

impl OutboundPolicy {
    pub fn new(allowed: Vec<AllowedHost>) -> Self {
        OutboundPolicy { allowed }
    }

    pub fn allowed_hosts(&self) -> &[AllowedHost] {
        &self.allowed
    }

    fn operator_allows(&self, host: &Host<&str>, port: Option<u16>) -> bool {
        self.allowed.iter().any(|allowed| {
            let same_host = match (&allowed.host, host) {
                (Host::Domain(a), Host::Domain(b)) => a.eq_ignore_ascii_case(b),
                (Host::Ipv4(a), Host::Ipv4(b)) => a == b,
                (Host::Ipv6(a), Host::Ipv6(b)) => a == b,
                _ => false,
            };
            same_host && allowed.port.is_none_or(|allowed| Some(allowed) == port)
        })
    }

    /// Whether a name (as the resolver sees it) is operator-allowed, on
    /// any port: then it may resolve to a private address.
    fn operator_allows_name(&self, name: &str) -> bool {
        self.allowed.iter().any(|allowed| match &allowed.host {
            Host::Domain(domain) => domain.eq_ignore_ascii_case(name),
            Host::Ipv4(_) | Host::Ipv6(_) => false,
        })
    }

    /// Checks an account's `base_url` for `provider`; answers it normalised
    /// (lower-case host, no default port, no trailing `/`), or why it is
    /// refused.
    pub fn check_base_url(&self, provider: Provider, text: &str) -> Result<String, String> {
        let url = Url::parse(text.trim()).map_err(|error| format!("is not a URL: {error}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must be an https URL".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry user info; put credentials in `credentials`".into());
        }
        if url.query().is_some() {
            return Err("must not have a query string (`?`)".into());
        }
        if url.fragment().is_some() {
            return Err("must not have a fragment (`#`)".into());
        }
        let Some(host) = url.host() else {
            return Err("must name a host".into());
        };
        let port = url.port_or_known_default();
        if !self.operator_allows(&host, port) {
            let patterns = provider_host_patterns(provider);
            let matches = match host {
                Host::Domain(name) => patterns.iter().any(|pattern| host_matches(pattern, name)),
                Host::Ipv4(_) | Host::Ipv6(_) => false,
            };
            if !matches {
                return Err(format!(
                    "host `{}` is not one of {provider}'s API hosts ({}) nor allowed by this server (`serve --allow-host`)",
                    url.host_str().unwrap_or_default(),
                    patterns.join(", ")
                ));
            }
            if url.scheme() != "https" {
                return Err(format!(
                    "must use https to reach {provider} (plain http only for hosts allowed with `serve --allow-host`)"
                ));
            }
            if url.port().is_some() {
                return Err(format!(
                    "must use the default https port to reach {provider}"
                ));
            }
        }
        Ok(url.as_str().trim_end_matches('/').to_owned())
    }

    /// The DNS resolver that enforces this policy at connect time.
    pub fn resolver(self: &Arc<Self>) -> SafeResolver {
        SafeResolver {
            policy: self.clone(),
        }
    }

    /// The HTTP client for provider calls: the runtime's timeouts and
    /// same-origin redirect policy, this policy's resolver, and no proxy
    /// from the environment (a proxy would resolve names where the checks
    /// cannot see).
    pub fn http_client(self: &Arc<Self>) -> Result<reqwest::Client, String> {
        crm_runtime::http_client_builder(
            crm_runtime::DEFAULT_CONNECT_TIMEOUT,
            crm_runtime::DEFAULT_REQUEST_TIMEOUT,
        )
        .dns_resolver(Arc::new(self.resolver()))
        .no_proxy()
        .build()
        .map_err(|error| format!("cannot build the HTTP client: {error}"))
    }
}

/// Whether an address is on the public internet: not loopback, private,
/// link-local, shared (CGNAT), unspecified, multicast, broadcast,
/// documentation, benchmarking or reserved; IPv4-mapped, IPv4-compatible,
/// NAT64, 6to4 and Teredo IPv6 addresses are judged by the IPv4 address
/// they carry.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0                                   // "this network"
        || a == 10                             // private
        || a == 127                            // loopback
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254)              // link-local (cloud metadata)
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0)      // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)      // documentation
        || (a == 192 && b == 88 && c == 99)    // 6to4 relay anycast
        || (a == 192 && b == 168)              // private
        || (a == 198 && (b == 18 || b == 19))  // benchmarking
        || (a == 198 && b == 51 && c == 100)   // documentation
        || (a == 203 && b == 0 && c == 113)    // documentation
        || a >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    let embedded_v4 = |high: u16, low: u16| {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if ip.is_unspecified() || ip.is_loopback() {
        return false;
    }
    match segments {
        // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d).
        [0, 0, 0, 0, 0, 0xffff, high, low] | [0, 0, 0, 0, 0, 0, high, low] => {
            is_public_v4(embedded_v4(high, low))
        }
        // NAT64 (64:ff9b::a.b.c.d).
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => is_public_v4(embedded_v4(high, low)),
        // 6to4 (2002:AABB:CCDD::).
        [0x2002, high, low, ..] => is_public_v4(embedded_v4(high, low)),
        // Teredo (2001:0::/32): the client address is obfuscated; refuse.
        [0x2001, 0, ..] => false,
        // Documentation (2001:db8::/32).
        [0x2001, 0xdb8, ..] => false,
        [first, ..] => {
            !((first & 0xfe00) == 0xfc00     // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (first & 0xff00) == 0xff00 // multicast
                || first == 0x0100 && segments[1..4] == [0, 0, 0]) // discard-only
        }
    }
}

/// A DNS resolver that answers only public addresses, unless the name is
/// operator-allowed. A name with no public address is an error naming it.
#[derive(Clone, Debug)]
pub struct SafeResolver {
    policy: Arc<OutboundPolicy>,
}

/// A name that resolved only to addresses this server does not connect to.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{name}` resolves to {address}, which is not a public address; this server connects only to public addresses (or to hosts allowed with `serve --allow-host`)"
)]
pub struct NotPublic {
    pub name: String,
    pub address: IpAddr,
}

impl SafeResolver {
    /// The addresses of `name` this server may connect to.
    pub async fn lookup(&self, name: &str) -> Result<Vec<SocketAddr>, std::io::Error> {
        let addresses: Vec<SocketAddr> = tokio::net::lookup_host((name, 0)).await?.collect();
        if self.policy.operator_allows_name(name) {
            return Ok(addresses);
        }
        let public: Vec<SocketAddr> = addresses
            .iter()
            .copied()
            .filter(|address| is_public(address.ip()))
            .collect();
        match (public.is_empty(), addresses.first()) {
            (false, _) => Ok(public),
            (true, Some(first)) => Err(std::io::Error::other(NotPublic {
                name: name.to_owned(),
                address: first.ip(),
            })),
            (true, None) => Err(std::io::Error::other(format!("`{name}` has no address"))),
        }
    }
}

impl reqwest::dns::Resolve for SafeResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = self.clone();
        Box::pin(async move {
            let addresses = resolver.lookup(name.as_str()).await?;
            let addresses: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(hosts: &[&str]) -> OutboundPolicy {
        OutboundPolicy::new(hosts.iter().map(|host| host.parse().unwrap()).collect())
    }

    #[test]
    fn patterns_match_one_label_per_variable() {
        assert!(host_matches("api.close.com", "api.close.com"));
        assert!(host_matches("api.close.com", "API.Close.com"));
        assert!(!host_matches("api.close.com", "api.close.com.evil.com"));
        assert!(!host_matches("api.close.com", "xapi.close.com"));
        assert!(!host_matches("api.close.com", "api.close.com."));
        assert!(host_matches(
            "{instance}.my.salesforce.com",
            "acme-1.my.salesforce.com"
        ));
        assert!(!host_matches(
            "{instance}.my.salesforce.com",
            "a.b.my.salesforce.com"
        ));
        assert!(!host_matches(
            "{instance}.my.salesforce.com",
            ".my.salesforce.com"
        ));
        assert!(!host_matches(
            "{instance}.my.salesforce.com",
            "-a.my.salesforce.com"
        ));
        assert!(!host_matches(
            "{instance}.my.salesforce.com",
            "a_b.my.salesforce.com"
        ));
        assert!(host_matches(
            "api.{pod}.insightly.com",
            "api.na1.insightly.com"
        ));
        assert!(!host_matches(
            "api.{pod}.insightly.com",
            "api.insightly.com"
        ));
        assert!(host_matches(
            "{domain}.myfreshworks.com",
            "acme.myfreshworks.com"
        ));
        assert!(!host_matches(
            "{domain}.myfreshworks.com",
            "myfreshworks.com"
        ));
    }

    #[test]
    fn provider_hosts_need_https_on_the_default_port() {
        let policy = policy(&[]);
        assert_eq!(
            policy.check_base_url(Provider::Close, "HTTPS://API.close.com/api/v1/"),
            Ok("https://api.close.com/api/v1".to_owned())
        );
        assert_eq!(
            policy.check_base_url(Provider::Close, "https://api.close.com:443/api/v1"),
            Ok("https://api.close.com/api/v1".to_owned())
        );
        for (url, why) in [
            ("http://api.close.com/api/v1", "https"),
            ("https://api.close.com:8443/api/v1", "default https port"),
            (
                "https://api.copper.com/developer_api/v1",
                "not one of close's",
            ),
            ("https://api.close.com.evil.com/", "not one of close's"),
            ("https://127.0.0.1/", "not one of close's"),
            (
                "https://169.254.169.254/latest/meta-data",
                "not one of close's",
            ),
            ("https://[::1]/", "not one of close's"),
            ("https://10.0.0.1/", "not one of close's"),
            ("https://api.close.com/api/v1?x=1", "query"),
            ("https://api.close.com/api/v1?", "query"),
            ("https://api.close.com/api/v1#frag", "fragment"),
            ("https://user:pw@api.close.com/", "user info"),
            ("https://user@api.close.com/", "user info"),
            ("ftp://api.close.com/", "https"),
            ("file:///etc/passwd", "https"),
            ("not a url", "not a URL"),
        ] {
            let error = policy.check_base_url(Provider::Close, url).unwrap_err();
            assert!(error.contains(why), "{url}: {error}");
        }
    }

    #[test]
    fn operator_hosts_allow_http_and_any_port_unless_one_is_given() {
        let policy = policy(&["127.0.0.1", "localhost:8080", "[::1]:9000", "crm.internal"]);
        for url in [
            "http://127.0.0.1:1234",
            "https://127.0.0.1",
            "http://localhost:8080/api",
            "http://[::1]:9000",
            "http://crm.internal:3000/v1",
        ] {
            assert!(
                policy.check_base_url(Provider::Copper, url).is_ok(),
                "{url}"
            );
        }
        for url in [
            "http://localhost:8081",
            "http://localhost",
            "http://[::1]:9001",
            "http://127.0.0.2",
            "http://127.0.0.1:1234/?q",
        ] {
            assert!(
                policy.check_base_url(Provider::Copper, url).is_err(),
                "{url}"
            );
        }
    }

    #[test]
    fn allowed_hosts_parse() {
        for (text, shown) in [
            ("127.0.0.1", "127.0.0.1"),
            ("127.0.0.1:80", "127.0.0.1:80"),
            ("Example.COM", "example.com"),
            ("example.com:8443", "example.com:8443"),
            ("::1", "[::1]"),
            ("[::1]:8080", "[::1]:8080"),
        ] {
            assert_eq!(text.parse::<AllowedHost>().unwrap().to_string(), shown);
        }
        for text in ["", "http://x", "x:y", "x:99999", "[::1", "a b", "u@h"] {
            assert!(text.parse::<AllowedHost>().is_err(), "{text}");
        }
    }

    #[test]
    fn only_public_addresses_are_public() {
        for ip in [
            "0.0.0.0",
            "10.1.2.3",
            "100.64.0.1",
            "127.0.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:0a00:0001::1",
            "2001:0::1",
            "2001:db8::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "172.32.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn the_provider_client_does_not_connect_to_a_name_that_resolves_privately() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        let url = format!("http://localhost:{port}/");
        let refused = Arc::new(policy(&["127.0.0.1"])).http_client().unwrap();
        let error = refused.get(&url).send().await.unwrap_err();
        let mut chain = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(inner) = source {
            chain.push_str(&format!(": {inner}"));
            source = inner.source();
        }
        assert!(chain.contains("not a public address"), "{chain}");
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0);

        let allowed = Arc::new(policy(&["localhost"])).http_client().unwrap();
        let response = allowed.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 204);
    }

    #[tokio::test]
    async fn the_resolver_refuses_private_answers_unless_the_name_is_allowed() {
        let refused = Arc::new(policy(&["127.0.0.1"])).resolver();
        let error = refused.lookup("localhost").await.unwrap_err();
        assert!(
            error.to_string().contains("not a public address"),
            "{error}"
        );
        let allowed = Arc::new(policy(&["localhost"])).resolver();
        let addresses = allowed.lookup("localhost").await.unwrap();
        assert!(addresses.iter().all(|address| address.ip().is_loopback()));
    }
}
