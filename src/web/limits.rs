//! Rate limits on the public pages, per client IP: one quota for form posts,
//! a separate one for page loads. The client IP comes from `X-Forwarded-For`
//! or `Forwarded` only when the peer is a trusted proxy.
//!
//! Built on `governor` directly (the limiter under tower-governor) so that a
//! limit hit gets a friendly page in the person's language with `Retry-After`.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::i18n::Lang;
use crate::config::LimitsConfig;
use crate::AppState;

/// An IP address or a CIDR range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    addr: IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn parse(s: &str) -> Option<IpRange> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpRange { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| -> (u128, u8) {
            match ip {
                IpAddr::V4(v4) => (u32::from(v4) as u128, 32),
                IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                    Some(v4) => (u32::from(v4) as u128, 32),
                    None => (u128::from(v6), 128),
                },
            }
        };
        let ((a, la), (b, lb)) = (bits(self.addr), bits(ip));
        if la != lb {
            return false;
        }
        let shift = la - self.prefix;
        shift >= la || (a >> shift) == (b >> shift)
    }
}

/// The address of the person behind a request: the peer, or — when the peer
/// is a trusted proxy — the nearest untrusted hop it reports.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpRange]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|r| r.contains(ip));
    if !is_trusted(peer.ip()) {
        return peer.ip();
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for v in headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
    {
        for part in v.split([',', ';']) {
            if let Some(f) = part
                .trim()
                .strip_prefix("for=")
                .or_else(|| part.trim().strip_prefix("For="))
            {
                let f = f.trim_matches('"').trim_start_matches('[');
                let f = f.split(']').next().unwrap_or(f);
                if let Ok(ip) = f
                    .parse::<IpAddr>()
                    .or_else(|_| f.parse::<SocketAddr>().map(|s| s.ip()))
                {
                    hops.push(ip);
                }
            }
        }
    }
    if hops.is_empty() {
        for v in headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            hops.extend(v.split(',').filter_map(|s| s.trim().parse::<IpAddr>().ok()));
        }
    }
    // Right to left: the first address no trusted proxy vouches for.
    hops.into_iter()
        .rev()
        .find(|ip| !is_trusted(*ip))
        .unwrap_or(peer.ip())
}

pub struct RateLimits {
    posts: DefaultKeyedRateLimiter<IpAddr>,
    gets: DefaultKeyedRateLimiter<IpAddr>,
    pub trusted: Vec<IpRange>,
    /// How long a refused request waits for its 429.
    delay: Duration,
    /// Refusals waiting at once; past this they are answered at once.
    delaying: Arc<tokio::sync::Semaphore>,
}

/// Refused requests held back at once (each is a parked task and a socket).
const MAX_DELAYED: usize = 1024;

fn quota(per_minute: u32, burst: u32) -> Quota {
    let per_minute = NonZeroU32::new(per_minute.max(1)).expect("at least 1");
    Quota::per_minute(per_minute).allow_burst(NonZeroU32::new(burst.max(1)).expect("at least 1"))
}

impl RateLimits {
    pub fn new(limits: &LimitsConfig, trusted: &[String]) -> RateLimits {
        RateLimits {
            posts: RateLimiter::keyed(quota(limits.posts_per_minute, limits.posts_burst)),
            gets: RateLimiter::keyed(quota(limits.gets_per_minute, limits.gets_burst)),
            trusted: trusted.iter().filter_map(|t| IpRange::parse(t)).collect(),
            delay: Duration::from_millis(limits.limited_delay_ms),
            delaying: Arc::new(tokio::sync::Semaphore::new(MAX_DELAYED)),
        }
    }

