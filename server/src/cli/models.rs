//! `list`, `add`, `rm`, `verify`: the library of models.

use std::path::{Path, PathBuf};

use app::domain::{InstalledList, InstalledModel, Model, Verification};
use clap::{builder::PossibleValuesParser, Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::{
    multipart::{Form, Part},
    Method,
};
use serde_json::{json, Map, Value};
use tokio_util::io::ReaderStream;

use super::{
    client::{decode, q, CliError},
    confirm, output, Ctx, TokenArgs, Tokens,
};

pub const LIST_EXAMPLES: &str = "\
Examples:
  model-manager list
  model-manager list --installed
  model-manager list --family flux --type lora --search anime
  model-manager list --json | jq -r '.models[].id'";

pub const ADD_EXAMPLES: &str = "\
Examples:
  model-manager add hf ostris/some-lora lora.safetensors --type lora --family flux
  model-manager add hf black-forest-labs/FLUX.1-dev flux1-dev.safetensors ae.safetensors --hf-token-stdin < ~/.hf_token
  model-manager add civitai https://civitai.com/models/4384
  model-manager add url https://example.com/files/vae.safetensors --sha256 9f86d0...
  model-manager add ./my-lora.safetensors --type lora --family sdxl    # uploads the file
  model-manager add ./my-lora.safetensors --yes    # even if a file of its size is installed

`add` only puts a model in the list (uploads install at once); `model-manager download ID` fetches it.";

/// The wire names of `ModelFamily::ALL` and `ModelType::ALL` (a test keeps them equal), for
/// clap's checks, help and completions.
const FAMILIES: [&str; 5] = ["zimage", "qwen", "flux", "sdxl", "custom"];
const TYPES: [&str; 7] = [
    "base_model",
    "lora",
    "vae",
    "adapter",
    "text_encoder",
    "captioner",
    "other",
];

#[derive(Debug, Default, Args)]
pub struct ListArgs {
    /// Only installed models.
    #[arg(long)]
    installed: bool,
    /// Only this family.
    #[arg(long, value_parser = PossibleValuesParser::new(FAMILIES))]
    family: Option<String>,
    /// Only this type.
    #[arg(long = "type", value_parser = PossibleValuesParser::new(TYPES))]
    model_type: Option<String>,
    /// Words to look for in names, descriptions and tags.
    #[arg(long)]
    search: Option<String>,
}

/// Name, type and family of a model being added.
#[derive(Debug, Clone, Default, Args)]
pub struct ModelMeta {
    /// Display name (default: from the source).
    #[arg(long)]
    pub name: Option<String>,
    /// Model type (default: base_model).
    #[arg(long = "type", value_parser = PossibleValuesParser::new(TYPES))]
    pub model_type: Option<String>,
    /// Model family (default: custom).
    #[arg(long, value_parser = PossibleValuesParser::new(FAMILIES))]
    pub family: Option<String>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, arg_required_else_help = true)]
pub struct AddArgs {
    #[command(subcommand)]
    source: Option<AddSource>,
    /// A local model file to upload (.safetensors, .sft, .gguf, .ckpt, .pt, .pth, .bin).
    path: Option<PathBuf>,
    #[command(flatten)]
    meta: ModelMeta,
    /// Upload even when a file of the same size is already installed (do not ask).
    #[arg(long, short)]
    yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum AddSource {
    /// A Hugging Face repo and the files to take from it.
    Hf {
        /// ORG/REPO
        repo: String,
        /// Paths inside the repo (at least one).
        #[arg(required = true)]
        files: Vec<String>,
        /// Branch, tag or commit (default: main).
        #[arg(long)]
        revision: Option<String>,
        #[command(flatten)]
        meta: ModelMeta,
        #[command(flatten)]
        tokens: TokenArgs,
    },
    /// A CivitAI model or version link (any form the site shows, or an AIR urn).
    Civitai {
        url: String,
        #[command(flatten)]
        meta: ModelMeta,
        #[command(flatten)]
        tokens: TokenArgs,
    },
    /// A direct download link to a model file.
    Url {
        url: String,
        /// The file's sha256, checked after the download.
        #[arg(long)]
        sha256: Option<String>,
        /// The file name to save it as (default: from the link or the server).
        #[arg(long)]
        file_name: Option<String>,
        #[command(flatten)]
        meta: ModelMeta,
    },
}

/// Where a model to add comes from, as `POST /api/models` fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Huggingface {
        repo: String,
        files: Vec<String>,
        revision: Option<String>,
    },
    Civitai(String),
    Url {
        url: String,
        sha256: Option<String>,
        file_name: Option<String>,
    },
}

