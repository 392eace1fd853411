//! Fake build tools for tests: shell scripts on a private PATH that record
//! their argv (one line per call in `calls.log`) and imitate git, CMake and
//! the compilers well enough for the provisioner's whole lifecycle.
//! Control files in `ctl/` make them fail on purpose.
//!
//! Each `FakeTools` also has its own model provisioner (cache and catalog
//! in its temp dir), handed to the providers it makes.
//!
//! Shared by the crate's integration tests and the workspace BDD steps.

#![allow(dead_code)]

use engine_provisioner::{LlamaCppSource, PoolConfig};
use model_provisioner::{Fetcher, ModelProvisioner};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Commits the fake repository knows: `v0` and `v1` tags, and the one a
/// fetch brings.
pub const C1: &str = "1111111111111111111111111111111111111111";
pub const C2: &str = "2222222222222222222222222222222222222222";
pub const C3: &str = "3333333333333333333333333333333333333333";

const GIT: &str = r#"
while [ $# -gt 0 ]; do
  case "$1" in
    -c) shift 2 ;;
    -C) cd "$2" || exit 1; shift 2 ;;
    *) break ;;
  esac
done
sub="$1"; shift
case "$sub" in
  clone)
    [ -e "$CTL/git.fail-clone" ] && { echo "fatal: repository not found" >&2; exit 128; }
    if [ -e "$CTL/git.hang-clone" ]; then
      # A clone that never ends, with a grandchild (as git-remote-https is).
      sleep 60 &
      echo "$$ $!" > "$CTL/pids.tmp"; mv "$CTL/pids.tmp" "$CTL/git-clone.pids"
      wait; exit 1
    fi
    for a; do dest="$a"; done
    mkdir -p "$dest/.git/refs/heads"
    echo "ref: refs/heads/main" > "$dest/.git/HEAD"
    echo "$C1" > "$dest/.git/refs/heads/main"
    printf '# pack-refs with: peeled fully-peeled sorted \n%s refs/tags/v0\n%s refs/tags/v1\n' "$C1" "$C2" > "$dest/.git/packed-refs"
    printf '%s\n%s\n' "$C1" "$C2" > "$dest/.git/known"
    ;;
  rev-parse)
    for a; do last="$a"; done
    name="${last%"^{commit}"}"
    case "$name" in
      refs/tags/v0) echo "$C1" ;;
      refs/tags/v1) echo "$C2" ;;
      *) if grep -qx "$name" .git/known; then echo "$name";
         elif [ -f ".git/$name" ]; then cat ".git/$name";
         else exit 1; fi ;;
    esac
    ;;
  fetch)
    [ -e "$CTL/git.fail-fetch" ] && { echo "fatal: couldn't find remote ref" >&2; exit 128; }
    for a; do spec="$a"; done
    case "$spec" in
      *:*)
        dst="${spec#*:}"
        mkdir -p ".git/$(dirname "$dst")"
        echo "$C3" > ".git/$dst"
        echo "$C3" >> .git/known ;;
      *) echo "$spec" >> .git/known ;;
    esac
    ;;
  checkout)
    for a; do c="$a"; done
    echo "$c" > .git/HEAD
    touch .git/index
    ;;
  submodule) ;;
  *) echo "fake git: unknown command $sub" >&2; exit 2 ;;
esac
"#;

const CMAKE: &str = r#"
# The ccache variables this call saw, for the ccache tests.
env | grep '^CCACHE_' | sort > "$CTL/cmake.ccache-env"
if [ "$1" = "--build" ]; then
  build="$2"
  if [ -e "$CTL/cmake.slow-build" ]; then
    # A build that would run for a minute, with a grandchild (a compiler).
    sleep 60 &
    echo "$$ $!" > "$CTL/pids.tmp"; mv "$CTL/pids.tmp" "$CTL/cmake-build.pids"
    i=1
    while [ $i -le 600 ]; do echo "[$i/600] Building CXX object o$i.o"; sleep 0.1; i=$((i+1)); done
    exit 1
  fi
  # cmake.steps holds N: the build prints [1/N] … [N/N], slowly.
  total=2; pause=0
  [ -e "$CTL/cmake.steps" ] && { total=$(cat "$CTL/cmake.steps"); pause=0.15; }
  echo "[1/$total] Building CXX object common/arg.cpp.o"
  if [ -e "$CTL/cmake.fail-build" ]; then
    echo "arg.cpp:1:1: error: something broke in the build" >&2
    echo "ninja: build stopped: subcommand failed." >&2
    exit 1
  fi
  mkdir -p "$build/bin"
  echo "fake llama-server $(cat "$build/CMakeCache.txt" | tr '\n' ' ')" > "$build/bin/llama-server"
  chmod +x "$build/bin/llama-server"
  i=2
  while [ $i -lt $total ]; do sleep $pause; echo "[$i/$total] Building CXX object o$i.o"; i=$((i+1)); done
  sleep $pause
  echo "[$total/$total] Linking CXX executable bin/llama-server"
  exit 0
