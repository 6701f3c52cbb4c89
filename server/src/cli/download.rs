//! `download`, `jobs`, `cancel`, `pause`, `resume`: download jobs on the server.

use std::time::Duration;

use app::domain::{DownloadJob, JobStatus, Model};
use clap::Args;
use serde_json::{json, Value};
use tokio::signal::unix::{signal, Signal, SignalKind};

use super::{
    client::{decode, CliError},
    is_yes,
    models::{self, ModelMeta, Source},
    output,
    progress::Progress,
    Ctx, TokenArgs, Tokens,
};

pub const DOWNLOAD_EXAMPLES: &str = "\
Examples:
  model-manager download flux-1-schnell                        # a model from `model-manager list`
  model-manager download acme/lora-repo/lora.safetensors --type lora --family flux
  model-manager download acme/lora-repo                        # a repo already in the list
  model-manager download https://civitai.com/models/4384
  model-manager download https://example.com/vae.safetensors
  model-manager download flux-1-dev --hf-token-stdin < ~/.hf_token
  model-manager download flux-1-schnell --detach               # prints the job id and returns
  model-manager download flux-1-schnell --json | jq -c '{status, bytesDownloaded}'

A model that is not in the list yet is added first. Ctrl-C asks whether to cancel the download
or leave it running on the server; the same command follows it again later.";

/// How often a followed job is asked for.
const POLL: Duration = Duration::from_millis(250);

#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// A model id, ORG/REPO or ORG/REPO/FILE on Hugging Face, a CivitAI link, or a direct link.
    target: String,
    /// Hugging Face branch, tag or commit for ORG/REPO/FILE (default: main).
    #[arg(long)]
    revision: Option<String>,
    /// Start the download and print its job id; do not follow it.
    #[arg(long)]
    detach: bool,
    #[command(flatten)]
    meta: ModelMeta,
    #[command(flatten)]
    tokens: TokenArgs,
}

#[derive(Debug, Args)]
pub struct JobArgs {
    /// A job id, or any unique start of one (as `model-manager jobs` shows it).
    job: String,
}

/// What a download argument names.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// An id from `model-manager list`.
    Model(String),
    /// A Hugging Face repo without a file: a model in the list must have it.
    Repo(String),
    /// A source to add first.
    Add(Source),
}

/// Reads a download argument. Links to civitai.com (or AIR urns) are CivitAI; links to a file
/// on huggingface.co (`/ORG/REPO/resolve|blob/REV/FILE`) are Hugging Face; other links are
/// direct; `ORG/REPO[/FILE]` is Hugging Face; anything else is a model id.
pub fn classify(arg: &str, revision: Option<&str>) -> Target {
    let revision = revision.map(str::to_string);
    if arg.starts_with("urn:air:") {
        return Target::Add(Source::Civitai(arg.into()));
    }
    if let Ok(url) = url::Url::parse(arg) {
        if matches!(url.scheme(), "http" | "https") {
            let host = url.host_str().unwrap_or_default();
            let host = host.strip_prefix("www.").unwrap_or(host);
            if ["civitai.com", "civitai.red"].contains(&host) {
                return Target::Add(Source::Civitai(arg.into()));
            }
            if host == "huggingface.co" {
                if let Some(source) = hub_file_link(url.path()) {
                    return Target::Add(source);
                }
            }
            return Target::Add(Source::Url {
                url: arg.into(),
                sha256: None,
                file_name: None,
            });
        }
    }
    let parts: Vec<&str> = arg.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        [_] => Target::Model(arg.into()),
        [org, repo] => Target::Repo(format!("{org}/{repo}")),
        [org, repo, file @ ..] => Target::Add(Source::Huggingface {
            repo: format!("{org}/{repo}"),
            files: vec![file.join("/")],
            revision,
        }),
        [] => Target::Model(arg.into()),
    }
}

/// `/ORG/REPO/resolve/REV/FILE` (or `blob`) as a Hugging Face source.
fn hub_file_link(path: &str) -> Option<Source> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        [org, repo, "resolve" | "blob", rev, file @ ..] if !file.is_empty() => {
            Some(Source::Huggingface {
                repo: format!("{org}/{repo}"),
                files: vec![file.join("/")],
                revision: Some(rev.to_string()).filter(|r| r != "main"),
            })
        }
        _ => None,
    }
}

/// The description a model added by `download` carries: the next `download` of the same
/// argument finds it instead of adding it twice.
pub fn added_note(target: &str) -> String {
    format!("Added by `model-manager download {target}`.")
}

