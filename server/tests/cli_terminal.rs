//! `model-manager download` in a real terminal (a pseudo-terminal, read back through a terminal
//! emulator): the progress bar is redrawn in place, and Ctrl-C asks whether to cancel the
//! download or leave it running on the server.

mod common;
mod fakes;

use std::{
    io::{Read, Write},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::process::Process;
use fakes::hub::{self, FakeFile};
use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};

const ROWS: u16 = 24;
const COLS: u16 = 110;
const NAME: &str = "Slow TTY";
const QUESTION: &str = "Cancel the download on the server? [y/N]";

/// `model-manager ARGS` on a terminal of ROWS x COLS, and everything it wrote so far.
struct Terminal {
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    output: Arc<Mutex<Vec<u8>>>,
}

impl Terminal {
    fn start(base: &str, args: &[&str]) -> Self {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_model-manager"));
        command.args(args);
        command.env("MODEL_MANAGER_URL", base);
        command.env("TERM", "xterm-256color");
        for name in ["NO_COLOR", "MODELS_AUTH_TOKEN", "HF_TOKEN", "CIVITAI_TOKEN"] {
            command.env_remove(name);
        }
        let child = pair.slave.spawn_command(command).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Self {
            master: pair.master,
            writer,
            child,
            output,
        }
    }

