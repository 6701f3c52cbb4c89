//! Downloads one direct URL through the real engine, as the server would (custom model ->
//! download job -> verify -> install), and prints the job's end state. Used by
//! `scripts/bench-download.sh`; not part of the app.
//!
//!     cargo run --release -p server --example fetch -- <url> <models-dir> [sha256]
//!
//! `MODELS_DOWNLOAD_*` variables of the environment apply (e.g. `MODELS_DOWNLOAD_CONNECTIONS=1`
//! for one stream per file).

use std::time::{Duration, Instant};

use app::{
    domain::{AddModelRequest, DownloadRequest, JobStatus},
    port::ModelService,
};
use server::{config::Config, service::Service};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(dir)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: fetch <url> <models-dir> [sha256]");
    };
    let sha256 = args.next();
    let config = Config::from_lookup(|name| match name {
        "MODELS_DIR" => Some(dir.clone()),
        "MODELS_ALLOW_PRIVATE_URLS" => Some("true".into()),
        "MODELS_MIN_FREE_BYTES" => Some("0".into()),
        _ if name.starts_with("MODELS_DOWNLOAD_") => std::env::var(name).ok(),
        _ => None,
    })?;
    let service = Service::new(config)?;
    let model = service
        .add_custom_model(AddModelRequest {
            url: Some(url),
            sha256,
            ..Default::default()
        })
        .await?
        .model;
    let started = Instant::now();
    let job_id = service
        .start_download(DownloadRequest {
            model_id: model.id,
            ..Default::default()
        })
        .await?;
    loop {
        let job = service.download_job(&job_id).await?;
        if job.status.is_finished() {
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{:?} {} bytes in {secs:.2} s ({:.0} MB/s){}",
                job.status,
                job.bytes_downloaded,
                job.bytes_downloaded as f64 / secs / 1e6,
                job.error
                    .map(|e| format!(": {}", e.message))
                    .unwrap_or_default()
            );
            anyhow::ensure!(
                job.status == JobStatus::Completed,
                "the download did not complete"
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