/// The body of `POST /api/models` (only the fields that are set).
pub fn add_body(source: &Source, meta: &ModelMeta, tokens: &Tokens, note: Option<&str>) -> Value {
    let mut body = Map::new();
    let mut set = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            body.insert(key.to_string(), value);
        }
    };
    let text = |s: &Option<String>| s.clone().map(Value::String);
    match source {
        Source::Huggingface {
            repo,
            files,
            revision,
        } => {
            set("huggingfaceRepo", Some(json!(repo)));
            set("huggingfaceFiles", Some(json!(files)));
            set("huggingfaceRevision", text(revision));
            set("huggingfaceToken", text(&tokens.huggingface));
        }
        Source::Civitai(url) => {
            set("civitaiUrl", Some(json!(url)));
            set("civitaiToken", text(&tokens.civitai));
        }
        Source::Url {
            url,
            sha256,
            file_name,
        } => {
            set("url", Some(json!(url)));
            set("sha256", text(sha256));
            set("fileName", text(file_name));
        }
    }
    set("name", text(&meta.name));
    set("type", text(&meta.model_type));
    set("family", text(&meta.family));
    set("description", note.map(|n| json!(n)));
    Value::Object(body)
}

/// Adds a custom model; the new model. Says on stderr when its file is already installed
/// (the download will link it).
pub async fn add_model(
    ctx: &Ctx,
    source: &Source,
    meta: &ModelMeta,
    tokens: &Tokens,
    note: Option<&str>,
) -> Result<Model, CliError> {
    let body = add_body(source, meta, tokens, note);
    let answer = ctx.client.post("/api/models", &body).await?.ok()?;
    say_already_installed(ctx, &answer);
    decode(answer["model"].clone())
}

/// The server's `alreadyInstalled` ("already installed as X (path): ..."), on stderr.
fn say_already_installed(ctx: &Ctx, answer: &Value) {
    if let (false, Some(said)) = (ctx.output.json, answer["alreadyInstalled"].as_str()) {
        eprintln!("Note: {said}");
    }
}

pub async fn list(ctx: &Ctx, args: ListArgs) -> Result<(), CliError> {
    if args.installed {
        return list_installed(ctx, &args).await;
    }
    let pairs = [
        ("family", &args.family),
        ("type", &args.model_type),
        ("query", &args.search),
    ];
    let query: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", q(v))))
        .collect();
    let path = match query.is_empty() {
        true => "/api/models".to_string(),
        false => format!("/api/models?{}", query.join("&")),
    };
    let answer = ctx.client.get(&path).await?;
    if ctx.output.json {
        ctx.output.json_line(&answer);
        return Ok(());
    }
    let models: Vec<Model> = decode(answer["models"].clone())?;
    match models.is_empty() {
        true => eprintln!("No models match."),
        false => println!("{}", output::models_table(&ctx.output, &models)),
    }
    Ok(())
}

/// `list --installed`: the installed records (uploads too, with the ids `rm` and `verify`
/// take), their integrity, and the space used and free.
async fn list_installed(ctx: &Ctx, args: &ListArgs) -> Result<(), CliError> {
    let mut list = installed(ctx).await?;
    list.models.retain(|m| matches_filter(m, args));
    if ctx.output.json {
        ctx.output.json_line(&json!(list));
        return Ok(());
    }
    let filtered = args.family.is_some() || args.model_type.is_some() || args.search.is_some();
    if list.models.is_empty() {
        eprintln!(
            "{}",
            match filtered {
                true => "No installed models match.",
                false => "Nothing is installed yet: `model-manager download MODEL` installs one.",
            }
        );
    } else {
        println!("{}", output::installed_table(&ctx.output, &list.models));
    }
    eprintln!(
        "{} used, {} free on the volume",
        app::format::bytes(list.total_disk_usage),
        app::format::bytes(list.disk_free)
    );
    Ok(())
}

