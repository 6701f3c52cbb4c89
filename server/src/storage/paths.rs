//! Where files go under `MODELS_DIR`, and the guards that keep every path inside it.

use std::path::{Component, Path, PathBuf};

use app::domain::{ModelFamily, ModelType};

/// The spec's top-level folders, created at start-up.
pub const FOLDERS: [&str; 9] = [
    "zimage", "qwen", "flux", "sdxl", "custom", "base", "lora", "vae", "adapter",
];

/// The spec's folder for a (family, type): LoRAs, VAEs and adapters by type, the rest by family.
pub fn category_folder(family: ModelFamily, model_type: ModelType) -> &'static str {
    match model_type {
        ModelType::Lora => "lora",
        ModelType::Vae => "vae",
        ModelType::Adapter => "adapter",
        _ => match family {
            ModelFamily::Zimage => "zimage",
            ModelFamily::Qwen => "qwen",
            ModelFamily::Flux => "flux",
            ModelFamily::Sdxl => "sdxl",
            ModelFamily::Custom if model_type == ModelType::BaseModel => "base",
            ModelFamily::Custom => "custom",
        },
    }
}

/// Longest file name we write, in bytes (file systems allow 255).
const MAX_NAME: usize = 150;
/// Longest extension kept whole when a name is shortened.
const MAX_EXTENSION: usize = 16;

/// A file or folder name made safe: no separators, no control characters, no leading dots,
/// at most 150 bytes; a longer name loses the end of its stem, never its extension.
/// Returns `None` when nothing usable is left.
pub fn sanitize_file_name(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    let (stem, extension) = match cleaned.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && (1..=MAX_EXTENSION).contains(&ext.len()) => {
            (stem, ext)
        }
        _ => (cleaned, ""),
    };
    let room = MAX_NAME
        - if extension.is_empty() {
            0
        } else {
            extension.len() + 1
        };
    let stem = truncate(stem, room).trim_end();
    match (stem.is_empty(), extension.is_empty()) {
        (true, _) => None,
        (false, true) => Some(stem.to_string()),
        (false, false) => Some(format!("{stem}.{extension}")),
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A lower-case slug for folder names: `My Model v2!` -> `my-model-v2`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_matches(['-', '.']).to_string();
    if out.is_empty() {
        "model".into()
    } else {
        out.chars().take(80).collect()
    }
}

/// The deepest folder that holds every one of `files` (relative paths), `""` when none.
pub fn common_folder(files: &[&str]) -> String {
    let Some(first) = files.first() else {
        return String::new();
    };
    let mut parts: Vec<&str> = first.split('/').collect();
    parts.pop();
    for f in &files[1..] {
        let other: Vec<&str> = f.split('/').collect();
        let same = parts
            .iter()
            .zip(&other[..other.len() - 1])
            .take_while(|(a, b)| a == b)
            .count();
        parts.truncate(same);
    }
    parts.join("/")
}

/// A file name without its extension: `model.v2.safetensors` -> `model.v2`.
pub fn file_stem(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(stem, _)| stem)
}

/// A relative path inside a repo or under `MODELS_DIR`: non-empty, no `..`, not absolute.
pub fn is_safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && !path.contains('\0')
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// Joins a relative path under `root`, or `None` if it would escape.
pub fn safe_join(root: &Path, relative: &str) -> Option<PathBuf> {
    is_safe_relative(relative).then(|| root.join(relative))
}

/// Where a recorded file is: under `models_dir` for a relative path (guarded like
/// [`safe_join`]), as is for an absolute one (a file adopted from an extra scan root).
/// Only for reading: nothing deletes or moves an absolute path.
pub fn resolve(models_dir: &Path, recorded: &str) -> Option<PathBuf> {
    let path = Path::new(recorded);
    if path.is_absolute() {
        return path
            .components()
            .all(|c| !matches!(c, Component::ParentDir))
            .then(|| path.to_path_buf());
    }
    safe_join(models_dir, recorded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_follow_the_spec() {
        assert_eq!(
            category_folder(ModelFamily::Flux, ModelType::BaseModel),
            "flux"
        );
        assert_eq!(category_folder(ModelFamily::Flux, ModelType::Lora), "lora");
        assert_eq!(category_folder(ModelFamily::Sdxl, ModelType::Vae), "vae");
        assert_eq!(
            category_folder(ModelFamily::Zimage, ModelType::Adapter),
            "adapter"
        );
        assert_eq!(
            category_folder(ModelFamily::Qwen, ModelType::Captioner),
            "qwen"
        );
        assert_eq!(
            category_folder(ModelFamily::Custom, ModelType::BaseModel),
            "base"
        );
        assert_eq!(
            category_folder(ModelFamily::Custom, ModelType::Other),
            "custom"
        );
    }

    #[test]
    fn names_cannot_escape_or_hide() {
        assert_eq!(
            sanitize_file_name("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(
            sanitize_file_name("C:\\x\\model.ckpt").as_deref(),
            Some("model.ckpt")
        );
        assert_eq!(
            sanitize_file_name(".hidden.safetensors").as_deref(),
            Some("hidden.safetensors")
        );
        assert_eq!(
            sanitize_file_name("a\u{0}b?.gguf").as_deref(),
            Some("a_b_.gguf")
        );
        assert_eq!(sanitize_file_name(".."), None);
        assert_eq!(sanitize_file_name("model."), Some("model.".into()));
        assert_eq!(sanitize_file_name(""), None);
    }

    #[test]
    fn long_names_are_shortened_in_the_stem() {
        let long = format!("{}.safetensors", "é".repeat(200));
        let short = sanitize_file_name(&long).unwrap();
        assert!(short.len() <= MAX_NAME, "{}", short.len());
        assert!(short.ends_with("é.safetensors"), "{short}");
        let no_ext = "x".repeat(300);
        assert_eq!(sanitize_file_name(&no_ext).unwrap().len(), MAX_NAME);
    }

    #[test]
    fn relative_paths_stay_inside() {
        assert!(is_safe_relative("transformer/model.safetensors"));
        assert!(!is_safe_relative("../x"));
        assert!(!is_safe_relative("a/../../x"));
        assert!(!is_safe_relative("/etc/passwd"));
        assert!(!is_safe_relative(""));
        assert!(safe_join(Path::new("/m"), "a/b").is_some());
        assert!(safe_join(Path::new("/m"), "a/../b").is_none());
    }

    #[test]
    fn common_folders_and_stems() {
        assert_eq!(
            common_folder(&["flux/a/x.safetensors", "flux/a/vae/y.bin"]),
            "flux/a"
        );
        assert_eq!(common_folder(&["lora/x.safetensors"]), "lora");
        assert_eq!(common_folder(&["flux/a/x", "sdxl/b/y"]), "");
        assert_eq!(common_folder(&[]), "");
        assert_eq!(file_stem("model.v2.safetensors"), "model.v2");
        assert_eq!(file_stem("noext"), "noext");
    }

    #[test]
    fn slugs_are_folder_safe() {
        assert_eq!(slug("My Model v2!"), "my-model-v2");
        assert_eq!(slug("../.."), "model");
        assert_eq!(slug("flux-1-dev"), "flux-1-dev");
    }
}
