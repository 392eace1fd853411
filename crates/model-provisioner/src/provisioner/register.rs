//! The register step: the catalog row and the provenance line.

use super::ModelProvisioner;
use super::lifecycle::Ensure;
use super::verify::Verified;
use crate::actions as act;
use crate::catalog::{CatalogEntry, Lifecycle, Origin};
use crate::error::ProvisionError;
use crate::fetch::Fetched;
use crate::fingerprint::now_ms;
use crate::handoff::{ProvenanceRecord, append_provenance};
use crate::model_ref::ModelRef;
use crate::resolved::ResolvedModel;

impl ModelProvisioner {
    /// Write the catalog row and the provenance line, unless a warm hit
    /// found the row already saying all of it (an OCI row written before
    /// the catalog kept the manifest and layers, or a tag now pinned to
    /// another manifest, is rewritten); either way the model is recorded
    /// as used now (cache pruning keeps the recently used).
    pub(super) fn register(
        &self,
        e: &Ensure<'_>,
        model: &ModelRef,
        resolved: &ResolvedModel,
        verified: &Verified,
        fetched: &Fetched,
    ) -> Result<(), ProvisionError> {
        if verified
            .entry
            .as_ref()
            .is_some_and(|row| row.gguf.is_some() && row.oci == fetched.oci)
        {
            self.catalog.touch(&resolved.id, now_ms())?;
            return Ok(());
        }
        let now = now_ms();
        let entry = CatalogEntry {
            id: resolved.id.clone(),
            local_path: resolved.local_path.clone(),
            digest: resolved.digest,
            size_bytes: resolved.size_bytes,
            fingerprint: verified.fingerprint,
            lifecycle: Lifecycle::Active,
            origin: Origin::of(model),
            source: resolved.source.clone(),
            gguf: Some(resolved.gguf.clone()),
            created_at_ms: now,
            verified_at_ms: Some(now),
            pinned: false,
            last_used_at_ms: Some(now),
            oci: fetched.oci.clone(),
        };
        self.catalog.put(&entry)?;
        let record = ProvenanceRecord {
            at_ms: now,
            correlation_id: e.ctx.correlation_id.clone(),
            model_id: resolved.id.clone(),
            local_path: resolved.local_path.clone(),
            digest: resolved.digest,
            size_bytes: resolved.size_bytes,
            source: resolved.source.clone(),
            verification: resolved.verification,
            bytes_hashed: verified.bytes_hashed,
            bytes_transferred: fetched.bytes_transferred,
        };
        append_provenance(&self.provenance_path, &record)?;
        e.say(
            act::REGISTER,
            format!(
                "Registered {} in the catalog ({})",
                resolved.id,
                resolved.digest.short()
            ),
        );
        Ok(())
    }
}
