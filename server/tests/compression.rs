//! Answers made at run time (the SSR page, API JSON) are compressed when the client accepts it,
//! over real HTTP; a client that does not ask gets them plain.

mod common;

use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, VARY};

#[tokio::test]
async fn the_page_and_the_api_are_compressed_only_for_clients_that_accept_it() {
    let server = common::start(&[]).await;
    let client = reqwest::Client::new();
    for path in ["/", "/api/models"] {
        let plain = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(plain.status(), 200);
        assert!(plain.headers().get(CONTENT_ENCODING).is_none(), "{path}");
        let plain_len = plain.bytes().await.unwrap().len();
        for (accept, expected) in [("br", "br"), ("gzip", "gzip"), ("gzip, br", "br")] {
            let answer = client
                .get(server.url(path))
                .header(ACCEPT_ENCODING, accept)
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200);
            assert_eq!(
                answer.headers()[CONTENT_ENCODING],
                expected,
                "{path} {accept}"
            );
            let vary = answer.headers()[VARY]
                .to_str()
                .unwrap()
                .to_ascii_lowercase();
            assert!(vary.contains("accept-encoding"), "{path}: {vary}");
            let len = answer.bytes().await.unwrap().len();
            assert!(
                len * 3 < plain_len,
                "{path} with {accept}: {len} B, plain {plain_len} B"
            );
        }
    }
    // A short poll answer stays plain: compressing it would only add bytes.
    let jobs = client
        .get(server.url("/api/models/download"))
        .header(ACCEPT_ENCODING, "br")
        .send()
        .await
        .unwrap();
    assert_eq!(jobs.status(), 200);
    assert!(jobs.headers().get(CONTENT_ENCODING).is_none());
}
