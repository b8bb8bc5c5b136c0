//! Where a local browser may be sent: the rule behind `[screenshots] allow_private`.
//!
//! A screenshot URL comes from a post, and a post may come from anyone who can open a
//! pull request. A Chromium on the build machine can reach what the Internet cannot: the
//! machine itself, the local network, a cloud's metadata service (169.254.169.254). So
//! unless the site allows it, a target is refused when its host is `localhost` or when
//! any address it resolves to is not a public one. SnapSharp loads pages from its own
//! network, where these addresses mean nothing, so the rule is for Chromium only.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};

/// The start of the error recorded for a refused target; a refusal is decided again on
/// the next build (the setting may have changed), never remembered as a failure.
pub const REFUSED: &str = "refused: ";

/// What the user can do about a refusal.
pub const HINT: &str = "set allow_private = true under [screenshots] in ogforge.toml to allow it";

/// Why `url` may not be loaded, if it may not: "127.0.0.1 is a loopback address".
/// A host that does not resolve passes: the browser will fail to load it on its own.
pub fn refusal(url: &str) -> Option<String> {
    if url
        .get(..5)
        .is_some_and(|s| s.eq_ignore_ascii_case("file:"))
    {
        return Some("file: URLs are this machine's own files".into());
    }
    let host = host_of(url)?;
    if host == "localhost" || host.ends_with(".localhost") {
        return Some(format!("{host} is this machine's own name"));
    }
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(&host);
    // Drop an IPv6 zone (`fe80::1%eth0`): the address decides.
    let literal = literal.split('%').next().unwrap_or(literal);
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return kind_of(ip).map(|kind| format!("{ip} is {kind} address"));
    }
    let addresses = (host.as_str(), 80).to_socket_addrs().ok()?;
    addresses
        .map(|a| a.ip())
        .find_map(|ip| kind_of(ip).map(|kind| format!("{host} resolves to {ip}, {kind} address")))
}

/// The host of an http(s) URL as a browser reads it: lower case, user and port removed,
/// percent escapes decoded, no trailing dot.
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    // Browsers end the authority at a backslash too.
    let authority = rest.split(['/', '\\', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port.split_inclusive(']').next()?
    } else {
        host_port.split(':').next()?
    };
    let host = percent_decode(host)?.to_ascii_lowercase();
    let host = host.trim_end_matches('.').to_string();
    (!host.is_empty()).then_some(host)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// What kind of non-public address `ip` is, with its article ("a loopback"), or `None`
/// for a public one.
pub fn kind_of(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => kind_of_v4(v4),
        IpAddr::V6(v6) => kind_of_v6(v6),
    }
}

fn kind_of_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, _, _) => "an unspecified",
        (127, _, _) => "a loopback",
        (10, _, _) | (192, 168, _) => "a private",
        (172, 16..=31, _) => "a private",
        (169, 254, _) => "a link-local",
        (100, 64..=127, _) => "a shared (carrier-grade NAT)",
        (192, 0, 0) | (198, 18..=19, _) | (240..=255, _, _) => "a reserved",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation",
        (224..=239, _, _) => "a multicast",
        _ => return None,
    })
}

