//! The narration spec is executable: every row of the "Sequences by
//! scenario" table in `specs/narration-events.md` names a scenario that
//! runs here, against the real provisioners, a stand-in Hub and fake build
//! tools, under a capture. The captured `actor/action` sequence and the
//! last narration's level must be exactly the row's; a row without a
//! runner and a runner without a row both fail.

mod engine;
mod hf;
mod local;
mod oci;

use narration_core::{CaptureAdapter, CapturedNarration};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

/// What a scenario narrated, in order.
type Captured = Vec<CapturedNarration>;

/// Runs one scenario and returns what it narrated.
type Runner = fn() -> Captured;

/// Every scenario the table may name, by its name there.
const RUNNERS: &[(&str, Runner)] = &[
    ("local cold", local::cold),
    ("local warm", local::warm),
    ("local digest mismatch", local::digest_mismatch),
    ("missing file", local::missing_file),
    ("non-GGUF", local::not_gguf),
    ("retired", local::retired),
    ("hf cold", hf::cold),
    ("hf cache hit", hf::cache_hit),
    ("hf resume after a kill", hf::resume_after_kill),
    ("hf offline hit", hf::offline_hit),
    ("hf offline miss", hf::offline_miss),
    ("hf tampered blob", hf::tampered_blob),
    ("hf tampered blob offline", hf::tampered_blob_offline),
    ("hf 503 then success", hf::status_503_then_success),
    (
        "hf 503 on the Hub's HEAD then success",
        hf::head_503_then_success,
    ),
    ("hf retries exhausted", hf::retries_exhausted),
    ("hf wrong bytes", hf::wrong_bytes),
    ("hf 404 repo", hf::repo_not_found),
    ("hf reset mid-body", hf::reset_mid_body),
    ("hf truncated body", hf::truncated_body),
    ("hf Range ignored", hf::range_ignored),
    ("hf slow headers", hf::slow_headers),
    ("hf stalled", hf::stalled),
    ("hf redirect loop", hf::redirect_loop),
    ("hf HEAD without X-Repo-Commit", hf::no_repo_commit),
    ("Hub-unreachable fallback", hf::hub_unreachable_fallback),
    ("hf lock wait", hf::lock_wait),
    ("a cancelled hash", local::cancelled_hash),
    ("a cancelled download", hf::cancelled_download),
    ("a cancelled lock wait", hf::cancelled_lock_wait),
    (
        "hf second ensure in one process",
        hf::second_ensure_in_one_process,
    ),
    (
        "hf second ensure in another process",
        hf::second_ensure_in_another_process,
    ),
    ("engine plan", engine::plan),
    ("engine cold", engine::cold),
    ("engine cached", engine::cached),
    ("cmake retry", engine::cmake_retry),
    ("cmake failed", engine::cmake_failed),
    ("preflight missing", engine::preflight_missing),
    (
        "model failure inside an engine ensure",
        engine::model_failure,
    ),
    ("engine cancelled during the build", engine::cancelled_build),
    ("oci cold", oci::cold),
    ("oci warm", oci::warm),
    ("oci unsupported artifact", oci::unsupported_artifact),
    ("oci tampered blob", oci::tampered_blob),
    (
        "oci credential helper missing",
        oci::credential_helper_missing,
    ),
    ("engine external", engine::external_ok),
    ("engine external binary failing", engine::external_failing),
    ("engine binary cold", engine::binary_cold),
    ("engine binary warm", engine::binary_warm),
    ("engine binary unsafe archive", engine::binary_unsafe),
];

/// The spec file and the heading of the table this test runs.
const SPEC: &str = "specs/narration-events.md";
const SECTION: &str = "## Sequences by scenario";

