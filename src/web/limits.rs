//! Per-client rate limits, each a tower-governor `GovernorLayer` on its route
//! group: public form posts, public page loads, and password checks (admin
//! sign-in, first setup, password change). One key extractor of ours,
//! [`ClientIp`], gives every layer the same client address: the peer, or —
//! when the peer is in `server.trusted_proxies` — the address it forwards.
//!
//! A layer's refusal is only a marker; [`refusal_page`], outside every layer,
//! holds the answer back (`limits.limited_delay_ms`, a bounded number at
//! once) and renders the friendly 429 in the person's language with
//! `Retry-After`. The per-sticker cap and the task system's call budget are
//! not per-client limits and live elsewhere.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::middleware::NoOpMiddleware;
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};

use crate::config::LimitsConfig;
pub use crate::domain::net::IpRange;
use crate::i18n::Lang;
use crate::AppState;

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

/// The client address every per-client limit keys on.
#[derive(Debug, Clone)]
pub struct ClientIp {
    trusted: Arc<Vec<IpRange>>,
}

impl KeyExtractor for ClientIp {
    type Key = IpAddr;

    fn extract<T>(&self, req: &axum::http::Request<T>) -> Result<IpAddr, GovernorError> {
        // Without connection info (a test calling the router directly) all
        // requests share one key rather than being refused.
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
        Ok(client_ip(peer, req.headers(), &self.trusted))
    }
}

/// Which limit refused a request; the page says what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Public form posts (new requests, comments, feedback).
    Post,
    /// Public page loads.
    Get,
    /// Password checks.
    SignIn,
}

/// Left on a refusal by a limit layer for [`refusal_page`].
#[derive(Debug, Clone, Copy)]
struct Refused {
    limit: Limit,
    wait_secs: u64,
}

type Config = Arc<GovernorConfig<ClientIp, NoOpMiddleware>>;

pub struct RateLimits {
    pub trusted: Arc<Vec<IpRange>>,
    posts: Config,
    gets: Config,
    sign_in: Config,
    /// How long a refused request waits for its 429.
    delay: Duration,
    /// Refusals waiting at once; past this they are answered at once.
    delaying: Arc<tokio::sync::Semaphore>,
}

/// Refused requests held back at once (each is a parked task and a socket).
const MAX_DELAYED: usize = 1024;

fn config(trusted: &Arc<Vec<IpRange>>, per_minute: u32, burst: u32, methods: &[Method]) -> Config {
    let key = ClientIp {
        trusted: trusted.clone(),
    };
    quota(key, per_minute, burst, Some(methods))
}

/// A tower-governor quota: `per_minute` with bursts of `burst`, per `key`,
/// on `methods` (all when `None`).
pub fn quota<K: KeyExtractor>(
    key: K,
    per_minute: u32,
    burst: u32,
    methods: Option<&[Method]>,
) -> Arc<GovernorConfig<K, NoOpMiddleware>> {
    let mut builder = GovernorConfigBuilder::default().key_extractor(key);
    builder
        .period((Duration::from_secs(60) / per_minute.max(1)).max(Duration::from_nanos(1)))
        .burst_size(burst.max(1));
    if let Some(methods) = methods {
        builder.methods(methods.to_vec());
    }
    Arc::new(builder.finish().expect("a period and a burst above zero"))
}

impl RateLimits {
    pub fn new(limits: &LimitsConfig, trusted: &[String]) -> RateLimits {
        let trusted = Arc::new(trusted.iter().filter_map(|t| IpRange::parse(t)).collect());
        RateLimits {
            posts: config(
                &trusted,
                limits.posts_per_minute,
                limits.posts_burst,
                &[Method::POST],
            ),
            gets: config(
                &trusted,
                limits.gets_per_minute,
                limits.gets_burst,
                &[Method::GET, Method::HEAD],
            ),
            sign_in: config(
                &trusted,
                limits.sign_in_per_minute,
                limits.sign_in_burst,
                &[Method::POST],
            ),
            trusted,
            delay: Duration::from_millis(limits.limited_delay_ms),
            delaying: Arc::new(tokio::sync::Semaphore::new(MAX_DELAYED)),
        }
    }

