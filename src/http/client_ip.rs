//! Who the client is, for rate limits: the peer address, or, behind proxies you run,
//! the address the outermost of them saw. With `server.forwarded_hops = N`, the
//! last N entries of `X-Forwarded-For` were appended by your N proxies and the
//! client is the entry just before them; anything to its left was written by the
//! client and is ignored. An entry that is not an IP address (or a header shorter
//! than N entries) falls back to the peer address: junk never becomes a key.

use std::net::IpAddr;

use actix_web::http::header::{HeaderMap, HeaderName};
use actix_web::HttpRequest;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

pub fn client_ip(req: &HttpRequest, hops: u8) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    forwarded(req.headers(), hops).or(peer).map(canonical)
}

/// The address `hops` proxies from the right of `X-Forwarded-For`, if valid.
fn forwarded(headers: &HeaderMap, hops: u8) -> Option<IpAddr> {
    if hops == 0 {
        return None;
    }
    let entries: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let at = entries.len().checked_sub(usize::from(hops))?;
    parse(entries[at])
}

/// `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]:80`.
fn parse(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sock) = entry.parse::<std::net::SocketAddr>() {
        return Some(sock.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|e| e.strip_suffix(']'))
        .and_then(|e| e.parse().ok())
}

/// One key per client: IPv4-mapped IPv6 as IPv4, and an IPv6 address as its /64
/// (one subscriber gets a whole /64; counting each address apart would let one
/// client be 2^64 clients).
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(X_FORWARDED_FOR, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn only_the_entries_our_proxies_added_are_believed() {
        // The client wrote "6.6.6.6"; our one proxy appended the real peer it saw.
        let h = headers(&["6.6.6.6, 203.0.113.7"]);
        assert_eq!(forwarded(&h, 1), Some("203.0.113.7".parse().unwrap()));
        assert_eq!(forwarded(&h, 2), Some("6.6.6.6".parse().unwrap()));
        assert_eq!(forwarded(&h, 0), None, "no hops: the header is ignored");
        assert_eq!(forwarded(&h, 3), None, "fewer entries than proxies");
        let split = headers(&["6.6.6.6", "203.0.113.7"]);
        assert_eq!(forwarded(&split, 1), Some("203.0.113.7".parse().unwrap()));
        for junk in ["not-an-ip", "", "unknown", "1.2.3.4.5", "' or 1=1"] {
            assert_eq!(forwarded(&headers(&[junk]), 1), None, "{junk}");
        }
        assert_eq!(
            parse("[2001:db8::1]:443"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            parse("198.51.100.2:8080"),
            Some("198.51.100.2".parse().unwrap())
        );
    }

    #[test]
    fn an_ipv6_client_is_its_64_and_mapped_ipv4_is_ipv4() {
        let a = canonical("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = canonical("2001:db8:1:2:bbbb::9".parse().unwrap());
        assert_eq!(a, b);
        assert_eq!(a, "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        assert_eq!(
            canonical("::ffff:192.0.2.1".parse().unwrap()),
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
    }
}
