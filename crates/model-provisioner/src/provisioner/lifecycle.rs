//! One ensure, top to bottom: each line a step, failures narrated once at
//! the end, with the action their step and error call for.

use super::ModelProvisioner;
use super::gate;
use super::step::{During, Failed, Step};
use crate::actions as act;
use crate::catalog::{CatalogEntry, Lifecycle};
use crate::digest::Digest;
use crate::error::ProvisionError;
use crate::error_kind::ErrorKind;
use crate::fetch::{FetchContext, Fetched};
use crate::fingerprint::{Fingerprint, now_ns};
use crate::gguf::{GgmlType, GgufHeader, GgufSummary, GgufTensorInfo, read_header_file};
use crate::model_ref::ModelRef;
use crate::progress::ProgressReporter;
use crate::resolved::{EnsureOptions, ResolvedModel};
use narration_core::{NarrationFields, narrate, public_url};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The narration context of one ensure: target, correlation, pool, ref.
pub(super) struct Ensure<'a> {
    pub target: String,
    pub ctx: FetchContext,
    pub model: Option<&'a ModelRef>,
}

impl<'a> Ensure<'a> {
    pub fn new(target: String, ctx: FetchContext, model: Option<&'a ModelRef>) -> Self {
        Self { target, ctx, model }
    }

    pub fn fields(&self, action: &'static str, human: String) -> NarrationFields {
        NarrationFields {
            actor: act::ACTOR,
            action,
            target: self.target.clone(),
            human,
            correlation_id: self.ctx.correlation_id.clone(),
            pool_id: self.ctx.pool_id.clone(),
            model_ref: self.model.map(ModelRef::id),
            ..Default::default()
        }
    }

    pub fn say(&self, action: &'static str, human: String) {
        narrate(self.fields(action, human));
    }

    /// Narrate the failure `action` for `err`, with its `error_kind`.
    pub fn fail(&self, action: &'static str, err: &ProvisionError) {
        narrate(NarrationFields {
            error_kind: Some(err.error_kind().to_string()),
            ..self.fields(action, err.to_string())
        });
    }
}

/// `ensure_present_str_with`: resolve the text, then ensure.
pub(super) fn ensure_str(
    p: &ModelProvisioner,
    input: &str,
    expected: Option<Digest>,
    opts: &EnsureOptions,
) -> Result<ResolvedModel, ProvisionError> {
    let ctx = context(p, opts);
    // The raw input may be a URL with credentials: show its public form.
    let shown = public_url(input);
    let span = span_for(&ctx, &shown);
    let _entered = span.enter();
    let started = Instant::now();
    let e = Ensure::new(shown.clone(), ctx, None);
    let parsed = Step::Resolve.run(None, || {
        e.say(act::RESOLVE, format!("Resolving model reference: {shown}"));
        ModelRef::parse(input).during(Step::Resolve)
    });
    let model = parsed.map_err(|failed| boundary(&e, failed))?;
    run(p, &model, expected, e.ctx, started)
}

/// `ensure_present_with`: a parsed ref.
pub(super) fn ensure(
    p: &ModelProvisioner,
    model: &ModelRef,
    expected: Option<Digest>,
    opts: &EnsureOptions,
) -> Result<ResolvedModel, ProvisionError> {
    let ctx = context(p, opts);
    let id = model.id();
    let span = span_for(&ctx, &id);
    let _entered = span.enter();
    let started = Instant::now();
    Step::Resolve.span(Some(model)).in_scope(|| {
        Ensure::new(id.clone(), ctx.clone(), Some(model))
            .say(act::RESOLVE, format!("Resolving model reference: {id}"));
    });
    run(p, model, expected, ctx, started)
}