async fn catalog(ctx: &Ctx) -> Result<Vec<Model>, CliError> {
    decode(ctx.client.get("/api/models").await?["models"].clone())
}

/// The model id to download for `args.target`, adding the model when needed.
async fn model_for(ctx: &Ctx, args: &DownloadArgs, tokens: &Tokens) -> Result<String, CliError> {
    match classify(&args.target, args.revision.as_deref()) {
        Target::Model(id) => Ok(id),
        Target::Repo(repo) => {
            let models = catalog(ctx).await?;
            let mut matching = models.iter().filter(|m| m.repo.as_deref() == Some(&repo));
            match (matching.next(), matching.next()) {
                (Some(model), None) => Ok(model.id.clone()),
                (None, _) => Err(CliError::Usage(format!(
                    "{repo} is not in the list yet: name the file(s) to take, e.g. `model-manager download {repo}/model.safetensors`, or `model-manager add hf {repo} FILE...`"
                ))),
                (Some(_), Some(_)) => Err(CliError::Usage(format!(
                    "several models come from {repo}: download one by its id (`model-manager list --search {repo}`)"
                ))),
            }
        }
        Target::Add(source) => {
            let note = added_note(&args.target);
            let known = catalog(ctx).await?;
            if let Some(model) = known.iter().find(|m| m.description == note) {
                return Ok(model.id.clone());
            }
            let model = models::add_model(ctx, &source, &args.meta, tokens, Some(&note)).await?;
            if !ctx.output.json {
                eprintln!("Added {} as {}", model.name, model.id);
            }
            Ok(model.id)
        }
    }
}

/// The active job of `model_id` on the server's volume, if there is one.
async fn running_job(ctx: &Ctx, model_id: &str) -> Result<Option<String>, CliError> {
    let jobs: Vec<DownloadJob> =
        decode(ctx.client.get("/api/models/download").await?["jobs"].clone())?;
    Ok(jobs
        .into_iter()
        .find(|j| j.model_id == model_id && j.status.is_active())
        .map(|j| j.id))
}

fn following(ctx: &Ctx, job_id: &str) {
    if !ctx.output.json {
        eprintln!(
            "Already downloading: following job {}",
            output::short_id(job_id)
        );
    }
}

pub async fn download(ctx: &Ctx, args: DownloadArgs) -> Result<(), CliError> {
    let tokens = Tokens::read(&args.tokens)?;
    let model_id = model_for(ctx, &args, &tokens).await?;
    let body = json!({
        "modelId": model_id,
        "huggingfaceToken": tokens.huggingface,
        "civitaiToken": tokens.civitai,
    });
    let already = running_job(ctx, &model_id).await?;
    let answer = ctx.client.post("/api/models/download", &body).await?;
    let job_id = match (answer.status, answer.conflict_job()) {
        // A model another command (or server on the volume) is downloading answers with
        // that same job: say it is being followed, not started.
        (202, _) => {
            let id = decode::<String>(answer.body["jobId"].clone())?;
            if already.as_deref() == Some(id.as_str()) {
                following(ctx, &id);
            }
            id
        }
        (409, Some(running)) => {
            following(ctx, running);
            running.to_string()
        }
        (409, None) if !ctx.output.json => {
            println!("{model_id} is already installed");
            return Ok(());
        }
        (409, None) => {
            ctx.output
                .json_line(&json!({ "modelId": model_id, "installed": true }));
            return Ok(());
        }
        (400, _) if answer.body["error"]["field"].as_str().is_some_and(|f| f.ends_with("Token")) => {
            return Err(CliError::Auth(format!(
                "{}: give it with --hf-token-stdin / --civitai-token-stdin, or set HF_TOKEN / CIVITAI_TOKEN",
                answer.error()
            )))
        }
        (404, _) => {
            return Err(CliError::NotFound(format!(
                "{}: `model-manager list` shows the ids, or give ORG/REPO/FILE or a link",
                answer.error()
            )))
        }
        _ => return Err(answer.error()),
    };
    if args.detach {
        match ctx.output.json {
            true => ctx.output.json_line(&json!({ "jobId": job_id })),
            false => println!("{job_id}"),
        }
        return Ok(());
    }
    follow(ctx, &job_id).await
}

/// What the user chose on Ctrl-C.
enum Interrupted {
    Cancel,
    Leave,
}

