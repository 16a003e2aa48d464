//! A NUL character in a query or form value is refused at the edge, before
//! any handler: PostgreSQL cannot store or even compare text holding one,
//! and answered each with an error (a 500 page and an ERROR line), while
//! SQLite took it. One check here keeps both engines alike.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Refuses a request whose query, form body or JSON body carries a
/// NUL: 400 (the API's JSON error under `/api`), 401 at sign-in, which
/// tells nothing about the account.
pub async fn refuse(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    // The path is left to its routes: a malformed code is a friendly 404.
    let in_uri = parts
        .uri
        .query()
        .is_some_and(|q| has_encoded_nul(q.as_bytes()));
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let form = content_type.starts_with("application/x-www-form-urlencoded");
    let json = content_type.starts_with("application/json");
    let (body, in_body) = if !in_uri && (form || json) {
        // The body is read here (as its extractor would, with the same
        // limit) and handed on whole.
        let bytes = match axum::body::to_bytes(body, state.config.limits.form_body_bytes).await {
            Ok(bytes) => bytes,
            Err(_) => return super::Error::TooLarge.into_response(),
        };
        let found = if form {
            has_encoded_nul(&bytes)
        } else {
            has_json_nul(&bytes)
        };
        (Body::from(bytes), found)
    } else {
        (body, false)
    };
    if !(in_uri || in_body) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let path = parts.uri.path();
    tracing::info!(path, "refused a request with a NUL character");
    if path.starts_with("/api/") {
        let body = serde_json::json!({"error": {
            "code": "bad_request",
            "message": "a value holds a NUL character (\\u0000): remove it and send again",
        }});
        (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
    } else if path == "/admin/login" {
        crate::web::staff_message(
            StatusCode::UNAUTHORIZED,
            crate::i18n::tr::tr("Неверный e-mail или пароль."),
            crate::i18n::tr::tr("Проверьте e-mail и пароль и войдите снова."),
        )
    } else {
        super::Error::BadRequest.into_response()
    }
}

/// A NUL as it travels in a URL or form: `%00`, or a raw zero byte.
fn has_encoded_nul(bytes: &[u8]) -> bool {
    bytes.contains(&0) || bytes.windows(3).any(|w| w == b"%00")
}

/// A NUL inside a JSON string: `\u0000` (a raw zero byte is not JSON at
/// all, and serde refuses it). An escaped backslash before `u0000` is text.
fn has_json_nul(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            let rest = &bytes[i + 1..];
            if rest.len() >= 5 && rest[0] == b'u' && rest[1..5] == *b"0000" {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    bytes.contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_however_it_is_written() {
        assert!(has_encoded_nul(b"q=%00"));
        assert!(has_encoded_nul(b"email=a%00@x.ru&password=1"));
        assert!(
            !has_encoded_nul(b"q=%2500"),
            "an encoded percent sign is text"
        );
        assert!(!has_encoded_nul(b"q=100%25"));
        assert!(has_json_nul(br#"{"label":"a\u0000b"}"#));
        assert!(
            !has_json_nul(br#"{"label":"a\\u0000b"}"#),
            "an escaped backslash"
        );
        assert!(!has_json_nul(br#"{"label":"a0000"}"#));
    }
}
