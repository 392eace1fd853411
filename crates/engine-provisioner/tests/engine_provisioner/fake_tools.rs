//! The whole lifecycle against fake tools that record their argv: which
//! processes run, with which arguments, in which order, and what is
//! narrated — for the happy path, the build cache, CUDA handling and
//! every failure.

use crate::support::{C1, C2, C3, FakeTools};
use engine_provisioner::actions as ev;
use engine_provisioner::{
    EngineProvisioner, GitStep, PoolConfig, ProvisionError, SourcePlan, provider_for,
};
use narration_core::CaptureAdapter;

fn actions(capture: &CaptureAdapter) -> Vec<&'static str> {
    capture
        .captured()
        .iter()
        .filter(|n| n.actor == ev::ACTOR)
        .map(|n| n.action)
        .collect()
}

fn field(capture: &CaptureAdapter, action: &str) -> narration_core::CapturedNarration {
    capture
        .captured()
        .into_iter()
        .find(|n| n.actor == ev::ACTOR && n.action == action)
        .unwrap_or_else(|| panic!("no {action} narration; got {:?}", actions(capture)))
}

#[test]
fn cold_cpu_ensure_clones_checks_out_configures_and_builds_in_order() {
    let fake = FakeTools::new();
    let capture = CaptureAdapter::install();
    let engine = fake.provider().ensure(&fake.pool("v0", &[])).unwrap();

    let calls = fake.calls();
    assert!(calls[0].starts_with("git "), "{calls:?}");
    assert!(
        calls[0].contains("clone --no-checkout -- file:///srv/git/llama.cpp"),
        "{}",
        calls[0]
    );
    assert!(
        calls[0].contains("-c protocol.ext.allow=never"),
        "{}",
        calls[0]
    );
    assert!(
        calls
            .iter()
            .any(|c| c.ends_with(&format!("checkout -q --force --detach {C1}")))
    );
    assert!(!calls.iter().any(|c| c.contains(" fetch ")), "{calls:?}");
    let configure = &fake.configures()[0];
    for def in [
        "-G Ninja",
        "-DCMAKE_BUILD_TYPE=Release",
        "-DLLAMA_BUILD_SERVER=ON",
        "-DGGML_NATIVE=OFF",
        "-DLLAMA_BUILD_TOOLS=ON",
        "-DLLAMA_USE_PREBUILT_UI=OFF",
        "-DBUILD_SHARED_LIBS=OFF",
    ] {
        assert!(configure.contains(def), "{def} missing from {configure}");
    }
    let builds = fake.calls_of("cmake");
    assert!(
        builds
            .last()
            .unwrap()
            .ends_with("--target llama-server -j 3"),
        "{builds:?}"
    );
    for never in ["cc ", "c++ ", "ninja ", "make "] {
        assert!(
            !calls.iter().any(|c| c.starts_with(never)),
            "{never}: {calls:?}"
        );
    }

    assert_eq!(
        actions(&capture),
        [
            ev::START,
            ev::PREFLIGHT,
            ev::GIT_CLONE,
            ev::GIT_CLONE,
            ev::GIT_CHECKOUT,
            ev::CMAKE_CONFIGURE,
            ev::CMAKE_BUILD,
            ev::BUILT,
            ev::COMPLETE
        ]
    );
    assert!(
        capture
            .captured()
            .iter()
            .filter(|n| n.actor == ev::ACTOR)
            .all(|n| n.pool_id.as_deref() == Some("fake-pool"))
    );
    assert!(field(&capture, ev::BUILT).duration_ms.is_some());
    assert!(field(&capture, ev::COMPLETE).duration_ms.is_some());
    assert_eq!(
        field(&capture, ev::COMPLETE).engine_version.as_deref(),
        Some("llamacpp-source:v0-cpu")
    );

    assert_eq!(engine.commit, C1);
    assert_eq!(engine.engine_version, "llamacpp-source:v0-cpu");
    assert_eq!(engine.provisioning_mode, "source");
    assert_eq!(engine.host, "127.0.0.1");
    assert_eq!(
        engine.binary_path,
        fake.cache.join("build/bin/llama-server")
    );
    assert_eq!(engine.binary_sha256.len(), 64);
    assert_eq!(
        engine.flags[..6],
        [
            "--model",
            engine.model_path.to_str().unwrap(),
            "--host",
            "127.0.0.1",
            "--port",
            &engine.port.to_string()
        ]
    );
    assert_eq!(
        engine.flags[6..],
        ["--ctx-size", "128", "--n-gpu-layers", "0"]
    );
    assert!(fake.cache.join("build.stamp").is_file());
    let log = std::fs::read_to_string(fake.cache.join("build.log")).unwrap();
    assert!(
        log.contains("Linking CXX executable bin/llama-server"),
        "{log}"
    );
}

