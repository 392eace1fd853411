//! The build toolchain: find every tool the build needs before starting it,
//! and say in one message everything that is missing and how to install it.

use crate::config::Generator;
use crate::exec::ToolEnv;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A tool that was not found, with its package names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingTool {
    /// What was looked for (`cmake`, `c++`, `nvcc`, …).
    pub tool: &'static str,
    /// Debian/Ubuntu package.
    pub apt: &'static str,
    /// Fedora/RHEL package.
    pub dnf: &'static str,
    /// Arch package.
    pub pacman: &'static str,
}

const fn tool(
    tool: &'static str,
    apt: &'static str,
    dnf: &'static str,
    pacman: &'static str,
) -> MissingTool {
    MissingTool {
        tool,
        apt,
        dnf,
        pacman,
    }
}

const GIT: MissingTool = tool("git", "git", "git", "git");
const CMAKE: MissingTool = tool("cmake", "cmake", "cmake", "cmake");
const NINJA: MissingTool = tool("ninja", "ninja-build", "ninja-build", "ninja");
const MAKE: MissingTool = tool("make", "make", "make", "make");
const CC: MissingTool = tool("cc (C compiler)", "gcc", "gcc", "gcc");
const CXX: MissingTool = tool("c++ (C++ compiler)", "g++", "gcc-c++", "gcc");
const NVCC: MissingTool = tool(
    "nvcc (CUDA toolkit)",
    "nvidia-cuda-toolkit",
    "cuda-toolkit",
    "cuda",
);

/// The tools found, as absolute paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    /// git.
    pub git: PathBuf,
    /// cmake.
    pub cmake: PathBuf,
    /// make or ninja.
    pub build_tool: PathBuf,
    /// C compiler CMake will pick.
    pub cc: PathBuf,
    /// C++ compiler CMake will pick.
    pub cxx: PathBuf,
    /// nvcc, when CUDA was requested.
    pub nvcc: Option<PathBuf>,
    /// The CUDA root when nvcc was found outside PATH (hints needed).
    pub cuda_root: Option<PathBuf>,
}

/// Where to look for a CUDA toolkit when nvcc is not on PATH: each dir's
/// `cuda`, then its `cuda*` entries (newest name first).
pub const DEFAULT_CUDA_SEARCH_DIRS: &[&str] = &["/usr/local", "/opt"];

/// Look for every tool; `Err` lists all that are missing.
pub fn find_tools(
    env: &ToolEnv,
    generator: Generator,
    cuda: bool,
    cuda_search_dirs: &[PathBuf],
) -> Result<Toolchain, Vec<MissingTool>> {
    let mut missing = Vec::new();
    let mut need = |found: Option<PathBuf>, t: MissingTool| {
        if found.is_none() {
            missing.push(t);
        }
        found.unwrap_or_default()
    };
    let git = need(env.which("git"), GIT);
    let cmake = need(env.which("cmake"), CMAKE);
    let build_tool = need(
        env.which(generator.tool()),
        match generator {
            Generator::Ninja => NINJA,
            Generator::Make => MAKE,
        },
    );
    let cc = need(compiler(env, "CC", &["cc", "gcc", "clang"]), CC);
    let cxx = need(compiler(env, "CXX", &["c++", "g++", "clang++"]), CXX);
    let (nvcc, cuda_root) = if cuda {
        match find_nvcc(env, cuda_search_dirs) {
            Some((nvcc, root)) => (Some(nvcc), root),
            None => {
                missing.push(NVCC);
                (None, None)
            }
        }
    } else {
        (None, None)
    };
    if missing.is_empty() {
        Ok(Toolchain {
            git,
            cmake,
            build_tool,
            cc,
            cxx,
            nvcc,
            cuda_root,
        })
    } else {
        Err(missing)
    }
}

/// The compiler CMake would use: `$CC`/`$CXX` (pool env first, then the
/// process env), else the first of `names` on PATH.
fn compiler(env: &ToolEnv, var: &str, names: &[&str]) -> Option<PathBuf> {
    let chosen = env
        .var(var)
        .map(str::to_string)
        .or_else(|| std::env::var(var).ok())
        .filter(|v| !v.trim().is_empty());
    if let Some(value) = chosen {
        let first = value.split_whitespace().next().unwrap_or(&value);
        let p = Path::new(first);
        return if p.is_absolute() {
            p.is_file().then(|| p.to_path_buf())
        } else {
            env.which(first)
        };
    }
    names.iter().find_map(|n| env.which(n))
}

/// Where nvcc was found, and the CUDA root it lives in when it was not
/// on PATH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NvccFound {
    /// The nvcc binary.
    pub nvcc: PathBuf,
    /// The CUDA root it was found under (`None`: found on PATH).
    pub cuda_root: Option<PathBuf>,
}

/// The one nvcc discovery the build uses, for other readers (`provision
/// doctor`): nvcc on `path`, else the first `bin/nvcc` under the CUDA roots
/// of `search_dirs` (`cuda`, then `cuda*` newest version first;
/// [`DEFAULT_CUDA_SEARCH_DIRS`] is what a build searches by default).
pub fn find_nvcc_on(path: &std::ffi::OsStr, search_dirs: &[PathBuf]) -> Option<NvccFound> {
    let env = ToolEnv {
        path: path.to_os_string(),
        ..ToolEnv::default()
    };
    find_nvcc(&env, search_dirs).map(|(nvcc, cuda_root)| NvccFound { nvcc, cuda_root })
}

