//! The middleware in front of every route: the same-origin rule for state-changing requests,
//! then (with a token) a valid session cookie or bearer token, or a login.

use std::sync::Arc;

use app::domain::{AppError, ErrorCode};
use axum::{
    extract::{Request, State},
    http::{
        header::{AUTHORIZATION, COOKIE, HOST, WWW_AUTHENTICATE},
        HeaderMap, Method,
    },
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};

use super::{Auth, SESSION_COOKIE};
use crate::api::{server_fn_error, ApiError};

/// Routes that answer without credentials: health checks and the login itself.
const OPEN: [&str; 4] = ["/healthz", "/readyz", "/login", "/logout"];

pub async fn guard(State(auth): State<Arc<Auth>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if !same_origin(request.method(), request.headers()) {
        let message = "this request came from another site; changes are only accepted from the app's own pages";
        return refuse(&path, AppError::new(ErrorCode::Forbidden, message));
    }
    if !auth.enabled() || OPEN.contains(&path.as_str()) {
        return next.run(request).await;
    }
    if let Some(token) = bearer(request.headers()) {
        if auth.check_token(token).await {
            return next.run(request).await;
        }
        return unauthorized(
            &path,
            "the bearer token is not this server's MODELS_AUTH_TOKEN",
        );
    }
    if session_cookie(request.headers()).is_some_and(|id| auth.session_valid(id)) {
        return next.run(request).await;
    }
    if matches!(*request.method(), Method::GET | Method::HEAD) && !path.starts_with("/api/") {
        let wanted = request.uri().path_and_query().map_or("/", |p| p.as_str());
        let to = format!("/login?next={}", urlencoding::encode(wanted));
        return Redirect::to(&to).into_response();
    }
    unauthorized(
        &path,
        "log in at /login, or send Authorization: Bearer <MODELS_AUTH_TOKEN>",
    )
}

/// The error in the shape the route's callers read: the error object itself for the page's
/// server functions, `{"error": ...}` for everything else.
fn refuse(path: &str, error: AppError) -> Response {
    let server_fn = leptos::server_fn::axum::server_fn_paths().any(|(p, _)| p == path);
    if server_fn {
        server_fn_error(error)
    } else {
        ApiError(error).into_response()
    }
}

fn unauthorized(path: &str, message: &str) -> Response {
    let mut response = refuse(path, AppError::new(ErrorCode::Unauthorized, message));
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, "Bearer".parse().expect("a valid header"));
    response
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The session id from the request's cookies.
pub(super) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// Whether a request may change state: safe methods always; otherwise a browser must say it
/// comes from this origin (`Sec-Fetch-Site: same-origin`, or an `Origin` naming the host the
/// request was sent to). A client that sends neither header is not a browser.
pub fn same_origin(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        // "none": the user typed or bookmarked it.
        return site == "same-origin" || site == "none";
    }
    let Some(origin) = header("origin") else {
        return true;
    };
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    let host = header("x-forwarded-host").or_else(|| header(HOST.as_str()));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn reads_and_safe_methods_pass_from_anywhere() {
        let cross = headers(&[("sec-fetch-site", "cross-site")]);
        assert!(same_origin(&Method::GET, &cross));
        assert!(!same_origin(&Method::POST, &cross));
        assert!(!same_origin(&Method::DELETE, &cross));
    }

    #[test]
    fn only_the_same_origin_may_change_state() {
        let post = |pairs: &[(&'static str, &str)]| same_origin(&Method::POST, &headers(pairs));
        assert!(post(&[("sec-fetch-site", "same-origin")]));
        assert!(post(&[("sec-fetch-site", "none")]));
        // A sibling subdomain (another pod behind the same proxy) is still another origin.
        assert!(!post(&[("sec-fetch-site", "same-site")]));
        assert!(post(&[
            ("origin", "http://127.0.0.1:3000"),
            ("host", "127.0.0.1:3000")
        ]));
        assert!(post(&[
            ("origin", "https://abc-3000.proxy.example"),
            ("host", "10.0.0.5:3000"),
            ("x-forwarded-host", "abc-3000.proxy.example")
        ]));
        assert!(!post(&[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:3000")
        ]));
        assert!(!post(&[("origin", "null"), ("host", "127.0.0.1:3000")]));
        // curl and scripts send neither header.
        assert!(post(&[("host", "127.0.0.1:3000")]));
    }

    #[test]
    fn credentials_are_read_from_their_headers() {
        let h = headers(&[
            ("cookie", "theme=dark; mm_session=abc123"),
            ("authorization", "bearer  tok-en "),
        ]);
        assert_eq!(session_cookie(&h), Some("abc123"));
        assert_eq!(bearer(&h), Some("tok-en"));
        assert_eq!(session_cookie(&headers(&[("cookie", "other=1")])), None);
        assert_eq!(bearer(&headers(&[("authorization", "Basic eDp5")])), None);
    }
}
