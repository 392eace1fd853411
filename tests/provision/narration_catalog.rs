//! `specs/narration-events.md` and the vocabularies the crates declare
//! (model-provisioner's and engine-provisioner's `actions`, the CLI's
//! doctor; the program's registry in `src/cli/actions.rs`) must list the
//! same (actor, action) pairs, at the levels the vocabularies declare and
//! `narrate()` emits.

use narration_core::{NarrationLevel, Registry};
use std::collections::BTreeSet;

#[path = "../../src/cli/actions.rs"]
mod cli_actions;

const SPEC: &str = include_str!("../../specs/narration-events.md");
const REGISTRY: Registry = cli_actions::REGISTRY;

/// One row of an actor's table.
#[derive(Debug)]
struct Row {
    heading: String,
    actor: String,
    action: String,
    level: String,
    when: String,
    example: String,
}

/// Every row of the spec's actor tables (those whose header starts with
/// `actor`; other tables, such as the sequences by scenario, are another
/// test's), with the `##` heading it sits under.
fn spec_rows() -> Vec<Row> {
    let mut heading = String::new();
    let mut rows = Vec::new();
    let mut in_actor_table = false;
    for line in SPEC.lines().map(str::trim) {
        if let Some(h) = line.strip_prefix("## ") {
            heading = h.trim().to_string();
            continue;
        }
        if !line.starts_with('|') {
            in_actor_table = false;
            continue;
        }
        let cells: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().trim_matches('`').to_string())
            .collect();
        if cells[0] == "actor" {
            in_actor_table = true;
            continue;
        }
        if !in_actor_table || cells[0].starts_with("---") {
            continue;
        }
        assert_eq!(
            cells.len(),
            5,
            "row needs 5 cells (actor | action | level | when | example target): {line}"
        );
        let [actor, action, level, when, example] = <[String; 5]>::try_from(cells).unwrap();
        rows.push(Row {
            heading: heading.clone(),
            actor,
            action,
            level,
            when,
            example,
        });
    }
    rows
}

fn registered_pairs() -> BTreeSet<(String, String)> {
    REGISTRY
        .vocabularies()
        .iter()
        .flat_map(|v| {
            v.actions
                .iter()
                .map(move |a| (v.actor.to_string(), a.name.to_string()))
        })
        .collect()
}

#[test]
fn every_declared_action_has_a_spec_row_and_every_row_a_declaration() {
    let rows = spec_rows();
    let mut in_spec = BTreeSet::new();
    for row in &rows {
        assert!(
            in_spec.insert((row.actor.clone(), row.action.clone())),
            "({}, {}) is listed twice in specs/narration-events.md",
            row.actor,
            row.action
        );
    }
    let in_code = registered_pairs();
    let missing_rows: Vec<_> = in_code.difference(&in_spec).collect();
    let missing_constants: Vec<_> = in_spec.difference(&in_code).collect();
    assert!(
        missing_rows.is_empty(),
        "the crates declare actions without a row in specs/narration-events.md: {missing_rows:?}"
    );
    assert!(
        missing_constants.is_empty(),
        "specs/narration-events.md has rows no crate declares (in its `vocabulary!`): {missing_constants:?}"
    );
}

#[test]
fn spec_levels_match_the_declared_levels_and_the_levels_narrate_picks() {
    for row in spec_rows() {
        let Some(spec) = REGISTRY.action(&row.actor, &row.action) else {
            continue; // the test above names it
        };
        assert_eq!(
            row.level,
            spec.level.as_str(),
            "specs/narration-events.md gives ({}, {}) level {}, its vocabulary declares {}",
            row.actor,
            row.action,
            row.level,
            spec.level.as_str()
        );
    }
    for v in REGISTRY.vocabularies() {
        for a in v.actions {
            assert_eq!(
                a.level,
                NarrationLevel::for_action(a.name),
                "{} declares {} at {:?}, narrate() emits it at another level",
                v.actor,
                a.name,
                a.level
            );
            assert!(
                !a.doc.trim().is_empty(),
                "{}: {} needs a doc",
                v.actor,
                a.name
            );
        }
    }
}

#[test]
fn each_actor_has_its_own_table_and_every_row_is_filled() {
    for row in spec_rows() {
        assert_eq!(
            row.heading, row.actor,
            "row ({}, {}) sits in the table of {:?}; one table per actor",
            row.actor, row.action, row.heading
        );
        assert!(
            !row.when.is_empty() && !row.example.is_empty(),
            "row ({}, {}) needs a `when` and an example target",
            row.actor,
            row.action
        );
    }
}

#[test]
fn each_actor_is_registered_once() {
    let actors: Vec<_> = REGISTRY.vocabularies().iter().map(|v| v.actor).collect();
    let unique: BTreeSet<_> = actors.iter().collect();
    assert_eq!(
        unique.len(),
        actors.len(),
        "an actor registered twice: {actors:?}"
    );
}

#[test]
fn actions_are_kebab_case_and_unique_per_actor() {
    for v in REGISTRY.vocabularies() {
        let (actor, actions) = (v.actor, v.actions);
        let unique: BTreeSet<_> = actions.iter().map(|a| a.name).collect();
        assert_eq!(unique.len(), actions.len(), "{actor} lists an action twice");
        for action in actions.iter().map(|a| a.name) {
            assert!(
                !action.is_empty()
                    && action
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{actor}: action {action:?} is not kebab-case"
            );
        }
    }
}