/// The lifecycle, one step per line; a failure is narrated once, here.
fn run(
    p: &ModelProvisioner,
    model: &ModelRef,
    expected: Option<Digest>,
    ctx: FetchContext,
    started: Instant,
) -> Result<ResolvedModel, ProvisionError> {
    let ctx = FetchContext {
        progress: ctx.progress.for_target(model.id()),
        ..ctx
    };
    let e = Ensure::new(model.id(), ctx, Some(model));
    e.say(act::ENSURE, format!("Ensuring model present: {}", e.target));
    let m = Some(model);
    let steps = || -> Result<ResolvedModel, Failed> {
        checkpoint(&e, Step::Fetch)?;
        // The gate is held to the end of the steps: another ensure of this
        // model waits, then finds it recorded.
        let (_gate, recorded, fetched) = Step::Fetch.run(m, || {
            let gate = (model.scheme() != "file")
                .then(|| gate::enter(&e, &p.cache_dir, p.lock_wait))
                .transpose()
                .during(Step::Fetch)?;
            let recorded = p.recorded(&e.target).during(Step::Fetch)?;
            let fetched =
                fetch(p, &e, model, expected.as_ref(), recorded.as_ref()).during(Step::Fetch)?;
            Ok((gate, recorded, fetched))
        })?;
        checkpoint(&e, Step::Inspect)?;
        let (fingerprint, gguf) = Step::Inspect.run(m, || {
            let fingerprint = Fingerprint::of(&fetched.path)
                .map_err(|source| unreadable(&fetched.path, source))
                .during(Step::Verify)?;
            let gguf =
                inspect(&e, &fetched.path, fingerprint, recorded.as_ref()).during(Step::Inspect)?;
            Ok((fingerprint, gguf))
        })?;
        checkpoint(&e, Step::Verify)?;
        let verified = Step::Verify.run(m, || {
            p.verify(&e, &fetched, fingerprint, recorded, expected.as_ref())
                .during(Step::Verify)
        })?;
        let resolved = ResolvedModel {
            id: model.id(),
            local_path: fetched.path.clone(),
            digest: verified.digest,
            size_bytes: verified.size,
            gguf,
            source: fetched.source.clone(),
            verification: verified.verification,
        };
        // Nothing is registered once the caller has let go.
        checkpoint(&e, Step::Register)?;
        Step::Register.run(m, || {
            p.register(&e, model, &resolved, &verified, &fetched)
                .during(Step::Register)
        })?;
        Ok(resolved)
    };
    let resolved = steps().map_err(|failed| boundary(&e, failed))?;
    narrate(NarrationFields {
        duration_ms: Some(elapsed_ms(started)),
        bytes: Some(resolved.size_bytes),
        ..e.fields(
            act::COMPLETE,
            format!(
                "Model ready: {} at {} ({}, {})",
                resolved.id,
                resolved.local_path.display(),
                resolved.digest.short(),
                describe_gguf(&resolved.gguf)
            ),
        )
    });
    Ok(resolved)
}

/// Between two steps: stop before `next` when the caller cancelled.
fn checkpoint(e: &Ensure<'_>, next: Step) -> Result<(), Failed> {
    e.ctx
        .cancel
        .check()
        .map_err(|_| cancelled(e, next))
        .during(next)
}

fn cancelled(e: &Ensure<'_>, step: Step) -> ProvisionError {
    ProvisionError::Cancelled {
        model: e.target.clone(),
        step: step.word(),
    }
}

/// The one place an ensure's failure is narrated. A cancel that reached
/// here as another layer's error (a download, a lock wait) becomes
/// [`ProvisionError::Cancelled`] naming its step, so a caller matches
/// one variant and the narration is `cancelled`, never `*-failed`.
fn boundary(e: &Ensure<'_>, failed: Failed) -> ProvisionError {
    let other_layers_cancel = failed.error.kind() == ErrorKind::Cancelled
        && !matches!(*failed.error, ProvisionError::Cancelled { .. });
    let failed = if other_layers_cancel {
        Failed {
            step: failed.step,
            error: Box::new(cancelled(e, failed.step)),
        }
    } else {
        failed
    };
    let action = failed.error.failure_action(failed.step);
    if action == act::VERIFY_FAILED && failed.step == Step::Fetch {
        // The fetcher checked the digest it could establish (the Hub's
        // sha256 before any transfer, or the bytes as they arrived) against
        // what was expected: that check is this ensure's verify.
        e.say(
            act::VERIFY,
            "Verifying the digest established while fetching against the expected one".to_string(),
        );
    }
    e.fail(action, &failed.error);
    *failed.error
}

impl ModelProvisioner {
    /// The catalog row for `id`; a retired one is refused before anything
    /// is fetched, so a retired model is never handed to a new pool.
    fn recorded(&self, id: &str) -> Result<Option<CatalogEntry>, ProvisionError> {
        let entry = self.catalog.get(id)?;
        if entry
            .as_ref()
            .is_some_and(|row| row.lifecycle == Lifecycle::Retired)
        {
            return Err(ProvisionError::Retired { id: id.to_string() });
        }
        Ok(entry)
    }
}

