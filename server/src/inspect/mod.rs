//! Cheap, safe inspection of model files: checks that a file's content matches its extension
//! without loading it (never unpickles, reads the headers and the zip directory only).

mod gguf;
pub mod identify;
mod torch;
pub mod triggers;

use std::{
    collections::BTreeMap,
    fs::File,
    io::{Read, Seek, SeekFrom},
    path::Path,
};

/// A model file format the app accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Safetensors,
    Gguf,
    /// PyTorch `.ckpt/.pt/.pth/.bin`: a zip archive or a legacy pickle stream.
    Torch,
}

impl Format {
    /// The format an extension promises, or `None` for a file type we do not accept.
    pub fn from_file_name(name: &str) -> Option<Self> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "safetensors" | "sft" => Some(Format::Safetensors),
            "gguf" => Some(Format::Gguf),
            "ckpt" | "pt" | "pth" | "bin" => Some(Format::Torch),
            _ => None,
        }
    }
}

pub const ACCEPTED_EXTENSIONS: &str = ".safetensors, .sft, .gguf, .ckpt, .pt, .pth, .bin";

/// The safetensors reference implementation's limit on the header length.
const SAFETENSORS_MAX_HEADER: u64 = 100_000_000;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FormatError {
    #[error("the file is {len} bytes, too short to be a {what} file")]
    TooShort { what: &'static str, len: u64 },
    #[error(
        "the safetensors header claims {0} bytes, more than the 100 MB a real header may have"
    )]
    HeaderTooLarge(u64),
    #[error("the safetensors header claims {header} bytes but the file has only {len}")]
    HeaderPastEnd { header: u64, len: u64 },
    #[error("the safetensors header is not valid JSON: {0}")]
    HeaderNotJson(String),
    #[error("tensor {name:?} ends at byte {end} of the data, but the file holds {data} bytes of data: the file is truncated or corrupt")]
    TensorPastEnd { name: String, end: u64, data: u64 },
    #[error("the safetensors data is {data} bytes but its tensors cover {covered}: the file is truncated or corrupt")]
    DataSizeMismatch { data: u64, covered: u64 },
    #[error("tensor {0:?} has bad data_offsets")]
    BadOffsets(String),
    #[error("the file does not start with the GGUF magic bytes")]
    NotGguf,
    #[error("GGUF version {0} is not one we know (2 or 3)")]
    GgufVersion(u32),
    #[error("the GGUF header is broken: {0}")]
    GgufHeader(String),
    #[error("the file is neither a PyTorch zip archive nor a PyTorch pickle file")]
    NotTorch,
    #[error("the zip archive is not a PyTorch checkpoint: {0}")]
    TorchZip(String),
    #[error("cannot read the file: {0}")]
    Io(String),
}

impl From<std::io::Error> for FormatError {
    fn from(e: std::io::Error) -> Self {
        FormatError::Io(e.to_string())
    }
}

/// Checks that the file at `path` really is `format`.
pub fn validate_file(path: &Path, format: Format) -> Result<(), FormatError> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    match format {
        Format::Safetensors => {
            let header = read_safetensors_header(&mut file, len)?;
            check_safetensors_header(&header, len - 8 - header.len() as u64)
        }
        Format::Gguf => gguf::check(file, len),
        Format::Torch => torch::check(file, len),
    }
}

/// The JSON header bytes of a safetensors file (at most 100 MB; no tensor data is read).
fn read_safetensors_header(file: &mut File, len: u64) -> Result<Vec<u8>, FormatError> {
    if len < 8 {
        return Err(FormatError::TooShort {
            what: "safetensors",
            len,
        });
    }
    let mut prefix = [0u8; 8];
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut prefix)?;
    let header_len = u64::from_le_bytes(prefix);
    check_header_len(header_len, len)?;
    let mut header = vec![0u8; header_len as usize];
    file.read_exact(&mut header)?;
    Ok(header)
}

/// What identification reads of a file: tensor shapes (PyTorch order) and string metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelHeader {
    pub format: Format,
    pub tensors: BTreeMap<String, Vec<u64>>,
    pub metadata: BTreeMap<String, String>,
}

impl ModelHeader {
    pub fn new(format: Format) -> Self {
        Self {
            format,
            tensors: BTreeMap::new(),
            metadata: BTreeMap::new(),
        }
    }
}

/// Reads the header of the safetensors or GGUF file at `path`, whose name (and so format) is
/// `name` (never the weights); `None` for PyTorch files, which are never unpickled, and for
/// files that are not models.
pub fn read_header(path: &Path, name: &str) -> Result<Option<ModelHeader>, FormatError> {
    let Some(format) = Format::from_file_name(name) else {
        return Ok(None);
    };
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    match format {
        Format::Safetensors => {
            let bytes = read_safetensors_header(&mut file, len)?;
            parse_safetensors_header(&bytes).map(Some)
        }
        Format::Gguf => gguf::read_header(file, len).map(Some),
        Format::Torch => Ok(None),
    }
}

/// Tensor shapes and `__metadata__` strings of a safetensors JSON header.
pub fn parse_safetensors_header(header: &[u8]) -> Result<ModelHeader, FormatError> {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(header).map_err(|e| FormatError::HeaderNotJson(e.to_string()))?;
    let mut out = ModelHeader::new(Format::Safetensors);
    for (name, info) in map {
        if name == "__metadata__" {
            if let Some(meta) = info.as_object() {
                out.metadata.extend(
                    meta.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))),
                );
            }
            continue;
        }
        let shape = info
            .get("shape")
            .and_then(|s| s.as_array())
            .map(|dims| dims.iter().filter_map(|d| d.as_u64()).collect())
            .unwrap_or_default();
        out.tensors.insert(name, shape);
    }
    Ok(out)
}

