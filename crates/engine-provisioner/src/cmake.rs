//! CMake for llama.cpp: the effective definitions (defaults, user flags,
//! legacy CUDA names mapped), stale-cache detection, host compilers for the
//! CUDA retry, and the configure/build command lines.

use crate::config::Generator;
use crate::exec::ToolEnv;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Definitions every build gets, before the user's flags (which override
/// them by name). See the llama.cpp build notes for why each is set.
pub const BASE_DEFS: &[(&str, &str)] = &[
    ("CMAKE_BUILD_TYPE", "Release"),
    ("LLAMA_BUILD_SERVER", "ON"),
    // Portable binaries: the build dir may be shared between machines.
    ("GGML_NATIVE", "OFF"),
    ("LLAMA_BUILD_TESTS", "OFF"),
    ("LLAMA_BUILD_EXAMPLES", "OFF"),
    // LLAMA_BUILD_SERVER only counts with the tools on.
    ("LLAMA_BUILD_TOOLS", "ON"),
    // Otherwise the build tries to download the web UI.
    ("LLAMA_USE_PREBUILT_UI", "OFF"),
    ("LLAMA_BUILD_UI", "OFF"),
    ("LLAMA_OPENSSL", "OFF"),
    // One self-contained binary instead of a binary plus six .so files.
    ("BUILD_SHARED_LIBS", "OFF"),
];

/// Host compilers tried, in order, when a CUDA configure fails: nvcc
/// refuses host compilers newer than it supports.
pub const HOST_COMPILERS: &[(&str, &str)] = &[
    ("gcc-13", "g++-13"),
    ("clang-18", "clang++-18"),
    ("clang-17", "clang++-17"),
    ("clang-16", "clang++-16"),
    ("clang-15", "clang++-15"),
    ("clang-14", "clang++-14"),
    ("clang", "clang++"),
];

/// The definitions a build will use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defs {
    /// `-DNAME=VALUE`, base first, user values replacing base ones in place.
    pub flags: Vec<String>,
    /// `GGML_CUDA` is on.
    pub cuda: bool,
    /// User flags that were rewritten (`LLAMA_CUBLAS…`, `LLAMA_CUDA`).
    pub mapped: Vec<String>,
}

/// CMake's truthy constants.
pub fn is_truthy(value: &str) -> bool {
    let v = value.trim().to_ascii_uppercase();
    matches!(v.as_str(), "ON" | "1" | "TRUE" | "YES" | "Y")
        || v.parse::<i64>().is_ok_and(|n| n != 0)
}

fn split_def(flag: &str) -> Option<(&str, &str)> {
    let (name, value) = flag.strip_prefix("-D")?.split_once('=')?;
    Some((name.split(':').next().unwrap_or(name), value))
}

/// Base definitions plus the user's, with `LLAMA_CUBLAS*` and `LLAMA_CUDA`
/// mapped to `GGML_CUDA` (this llama.cpp stops with a fatal error on
/// `LLAMA_CUBLAS`).
pub fn effective_defs(user: &[String]) -> Defs {
    let mut entries: Vec<(String, String)> = BASE_DEFS
        .iter()
        .map(|(n, v)| (n.to_string(), format!("-D{n}={v}")))
        .collect();
    let mut mapped = Vec::new();
    for flag in user {
        let Some((name, value)) = split_def(flag) else {
            continue; // refused by config validation
        };
        let (name, flag) = if name.starts_with("LLAMA_CUBLAS") || name == "LLAMA_CUDA" {
            mapped.push(flag.clone());
            let on = if is_truthy(value) { "ON" } else { "OFF" };
            ("GGML_CUDA".to_string(), format!("-DGGML_CUDA={on}"))
        } else {
            (name.to_string(), flag.clone())
        };
        match entries.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = flag,
            None => entries.push((name, flag)),
        }
    }
    let cuda = entries
        .iter()
        .any(|(n, f)| n == "GGML_CUDA" && split_def(f).is_some_and(|(_, v)| is_truthy(v)));
    Defs {
        flags: entries.into_iter().map(|(_, f)| f).collect(),
        cuda,
        mapped,
    }
}

