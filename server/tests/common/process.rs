//! The real server binary as a child process on a free loopback port, for signals, restarts
//! and start-up messages.

use std::{
    io::Read,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

pub struct Process {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// Starts the server on `models_dir` with `vars` (on top of a test environment) and waits
    /// until `/healthz` answers.
    pub async fn start(models_dir: &Path, vars: &[(&str, &str)]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_at(models_dir, port, vars).await
    }

    /// As [`Process::start`], on `port` (`vars` may set `LEPTOS_SITE_ADDR` to another host).
    pub async fn start_at(models_dir: &Path, port: u16, vars: &[(&str, &str)]) -> Self {
        let log = models_dir.with_extension(format!("{port}.log"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_model-manager"));
        command.arg("serve");
        command
            .env("MODELS_DIR", models_dir)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("MODELS_MIN_FREE_BYTES", "0")
            .env("MODELS_DOWNLOAD_RETRY_BASE_MS", "50")
            .env("RUST_LOG", "info")
            // Never the real sites: a test that needs one points these at its fakes.
            .env("HF_ENDPOINT", "http://127.0.0.1:9")
            .env("CIVITAI_ENDPOINT", "http://127.0.0.1:9")
            // No automatic CivitAI lookups unless a test points CIVITAI_ENDPOINT at a fake.
            .env("MODELS_CIVITAI_LOOKUP", "false")
            .env_remove("HF_TOKEN")
            .env_remove("MODELS_AUTH_TOKEN")
            .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
            .stderr(Stdio::from(
                std::fs::File::options().append(true).open(&log).unwrap(),
            ));
        for (k, v) in vars {
            command.env(k, v);
        }
        let server = Self {
            child: command.spawn().expect("start the server"),
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        for _ in 0..200 {
            if reqwest::get(server.url("/healthz")).await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not start: {}", server.log());
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A REST client of this server.
    pub fn api(&self) -> super::api::Api {
        super::api::Api::new(&self.base)
    }

    pub fn log(&self) -> String {
        let mut s = String::new();
        let _ = std::fs::File::open(&self.log).and_then(|mut f| f.read_to_string(&mut s));
        s
    }

    /// Sends `signal` (TERM, INT) and waits up to `limit` for the process to end: its exit
    /// status and how long it took, or a panic with the log.
    pub fn stop_with(&mut self, signal: &str, limit: Duration) -> (ExitStatus, Duration) {
        let sent = Instant::now();
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{signal} failed");
        while sent.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, sent.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("still running {limit:?} after SIG{signal}:\n{}", self.log());
    }
}