#[test]
fn second_ensure_hits_the_build_cache_without_any_process() {
    let fake = FakeTools::new();
    let provider = fake.provider();
    let pool = fake.pool("v0", &[]);
    let first = provider.ensure(&pool).unwrap();
    fake.clear();
    let capture = CaptureAdapter::install();
    let second = provider.ensure(&pool).unwrap();
    assert_eq!(fake.lines(), Vec::<String>::new(), "no tool may run");
    assert_eq!(
        actions(&capture),
        [
            ev::START,
            ev::PREFLIGHT,
            ev::GIT_CHECKOUT,
            ev::BUILD_CACHED,
            ev::COMPLETE
        ]
    );
    assert!(field(&capture, ev::BUILD_CACHED).duration_ms.is_some());
    assert_eq!(first.binary_sha256, second.binary_sha256);
    assert_eq!(first.commit, second.commit);
}

#[test]
fn changed_flags_or_ref_rebuild_and_a_local_ref_needs_no_fetch() {
    let fake = FakeTools::new();
    let provider = fake.provider();
    provider.ensure(&fake.pool("v0", &[])).unwrap();

    fake.clear();
    provider
        .ensure(&fake.pool("v0", &["-DGGML_AVX2=OFF"]))
        .unwrap();
    assert_eq!(fake.configures().len(), 1);
    assert!(fake.configures()[0].contains("-DGGML_AVX2=OFF"));

    fake.clear();
    let capture = CaptureAdapter::install();
    let engine = provider
        .ensure(&fake.pool("v1", &["-DGGML_AVX2=OFF"]))
        .unwrap();
    assert_eq!(engine.commit, C2);
    assert_eq!(engine.engine_version, "llamacpp-source:v1-cpu");
    let git = fake.calls_of("git");
    assert!(!git.iter().any(|c| c.contains(" fetch ")), "{git:?}");
    assert!(git.iter().any(|c| c.ends_with(&format!("--detach {C2}"))));
    assert_eq!(fake.configures().len(), 1);
    assert!(actions(&capture).contains(&ev::CMAKE_BUILD));
}

#[test]
fn changed_definitions_purge_the_cmake_cache_but_unchanged_ones_keep_it() {
    let fake = FakeTools::new();
    let provider = fake.provider();
    provider.ensure(&fake.pool("v0", &[])).unwrap();
    // Same definitions, new commit: the cache stays.
    fake.clear();
    provider.ensure(&fake.pool("v1", &[])).unwrap();
    assert!(fake.lines().contains(&"note cache-present".to_string()));
    // A changed definition: the cache goes (a removed flag must not linger).
    fake.clear();
    provider
        .ensure(&fake.pool("v1", &["-DGGML_AVX=OFF"]))
        .unwrap();
    assert!(!fake.lines().contains(&"note cache-present".to_string()));
}

#[test]
fn unknown_ref_is_fetched_alone_then_found_locally_next_time() {
    let fake = FakeTools::new();
    let provider = fake.provider();
    provider.ensure(&fake.pool("v0", &[])).unwrap();
    fake.clear();
    let capture = CaptureAdapter::install();
    let engine = provider.ensure(&fake.pool("feature-x", &[])).unwrap();
    assert_eq!(engine.commit, C3);
    let fetches: Vec<_> = fake
        .calls_of("git")
        .into_iter()
        .filter(|c| c.contains(" fetch "))
        .collect();
    assert_eq!(fetches.len(), 1);
    assert!(
        fetches[0].ends_with("fetch --no-tags -- origin +feature-x:refs/provision/feature-x"),
        "{}",
        fetches[0]
    );
    capture.assert_sequence(&[(ev::ACTOR, ev::GIT_FETCH), (ev::ACTOR, ev::GIT_CHECKOUT)]);
    fake.clear();
    provider.ensure(&fake.pool("feature-x", &[])).unwrap();
    assert_eq!(fake.lines(), Vec::<String>::new());
}

