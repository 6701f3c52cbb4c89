//! A client of the REST API for tests: JSON in and out, download jobs polled until they get
//! where a test wants them. Works for a server in this process and for the real binary.

use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
}

/// The statuses a job ends in.
pub const FINISHED: [&str; 3] = ["completed", "failed", "cancelled"];

impl Api {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_string(),
            client: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Status and JSON body (`Null` when the body is not JSON).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let r = request.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.client.post(self.url(path)).json(&body))
            .await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.client.put(self.url(path)).json(&body)).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(self.client.delete(self.url(path))).await
    }

    /// Adds a custom model (201 expected); its id.
    pub async fn add_custom(&self, body: Value) -> String {
        let (status, answer) = self.post("/api/models", body).await;
        assert_eq!(status, 201, "{answer}");
        answer["model"]["id"].as_str().unwrap().to_string()
    }

    /// Starts a download with `body` (202 expected); the job id.
    pub async fn start_with(&self, body: Value) -> String {
        let (status, answer) = self.post("/api/models/download", body).await;
        assert_eq!(status, 202, "{answer}");
        answer["jobId"].as_str().unwrap().to_string()
    }

    /// Starts a download of `model`; the job id.
    pub async fn start(&self, model: &str) -> String {
        self.start_with(json!({ "modelId": model })).await
    }

    pub async fn job(&self, id: &str) -> Value {
        self.get(&format!("/api/models/download/{id}")).await.1
    }

    /// Polls the job until `until` holds; panics after `limit`.
    pub async fn wait(&self, id: &str, limit: Duration, until: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let job = self.job(id).await;
            if until(&job) {
                return job;
            }
            assert!(
                started.elapsed() < limit,
                "job {id} did not get there within {limit:?}: {job}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls until the job has ended, at most 30 s.
    pub async fn finished(&self, id: &str) -> Value {
        self.wait(id, Duration::from_secs(30), |j| {
            FINISHED.contains(&j["status"].as_str().unwrap_or(""))
        })
        .await
    }

    /// Starts `model` and waits until it is installed; the installed record's id.
    pub async fn install(&self, model: &str) -> String {
        let id = self.start(model).await;
        let job = self.finished(&id).await;
        assert_eq!(job["status"], "completed", "{job}");
        job["installedModelId"].as_str().unwrap().to_string()
    }

    pub async fn upload(&self, name: &str, bytes: Vec<u8>) -> (u16, Value) {
        self.upload_with(name, bytes, &[]).await
    }

    /// Uploads `bytes` as `name` with the form's text `fields` (name, type, family).
    pub async fn upload_with(
        &self,
        name: &str,
        bytes: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut form = Form::new().part("file", Part::bytes(bytes).file_name(name.to_string()));
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        self.send(
            self.client
                .post(self.url("/api/models/upload"))
                .multipart(form),
        )
        .await
    }
}
