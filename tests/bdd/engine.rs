//! Steps for the engine features: the llama.cpp provider against fake
//! build tools that record every call, narrations captured per scenario.

#[path = "../../crates/engine-provisioner/tests/engine_provisioner/support.rs"]
mod fake;

use crate::World;
use cucumber::{given, then, when};
use engine_provisioner::actions as ev;
use engine_provisioner::{
    ConfigError, EngineProvisioner, Plan, PoolConfig, PreparedEngine, ProvisionError,
};
use fake::FakeTools;
use narration_core::CaptureAdapter;

#[derive(Debug, Default)]
pub struct State {
    capture: CaptureAdapter,
    tools: Option<FakeToolsBox>,
    pool: Option<PoolConfig>,
    plan: Option<Result<Plan, ProvisionError>>,
    outcome: Option<Result<PreparedEngine, ProvisionError>>,
    load_error: Option<ConfigError>,
}

/// `FakeTools` holds a temp dir; cucumber's world needs `Debug`.
struct FakeToolsBox(FakeTools);

impl std::fmt::Debug for FakeToolsBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FakeTools({})", self.0.bin.display())
    }
}

impl State {
    fn tools(&self) -> &FakeTools {
        &self.tools.as_ref().expect("fake build tools were set up").0
    }

    fn pool(&self) -> &PoolConfig {
        self.pool.as_ref().expect("a pool was given")
    }

    fn ensure(&mut self) {
        self.capture.clear();
        self.tools().clear();
        let provider = self.tools().provider();
        let pool = self.pool().clone();
        self.outcome = Some(self.capture.in_scope(|| provider.ensure(&pool)));
    }

    fn prepared(&self) -> &PreparedEngine {
        match self.outcome.as_ref().expect("an ensure ran") {
            Ok(p) => p,
            Err(e) => panic!("ensure failed: {e}"),
        }
    }

    fn error(&self) -> &ProvisionError {
        match self.outcome.as_ref().expect("an ensure ran") {
            Ok(p) => panic!("ensure succeeded: {p:?}"),
            Err(e) => e,
        }
    }

    fn actions(&self) -> Vec<&'static str> {
        self.capture
            .captured()
            .iter()
            .filter(|n| n.actor == ev::ACTOR)
            .map(|n| n.action)
            .collect()
    }
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

#[given("fake build tools on PATH")]
fn fake_tools(w: &mut World) {
    w.engine.tools = Some(FakeToolsBox(FakeTools::new()));
}

#[given(expr = "the tools {string} are installed")]
fn tools_installed(w: &mut World, tools: String) {
    for t in list(&tools) {
        w.engine.tools().add(&t);
    }
}

#[given(expr = "the tools {string} are missing")]
fn tools_missing(w: &mut World, tools: String) {
    for t in list(&tools) {
        w.engine.tools().remove(&t);
    }
}

#[given("CMake fails for CUDA unless a host compiler is set")]
fn cmake_needs_host_compiler(w: &mut World) {
    w.engine.tools().fail("cmake.fail-without-host-compiler");
}

#[given("CMake configure always fails")]
fn cmake_always_fails(w: &mut World) {
    w.engine.tools().fail("cmake.fail-configure");
}

#[given(expr = "a pool on ref {string}")]
fn pool_on_ref(w: &mut World, git_ref: String) {
    w.engine.pool = Some(w.engine.tools().pool(&git_ref, &[]));
}

#[given(expr = "a pool on ref {string} with cmake flags {string}")]
fn pool_with_flags(w: &mut World, git_ref: String, flags: String) {
    let flags = list(&flags);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    w.engine.pool = Some(w.engine.tools().pool(&git_ref, &flags));
}

#[when(expr = "I load a pool whose ref is {string}")]
fn load_pool_with_ref(w: &mut World, git_ref: String) {
    // Escaped into the TOML string, so the value itself must be refused,
    // not the file's syntax.
    let escaped = git_ref
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    let toml = w.engine.tools().pool_toml(&escaped, &[], "");
    let loaded = w
        .engine
        .capture
        .in_scope(|| PoolConfig::from_toml_str(&toml));
    w.engine.load_error = Some(loaded.expect_err("a hostile ref must not load"));
}

#[then(expr = "loading the pool fails naming {string}")]
fn load_fails_naming(w: &mut World, key: String) {
    let err = w.engine.load_error.as_ref().expect("a pool was loaded");
    assert!(
        matches!(err, ConfigError::Invalid { key: k, .. } if *k == key),
        "{err:?}"
    );
    assert!(err.to_string().contains(&key), "{err}");
}

