//! Progress as data: an ensure reports its steps to the caller's observer
//! (`preflight`, `checkout`, `configure`, `build` for the pool, with the
//! build's `[n/N]` as it streams), under the caller's correlation id.

use crate::support::FakeTools;
use engine_provisioner::{EngineOptions, EngineProvisioner};
use model_provisioner::{Progress, ProgressObserver, ProgressStep, ProgressUnit};
use std::sync::{Arc, Mutex};

/// An observer keeping every report.
fn recorder() -> (Arc<Mutex<Vec<Progress>>>, Arc<dyn ProgressObserver>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let observer: Arc<dyn ProgressObserver> =
        Arc::new(move |p: &Progress| sink.lock().unwrap().push(p.clone()));
    (seen, observer)
}

#[test]
fn steps_are_reported_in_order_and_the_build_counts_up_to_n_of_n() {
    let fake = FakeTools::new();
    std::fs::write(fake.ctl.join("cmake.steps"), "8").unwrap();
    let (seen, observer) = recorder();
    let options = EngineOptions {
        correlation_id: Some("corr-7".into()),
        progress: Some(observer),
        ..EngineOptions::default()
    };
    fake.provider()
        .ensure_with(&fake.pool("v0", &[]), &options)
        .unwrap();
    let seen = seen.lock().unwrap();
    let pool: Vec<&Progress> = seen.iter().filter(|p| p.target == "fake-pool").collect();
    assert!(pool.iter().all(|p| {
        p.pool_id.as_deref() == Some("fake-pool") && p.correlation_id.as_deref() == Some("corr-7")
    }));

    let mut steps: Vec<ProgressStep> = pool.iter().map(|p| p.step).collect();
    steps.dedup();
    assert_eq!(
        steps,
        [
            ProgressStep::Preflight,
            ProgressStep::Checkout,
            ProgressStep::Configure,
            ProgressStep::Build
        ]
    );

    let build: Vec<&&Progress> = pool
        .iter()
        .filter(|p| p.step == ProgressStep::Build)
        .collect();
    assert!(build.iter().all(|p| p.unit == ProgressUnit::Steps));
    let done: Vec<u64> = build.iter().map(|p| p.done).collect();
    assert!(
        done.windows(2).all(|w| w[0] <= w[1]),
        "never backwards: {done:?}"
    );
    assert!(
        done.iter().any(|&d| d > 0 && d < 8),
        "reported while it builds, not only at the end: {done:?}"
    );
    let last = build.last().unwrap();
    assert_eq!((last.done, last.total, last.finished), (8, Some(8), true));
}

#[test]
fn a_cached_build_reports_no_build_step() {
    let fake = FakeTools::new();
    let pool = fake.pool("v0", &[]);
    fake.provider().ensure(&pool).unwrap();
    let (seen, observer) = recorder();
    let options = EngineOptions {
        progress: Some(observer),
        ..EngineOptions::default()
    };
    fake.provider().ensure_with(&pool, &options).unwrap();
    let steps: Vec<ProgressStep> = seen.lock().unwrap().iter().map(|p| p.step).collect();
    assert!(steps.contains(&ProgressStep::Checkout), "{steps:?}");
    assert!(
        !steps.contains(&ProgressStep::Configure) && !steps.contains(&ProgressStep::Build),
        "{steps:?}"
    );
}