fn kind_of_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("an unspecified");
    }
    if ip.is_loopback() {
        return Some("a loopback");
    }
    let s = ip.segments();
    // Addresses that carry an IPv4 address, and reach it: mapped (::ffff:a.b.c.d),
    // compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:AABB:CCDD::).
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    let v4 = match s {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0, 0, 0, 0, 0, 0, hi, lo] => Some(embedded(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(embedded(hi, lo)),
        [0x2002, hi, lo, ..] => Some(embedded(hi, lo)),
        _ => None,
    };
    if let Some(v4) = v4 {
        return kind_of_v4(v4);
    }
    Some(match s[0] {
        0xfc00..=0xfdff | 0xfec0..=0xfeff => "a private",
        0xfe80..=0xfebf => "a link-local",
        0xff00..=0xffff => "a multicast",
        0x2001 if s[1] == 0x0db8 => "a documentation",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_classified() {
        let cases: &[(&str, Option<&str>)] = &[
            ("127.0.0.1", Some("a loopback")),
            ("127.255.1.2", Some("a loopback")),
            ("0.0.0.0", Some("an unspecified")),
            ("10.1.2.3", Some("a private")),
            ("172.16.0.1", Some("a private")),
            ("172.31.255.255", Some("a private")),
            ("172.32.0.1", None),
            ("192.168.1.1", Some("a private")),
            ("169.254.169.254", Some("a link-local")),
            ("100.64.0.1", Some("a shared (carrier-grade NAT)")),
            ("100.128.0.1", None),
            ("224.0.0.1", Some("a multicast")),
            ("255.255.255.255", Some("a reserved")),
            ("192.0.2.7", Some("a documentation")),
            ("8.8.8.8", None),
            ("93.184.216.34", None),
            ("::", Some("an unspecified")),
            ("::1", Some("a loopback")),
            ("::ffff:127.0.0.1", Some("a loopback")),
            ("::ffff:169.254.169.254", Some("a link-local")),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b::10.0.0.1", Some("a private")),
            ("2002:c0a8:0101::1", Some("a private")),
            ("fc00::1", Some("a private")),
            ("fd12:3456::1", Some("a private")),
            ("fe80::1", Some("a link-local")),
            ("ff02::1", Some("a multicast")),
            ("2001:db8::1", Some("a documentation")),
            ("2606:4700:4700::1111", None),
        ];
        for &(ip, kind) in cases {
            assert_eq!(kind_of(ip.parse().unwrap()), kind, "{ip}");
        }
    }

    #[test]
    fn hosts_are_read_as_a_browser_reads_them() {
        let cases: &[(&str, Option<&str>)] = &[
            ("http://127.0.0.1:8080/", Some("127.0.0.1")),
            ("https://user:pw@Example.COM./x?y#z", Some("example.com")),
            ("http://[::1]:80/", Some("[::1]")),
            ("http://127.0.0.1\\@example.com/", Some("127.0.0.1")),
            ("http://example.com\\@127.0.0.1/", Some("example.com")),
            ("http://127.0.0.%31/", Some("127.0.0.1")),
            ("http:///x", None),
        ];
        for &(url, host) in cases {
            assert_eq!(host_of(url).as_deref(), host, "{url}");
        }
    }

    #[test]
    fn local_targets_are_refused_with_the_reason() {
        let cases: &[(&str, &str)] = &[
            ("http://127.0.0.1:8080/", "127.0.0.1 is a loopback address"),
            (
                "http://localhost:3000/",
                "localhost is this machine's own name",
            ),
            ("http://LOCALHOST./", "localhost is this machine's own name"),
            (
                "http://app.localhost/",
                "app.localhost is this machine's own name",
            ),
            ("http://[::1]/", "::1 is a loopback address"),
            (
                "http://[::ffff:10.0.0.1]/",
                "::ffff:10.0.0.1 is a private address",
            ),
            (
                "http://169.254.169.254/latest/meta-data/",
                "169.254.169.254 is a link-local address",
            ),
            ("http://0.0.0.0/", "0.0.0.0 is an unspecified address"),
            (
                "http://2130706433/",
                "resolves to 127.0.0.1, a loopback address",
            ),
            ("http://127.1/", "resolves to 127.0.0.1, a loopback address"),
        ];
        for &(url, reason) in cases {
            let refusal = refusal(url).unwrap_or_else(|| panic!("{url} passed"));
            assert!(refusal.ends_with(reason), "{url}: {refusal}");
        }
        assert!(refusal("FILE:///etc/passwd").is_some());
        for url in ["https://93.184.216.34/", "https://[2606:4700:4700::1111]/"] {
            assert_eq!(refusal(url), None, "{url}");
        }
    }
}