#[test]
fn every_scenario_narrates_exactly_the_sequence_the_spec_lists() {
    let rows = table_rows(&Path::new(env!("CARGO_MANIFEST_DIR")).join(SPEC));
    assert!(!rows.is_empty(), "{SPEC}: no rows under {SECTION:?}");
    let mut problems = Vec::new();
    for (name, _) in RUNNERS {
        if !rows.iter().any(|row| row.scenario == *name) {
            problems.push(format!(
                "scenario `{name}` has a runner but no row in {SPEC}"
            ));
        }
    }
    // The oci scenarios need a registry, skopeo and oras: skipped with a
    // message when missing, except under CI=true.
    let oci = rows.iter().any(|r| r.scenario.starts_with("oci "))
        && crate::oci_support::components_available();
    for row in &rows {
        if row.scenario.starts_with("oci ") && !oci {
            continue;
        }
        if rows.iter().filter(|r| r.scenario == row.scenario).count() > 1 {
            problems.push(format!("scenario `{}` has more than one row", row.scenario));
        }
        match RUNNERS.iter().find(|(name, _)| *name == row.scenario) {
            None => problems.push(format!(
                "scenario `{}` is in {SPEC} but has no runner in this test",
                row.scenario
            )),
            Some((_, run)) => match catch_unwind(AssertUnwindSafe(run)) {
                Ok(captured) => problems.extend(row.compare(&captured)),
                Err(_) => problems.push(format!(
                    "scenario `{}`: its set-up failed (see the panic above)",
                    row.scenario
                )),
            },
        }
    }
    assert!(
        problems.is_empty(),
        "{} difference(s) between {SPEC} and what the code narrates:\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

/// Runs `scenario` under a capture of its own; its outcome is not the
/// point, its narrations are.
pub fn capture<T>(scenario: impl FnOnce() -> T) -> Captured {
    let capture = CaptureAdapter::new();
    let _ = capture.in_scope(scenario);
    capture.captured()
}

/// One narration of a row's sequence: `actor/action`, possibly repeated.
#[derive(Debug)]
struct Expected {
    event: String,
    /// Written with a trailing `*`: zero or more in a row.
    repeated: bool,
}

/// One row of the table.
#[derive(Debug)]
struct Row {
    scenario: String,
    sequence: Vec<Expected>,
    /// `INFO`, `WARN`, `ERROR`, or `none` when nothing is narrated.
    final_level: String,
}

/// The rows of the table under [`SECTION`] in the spec at `path`.
fn table_rows(path: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let section = text
        .split_once(SECTION)
        .unwrap_or_else(|| panic!("{SPEC} has no {SECTION:?} section"))
        .1;
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // the header and its separator
        .map(parse_row)
        .collect()
}

/// `| scenario | `a/b` → `c/d*` | INFO |`.
fn parse_row(line: &str) -> Row {
    let cells: Vec<&str> = line
        .trim()
        .trim_matches('|')
        .split('|')
        .map(str::trim)
        .collect();
    let [scenario, sequence, final_level] = cells[..] else {
        panic!("{SPEC}: a row needs 3 cells (scenario | sequence | final level): {line}");
    };
    let sequence = if sequence == "(none)" {
        Vec::new()
    } else {
        sequence
            .split('→')
            .map(|item| {
                let item = item.trim().trim_matches('`');
                let event = item.trim_end_matches('*');
                Expected {
                    event: event.to_string(),
                    repeated: event.len() < item.len(),
                }
            })
            .collect()
    };
    Row {
        scenario: scenario.to_string(),
        sequence,
        final_level: final_level.to_string(),
    }
}

impl Row {
    /// What differs between this row and `captured`, one message each.
    fn compare(&self, captured: &Captured) -> Option<String> {
        let got: Vec<String> = captured.iter().map(short).collect();
        let level = captured.last().map_or("none", |n| n.level.as_str());
        let mut differences = Vec::new();
        if let Some(d) = first_difference(&self.sequence, &got) {
            differences.push(d);
        }
        if level != self.final_level {
            differences.push(format!(
                "final level: the table says {}, the last narration was {level}",
                self.final_level
            ));
        }
        if differences.is_empty() {
            return None;
        }
        let table: Vec<String> = self
            .sequence
            .iter()
            .map(|e| format!("{}{}", e.event, if e.repeated { "*" } else { "" }))
            .collect();
        Some(format!(
            "scenario `{}`:\n  {}\n  table:    {}\n  captured: {}",
            self.scenario,
            differences.join("\n  "),
            shown(&table),
            shown(&got)
        ))
    }
}

/// `model/resolve` for a model-provisioner `resolve`.
fn short(n: &CapturedNarration) -> String {
    format!("{}/{}", n.actor.trim_end_matches("-provisioner"), n.action)
}

fn shown(events: &[String]) -> String {
    if events.is_empty() {
        "(none)".to_string()
    } else {
        events.join(" → ")
    }
}

/// Where `got` first leaves `want`; a repeated item takes every
/// consecutive narration it names.
fn first_difference(want: &[Expected], got: &[String]) -> Option<String> {
    let mut at = 0;
    for expected in want {
        if expected.repeated {
            while got.get(at) == Some(&expected.event) {
                at += 1;
            }
        } else if got.get(at) == Some(&expected.event) {
            at += 1;
        } else {
            let found = got.get(at).map_or("nothing more", String::as_str);
            return Some(format!(
                "narration {}: the table expects {}, captured {found}",
                at + 1,
                expected.event
            ));
        }
    }
    (at < got.len()).then(|| {
        format!(
            "narration {}: captured {} beyond the end of the table's sequence",
            at + 1,
            got[at..].join(" → ")
        )
    })
}
