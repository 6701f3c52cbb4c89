//! Local uploads: a byte stream written to a partial file on the models volume, hashed while
//! it streams, in constant memory, then checked against its extension.

use std::path::{Path, PathBuf};

use app::domain::{AppError, ErrorCode};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::{
    inspect::{self, Format},
    storage::{hashing, paths},
};

/// A partial file that is deleted when dropped, unless it was moved into place.
/// Dropping covers every failure, including a client that goes away mid-upload.
#[derive(Debug)]
pub struct Partial {
    path: PathBuf,
    moved: bool,
}

impl Partial {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Call once the file has been moved into place.
    pub fn moved(mut self) {
        self.moved = true;
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.moved {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A received, validated upload waiting to be installed.
#[derive(Debug)]
pub struct Received {
    pub partial: Partial,
    pub file_name: String,
    pub size: u64,
    pub sha256: String,
}

/// The file name, sanitised, if its extension is one we accept.
pub fn accepted_name(raw: &str) -> Result<(String, Format), AppError> {
    let name = paths::sanitize_file_name(raw)
        .ok_or_else(|| AppError::invalid("file", "the uploaded file has no usable name"))?;
    let format = Format::from_file_name(&name).ok_or_else(|| {
        AppError::new(
            ErrorCode::UnsupportedType,
            format!(
                "{name} is not a model file: accepted types are {}",
                inspect::ACCEPTED_EXTENSIONS
            ),
        )
    })?;
    Ok((name, format))
}

/// Streams `body` into a partial file in `dir`, at most `limit` bytes, then validates it.
pub async fn receive<S, E>(
    dir: &Path,
    raw_name: &str,
    mut body: S,
    limit: u64,
) -> Result<Received, AppError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let (file_name, format) = accepted_name(raw_name)?;
    let partial = Partial {
        path: dir.join(format!("upload-{}.partial", uuid::Uuid::new_v4())),
        moved: false,
    };
    let io = |e: std::io::Error| AppError::io("cannot write the upload", &e);
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(partial.path())
        .await
        .map_err(io)?;
    let mut out = tokio::io::BufWriter::with_capacity(1 << 20, file);
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk
            .map_err(|e| AppError::invalid("file", format!("the upload was interrupted: {e}")))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(AppError::new(
                ErrorCode::TooLarge,
                format!("the file is larger than the upload limit of {limit} bytes (MODELS_UPLOAD_MAX_BYTES)"),
            ));
        }
        hasher.update(&chunk);
        out.write_all(&chunk).await.map_err(io)?;
    }
    out.flush().await.map_err(io)?;
    out.get_ref().sync_all().await.map_err(io)?;
    drop(out);

    let path = partial.path().to_path_buf();
    tokio::task::spawn_blocking(move || inspect::validate_file(&path, format))
        .await
        .map_err(|e| AppError::internal(e.to_string()))?
        .map_err(|e| {
            AppError::new(
                ErrorCode::UnsupportedType,
                format!("{file_name} is not a valid {format:?} file: {e}"),
            )
        })?;
    Ok(Received {
        partial,
        file_name,
        size,
        sha256: hashing::hex(&hasher.finalize()),
    })
}