fi
all="$*"
while [ $# -gt 0 ]; do
  case "$1" in
    -S) src="$2"; shift 2 ;;
    -B) build="$2"; shift 2 ;;
    -G) gen="$2"; shift 2 ;;
    *) shift ;;
  esac
done
[ -e "$build/CMakeCache.txt" ] && echo "note cache-present" >> "$CALLS"
echo "note PATH=$ORIG_PATH" >> "$CALLS"
echo "-- The C compiler identification is GNU 12.2.0"
if [ -e "$CTL/cmake.fail-configure" ]; then
  echo "CMake Error at CMakeLists.txt:12 (message):" >&2
  echo "  configure failed on purpose" >&2
  exit 1
fi
if [ -e "$CTL/cmake.fail-without-host-compiler" ]; then
  case "$all" in
    *CMAKE_CUDA_HOST_COMPILER*) ;;
    *)
      echo "CMake Error at /usr/share/cmake/Modules/CMakeDetermineCUDACompiler.cmake:270 (message):" >&2
      echo "  unsupported GNU version! gcc versions later than 12 are not supported!" >&2
      exit 1 ;;
  esac
fi
mkdir -p "$build/CMakeFiles"
printf 'CMAKE_GENERATOR:INTERNAL=%s\n' "$gen" > "$build/CMakeCache.txt"
echo "-- Build files have been written to: $build"
"#;

const APT: &str = r#"
if [ "$1" = "install" ]; then
  for a; do
    case "$a" in
      cmake) cp "$CTL/cmake.installable" "$BIN/cmake" ;;
    esac
  done
fi
"#;

/// A private PATH of fake tools, a cache dir and a call log.
pub struct FakeTools {
    /// Keeps everything alive.
    pub dir: tempfile::TempDir,
    /// The PATH dir.
    pub bin: PathBuf,
    /// Control files.
    pub ctl: PathBuf,
    /// The pool's cache dir.
    pub cache: PathBuf,
    /// One line per tool call.
    pub calls: PathBuf,
    /// The model provisioner the providers get (cache and catalog under
    /// `dir/models`).
    pub models: Arc<ModelProvisioner>,
}

