//! Git without surprises: refs resolved locally first (by reading the ref
//! files, so an up-to-date checkout costs no process at all), fetches
//! limited to the one ref needed, detached checkouts.

use crate::exec::{Stop, ToolEnv, capture, run_captured, run_logged};
use crate::validate::is_full_commit;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The ref namespaces tried for a name, in order. `refs/provision/` holds
/// refs this crate fetched by name.
pub fn candidates(git_ref: &str) -> Vec<String> {
    vec![
        format!("refs/tags/{git_ref}"),
        format!("refs/remotes/origin/{git_ref}"),
        format!("{FETCHED_PREFIX}{git_ref}"),
    ]
}

/// Where a ref fetched on demand is kept, so the next ensure finds it
/// without the network.
pub const FETCHED_PREFIX: &str = "refs/provision/";

/// The `.git` dir of a checkout, when it is a plain directory.
fn git_dir(checkout: &Path) -> PathBuf {
    checkout.join(".git")
}

/// The commit of a detached, checked-out HEAD (`None` when HEAD is a
/// branch, as right after `clone --no-checkout`, or when there is no
/// index yet, i.e. nothing was checked out). Read from the files.
pub fn detached_head(checkout: &Path) -> Option<String> {
    let gd = git_dir(checkout);
    if !gd.join("index").is_file() {
        return None;
    }
    let head = std::fs::read_to_string(gd.join("HEAD")).ok()?;
    let head = head.trim();
    is_full_commit(head).then(|| head.to_ascii_lowercase())
}

/// A ref's value as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RefValue {
    /// Known to be (or peel to) this commit.
    Peeled(String),
    /// An object that may be an annotated tag; git must peel it.
    Unpeeled(String),
}

/// How a ref resolved from the files alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalRef {
    /// The ref names this commit.
    Commit(String),
    /// Present, but only git can peel it (a loose annotated tag, maybe).
    NeedsGit,
    /// Not in the local repository.
    Absent,
}

/// Resolve `git_ref` from the ref files of `checkout`.
pub fn resolve_local(checkout: &Path, git_ref: &str) -> LocalRef {
    if is_full_commit(git_ref) {
        return LocalRef::Commit(git_ref.to_ascii_lowercase());
    }
    let gd = git_dir(checkout);
    for name in candidates(git_ref) {
        match lookup(&gd, &name) {
            Some(RefValue::Peeled(c)) => return LocalRef::Commit(c),
            Some(RefValue::Unpeeled(_)) => return LocalRef::NeedsGit,
            None => {}
        }
    }
    LocalRef::Absent
}

/// Look a full ref name up in loose files, then in `packed-refs`.
fn lookup(git_dir: &Path, name: &str) -> Option<RefValue> {
    if let Ok(text) = std::fs::read_to_string(git_dir.join(name)) {
        let value = text.trim();
        if is_full_commit(value) {
            // Branches and remote-tracking refs always point at commits;
            // tags may point at tag objects.
            return Some(if name.starts_with("refs/tags/") {
                RefValue::Unpeeled(value.to_ascii_lowercase())
            } else {
                RefValue::Peeled(value.to_ascii_lowercase())
            });
        }
        return None;
    }
    let packed = std::fs::read_to_string(git_dir.join("packed-refs")).ok()?;
    let fully_peeled = packed
        .lines()
        .next()
        .is_some_and(|l| l.starts_with('#') && l.contains("fully-peeled"));
    let mut lines = packed.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((sha, ref_name)) = line.split_once(' ') else {
            continue;
        };
        if ref_name != name || !is_full_commit(sha) {
            continue;
        }
        if let Some(peeled) = lines.peek().and_then(|l| l.strip_prefix('^')) {
            return Some(RefValue::Peeled(peeled.trim().to_ascii_lowercase()));
        }
        // With "fully-peeled", a ref without a ^ line is not a tag object.
        return Some(if fully_peeled || !name.starts_with("refs/tags/") {
            RefValue::Peeled(sha.to_ascii_lowercase())
        } else {
            RefValue::Unpeeled(sha.to_ascii_lowercase())
        });
    }
    None
}

/// True when `checkout` looks like a git checkout (has `.git/HEAD`).
pub fn is_checkout(checkout: &Path) -> bool {
    git_dir(checkout).join("HEAD").is_file()
}

/// git commands on one checkout, logged to one file.
pub struct Git<'a> {
    /// The git binary.
    pub git: &'a Path,
    /// PATH and variables.
    pub env: &'a ToolEnv,
    /// Where their output goes.
    pub log: &'a Path,
}

