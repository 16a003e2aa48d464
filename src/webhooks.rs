//! Sending webhooks the Standard Webhooks way: a POST with `webhook-id`,
//! `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "{id}.{timestamp}.{body}">`, keyed by the bytes after `whsec_`.
//!
//! Receivers are outside addresses only: every address a name resolves to is
//! checked before it is connected to (so a name that resolves to a public
//! address when saved and to 127.0.0.1 when sent still does not get
//! through), IP literals are checked the same way, redirects are not
//! followed and no proxy is used. `webhooks.allow_private_targets` lifts the
//! address check.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::WebhooksConfig;

/// The signature header's value for one delivery.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_")?)
        .ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    let tag = mac.finalize().into_bytes();
    Some(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag)
    ))
}

/// Addresses a webhook must not reach unless private targets are allowed.
/// IPv4: loopback, private, shared (CGNAT), link-local (cloud metadata lives
/// at 169.254.169.254), unspecified, broadcast, multicast, documentation,
/// benchmarking (198.18.0.0/15), the 6to4 relay and the reserved ranges.
/// IPv6: only global unicast (2000::/3) gets through — so IPv4-compatible
/// (`::127.0.0.1`) and translated (`::ffff:0:…`) forms, NAT64 prefixes,
/// site-local `fec0::/10`, unique-local and link-local are all refused —
/// and of that, not the IETF protocol block `2001::/23` (Teredo, ORCHID,
/// benchmarking), documentation, nor 6to4 (`2002::/16`) around an internal
/// IPv4. An IPv4-mapped address is judged as its IPv4.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0)
                || (a == 192 && b == 88 && c == 99)
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let s = v6.segments();
            let global_unicast = (s[0] & 0xe000) == 0x2000;
            if !global_unicast {
                return true;
            }
            if s[0] == 0x2002 {
                // 6to4: the IPv4 address sits in the next 32 bits.
                let embedded = std::net::Ipv4Addr::new(
                    (s[1] >> 8) as u8,
                    s[1] as u8,
                    (s[2] >> 8) as u8,
                    s[2] as u8,
                );
                return is_internal(IpAddr::V4(embedded));
            }
            (s[0] == 0x2001 && (s[1] < 0x0200 || s[1] == 0x0db8))
                || (s[0] == 0x3fff && s[1] < 0x1000)
        }
    }
}

/// Why an endpoint URL is not taken, in words for the settings page.
pub fn check_url(url: &str, allow_private: bool) -> Result<reqwest::Url, &'static str> {
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|_| "Укажите адрес полностью, например https://example.ru/hooks/qrdesk.")?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err("Адрес должен начинаться с https:// или http://.");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "Уберите логин и пароль из адреса: подпись запроса уже подтверждает отправителя.",
        );
    }
    let Some(host) = parsed.host() else {
        return Err("В адресе нет сервера.");
    };
    let literal = match host {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    };
    if !allow_private && literal.is_some_and(is_internal) {
        return Err(
            "Этот адрес во внутренней сети: webhooks отправляются только на внешние адреса.",
        );
    }
    if url.len() > 2000 {
        return Err("Адрес слишком длинный: не больше 2000 символов.");
    }
    Ok(parsed)
}

/// Event names (comma- or space-separated) as events; an unknown one is named.
pub fn parse_events<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<crate::store::WebhookEvent>, String> {
    let mut events = Vec::new();
    for name in names
        .into_iter()
        .flat_map(|n| n.split([',', ' ']))
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let event = crate::store::WebhookEvent::parse(name)
            .ok_or_else(|| format!("unknown event {name:?}"))?;
        if !events.contains(&event) {
            events.push(event);
        }
    }
    if events.is_empty() {
        return Err("choose at least one event".into());
    }
    Ok(events)
}

