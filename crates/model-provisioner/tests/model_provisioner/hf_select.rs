//! Quantization selection through the listing API and split GGUF shards.

use crate::hf_support::{Env, data};
use hub_standin::FileSpec;

fn quant_repo(env: &Env) -> String {
    env.hub.commit(
        "org/quants",
        "main",
        vec![
            ("README.md", FileSpec::plain(b"# quants".to_vec())),
            ("m-Q4_K_M.gguf", FileSpec::lfs(data(40_000, 2))),
            ("m-Q8_0.gguf", FileSpec::lfs(data(50_000, 3))),
            (
                "Q2_K/m-Q2_K-00001-of-00003.gguf",
                FileSpec::lfs(data(30_000, 4)),
            ),
            (
                "Q2_K/m-Q2_K-00002-of-00003.gguf",
                FileSpec::lfs(data(30_000, 5)),
            ),
            (
                "Q2_K/m-Q2_K-00003-of-00003.gguf",
                FileSpec::lfs(data(10_000, 6)),
            ),
        ],
    )
}

#[test]
fn quant_selector_picks_the_matching_gguf_case_insensitively() {
    let env = Env::new();
    let commit = quant_repo(&env);
    let got = env.fetch("hf:org/quants:q8_0").unwrap();
    assert!(
        got.path
            .ends_with(format!("snapshots/{commit}/m-Q8_0.gguf")),
        "{:?}",
        got.path
    );
    assert_eq!(std::fs::read(&got.path).unwrap(), data(50_000, 3));
    assert_eq!(
        env.hub.count("GET", "/api/models/org/quants/revision/main"),
        1
    );
    let refs = env.cache.path().join("models--org--quants/refs/main");
    assert_eq!(std::fs::read_to_string(refs).unwrap(), commit);
}

#[test]
fn split_shards_come_together_and_the_first_is_returned() {
    let env = Env::new();
    let commit = quant_repo(&env);
    let got = env.fetch("hf:org/quants:Q2_K").unwrap();
    assert!(
        got.path.ends_with("Q2_K/m-Q2_K-00001-of-00003.gguf"),
        "{:?}",
        got.path
    );
    let snap = env
        .cache
        .path()
        .join("models--org--quants/snapshots")
        .join(&commit)
        .join("Q2_K");
    for (i, seed) in [(1, 4u8), (2, 5), (3, 6)] {
        let p = snap.join(format!("m-Q2_K-0000{i}-of-00003.gguf"));
        assert_eq!(
            std::fs::read(&p).unwrap().len(),
            if i == 3 { 10_000 } else { 30_000 }
        );
        assert_eq!(
            std::fs::read(&p).unwrap(),
            data(if i == 3 { 10_000 } else { 30_000 }, seed)
        );
    }
    assert_eq!(got.bytes_transferred, 70_000);
}

#[test]
fn naming_one_shard_brings_the_whole_set() {
    let env = Env::new();
    quant_repo(&env);
    let got = env
        .fetch("hf:org/quants/Q2_K/m-Q2_K-00002-of-00003.gguf")
        .unwrap();
    assert!(got.path.ends_with("m-Q2_K-00001-of-00003.gguf"));
    assert_eq!(got.bytes_transferred, 70_000);
}

#[test]
fn an_unknown_quant_lists_what_is_available() {
    let env = Env::new();
    quant_repo(&env);
    let err = env.fetch("hf:org/quants:Q5_K_M").unwrap_err();
    assert_eq!(err.error_kind(), "quant-not-found");
    let msg = err.to_string();
    for name in [
        "m-Q4_K_M.gguf",
        "m-Q8_0.gguf",
        "Q2_K/m-Q2_K-00001-of-00003.gguf",
    ] {
        assert!(msg.contains(name), "{msg}");
    }
}

#[test]
fn an_ambiguous_quant_names_the_candidates() {
    let env = Env::new();
    env.hub.commit(
        "org/dup",
        "main",
        vec![
            ("a/x-Q4_0.gguf", FileSpec::lfs(data(10, 7))),
            ("b/x-Q4_0.gguf", FileSpec::lfs(data(10, 8))),
        ],
    );
    let err = env.fetch("hf:org/dup:Q4_0").unwrap_err();
    assert_eq!(err.error_kind(), "quant-ambiguous");
    assert!(
        err.to_string().contains("a/x-Q4_0.gguf, b/x-Q4_0.gguf"),
        "{err}"
    );
}