#[when("I plan the pool")]
fn plan(w: &mut World) {
    let provider = w.engine.tools().provider();
    let pool = w.engine.pool().clone();
    w.engine.plan = Some(w.engine.capture.in_scope(|| provider.plan(&pool)));
}

#[when("I ensure the pool")]
#[when("I ensure the pool again")]
fn ensure(w: &mut World) {
    w.engine.ensure();
}

#[then(expr = "the plan builds {string}")]
fn plan_builds(w: &mut World, version: String) {
    match w.engine.plan.as_ref().expect("a plan ran") {
        Ok(plan) => assert_eq!(plan.engine_version, version),
        Err(e) => panic!("plan failed: {e}"),
    }
}

#[then(expr = "the plan's CMake definitions include {string}")]
fn plan_defs(w: &mut World, def: String) {
    let plan = w
        .engine
        .plan
        .as_ref()
        .expect("a plan ran")
        .as_ref()
        .expect("plan ok");
    let source = plan
        .details::<engine_provisioner::SourcePlan>()
        .expect("a source plan");
    assert!(source.cmake_defs.contains(&def), "{:?}", source.cmake_defs);
}

#[then("no tool was run")]
fn no_tool(w: &mut World) {
    assert_eq!(w.engine.tools().lines(), Vec::<String>::new());
}

#[then("nothing was written to the cache dir")]
fn nothing_written(w: &mut World) {
    assert!(!w.engine.tools().cache.exists());
}

#[then("no engine narration was emitted")]
fn no_narration(w: &mut World) {
    assert_eq!(w.engine.actions(), Vec::<&str>::new());
}

#[then(expr = "the engine is prepared as {string}")]
fn prepared_as(w: &mut World, version: String) {
    let p = w.engine.prepared();
    assert_eq!(p.engine_version, version);
    assert_eq!(p.host, "127.0.0.1");
    assert!(p.binary_path.is_file());
}

#[then(expr = "the engine narrations are {string}")]
fn narrations_are(w: &mut World, expected: String) {
    assert_eq!(w.engine.actions(), list(&expected));
}

#[then(expr = "every engine narration carries the pool id")]
fn all_pool_id(w: &mut World) {
    let pool_id = w.engine.pool().id.clone();
    for n in w
        .engine
        .capture
        .captured()
        .iter()
        .filter(|n| n.actor == ev::ACTOR)
    {
        assert_eq!(n.pool_id.as_deref(), Some(pool_id.as_str()), "{}", n.action);
    }
}

#[then(expr = "the {string} narration carries duration_ms")]
fn carries_duration(w: &mut World, action: String) {
    let n = w
        .engine
        .capture
        .captured()
        .into_iter()
        .find(|n| n.actor == ev::ACTOR && n.action == action)
        .unwrap_or_else(|| panic!("no {action} narration"));
    assert!(n.duration_ms.is_some(), "{action} has no duration_ms");
}

#[then(expr = "the {string} narration is at level {string}")]
fn at_level(w: &mut World, action: String, level: String) {
    let n = w
        .engine
        .capture
        .captured()
        .into_iter()
        .find(|n| n.actor == ev::ACTOR && n.action == action)
        .unwrap_or_else(|| panic!("no {action} narration"));
    assert_eq!(n.level.as_str(), level);
}

#[then(expr = "the engine ensure fails with error kind {string}")]
fn fails_with(w: &mut World, kind: String) {
    assert_eq!(w.engine.error().error_kind(), kind, "{}", w.engine.error());
    w.engine.capture.assert_field("error_kind", &kind);
}

#[then(expr = "the engine error mentions {string}")]
fn error_mentions(w: &mut World, text: String) {
    let msg = w.engine.error().to_string();
    assert!(msg.contains(&text), "{msg}");
}

#[then(expr = "cmake was configured {int} times, each with {string}")]
fn configured_times(w: &mut World, times: usize, def: String) {
    let configures = w.engine.tools().configures();
    assert_eq!(configures.len(), times, "{configures:?}");
    assert!(
        configures.iter().all(|c| c.contains(&def)),
        "{configures:?}"
    );
}

#[then(expr = "the retry used the host compiler {string}")]
fn retry_used(w: &mut World, compiler: String) {
    let configures = w.engine.tools().configures();
    let want = format!(
        "-DCMAKE_CUDA_HOST_COMPILER={}",
        w.engine.tools().bin.join(&compiler).display()
    );
    assert!(
        configures.last().is_some_and(|c| c.contains(&want)),
        "{configures:?}"
    );
}

#[then("no build was run")]
fn no_build(w: &mut World) {
    let calls = w.engine.tools().calls_of("cmake");
    assert!(
        !calls.iter().any(|c| c.starts_with("cmake --build")),
        "{calls:?}"
    );
}
