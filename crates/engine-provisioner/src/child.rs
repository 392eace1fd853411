//! A child process that can be cancelled: it runs in its own process
//! group, is waited for with a short poll that checks the caller's
//! [`Cancel`] token, and on cancel the whole group (the tool and whatever
//! it started: ninja, compilers, `git-remote-https`) is stopped, then
//! reaped.
//!
//! Stopping is SIGTERM to the group, a short grace for the tool to clean
//! up, then SIGKILL to the group for whatever is left. The leader is not
//! reaped before the SIGKILL (its exit is only observed with `WNOWAIT`),
//! so its pid, which is the group id, cannot be reused by an unrelated
//! process while we signal the group.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};
use verified_download::Cancel;

/// How often a running child is checked for exit (a cancel wakes the wait
/// at once; this bounds how late a normal exit is noticed).
const POLL: Duration = Duration::from_millis(25);

/// How long the group gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_millis(300);

/// How a waited-for child ended.
#[derive(Debug)]
pub enum Ended {
    /// It exited by itself.
    Exited(ExitStatus),
    /// The token was cancelled; the group was stopped and the leader reaped.
    Cancelled,
}

/// Put `cmd`'s child in a new process group of its own (its pid is the
/// group id), so that cancelling can signal everything it starts.
pub fn own_group(cmd: &mut Command) {
    cmd.process_group(0);
}

/// Wait for `child` (started with [`own_group`]) to exit, or for `cancel`.
pub fn wait(child: &mut Child, cancel: &Cancel) -> std::io::Result<Ended> {
    loop {
        if cancel.is_cancelled() {
            stop_group(child)?;
            return Ok(Ended::Cancelled);
        }
        if let Some(status) = child.try_wait()? {
            return Ok(Ended::Exited(status));
        }
        // Wakes at once on cancel.
        let _ = cancel.sleep(POLL);
    }
}

/// SIGTERM the group, give the leader [`GRACE`] to exit, SIGKILL the
/// group, reap the leader.
fn stop_group(child: &mut Child) -> std::io::Result<()> {
    let Ok(pgid) = libc::pid_t::try_from(child.id()) else {
        // A pid that does not fit pid_t cannot be signalled as a group.
        child.kill()?;
        child.wait()?;
        return Ok(());
    };
    signal_group(pgid, libc::SIGTERM);
    let deadline = Instant::now() + GRACE;
    while !has_exited(pgid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    // Children that ignored SIGTERM, or outlived their parent.
    signal_group(pgid, libc::SIGKILL);
    child.wait()?;
    Ok(())
}

fn signal_group(pgid: libc::pid_t, signal: libc::c_int) {
    // SAFETY: killpg only sends a signal; ESRCH (the group is gone) is fine.
    unsafe {
        libc::killpg(pgid, signal);
    }
}

/// True when the leader has exited, without reaping it.
fn has_exited(pid: libc::pid_t) -> bool {
    // SAFETY: siginfo_t is plain data; waitid with WNOWAIT|WNOHANG only
    // reports a state change of our own child, leaving it waitable.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let rc = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        rc == 0 && info.si_pid() != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Stdio;

    #[test]
    fn cancel_stops_the_leader_and_a_grandchild_that_ignores_sigterm() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("grandchild.pid");
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(format!(
                "sh -c 'trap \"\" TERM; while :; do sleep 1; done' & echo $! > {}; wait",
                pidfile.display()
            ))
            .stdin(Stdio::null());
        own_group(&mut cmd);
        let mut child = cmd.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pidfile.exists() || std::fs::read_to_string(&pidfile).unwrap().trim().is_empty() {
            assert!(Instant::now() < deadline, "the grandchild never started");
            std::thread::sleep(Duration::from_millis(10));
        }
        let grandchild: libc::pid_t = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let cancel = Cancel::new();
        cancel.cancel();
        assert!(matches!(
            wait(&mut child, &cancel).unwrap(),
            Ended::Cancelled
        ));
        let survived = !gone(grandchild);
        if survived {
            // Do not leave it running (it holds the test's output pipe).
            // SAFETY: a plain signal to a pid this test started.
            unsafe { libc::kill(grandchild, libc::SIGKILL) };
        }
        assert!(!survived, "grandchild {grandchild} survived the cancel");
    }

    /// Gone, or a zombie waiting for init to reap it (dead either way).
    fn gone(pid: libc::pid_t) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z'));
            if stat.is_empty() || zombie {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