/// The `list` filters applied to an installed record (the server filters the catalog itself).
fn matches_filter(model: &InstalledModel, args: &ListArgs) -> bool {
    let is = |wanted: &Option<String>, value: String| wanted.as_deref().is_none_or(|w| value == w);
    let search = args.search.as_deref().map(str::to_lowercase);
    is(&args.family, output::wire_name(model.family))
        && is(&args.model_type, output::wire_name(model.model_type))
        && search.is_none_or(|s| {
            model.name.to_lowercase().contains(&s) || model.id.to_lowercase().contains(&s)
        })
}

pub async fn add(ctx: &Ctx, args: AddArgs) -> Result<(), CliError> {
    let (source, meta, tokens) = match args.source {
        None => {
            let path = args.path.ok_or_else(|| {
                CliError::Usage("name a file to upload, or a source: hf, civitai, url".into())
            })?;
            return upload(ctx, &path, &args.meta, args.yes).await;
        }
        Some(AddSource::Hf {
            repo,
            files,
            revision,
            meta,
            tokens,
        }) => (
            Source::Huggingface {
                repo,
                files,
                revision,
            },
            meta,
            Tokens::read(&tokens)?,
        ),
        Some(AddSource::Civitai { url, meta, tokens }) => {
            (Source::Civitai(url), meta, Tokens::read(&tokens)?)
        }
        Some(AddSource::Url {
            url,
            sha256,
            file_name,
            meta,
        }) => (
            Source::Url {
                url,
                sha256,
                file_name,
            },
            meta,
            Tokens::default(),
        ),
    };
    let model = add_model(ctx, &source, &meta, &tokens, None).await?;
    if ctx.output.json {
        ctx.output.json_line(&json!({ "model": model }));
    } else {
        println!("Added {} as {}", model.name, model.id);
        eprintln!("Download it with: model-manager download {}", model.id);
    }
    Ok(())
}

/// `add PATH`: uploads the file, streamed, with a progress bar on a terminal. Asks first,
/// unless `yes`, when a file of the same size is already installed (the page asks too).
async fn upload(ctx: &Ctx, path: &Path, meta: &ModelMeta, yes: bool) -> Result<(), CliError> {
    let read_error = |source| CliError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = tokio::fs::File::open(path).await.map_err(read_error)?;
    let size = file.metadata().await.map_err(read_error)?.len();
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "upload".into());
    if !yes {
        ask_before_upload(ctx, &file_name, size).await?;
    }
    let bar = match ctx.output.bars {
        true => ProgressBar::new(size).with_style(
            ProgressStyle::with_template(
                "uploading {prefix} {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        false => ProgressBar::hidden(),
    }
    .with_prefix(file_name.clone());
    let counted = bar.clone();
    let stream = futures_util::StreamExt::inspect(ReaderStream::new(file), move |chunk| {
        if let Ok(chunk) = chunk {
            counted.inc(chunk.len() as u64);
        }
    });
    let part =
        Part::stream_with_length(reqwest::Body::wrap_stream(stream), size).file_name(file_name);
    let mut form = Form::new().part("file", part);
    for (key, value) in [
        ("name", &meta.name),
        ("type", &meta.model_type),
        ("family", &meta.family),
    ] {
        if let Some(value) = value {
            form = form.text(key, value.clone());
        }
    }
    let request = ctx
        .client
        .without_timeout(Method::POST, "/api/models/upload")
        .multipart(form);
    let answer = ctx.client.send(request).await;
    bar.finish_and_clear();
    let answer = answer?.ok()?;
    if ctx.output.json {
        ctx.output.json_line(&answer);
        return Ok(());
    }
    let model: InstalledModel = decode(answer["model"].clone())?;
    say_already_installed(ctx, &answer);
    println!(
        "Installed {} as {} ({})",
        model.name,
        model.id,
        app::format::bytes(model.total_size_bytes)
    );
    Ok(())
}

/// Asks whether to upload a file that is probably installed already (same size); a no, or no
/// answer, uploads nothing.
async fn ask_before_upload(ctx: &Ctx, file_name: &str, size: u64) -> Result<(), CliError> {
    let check = ctx
        .client
        .get(&format!(
            "/api/models/upload/check?fileName={}&sizeBytes={size}",
            q(file_name)
        ))
        .await?;
    match check["alreadyInstalled"].as_str() {
        Some(said) if !confirm(&format!("Probably a duplicate: {said}. Upload anyway?")) => Err(
            CliError::Failed("nothing uploaded (pass --yes to upload without being asked)".into()),
        ),
        _ => Ok(()),
    }
}

/// The installed record `key` names: its id, the id of the model it was installed from, or
/// its name (when only one has it).
pub fn find_installed<'a>(models: &'a [InstalledModel], key: &str) -> Option<&'a InstalledModel> {
    models
        .iter()
        .find(|m| m.id == key)
        .or_else(|| {
            models
                .iter()
                .find(|m| m.source_model_id.as_deref() == Some(key))
        })
        .or_else(|| {
            let mut named = models.iter().filter(|m| m.name.eq_ignore_ascii_case(key));
            match (named.next(), named.next()) {
                (Some(m), None) => Some(m),
                _ => None,
            }
        })
}