/// Shows the job until it ends; Ctrl-C asks whether to cancel it or leave it running.
async fn follow(ctx: &Ctx, job_id: &str) -> Result<(), CliError> {
    let mut interrupts = signal(SignalKind::interrupt())
        .map_err(|e| CliError::Failed(format!("cannot watch for Ctrl-C: {e}")))?;
    let mut progress = Progress::new(&ctx.output);
    loop {
        let raw = ctx
            .client
            .get(&format!("/api/models/download/{job_id}"))
            .await?;
        let job: DownloadJob = decode(raw.clone())?;
        progress.update(&job, &raw);
        // A paused job waits for a person (a token, or `resume`): following it would never end.
        if job.status.is_finished() || job.status == JobStatus::Paused {
            progress.clear();
            return outcome(ctx, &job);
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = interrupts.recv() => {
                progress.freeze();
                return match ask_on_interrupt(ctx, &job, &mut interrupts).await {
                    Interrupted::Cancel => cancel_job(ctx, &job).await,
                    Interrupted::Leave => {
                        eprintln!(
                            "Left running on the server as job {}: `model-manager jobs` shows it, the same command follows it again.",
                            output::short_id(&job.id)
                        );
                        Ok(())
                    }
                };
            }
        }
    }
}

pub const CANCEL_QUESTION: &str = "Cancel the download on the server?";

async fn ask_on_interrupt(ctx: &Ctx, job: &DownloadJob, interrupts: &mut Signal) -> Interrupted {
    if !ctx.output.interactive {
        return Interrupted::Leave;
    }
    // From the start of a fresh line, wherever the bars and the `^C` echo left the cursor.
    eprint!("\r\n");
    eprint!(
        "{CANCEL_QUESTION} [y/N] (no: {} keeps downloading) ",
        job.model_name
    );
    let read = tokio::task::spawn_blocking(|| {
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).map(|_| answer)
    });
    tokio::select! {
        answer = read => match answer {
            Ok(Ok(answer)) if is_yes(&answer) => Interrupted::Cancel,
            _ => Interrupted::Leave,
        },
        // A second Ctrl-C: go, and leave the download alone.
        _ = interrupts.recv() => {
            eprintln!();
            Interrupted::Leave
        }
    }
}

async fn cancel_job(ctx: &Ctx, job: &DownloadJob) -> Result<(), CliError> {
    let answer = ctx
        .client
        .delete(&format!("/api/models/download/{}", job.id))
        .await?
        .ok()?;
    if ctx.output.json {
        ctx.output.json_line(&answer);
    }
    Err(CliError::Failed(format!(
        "cancelled: the download of {} stopped and its partial files were removed",
        job.model_name
    )))
}

/// The end of a followed job: success, or an error that says what to do.
fn outcome(ctx: &Ctx, job: &DownloadJob) -> Result<(), CliError> {
    match job.status {
        JobStatus::Completed => {
            if !ctx.output.json {
                println!(
                    "{} {} installed ({}) as {}",
                    console::style("✓").green(),
                    job.model_name,
                    app::format::bytes(job.bytes_downloaded),
                    job.installed_model_id.as_deref().unwrap_or("?")
                );
            }
            Ok(())
        }
        JobStatus::Cancelled => Err(CliError::Failed(format!(
            "the download of {} was cancelled",
            job.model_name
        ))),
        JobStatus::Paused => Err(CliError::Failed(format!(
            "the download of {} is paused (its partial files are kept): `model-manager resume {}`, or run this command again with the token it needs",
            job.model_name,
            output::short_id(&job.id)
        ))),
        _ => {
            let (code, message) = job
                .error
                .as_ref()
                .map(|e| (output::wire_name(e.code), e.message.clone()))
                .unwrap_or_else(|| (String::new(), "the download failed".into()));
            match code.as_str() {
                "token_required" | "access_denied" => Err(CliError::Auth(format!(
                    "{message}\nGive a token with --hf-token-stdin / --civitai-token-stdin, or set HF_TOKEN / CIVITAI_TOKEN."
                ))),
                _ => Err(CliError::Failed(message)),
            }
        }
    }
}

async fn all_jobs(ctx: &Ctx) -> Result<Value, CliError> {
    ctx.client.get("/api/models/download").await
}

pub async fn jobs(ctx: &Ctx) -> Result<(), CliError> {
    let answer = all_jobs(ctx).await?;
    if ctx.output.json {
        ctx.output.json_line(&answer);
        return Ok(());
    }
    let jobs: Vec<DownloadJob> = decode(answer["jobs"].clone())?;
    match jobs.is_empty() {
        true => eprintln!("No download jobs."),
        false => println!("{}", output::jobs_table(&ctx.output, &jobs)),
    }
    Ok(())
}

