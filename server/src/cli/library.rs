//! `scan` (files on the volume the library does not know) and `export` (AI Toolkit configs).

use std::time::Duration;

use app::domain::{DatasetFolder, ExportResult, ScanPhase, ScanStatus, UntrackedFile};
use clap::Args;
use serde_json::json;

use super::{
    client::{decode, CliError},
    models, output, Ctx,
};

pub const EXPORT_EXAMPLES: &str = "\
Examples:
  model-manager export --dataset my-cat --base flux-1-dev --trigger 'sks cat'
  model-manager export --dataset /workspace/datasets/my-cat --base flux-1-dev --name cat-v2 --yaml

The dataset is a folder under the server's DATASETS_DIR (its name or full path); the config is
saved under EXPORTS_DIR and its path printed.";

/// How often a running scan is asked for.
const SCAN_POLL: Duration = Duration::from_millis(500);

pub async fn scan(ctx: &Ctx) -> Result<(), CliError> {
    let feature = "scanning the volume";
    ctx.client
        .post("/api/models/scan", &json!({}))
        .await?
        .supported(feature)?
        .ok()?;
    let (answer, report) = loop {
        let answer = ctx
            .client
            .get_answer("/api/models/scan")
            .await?
            .supported(feature)?
            .ok()?;
        let status: ScanStatus = decode(answer.clone())?;
        if !status.running() {
            break (answer, status);
        }
        tokio::time::sleep(SCAN_POLL).await;
    };
    if ctx.output.json {
        ctx.output.json_line(&answer);
        return Ok(());
    }
    for problem in &report.problems {
        eprintln!("{problem}");
    }
    if report.phase == ScanPhase::Failed {
        return Err(CliError::Failed("the scan failed".into()));
    }
    if report.untracked.is_empty() {
        println!("Every model file on the volume is in the library.");
        return Ok(());
    }
    let rows = report.untracked.iter().map(scan_row).collect();
    println!(
        "{}",
        output::table(&ctx.output, &["PATH", "SIZE", "FORMAT", "LOOKS LIKE"], rows)
    );
    eprintln!(
        "{} file(s) not in the library: adopt them on the Models page (Installed tab).",
        report.untracked.len()
    );
    Ok(())
}

/// One untracked file as a table row: where, how big, what format, what it looks like.
fn scan_row(file: &UntrackedFile) -> Vec<String> {
    let id = &file.identification;
    let mut looks_like = format!("{} {}", id.family.label(), id.kind.label());
    if let Some(copy_of) = &file.duplicate_of {
        looks_like.push_str(&format!(" (copy of {copy_of})"));
    }
    vec![
        file.path.clone(),
        app::format::bytes(file.size_bytes),
        file.format.clone(),
        looks_like,
    ]
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The dataset folder: its name under DATASETS_DIR, or its full path.
    #[arg(long)]
    dataset: String,
    /// The installed base model to train (its id, the model id it came from, or its name).
    #[arg(long)]
    base: String,
    /// The trigger word the captions use.
    #[arg(long, default_value = "")]
    trigger: String,
    /// The training run's name (default: the dataset's name).
    #[arg(long)]
    name: Option<String>,
    /// Print the YAML too.
    #[arg(long)]
    yaml: bool,
}

/// The dataset folder `key` names (its name or path) among `folders`.
pub fn find_dataset<'a>(folders: &'a [DatasetFolder], key: &str) -> Option<&'a DatasetFolder> {
    let key = key.trim_end_matches('/');
    folders.iter().find(|d| d.path == key || d.name == key)
}

pub async fn export(ctx: &Ctx, args: ExportArgs) -> Result<(), CliError> {
    let feature = "exports from the command line";
    let answer = ctx
        .client
        .get_answer("/api/export/datasets")
        .await?
        .supported(feature)?
        .ok()?;
    let folders: Vec<DatasetFolder> = decode(answer["datasets"].clone())?;
    let dataset = find_dataset(&folders, &args.dataset).ok_or_else(|| {
        let names: Vec<&str> = folders.iter().map(|d| d.name.as_str()).collect();
        CliError::NotFound(format!(
            "no dataset folder {:?} on the server; there are: {}",
            args.dataset,
            match names.is_empty() {
                true => "none (put one under DATASETS_DIR)".into(),
                false => names.join(", "),
            }
        ))
    })?;
    let base = models::installed_model(ctx, &args.base).await?;
    let body = json!({
        "datasetFolder": dataset.path,
        "triggerWord": args.trigger,
        "runName": args.name.as_deref().unwrap_or(&dataset.name),
        "baseModelId": base.id,
    });
    let answer = ctx
        .client
        .post("/api/export", &body)
        .await?
        .supported(feature)?
        .ok()?;
    if ctx.output.json {
        ctx.output.json_line(&answer);
        return Ok(());
    }
    let result: ExportResult = decode(answer)?;
    if args.yaml {
        println!("{}", result.yaml);
    }
    println!("Saved {}", result.saved_path);
    for note in &result.notes {
        eprintln!("  {note}");
    }
    for warning in &result.warnings {
        eprintln!(
            "{} {warning}",
            console::style("warning:").yellow().for_stderr()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dataset_is_found_by_name_or_path() {
        let folders = vec![DatasetFolder {
            path: "/workspace/datasets/cat".into(),
            name: "cat".into(),
            image_count: 3,
        }];
        assert!(find_dataset(&folders, "cat").is_some());
        assert!(find_dataset(&folders, "/workspace/datasets/cat/").is_some());
        assert!(find_dataset(&folders, "dog").is_none());
    }

    #[test]
    fn an_untracked_file_reads_as_what_it_looks_like_and_what_it_copies() {
        let file: UntrackedFile = serde_json::from_value(json!({
            "path": "/m/loras/x.safetensors", "root": "/m", "inModelsDir": true,
            "sizeBytes": 2_000_000, "format": "safetensors",
            "identification": {"family": "flux1", "kind": "lora", "confidence": "high", "evidence": []},
            "duplicateOf": "my-lora"
        }))
        .unwrap();
        let row = scan_row(&file);
        assert_eq!(row[0], "/m/loras/x.safetensors");
        assert_eq!(row[2], "safetensors");
        assert!(
            row[3].contains("LoRA") && row[3].contains("copy of my-lora"),
            "{row:?}"
        );
    }
}
