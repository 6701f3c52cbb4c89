#![recursion_limit = "256"]
//! The Model Manager server: configuration, the service behind app's port, the REST API,
//! and the axum router that also serves the Leptos app.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod download;
pub mod export;
pub mod inspect;
pub mod registry;
pub mod scan;
mod serve;
pub mod service;
pub mod site;
pub mod sources;
pub mod static_files;
pub mod storage;

use std::sync::Arc;

use app::{domain::AccessStatus, port::SharedService, shell, App};
use axum::{
    body::Body,
    extract::{DefaultBodyLimit, Request, State},
    http::Uri,
    middleware::{from_fn, from_fn_with_state, map_response},
    response::{IntoResponse, Redirect, Response},
    Router,
};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use service::Service;

pub use serve::{serve, HttpLimits};

/// The whole HTTP surface: REST API, server functions, SSR pages and static files (the
/// hashed bundle cached as immutable, everything else `no-cache`), behind the access guard
/// (`auth`), plus the login.
pub fn app_router(service: Arc<Service>, leptos_options: LeptosOptions) -> Router {
    let routes = generate_route_list(App);
    let auth = auth::Auth::new(service.config());
    let access = AccessStatus {
        open_to_network: service.config().open_to_network(),
        login: auth.enabled(),
    };
    let context_service: SharedService = service.clone();
    let bundle_dir =
        std::path::Path::new(&*leptos_options.site_root).join(&*leptos_options.site_pkg_dir);
    let bundle_route = format!("/{}", leptos_options.site_pkg_dir);
    Router::new()
        .nest_service(&bundle_route, static_files::bundle(&bundle_dir))
        .leptos_routes_with_context(
            &leptos_options,
            routes,
            move || {
                provide_context(Arc::clone(&context_service));
                provide_context(access);
            },
            {
                let options = leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(not_found)
        .with_state(leptos_options)
        .layer(map_response(api::server_fn_status))
        .layer(from_fn(api::refuse_large_body))
        .layer(DefaultBodyLimit::max(api::JSON_BODY_LIMIT))
        .merge(api::router(service))
        .merge(auth::routes(auth.clone()))
        .layer(from_fn_with_state(auth, auth::guard))
        .layer(static_files::no_cache_by_default())
        .layer(static_files::compress_dynamic())
}

/// What no route answers: a page address with a trailing slash (`/export/`) is sent to the
/// page (308), since the app's router would otherwise render the page under a 404 without its
/// service; anything else is a file of the site or the 404 page.
async fn not_found(uri: Uri, state: State<LeptosOptions>, request: Request<Body>) -> Response {
    match without_trailing_slash(&uri) {
        Some(to) => Redirect::permanent(&to).into_response(),
        None => leptos_axum::file_and_error_handler(shell)(uri, state, request).await,
    }
}

/// `/export/?x=1` → `/export?x=1`; `None` for `/`, paths without a trailing slash, and
/// anything that would leave this origin (`//host/` → `//host` is another site).
fn without_trailing_slash(uri: &Uri) -> Option<String> {
    let path = uri.path();
    let trimmed = path.trim_end_matches('/');
    if trimmed.len() == path.len() || trimmed.is_empty() || trimmed.starts_with("//") {
        return None;
    }
    Some(match uri.query() {
        Some(query) => format!("{trimmed}?{query}"),
        None => trimmed.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailing_slash_goes_to_the_page_on_this_origin() {
        let to = |s: &str| without_trailing_slash(&s.parse().unwrap());
        assert_eq!(to("/export/").as_deref(), Some("/export"));
        assert_eq!(to("/models/?tab=add").as_deref(), Some("/models?tab=add"));
        assert_eq!(to("/export//").as_deref(), Some("/export"));
        assert_eq!(to("/"), None);
        assert_eq!(to("/export"), None);
        assert_eq!(to("//evil.example/"), None);
        assert_eq!(to("///evil.example/"), None);
    }
}