/// The job id `prefix` starts, when exactly one does.
pub fn match_job<'a>(ids: &[&'a str], prefix: &str) -> Result<&'a str, CliError> {
    if let Some(exact) = ids.iter().find(|id| **id == prefix) {
        return Ok(exact);
    }
    let matching: Vec<&&str> = ids.iter().filter(|id| id.starts_with(prefix)).collect();
    match matching.as_slice() {
        [one] => Ok(one),
        [] => Err(CliError::NotFound(format!(
            "no download job {prefix:?}: `model-manager jobs` lists them"
        ))),
        _ => Err(CliError::Usage(format!(
            "{prefix:?} starts {} job ids: give more of it",
            matching.len()
        ))),
    }
}

async fn job_id(ctx: &Ctx, prefix: &str) -> Result<String, CliError> {
    let jobs: Vec<DownloadJob> = decode(all_jobs(ctx).await?["jobs"].clone())?;
    let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
    match_job(&ids, prefix).map(str::to_string)
}

fn print_job(ctx: &Ctx, answer: &Value, verb: &str) -> Result<(), CliError> {
    if ctx.output.json {
        ctx.output.json_line(answer);
        return Ok(());
    }
    let job: DownloadJob = decode(answer.clone())?;
    println!(
        "{verb} {} ({}): {}",
        output::short_id(&job.id),
        job.model_name,
        output::status_word(job.status)
    );
    Ok(())
}

pub async fn cancel(ctx: &Ctx, args: JobArgs) -> Result<(), CliError> {
    let id = job_id(ctx, &args.job).await?;
    let answer = ctx
        .client
        .delete(&format!("/api/models/download/{id}"))
        .await?
        .ok()?;
    print_job(ctx, &answer, "Cancelled")
}

#[derive(Debug, Clone, Copy)]
pub enum Action {
    Pause,
    Resume,
}

pub async fn pause_or_resume(ctx: &Ctx, args: JobArgs, action: Action) -> Result<(), CliError> {
    let (path, feature, verb) = match action {
        Action::Pause => ("pause", "pausing downloads", "Paused"),
        Action::Resume => ("resume", "resuming downloads", "Resumed"),
    };
    let id = job_id(ctx, &args.job).await?;
    let answer = ctx
        .client
        .post(&format!("/api/models/download/{id}/{path}"), &json!({}))
        .await?
        .supported(feature)?
        .ok()?;
    print_job(ctx, &answer, verb)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hf(repo: &str, file: &str, revision: Option<&str>) -> Target {
        Target::Add(Source::Huggingface {
            repo: repo.into(),
            files: vec![file.into()],
            revision: revision.map(str::to_string),
        })
    }

    #[test]
    fn download_arguments_name_a_model_a_repo_or_a_source() {
        assert_eq!(
            classify("flux-1-dev", None),
            Target::Model("flux-1-dev".into())
        );
        assert_eq!(
            classify("acme/lora", None),
            Target::Repo("acme/lora".into())
        );
        assert_eq!(
            classify("acme/lora/sub/a.safetensors", Some("v2")),
            hf("acme/lora", "sub/a.safetensors", Some("v2"))
        );
        assert_eq!(
            classify(
                "https://huggingface.co/acme/lora/resolve/main/a.safetensors?download=true",
                None
            ),
            hf("acme/lora", "a.safetensors", None)
        );
        assert_eq!(
            classify("https://huggingface.co/acme/lora/blob/v1/x/a.gguf", None),
            hf("acme/lora", "x/a.gguf", Some("v1"))
        );
        for civitai in [
            "https://civitai.com/models/4384?modelVersionId=128713",
            "https://www.civitai.com/api/download/models/128713",
            "https://civitai.red/models/1",
            "urn:air:sdxl:lora:civitai:4384@128713",
        ] {
            assert_eq!(
                classify(civitai, None),
                Target::Add(Source::Civitai(civitai.into()))
            );
        }
        let direct = "https://example.com/files/vae.safetensors";
        assert_eq!(
            classify(direct, None),
            Target::Add(Source::Url {
                url: direct.into(),
                sha256: None,
                file_name: None
            })
        );
    }

    #[test]
    fn a_job_is_named_by_its_id_or_a_unique_start() {
        let ids = ["3f2a91c0-1", "3f2b0000-2", "aa"];
        assert_eq!(match_job(&ids, "3f2a").unwrap(), "3f2a91c0-1");
        assert_eq!(match_job(&ids, "aa").unwrap(), "aa");
        assert_eq!(
            match_job(&ids, "3f2").unwrap_err().exit(),
            super::super::Exit::Usage
        );
        assert_eq!(
            match_job(&ids, "zz").unwrap_err().exit(),
            super::super::Exit::NotFound
        );
    }
}