impl Git<'_> {
    fn command(&self, dir: Option<&Path>) -> Command {
        let mut cmd = self.env.command(self.git);
        // Never prompt, never run a remote helper that executes commands.
        cmd.env("GIT_TERMINAL_PROMPT", "0");
        cmd.args([
            "-c",
            "protocol.ext.allow=never",
            "-c",
            "advice.detachedHead=false",
        ]);
        if let Some(dir) = dir {
            cmd.arg("-C").arg(dir);
        }
        cmd
    }

    /// `git clone --no-checkout [--recurse-submodules] -- <repo> <dest>`.
    pub fn clone(&self, repo: &str, dest: &Path, submodules: bool) -> Result<(), Stop> {
        let mut cmd = self.command(None);
        cmd.args(["clone", "--no-checkout"]);
        if submodules {
            cmd.arg("--recurse-submodules");
        }
        cmd.arg("--").arg(repo).arg(dest);
        run_logged(cmd, self.log, &self.env.cancel)
    }

    /// `git rev-parse --verify -q <name>^{commit}`: `Ok(None)` when the
    /// name does not resolve, `Err` only when git could not run or was cancelled.
    pub fn rev_parse(&self, checkout: &Path, name: &str) -> Result<Option<String>, Stop> {
        let mut cmd = self.command(Some(checkout));
        cmd.args(["rev-parse", "--verify", "-q", "--end-of-options"])
            .arg(format!("{name}^{{commit}}"));
        let out = capture(cmd, &self.env.cancel)?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let commit = stdout.trim();
        Ok((out.status.success() && is_full_commit(commit)).then(|| commit.to_ascii_lowercase()))
    }

    /// Fetch only `git_ref` from origin, into `refs/provision/<ref>` (a
    /// commit id is fetched as is).
    pub fn fetch(&self, checkout: &Path, git_ref: &str) -> Result<(), Stop> {
        let mut cmd = self.command(Some(checkout));
        cmd.args(["fetch", "--no-tags", "--", "origin"]);
        if is_full_commit(git_ref) {
            cmd.arg(git_ref);
        } else {
            cmd.arg(format!("+{git_ref}:{FETCHED_PREFIX}{git_ref}"));
        }
        run_logged(cmd, self.log, &self.env.cancel)
    }

    /// `git checkout --force --detach <commit>`.
    pub fn checkout(&self, checkout: &Path, commit: &str) -> Result<(), Stop> {
        let mut cmd = self.command(Some(checkout));
        cmd.args(["checkout", "-q", "--force", "--detach", commit]);
        run_logged(cmd, self.log, &self.env.cancel)
    }

    /// `git submodule update --init --recursive`.
    pub fn submodules(&self, checkout: &Path) -> Result<(), Stop> {
        let mut cmd = self.command(Some(checkout));
        cmd.args(["submodule", "update", "--init", "--recursive"]);
        run_logged(cmd, self.log, &self.env.cancel)
    }

    /// True when every submodule is initialized at its recorded commit
    /// (a local command: no network).
    pub fn submodules_current(&self, checkout: &Path) -> bool {
        if !checkout.join(".gitmodules").is_file() {
            return true;
        }
        let mut cmd = self.command(Some(checkout));
        cmd.args(["submodule", "status", "--recursive"]);
        run_captured(cmd, &self.env.cancel).is_ok_and(|out| {
            out.lines()
                .all(|l| !l.starts_with('-') && !l.starts_with('+') && !l.starts_with('U'))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "784bfba963081f83f96bddfdca58e02b4576ff49";
    const B: &str = "0123456789abcdef0123456789abcdef01234567";

    fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let p = dir.path().join(".git").join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    #[test]
    fn detached_head_and_packed_lightweight_tag() {
        let r = repo(&[
            ("HEAD", &format!("{A}\n")),
            ("index", ""),
            (
                "packed-refs",
                &format!("# pack-refs with: peeled fully-peeled sorted \n{A} refs/tags/v0\n"),
            ),
        ]);
        assert_eq!(detached_head(r.path()).as_deref(), Some(A));
        assert_eq!(resolve_local(r.path(), "v0"), LocalRef::Commit(A.into()));
        assert_eq!(resolve_local(r.path(), "v1"), LocalRef::Absent);
    }

    #[test]
    fn packed_annotated_tag_is_peeled() {
        let r = repo(&[(
            "packed-refs",
            &format!("# pack-refs with: peeled fully-peeled sorted \n{B} refs/tags/v1\n^{A}\n"),
        )]);
        assert_eq!(resolve_local(r.path(), "v1"), LocalRef::Commit(A.into()));
    }

    #[test]
    fn loose_tag_needs_git_to_peel_but_branches_do_not() {
        let r = repo(&[
            ("HEAD", "ref: refs/heads/main\n"),
            ("refs/heads/main", &format!("{A}\n")),
            ("refs/tags/v2", &format!("{B}\n")),
            ("refs/remotes/origin/dev", &format!("{B}\n")),
        ]);
        // On a branch (as after `clone --no-checkout`): not "already there".
        assert_eq!(detached_head(r.path()), None);
        assert_eq!(resolve_local(r.path(), "v2"), LocalRef::NeedsGit);
        assert_eq!(resolve_local(r.path(), "dev"), LocalRef::Commit(B.into()));
        assert_eq!(resolve_local(r.path(), A), LocalRef::Commit(A.into()));
    }
}