/// Resolves names and keeps only the addresses a webhook may reach.
struct GuardedResolver;

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> =
                all.into_iter().filter(|a| !is_internal(a.ip())).collect();
            if allowed.is_empty() {
                return Err(format!("{host} resolves only to internal addresses").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// What one attempt came to.
#[derive(Debug)]
pub struct Answer {
    /// The receiver's HTTP status; None when there was no answer.
    pub status: Option<u16>,
    /// `Retry-After` of a 429 or 503, in seconds.
    pub retry_after: Option<Duration>,
    pub error: Option<String>,
    pub took: Duration,
}

#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

impl Sender {
    pub fn new(config: &WebhooksConfig) -> anyhow::Result<Sender> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(config.timeout_secs))
            .connect_timeout(Duration::from_secs(config.timeout_secs.min(10)))
            .user_agent(concat!("qrdesk-webhooks/", env!("CARGO_PKG_VERSION")));
        if !config.allow_private_targets {
            builder = builder.dns_resolver(Arc::new(GuardedResolver));
        }
        Ok(Sender {
            client: builder.build()?,
            allow_private: config.allow_private_targets,
        })
    }

    /// POSTs a signed delivery. `timestamp` is in Unix seconds.
    pub async fn send(
        &self,
        url: &str,
        secret: &str,
        id: &str,
        timestamp: i64,
        body: &str,
    ) -> Answer {
        let started = Instant::now();
        let refused = |error: String| Answer {
            status: None,
            retry_after: None,
            error: Some(error),
            took: started.elapsed(),
        };
        let url = match check_url(url, self.allow_private) {
            Ok(u) => u,
            Err(e) => return refused(e.to_owned()),
        };
        let Some(signature) = sign(secret, id, timestamp, body) else {
            return refused("the endpoint's secret is damaged; create the endpoint again".into());
        };
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_owned())
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = matches!(status, 429 | 503)
                    .then(|| {
                        response
                            .headers()
                            .get("retry-after")?
                            .to_str()
                            .ok()?
                            .trim()
                            .parse::<u64>()
                            .ok()
                    })
                    .flatten()
                    .map(|s| Duration::from_secs(s.min(24 * 3600)));
                Answer {
                    status: Some(status),
                    retry_after,
                    error: None,
                    took: started.elapsed(),
                }
            }
            Err(e) => {
                // The whole chain: "error sending request" alone says nothing.
                let mut text = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    text.push_str(": ");
                    text.push_str(&s.to_string());
                    source = s.source();
                }
                refused(text)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_the_standard_webhooks_reference() {
        // The example from the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, id, 1614265330, body).as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(sign("nope", id, 1, body), None);
    }

    #[test]
    fn internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            // The review's: IPv4-compatible, translated, 6to4 around
            // loopback, site-local, benchmarking.
            "::127.0.0.1",
            "::ffff:0:7f00:1",
            "2002:7f00:1::",
            "2002:a00:1::1",
            "fec0::1",
            "198.18.0.1",
            "198.19.255.254",
            // And the rest of what is not global unicast.
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:10::1",
            "2001:db8::1",
            "3fff::1",
            "192.88.99.1",
            "::",
            "ff02::1",
            "100::1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "93.184.216.34",
            "2a00:1450:4010::64",
            "2002:5db8:d822::1",
            "2606:4700::1111",
        ] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls() {
        assert!(check_url("https://example.ru/hook", false).is_ok());
        assert!(check_url("ftp://example.ru/", false).is_err());
        assert!(check_url("http://127.0.0.1:9000/", false).is_err());
        assert!(check_url("http://[::1]/", false).is_err());
        for refused in [
            "http://[::127.0.0.1]/",
            "http://[::ffff:0:7f00:1]/",
            "http://[2002:7f00:1::]/",
            "http://[fec0::1]/",
            "http://198.18.0.1/",
            "http://[64:ff9b:1::1]/",
            "http://[2001::1]/",
        ] {
            assert!(check_url(refused, false).is_err(), "{refused}");
        }
        assert!(check_url("http://169.254.169.254/latest/meta-data", false).is_err());
        assert!(check_url("http://user:pw@example.ru/", false).is_err());
        assert!(check_url("http://127.0.0.1:9000/", true).is_ok());
        assert!(check_url("not a url", true).is_err());
    }
}