pub async fn installed(ctx: &Ctx) -> Result<InstalledList, CliError> {
    decode(ctx.client.get("/api/models/installed").await?)
}

/// The installed model `key` names, or a not-found error that says where to look.
pub async fn installed_model(ctx: &Ctx, key: &str) -> Result<InstalledModel, CliError> {
    let list = installed(ctx).await?;
    find_installed(&list.models, key).cloned().ok_or_else(|| {
        CliError::NotFound(format!(
            "no installed model {key:?}: `model-manager list --installed` shows what is installed"
        ))
    })
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// An installed model (its id, the model id it came from, or its name), or a custom model.
    model: String,
    /// Do not ask.
    #[arg(long, short)]
    yes: bool,
}

pub async fn rm(ctx: &Ctx, args: RmArgs) -> Result<(), CliError> {
    let list = installed(ctx).await?;
    if let Some(model) = find_installed(&list.models, &args.model) {
        let question = format!(
            "Delete {} ({}, {} file(s)) from the volume?",
            model.name,
            app::format::bytes(model.total_size_bytes),
            model.files.len()
        );
        ask_unless(args.yes, &question)?;
        let answer = ctx
            .client
            .delete(&format!("/api/models/installed?id={}", q(&model.id)))
            .await?
            .ok()?;
        return report(ctx, &answer, format!("Deleted {}", model.name));
    }
    let models: Vec<Model> = decode(ctx.client.get("/api/models").await?["models"].clone())?;
    match models.iter().find(|m| m.id == args.model) {
        Some(custom) if !custom.built_in => {
            ask_unless(
                args.yes,
                &format!("Remove the custom model {} from the list?", custom.name),
            )?;
            let answer = ctx
                .client
                .delete(&format!("/api/models?id={}", q(&custom.id)))
                .await?
                .ok()?;
            report(
                ctx,
                &answer,
                format!("Removed {} from the list", custom.name),
            )
        }
        Some(built_in) => Err(CliError::NotFound(format!(
            "{} is not installed (built-in models stay in the list)",
            built_in.name
        ))),
        None => Err(CliError::NotFound(format!(
            "no installed or custom model {:?}: `model-manager list` shows them",
            args.model
        ))),
    }
}

fn ask_unless(yes: bool, question: &str) -> Result<(), CliError> {
    match yes || confirm(question) {
        true => Ok(()),
        false => Err(CliError::Failed(
            "nothing deleted (pass --yes to delete without being asked)".into(),
        )),
    }
}

