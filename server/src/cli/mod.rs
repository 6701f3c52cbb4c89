//! The command line: `model-manager SUBCOMMAND`. `serve` and `healthcheck` run in `main.rs`;
//! every other subcommand is a client of a running server's REST API, so the web page shows
//! what the shell started and the other way round. One file per group of subcommands:
//! `models.rs` (list, add, rm, verify), `download.rs` (download, jobs, cancel, pause, resume),
//! `library.rs` (scan, export); `client.rs` (REST client, errors, exit codes), `output.rs`
//! (tables and summaries), `progress.rs` (bars, JSON lines, log lines).

mod client;
mod download;
mod library;
mod models;
mod output;
mod progress;

use std::{
    ffi::OsString,
    io::{BufRead, Write},
    path::Path,
    process::ExitCode,
    time::Duration,
};

use clap::{Args, CommandFactory, Parser, Subcommand};

use client::Client;
pub use client::{CliError, Exit};
use output::Output;

const EXAMPLES: &str = "\
Examples:
  model-manager serve                                  # run the web app (http://127.0.0.1:3000)
  model-manager list --family flux
  model-manager download flux-1-schnell                # a built-in model, with a progress bar
  model-manager download ostris/some-lora/lora.safetensors
  model-manager download https://civitai.com/models/4384
  model-manager jobs
  model-manager rm flux-1-schnell

The other subcommands talk to a running server (--server, MODEL_MANAGER_URL); MODELS_AUTH_TOKEN
is sent as a bearer token when set.
Exit codes: 0 ok, 1 failed, 2 usage, 3 server unreachable, 4 not found, 5 auth needed.";

#[derive(Debug, Parser)]
#[command(
    name = "model-manager",
    version,
    arg_required_else_help = true,
    about = "Download, verify and organise image-model files on a pod's volume",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every client subcommand takes.
#[derive(Debug, Args)]
pub struct Global {
    /// The server to talk to.
    #[arg(
        long,
        global = true,
        env = "MODEL_MANAGER_URL",
        hide_env_values = true,
        default_value = "http://127.0.0.1:3000",
        value_name = "URL"
    )]
    pub server: String,
    /// Print JSON for scripts instead of tables (`download`: one object per line).
    #[arg(long, global = true)]
    pub json: bool,
}

/// Tokens for gated or login-only models: from standard input or the environment, never as an
/// argument (it would land in the shell's history and in `ps`).
#[derive(Debug, Clone, Default, Args)]
pub struct TokenArgs {
    /// Read a Hugging Face token from standard input (else HF_TOKEN is used when set).
    #[arg(long)]
    pub hf_token_stdin: bool,
    /// Read a CivitAI API key from standard input (else CIVITAI_TOKEN is used when set).
    #[arg(long)]
    pub civitai_token_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web app and the REST API (what the container and scripts/run.sh run).
    #[command(after_help = "Configured by environment variables: see the README's Configuration.")]
    Serve,
    /// Exit 0 when the server on LEPTOS_SITE_ADDR is ready (the image's HEALTHCHECK).
    Healthcheck,
    /// List models: built-in, custom and installed.
    #[command(after_help = models::LIST_EXAMPLES)]
    List(models::ListArgs),
    /// Add a custom model: a Hugging Face repo, a CivitAI link, a direct link, or upload a file.
    #[command(after_help = models::ADD_EXAMPLES)]
    Add(models::AddArgs),
    /// Download a model, adding it first when needed, with live progress.
    #[command(after_help = download::DOWNLOAD_EXAMPLES)]
    Download(download::DownloadArgs),
    /// List download jobs, newest first.
    #[command(
        after_help = "Example:\n  model-manager jobs\n  model-manager jobs --json | jq '.jobs[] | select(.status == \"failed\")'"
    )]
    Jobs,
    /// Cancel a download (its partial files are removed), or forget a finished job.
    #[command(
        after_help = "Example:\n  model-manager cancel 3f2a91c0        # any unique start of the id that `jobs` shows"
    )]
    Cancel(download::JobArgs),
    /// Pause a download, keeping its partial files.
    #[command(after_help = "Example:\n  model-manager pause 3f2a91c0")]
    Pause(download::JobArgs),
    /// Resume a paused download.
    #[command(after_help = "Example:\n  model-manager resume 3f2a91c0")]
    Resume(download::JobArgs),
    /// Re-hash installed files and compare them with the record (all installed models by default).
    #[command(
        after_help = "Examples:\n  model-manager verify\n  model-manager verify flux-1-schnell"
    )]
    Verify(models::VerifyArgs),
    /// Delete an installed model's files (asks first), or remove a custom model that is not installed.
    #[command(
        after_help = "Examples:\n  model-manager rm flux-1-schnell\n  model-manager rm flux-1-schnell --yes"
    )]
    Rm(models::RmArgs),
    /// Look for model files on the volume that the library does not know.
    #[command(after_help = "Example:\n  model-manager scan")]
    Scan,
    /// Write an AI Toolkit config for a dataset and an installed base model.
    #[command(after_help = library::EXPORT_EXAMPLES)]
    Export(library::ExportArgs),
    /// Print shell completions.
    #[command(after_help = COMPLETION_EXAMPLES)]
    Completions {
        /// bash, zsh, fish (also elvish, powershell)
        shell: clap_complete::Shell,
    },
}