/// Hand the ref to the first fetcher for its scheme, telling it which
/// file the catalog vouches for (it may serve that one without hashing).
fn fetch(
    p: &ModelProvisioner,
    e: &Ensure<'_>,
    model: &ModelRef,
    expected: Option<&Digest>,
    recorded: Option<&CatalogEntry>,
) -> Result<Fetched, ProvisionError> {
    let scheme = model.scheme();
    let fetcher = p
        .fetchers
        .iter()
        .find(|f| f.schemes().contains(&scheme))
        .ok_or_else(|| ProvisionError::NoFetcher {
            model: model.id(),
            scheme: scheme.to_string(),
        })?;
    let ctx = FetchContext {
        vouched: recorded.and_then(|row| {
            Some(crate::fetch::Vouched {
                path: row.local_path.clone(),
                fingerprint: row.fingerprint?,
                digest: row.digest,
            })
        }),
        ..e.ctx.clone()
    };
    fetcher.fetch(model, expected, &ctx)
}

/// Read the GGUF summary before hashing, so a file that is not a model is
/// refused without reading all of it. The catalog's summary is reused
/// when the file is unchanged since it was recorded. Tensors of a type
/// this reader does not know are warned about, not refused: the file may
/// be newer than this reader and still right for the engine.
fn inspect(
    e: &Ensure<'_>,
    path: &Path,
    fingerprint: Fingerprint,
    recorded: Option<&CatalogEntry>,
) -> Result<GgufSummary, ProvisionError> {
    let unchanged =
        recorded.filter(|row| row.local_path == path && row.fingerprint == Some(fingerprint));
    if let Some(gguf) = unchanged.and_then(|row| row.gguf.clone()) {
        return Ok(gguf);
    }
    let header = read_header_file(path).map_err(|source| ProvisionError::NotGguf {
        path: path.to_path_buf(),
        source,
    })?;
    warn_unknown_tensor_types(e, path, &header);
    Ok(header.summary())
}

/// Narrate `inspect-warning` when some tensors have a ggml type unknown
/// to this reader (their sizes cannot be checked here).
fn warn_unknown_tensor_types(e: &Ensure<'_>, path: &Path, header: &GgufHeader) {
    let unknown: Vec<&GgufTensorInfo> = header
        .tensors
        .iter()
        .filter(|t| GgmlType(t.ggml_type).name().is_none())
        .collect();
    let Some(first) = unknown.first() else {
        return;
    };
    let mut types: Vec<String> = unknown
        .iter()
        .map(|t| GgmlType(t.ggml_type).to_string())
        .collect();
    types.sort();
    types.dedup();
    narrate(NarrationFields {
        error_kind: Some("unknown-tensor-type".to_string()),
        ..e.fields(
            act::INSPECT_WARNING,
            format!(
                "{} of {} tensors in {} have a type this reader does not know ({}; first: {}); \
                 the engine must support it, or loading will fail: check its version",
                unknown.len(),
                header.tensors.len(),
                path.display(),
                types.join(", "),
                first.name
            ),
        )
    });
}

pub(super) fn unreadable(path: &Path, source: std::io::Error) -> ProvisionError {
    ProvisionError::UnreadableFile {
        path: path.to_path_buf(),
        source,
    }
}

/// The fetch context of one ensure: a correlation id (the caller's or a
/// new one), the pool, offline mode and the cache dir.
pub(super) fn context(p: &ModelProvisioner, opts: &EnsureOptions) -> FetchContext {
    let correlation_id = Some(
        opts.correlation_id
            .clone()
            .unwrap_or_else(new_correlation_id),
    );
    FetchContext {
        progress: ProgressReporter::new(
            opts.progress.clone(),
            correlation_id.clone(),
            opts.pool_id.clone(),
            String::new(),
        ),
        correlation_id,
        pool_id: opts.pool_id.clone(),
        offline: p.offline,
        cache_dir: p.cache_dir.clone(),
        cancel: opts.cancel.clone(),
        vouched: None,
    }
}

fn span_for(ctx: &FetchContext, target: &str) -> tracing::Span {
    tracing::info_span!(
        "ensure_present",
        correlation_id = ctx.correlation_id.as_deref(),
        pool_id = ctx.pool_id.as_deref(),
        model_ref = target,
    )
}

pub(super) fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn describe_gguf(g: &GgufSummary) -> String {
    format!(
        "{} {}",
        g.architecture.as_deref().unwrap_or("unknown-arch"),
        g.quantization.as_deref().unwrap_or("unknown-type")
    )
}

/// A process-unique id: pid, start time and a counter.
fn new_correlation_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "mp-{:x}-{:x}-{}",
        std::process::id(),
        now_ns(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
