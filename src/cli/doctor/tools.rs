//! Build tools and the GPU: what `provision engine` will need.

use std::path::{Path, PathBuf};

use engine_provisioner::{DEFAULT_CUDA_SEARCH_DIRS, NvccFound, find_nvcc_on};

use super::Check;
use super::probe::{output, which};

/// One check per tool; a missing build tool is a warning here (pools that
/// need it fail in their own check).
pub fn checks() -> Vec<Check> {
    let mut out = vec![
        tool("git", &["git"], "install git"),
        tool("cmake", &["cmake"], "install cmake (3.14 or newer)"),
        build_tool(),
        tool(
            "cc",
            &["cc", "gcc", "clang"],
            "install a C compiler (gcc or clang)",
        ),
        tool(
            "c++",
            &["c++", "g++", "clang++"],
            "install a C++ compiler (g++ or clang++)",
        ),
        nvcc(),
        ccache(),
    ];
    out.push(nvidia_smi());
    out
}

/// The first line of `program --version`, trimmed.
fn version(program: &Path) -> String {
    match output(program, &["--version"]) {
        Ok(text) => text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("version unknown")
            .trim()
            .to_string(),
        Err(why) => why,
    }
}

fn tool(name: &str, candidates: &[&str], hint: &str) -> Check {
    match candidates.iter().find_map(|c| which(c)) {
        Some(path) => Check::ok(name, format!("{} ({})", version(&path), path.display())),
        None => Check::warn(name, "not found on PATH; needed to build engines").hint(hint),
    }
}

/// ccache: optional; when on PATH, source builds use it as the compiler
/// launcher (a rebuild in a new dir takes seconds, not minutes).
fn ccache() -> Check {
    match which("ccache") {
        Some(path) => Check::ok(
            "ccache",
            format!(
                "{} ({}); used by source builds",
                version(&path),
                path.display()
            ),
        ),
        None => Check::ok(
            "ccache",
            "not found: every source build compiles from scratch",
        )
        .hint("install ccache (apt-get install ccache) to make rebuilds fast"),
    }
}

/// make or ninja: one is enough (the pool's generator picks).
fn build_tool() -> Check {
    let found: Vec<String> = ["ninja", "make"]
        .iter()
        .filter_map(|t| which(t).map(|p| format!("{t} {}", version_number(&version(&p)))))
        .collect();
    if found.is_empty() {
        Check::warn(
            "make/ninja",
            "neither make nor ninja is on PATH; needed to build engines",
        )
        .hint("install make or ninja (ninja-build)")
    } else {
        Check::ok("make/ninja", found.join(", "))
    }
}

/// `GNU Make 4.3` → `4.3`; `1.11.1` stays.
fn version_number(line: &str) -> &str {
    line.split_whitespace()
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(line)
}

/// nvcc on PATH or under a CUDA root, found by the engine's own discovery
/// (so the doctor names the nvcc a build will use); optional unless a pool
/// asks for CUDA.
fn nvcc() -> Check {
    let dirs: Vec<PathBuf> = DEFAULT_CUDA_SEARCH_DIRS.iter().map(PathBuf::from).collect();
    nvcc_check(&std::env::var_os("PATH").unwrap_or_default(), &dirs)
}

fn nvcc_check(path: &std::ffi::OsStr, search_dirs: &[PathBuf]) -> Check {
    let Some(NvccFound { nvcc, cuda_root }) = find_nvcc_on(path, search_dirs) else {
        return Check::ok("nvcc", "not found: CPU builds only")
            .hint("install the CUDA toolkit for GGML_CUDA=ON builds");
    };
    let release = match output(&nvcc, &["--version"]) {
        Ok(text) => text
            .lines()
            .find(|l| l.contains("release"))
            .unwrap_or("version unknown")
            .trim()
            .to_string(),
        Err(why) => return Check::warn("nvcc", why).hint("reinstall the CUDA toolkit"),
    };
    let root = cuda_root
        .or_else(|| nvcc.parent().and_then(Path::parent).map(Path::to_path_buf))
        .map_or_else(String::new, |r| format!("; CUDA root {}", r.display()));
    Check::ok("nvcc", format!("{release} ({}){root}", nvcc.display()))
}

/// The driver and the GPUs, from `nvidia-smi`.
fn nvidia_smi() -> Check {
    let Some(path) = which("nvidia-smi") else {
        return Check::ok("nvidia-smi", "not found: no NVIDIA driver, CPU only");
    };
    let query = [
        "--query-gpu=name,driver_version,memory.total",
        "--format=csv,noheader",
    ];
    let text = match output(&path, &query) {
        Ok(text) => text,
        Err(why) => {
            return Check::warn("nvidia-smi", why)
                .hint("the driver is installed but not answering: check `nvidia-smi`, reboot after a driver upgrade");
        }
    };
    let gpus: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::trim).collect())
        .collect();
    let Some(driver) = gpus.first().and_then(|g| g.get(1)) else {
        return Check::warn("nvidia-smi", "the driver lists no GPU")
            .hint("check that the GPU is visible to this machine (container runtime, MIG)");
    };
    let names: Vec<String> = gpus
        .iter()
        .map(|g| match (g.first(), g.get(2)) {
            (Some(name), Some(mem)) => format!("{name} ({mem})"),
            (Some(name), None) => (*name).to_string(),
            _ => "unknown GPU".to_string(),
        })
        .collect();
    Check::ok(
        "nvidia-smi",
        format!("driver {driver}; {} GPU: {}", gpus.len(), names.join(", ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A fake CUDA root `dir/name` whose nvcc prints its release.
    fn cuda_root(dir: &Path, name: &str) {
        let bin = dir.join(name).join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let nvcc = bin.join("nvcc");
        std::fs::write(
            &nvcc,
            format!("#!/bin/sh\necho 'Cuda compilation tools, release {name}'\n"),
        )
        .unwrap();
        std::fs::set_permissions(&nvcc, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn the_doctor_names_the_nvcc_the_build_uses() {
        let dir = tempfile::tempdir().unwrap();
        // A text sort puts cuda-12.9 first; the build takes the newest.
        for name in ["cuda-11.8", "cuda-12.9", "cuda-12.10", "cuda12.1"] {
            cuda_root(dir.path(), name);
        }
        let dirs = vec![dir.path().to_path_buf()];
        let empty_path = std::ffi::OsStr::new("/nonexistent");
        let engine = find_nvcc_on(empty_path, &dirs).expect("the engine finds an nvcc");
        assert_eq!(engine.nvcc, dir.path().join("cuda-12.10/bin/nvcc"));
        let check = nvcc_check(empty_path, &dirs);
        assert_eq!(check.status, super::super::Status::Ok, "{check:?}");
        assert!(
            check
                .detail
                .contains(&format!("({})", engine.nvcc.display())),
            "{check:?}"
        );
    }
}
