//! HTTP helpers for downloads: origins, address checks for user-typed links, file names from
//! `Content-Disposition`.

use std::net::IpAddr;

use app::domain::AppError;
use url::Url;

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

/// Refuses a user-typed link (or a redirect from one) that points at this machine or a private
/// network, unless `MODELS_ALLOW_PRIVATE_URLS` is set.
pub async fn check_public(url: &Url) -> Result<(), AppError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(AppError::invalid(
            "url",
            format!("{} links cannot be downloaded", url.scheme()),
        ));
    }
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| {
                AppError::new(
                    app::domain::ErrorCode::Upstream,
                    format!("cannot resolve {host}: {e}"),
                )
            })?
            .map(|a| a.ip())
            .collect(),
    };
    if let Some(ip) = addrs.into_iter().find(|ip| is_private(*ip)) {
        return Err(AppError::invalid(
            "url",
            format!("{host} is a private or local address ({ip}); set MODELS_ALLOW_PRIVATE_URLS=true to allow it"),
        ));
    }
    Ok(())
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
}
