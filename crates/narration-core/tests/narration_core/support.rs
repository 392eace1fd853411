//! Running one `#[ignore]`d test of this binary in a child process, for
//! scenarios that need a fresh process (a global subscriber, a fresh
//! callsite cache).

use std::process::{Command, Output};

/// The libtest name of `function` in the module whose `module_path!()` is
/// `module`: the path without this binary's crate name, so that it follows
/// the test when modules move.
pub fn test_name(module: &str, function: &str) -> String {
    match module.split_once("::") {
        Some((_crate, path)) => format!("{path}::{function}"),
        None => function.to_string(),
    }
}

/// Run the ignored test `name` (see [`test_name`]) of this binary alone, in
/// a child process configured by `configure` (environment variables), and
/// check that it ran and passed.
pub fn run_ignored_test(name: &str, configure: impl FnOnce(&mut Command)) -> Output {
    let mut command = Command::new(std::env::current_exe().expect("the test binary's path"));
    command.args([
        "--ignored",
        "--exact",
        name,
        "--nocapture",
        "--test-threads=1",
    ]);
    configure(&mut command);
    let output = command.output().expect("the test binary runs as a child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child {name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("test result: ok. 1 passed;"),
        "the child ran no test named {name}:\n{stdout}"
    );
    output
}
