//! Default locations, from the environment, as other tools expect them.

use std::path::PathBuf;

/// The Hugging Face hub cache, resolved exactly as `huggingface_hub` does:
/// `HF_HUB_CACHE`, else `$HF_HOME/hub`, else
/// `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
pub fn default_cache_dir() -> PathBuf {
    cache_dir_from(|k| std::env::var(k).ok())
}

/// The catalog file: `PROVISION_CATALOG` is read by clap; this is the
/// fallback, `$XDG_DATA_HOME/provision/catalog.sqlite`, else
/// `~/.local/share/provision/catalog.sqlite`.
pub fn default_catalog() -> PathBuf {
    catalog_from(|k| std::env::var(k).ok())
}

fn non_empty(var: &impl Fn(&str) -> Option<String>, key: &str) -> Option<PathBuf> {
    var(key).filter(|v| !v.trim().is_empty()).map(PathBuf::from)
}

fn home(var: &impl Fn(&str) -> Option<String>) -> PathBuf {
    non_empty(var, "HOME").unwrap_or_else(|| PathBuf::from("."))
}

pub(crate) fn cache_dir_from(var: impl Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(dir) = non_empty(&var, "HF_HUB_CACHE") {
        return dir;
    }
    let hf_home = non_empty(&var, "HF_HOME").unwrap_or_else(|| {
        non_empty(&var, "XDG_CACHE_HOME")
            .unwrap_or_else(|| home(&var).join(".cache"))
            .join("huggingface")
    });
    hf_home.join("hub")
}

pub(crate) fn catalog_from(var: impl Fn(&str) -> Option<String>) -> PathBuf {
    non_empty(&var, "XDG_DATA_HOME")
        .unwrap_or_else(|| home(&var).join(".local").join("share"))
        .join("provision")
        .join("catalog.sqlite")
}

#[cfg(test)]
mod tests {
    use super::*;
    use model_provisioner::hf::HfConfig;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn cache_dir_follows_the_hf_environment_like_the_hf_client() {
        let cases: &[&[(&str, &str)]] = &[
            &[
                ("HF_HUB_CACHE", "/c"),
                ("HF_HOME", "/h"),
                ("HOME", "/home/u"),
            ],
            &[
                ("HF_HOME", "/h"),
                ("XDG_CACHE_HOME", "/x"),
                ("HOME", "/home/u"),
            ],
            &[("XDG_CACHE_HOME", "/x"), ("HOME", "/home/u")],
            &[("HOME", "/home/u")],
            &[("HF_HUB_CACHE", ""), ("HOME", "/home/u")],
        ];
        let want = [
            "/c",
            "/h/hub",
            "/x/huggingface/hub",
            "/home/u/.cache/huggingface/hub",
            "/home/u/.cache/huggingface/hub",
        ];
        for (case, want) in cases.iter().zip(want) {
            assert_eq!(cache_dir_from(env(case)), PathBuf::from(want), "{case:?}");
            let hf = HfConfig::from_lookup(env(case)).cache_dir;
            assert_eq!(
                cache_dir_from(env(case)),
                hf,
                "same as the HF fetcher for {case:?}"
            );
        }
    }

    #[test]
    fn catalog_lives_under_the_xdg_data_dir() {
        assert_eq!(
            catalog_from(env(&[("XDG_DATA_HOME", "/d"), ("HOME", "/home/u")])),
            PathBuf::from("/d/provision/catalog.sqlite")
        );
        assert_eq!(
            catalog_from(env(&[("HOME", "/home/u")])),
            PathBuf::from("/home/u/.local/share/provision/catalog.sqlite")
        );
    }
}
