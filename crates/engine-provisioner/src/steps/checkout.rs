//! The source step: clone when absent, resolve the ref (from the ref files
//! first, so a checkout already at the ref's commit runs no git process),
//! fetch that one ref when it is not local, check it out detached.

use crate::actions as ev;
use crate::error::{GitStep, ProvisionError, Result};
use crate::exec::{Stop, ToolEnv};
use crate::git::{self, Git, LocalRef};
use crate::say::Say;
use crate::source_plan::SourcePlan;
use crate::toolchain::Toolchain;
use std::time::Instant;

/// The commit now checked out in `plan.checkout_dir`.
pub(crate) fn run(
    plan: &SourcePlan,
    tools: &Toolchain,
    env: &ToolEnv,
    say: &Say<'_>,
) -> Result<String> {
    let git = Git {
        git: &tools.git,
        env,
        log: &plan.git_log,
    };
    if !git::is_checkout(&plan.checkout_dir) {
        clone(plan, &git, say)?;
    }
    let resolved = resolve(plan, &git)?;
    if let Some(commit) = resolved.as_deref()
        && git::detached_head(&plan.checkout_dir).as_deref() == Some(commit)
    {
        return already_there(plan, &git, commit.to_string(), say);
    }
    let commit = fetch_unless_present(plan, &git, resolved, say)?;
    check_out(plan, &git, &commit, say)?;
    Ok(commit)
}

/// A git failure in `step`, quoting git's last lines (redacted), or the
/// cancel that stopped it.
fn git_error(plan: &SourcePlan, step: GitStep) -> impl Fn(Stop) -> ProvisionError + '_ {
    move |stop| match stop {
        Stop::Cancelled => ProvisionError::cancelled(&plan.pool_id, step.error_kind()),
        Stop::Failed(f) => ProvisionError::Git {
            step,
            repo: plan.repo.public(),
            git_ref: plan.git_ref.to_string(),
            detail: format!("{}\n{}", f.status, narration_core::redact(&f.tail)),
            log: plan.git_log.clone(),
        },
    }
}

/// Clone beside the target and rename: a half clone never looks like a
/// checkout.
fn clone(plan: &SourcePlan, git: &Git<'_>, say: &Say<'_>) -> Result<()> {
    let src = &plan.checkout_dir;
    say.step(
        ev::GIT_CLONE,
        &plan.repo.public(),
        format!("Cloning {} into {}", plan.repo, src.display()),
    );
    let t = Instant::now();
    let tmp = plan.cache_dir.join("src.partial");
    let _ = std::fs::remove_dir_all(&tmp);
    git.clone(plan.repo.for_git(), &tmp, plan.submodules)
        .map_err(git_error(plan, GitStep::Clone))?;
    std::fs::rename(&tmp, src).map_err(|source| ProvisionError::Io {
        what: "cannot move the clone into place at",
        path: src.clone(),
        source,
    })?;
    say.done(
        ev::GIT_CLONE,
        &plan.repo.public(),
        format!("Cloned {} in {} ms", plan.repo, t.elapsed().as_millis()),
        t.elapsed(),
    );
    Ok(())
}

/// The ref's commit as far as the local repository knows it.
fn resolve(plan: &SourcePlan, git: &Git<'_>) -> Result<Option<String>> {
    match git::resolve_local(&plan.checkout_dir, plan.git_ref.as_str()) {
        LocalRef::Commit(c) => Ok(Some(c)),
        LocalRef::NeedsGit => resolve_with_git(plan, git),
        LocalRef::Absent => Ok(None),
    }
}

/// HEAD is already detached at the commit: at most the submodules need
/// an update.
fn already_there(
    plan: &SourcePlan,
    git: &Git<'_>,
    commit: String,
    say: &Say<'_>,
) -> Result<String> {
    let src = &plan.checkout_dir;
    if plan.submodules && !git.submodules_current(src) {
        git.submodules(src)
            .map_err(git_error(plan, GitStep::Submodule))?;
    }
    say.step(
        ev::GIT_CHECKOUT,
        plan.git_ref.as_str(),
        format!(
            "Checkout already at {} ({commit}); no git command needed",
            plan.git_ref
        ),
    );
    Ok(commit)
}

/// The commit, fetching the ref alone when it (or its object) is not in
/// the clone.
fn fetch_unless_present(
    plan: &SourcePlan,
    git: &Git<'_>,
    resolved: Option<String>,
    say: &Say<'_>,
) -> Result<String> {
    if let Some(commit) = resolved
        && object_present(plan, git, &commit)?
    {
        return Ok(commit);
    }
    say.step(
        ev::GIT_FETCH,
        plan.git_ref.as_str(),
        format!("Fetching ref {} from {}", plan.git_ref, plan.repo),
    );
    git.fetch(&plan.checkout_dir, plan.git_ref.as_str())
        .map_err(git_error(plan, GitStep::Fetch))?;
    let fetched = match git::resolve_local(&plan.checkout_dir, plan.git_ref.as_str()) {
        LocalRef::Commit(c) => Some(c),
        _ => resolve_with_git(plan, git)?,
    };
    match fetched {
        Some(commit) if object_present(plan, git, &commit)? => Ok(commit),
        _ => Err(ProvisionError::RefNotFound {
            repo: plan.repo.public(),
            git_ref: plan.git_ref.to_string(),
        }),
    }
}

/// `git checkout --detach`, then the submodules when asked.
fn check_out(plan: &SourcePlan, git: &Git<'_>, commit: &str, say: &Say<'_>) -> Result<()> {
    let src = &plan.checkout_dir;
    say.step(
        ev::GIT_CHECKOUT,
        plan.git_ref.as_str(),
        format!("Checking out ref {} ({commit}) detached", plan.git_ref),
    );
    git.checkout(src, commit)
        .map_err(git_error(plan, GitStep::Checkout))?;
    if plan.submodules {
        git.submodules(src)
            .map_err(git_error(plan, GitStep::Submodule))?;
    }
    Ok(())
}

/// Resolve with `git rev-parse`, trying the same namespaces in order,
/// then the ref as an abbreviated commit id.
fn resolve_with_git(plan: &SourcePlan, git: &Git<'_>) -> Result<Option<String>> {
    let src = &plan.checkout_dir;
    let name = plan.git_ref.as_str();
    let rev_parse = |n: &str| {
        git.rev_parse(src, n)
            .map_err(git_error(plan, GitStep::RevParse))
    };
    for candidate in git::candidates(name) {
        if let Some(commit) = rev_parse(&candidate)? {
            return Ok(Some(commit));
        }
    }
    if name.bytes().all(|b| b.is_ascii_hexdigit()) {
        return rev_parse(name);
    }
    Ok(None)
}

/// A full commit id named in the config may not be in the clone yet.
fn object_present(plan: &SourcePlan, git: &Git<'_>, commit: &str) -> Result<bool> {
    git.rev_parse(&plan.checkout_dir, commit)
        .map(|c| c.is_some())
        .map_err(git_error(plan, GitStep::RevParse))
}
