use leptos::prelude::*;

use crate::server_fns::access::access_info;

/// In the top bar: a warning when the server is open to the network without a token, and
/// the log-out button when access control is on.
#[component]
pub fn AccessBar() -> impl IntoView {
    let status = OnceResource::new(access_info());
    view! {
        <Suspense>
            {move || {
                status
                    .get()
                    .and_then(Result::ok)
                    .map(|s| {
                        view! {
                            {s
                                .open_to_network
                                .then(|| {
                                    view! {
                                        <p class="access-banner" role="alert">
                                            "Anyone who can reach this port can manage your models: start the server with MODELS_AUTH_TOKEN to require a login."
                                        </p>
                                    }
                                })}
                            {s
                                .login
                                .then(|| {
                                    view! {
                                        <form class="logout" method="post" action="/logout">
                                            <button type="submit">"Log out"</button>
                                        </form>
                                    }
                                })}
                        }
                    })
            }}
        </Suspense>
    }
}
