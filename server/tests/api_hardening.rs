//! The server under slow, idle and hostile clients (raw TCP), and every error answered as
//! `{"error": {"code", "message"}}` with the status of its code, over real HTTP.

mod common;
mod fakes;

use std::{collections::HashMap, time::Duration};

use app::server_fns::models::RemoveCustomModel;
use bytes::Bytes;
use futures_util::future::join_all;
use leptos::server_fn::ServerFn;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
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

/// Status, `content-type` and body of an answer.
async fn answer(response: reqwest::Response) -> (u16, String, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, content_type, body)
}

#[tokio::test]
async fn every_rest_error_is_json_with_the_status_of_its_code() {
    let server = common::start(&[]).await;
    let client = reqwest::Client::new();
    let url = |path: &str| server.url(path);
    let huge = format!(
        r#"{{"name":"big","url":"https://203.0.113.7/m.safetensors","description":"{}"}}"#,
        "x".repeat(10 << 20)
    );
    let cases = [
        (client.get(url("/api/no-such-route")), 404, "not_found"),
        (
            client.delete(url("/api/models/upload")),
            405,
            "method_not_allowed",
        ),
        (client.put(url("/api/models")), 405, "method_not_allowed"),
        (
            client
                .post(url("/api/models"))
                .header("content-type", "application/json")
                .body(huge),
            413,
            "too_large",
        ),
        (
            client.post(url("/api/models")).body(r#"{"url":"x"}"#),
            415,
            "unsupported_type",
        ),
        (
            client
                .post(url("/api/models"))
                .header("content-type", "application/json")
                .body("{"),
            400,
            "invalid_input",
        ),
        (
            client.delete(url("/api/models/installed")),
            400,
            "invalid_input",
        ),
        (
            client.get(url("/api/models/download/%FF")),
            400,
            "invalid_input",
        ),
        (
            client
                .post(url("/api/models/upload"))
                .header("content-type", "application/json")
                .body("{}"),
            400,
            "invalid_input",
        ),
    ];
    for (request, status, code) in cases {
        let request = request.build().unwrap();
        let what = format!("{} {}", request.method(), request.url().path());
        let (got, content_type, body) = answer(client.execute(request).await.unwrap()).await;
        assert_eq!(got, status, "{what}: {body}");
        assert_eq!(content_type, "application/json", "{what}: {body}");
        assert_eq!(body["error"]["code"], code, "{what}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.len() > 10),
            "{what}: {body}"
        );
    }
}

#[tokio::test]
async fn server_function_errors_have_the_status_of_their_code() {
    let server = common::start(&[]).await;
    let client = reqwest::Client::new();
    let call = |form: &'static str| {
        client
            .post(server.url(RemoveCustomModel::PATH))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
    };
    for (form, status, code) in [
        ("id=flux-1-dev", 400, "invalid_input"),
        ("id=no-such-model", 404, "not_found"),
        ("", 400, "invalid_input"),
    ] {
        let (got, _, body) = answer(call(form).await.unwrap()).await;
        assert_eq!(got, status, "{form:?}: {body}");
        assert_eq!(body["code"], code, "{form:?}: {body}");
    }
}

#[tokio::test]
async fn a_huge_server_function_body_is_refused_before_it_is_read() {
    let server = common::start(&[]).await;
    let response = reqwest::Client::new()
        .post(server.url(RemoveCustomModel::PATH))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("id={}", "x".repeat(10 << 20)))
        .send()
        .await
        .unwrap();
    let (status, _, body) = answer(response).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["code"], "too_large", "{body}");
}

#[tokio::test]
async fn tokens_with_line_breaks_are_refused_naming_the_field() {
    let hf = fakes::serve(fakes::huggingface()).await;
    let server = common::start(&[("HF_ENDPOINT", &hf), ("CIVITAI_ENDPOINT", &hf)]).await;
    let client = reqwest::Client::new();
    let add = json!({"huggingfaceRepo": "acme/public-model",
                     "huggingfaceFiles": ["model.safetensors"],
                     "huggingfaceToken": "hf_good\r\nX-Injected: 1"});
    let download = json!({"modelId": "zimage-turbo-training-adapter",
                          "civitaiToken": "abc\ndef"});
    for (path, body, field, source) in [
        ("/api/models", add, "huggingfaceToken", "Hugging Face"),
        ("/api/models/download", download, "civitaiToken", "CivitAI"),
    ] {
        let response = client
            .post(server.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, _, answer) = answer(response).await;
        assert_eq!(status, 400, "{path}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
        assert_eq!(
            answer["error"]["message"],
            format!("the {source} token contains a line break; paste only the token")
        );
    }
    let jobs: Value = client
        .get(server.url("/api/models/download"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        jobs["jobs"],
        json!([]),
        "a job was queued with a broken token"
    );
}

#[tokio::test]
async fn bad_names_duplicate_files_and_private_links_are_refused_when_added() {
    let hf = fakes::serve(fakes::huggingface()).await;
    let server = common::start(&[("HF_ENDPOINT", &hf)]).await;
    let client = reqwest::Client::new();
    let public = "https://203.0.113.7/files/model.safetensors";
    let cases = [
        (
            json!({"huggingfaceRepo": "acme/public-model",
                   "huggingfaceFiles": ["model.safetensors", "config.json", "model.safetensors"]}),
            "huggingfaceFiles",
            "listed twice",
        ),
        (
            json!({"name": "lora\u{202E}srot.exe", "url": public}),
            "name",
            "text-direction",
        ),
        (
            json!({"url": "https://203.0.113.7/dl", "fileName": "a\nb.safetensors"}),
            "fileName",
            "control character",
        ),
        (
            json!({"url": "http://127.0.0.1:9/model.safetensors"}),
            "url",
            "MODELS_ALLOW_PRIVATE_URLS",
        ),
        (
            json!({"url": "http://[::1]/model.safetensors"}),
            "url",
            "MODELS_ALLOW_PRIVATE_URLS",
        ),
        (
            json!({"url": "https://192.168.1.20/model.safetensors"}),
            "url",
            "MODELS_ALLOW_PRIVATE_URLS",
        ),
    ];
    for (body, field, says) in cases {
        let response = client
            .post(server.url("/api/models"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, _, answer) = answer(response).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(says),
            "{body}: {answer}"
        );
    }
    assert!(
        !server.models_dir.join("installed-models.json").exists(),
        "a refused model was saved"
    );

    let allowed = common::start(&[("MODELS_ALLOW_PRIVATE_URLS", "true")]).await;
    let response = client
        .post(allowed.url("/api/models"))
        .json(&json!({"url": "http://127.0.0.1:9/model.safetensors"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
}
