//! `/login` (a page of its own, outside the app, so nothing of the app shows before a login)
//! and `/logout`.

use std::sync::Arc;

use axum::{
    extract::{Query, State},
    http::{header::SET_COOKIE, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
    Form, Router,
};
use serde::Deserialize;

use super::{guard::session_cookie, Auth, SESSION_COOKIE, SESSION_LIFETIME};

pub fn routes(auth: Arc<Auth>) -> Router {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .with_state(auth)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LoginForm {
    token: String,
    next: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NextQuery {
    next: String,
}

async fn login_page(State(auth): State<Arc<Auth>>, Query(q): Query<NextQuery>) -> Response {
    if !auth.enabled() {
        return Redirect::to("/").into_response();
    }
    page(StatusCode::OK, &q.next, None)
}

async fn login(
    State(auth): State<Arc<Auth>>,
    headers: HeaderMap,
    form: Form<LoginForm>,
) -> Response {
    if !auth.enabled() {
        return Redirect::to("/").into_response();
    }
    if !auth.check_token(&form.token).await {
        tracing::warn!("a login with a wrong token");
        let message = "That is not the token this server was started with (MODELS_AUTH_TOKEN).";
        return page(StatusCode::UNAUTHORIZED, &form.next, Some(message));
    }
    let Ok(id) = auth.open_session() else {
        let message = "The server could not create a session; try again.";
        return page(StatusCode::INTERNAL_SERVER_ERROR, &form.next, Some(message));
    };
    let secure = if over_https(&headers) { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_LIFETIME.as_secs()
    );
    with_cookie(Redirect::to(safe_next(&form.next)), &cookie)
}

async fn logout(State(auth): State<Arc<Auth>>, headers: HeaderMap) -> Response {
    if let Some(id) = session_cookie(&headers) {
        auth.close_session(id);
    }
    let to = if auth.enabled() { "/login" } else { "/" };
    let cookie = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    with_cookie(Redirect::to(to), &cookie)
}

fn with_cookie(redirect: Redirect, cookie: &str) -> Response {
    let mut response = redirect.into_response();
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

/// The browser reached us over HTTPS (directly, or through a proxy that says so).
fn over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// Where to go after the login: a path of this site, never another host.
fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\');
    if local {
        next
    } else {
        "/"
    }
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// The login page: one form, no script, styles inline (the app's own files need a login).
fn page(status: StatusCode, next: &str, error: Option<&str>) -> Response {
    let error = error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, escape(e)))
        .unwrap_or_default();
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>Log in · Model Manager</title>
<style>
body {{ font-family: system-ui, sans-serif; display: grid; place-items: center; min-height: 90vh; margin: 0; }}
form {{ display: grid; gap: 0.75rem; width: min(24rem, 90vw); padding: 1.5rem; border: 1px solid #8884; border-radius: 0.75rem; }}
h1 {{ margin: 0; font-size: 1.4rem; }}
input, button {{ font: inherit; padding: 0.5rem 0.75rem; border-radius: 0.5rem; border: 1px solid #8888; }}
button {{ background: #2563eb; color: white; border-color: #2563eb; cursor: pointer; }}
.error {{ color: #dc2626; margin: 0; }}
.hint {{ color: #888; font-size: 0.9rem; margin: 0; }}
</style></head>
<body><form method="post" action="/login">
<h1>Model Manager</h1>
<label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="{next}">
{error}
<button type="submit">Log in</button>
<p class="hint">The value of MODELS_AUTH_TOKEN this server was started with.</p>
</form></body></html>"#,
        next = escape(next),
    );
    (status, Html(html)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next("/export?x=1"), "/export?x=1");
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("https://evil.example/"), "/");
        assert_eq!(safe_next(""), "/");
    }

    #[test]
    fn text_in_the_page_is_escaped() {
        assert_eq!(
            escape(r#""><script>'&"#),
            "&quot;&gt;&lt;script&gt;&#39;&amp;"
        );
    }
}
