//! Build tools and the GPU: what `provision engine` will need.

use std::path::{Path, PathBuf};

use super::Check;
use super::probe::{output, which};

/// Where a CUDA toolkit is looked for when nvcc is not on PATH (as the
/// engine provisioner looks).
const CUDA_SEARCH_DIRS: &[&str] = &["/usr/local", "/opt"];

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

/// nvcc on PATH or under a CUDA root; optional unless a pool asks for CUDA.
fn nvcc() -> Check {
    let found = which("nvcc").map(|p| (p, None)).or_else(|| {
        cuda_roots().into_iter().find_map(|root| {
            let nvcc = root.join("bin").join("nvcc");
            nvcc.is_file().then_some((nvcc, Some(root)))
        })
    });
    let Some((path, root)) = found else {
        return Check::ok("nvcc", "not found: CPU builds only")
            .hint("install the CUDA toolkit for GGML_CUDA=ON builds");
    };
    let release = match output(&path, &["--version"]) {
        Ok(text) => text
            .lines()
            .find(|l| l.contains("release"))
            .unwrap_or("version unknown")
            .trim()
            .to_string(),
        Err(why) => return Check::warn("nvcc", why).hint("reinstall the CUDA toolkit"),
    };
    let root = root
        .or_else(|| path.parent().and_then(Path::parent).map(Path::to_path_buf))
        .map_or_else(String::new, |r| format!("; CUDA root {}", r.display()));
    Check::ok("nvcc", format!("{release} ({}){root}", path.display()))
}

fn cuda_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    for dir in CUDA_SEARCH_DIRS {
        let dir = Path::new(dir);
        roots.push(dir.join("cuda"));
        let mut versioned: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("cuda-"))
            })
            .collect();
        versioned.sort();
        versioned.reverse();
        roots.extend(versioned);
    }
    roots
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