    /// The tower-governor layer of one limit; every layer of the same limit
    /// shares one quota per client.
    pub fn layer(&self, limit: Limit) -> GovernorLayer<ClientIp, NoOpMiddleware, Body> {
        let config = match limit {
            Limit::Post => &self.posts,
            Limit::Get => &self.gets,
            Limit::SignIn => &self.sign_in,
        };
        GovernorLayer::new(config.clone()).error_handler(move |e| match e {
            GovernorError::TooManyRequests { wait_time, .. } => {
                let mut r = StatusCode::TOO_MANY_REQUESTS.into_response();
                r.extensions_mut().insert(Refused {
                    limit,
                    wait_secs: wait_time,
                });
                r
            }
            other => {
                tracing::error!(error = %other, "rate limit could not read the request");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        })
    }

    /// Forgets idle keys, so a flood of addresses does not grow memory.
    pub fn shrink(&self) {
        for c in [&self.posts, &self.gets, &self.sign_in] {
            c.limiter().retain_recent();
            c.limiter().shrink_to_fit();
        }
    }
}

/// Outside every limit layer: a refusal is held back `limits.limited_delay_ms`
/// (a looping script slows down instead of taking the CPU; a person hardly
/// notices) and answered with the page in the person's language.
pub async fn refusal_page(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let asked = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("lang=")))
        .map(str::to_owned);
    let lang = Lang::negotiate(asked.as_deref(), req.headers());
    let resp = next.run(req).await;
    let Some(refused) = resp.extensions().get::<Refused>().copied() else {
        return resp;
    };
    state.metrics.refused(match refused.limit {
        Limit::Post => "posts",
        Limit::Get => "page_loads",
        Limit::SignIn => "sign_in",
    });
    let limits = &state.limits;
    if let (false, Ok(_permit)) = (limits.delay.is_zero(), limits.delaying.try_acquire()) {
        tokio::time::sleep(limits.delay).await;
    }
    let wait = Duration::from_secs(refused.wait_secs);
    match refused.limit {
        Limit::Post => too_many(lang, wait, true),
        Limit::Get => too_many(lang, wait, false),
        Limit::SignIn => {
            let mut r = crate::web::staff_message(
                StatusCode::TOO_MANY_REQUESTS,
                "Слишком много попыток",
                &format!(
                    "С этого адреса только что было много попыток входа. Подождите {} с и попробуйте снова.",
                    refused.wait_secs.max(1)
                ),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, refused.wait_secs.max(1).into());
            r
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
    let mut resp = super::message_then(
        StatusCode::TOO_MANY_REQUESTS,
        lang,
        t.too_many_title,
        &text.replace("{secs}", &secs.to_string()),
        if post {
            super::Then::Nothing
        } else {
            super::Then::TryAgain
        },
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

    #[tokio::test]
    async fn quotas_refuse_after_the_burst_and_say_how_long() {
        use tower::ServiceExt;
        let mut limits = crate::config::Config::default().limits;
        limits.posts_per_minute = 6;
        limits.posts_burst = 2;
        let l = RateLimits::new(&limits, &[]);
        let app = axum::Router::new()
            .route(
                "/",
                axum::routing::get(|| async { "ok" }).post(|| async { "ok" }),
            )
            .layer(l.layer(Limit::Post));
        let call = |method: Method, ip: &str| {
            let mut req = Request::builder()
                .method(method)
                .uri("/")
                .body(Body::empty())
                .unwrap();
            let peer: SocketAddr = format!("{ip}:1000").parse().unwrap();
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(req)
        };
        assert_eq!(call(Method::POST, "192.0.2.1").await.unwrap().status(), 200);
        assert_eq!(call(Method::POST, "192.0.2.1").await.unwrap().status(), 200);
        let refused = call(Method::POST, "192.0.2.1").await.unwrap();
        assert_eq!(refused.status(), 429, "third post in a burst of 2");
        let marker = refused.extensions().get::<Refused>().copied().unwrap();
        assert!(marker.wait_secs <= 10 && marker.limit == Limit::Post);
        assert_eq!(
            call(Method::POST, "192.0.2.2").await.unwrap().status(),
            200,
            "another IP is unaffected"
        );
        assert_eq!(
            call(Method::GET, "192.0.2.1").await.unwrap().status(),
            200,
            "page loads are not posts"
        );
    }
}
