//! A request id for every request: made here (an id a client sends is not
//! believed), answered in `X-Request-Id`, on the request's log span with the
//! matched route, stored with the delivery jobs the request queues, and sent
//! with the task-system calls those jobs make, so one id follows a report
//! from the phone to the task.

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{HttpMakeClassifier, TraceLayer};

pub use crate::trace::{current, scope, HEADER};

/// Outermost: gives the request its id.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = crate::domain::codes::encode_base32(&crate::domain::codes::random_bytes::<10>())
        .to_lowercase();
    let value = HeaderValue::from_str(&id).expect("base32 is a valid header value");
    req.headers_mut().insert(HEADER, value.clone());
    let mut resp = scope(Some(id), next.run(req)).await;
    resp.headers_mut().insert(HEADER, value);
    resp
}

/// A span per request with its method, matched route and id; the answer's
/// status and time are logged when it is sent (at debug; server errors at error).
pub fn layer(
) -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, impl Fn(&Request) -> tracing::Span + Clone>
{
    let make: HttpMakeClassifier = SharedClassifier::new(ServerErrorsAsFailures::new());
    TraceLayer::new(make).make_span_with(|req: &Request| {
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map_or("(none)", MatchedPath::as_str);
        let id = req
            .headers()
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        tracing::info_span!("request", method = %req.method(), route, id)
    })
}
