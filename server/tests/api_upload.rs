//! `POST /api/models/upload`, `GET/DELETE /api/models/installed` and the integrity check,
//! over real HTTP.

mod common;

use std::{collections::HashMap, path::Path, time::Duration};

use reqwest::multipart::{Form, Part};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// A real safetensors file, written by Hugging Face's `safetensors` crate.
fn safetensors_file() -> Vec<u8> {
    use safetensors::tensor::{Dtype, TensorView};
    let weight: Vec<u8> = (0..64u8).collect();
    let bias: Vec<u8> = vec![1; 8];
    let tensors = HashMap::from([
        (
            "double_blocks.0.img_attn.norm.key_norm.scale".to_string(),
            TensorView::new(Dtype::F16, vec![4, 8], &weight).unwrap(),
        ),
        (
            "img_in.bias".to_string(),
            TensorView::new(Dtype::BF16, vec![4], &bias).unwrap(),
        ),
    ]);
    let metadata = Some(HashMap::from([("format".to_string(), "pt".to_string())]));
    safetensors::serialize(tensors, metadata).unwrap()
}

/// A GGUF v3 file built byte by byte from ggml's docs/gguf.md: one KV, one F32 tensor.
fn gguf_file() -> Vec<u8> {
    let mut out = b"GGUF".to_vec();
    out.extend(3u32.to_le_bytes()); // version
    out.extend(1u64.to_le_bytes()); // tensor count
    out.extend(1u64.to_le_bytes()); // metadata kv count
    let key = b"general.architecture";
    out.extend((key.len() as u64).to_le_bytes());
    out.extend(key);
    out.extend(8u32.to_le_bytes()); // string
    out.extend(5u64.to_le_bytes());
    out.extend(b"llama");
    let name = b"token_embd.weight";
    out.extend((name.len() as u64).to_le_bytes());
    out.extend(name);
    out.extend(1u32.to_le_bytes()); // n_dims
    out.extend(4u64.to_le_bytes()); // dims
    out.extend(0u32.to_le_bytes()); // F32
    out.extend(0u64.to_le_bytes()); // offset
    while !out.len().is_multiple_of(32) {
        out.push(0);
    }
    out.extend([0u8; 16]);
    out
}

