//! HTTP helpers for downloads: sending with an answer timeout, origins and tokens, address
//! checks for user-typed links (also at connect time, against DNS rebinding), file names from
//! `Content-Disposition`.

use std::{
    future::Future,
    io,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::Arc,
};

use app::domain::{AppError, ErrorCode};
use reqwest::{
    dns::{Addrs, Name, Resolve, Resolving},
    RequestBuilder,
};
use url::Url;

use super::{Engine, Fail};

/// Scheme, host and port: a token goes only to the origin it belongs to.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Loopback, private, link-local, carrier-grade NAT, unique-local and unspecified addresses.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (o[0] == 100 && (64..128).contains(&o[1]))
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// Resolves a host name to its addresses; injectable, so tests can answer each call differently.
pub type Lookup = Arc<
    dyn Fn(String) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>> + Send + Sync,
>;

/// The system resolver (getaddrinfo, through tokio).
pub fn system_lookup() -> Lookup {
    Arc::new(|host| {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    })
}

/// A user-typed link whose host is (or resolves to) a private or local address.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "{host} is a private or local address ({ip}); set MODELS_ALLOW_PRIVATE_URLS=true to allow it"
)]
pub struct PrivateAddress {
    host: String,
    ip: IpAddr,
}

impl From<PrivateAddress> for AppError {
    fn from(e: PrivateAddress) -> Self {
        AppError::invalid("url", e.to_string())
    }
}

fn refuse_private(host: &str, addrs: &[IpAddr]) -> Result<(), PrivateAddress> {
    match addrs.iter().find(|ip| is_private(**ip)) {
        Some(ip) => Err(PrivateAddress {
            host: host.to_string(),
            ip: *ip,
        }),
        None => Ok(()),
    }
}

/// Refuses a user-typed link (or a redirect from one) that points at this machine or a private
/// network, unless `MODELS_ALLOW_PRIVATE_URLS` is set.
pub async fn check_public(url: &Url, lookup: &Lookup) -> Result<(), AppError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(AppError::invalid(
            "url",
            format!("{} links cannot be downloaded", url.scheme()),
        ));
    }
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => lookup(host.to_string()).await.map_err(|e| {
            AppError::new(ErrorCode::Upstream, format!("cannot resolve {host}: {e}"))
        })?,
    };
    Ok(refuse_private(host, &addrs)?)
}

/// The resolver of the client that fetches user-typed links. It checks the addresses it hands
/// to the connector, so the address checked is the address connected to: a name cannot answer
/// a public address to the check and a private one to the connection (DNS rebinding).
pub struct PublicOnly(pub Lookup);

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let lookup = self.0.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = lookup(host.clone()).await?;
            refuse_private(&host, &addrs)?;
            let addrs: Addrs = Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// `request` with `token` as its bearer if `url` is on `origin`: a token goes only to the
/// origin it belongs to, whatever a header or a redirect names.
pub fn with_token(
    request: RequestBuilder,
    url: &Url,
    origin: &Url,
    token: Option<&str>,
) -> RequestBuilder {
    match token {
        Some(token) if same_origin(url, origin) => request.bearer_auth(token),
        _ => request,
    }
}

impl Engine {
    /// Sends `request` and waits at most `stall` for the response headers, connecting
    /// included: a host that accepts the connection and never answers cannot hang a job.
    /// A refused private address is final; no answer, refused or reset connections are transient.
    pub(super) async fn send(&self, request: RequestBuilder) -> Result<reqwest::Response, Fail> {
        let (client, request) = request.build_split();
        let request =
            request.map_err(|e| Fail::Fatal(AppError::internal(format!("bad request: {e}"))))?;
        let host = request.url().host_str().unwrap_or_default().to_string();
        match tokio::time::timeout(self.stall, client.execute(request)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => match find_cause::<PrivateAddress>(&e) {
                Some(refused) => Err(Fail::Fatal(refused.clone().into())),
                None => Err(Fail::Retry(format!(
                    "cannot connect to {host}: {}",
                    error_chain(&e)
                ))),
            },
            Err(_) => Err(Fail::Retry(format!(
                "{host} did not answer within {} s",
                self.stall.as_secs()
            ))),
        }
    }

    /// A small JSON body (a listing page, an error), which must arrive within `stall`.
    pub(super) async fn json<T: serde::de::DeserializeOwned>(
        &self,
        response: reqwest::Response,
    ) -> Result<T, Fail> {
        let host = response.url().host_str().unwrap_or_default().to_string();
        tokio::time::timeout(self.stall, response.json())
            .await
            .map_err(|_| {
                Fail::Retry(format!(
                    "{host} sent no complete answer within {} s",
                    self.stall.as_secs()
                ))
            })?
            .map_err(|e| Fail::Retry(format!("unreadable answer from {host}: {e}")))
    }
}

fn find_cause<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(found) = c.downcast_ref::<T>() {
            return Some(found);
        }
        cause = c.source();
    }
    None
}

/// A transfer error with its causes, for messages the API shows ("error sending request for
/// url (host): connection reset"): the URL, which may be a signed CDN link or carry
/// credentials, is reduced to its host.
pub fn error_chain(e: &reqwest::Error) -> String {
    let out = causes(e);
    match e.url() {
        Some(url) => out.replace(url.as_str(), url.host_str().unwrap_or("the server")),
        None => out,
    }
}

/// An error with its causes.
fn causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// The file name a `Content-Disposition` header gives (`filename*=UTF-8''...` preferred).
pub fn disposition_file_name(header: &str) -> Option<String> {
    let mut plain = None;
    for part in header.split(';').map(str::trim) {
        if let Some(v) = part.strip_prefix("filename*=") {
            let v = v.trim_matches('"');
            let encoded = v.split_once("''").map_or(v, |(_, rest)| rest);
            if let Ok(decoded) = urlencoding::decode(encoded) {
                return Some(decoded.into_owned());
            }
        } else if let Some(v) = part.strip_prefix("filename=") {
            plain = Some(v.trim_matches('"').to_string());
        }
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.1",
            "172.16.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn origins_include_the_port() {
        let a = Url::parse("http://127.0.0.1:1000/x").unwrap();
        assert!(same_origin(
            &a,
            &Url::parse("http://127.0.0.1:1000/y").unwrap()
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("http://127.0.0.1:2000/x").unwrap()
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("https://127.0.0.1:1000/x").unwrap()
        ));
    }

    #[test]
    fn content_disposition_names() {
        assert_eq!(
            disposition_file_name(r#"attachment; filename="model v2.safetensors""#).as_deref(),
            Some("model v2.safetensors")
        );
        assert_eq!(
            disposition_file_name(
                r#"inline; filename*=UTF-8''caf%C3%A9.gguf; filename="cafe.gguf";"#
            )
            .as_deref(),
            Some("café.gguf")
        );
        assert_eq!(disposition_file_name("attachment"), None);
    }

    #[tokio::test]
    async fn transfer_errors_never_carry_the_url_only_its_host() {
        let signed = "http://user:secret@127.0.0.1:9/file.safetensors?X-Amz-Signature=abc123";
        let e = reqwest::get(signed).await.unwrap_err();
        let shown = error_chain(&e);
        assert!(shown.contains("127.0.0.1"), "{shown}");
        for secret in ["secret", "abc123", "X-Amz"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
