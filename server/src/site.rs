//! The site settings: `Leptos.toml` at the top of the workspace, compiled in, with each
//! setting overridable at run time by its `LEPTOS_*` environment variable.

use std::{net::SocketAddr, path::Path};

use leptos::config::{errors::LeptosConfigError, get_config_from_str, LeptosOptions};
use serde::Deserialize;

const LEPTOS_TOML: &str = include_str!("../../Leptos.toml");

/// What `Leptos.toml` holds.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SiteFile {
    pub output_name: String,
    pub site_root: String,
    pub site_pkg_dir: String,
    pub site_addr: SocketAddr,
    pub reload_port: u16,
}

/// `Leptos.toml` as written (no environment).
pub fn file() -> SiteFile {
    toml::from_str(LEPTOS_TOML).expect("Leptos.toml is valid (tested below)")
}

/// `Leptos.toml` with the `LEPTOS_*` variables of the environment over it, and the site's
/// hashed bundle names when it has them.
pub fn leptos_options() -> Result<LeptosOptions, LeptosConfigError> {
    // The reader expects cargo-leptos's section header; the file holds just its keys.
    let mut options = get_config_from_str(&format!("[package.metadata.leptos]\n{LEPTOS_TOML}"))?;
    use_hashed_names(&mut options);
    Ok(options)
}

/// A site built by `scripts/build-site.sh` has `hash.txt` in its root (written by
/// `scripts/hash-assets.mjs`): the page then names `<output>.<hash>.{js,wasm,css}`. Leptos
/// looks for the file beside the executable unless given an absolute path, so it gets one.
/// A site without it (cargo-leptos) keeps the plain names.
pub fn use_hashed_names(options: &mut LeptosOptions) {
    let root = Path::new(&*options.site_root);
    let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    let hash_file = root.join(HASH_FILE);
    if hash_file.is_file() {
        options.hash_files = true;
        options.hash_file = hash_file.to_string_lossy().into();
    }
}

/// The hash file's name in the site root.
pub const HASH_FILE: &str = "hash.txt";

#[cfg(test)]
mod tests {
    use super::*;

    /// cargo-leptos's copy of the settings in Cargo.toml (it has no Leptos.toml support).
    fn cargo_leptos() -> toml::Table {
        let cargo: toml::Table = toml::from_str(include_str!("../../Cargo.toml")).unwrap();
        cargo["workspace"]["metadata"]["leptos"][0]
            .as_table()
            .unwrap()
            .clone()
    }

    #[test]
    fn cargo_leptos_metadata_agrees_with_leptos_toml() {
        let file = file();
        let cargo = cargo_leptos();
        let text = |key: &str| cargo[key].as_str().unwrap().to_string();
        assert_eq!(text("name"), file.output_name, "name vs output-name");
        assert_eq!(text("site-root"), file.site_root);
        assert_eq!(text("site-pkg-dir"), file.site_pkg_dir);
        assert_eq!(text("site-addr"), file.site_addr.to_string());
        assert_eq!(
            cargo["reload-port"].as_integer(),
            Some(file.reload_port.into())
        );
    }

    #[test]
    fn plain_cargo_builds_use_the_same_output_name() {
        let config: toml::Table = toml::from_str(include_str!("../../.cargo/config.toml")).unwrap();
        assert_eq!(
            config["env"]["LEPTOS_OUTPUT_NAME"].as_str(),
            Some(file().output_name.as_str())
        );
    }

    #[test]
    fn a_hashed_site_is_named_by_its_hash_file() {
        let site = tempfile::tempdir().unwrap();
        let mut options = leptos_options().unwrap();
        options.site_root = site.path().to_string_lossy().into();
        use_hashed_names(&mut options);
        assert!(!options.hash_files, "no hash.txt: plain names");

        std::fs::write(site.path().join(HASH_FILE), "js: 1\nwasm: 2\ncss: 3\n").unwrap();
        use_hashed_names(&mut options);
        assert!(options.hash_files);
        assert_eq!(
            Path::new(&*options.hash_file),
            site.path().join(HASH_FILE),
            "absolute, so leptos does not look beside the executable"
        );
    }

    #[test]
    fn the_server_starts_from_leptos_toml() {
        let options = leptos_options().unwrap();
        let file = file();
        assert_eq!(&*options.output_name, file.output_name);
        assert_eq!(options.reload_port, u32::from(file.reload_port));
        // Without LEPTOS_SITE_ADDR, the configuration's default is the file's address.
        let config = crate::config::Config::from_lookup(|_| None).unwrap();
        assert_eq!(config.site_addr, file.site_addr);
    }
}