#[test]
fn failed_fetch_is_git_failed_with_the_git_output() {
    let fake = FakeTools::new();
    let provider = fake.provider();
    provider.ensure(&fake.pool("v0", &[])).unwrap();
    fake.fail("git.fail-fetch");
    let capture = CaptureAdapter::install();
    let err = provider.ensure(&fake.pool("nope", &[])).unwrap_err();
    assert!(
        matches!(
            err,
            ProvisionError::Git {
                step: GitStep::Fetch,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("couldn't find remote ref"),
        "{err}"
    );
    let failed = field(&capture, ev::GIT_FAILED);
    assert_eq!(failed.error_kind.as_deref(), Some("git-fetch"));
    assert_eq!(failed.pool_id.as_deref(), Some("fake-pool"));
}

#[test]
fn interrupted_build_leaves_no_stamp_and_the_next_ensure_rebuilds() {
    let fake = FakeTools::new();
    let provider = fake.provider();
    let pool = fake.pool("v0", &[]);
    provider.ensure(&pool).unwrap();
    assert!(fake.cache.join("build.stamp").is_file());

    fake.fail("cmake.fail-build");
    let capture = CaptureAdapter::install();
    let err = provider
        .ensure(&fake.pool("v0", &["-DGGML_AVX=OFF"]))
        .unwrap_err();
    assert!(matches!(err, ProvisionError::Build { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("something broke in the build"), "{msg}");
    assert!(msg.contains("build.log"), "{msg}");
    assert_eq!(
        field(&capture, ev::BUILD_FAILED).error_kind.as_deref(),
        Some("build")
    );
    assert!(!fake.cache.join("build.stamp").exists());

    // Even the old flags rebuild now: the old binary's stamp is gone.
    fake.heal("cmake.fail-build");
    fake.clear();
    provider.ensure(&pool).unwrap();
    assert!(
        fake.calls_of("cmake")
            .iter()
            .any(|c| c.starts_with("cmake --build"))
    );
}

#[test]
fn legacy_cublas_maps_to_ggml_cuda_and_purges_the_stale_cache() {
    let fake = FakeTools::new();
    fake.add("nvcc");
    let build = fake.cache.join("build");
    std::fs::create_dir_all(&build).unwrap();
    std::fs::write(
        build.join("CMakeCache.txt"),
        "LLAMA_CUBLAS:BOOL=ON\nCMAKE_GENERATOR:INTERNAL=Ninja\n",
    )
    .unwrap();
    let capture = CaptureAdapter::install();
    let engine = fake
        .provider()
        .ensure(&fake.pool("v0", &["-DLLAMA_CUBLAS=ON"]))
        .unwrap();
    let configure = &fake.configures()[0];
    assert!(configure.contains("-DGGML_CUDA=ON"), "{configure}");
    assert!(!configure.contains("CUBLAS"), "{configure}");
    assert!(!fake.lines().contains(&"note cache-present".to_string()));
    let human = field(&capture, ev::CMAKE_CONFIGURE).human.clone();
    assert!(human.contains("purged stale CMakeCache.txt"), "{human}");
    assert!(human.contains("LLAMA_CUBLAS"), "{human}");
    assert_eq!(engine.engine_version, "llamacpp-source:v0-cuda");
    // GPU build: the user's GPU layers stay.
    assert_eq!(
        engine.flags[6..],
        ["--ctx-size", "128", "--n-gpu-layers", "99"]
    );
}

#[test]
fn nvcc_outside_path_gives_cuda_root_hints_and_path() {
    let fake = FakeTools::new();
    let cuda_dir = fake.dir.path().join("opt");
    let root = cuda_dir.join("cuda-12.4");
    fake.script_in(&root.join("bin"), "nvcc", "exit 0");
    let provider = fake.provider().with_cuda_search_dirs(vec![cuda_dir]);
    let engine = provider
        .ensure(&fake.pool("v0", &["-DGGML_CUDA=ON"]))
        .unwrap();
    let configure = &fake.configures()[0];
    assert!(
        configure.contains(&format!("-DCUDAToolkit_ROOT={}", root.display())),
        "{configure}"
    );
    assert!(
        configure.contains(&format!(
            "-DCMAKE_CUDA_COMPILER={}",
            root.join("bin/nvcc").display()
        )),
        "{configure}"
    );
    let path_seen = fake
        .lines()
        .into_iter()
        .find(|l| l.starts_with("note PATH="))
        .unwrap();
    assert!(
        path_seen.starts_with(&format!("note PATH={}", root.join("bin").display())),
        "{path_seen}"
    );
    assert!(engine.engine_version.ends_with("-cuda"));
}

#[test]
fn cuda_configure_failure_retries_once_with_gcc_13_first() {
    let fake = FakeTools::new();
    fake.add("nvcc");
    for t in ["gcc-13", "g++-13", "clang-17", "clang++-17"] {
        fake.add(t);
    }
    fake.fail("cmake.fail-without-host-compiler");
    let capture = CaptureAdapter::install();
    fake.provider()
        .ensure(&fake.pool("v0", &["-DGGML_CUDA=ON"]))
        .unwrap();
    let configures = fake.configures();
    assert_eq!(configures.len(), 2, "{configures:?}");
    let gxx = fake.bin.join("g++-13");
    assert!(configures[1].contains(&format!("-DCMAKE_CUDA_HOST_COMPILER={}", gxx.display())));
    assert!(configures[1].contains(&format!(
        "-DCMAKE_C_COMPILER={}",
        fake.bin.join("gcc-13").display()
    )));
    assert!(configures.iter().all(|c| c.contains("-DGGML_CUDA=ON")));
    assert_eq!(
        actions(&capture)[5..],
        [
            ev::CMAKE_CONFIGURE,
            ev::CMAKE_RETRY,
            ev::CMAKE_BUILD,
            ev::BUILT,
            ev::COMPLETE
        ]
    );
    let retry = field(&capture, ev::CMAKE_RETRY);
    assert_eq!(retry.level.as_str(), "WARN");
    assert!(retry.human.contains("g++-13"), "{}", retry.human);
}

#[test]
fn without_gcc_13_the_retry_uses_the_newest_clang() {
    let fake = FakeTools::new();
    fake.add("nvcc");
    for t in [
        "clang-15",
        "clang++-15",
        "clang-17",
        "clang++-17",
        "clang",
        "clang++",
    ] {
        fake.add(t);
    }
    fake.fail("cmake.fail-without-host-compiler");
    fake.provider()
        .ensure(&fake.pool("v0", &["-DGGML_CUDA=ON"]))
        .unwrap();
    let retry = &fake.configures()[1];
    assert!(
        retry.contains(&format!(
            "-DCMAKE_CUDA_HOST_COMPILER={}",
            fake.bin.join("clang++-17").display()
        )),
        "{retry}"
    );
}

#[test]
fn cuda_failure_after_the_retry_is_cmake_failed_and_never_a_cpu_build() {
    let fake = FakeTools::new();
    fake.add("nvcc");
    fake.add("gcc-13");
    fake.add("g++-13");
    fake.fail("cmake.fail-configure");
    let capture = CaptureAdapter::install();
    let err = fake
        .provider()
        .ensure(&fake.pool("v0", &["-DGGML_CUDA=ON"]))
        .unwrap_err();
    assert!(
        matches!(err, ProvisionError::CmakeConfigure { cuda: true, .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("CMake Error at CMakeLists.txt:12"), "{msg}");
    assert!(msg.contains("never replaced by a CPU build"), "{msg}");
    let configures = fake.configures();
    assert_eq!(configures.len(), 2);
    assert!(configures.iter().all(|c| c.contains("-DGGML_CUDA=ON")));
    assert!(!fake.calls_of("cmake").iter().any(|c| c.contains("--build")));
    let failed = field(&capture, ev::CMAKE_FAILED);
    assert_eq!(failed.error_kind.as_deref(), Some("cuda-configure"));
    assert_eq!(failed.level.as_str(), "ERROR");
    capture.assert_sequence(&[
        (ev::ACTOR, ev::CMAKE_CONFIGURE),
        (ev::ACTOR, ev::CMAKE_RETRY),
        (ev::ACTOR, ev::CMAKE_FAILED),
    ]);
}

#[test]
fn cuda_failure_without_a_host_compiler_says_what_to_install() {
    let fake = FakeTools::new();
    fake.add("nvcc");
    fake.fail("cmake.fail-configure");
    let capture = CaptureAdapter::install();
    let err = fake
        .provider()
        .ensure(&fake.pool("v0", &["-DGGML_CUDA=ON"]))
        .unwrap_err();
    assert!(err.to_string().contains("Install gcc-13"), "{err}");
    assert_eq!(fake.configures().len(), 1);
    assert!(!actions(&capture).contains(&ev::CMAKE_RETRY));
    capture.assert_field("error_kind", "cuda-configure");
}

#[test]
fn cpu_configure_failure_is_not_retried() {
    let fake = FakeTools::new();
    fake.add("gcc-13");
    fake.add("g++-13");
    fake.fail("cmake.fail-configure");
    let capture = CaptureAdapter::install();
    let err = fake.provider().ensure(&fake.pool("v0", &[])).unwrap_err();
    assert!(matches!(
        err,
        ProvisionError::CmakeConfigure { cuda: false, .. }
    ));
    assert_eq!(fake.configures().len(), 1);
    capture.assert_field("error_kind", "cmake-configure");
}

#[test]
fn preflight_lists_every_missing_tool_with_install_hints() {
    let fake = FakeTools::new();
    for t in ["cmake", "ninja", "c++"] {
        fake.remove(t);
    }
    let capture = CaptureAdapter::install();
    let err = fake
        .provider()
        .ensure(&fake.pool("v0", &["-DGGML_CUDA=ON"]))
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("missing build tools: cmake, ninja, c++ (C++ compiler), nvcc (CUDA toolkit)"),
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
    assert_eq!(fake.lines(), Vec::<String>::new());
    assert_eq!(
        actions(&capture),
        [ev::START, ev::PREFLIGHT, ev::PREFLIGHT_FAILED]
    );
    capture.assert_field("error_kind", "missing-tools");
}

#[test]
fn package_installs_need_both_the_flag_and_root() {
    let fake = FakeTools::new();
    fake.cmake_via_apt();
    let allow =
        PoolConfig::from_toml_str(&fake.pool_toml("v0", &[], "allow_package_installs = true"))
            .unwrap();

    // Not root: refused, nothing run.
    let err = fake.provider().ensure(&allow).unwrap_err();
    assert!(
        err.to_string()
            .contains("only installed when running as root"),
        "{err}"
    );
    assert_eq!(fake.lines(), Vec::<String>::new());

    // Flag off: the package manager is never touched, even as root.
    let deny = fake.pool("v0", &[]);
    let err = fake.provider().with_root(true).ensure(&deny).unwrap_err();
    assert!(matches!(err, ProvisionError::MissingTools { .. }));
    assert_eq!(fake.lines(), Vec::<String>::new());

    // Root and allowed: apt-get update, install, then the build goes on.
    let capture = CaptureAdapter::install();
    fake.provider().with_root(true).ensure(&allow).unwrap();
    let apt = fake.calls_of("apt-get");
    assert_eq!(apt, ["apt-get update -q", "apt-get install -y -q cmake"]);
    capture.assert_sequence(&[
        (ev::ACTOR, ev::PREFLIGHT),
        (ev::ACTOR, ev::PACKAGE_INSTALL),
        (ev::ACTOR, ev::GIT_CLONE),
    ]);
}

#[test]
fn plan_is_pure_and_describes_the_build() {
    let fake = FakeTools::new();
    let plan = fake
        .provider()
        .plan(&fake.pool("v0", &["-DLLAMA_CUBLAS=ON"]))
        .unwrap();
    assert_eq!(fake.lines(), Vec::<String>::new());
    assert!(!fake.cache.exists());
    assert_eq!(plan.engine_version, "llamacpp-source:v0-cuda");
    assert_eq!(plan.binary_path, fake.cache.join("build/bin/llama-server"));
    assert!(plan.tools.contains(&"nvcc".to_string()));
    let kinds: Vec<&str> = plan.steps.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds, ["preflight", "git", "cmake", "model", "flags"]);
    let source = plan.details::<SourcePlan>().expect("source details");
    assert!(source.cuda);
    assert_eq!(source.mapped_flags, ["-DLLAMA_CUBLAS=ON"]);
    assert!(source.cmake_defs.contains(&"-DGGML_CUDA=ON".to_string()));
    assert_eq!(source.jobs, 3);
}

#[test]
fn other_engines_are_refused_clearly() {
    let capture = CaptureAdapter::install();
    for engine in ["vllm", "tgi", "triton"] {
        let pool =
            PoolConfig::from_toml_str(&format!("id = \"p-{engine}\"\nengine = \"{engine}\""))
                .unwrap();
        let err = match provider_for(&pool, FakeTools::new().models) {
            Err(e) => e,
            Ok(_) => panic!("{engine} accepted"),
        };
        assert!(err.to_string().contains("not supported yet"), "{err}");
        assert!(err.to_string().contains(engine), "{err}");
    }
    assert_eq!(capture.captured().len(), 3);
    capture.assert_field("action", ev::PROVIDER_FAILED);
    capture.assert_field("error_kind", "unsupported-engine");
}

#[test]
fn busy_configured_ports_are_skipped() {
    let fake = FakeTools::new();
    // Both stay bound until the end of the test.
    let busy: Vec<std::net::TcpListener> = (0..2)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let ports: Vec<u16> = busy
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    let toml = fake.pool_toml("v0", &[], &format!("ports = {ports:?}"));
    let engine = fake
        .provider()
        .ensure(&PoolConfig::from_toml_str(&toml).unwrap())
        .unwrap();
    assert!(!ports.contains(&engine.port), "{} is busy", engine.port);
    assert_ne!(engine.port, 0);
    let port_flag = engine.flags.iter().position(|f| f == "--port").unwrap();
    assert_eq!(engine.flags[port_flag + 1], engine.port.to_string());
}

#[test]
fn a_commit_id_not_in_the_clone_is_fetched_by_id() {
    let fake = FakeTools::new();
    let id = "4444444444444444444444444444444444444444";
    let engine = fake.provider().ensure(&fake.pool(id, &[])).unwrap();
    assert_eq!(engine.commit, id);
    let git = fake.calls_of("git");
    assert!(
        git.iter()
            .any(|c| c.ends_with(&format!("fetch --no-tags -- origin {id}"))),
        "{git:?}"
    );
    assert!(git.iter().any(|c| c.ends_with(&format!("--detach {id}"))));
    assert_eq!(engine.engine_version, format!("llamacpp-source:{id}-cpu"));
}

#[test]
fn submodules_are_cloned_and_updated_when_asked() {
    let fake = FakeTools::new();
    let toml = fake
        .pool_toml("v0", &[], "")
        .replace("ref = \"v0\"", "ref = \"v0\"\nsubmodules = true");
    let pool = PoolConfig::from_toml_str(&toml).unwrap();
    fake.provider().ensure(&pool).unwrap();
    let git = fake.calls_of("git");
    assert!(
        git[0].contains("clone --no-checkout --recurse-submodules --"),
        "{}",
        git[0]
    );
    let checkout = git.iter().position(|c| c.contains(" checkout ")).unwrap();
    let update = git
        .iter()
        .position(|c| c.ends_with("submodule update --init --recursive"))
        .unwrap();
    assert!(checkout < update, "{git:?}");
}