    /// How long to wait, if this request is over its quota.
    fn check(&self, post: bool, ip: IpAddr) -> Option<Duration> {
        let limiter = if post { &self.posts } else { &self.gets };
        limiter
            .check_key(&ip)
            .err()
            .map(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets idle keys, so a flood of addresses does not grow memory.
    pub fn shrink(&self) {
        self.posts.retain_recent();
        self.gets.retain_recent();
        self.posts.shrink_to_fit();
        self.gets.shrink_to_fit();
    }
}

/// Which quota a request counts against, if any: the public form and status
/// pages; not static files, health checks or the admin area.
fn public(method: &Method, path: &str) -> Option<bool> {
    let public = path == "/"
        || ["/q/", "/Q/", "/t/", "/T/"]
            .iter()
            .any(|p| path.starts_with(p));
    match (public, method) {
        (false, _) => None,
        (true, &Method::POST) => Some(true),
        (true, _) => Some(false),
    }
}

pub async fn rate_limit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let Some(post) = public(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    let ip = client_ip(peer, req.headers(), &state.limits.trusted);
    match state.limits.check(post, ip) {
        None => next.run(req).await,
        Some(wait) => {
            // A script that loops on its connection waits too, instead of
            // taking the CPU from everyone else; a person hardly notices.
            let limits = &state.limits;
            if let (false, Ok(_permit)) = (limits.delay.is_zero(), limits.delaying.try_acquire()) {
                tokio::time::sleep(limits.delay).await;
            }
            too_many(Lang::negotiate(None, req.headers()), wait, post)
        }
    }
}

/// The friendly 429: what happened, how long to wait, and that nothing typed is lost.
pub fn too_many(lang: Lang, wait: Duration, post: bool) -> Response {
    let t = lang.texts();
    let secs = wait.as_secs().max(1);
    let text = if post {
        t.too_many_post
    } else {
        t.too_many_get
    };
    let mut resp = super::message(
        StatusCode::TOO_MANY_REQUESTS,
        lang,
        t.too_many_title,
        &text.replace("{secs}", &secs.to_string()),
    );
    resp.headers_mut().insert(header::RETRY_AFTER, secs.into());
    resp
}

/// Shared by every handler.
pub type SharedLimits = Arc<RateLimits>;

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn ranges_match() {
        let r = IpRange::parse("10.0.0.0/8").unwrap();
        assert!(r.contains("10.1.2.3".parse().unwrap()));
        assert!(!r.contains("11.0.0.1".parse().unwrap()));
        assert!(IpRange::parse("127.0.0.1")
            .unwrap()
            .contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(IpRange::parse("fd00::/8")
            .unwrap()
            .contains("fd12::1".parse().unwrap()));
        assert!(IpRange::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(IpRange::parse("10.0.0.0/33").is_none() && IpRange::parse("nonsense").is_none());
    }

    #[test]
    fn forwarded_headers_are_believed_only_from_trusted_proxies() {
        let trusted = [
            IpRange::parse("127.0.0.1").unwrap(),
            IpRange::parse("10.0.0.0/8").unwrap(),
        ];
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 198.51.100.7, 10.0.0.5"),
        );
        let proxy: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let stranger: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        assert_eq!(
            client_ip(proxy, &h, &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(stranger, &h, &trusted),
            stranger.ip(),
            "a spoofed header from anyone else"
        );
        let mut f = HeaderMap::new();
        f.insert(
            "forwarded",
            HeaderValue::from_static("for=\"[2001:db8::1]:4711\";proto=https, for=10.0.0.2"),
        );
        assert_eq!(
            client_ip(proxy, &f, &trusted),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy.ip());
    }

    #[test]
    fn quotas_refuse_after_the_burst_and_say_how_long() {
        let mut limits = crate::config::Config::default().limits;
        limits.posts_per_minute = 6;
        limits.posts_burst = 2;
        let l = RateLimits::new(&limits, &[]);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(l.check(true, ip).is_none());
        assert!(l.check(true, ip).is_none());
        let wait = l.check(true, ip).expect("third post in a burst of 2");
        assert!(wait <= Duration::from_secs(10) && wait > Duration::ZERO);
        assert!(
            l.check(true, "192.0.2.2".parse().unwrap()).is_none(),
            "another IP is unaffected"
        );
        assert!(
            l.check(false, ip).is_none(),
            "page loads have their own quota"
        );
    }
}