impl Default for FakeTools {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeTools {
    /// git, cmake, ninja, make, cc and c++ on the PATH.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let bin = dir.path().join("bin");
        let ctl = dir.path().join("ctl");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&ctl).unwrap();
        let models = Arc::new(model_provisioner(dir.path(), None));
        let fake = FakeTools {
            cache: dir.path().join("cache"),
            calls: dir.path().join("calls.log"),
            bin,
            ctl,
            dir,
            models,
        };
        fake.script("git", GIT);
        fake.script("cmake", CMAKE);
        for t in ["ninja", "make", "cc", "c++"] {
            fake.add(t);
        }
        fake
    }

    /// Write a tool that records its call and runs `body`.
    pub fn script(&self, name: &str, body: &str) {
        self.script_in(&self.bin, name, body);
    }

    /// Like [`FakeTools::script`], in another dir (e.g. a CUDA root).
    pub fn script_in(&self, dir: &Path, name: &str, body: &str) {
        std::fs::create_dir_all(dir).unwrap();
        let text = format!(
            "#!/bin/sh\nORIG_PATH=\"$PATH\"\nPATH=/usr/bin:/bin\nCALLS='{calls}'\nCTL='{ctl}'\nBIN='{bin}'\nC1={C1}\nC2={C2}\nC3={C3}\necho \"{name} $*\" >> \"$CALLS\"\n{body}\n",
            calls = self.calls.display(),
            ctl = self.ctl.display(),
            bin = self.bin.display(),
        );
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A tool that only records its call.
    pub fn add(&self, name: &str) {
        self.script(name, "exit 0");
    }

    /// Take cmake off the PATH and add a fake `apt-get` that puts it
    /// back when asked to install `cmake`.
    pub fn cmake_via_apt(&self) {
        std::fs::rename(self.bin.join("cmake"), self.ctl.join("cmake.installable")).unwrap();
        self.script("apt-get", APT);
    }

    /// Take a tool off the PATH.
    pub fn remove(&self, name: &str) {
        let _ = std::fs::remove_file(self.bin.join(name));
    }

    /// Turn on a failure (`cmake.fail-configure`, `git.fail-fetch`, …).
    pub fn fail(&self, what: &str) {
        std::fs::write(self.ctl.join(what), "").unwrap();
    }

    /// Turn a failure off again.
    pub fn heal(&self, what: &str) {
        let _ = std::fs::remove_file(self.ctl.join(what));
    }

    /// The pids a hanging fake tool wrote to `ctl/<name>.pids` (itself and
    /// its grandchild), once it has written them; `None` after `within`.
    pub fn pids(&self, name: &str, within: std::time::Duration) -> Option<(i32, i32)> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let text =
                std::fs::read_to_string(self.ctl.join(format!("{name}.pids"))).unwrap_or_default();
            let mut it = text.split_whitespace().filter_map(|p| p.parse().ok());
            if let (Some(a), Some(b)) = (it.next(), it.next()) {
                return Some((a, b));
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Every recorded line.
    pub fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.calls)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Tool calls only (not the `note …` lines).
    pub fn calls(&self) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| !l.starts_with("note "))
            .collect()
    }

    /// Calls of one tool.
    pub fn calls_of(&self, tool: &str) -> Vec<String> {
        let prefix = format!("{tool} ");
        self.calls()
            .into_iter()
            .filter(|l| l.starts_with(&prefix))
            .collect()
    }

    /// cmake configure calls (not `--build`).
    pub fn configures(&self) -> Vec<String> {
        self.calls_of("cmake")
            .into_iter()
            .filter(|l| !l.starts_with("cmake --build"))
            .collect()
    }

    /// Forget recorded calls.
    pub fn clear(&self) {
        let _ = std::fs::write(&self.calls, "");
    }

    /// A provider that sees only the fake tools, no CUDA roots, not root.
    pub fn provider(&self) -> LlamaCppSource {
        self.provider_with(self.models.clone())
    }

    /// [`FakeTools::provider`] with another model provisioner.
    pub fn provider_with(&self, models: Arc<ModelProvisioner>) -> LlamaCppSource {
        LlamaCppSource::new(models)
            .with_path(self.bin.as_os_str())
            .with_cuda_search_dirs(vec![])
            .with_root(false)
    }

    /// A model provisioner in this temp dir that asks `fetcher` first.
    pub fn models_with(&self, fetcher: Arc<dyn Fetcher>) -> Arc<ModelProvisioner> {
        Arc::new(model_provisioner(self.dir.path(), Some(fetcher)))
    }

    /// A pool TOML for the fake repo; `extra_build` lines go under
    /// `[provisioning.source.build]`, `extra_provisioning` under
    /// `[provisioning]`.
    pub fn pool_toml(
        &self,
        git_ref: &str,
        cmake_flags: &[&str],
        extra_provisioning: &str,
    ) -> String {
        let flags: Vec<String> = cmake_flags.iter().map(|f| format!("{f:?}")).collect();
        format!(
            r#"
id = "fake-pool"
engine = "llamacpp"
[provisioning]
flags = ["--ctx-size", "128", "--ngl", "99"]
{extra_provisioning}
[provisioning.source]
repo = "file:///srv/git/llama.cpp"
ref = "{git_ref}"
[provisioning.source.build]
generator = "ninja"
cache_dir = "{cache}"
jobs = 3
cmake_flags = [{flags}]
[provisioning.model]
ref = "{model}"
"#,
            cache = self.cache.display(),
            flags = flags.join(", "),
            model = tiny_model().display(),
        )
    }

    /// [`FakeTools::pool_toml`], parsed.
    pub fn pool(&self, git_ref: &str, cmake_flags: &[&str]) -> PoolConfig {
        PoolConfig::from_toml_str(&self.pool_toml(git_ref, cmake_flags, "")).expect("pool config")
    }
}

/// A model provisioner keeping its cache and catalog under `dir/models`.
fn model_provisioner(dir: &Path, first: Option<Arc<dyn Fetcher>>) -> ModelProvisioner {
    let models = dir.join("models");
    let mut builder =
        ModelProvisioner::builder(&models).catalog_path(models.join("catalog.sqlite"));
    if let Some(fetcher) = first {
        builder = builder.fetcher(fetcher);
    }
    builder.build().expect("model provisioner")
}

/// The committed tiny GGUF model.
pub fn tiny_model() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    for candidate in [
        here.join("examples/tiny-llama.gguf"),
        here.join("../../examples/tiny-llama.gguf"),
    ] {
        if let Ok(p) = std::fs::canonicalize(&candidate) {
            return p;
        }
    }
    panic!("examples/tiny-llama.gguf is missing");
}
