//! Preflight: find every build tool; install the missing ones through the
//! system package manager when the pool allows it and we run as root.

use crate::actions as ev;
use crate::error::{ProvisionError, Result};
use crate::exec::{self, Stop, ToolEnv};
use crate::say::Say;
use crate::source_plan::SourcePlan;
use crate::toolchain::{self, MissingTool, PackageManager, Toolchain};
use std::path::PathBuf;

/// What preflight needs from the provider running it: the environment
/// tools run with (PATH, the pool's variables, the cancel token), where
/// else to look for CUDA, and whether we run as root (which gates
/// package installs).
pub(crate) struct Host<'a> {
    /// The tools' environment.
    pub env: ToolEnv,
    /// Dirs holding CUDA roots (`cuda`, `cuda*`) when nvcc is not on PATH.
    pub cuda_search_dirs: &'a [PathBuf],
    /// Whether the process runs as root.
    pub as_root: bool,
}

/// The tools, and the environment children run with (a CUDA root found
/// outside PATH is put first on it).
pub(crate) fn run(
    host: Host<'_>,
    plan: &SourcePlan,
    say: &Say<'_>,
) -> Result<(Toolchain, ToolEnv)> {
    say.step(
        ev::PREFLIGHT,
        &plan.pool_id,
        format!("Checking required tools ({})", plan.tools.join(", ")),
    );
    let mut env = host.env;
    let find = |env: &ToolEnv| {
        toolchain::find_tools(env, plan.generator, plan.cuda, host.cuda_search_dirs)
    };
    let tools = match find(&env) {
        Ok(tools) => tools,
        Err(missing) if !plan.allow_package_installs => {
            return Err(ProvisionError::MissingTools {
                missing,
                note: None,
            });
        }
        Err(missing) => {
            match install_packages(host.as_root, &missing, plan, &env, say) {
                Installed::Yes => {}
                Installed::No(note) => {
                    return Err(ProvisionError::MissingTools {
                        missing,
                        note: Some(note),
                    });
                }
                Installed::Cancelled => {
                    return Err(ProvisionError::cancelled(
                        &plan.pool_id,
                        ev::PACKAGE_INSTALL,
                    ));
                }
            }
            find(&env).map_err(|still| ProvisionError::MissingTools {
                missing: still,
                note: Some("the package manager ran but these tools are still missing".into()),
            })?
        }
    };
    if let Some(root) = &tools.cuda_root {
        // nvcc outside PATH: children need it on PATH too.
        env.prepend_path(&root.join("bin"));
    }
    Ok((tools, env))
}

/// What the package manager did.
enum Installed {
    /// It ran and succeeded.
    Yes,
    /// It could not, and why.
    No(String),
    /// The caller cancelled it.
    Cancelled,
}

/// Try the system package manager.
fn install_packages(
    as_root: bool,
    missing: &[MissingTool],
    plan: &SourcePlan,
    env: &ToolEnv,
    say: &Say<'_>,
) -> Installed {
    if !as_root {
        return Installed::No(
            "allow_package_installs is set, but packages are only installed when running as root"
                .into(),
        );
    }
    let Some((manager, program)) = PackageManager::detect(env) else {
        return Installed::No(
            "allow_package_installs is set, but no apt-get, dnf or pacman was found".into(),
        );
    };
    let packages = manager.packages(missing);
    say.step(
        ev::PACKAGE_INSTALL,
        &plan.pool_id,
        format!(
            "Installing missing build tools with {}: {}",
            program.display(),
            packages.join(" ")
        ),
    );
    let log = plan.cache_dir.join("install.log");
    for args in manager.commands(&packages) {
        let mut cmd = env.command(&program);
        cmd.env("DEBIAN_FRONTEND", "noninteractive").args(&args);
        match exec::run_logged(cmd, &log, &env.cancel) {
            Ok(()) => {}
            Err(Stop::Cancelled) => return Installed::Cancelled,
            Err(Stop::Failed(f)) => {
                return Installed::No(format!(
                    "installing with {} failed: {}\n{}",
                    program.display(),
                    f.status,
                    f.tail
                ));
            }
        }
    }
    Installed::Yes
}
