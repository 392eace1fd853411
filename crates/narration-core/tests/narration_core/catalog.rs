//! `specs/narration-events.md` and `catalog.rs` must list the same
//! (actor, action) pairs, with the levels `NarrationLevel::for_action` picks.

use narration_core::{NarrationLevel, catalog};
use std::collections::{BTreeMap, BTreeSet};

const SPEC: &str = include_str!("../../../../specs/narration-events.md");
const CATALOG_SOURCE: &str = include_str!("../../src/catalog.rs");

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

fn catalog_pairs() -> BTreeSet<(String, String)> {
    catalog::ALL
        .iter()
        .flat_map(|(actor, actions)| {
            actions
                .iter()
                .map(move |a| (actor.to_string(), a.to_string()))
        })
        .collect()
}

#[test]
fn every_catalog_action_has_a_spec_row_and_every_row_a_constant() {
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
    let in_code = catalog_pairs();
    let missing_rows: Vec<_> = in_code.difference(&in_spec).collect();
    let missing_constants: Vec<_> = in_spec.difference(&in_code).collect();
    assert!(
        missing_rows.is_empty(),
        "catalog.rs has actions without a row in specs/narration-events.md: {missing_rows:?}"
    );
    assert!(
        missing_constants.is_empty(),
        "specs/narration-events.md has rows without a constant (in the module's ALL) in catalog.rs: {missing_constants:?}"
    );
}

#[test]
fn spec_levels_match_the_levels_narrate_picks() {
    for row in spec_rows() {
        let expected = NarrationLevel::for_action(&row.action).as_str();
        assert_eq!(
            row.level, expected,
            "specs/narration-events.md gives ({}, {}) level {}, narrate() emits it at {expected}",
            row.actor, row.action, row.level
        );
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

/// Every `pub const NAME: &str = "…";` in each actor module of catalog.rs
/// (except `ACTOR`), by actor: what the source declares, whether or not it
/// made it into `ALL`.
fn declared_constants() -> BTreeMap<String, BTreeSet<String>> {
    let mut by_actor = BTreeMap::new();
    let mut actor: Option<String> = None;
    let mut values = BTreeSet::new();
    for line in CATALOG_SOURCE.lines().map(str::trim) {
        if line.starts_with("pub mod ") {
            actor = None;
            values = BTreeSet::new();
        }
        if let Some(rest) = line.strip_prefix("pub const ")
            && let Some((name, value)) = rest.split_once(": &str = ")
        {
            let value = value.trim_end_matches(';').trim_matches('"').to_string();
            if name == "ACTOR" {
                actor = Some(value);
            } else {
                values.insert(value);
            }
        }
        if line == "}"
            && let Some(a) = actor.take()
        {
            by_actor.insert(a, std::mem::take(&mut values));
        }
    }
    by_actor
}

#[test]
fn every_declared_constant_is_in_its_modules_all() {
    let declared = declared_constants();
    assert!(!declared.is_empty(), "no actor module found in catalog.rs");
    for (actor, values) in &declared {
        let listed: BTreeSet<String> = catalog::ALL
            .iter()
            .find(|(a, _)| a == actor)
            .unwrap_or_else(|| panic!("actor {actor} is not in catalog::ALL"))
            .1
            .iter()
            .map(|s| s.to_string())
            .collect();
        let forgotten: Vec<_> = values.difference(&listed).collect();
        assert!(
            forgotten.is_empty(),
            "{actor}: constants missing from the module's ALL: {forgotten:?}"
        );
    }
    assert_eq!(
        declared.len(),
        catalog::ALL.len(),
        "catalog::ALL lists a different set of actors than catalog.rs declares"
    );
}

#[test]
fn actions_are_kebab_case_and_unique_per_actor() {
    for (actor, actions) in catalog::ALL {
        let unique: BTreeSet<_> = actions.iter().collect();
        assert_eq!(unique.len(), actions.len(), "{actor} lists an action twice");
        for action in *actions {
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
