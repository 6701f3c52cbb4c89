//! `scan` (files on the volume the library does not know) and `export` (AI Toolkit configs).

use std::time::Duration;

use app::domain::{DatasetFolder, ExportResult};
use clap::Args;
use serde_json::{json, Value};

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
    let report = loop {
        let answer = ctx
            .client
            .get_answer("/api/models/scan")
            .await?
            .supported(feature)?
            .ok()?;
        if !scan_running(&answer) {
            break answer;
        }
        tokio::time::sleep(SCAN_POLL).await;
    };
    if ctx.output.json {
        ctx.output.json_line(&report);
        return Ok(());
    }
    let files = untracked(&report);
    if files.is_empty() {
        println!("Every model file on the volume is in the library.");
        return Ok(());
    }
    let rows = files
        .iter()
        .map(|f| {
            vec![
                f["path"].as_str().unwrap_or_default().to_string(),
                f["sizeBytes"]
                    .as_u64()
                    .map(app::format::bytes)
                    .unwrap_or_default(),
                f["format"].as_str().unwrap_or_default().to_string(),
                identification(&f["identification"]),
            ]
        })
        .collect();
    println!(
        "{}",
        output::table(&ctx.output, &["PATH", "SIZE", "FORMAT", "LOOKS LIKE"], rows)
    );
    eprintln!(
        "{} file(s) not in the library: adopt them on the Models page.",
        files.len()
    );
    Ok(())
}

/// A scan report is still running while it says so (`running: true` or a `status` of
/// `running`/`scanning`/`queued`).
pub fn scan_running(report: &Value) -> bool {
    report["running"].as_bool().unwrap_or(false)
        || matches!(
            report["status"].as_str(),
            Some("running" | "scanning" | "queued")
        )
}

/// The untracked files of a scan report (`untracked`, or `files`).
pub fn untracked(report: &Value) -> Vec<Value> {
    report["untracked"]
        .as_array()
        .or_else(|| report["files"].as_array())
        .cloned()
        .unwrap_or_default()
}

/// An identification as text: a string as is, an object's family/type/name.
fn identification(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Object(map) => ["name", "family", "type"]
            .iter()
            .filter_map(|k| map.get(*k).and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
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
    fn scan_reports_are_read_in_either_shape() {
        assert!(scan_running(&json!({"running": true})));
        assert!(scan_running(&json!({"status": "scanning"})));
        assert!(!scan_running(&json!({"status": "done", "untracked": []})));
        let report = json!({"files": [{"path": "flux/x.safetensors"}]});
        assert_eq!(untracked(&report).len(), 1);
        assert_eq!(
            identification(&json!({"family": "flux", "type": "lora"})),
            "flux lora"
        );
    }
}