/// nvcc on PATH (no root needed), or the first CUDA root holding
/// `bin/nvcc`.
pub fn find_nvcc(env: &ToolEnv, search_dirs: &[PathBuf]) -> Option<(PathBuf, Option<PathBuf>)> {
    if let Some(nvcc) = env.which("nvcc") {
        return Some((nvcc, None));
    }
    cuda_roots(search_dirs).into_iter().find_map(|root| {
        let nvcc = root.join("bin").join("nvcc");
        nvcc.is_file().then_some((nvcc, Some(root)))
    })
}

/// Candidate CUDA roots, in search order.
pub fn cuda_roots(search_dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    for dir in search_dirs {
        roots.push(dir.join("cuda"));
        let mut versioned: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("cuda") && n != "cuda")
            })
            .collect();
        versioned.sort_by_key(|p| std::cmp::Reverse(version_key(p)));
        roots.extend(versioned);
    }
    roots
}

/// Sort key so that `cuda-12.10` is newer than `cuda-12.9`.
fn version_key(p: &Path) -> Vec<u64> {
    p.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// The message for missing tools: all of them, with install commands.
pub fn describe_missing(missing: &[MissingTool], note: &Option<String>) -> String {
    let names: Vec<&str> = missing.iter().map(|t| t.tool).collect();
    let pkgs = |f: fn(&MissingTool) -> &'static str| {
        let mut v: Vec<&str> = missing.iter().map(f).collect();
        v.dedup();
        v.join(" ")
    };
    let mut s = format!("missing build tools: {}.", names.join(", "));
    let _ = write!(
        s,
        "\nInstall them with one of:\n  apt-get install -y {}\n  dnf install -y {}\n  pacman -S --needed {}",
        pkgs(|t| t.apt),
        pkgs(|t| t.dnf),
        pkgs(|t| t.pacman),
    );
    if missing.iter().any(|t| t.tool.starts_with("nvcc")) {
        s.push_str(
            "\nFor CUDA, NVIDIA's toolkit under /usr/local/cuda also works: nvcc is found there without PATH changes.",
        );
    }
    if let Some(note) = note {
        let _ = write!(s, "\n{note}");
    }
    s
}

/// A system package manager the provisioner can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageManager {
    /// Debian/Ubuntu.
    Apt,
    /// Fedora/RHEL.
    Dnf,
    /// Arch.
    Pacman,
}

impl PackageManager {
    /// The first one found on PATH.
    pub fn detect(env: &ToolEnv) -> Option<(Self, PathBuf)> {
        [
            (Self::Apt, "apt-get"),
            (Self::Dnf, "dnf"),
            (Self::Pacman, "pacman"),
        ]
        .into_iter()
        .find_map(|(m, name)| env.which(name).map(|p| (m, p)))
    }

    /// Package names for `missing`.
    pub fn packages(self, missing: &[MissingTool]) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = missing
            .iter()
            .map(|t| match self {
                Self::Apt => t.apt,
                Self::Dnf => t.dnf,
                Self::Pacman => t.pacman,
            })
            .collect();
        v.dedup();
        v
    }

    /// The argument lists to run, in order.
    pub fn commands(self, packages: &[&str]) -> Vec<Vec<String>> {
        let with = |base: &[&str]| {
            base.iter()
                .map(|s| s.to_string())
                .chain(packages.iter().map(|s| s.to_string()))
                .collect::<Vec<_>>()
        };
        match self {
            Self::Apt => vec![
                vec!["update".into(), "-q".into()],
                with(&["install", "-y", "-q"]),
            ],
            Self::Dnf => vec![with(&["install", "-y"])],
            Self::Pacman => vec![with(&["-S", "--needed", "--noconfirm"])],
        }
    }
}

/// Whether this process runs as root (effective uid 0), read from
/// `/proc/self/status` so no libc binding is needed.
pub fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_lists_all_missing_tools_with_three_package_managers() {
        let msg = describe_missing(&[CMAKE, NINJA, CXX, NVCC], &None);
        assert!(
            msg.contains("cmake, ninja, c++ (C++ compiler), nvcc"),
            "{msg}"
        );
        assert!(
            msg.contains("apt-get install -y cmake ninja-build g++ nvidia-cuda-toolkit"),
            "{msg}"
        );
        assert!(
            msg.contains("dnf install -y cmake ninja-build gcc-c++ cuda-toolkit"),
            "{msg}"
        );
        assert!(
            msg.contains("pacman -S --needed cmake ninja gcc cuda"),
            "{msg}"
        );
    }

    #[test]
    fn cuda_roots_prefer_plain_then_newest() {
        let dir = tempfile::tempdir().unwrap();
        for d in ["cuda-11.8", "cuda-12.10", "cuda-12.9", "other"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        let roots = cuda_roots(&[dir.path().to_path_buf()]);
        let names: Vec<_> = roots
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["cuda", "cuda-12.10", "cuda-12.9", "cuda-11.8"]);
    }

    #[test]
    fn apt_updates_then_installs() {
        let cmds = PackageManager::Apt.commands(&["cmake", "ninja-build"]);
        assert_eq!(cmds[0], ["update", "-q"]);
        assert_eq!(cmds[1], ["install", "-y", "-q", "cmake", "ninja-build"]);
    }
}
