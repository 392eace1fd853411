//! Tokens (sent to the Hub only, never to the CDN, never printed), gated
//! repos, and offline mode.

use crate::hf_support::Env;
use hub_standin::Listener;
use model_provisioner::ProvisionError;
use model_provisioner::hf::{HfError, HfFetcher};
use narration_core::CaptureAdapter;

const TOKEN: &str = "hf_S3cretTokenValue";

fn everything_said(capture: &CaptureAdapter, err: &ProvisionError) -> String {
    let narrations: Vec<String> = capture
        .captured()
        .iter()
        .map(|n| format!("{n:?}"))
        .collect();
    format!("{err} {err:?} {}", narrations.join(" "))
}

#[test]
fn a_gated_repo_without_a_token_says_to_set_hf_token() {
    let env = Env::new();
    env.hub.gate("org/model", TOKEN);
    let err = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap_err();
    assert_eq!(err.error_kind(), "gated-repo");
    assert!(err.to_string().contains("HF_TOKEN"), "{err}");
    assert!(err.to_string().contains("org/model"), "{err}");
    assert!(
        matches!(
            err,
            ProvisionError::Hub {
                source: HfError::GatedNoToken { .. },
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_gated_repo_with_a_wrong_token_never_shows_the_token() {
    let env = Env::new();
    env.hub.gate("org/model", "hf_other");
    let fetcher = HfFetcher::new(env.config().with_token(Some(TOKEN)));
    let capture = CaptureAdapter::install();
    let err = env
        .fetch_with(&fetcher, "hf:org/model/model-Q4_K_M.gguf", None)
        .unwrap_err();
    assert_eq!(err.error_kind(), "gated-repo");
    assert!(err.to_string().contains("no access"), "{err}");
    let said = everything_said(&capture, &err);
    assert!(!said.contains("S3cret"), "token leaked: {said}");
}

#[test]
fn the_token_goes_to_the_hub_and_never_to_the_cross_origin_cdn() {
    let env = Env::new();
    env.hub.gate("org/model", TOKEN);
    let fetcher = HfFetcher::new(env.config().with_token(Some(TOKEN)));
    let got = env
        .fetch_with(&fetcher, "hf:org/model/model-Q4_K_M.gguf", None)
        .unwrap();
    assert_eq!(std::fs::read(got.path).unwrap(), env.weights());
    let reqs = env.hub.requests();
    let bearer = format!("Bearer {TOKEN}");
    assert!(reqs.iter().any(
        |r| r.listener == Listener::Hub && r.authorization.as_deref() == Some(bearer.as_str())
    ));
    let cdn: Vec<_> = reqs
        .iter()
        .filter(|r| r.listener == Listener::Cdn)
        .collect();
    assert!(!cdn.is_empty());
    assert!(
        cdn.iter().all(|r| r.authorization.is_none()),
        "token sent to another origin: {cdn:?}"
    );
}

#[test]
fn offline_hit_makes_no_request() {
    let env = Env::new();
    let online = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
    env.hub.clear_requests();
    let offline = HfFetcher::new(env.config().with_offline(true));
    let got = env
        .fetch_with(&offline, "hf:org/model/model-Q4_K_M.gguf", None)
        .unwrap();
    assert_eq!(got.path, online.path);
    assert_eq!(got.bytes_transferred, 0);
    let by_quant = env
        .fetch_with(&offline, "hf:org/model:q4_k_m", None)
        .unwrap();
    assert_eq!(by_quant.path, online.path);
    assert!(env.hub.requests().is_empty(), "{:?}", env.hub.requests());
}

#[test]
fn offline_through_the_fetch_context_flag_also_makes_no_request() {
    let env = Env::new();
    env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
    env.hub.clear_requests();
    let model = model_provisioner::ModelRef::parse("hf:org/model/model-Q4_K_M.gguf").unwrap();
    let ctx = model_provisioner::FetchContext {
        offline: true,
        ..env.ctx()
    };
    use model_provisioner::Fetcher;
    env.fetcher().fetch(&model, None, &ctx).unwrap();
    assert!(env.hub.requests().is_empty());
}

#[test]
fn offline_miss_fails_clearly_without_a_request() {
    let env = Env::new();
    let offline = HfFetcher::new(env.config().with_offline(true));
    let err = env
        .fetch_with(&offline, "hf:org/model/model-Q4_K_M.gguf", None)
        .unwrap_err();
    assert!(matches!(err, ProvisionError::Offline { .. }), "{err}");
    assert!(err.to_string().contains("HF_HUB_OFFLINE"), "{err}");
    assert_eq!(err.error_kind(), "offline-miss");
    assert!(env.hub.requests().is_empty());
}
