//! The HTTP server: hyper's HTTP/1 with the timeouts a slow client cannot
//! outwait — a request head must arrive within
//! `server.header_read_timeout_secs` of the connection opening or of its last
//! answer (so idle and trickling connections are closed), a body that sends
//! nothing for `server.body_stall_secs` is cut off, and no request takes
//! longer than `server.request_timeout_secs` — and a graceful stop.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

use crate::i18n::Lang;

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header_read: Duration,
    pub body_stall: Duration,
    pub request: Duration,
}

impl Timeouts {
    pub fn from_config(c: &crate::config::ServerConfig) -> Timeouts {
        Timeouts {
            header_read: Duration::from_secs(c.header_read_timeout_secs.max(1)),
            body_stall: Duration::from_secs(c.body_stall_secs.max(1)),
            request: Duration::from_secs(c.request_timeout_secs.max(1)),
        }
    }
}

fn too_slow() -> Response {
    super::message(
        StatusCode::REQUEST_TIMEOUT,
        Lang::Ru,
        "Запрос шёл слишком долго",
        "Соединение слишком медленное. Проверьте связь и попробуйте ещё раз — введённый текст сохранён в форме. / The connection is too slow: check it and try again.",
    )
}

/// Serves `router` on `listener` until `stop` turns true, then waits for the
/// connections in flight (the caller bounds how long).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    timeouts: Timeouts,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read)
        // Roomier than our own limits (`web::limit_headers`), so an oversized
        // head gets our 431 page with every security header rather than
        // hyper's bare one; past these hyper still cuts the connection off.
        .max_headers(super::MAX_HEADERS * 4)
        .max_buf_size(super::MAX_HEADER_BYTES * 8)
        .keep_alive(true);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = async { let _ = stop.wait_for(|s| *s).await; } => break,
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let mut req = req.map(|b| Body::new(TimeoutBody::new(timeouts.body_stall, b)));
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            let router = router.clone();
            async move {
                match tokio::time::timeout(timeouts.request, router.oneshot(req)).await {
                    Ok(answer) => answer,
                    Err(_) => Ok(too_slow()),
                }
            }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