/// What the file at `path`, named `name`, is, from its header alone; `None` for files that are
/// not models (configs, tokenizers). Unreadable files and PyTorch pickles are `unknown`, with
/// the reason as evidence.
pub fn identify_file(path: &Path, name: &str) -> Option<app::domain::Identification> {
    let format = Format::from_file_name(name)?;
    Some(match read_header(path, name) {
        Ok(Some(header)) => identify::identify(&header, name),
        Ok(None) if format == Format::Torch => app::domain::Identification::unknown(
            "PyTorch pickle files are never opened, so their content is not identified",
        ),
        Ok(None) => app::domain::Identification::unknown("no header"),
        Err(e) => app::domain::Identification::unknown(format!("the header cannot be read: {e}")),
    })
}

fn check_header_len(header_len: u64, file_len: u64) -> Result<(), FormatError> {
    if header_len > SAFETENSORS_MAX_HEADER {
        return Err(FormatError::HeaderTooLarge(header_len));
    }
    if 8 + header_len > file_len {
        return Err(FormatError::HeaderPastEnd {
            header: header_len,
            len: file_len,
        });
    }
    Ok(())
}

/// Parses a safetensors JSON header and checks that the tensors exactly cover `data_len`.
pub fn check_safetensors_header(header: &[u8], data_len: u64) -> Result<(), FormatError> {
    let text = std::str::from_utf8(header)
        .map_err(|_| FormatError::HeaderNotJson("not UTF-8".into()))?
        .trim_end_matches(' ');
    if !text.starts_with('{') {
        return Err(FormatError::HeaderNotJson(
            "it does not start with '{'".into(),
        ));
    }
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|e| FormatError::HeaderNotJson(e.to_string()))?;
    let mut covered = 0u64;
    for (name, info) in map.iter().filter(|(k, _)| k.as_str() != "__metadata__") {
        let offsets = info
            .get("data_offsets")
            .and_then(|v| v.as_array())
            .filter(|a| a.len() == 2)
            .and_then(|a| Some((a[0].as_u64()?, a[1].as_u64()?)))
            .ok_or_else(|| FormatError::BadOffsets(name.clone()))?;
        let (begin, end) = offsets;
        if begin > end {
            return Err(FormatError::BadOffsets(name.clone()));
        }
        if end > data_len {
            return Err(FormatError::TensorPastEnd {
                name: name.clone(),
                end,
                data: data_len,
            });
        }
        covered = covered.max(end);
    }
    if covered != data_len {
        return Err(FormatError::DataSizeMismatch {
            data: data_len,
            covered,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn safetensors(header: &str, data: usize) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend(std::iter::repeat_n(0u8, data));
        out
    }

    pub(super) fn check(bytes: &[u8], format: Format) -> Result<(), FormatError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, bytes).unwrap();
        validate_file(&path, format)
    }

    const ONE_TENSOR: &str = r#"{"w":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},"__metadata__":{"format":"pt"}}"#;

    #[test]
    fn extensions_map_to_formats() {
        assert_eq!(
            Format::from_file_name("a.SafeTensors"),
            Some(Format::Safetensors)
        );
        assert_eq!(Format::from_file_name("m.gguf"), Some(Format::Gguf));
        assert_eq!(Format::from_file_name("x.pth"), Some(Format::Torch));
        assert_eq!(Format::from_file_name("notes.txt"), None);
        assert_eq!(Format::from_file_name("noext"), None);
    }

    #[test]
    fn a_whole_safetensors_file_passes() {
        assert_eq!(
            check(&safetensors(ONE_TENSOR, 8), Format::Safetensors),
            Ok(())
        );
        // Space padding after the JSON is allowed.
        assert_eq!(
            check(
                &safetensors(&format!("{ONE_TENSOR}   "), 8),
                Format::Safetensors
            ),
            Ok(())
        );
    }

    #[test]
    fn a_truncated_safetensors_file_fails() {
        let bytes = safetensors(ONE_TENSOR, 8);
        let err = check(&bytes[..bytes.len() - 3], Format::Safetensors).unwrap_err();
        assert!(matches!(err, FormatError::TensorPastEnd { .. }), "{err}");
        let err = check(&bytes[..20], Format::Safetensors).unwrap_err();
        assert!(matches!(err, FormatError::HeaderPastEnd { .. }), "{err}");
    }

    #[test]
    fn a_header_length_bomb_is_refused_without_allocating() {
        let mut bytes = u64::MAX.to_le_bytes().to_vec();
        bytes.extend_from_slice(b"{}");
        assert!(matches!(
            check(&bytes, Format::Safetensors),
            Err(FormatError::HeaderTooLarge(_))
        ));
    }

    #[test]
    fn text_renamed_to_a_model_extension_is_refused() {
        let text = b"hello, this is not a model at all\n";
        assert!(check(text, Format::Safetensors).is_err());
        assert_eq!(check(text, Format::Gguf), Err(FormatError::NotGguf));
        assert_eq!(check(text, Format::Torch), Err(FormatError::NotTorch));
    }

    #[test]
    fn sft_is_safetensors() {
        assert_eq!(Format::from_file_name("ae.sft"), Some(Format::Safetensors));
    }

    #[test]
    fn safetensors_with_a_hole_at_the_end_is_refused() {
        let err = check(&safetensors(ONE_TENSOR, 12), Format::Safetensors).unwrap_err();
        assert!(matches!(err, FormatError::DataSizeMismatch { .. }), "{err}");
    }
}
