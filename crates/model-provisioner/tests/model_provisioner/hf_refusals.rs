//! What a broken or hostile Hub sends is refused where it is received, and
//! the error says what was received, in one bounded line; a failing file
//! operation names the file.

use crate::hf_support::Env;
use hub_standin::{Fault, FaultKind, FileSpec, Listener};

fn sending_commit(env: &Env, sent: &str) {
    env.hub.inject(
        Fault::new(FaultKind::RepoCommit(sent.to_string()))
            .on(Listener::Hub)
            .times(100),
    );
}

#[test]
fn a_commit_that_is_not_forty_lowercase_hex_digits_is_refused_and_never_recorded() {
    for sent in ["not-a-commit", &"A".repeat(40)] {
        let env = Env::new();
        sending_commit(&env, sent);
        let err = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap_err();
        let text = err.to_string();
        assert_eq!(err.error_kind(), "bad-commit", "{text}");
        assert!(text.contains(sent), "names what was received: {text}");
        assert!(
            !env.repo_dir().join("refs/main").exists(),
            "never written to refs/main"
        );
    }
}

#[test]
fn a_path_in_x_repo_commit_is_named_not_reported_missing() {
    let env = Env::new();
    sending_commit(&env, "../../etc/passwd");
    let err = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("\"../../etc/passwd\"") || text.contains("../../etc/passwd"));
    assert!(!text.contains("no X-Repo-Commit"), "{text}");
}

#[test]
fn a_repo_with_no_gguf_file_says_it_has_none() {
    let env = Env::new();
    env.hub.commit(
        "org/empty",
        "main",
        vec![("config.json", FileSpec::plain(b"{}".to_vec()))],
    );
    let text = env.fetch("hf:org/empty").unwrap_err().to_string();
    assert!(text.contains("holds no GGUF file"), "{text}");
    assert!(!text.contains("()"), "{text}");
}

#[test]
fn an_error_about_a_huge_listing_stays_one_short_line() {
    let env = Env::new();
    let files: Vec<(String, FileSpec)> = (0..5000)
        .map(|i| (format!("m-{i:05}.gguf"), FileSpec::plain(vec![i as u8])))
        .collect();
    env.hub.commit(
        "org/huge",
        "main",
        files.iter().map(|(n, s)| (n.as_str(), s.clone())).collect(),
    );
    let no_choice = env.fetch("hf:org/huge").unwrap_err().to_string();
    let no_quant = env.fetch("hf:org/huge:Q8_0").unwrap_err().to_string();
    for text in [no_choice, no_quant] {
        assert!(text.len() < 1000, "{} bytes: {text}", text.len());
        assert!(text.contains("and 4992 more"), "{text}");
        assert!(!text.contains('\n'));
    }
}

#[test]
fn a_failing_cache_write_names_the_file_not_the_cache_root() {
    let env = Env::new();
    std::fs::create_dir_all(env.repo_dir()).unwrap();
    // `refs` is a file: the ref cannot be written under it.
    std::fs::write(env.repo_dir().join("refs"), b"in the way").unwrap();
    let text = env.fetch("hf:org/model").unwrap_err().to_string();
    assert!(text.contains("models--org--model/refs/main"), "{text}");
}