const COMPLETION_EXAMPLES: &str = "\
Examples:
  model-manager completions bash > ~/.local/share/bash-completion/completions/model-manager
  model-manager completions zsh > ~/.zfunc/_model-manager      # with fpath+=(~/.zfunc)
  model-manager completions fish > ~/.config/fish/completions/model-manager.fish";

/// The arguments as clap should see them. Without any, it serves when started as `server`
/// (the binary's former name, the image's alias) or by `cargo leptos watch` (`watched`:
/// LEPTOS_WATCH is set); otherwise it prints the help.
pub fn with_default_command(
    args: impl IntoIterator<Item = OsString>,
    watched: bool,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    let as_server = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .is_some_and(|name| name == "server");
    if (as_server || watched) && args.len() == 1 {
        args.push("serve".into());
    }
    args
}

/// What every client subcommand needs.
pub struct Ctx {
    pub client: Client,
    pub output: Output,
}

/// Runs a client subcommand; prints its error with what to do next.
pub fn run(global: Global, command: Command) -> ExitCode {
    let output = Output::detect(global.json);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&CliError::Failed(format!("cannot start: {e}"))),
    };
    let result = runtime.block_on(dispatch(&global, output, command));
    // A question left unanswered (a second Ctrl-C) holds a blocking read of stdin.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &CliError) -> ExitCode {
    eprintln!("{} {e}", console::style("error:").red().bold().for_stderr());
    ExitCode::from(e.exit() as u8)
}

async fn dispatch(global: &Global, output: Output, command: Command) -> Result<(), CliError> {
    if let Command::Completions { shell } = command {
        let mut cli = Cli::command();
        clap_complete::generate(shell, &mut cli, "model-manager", &mut std::io::stdout());
        return Ok(());
    }
    let bearer = std::env::var("MODELS_AUTH_TOKEN").ok();
    let ctx = Ctx {
        client: Client::new(&global.server, bearer)?,
        output,
    };
    match command {
        Command::List(args) => models::list(&ctx, args).await,
        Command::Add(args) => models::add(&ctx, args).await,
        Command::Rm(args) => models::rm(&ctx, args).await,
        Command::Verify(args) => models::verify(&ctx, args).await,
        Command::Download(args) => download::download(&ctx, args).await,
        Command::Jobs => download::jobs(&ctx).await,
        Command::Cancel(args) => download::cancel(&ctx, args).await,
        Command::Pause(args) => {
            download::pause_or_resume(&ctx, args, download::Action::Pause).await
        }
        Command::Resume(args) => {
            download::pause_or_resume(&ctx, args, download::Action::Resume).await
        }
        Command::Scan => library::scan(&ctx).await,
        Command::Export(args) => library::export(&ctx, args).await,
        Command::Serve | Command::Healthcheck | Command::Completions { .. } => Ok(()),
    }
}

