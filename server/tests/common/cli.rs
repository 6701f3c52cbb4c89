//! The command line as a user runs it: the real `model-manager` binary as a child process,
//! talking to a server (`MODEL_MANAGER_URL`), with a clean environment of tokens.

use std::{
    io::{Read, Write},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The whole of stdout as one JSON document.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// Every line of stdout as JSON (`download --json`).
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
            .collect()
    }

    /// Asserts the exit code, showing both outputs when it is not.
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(self.code, code, "{self:#?}");
        self
    }
}

/// A command line against the server at `base`.
pub struct Cli {
    pub base: String,
    pub env: Vec<(String, String)>,
}

impl Cli {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_string(),
            env: vec![],
        }
    }

    /// The same, with `name=value` in its environment.
    pub fn with_env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Runs `model-manager ARGS` with nothing on stdin.
    pub async fn run(&self, args: &[&str]) -> Run {
        self.run_with_input(args, "").await
    }

    /// Runs `model-manager ARGS` with `input` on stdin; fails the test after 60 s.
    pub async fn run_with_input(&self, args: &[&str], input: &str) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_model-manager"));
        command
            .args(args)
            .env("MODEL_MANAGER_URL", &self.base)
            .env_remove("MODELS_AUTH_TOKEN")
            .env_remove("HF_TOKEN")
            .env_remove("CIVITAI_TOKEN")
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            command.env(k, v);
        }
        let input = input.to_string();
        let label = args.join(" ");
        tokio::task::spawn_blocking(move || {
            let mut child = command.spawn().expect("start model-manager");
            let mut stdin = child.stdin.take().unwrap();
            let _ = stdin.write_all(input.as_bytes());
            drop(stdin);
            let mut stdout = child.stdout.take().unwrap();
            let mut stderr = child.stderr.take().unwrap();
            let out = std::thread::spawn(move || {
                let mut s = String::new();
                let _ = stdout.read_to_string(&mut s);
                s
            });
            let err = std::thread::spawn(move || {
                let mut s = String::new();
                let _ = stderr.read_to_string(&mut s);
                s
            });
            let started = Instant::now();
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break status;
                }
                if started.elapsed() > Duration::from_secs(60) {
                    let _ = child.kill();
                    panic!("`model-manager {label}` still runs after 60 s");
                }
                std::thread::sleep(Duration::from_millis(10));
            };
            Run {
                code: status.code().unwrap_or(-1),
                stdout: out.join().unwrap(),
                stderr: err.join().unwrap(),
            }
        })
        .await
        .unwrap()
    }
}
