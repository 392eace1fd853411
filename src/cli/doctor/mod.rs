//! `provision doctor`: is this machine ready to provision? Tools and their
//! versions, the GPU, disk space, the catalog's health, the Hub, and each
//! pool given. Every check is OK, WARN or FAIL with a hint; the command
//! exits 1 when any FAILs.

mod hub;
mod pools;
mod probe;
mod storage;
mod tools;

use std::fmt::Write as _;

use crate::cli::actions::doctor as act;
use narration_core::{NarrationFields, narrate};
use serde::Serialize;

use super::args::DoctorArgs;
use super::error::CliError;
use super::output::Output;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// Ready.
    Ok,
    /// Works, but something deserves attention.
    Warn,
    /// Provisioning will fail until this is fixed.
    Fail,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Warn => "WARN",
            Self::Fail => "FAIL",
        }
    }
}

/// One check: `{name, status, detail, hint}` in JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked (`git`, `catalog`, `pool tiny: model`).
    pub name: String,
    /// The outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do, when there is something to do.
    pub hint: Option<String>,
}

impl Check {
    fn new(name: impl Into<String>, status: Status, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            status,
            detail: detail.into(),
            hint: None,
        }
    }

    /// A passing check.
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Ok, detail)
    }

    /// A check that deserves attention.
    pub fn warn(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Warn, detail)
    }

    /// A failing check.
    pub fn fail(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Fail, detail)
    }

    /// With what to do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

pub fn run(args: &DoctorArgs, out: &Output) -> Result<(), CliError> {
    narrate(NarrationFields {
        actor: act::ACTOR,
        action: act::START,
        target: "doctor".to_string(),
        human: "Checking tools, storage, catalog, Hub and pools".to_string(),
        ..Default::default()
    });
    let mut checks = tools::checks();
    checks.extend(storage::checks(
        &args.store.cache_dir,
        &args.store.catalog.catalog,
    ));
    checks.extend(hub::checks(args.store.offline));
    for pool in &args.pools {
        checks.extend(pools::checks(pool, &args.store));
    }
    for check in &checks {
        say(check);
    }
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    let warned = checks.iter().filter(|c| c.status == Status::Warn).count();
    narrate(NarrationFields {
        actor: act::ACTOR,
        action: act::COMPLETE,
        target: "doctor".to_string(),
        human: format!(
            "{} checks: {failed} failed, {warned} warnings",
            checks.len()
        ),
        ..Default::default()
    });
    out.emit(&checks, |s| table(s, &checks))?;
    if failed > 0 {
        return Err(CliError::new(format!(
            "{failed} of {} checks failed; see their hints above",
            checks.len()
        )));
    }
    Ok(())
}

fn say(check: &Check) {
    let action = match check.status {
        Status::Ok => act::CHECK,
        Status::Warn => act::CHECK_WARNING,
        Status::Fail => act::CHECK_FAILED,
    };
    let hint = check
        .hint
        .as_deref()
        .map_or_else(String::new, |h| format!(" ({h})"));
    narrate(NarrationFields {
        actor: act::ACTOR,
        action,
        target: check.name.clone(),
        human: format!("{}: {}{hint}", check.name, check.detail),
        ..Default::default()
    });
}

fn table(s: &mut String, checks: &[Check]) {
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(4);
    for c in checks {
        let _ = writeln!(
            s,
            "{:<4}  {:<width$}  {}",
            c.status.as_str(),
            c.name,
            c.detail
        );
        if let Some(hint) = &c.hint {
            let _ = writeln!(s, "{:<4}  {:<width$}  hint: {hint}", "", "");
        }
    }
}