    /// Everything written so far, escape sequences included.
    fn raw(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// What the screen shows now, as a terminal draws it, one line per row.
    fn screen(&self) -> String {
        let mut parser = vt100::Parser::new(ROWS.try_into().unwrap(), COLS.try_into().unwrap(), 0);
        parser.process(&self.output.lock().unwrap());
        let rows: Vec<String> = parser.screen().rows(0, COLS).collect();
        rows.join("\n").trim_end().to_string()
    }

    /// Waits until `until` holds for the raw output; panics with the screen after 20 s.
    fn wait_for(&self, what: &str, until: impl Fn(&str) -> bool) {
        let started = Instant::now();
        while !until(&self.raw()) {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no {what} on the terminal:\n{}\n--- raw ---\n{:?}",
                self.screen(),
                self.raw()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
    }

    /// The exit code, waiting at most 10 s.
    fn exit_code(&mut self) -> u32 {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let _ = &self.master;
                return status.exit_code();
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "still running:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_progress_bar_redraws_in_place_and_ctrl_c_asks_before_cancelling() {
    let hub = hub::start().await;
    hub.put(
        "hf/acme/slow-tty/model.safetensors",
        FakeFile {
            throttle: Some(Duration::from_millis(40)),
            ..FakeFile::new(hub::safetensors(32 << 20, 21))
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Process::start(
        &dir.path().join("models"),
        &[("HF_ENDPOINT", &hub.base), ("CIVITAI_ENDPOINT", &hub.base)],
    )
    .await;
    let args = [
        "download",
        "acme/slow-tty/model.safetensors",
        "--name",
        NAME,
    ];
    let base = server.base.clone();

    let first = tokio::task::spawn_blocking(move || {
        let mut terminal = Terminal::start(&base, &args);
        // The bar is drawn again and again as bytes arrive ...
        terminal.wait_for("redrawn progress bar", |raw| {
            raw.matches(NAME).count() >= 4 && raw.contains("MB/s")
        });
        let screen = terminal.screen();
        // ... in place: the screen holds one job bar and one file bar, never a scrolling log.
        let bar_lines: Vec<&str> = screen.lines().filter(|l| l.starts_with(NAME)).collect();
        assert_eq!(bar_lines.len(), 1, "one bar on the screen:\n{screen}");
        assert!(
            bar_lines[0].contains("MB/s") && bar_lines[0].contains("left"),
            "{screen}"
        );
        assert_eq!(
            screen
                .lines()
                .filter(|l| l.starts_with("  model.safetensors"))
                .count(),
            1,
            "one file bar:\n{screen}"
        );
        assert!(
            terminal.raw().contains("\x1b["),
            "redrawn with cursor movements"
        );

        // Ctrl-C asks; "no" leaves the download running on the server.
        terminal.send(b"\x03");
        terminal.wait_for("question", |raw| raw.contains(QUESTION));
        terminal.send(b"n\r");
        assert_eq!(terminal.exit_code(), 0, "{}", terminal.screen());
        let screen = terminal.screen();
        assert!(screen.contains("Left running on the server"), "{screen}");
        // The bars stay as they were when interrupted, once, above the question.
        let rows: Vec<&str> = screen.lines().collect();
        let bar = rows.iter().position(|l| l.starts_with(NAME));
        let question = rows.iter().position(|l| l.starts_with(QUESTION));
        assert!(
            bar.is_some() && bar < question,
            "the bar, then the question:\n{screen}"
        );
        assert_eq!(
            rows.iter().filter(|l| l.starts_with(NAME)).count(),
            1,
            "{screen}"
        );
        terminal.raw()
    })
    .await
    .unwrap();
    let api = server.api();
    let jobs = api.get("/api/models/download").await.1;
    let job = jobs["jobs"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(jobs["jobs"][0]["status"], "downloading", "{first}");

    // The same command follows the same job; Ctrl-C and "y" cancel it on the server.
    let base = server.base.clone();
    let second = tokio::task::spawn_blocking(move || {
        let mut terminal = Terminal::start(&base, &args);
        terminal.wait_for("the running job", |raw| {
            raw.contains("Already downloading") && raw.matches(NAME).count() >= 2
        });
        terminal.send(b"\x03");
        terminal.wait_for("question", |raw| raw.contains(QUESTION));
        terminal.send(b"y\r");
        let code = terminal.exit_code();
        (code, terminal.screen())
    })
    .await
    .unwrap();
    assert_eq!(second.0, 1, "{}", second.1);
    assert!(second.1.contains("cancelled"), "{}", second.1);
    let cancelled = api.job(&job).await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");

    // A download that finishes: the bars go, one line says what was installed.
    hub.put(
        "hf/acme/quick-tty/model.safetensors",
        FakeFile {
            throttle: Some(Duration::from_millis(20)),
            ..FakeFile::new(hub::safetensors(2 << 20, 22))
        },
    );
    let base = server.base.clone();
    let (code, screen) = tokio::task::spawn_blocking(move || {
        let quick = [
            "download",
            "acme/quick-tty/model.safetensors",
            "--name",
            "Quick",
        ];
        let mut terminal = Terminal::start(&base, &quick);
        let code = terminal.exit_code();
        (code, terminal.screen())
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.lines().any(|l| l.starts_with("✓ Quick installed")),
        "{screen}"
    );
    assert!(
        !screen
            .lines()
            .any(|l| l.starts_with("Quick ") || l.starts_with("  model.safetensors")),
        "no bar left behind:\n{screen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_typed_at_the_terminal_is_not_echoed_and_reaches_the_gated_repo() {
    const TOKEN: &str = hub::GOOD_TOKEN;
    let hub = hub::start().await;
    hub.put(
        "hf/acme/gated-tty/model.safetensors",
        FakeFile::new(hub::safetensors(1 << 20, 23)),
    );
    hub.gate("acme/gated-tty");
    let dir = tempfile::tempdir().unwrap();
    let server = Process::start(
        &dir.path().join("models"),
        &[("HF_ENDPOINT", &hub.base), ("CIVITAI_ENDPOINT", &hub.base)],
    )
    .await;
    let base = server.base.clone();
    let (code, raw, screen) = tokio::task::spawn_blocking(move || {
        let args = [
            "download",
            "acme/gated-tty/model.safetensors",
            "--name",
            "Gated TTY",
            "--hf-token-stdin",
        ];
        let mut terminal = Terminal::start(&base, &args);
        terminal.wait_for("token prompt", |raw| raw.contains("Hugging Face token"));
        terminal.send(format!("{TOKEN}\r").as_bytes());
        let code = terminal.exit_code();
        (code, terminal.raw(), terminal.screen())
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{screen}");
    assert!(!raw.contains(TOKEN), "the token was echoed:\n{screen}");
    assert!(
        screen
            .lines()
            .any(|l| l.starts_with("✓ Gated TTY installed")),
        "{screen}"
    );
    // Installed from a gated repo: the typed token reached the Hub (without it, a 401).
}