/// Add `-DNAME=VALUE` unless a definition of `NAME` is already there (the
/// user's value wins).
pub fn set_default_def(defs: &mut Defs, name: &str, value: &str) {
    if !defs
        .flags
        .iter()
        .any(|f| split_def(f).is_some_and(|(n, _)| n == name))
    {
        defs.flags.push(format!("-D{name}={value}"));
    }
}

/// Definitions pointing CMake at a CUDA root found outside PATH.
pub fn cuda_hints(root: &Path, nvcc: &Path) -> Vec<String> {
    vec![
        format!("-DCUDAToolkit_ROOT={}", root.display()),
        format!("-DCMAKE_CUDA_COMPILER={}", nvcc.display()),
    ]
}

/// Definitions selecting a host compiler pair for the CUDA retry.
pub fn host_compiler_defs(cc: &Path, cxx: &Path) -> Vec<String> {
    vec![
        format!("-DCMAKE_C_COMPILER={}", cc.display()),
        format!("-DCMAKE_CXX_COMPILER={}", cxx.display()),
        format!("-DCMAKE_CUDA_HOST_COMPILER={}", cxx.display()),
    ]
}

/// The first pair of [`HOST_COMPILERS`] found on PATH.
pub fn find_host_compiler(env: &ToolEnv) -> Option<(PathBuf, PathBuf)> {
    HOST_COMPILERS
        .iter()
        .find_map(|(c, cxx)| Some((env.which(c)?, env.which(cxx)?)))
}

/// `cmake -S src -B build -G <gen> <defs>`.
pub fn configure_args(
    src: &Path,
    build: &Path,
    generator: Generator,
    defs: &[String],
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "-S".into(),
        src.into(),
        "-B".into(),
        build.into(),
        "-G".into(),
        generator.cmake_name().into(),
    ];
    args.extend(defs.iter().map(OsString::from));
    args
}

/// `cmake --build build --target llama-server -j N`.
pub fn build_args(build: &Path, jobs: u32) -> Vec<OsString> {
    vec![
        "--build".into(),
        build.into(),
        "--target".into(),
        "llama-server".into(),
        "-j".into(),
        jobs.to_string().into(),
    ]
}

/// Why the existing `CMakeCache.txt` must go before configuring, if it
/// must: a legacy `LLAMA_CUBLAS` entry (fatal in this llama.cpp), another
/// generator (CMake refuses to switch), or definitions that differ from
/// the last successful configure (a removed flag would stay cached).
pub fn stale_cache_reason(
    build_dir: &Path,
    generator: Generator,
    defs: &[String],
    last_defs: Option<&[String]>,
) -> Option<String> {
    let cache = std::fs::read_to_string(build_dir.join("CMakeCache.txt")).ok()?;
    if cache.lines().any(|l| l.starts_with("LLAMA_CUBLAS")) {
        return Some("it holds the legacy LLAMA_CUBLAS option".into());
    }
    let cached_gen = cache
        .lines()
        .find_map(|l| l.strip_prefix("CMAKE_GENERATOR:INTERNAL="));
    if let Some(g) = cached_gen
        && g != generator.cmake_name()
    {
        return Some(format!(
            "it was generated for {g:?}, not {:?}",
            generator.cmake_name()
        ));
    }
    if let Some(last) = last_defs
        && last != defs
    {
        return Some("the CMake definitions changed since the last configure".into());
    }
    None
}

