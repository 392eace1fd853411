//! model-provisioner's integration tests, one binary: real files, a real
//! SQLite catalog, real child processes, and a stand-in Hub on loopback.

mod catalog;
mod catalog_promises;
mod ensure;
mod ensure_processes;
mod removal;

/// The libtest name of `name` in the module `module` (from
/// `module_path!()`), for re-running one test in a child process.
pub fn test_name(module: &str, name: &str) -> String {
    let module = module.split_once("::").map_or("", |(_, m)| m);
    format!("{module}::{name}")
}
