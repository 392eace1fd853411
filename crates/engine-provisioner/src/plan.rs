//! The provider-neutral plan: what `ensure` will do for a pool, whatever
//! the mode. The common inputs (pool, engine version, model, flags, ports)
//! are fields; the steps are data ([`PlanStep`]: a kind, a sentence, the
//! paths involved); a mode's own typed details ride along as
//! [`ModeDetails`], so its provider can execute the plan without reading
//! the pool again, and readers of the plan (CLI, doctor, orchestrators)
//! never need to know the mode.

use crate::build_state::BuildCacheState;
use crate::config::Mode;
use model_provisioner::{Digest, ModelRef};
use serde::Serialize;
use std::any::Any;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// What `ensure` will do, and where. Serializing or printing it shows no
/// credential: the model ref is written as its id, and each mode's details
/// hide their own secrets. Its JSON holds the fields below, then the
/// mode's details (for `source`: `repo`, `git_ref`, `checkout_dir`, …) at
/// the top level.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The pool.
    pub pool_id: String,
    /// The engine (`llamacpp`).
    pub engine: String,
    /// The provisioning mode that made this plan.
    pub mode: Mode,
    /// `llamacpp-<mode>:<version>`, e.g. `llamacpp-source:b6000-cpu`;
    /// for `external` and `binary`, `llamacpp-external` /
    /// `llamacpp-binary` until the binary reports its version.
    pub engine_version: String,
    /// Where the engine binary is (or will be; in `binary` mode without a
    /// configured `binary`, `llama-server` in the install folder stands
    /// for the one found when unpacking).
    pub binary_path: PathBuf,
    /// Tools preflight will look for (none for `external`).
    pub tools: Vec<String>,
    /// The model reference.
    pub model_ref: ModelRef,
    /// Its expected digest.
    pub model_digest: Option<Digest>,
    /// The pool's own server flags, before normalization.
    pub server_flags: Vec<String>,
    /// Ports to try, in order; empty: an ephemeral one.
    pub ports: Vec<u16>,
    /// The steps, in order.
    pub steps: Vec<PlanStep>,
    /// The mode's own details (for its provider), if it keeps any.
    pub details: Option<Arc<dyn ModeDetails>>,
}

/// One step of a plan, as data: what kind of step, what it will do (one
/// sentence, for people), and the paths it reads or writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanStep {
    /// `preflight`, `git`, `cmake`, `binary-check`, `model`, `flags`, …
    pub kind: String,
    /// What it will do.
    pub detail: String,
    /// Paths it reads or writes (checkout, build dir, logs, binary).
    pub paths: Vec<PathBuf>,
}

impl PlanStep {
    /// A step of `kind` doing `detail`, touching `paths`.
    pub fn new(kind: impl Into<String>, detail: impl Into<String>, paths: Vec<PathBuf>) -> Self {
        Self {
            kind: kind.into(),
            detail: detail.into(),
            paths,
        }
    }
}

/// A mode's typed details in a [`Plan`]: what its provider needs to
/// execute the plan. Providers outside this crate implement it too.
pub trait ModeDetails: Any + fmt::Debug + Send + Sync {
    /// The details as a JSON object, merged into the plan's JSON. Must
    /// hold no secret.
    fn to_json(&self) -> serde_json::Value;

    /// Whether the mode's build is cached (`None`: the mode builds
    /// nothing).
    fn build_cache_state(&self) -> Option<BuildCacheState> {
        None
    }
}

impl Plan {
    /// The details as `T`, when the plan's mode keeps details of that type.
    pub fn details<T: ModeDetails>(&self) -> Option<&T> {
        let details: &dyn Any = self.details.as_deref()?;
        details.downcast_ref::<T>()
    }

    /// Whether this plan's build is cached, told without running anything
    /// (`None`: nothing is built in this mode).
    pub fn build_cache_state(&self) -> Option<BuildCacheState> {
        self.details.as_deref()?.build_cache_state()
    }
}

/// The common fields, as JSON writes them.
#[derive(Serialize)]
struct Common<'a> {
    pool_id: &'a str,
    engine: &'a str,
    mode: Mode,
    engine_version: &'a str,
    binary_path: &'a PathBuf,
    tools: &'a [String],
    model_ref: String,
    model_digest: &'a Option<Digest>,
    server_flags: &'a [String],
    ports: &'a [u16],
    steps: &'a [PlanStep],
}

impl Plan {
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        let mut value = serde_json::to_value(Common {
            pool_id: &self.pool_id,
            engine: &self.engine,
            mode: self.mode,
            engine_version: &self.engine_version,
            binary_path: &self.binary_path,
            tools: &self.tools,
            model_ref: self.model_ref.id(),
            model_digest: &self.model_digest,
            server_flags: &self.server_flags,
            ports: &self.ports,
            steps: &self.steps,
        })?;
        if let (Some(obj), Some(serde_json::Value::Object(details))) = (
            value.as_object_mut(),
            self.details.as_deref().map(ModeDetails::to_json),
        ) {
            for (k, v) in details {
                // The common fields win: details add, never replace.
                obj.entry(k).or_insert(v);
            }
        }
        Ok(value)
    }
}

impl Serialize for Plan {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value()
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

impl PartialEq for Plan {
    fn eq(&self, other: &Self) -> bool {
        matches!((self.to_value(), other.to_value()), (Ok(a), Ok(b)) if a == b)
    }
}

impl Eq for Plan {}
