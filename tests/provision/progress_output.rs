//! Progress when stderr is not a terminal (a pipe, a CI log): no bar is
//! drawn, and each `download-progress` narration is a line, as before
//! the terminal display took typed progress.

use crate::support::{Dirs, big_gguf, hub_with, provision_model};

#[test]
fn piped_stderr_gets_progress_lines_and_no_bar() {
    // About a second at 8 MiB/s: several progress lines (every 5 %).
    let (hub, _) = hub_with("org/big", "big.gguf", big_gguf(8 << 20, 3));
    hub.limit_connection_rate(Some(8 << 20));
    let dirs = Dirs::new();
    let mut cmd = provision_model(&dirs, &hub.endpoint(), "hf:org/big/big.gguf");
    // Human lines instead of JSON: the later `--log-format` wins.
    cmd.args(["--log-format", "human"]);
    let out = cmd.output().expect("provision runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let progress = stderr
        .lines()
        .filter(|l| l.starts_with("[model-provisioner] download-progress: "))
        .count();
    assert!(progress >= 1, "progress lines in a pipe: {stderr}");
    assert!(
        !stderr.contains('\r') && !stderr.contains('\u{1b}'),
        "no bar drawn into a pipe: {stderr:?}"
    );
}
