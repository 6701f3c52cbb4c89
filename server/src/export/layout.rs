//! How an installed model's files are laid out, as a loader sees them.

use std::collections::BTreeSet;

use app::domain::{InstalledFile, InstalledModel};

use crate::storage::paths;

/// The shape of an installed model's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout<'a> {
    /// Component subfolders (`transformer/`, `vae/`, ...) or a `model_index.json`: loaders
    /// take the folder, never one of its files.
    Diffusers {
        folder: String,
        components: BTreeSet<&'a str>,
    },
    /// One checkpoint file (FLUX's `ae.safetensors` may sit beside it).
    SingleFile { file: &'a InstalledFile },
    /// Several top-level shards (`model-00001-of-00003.safetensors`): no loader takes one.
    Sharded { folder: String },
    /// No `.safetensors` weights at all.
    NoWeights,
}

impl<'a> Layout<'a> {
    pub fn of(model: &'a InstalledModel) -> Self {
        let paths: Vec<&str> = model.files.iter().map(|f| f.path.as_str()).collect();
        let folder = paths::common_folder(&paths);
        let prefix = if folder.is_empty() {
            String::new()
        } else {
            format!("{folder}/")
        };
        let relative = |f: &'a InstalledFile| f.path.strip_prefix(prefix.as_str());
        let components: BTreeSet<&str> = model
            .files
            .iter()
            .filter_map(|f| relative(f)?.split_once('/').map(|(sub, _)| sub))
            .collect();
        let has_index = model
            .files
            .iter()
            .any(|f| relative(f) == Some("model_index.json"));
        if !components.is_empty() || has_index {
            return Layout::Diffusers { folder, components };
        }
        let weights: Vec<&InstalledFile> = model
            .files
            .iter()
            .filter(|f| f.path.ends_with(".safetensors"))
            .collect();
        if weights.iter().filter(|f| is_shard(&f.path)).count() > 1 {
            return Layout::Sharded { folder };
        }
        match weights.into_iter().max_by_key(|f| f.size_bytes) {
            Some(file) => Layout::SingleFile { file },
            None => Layout::NoWeights,
        }
    }

    /// True for a diffusers folder that has every one of `needed` subfolders.
    pub fn has_all(&self, needed: &[&str]) -> bool {
        matches!(self, Layout::Diffusers { components, .. } if needed.iter().all(|n| components.contains(n)))
    }

    /// The subfolders of `needed` that a diffusers folder lacks.
    pub fn missing(&self, needed: &[&'static str]) -> Vec<&'static str> {
        match self {
            Layout::Diffusers { components, .. } => needed
                .iter()
                .filter(|n| !components.contains(*n))
                .copied()
                .collect(),
            _ => needed.to_vec(),
        }
    }
}

/// `name-00001-of-00003.safetensors`, as diffusers and transformers shard weights.
fn is_shard(path: &str) -> bool {
    let stem = paths::file_stem(path.rsplit('/').next().unwrap_or(path));
    let mut parts = stem.rsplitn(3, '-');
    let (Some(total), Some(of), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let index = rest.rsplit('-').next().unwrap_or("");
    of == "of"
        && !total.is_empty()
        && total.bytes().all(|b| b.is_ascii_digit())
        && !index.is_empty()
        && index.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::{ModelFamily, ModelType, SourceType};

    fn model(files: &[(&str, u64)]) -> InstalledModel {
        InstalledModel {
            id: "m".into(),
            source_model_id: None,
            name: "M".into(),
            family: ModelFamily::Flux,
            model_type: ModelType::BaseModel,
            files: files
                .iter()
                .map(|(p, s)| InstalledFile {
                    path: p.to_string(),
                    size_bytes: *s,
                    sha256: "0".repeat(64),
                    identification: None,
                })
                .collect(),
            total_size_bytes: 0,
            installed_at: String::new(),
            source: SourceType::Huggingface,
            last_verification: None,
            civitai: None,
        }
    }

    #[test]
    fn a_checkpoint_and_its_autoencoder_are_a_single_file_named_by_the_larger() {
        let m = model(&[
            ("flux/d/flux1-dev.safetensors", 100),
            ("flux/d/ae.safetensors", 10),
        ]);
        assert_eq!(Layout::of(&m), Layout::SingleFile { file: &m.files[0] });
    }

    #[test]
    fn component_folders_make_a_diffusers_layout() {
        let m = model(&[
            ("sdxl/x/model_index.json", 1),
            ("sdxl/x/unet/diffusion_pytorch_model.safetensors", 100),
            ("sdxl/x/vae/diffusion_pytorch_model.safetensors", 10),
        ]);
        let layout = Layout::of(&m);
        assert!(matches!(&layout, Layout::Diffusers { folder, .. } if folder == "sdxl/x"));
        assert!(layout.has_all(&["unet", "vae"]));
        assert_eq!(layout.missing(&["unet", "text_encoder"]), ["text_encoder"]);
    }

    #[test]
    fn top_level_shards_are_not_one_file() {
        let m = model(&[
            (
                "z/t/diffusion_pytorch_model-00001-of-00002.safetensors",
                100,
            ),
            ("z/t/diffusion_pytorch_model-00002-of-00002.safetensors", 90),
        ]);
        assert_eq!(
            Layout::of(&m),
            Layout::Sharded {
                folder: "z/t".into()
            }
        );
        assert!(!is_shard("model-v2-of-x.safetensors"));
    }
}
