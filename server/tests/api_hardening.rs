//! The server under slow, idle and hostile clients, over raw TCP and real HTTP.

mod common;

use std::{collections::HashMap, time::Duration};

use bytes::Bytes;
use futures_util::future::join_all;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// A TCP connection to the test server.
async fn connect(server: &common::TestServer) -> TcpStream {
    TcpStream::connect(server.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server closes the connection; `None` if it is still open after `within`.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let read_all = async {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = stream.read(&mut buf).await {
            got.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(within, read_all).await.ok()?;
    Some(got)
}

/// A small, valid safetensors file.
fn safetensors_file() -> Vec<u8> {
    use safetensors::tensor::{Dtype, TensorView};
    let weight: Vec<u8> = (0..=255u8).cycle().take(64 * 1024).collect();
    let tensors = HashMap::from([(
        "img_in.weight".to_string(),
        TensorView::new(Dtype::F16, vec![128, 256], &weight).unwrap(),
    )]);
    safetensors::serialize(tensors, None).unwrap()
}

fn partial_uploads(server: &common::TestServer) -> Vec<String> {
    std::fs::read_dir(server.models_dir.join(".downloads"))
        .map(|dir| {
            dir.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.starts_with("upload-"))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_client_that_stalls_in_the_request_line_is_disconnected() {
    let server = common::start(&[("MODELS_HTTP_HEADER_TIMEOUT_SECS", "1")]).await;
    let mut stream = connect(&server).await;
    stream.write_all(b"GET /api/mod").await.unwrap();
    assert!(
        read_until_closed(&mut stream, Duration::from_secs(5))
            .await
            .is_some(),
        "a half-sent request line kept its connection open"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_its_response() {
    let server = common::start(&[("MODELS_HTTP_HEADER_TIMEOUT_SECS", "1")]).await;
    let mut stream = connect(&server).await;
    stream
        .write_all(b"GET /api/models/installed HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("the idle keep-alive connection stayed open");
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[tokio::test]
async fn idle_connections_over_the_limit_are_closed_and_a_request_still_gets_an_answer() {
    const LIMIT: usize = 4;
    const IDLE: usize = 16;
    // Long header timeout: only the connection limit can free the slots in time.
    let server = common::start(&[
        ("MODELS_HTTP_HEADER_TIMEOUT_SECS", "30"),
        ("MODELS_HTTP_MAX_CONNECTIONS", "4"),
    ])
    .await;
    let mut idle = Vec::new();
    for _ in 0..IDLE {
        idle.push(connect(&server).await);
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let response = client
        .get(server.url("/api/models/installed"))
        .send()
        .await
        .expect("a request waited behind idle connections");
    assert_eq!(response.status(), 200);

    let closed = join_all(
        idle.iter_mut()
            .map(|s| read_until_closed(s, Duration::from_secs(2))),
    )
    .await
    .into_iter()
    .filter(Option::is_some)
    .count();
    assert!(
        closed >= IDLE - LIMIT,
        "only {closed} of {IDLE} idle connections were closed with a limit of {LIMIT}"
    );
}

#[tokio::test]
async fn a_stalled_upload_is_cut_and_leaves_no_partial_file() {
    let server = common::start(&[("MODELS_HTTP_IDLE_TIMEOUT_SECS", "1")]).await;
    let mut stream = connect(&server).await;
    let head = "POST /api/models/upload HTTP/1.1\r\nHost: test\r\n\
                Content-Type: multipart/form-data; boundary=XB\r\nContent-Length: 1000000\r\n\r\n\
                --XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"m.safetensors\"\r\n\
                Content-Type: application/octet-stream\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
        .write_all(&safetensors_file()[..20_000])
        .await
        .unwrap();
    // The server is receiving the file now; the client sends nothing more.
    let answer = read_until_closed(&mut stream, Duration::from_secs(6))
        .await
        .expect("a stalled upload held its connection");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("\"code\":\"invalid_input\""), "{answer}");
    assert_eq!(partial_uploads(&server), Vec::<String>::new());
}

#[tokio::test]
async fn a_slow_upload_that_keeps_sending_is_not_cut() {
    let server = common::start(&[
        ("MODELS_HTTP_IDLE_TIMEOUT_SECS", "1"),
        ("MODELS_HTTP_HEADER_TIMEOUT_SECS", "1"),
    ])
    .await;
    let file = safetensors_file();
    let chunks: Vec<Bytes> = file
        .chunks(file.len() / 8 + 1)
        .map(Bytes::copy_from_slice)
        .collect();
    // Eight pieces 400 ms apart: the whole upload takes longer than both timeouts.
    let body = futures_util::stream::unfold(chunks.into_iter(), |mut rest| async move {
        let chunk = rest.next()?;
        tokio::time::sleep(Duration::from_millis(400)).await;
        Some((Ok::<_, std::io::Error>(chunk), rest))
    });
    let part = Part::stream(reqwest::Body::wrap_stream(body)).file_name("slow.safetensors");
    let response = reqwest::Client::new()
        .post(server.url("/api/models/upload"))
        .multipart(Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["model"]["totalSizeBytes"], file.len());
}