async fn upload(
    server: &common::TestServer,
    name: &str,
    bytes: Vec<u8>,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = Form::new().part("file", Part::bytes(bytes).file_name(name.to_string()));
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    let response = reqwest::Client::new()
        .post(server.url("/api/models/upload"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

/// Every file under `dir`, relative, except the database and its lock/backup.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                if !rel.starts_with("installed-models.json") {
                    out.push(rel);
                }
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn a_real_safetensors_upload_is_installed_hashed_verified_and_deleted() {
    let server = common::start(&[]).await;
    let bytes = safetensors_file();
    let sha = format!("{:x}", Sha256::digest(&bytes));
    let (status, body) = upload(
        &server,
        "my flux lora.safetensors",
        bytes.clone(),
        &[
            ("name", "My Flux LoRA"),
            ("type", "lora"),
            ("family", "flux"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let model = &body["model"];
    assert_eq!(model["name"], "My Flux LoRA");
    assert_eq!(model["source"], "upload");
    assert_eq!(model["files"][0]["path"], "lora/my flux lora.safetensors");
    assert_eq!(model["files"][0]["sha256"], sha);
    assert_eq!(model["totalSizeBytes"], bytes.len());
    assert_eq!(
        std::fs::read(server.models_dir.join("lora/my flux lora.safetensors")).unwrap(),
        bytes
    );

    let list: Value = reqwest::get(server.url("/api/models/installed"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["models"].as_array().unwrap().len(), 1);
    assert_eq!(list["totalDiskUsage"], bytes.len());
    assert!(list["diskFree"].as_u64().unwrap() > 0);

    let id = model["id"].as_str().unwrap();
    let client = reqwest::Client::new();
    let verify = |id: String| {
        let client = client.clone();
        let url = server.url(&format!("/api/models/installed/verify?id={id}"));
        async move {
            client
                .post(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let check = verify(id.to_string()).await;
    assert_eq!(check["verification"]["ok"], true, "{check}");

    // Tamper with the file: the integrity check says which file changed.
    let path = server.models_dir.join("lora/my flux lora.safetensors");
    let mut tampered = bytes.clone();
    tampered[100] ^= 0xff;
    std::fs::write(&path, &tampered).unwrap();
    let check = verify(id.to_string()).await;
    assert_eq!(check["verification"]["ok"], false);
    assert_eq!(
        check["verification"]["changed"][0],
        "lora/my flux lora.safetensors"
    );
    std::fs::remove_file(&path).unwrap();
    let check = verify(id.to_string()).await;
    assert_eq!(
        check["verification"]["missing"][0],
        "lora/my flux lora.safetensors"
    );
    std::fs::write(&path, &bytes).unwrap();

    let deleted = client
        .delete(server.url(&format!("/api/models/installed?id={id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    assert!(!path.exists(), "the file is deleted with its record");
    let again = client
        .delete(server.url(&format!("/api/models/installed?id={id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn gguf_and_pytorch_uploads_are_accepted() {
    let server = common::start(&[]).await;
    let (status, body) = upload(
        &server,
        "Qwen2.5-VL-7B-Instruct-Q8_0.gguf",
        gguf_file(),
        &[("type", "captioner"), ("family", "qwen")],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["model"]["files"][0]["path"],
        "qwen/Qwen2.5-VL-7B-Instruct-Q8_0.gguf"
    );
    assert_eq!(body["model"]["name"], "Qwen2.5-VL-7B-Instruct-Q8_0");
    // A zip with the layout torch.save writes (made by tests/fixtures' Python zipfile + pickle).
    let zip = include_bytes!("fixtures/tiny_torch_zip.pt").to_vec();
    let (status, body) = upload(&server, "model.ckpt", zip, &[]).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["model"]["files"][0]["path"], "custom/model.ckpt");
}

#[tokio::test]
async fn files_that_are_not_what_they_claim_are_415_and_leave_nothing() {
    let server = common::start(&[]).await;
    let good = safetensors_file();
    let mut bomb = u64::MAX.to_le_bytes().to_vec();
    bomb.extend(b"{}");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "notes.safetensors",
            b"just some text, renamed\n".to_vec(),
            "not a valid",
        ),
        (
            "cut.safetensors",
            good[..good.len() - 10].to_vec(),
            "truncated",
        ),
        ("bomb.safetensors", bomb, "100 MB"),
        ("fake.gguf", b"GGML not really".to_vec(), "GGUF"),
        ("script.pt", b"#!/bin/sh\necho hi\n".to_vec(), "PyTorch"),
        ("readme.txt", b"hello".to_vec(), "accepted types"),
    ];
    for (name, bytes, text) in cases {
        let (status, body) = upload(&server, name, bytes, &[]).await;
        assert_eq!(status, 415, "{name}: {body}");
        assert_eq!(body["error"]["code"], "unsupported_type");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(text),
            "{name}: {body}"
        );
    }
    assert_eq!(files_under(&server.models_dir), Vec::<String>::new());
}

#[tokio::test]
async fn bad_fields_size_limit_and_existing_files() {
    let server = common::start(&[("MODELS_UPLOAD_MAX_BYTES", "1000")]).await;
    let (status, body) = upload(
        &server,
        "a.safetensors",
        safetensors_file(),
        &[("type", "spaceship")],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "type");

    let (status, body) = upload(&server, "big.gguf", vec![b'G'; 5000], &[]).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "too_large");

    let (status, _) = upload(&server, "same.safetensors", safetensors_file(), &[]).await;
    assert_eq!(status, 201);
    let mut other = safetensors_file();
    let last = other.len() - 1;
    other[last] ^= 1;
    let (status, body) = upload(&server, "same.safetensors", other, &[]).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not overwritten"));
    assert_eq!(
        std::fs::read(server.models_dir.join("custom/same.safetensors")).unwrap(),
        safetensors_file()
    );
    assert_eq!(files_under(&server.models_dir), ["custom/same.safetensors"]);
}

#[tokio::test]
async fn an_upload_cut_off_mid_stream_leaves_nothing_behind() {
    let server = common::start(&[]).await;
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let boundary = "XBOUNDARYX";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.safetensors\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let request = format!(
        "POST /api/models/upload HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 50000000\r\n\r\n{head}"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(&safetensors_file()).await.unwrap();
    stream.write_all(&vec![0u8; 1 << 20]).await.unwrap();
    stream.flush().await.unwrap();
    // Let the server start writing the partial file, then vanish.
    let partial_dir = server.models_dir.join(".downloads");
    let mut saw_partial = false;
    for _ in 0..250 {
        saw_partial = std::fs::read_dir(&partial_dir).unwrap().next().is_some();
        if saw_partial {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(saw_partial, "the server never started writing the upload");
    drop(stream);
    let mut left = files_under(&server.models_dir);
    for _ in 0..100 {
        left = files_under(&server.models_dir);
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        left,
        Vec::<String>::new(),
        "a partial upload was left on disk"
    );
    let list: Value = reqwest::get(server.url("/api/models/installed"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["models"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn an_upload_of_a_file_already_installed_is_flagged_before_and_after() {
    let server = common::start(&[]).await;
    let bytes = safetensors_file();
    let lora = [("type", "lora"), ("family", "flux")];
    let (status, first) = upload(&server, "first.safetensors", bytes.clone(), &lora).await;
    assert_eq!(status, 201, "{first}");
    assert!(first.get("alreadyInstalled").is_none(), "{first}");
    let check = |query: String| {
        let url = server.url(&format!("/api/models/upload/check?{query}"));
        async move {
            let response = reqwest::get(url).await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let len = bytes.len();
    // Before transferring: name and size only.
    let (status, same) = check(format!("fileName=first.safetensors&sizeBytes={len}")).await;
    assert_eq!(status, 200, "{same}");
    assert_eq!(
        same["alreadyInstalled"],
        "a file of the same name and size is already installed as first (lora/first.safetensors)"
    );
    let (_, sized) = check(format!("fileName=other%20name.safetensors&sizeBytes={len}")).await;
    assert_eq!(
        sized["alreadyInstalled"],
        "a file of the same size is already installed as first (lora/first.safetensors)"
    );
    let (status, none) = check(format!("fileName=first.safetensors&sizeBytes={}", len + 1)).await;
    assert_eq!((status, none), (200, serde_json::json!({})));
    let (status, bad) = check("fileName=first.safetensors".into()).await;
    assert_eq!(status, 400, "{bad}");
    let (status, bad) = check(format!("fileName=..%2F&sizeBytes={len}")).await;
    assert_eq!(
        (status, &bad["error"]["field"]),
        (400, &"fileName".into()),
        "{bad}"
    );

    // Uploaded anyway: the answer says the same file is installed, and the duplicates list it.
    let (status, second) = upload(&server, "second.safetensors", bytes.clone(), &lora).await;
    assert_eq!(status, 201, "{second}");
    let said = second["alreadyInstalled"].as_str().unwrap_or_default();
    assert!(
        said.starts_with("already installed as first (lora/first.safetensors): the same file"),
        "{second}"
    );
    let list: Value = reqwest::get(server.url("/api/models/installed"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = &list["duplicates"][0]["paths"];
    assert_eq!(paths.as_array().map(Vec::len), Some(2), "{list}");
}