/// The tokens to send: read from stdin when asked (one line each, Hugging Face first), else
/// from `HF_TOKEN` / `CIVITAI_TOKEN`.
#[derive(Default)]
pub struct Tokens {
    pub huggingface: Option<String>,
    pub civitai: Option<String>,
}

impl Tokens {
    pub fn read(args: &TokenArgs) -> Result<Self, CliError> {
        let env = |name: &str| std::env::var(name).ok().filter(|t| !t.trim().is_empty());
        let mut stdin = std::io::stdin().lock();
        let mut line = |what: &str| -> Result<String, CliError> {
            let unreadable =
                |e: std::io::Error| CliError::Usage(format!("cannot read the {what}: {e}"));
            // Typed at a terminal, a secret is not echoed (rpassword turns echo off on the
            // tty); piped in, it is the first line.
            let token = if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                rpassword::prompt_password(format!("{what} (not shown): ")).map_err(unreadable)?
            } else {
                let mut token = String::new();
                stdin.read_line(&mut token).map_err(unreadable)?;
                token
            };
            let token = token.trim().to_string();
            match token.is_empty() {
                true => Err(CliError::Usage(format!(
                    "no {what} on standard input: pipe it in, e.g. `cat ~/.hf_token | model-manager ...`"
                ))),
                false => Ok(token),
            }
        };
        let huggingface = match args.hf_token_stdin {
            true => Some(line("Hugging Face token")?),
            false => env("HF_TOKEN"),
        };
        let civitai = match args.civitai_token_stdin {
            true => Some(line("CivitAI API key")?),
            false => env("CIVITAI_TOKEN"),
        };
        Ok(Self {
            huggingface,
            civitai,
        })
    }
}

/// Asks a yes/no question on the terminal (stderr); no answer (EOF) is no.
pub fn confirm(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    is_yes(&answer)
}

pub fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(args)
    }

    #[test]
    fn started_as_server_without_arguments_it_serves() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            with_default_command(args(&["/usr/local/bin/server"]), false),
            args(&["/usr/local/bin/server", "serve"])
        );
        assert_eq!(
            with_default_command(args(&["server", "healthcheck"]), false),
            args(&["server", "healthcheck"])
        );
        assert_eq!(
            with_default_command(args(&["model-manager"]), false),
            args(&["model-manager"])
        );
        assert_eq!(
            with_default_command(args(&["target/debug/model-manager"]), true),
            args(&["target/debug/model-manager", "serve"])
        );
        assert!(matches!(
            parse(&["server", "serve"]).unwrap().command,
            Command::Serve
        ));
    }

    #[test]
    fn the_command_line_is_consistent_and_every_subcommand_has_help() {
        Cli::command().debug_assert();
        for sub in Cli::command().get_subcommands() {
            assert!(sub.get_about().is_some(), "{} has no help", sub.get_name());
        }
    }

    #[test]
    fn usage_errors_exit_2_and_tokens_are_never_arguments() {
        let e = parse(&["model-manager", "list", "--family", "nope"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let e = parse(&["model-manager", "download", "x", "--hf-token", "hf_abc"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(parse(&["model-manager", "download", "x", "--hf-token-stdin"]).is_ok());
        let e = parse(&["model-manager"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn global_options_go_anywhere() {
        let cli = parse(&["model-manager", "jobs", "--json", "--server", "http://h:1"]).unwrap();
        assert!(cli.global.json);
        assert_eq!(cli.global.server, "http://h:1");
    }

    #[test]
    fn only_y_or_yes_is_yes() {
        assert!(is_yes("y\n") && is_yes(" YES "));
        assert!(!is_yes("") && !is_yes("n") && !is_yes("yep"));
    }
}
