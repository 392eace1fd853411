//! Settings passed in as values: the Hub's endpoint, token, offline mode
//! and user agent reach the fetchers without the environment, and every
//! network fetcher stays.

use crate::hf_support::{Env, GGUF_REF as REF};
use model_provisioner::hf::HubSettings;
use model_provisioner::{Locations, ModelProvisioner, Verification};
use std::process::Command;

fn at(env: &Env, hub: HubSettings) -> ModelProvisioner {
    ModelProvisioner::at(Locations::under(env.work.path()).with_cache_dir(env.cache.path()))
        .hub(hub)
        .build()
        .unwrap()
}

#[test]
fn an_endpoint_passed_in_reaches_the_hub_fetcher_and_keeps_the_https_one() {
    let env = Env::with_gguf();
    let models = at(
        &env,
        HubSettings {
            endpoint: Some(env.hub.endpoint()),
            token: Some("hf_passed_in".into()),
            user_agent: Some("pool-manager/1".into()),
            ..HubSettings::default()
        },
    );
    assert_eq!(models.schemes(), ["hf", "https", "http", "oci", "file"]);
    let resolved = models.ensure_present_str(REF, None).unwrap();
    assert_eq!(resolved.verification, Verification::InFlight);
    let hub_requests: Vec<_> = env
        .hub
        .requests()
        .into_iter()
        .filter(|r| r.listener == hub_standin::Listener::Hub)
        .collect();
    assert!(!hub_requests.is_empty());
    for r in &hub_requests {
        assert_eq!(r.authorization.as_deref(), Some("Bearer hf_passed_in"));
    }
}

#[test]
fn offline_passed_in_holds_for_every_fetcher() {
    let env = Env::with_gguf();
    let models = at(
        &env,
        HubSettings {
            endpoint: Some(env.hub.endpoint()),
            offline: true,
            ..HubSettings::default()
        },
    );
    let err = models.ensure_present_str(REF, None).unwrap_err();
    assert_eq!(err.error_kind(), "offline-miss");
    let digest = env.gguf_digest();
    let err = models
        .ensure_present_str(&format!("{}/any.gguf", env.hub.endpoint()), Some(digest))
        .unwrap_err();
    assert_eq!(err.error_kind(), "offline-miss", "{err}");
    assert!(env.hub.requests().is_empty(), "{:?}", env.hub.requests());
}

/// Run by `at_reads_no_environment` as a child process; a no-op otherwise.
#[test]
fn child_process_at_with_hub_settings() {
    let (Ok(endpoint), Ok(cache), Ok(work)) = (
        std::env::var("SETTINGS_CHILD_ENDPOINT"),
        std::env::var("SETTINGS_CHILD_CACHE"),
        std::env::var("SETTINGS_CHILD_WORK"),
    ) else {
        return;
    };
    let models = ModelProvisioner::at(Locations::under(&work).with_cache_dir(&cache))
        .hub(HubSettings {
            endpoint: Some(endpoint),
            ..HubSettings::default()
        })
        .build()
        .unwrap();
    let resolved = models.ensure_present_str(REF, None).unwrap();
    println!("CHILD-OK {:?}", resolved.verification);
}

#[test]
fn at_reads_no_environment() {
    let env = Env::with_gguf();
    // The HF environment says offline, another token and another Hub; the
    // program passed its own settings, and only those count.
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "settings::child_process_at_with_hub_settings",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SETTINGS_CHILD_ENDPOINT", env.hub.endpoint())
        .env("SETTINGS_CHILD_CACHE", env.cache.path())
        .env("SETTINGS_CHILD_WORK", env.work.path())
        .env("HF_HUB_OFFLINE", "1")
        .env("HF_TOKEN", "hf_from_the_environment")
        .env("HF_ENDPOINT", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-OK InFlight"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        env.hub.requests().iter().all(|r| r.authorization.is_none()),
        "no token from the environment was sent"
    );
}
