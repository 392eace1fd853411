//! Whether a plan's build is cached, told without running anything: the
//! stamp, the binary, the compilers and the checkout's HEAD, compared
//! with what the plan asks for. `provision doctor` reports it; `ensure`
//! keeps using [`crate::cache::hit`] with the full key.
//!
//! It reads the build's files through [`BuildFiles`], not a mode's plan,
//! so the neutral [`crate::plan`] can name [`BuildCacheState`] without
//! depending on the `source` mode.

use crate::cache::{self, FileId};
use serde::Serialize;
use std::path::Path;

/// The build cache of one pool, as far as files can tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum BuildCacheState {
    /// No binary and no stamp: the next ensure builds.
    NotBuilt,
    /// The stamp matches the binary, compilers, definitions and checkout:
    /// the next ensure skips configure and build.
    Fresh {
        /// The commit the binary was built from.
        commit: String,
    },
    /// Something changed since the build: the next ensure rebuilds.
    Stale {
        /// What changed, for people.
        reason: String,
    },
}

/// What a build wrote and what its plan asks for: the inputs of
/// [`BuildFiles::state`], borrowed from the mode's plan.
pub(crate) struct BuildFiles<'a> {
    /// The build-cache stamp.
    pub stamp_path: &'a Path,
    /// Where the built binary is.
    pub binary_path: &'a Path,
    /// The git checkout the binary is built from.
    pub checkout_dir: &'a Path,
    /// The CMake generator's name, as stamped.
    pub generator: &'a str,
    /// The CMake definitions the plan asks for.
    pub cmake_defs: &'a [String],
    /// The ref the plan asks for.
    pub git_ref: &'a str,
}

impl BuildFiles<'_> {
    /// The state of this build's cache (see [`BuildCacheState`]).
    pub(crate) fn state(&self) -> BuildCacheState {
        let Some(stamp) = cache::read(self.stamp_path) else {
            return if self.binary_path.exists() {
                stale("a binary without a build stamp (an interrupted build?)")
            } else {
                BuildCacheState::NotBuilt
            };
        };
        if FileId::of(self.binary_path).as_ref() != Some(&stamp.binary) {
            return stale("the binary changed or is gone since it was stamped");
        }
        let compilers = stamp.key.compilers.iter().chain(&stamp.host_compilers);
        if let Some(changed) = compilers
            .into_iter()
            .find(|id| FileId::of(&id.path).as_ref() != Some(*id))
        {
            return stale(&format!(
                "the compiler {} changed since the build",
                changed.path.display()
            ));
        }
        if stamp.key.generator != self.generator {
            return stale("the CMake generator differs");
        }
        if let Some(def) = self.cmake_defs.iter().find(|d| !stamp.key.defs.contains(d)) {
            return stale(&format!("the cached build was configured without {def}"));
        }
        match head_commit(self.checkout_dir) {
            Some(head) if head != stamp.key.commit => stale(&format!(
                "the checkout is at {head}, the binary was built from {}",
                stamp.key.commit
            )),
            _ if is_commit(self.git_ref) && self.git_ref != stamp.key.commit => stale(&format!(
                "the pool asks for {}, the binary was built from {}",
                self.git_ref, stamp.key.commit
            )),
            _ => BuildCacheState::Fresh {
                commit: stamp.key.commit,
            },
        }
    }
}

fn stale(reason: &str) -> BuildCacheState {
    BuildCacheState::Stale {
        reason: reason.to_string(),
    }
}

/// The commit of a detached checkout, read from `.git/HEAD` (no git
/// process); `None` on a branch or without a checkout.
fn head_commit(checkout: &Path) -> Option<String> {
    let head = std::fs::read_to_string(checkout.join(".git").join("HEAD")).ok()?;
    let head = head.trim();
    is_commit(head).then(|| head.to_string())
}

fn is_commit(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::{CacheKey, Stamp};
    use crate::config::PoolConfig;
    use crate::exec::ToolEnv;
    use crate::source_plan::SourcePlan;

    fn plan(dir: &Path) -> SourcePlan {
        let pool = PoolConfig::from_toml_str(&format!(
            "id = \"p\"\nengine = \"llamacpp\"\n[provisioning.source]\nrepo = \"https://example.invalid/llama.cpp\"\nref = \"v1\"\n\
             [provisioning.source.build]\ncache_dir = \"{}\"\ngenerator = \"make\"\n[provisioning.model]\nref = \"/m.gguf\"\n",
            dir.display()
        ))
        .unwrap();
        SourcePlan::for_pool(&pool, &ToolEnv::default()).unwrap()
    }

    #[test]
    fn state_follows_the_stamp_the_binary_and_the_checkout() {
        let dir = tempfile::tempdir().unwrap();
        let plan = plan(dir.path());
        assert_eq!(plan.cache_state(), BuildCacheState::NotBuilt);

        std::fs::create_dir_all(plan.binary_path.parent().unwrap()).unwrap();
        std::fs::write(&plan.binary_path, b"llama-server").unwrap();
        assert!(matches!(plan.cache_state(), BuildCacheState::Stale { .. }));

        let commit = "a".repeat(40);
        let stamp = Stamp {
            key: CacheKey {
                commit: commit.clone(),
                generator: plan.generator.cmake_name().to_string(),
                defs: plan.cmake_defs.clone(),
                compilers: Vec::new(),
            },
            host_compilers: Vec::new(),
            binary: FileId::of(&plan.binary_path).unwrap(),
            binary_sha256: String::new(),
            build_ms: 1,
        };
        cache::write(&plan.stamp_path, &stamp).unwrap();
        assert_eq!(
            plan.cache_state(),
            BuildCacheState::Fresh {
                commit: commit.clone()
            }
        );

        std::fs::create_dir_all(plan.checkout_dir.join(".git")).unwrap();
        std::fs::write(plan.checkout_dir.join(".git/HEAD"), "b".repeat(40)).unwrap();
        let BuildCacheState::Stale { reason } = plan.cache_state() else {
            panic!("a checkout at another commit is stale");
        };
        assert!(reason.contains(&commit), "{reason}");

        std::fs::write(plan.checkout_dir.join(".git/HEAD"), &commit).unwrap();
        std::fs::write(&plan.binary_path, b"rebuilt by hand").unwrap();
        assert!(matches!(plan.cache_state(), BuildCacheState::Stale { .. }));
    }
}
