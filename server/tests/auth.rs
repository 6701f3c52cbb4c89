//! Access control over real HTTP: with MODELS_AUTH_TOKEN every page, asset, server function and
//! REST route needs a session (login page) or the bearer token; health checks stay open; the
//! token is never echoed or logged; browsers on other sites cannot change anything; an open
//! server on the network warns in the log and in the page.

mod common;

use std::time::{Duration, Instant};

use app::server_fns::{access::AccessInfo, models::ListModels};
use common::process::Process;
use leptos::server_fn::ServerFn;
use reqwest::{header, redirect::Policy, Client, StatusCode};
use serde_json::{json, Value};

const TOKEN: &str = "auth-CANARY-0123456789";
const DELAY_MS: u64 = 300;

/// Follows no redirects (the tests look at them), and fails a request instead of hanging.
fn client() -> Client {
    Client::builder()
        .redirect(Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn guarded() -> common::TestServer {
    common::start(&[
        ("MODELS_AUTH_TOKEN", TOKEN),
        ("MODELS_AUTH_FAIL_DELAY_MS", &DELAY_MS.to_string()),
    ])
    .await
}

/// Logs in through the form and returns the session cookie (`name=value`).
async fn login(base: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = client()
        .post(format!("{base}/login"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&[("token", TOKEN), ("next", "/export?x=1")]));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().await.unwrap()
}

/// A URL-encoded form body, as a browser posts it.
fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencoding::encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn cookie_of(response: &reqwest::Response) -> String {
    let set = response.headers()[header::SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn without_credentials_pages_redirect_to_the_login_and_the_api_answers_401() {
    let server = guarded().await;
    let c = client();
    let r = c.get(server.url("/export?tab=x")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()[header::LOCATION],
        "/login?next=%2Fexport%3Ftab%3Dx"
    );
    // The app's own files too.
    let r = c
        .get(server.url("/pkg/model-manager.wasm"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let r = c.get(server.url("/api/models")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()[header::WWW_AUTHENTICATE], "Bearer");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    let r = c
        .delete(server.url("/api/models/installed?id=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The page's server functions, with the error as they answer errors (the object itself).
    let r = c.post(server.url(ListModels::PATH)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let error: app::domain::AppError = r.json().await.unwrap();
    assert_eq!(error.code, app::domain::ErrorCode::Unauthorized);

    // Health checks stay open.
    let r = c.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn api_clients_use_the_bearer_token_and_a_wrong_one_waits() {
    let server = guarded().await;
    let c = client();
    let r = c
        .get(server.url("/api/models"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap()["models"]
            .as_array()
            .unwrap()
            .len(),
        15
    );

    // Wrong guesses are answered after the delay, one at a time.
    let started = Instant::now();
    let guess = |t: &'static str| c.get(server.url("/api/models")).bearer_auth(t).send();
    let (a, b) = tokio::join!(guess("wrong-token-1"), guess("auth-CANARY-012345678"));
    assert_eq!(a.unwrap().status(), StatusCode::UNAUTHORIZED);
    let b = b.unwrap();
    assert_eq!(b.status(), StatusCode::UNAUTHORIZED);
    assert!(!b.text().await.unwrap().contains("CANARY"));
    assert!(
        started.elapsed() >= Duration::from_millis(2 * DELAY_MS),
        "{:?}",
        started.elapsed()
    );
}

/// The real binary: the page is rendered here, and Leptos's server-side rendering can stall
/// when several in-process servers in separate test runtimes render at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_logs_in_with_a_session_cookie_and_logs_out() {
    let dir = tempfile::tempdir().unwrap();
    let delay = DELAY_MS.to_string();
    let server = Process::start(
        &dir.path().join("models"),
        &[
            ("MODELS_AUTH_TOKEN", TOKEN),
            ("MODELS_AUTH_FAIL_DELAY_MS", &delay),
        ],
    )
    .await;
    let c = client();
    let page = c
        .get(server.url("/login?next=/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"name="token""#) && html.contains(r#"value="/export""#));

    let r = login(&server.base, &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "/export?x=1");
    let set = r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "plain http: {set}");
    assert!(!set.contains(TOKEN), "the cookie is not the token: {set}");
    let cookie = cookie_of(&r);

    let r = c
        .get(server.url("/export"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("Log out"), "{html}");
    assert!(!html.contains("Anyone who can reach this port"));
    let r = c
        .get(server.url("/api/models/installed"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let r = c
        .post(server.url("/logout"))
        .header(header::COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "/login");
    assert!(r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    // The old cookie is dead, even if a browser kept it.
    let r = c
        .get(server.url("/"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_wrong_token_at_the_login_is_refused_after_the_delay_without_echoing_it() {
    let server = guarded().await;
    let started = Instant::now();
    let r = client()
        .post(server.url("/login"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&[("token", "auth-CANARY-guess"), ("next", "/")]))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(DELAY_MS));
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get(header::SET_COOKIE).is_none());
    let html = r.text().await.unwrap();
    assert!(html.contains("not the token"), "{html}");
    assert!(!html.contains("CANARY"), "{html}");
}

#[tokio::test]
async fn behind_an_https_proxy_the_cookie_is_secure() {
    let server = guarded().await;
    let r = login(&server.base, &[("x-forwarded-proto", "https")]).await;
    let set = r.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(set.contains("; Secure"), "{set}");
}

#[tokio::test]
async fn another_site_cannot_drive_a_logged_in_browser() {
    let server = guarded().await;
    let cookie = cookie_of(&login(&server.base, &[]).await);
    let add = |site: Option<&'static str>, origin: Option<&'static str>| {
        let mut r = client()
            .post(server.url("/api/models"))
            .header(header::COOKIE, &cookie)
            .json(&json!({"name": "Planted", "url": "https://example.com/x.safetensors", "type": "lora", "family": "flux"}));
        if let Some(s) = site {
            r = r.header("sec-fetch-site", s);
        }
        if let Some(o) = origin {
            r = r.header(header::ORIGIN, o);
        }
        r.send()
    };
    for (site, origin) in [
        (Some("cross-site"), Some("https://evil.example")),
        (Some("same-site"), None),
        (None, Some("https://evil.example")),
    ] {
        let r = add(site, origin).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{site:?} {origin:?}");
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"]["code"],
            "forbidden"
        );
    }
    // Nothing was added.
    let list: Value = client()
        .get(server.url("/api/models"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!list.to_string().contains("Planted"));
    // The app's own page may.
    let own = server.base.trim_start_matches("http://").to_string();
    let r = client()
        .post(server.url("/api/models"))
        .header(header::COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .header(header::ORIGIN, format!("http://{own}"))
        .json(&json!({"name": "Mine", "url": "https://example.com/x.safetensors", "type": "lora", "family": "flux"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
}

#[tokio::test]
async fn without_a_token_other_sites_still_cannot_change_anything() {
    let server = common::start(&[]).await;
    let r = client()
        .delete(server.url("/api/models/installed?id=x"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = client()
        .post(server.url(ListModels::PATH))
        .header(header::ORIGIN, "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let error: app::domain::AppError = r.json().await.unwrap();
    assert_eq!(error.code, app::domain::ErrorCode::Forbidden);
    let r = client()
        .get(server.url("/api/models"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_access_info_tells_the_page_about_the_login() {
    let server = guarded().await;
    let cookie = cookie_of(&login(&server.base, &[]).await);
    let r = client()
        .post(server.url(AccessInfo::PATH))
        .header(header::COOKIE, &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let info: Value = r.json().await.unwrap();
    assert_eq!(info, json!({"openToNetwork": false, "login": true}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_server_on_the_network_warns_in_the_log_and_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("0.0.0.0:{port}");
    let server = Process::start_at(
        &dir.path().join("models"),
        port,
        &[("LEPTOS_SITE_ADDR", &addr)],
    )
    .await;
    assert!(
        server
            .log()
            .contains("anyone who can reach this port can manage your models"),
        "{}",
        server.log()
    );
    let html = reqwest::get(server.url("/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Anyone who can reach this port can manage your models"));
    assert!(!html.contains("Log out"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_reaches_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Process::start(
        &dir.path().join("models"),
        &[
            ("MODELS_AUTH_TOKEN", TOKEN),
            ("MODELS_AUTH_FAIL_DELAY_MS", "10"),
            ("RUST_LOG", "trace"),
        ],
    )
    .await;
    let c = client();
    for token in [TOKEN, "auth-CANARY-wrong"] {
        c.post(server.url("/login"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form(&[("token", token)]))
            .send()
            .await
            .unwrap();
        c.get(server.url("/api/models"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
    }
    server.stop_with("TERM", Duration::from_secs(5));
    let log = server.log();
    assert!(log.contains("a login with a wrong token"), "{log}");
    assert!(!log.contains("CANARY"), "{log}");
}