/// Remove `CMakeCache.txt` and the top-level `CMakeFiles` (compiled objects
/// elsewhere stay, so an unchanged compile command is not redone).
pub fn purge_cache(build_dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(build_dir.join("CMakeCache.txt")) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    match std::fs::remove_dir_all(build_dir.join("CMakeFiles")) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The lines of a CMake log that explain a failure: from the first
/// `CMake Error` on, else the tail.
pub fn error_excerpt(tail: &str) -> String {
    match tail.find("CMake Error") {
        Some(i) => tail[i..].to_string(),
        None => tail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn base_defs_come_first_and_user_values_override_in_place() {
        let d = effective_defs(&s(&["-DGGML_NATIVE=ON", "-DCMAKE_CUDA_ARCHITECTURES=90"]));
        assert_eq!(d.flags[0], "-DCMAKE_BUILD_TYPE=Release");
        assert_eq!(d.flags[1], "-DLLAMA_BUILD_SERVER=ON");
        assert_eq!(d.flags[2], "-DGGML_NATIVE=ON");
        assert_eq!(d.flags.last().unwrap(), "-DCMAKE_CUDA_ARCHITECTURES=90");
        assert_eq!(d.flags.len(), BASE_DEFS.len() + 1);
        assert!(!d.cuda);
    }

    #[test]
    fn legacy_cuda_names_map_to_ggml_cuda() {
        for f in [
            "-DLLAMA_CUBLAS=ON",
            "-DLLAMA_CUBLAS:BOOL=1",
            "-DLLAMA_CUDA=yes",
        ] {
            let d = effective_defs(&s(&[f]));
            assert!(d.cuda, "{f}");
            assert_eq!(
                d.flags.iter().filter(|x| x.contains("GGML_CUDA")).count(),
                1
            );
            assert!(d.flags.contains(&"-DGGML_CUDA=ON".to_string()));
            assert_eq!(d.mapped, [f]);
        }
        let d = effective_defs(&s(&["-DLLAMA_CUBLAS=OFF"]));
        assert!(!d.cuda);
        assert!(d.flags.contains(&"-DGGML_CUDA=OFF".to_string()));
    }

    #[test]
    fn ggml_cuda_detected() {
        assert!(effective_defs(&s(&["-DGGML_CUDA=ON"])).cuda);
        assert!(!effective_defs(&s(&["-DGGML_CUDA=OFF"])).cuda);
        assert!(effective_defs(&s(&["-DGGML_CUDA:BOOL=TRUE"])).cuda);
    }

    #[test]
    fn stale_cache_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let b = dir.path();
        let defs = s(&["-DA=1"]);
        assert_eq!(stale_cache_reason(b, Generator::Ninja, &defs, None), None);
        std::fs::write(b.join("CMakeCache.txt"), "CMAKE_GENERATOR:INTERNAL=Ninja\n").unwrap();
        assert_eq!(stale_cache_reason(b, Generator::Ninja, &defs, None), None);
        assert_eq!(
            stale_cache_reason(b, Generator::Ninja, &defs, Some(&defs)),
            None
        );
        assert!(stale_cache_reason(b, Generator::Ninja, &defs, Some(&s(&["-DA=2"]))).is_some());
        assert!(stale_cache_reason(b, Generator::Make, &defs, None).is_some());
        std::fs::write(
            b.join("CMakeCache.txt"),
            "LLAMA_CUBLAS:BOOL=ON\nCMAKE_GENERATOR:INTERNAL=Ninja\n",
        )
        .unwrap();
        let why = stale_cache_reason(b, Generator::Ninja, &defs, None).unwrap();
        assert!(why.contains("LLAMA_CUBLAS"));
        std::fs::create_dir(b.join("CMakeFiles")).unwrap();
        purge_cache(b).unwrap();
        assert!(!b.join("CMakeCache.txt").exists() && !b.join("CMakeFiles").exists());
        purge_cache(b).unwrap();
    }

    #[test]
    fn truthy() {
        for t in ["ON", "on", "1", "TRUE", "yes", "Y", "2"] {
            assert!(is_truthy(t), "{t}");
        }
        for f in ["OFF", "0", "FALSE", "no", "N", "", "NOTFOUND"] {
            assert!(!is_truthy(f), "{f}");
        }
    }
}
