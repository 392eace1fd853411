//! Where things live by default, read from the environment the way other
//! tools read it: the Hugging Face hub cache as `huggingface_hub` resolves
//! it, and the catalog under the XDG data directory. One lookup serves the
//! CLI, the engine provisioner and library callers, so they always agree.

use std::path::PathBuf;

/// The default places of a [`ModelProvisioner`](crate::ModelProvisioner):
/// downloads, the catalog and the provenance log.
///
/// ```
/// use model_provisioner::Locations;
/// let env = |k: &str| match k {
///     "HOME" => Some("/home/u".to_string()),
///     "HF_HOME" => Some("/data/hf".to_string()),
///     _ => None,
/// };
/// let at = Locations::from_lookup(env);
/// assert_eq!(at.cache_dir, std::path::Path::new("/data/hf/hub"));
/// assert_eq!(at.catalog, std::path::Path::new("/home/u/.local/share/provision/catalog.sqlite"));
/// assert_eq!(at.provenance, std::path::Path::new("/home/u/.local/share/provision/provenance.jsonl"));
/// let moved = at.with_catalog("/srv/catalog.sqlite");
/// assert_eq!(moved.provenance, std::path::Path::new("/srv/provenance.jsonl"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locations {
    /// The hub cache downloads go to (shared with `huggingface_hub`).
    pub cache_dir: PathBuf,
    /// The SQLite catalog.
    pub catalog: PathBuf,
    /// The provenance log, one JSON line per registration.
    pub provenance: PathBuf,
}

/// File name of the provenance log, kept beside the catalog.
pub const PROVENANCE_FILE: &str = "provenance.jsonl";

impl Locations {
    /// The defaults for this process's environment.
    pub fn from_env() -> Self {
        Self::from_lookup(env_var)
    }

    /// The defaults for the environment `var` describes (a map in tests).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Self {
        let catalog = xdg_data_home(&var).join("provision").join("catalog.sqlite");
        Self {
            cache_dir: hf_hub_cache(&var),
            provenance: provenance_beside(&catalog),
            catalog,
        }
    }

    /// Everything under one directory: downloads in `dir/hub`, the catalog
    /// and provenance log beside them. For tests, examples and programs
    /// that keep their own state directory; reads no environment.
    ///
    /// ```
    /// use model_provisioner::Locations;
    /// let at = Locations::under("/srv/models");
    /// assert_eq!(at.cache_dir, std::path::Path::new("/srv/models/hub"));
    /// assert_eq!(at.catalog, std::path::Path::new("/srv/models/catalog.sqlite"));
    /// ```
    pub fn under(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        let catalog = dir.join("catalog.sqlite");
        Self {
            cache_dir: dir.join("hub"),
            provenance: provenance_beside(&catalog),
            catalog,
        }
    }

    /// Downloads go to `dir` instead.
    pub fn with_cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = dir.into();
        self
    }

    /// The catalog is `path`, and the provenance log moves beside it.
    pub fn with_catalog(mut self, path: impl Into<PathBuf>) -> Self {
        self.catalog = path.into();
        self.provenance = provenance_beside(&self.catalog);
        self
    }
}

fn provenance_beside(catalog: &std::path::Path) -> PathBuf {
    catalog
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(
            || PathBuf::from(PROVENANCE_FILE),
            |p| p.join(PROVENANCE_FILE),
        )
}

/// A process environment variable, as the lookups below take it.
pub fn env_var(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

/// `var(key)` as a path, when set and not blank.
fn non_empty(var: &impl Fn(&str) -> Option<String>, key: &str) -> Option<PathBuf> {
    var(key).filter(|v| !v.trim().is_empty()).map(PathBuf::from)
}

/// `$HOME`, else the current directory.
pub fn home_dir(var: &impl Fn(&str) -> Option<String>) -> PathBuf {
    non_empty(var, "HOME").unwrap_or_else(|| PathBuf::from("."))
}

/// `$XDG_CACHE_HOME`, else `~/.cache`.
pub fn xdg_cache_home(var: &impl Fn(&str) -> Option<String>) -> PathBuf {
    non_empty(var, "XDG_CACHE_HOME").unwrap_or_else(|| home_dir(var).join(".cache"))
}

/// `$XDG_DATA_HOME`, else `~/.local/share`.
pub fn xdg_data_home(var: &impl Fn(&str) -> Option<String>) -> PathBuf {
    non_empty(var, "XDG_DATA_HOME").unwrap_or_else(|| home_dir(var).join(".local").join("share"))
}

/// `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else
/// `~/.cache/huggingface`: where the Hugging Face tools keep their state.
pub fn hf_home(var: &impl Fn(&str) -> Option<String>) -> PathBuf {
    non_empty(var, "HF_HOME").unwrap_or_else(|| xdg_cache_home(var).join("huggingface"))
}

/// The hub cache as `huggingface_hub` resolves it: `HF_HUB_CACHE`, else
/// `$HF_HOME/hub`.
pub fn hf_hub_cache(var: &impl Fn(&str) -> Option<String>) -> PathBuf {
    non_empty(var, "HF_HUB_CACHE").unwrap_or_else(|| hf_home(var).join("hub"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn hub_cache_follows_the_hf_environment_like_the_hf_client() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[
                    ("HF_HUB_CACHE", "/c"),
                    ("HF_HOME", "/h"),
                    ("HOME", "/home/u"),
                ],
                "/c",
            ),
            (
                &[
                    ("HF_HOME", "/h"),
                    ("XDG_CACHE_HOME", "/x"),
                    ("HOME", "/home/u"),
                ],
                "/h/hub",
            ),
            (
                &[("XDG_CACHE_HOME", "/x"), ("HOME", "/home/u")],
                "/x/huggingface/hub",
            ),
            (&[("HOME", "/home/u")], "/home/u/.cache/huggingface/hub"),
            (
                &[("HF_HUB_CACHE", " "), ("HOME", "/home/u")],
                "/home/u/.cache/huggingface/hub",
            ),
        ];
        for (case, want) in cases {
            assert_eq!(hf_hub_cache(&env(case)), PathBuf::from(want), "{case:?}");
        }
    }

    #[test]
    fn catalog_and_provenance_live_under_the_xdg_data_dir() {
        let at = Locations::from_lookup(env(&[("XDG_DATA_HOME", "/d"), ("HOME", "/home/u")]));
        assert_eq!(at.catalog, PathBuf::from("/d/provision/catalog.sqlite"));
        assert_eq!(
            at.provenance,
            PathBuf::from("/d/provision/provenance.jsonl")
        );
        let bare = Locations::from_env().with_catalog("catalog.sqlite");
        assert_eq!(bare.provenance, PathBuf::from("provenance.jsonl"));
    }
}