fn report(ctx: &Ctx, answer: &Value, message: String) -> Result<(), CliError> {
    match ctx.output.json {
        true => ctx.output.json_line(answer),
        false => println!("{message}"),
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// One installed model (default: all of them).
    model: Option<String>,
}

pub async fn verify(ctx: &Ctx, args: VerifyArgs) -> Result<(), CliError> {
    let models = match &args.model {
        Some(key) => vec![installed_model(ctx, key).await?],
        None => installed(ctx).await?.models,
    };
    let mut results = Vec::new();
    for model in &models {
        if ctx.output.bars {
            eprintln!("checking {} ...", model.name);
        }
        let request = ctx.client.without_timeout(
            Method::POST,
            &format!("/api/models/installed/verify?id={}", q(&model.id)),
        );
        let answer = ctx.client.send(request).await?.ok()?;
        let verification: Verification = decode(answer["verification"].clone())?;
        results.push((model, verification));
    }
    if ctx.output.json {
        let results: Vec<Value> = results
            .iter()
            .map(|(m, v)| json!({"id": m.id, "name": m.name, "verification": v}))
            .collect();
        ctx.output.json_line(&json!({ "results": results }));
    } else if results.is_empty() {
        eprintln!("Nothing is installed.");
    } else {
        let rows = results
            .iter()
            .map(|(m, v)| {
                vec![
                    m.id.clone(),
                    m.name.clone(),
                    output::verification_summary(v),
                ]
            })
            .collect();
        println!(
            "{}",
            output::table(&ctx.output, &["ID", "NAME", "RESULT"], rows)
        );
    }
    let bad: Vec<&str> = results
        .iter()
        .filter(|(_, v)| !v.ok)
        .map(|(m, _)| m.name.as_str())
        .collect();
    match bad.is_empty() {
        true => Ok(()),
        false => Err(CliError::Failed(format!(
            "{} failed the check: download again, or `model-manager rm` it",
            bad.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use app::domain::{ModelFamily, ModelType, SourceType};

    use super::*;

    fn record(id: &str, source: Option<&str>, name: &str) -> InstalledModel {
        InstalledModel {
            id: id.into(),
            source_model_id: source.map(str::to_string),
            name: name.into(),
            family: ModelFamily::Flux,
            model_type: ModelType::Lora,
            files: vec![],
            total_size_bytes: 0,
            installed_at: String::new(),
            source: SourceType::Huggingface,
            last_verification: None,
            civitai: None,
        }
    }

    #[test]
    fn an_installed_model_is_found_by_id_source_or_unique_name() {
        let models = [
            record("inst-1", Some("flux-1-dev"), "Flux.1 Dev"),
            record("inst-2", None, "my lora"),
            record("inst-3", None, "My LoRA"),
        ];
        assert_eq!(find_installed(&models, "inst-2").unwrap().id, "inst-2");
        assert_eq!(find_installed(&models, "flux-1-dev").unwrap().id, "inst-1");
        assert_eq!(find_installed(&models, "flux.1 dev").unwrap().id, "inst-1");
        assert!(
            find_installed(&models, "my lora").is_none(),
            "two have that name"
        );
        assert!(find_installed(&models, "nope").is_none());
    }

    #[test]
    fn installed_models_are_filtered_like_the_catalog() {
        let model = record("inst-1", None, "Anime LoRA");
        let args = |family: Option<&str>, search: Option<&str>| ListArgs {
            family: family.map(str::to_string),
            search: search.map(str::to_string),
            ..Default::default()
        };
        assert!(matches_filter(&model, &args(None, None)));
        assert!(matches_filter(&model, &args(Some("flux"), Some("anime"))));
        assert!(!matches_filter(&model, &args(Some("sdxl"), None)));
        assert!(!matches_filter(&model, &args(None, Some("realistic"))));
    }

    #[test]
    fn the_add_body_has_only_what_was_given_and_tokens_only_for_their_source() {
        let tokens = Tokens {
            huggingface: Some("hf_x".into()),
            civitai: Some("civ_y".into()),
        };
        let meta = ModelMeta {
            model_type: Some("lora".into()),
            ..Default::default()
        };
        let hf = Source::Huggingface {
            repo: "acme/lora".into(),
            files: vec!["a.safetensors".into()],
            revision: None,
        };
        assert_eq!(
            add_body(&hf, &meta, &tokens, Some("note")),
            json!({"huggingfaceRepo": "acme/lora", "huggingfaceFiles": ["a.safetensors"],
                   "huggingfaceToken": "hf_x", "type": "lora", "description": "note"})
        );
        let civitai = Source::Civitai("https://civitai.com/models/1".into());
        assert_eq!(
            add_body(&civitai, &ModelMeta::default(), &tokens, None),
            json!({"civitaiUrl": "https://civitai.com/models/1", "civitaiToken": "civ_y"})
        );
        let url = Source::Url {
            url: "https://x/a.safetensors".into(),
            sha256: None,
            file_name: Some("b.safetensors".into()),
        };
        assert_eq!(
            add_body(&url, &ModelMeta::default(), &tokens, None),
            json!({"url": "https://x/a.safetensors", "fileName": "b.safetensors"})
        );
    }

    #[test]
    fn families_and_types_are_the_wire_names() {
        let wire = |v: serde_json::Value| v.as_str().unwrap().to_string();
        let families: Vec<String> = ModelFamily::ALL.iter().map(|f| wire(json!(f))).collect();
        let types: Vec<String> = ModelType::ALL.iter().map(|t| wire(json!(t))).collect();
        assert_eq!(families, FAMILIES);
        assert_eq!(types, TYPES);
    }
}
