//! `provision model REF`: make a model present, verified and catalogued.

use std::fmt::Write as _;
use std::sync::Arc;

use model_provisioner::units::human_bytes;
use model_provisioner::{
    Digest, EnsureOptions, ModelProvisioner, ModelRef, ProgressObserver, ResolvedModel, Settings,
};

use super::args::{Download, ModelArgs, ModelStore};
use super::error::CliError;
use super::gguf::human_summary;
use super::output::Output;

pub fn run(
    args: &ModelArgs,
    out: &Output,
    progress: Option<Arc<dyn ProgressObserver>>,
) -> Result<(), CliError> {
    let expected = args
        .digest
        .as_deref()
        .map(|d| {
            d.parse::<Digest>()
                // Not quoted: a refused value may be a token pasted by mistake.
                .map_err(|e| CliError::new(format!("--digest is not valid: {e}")))
        })
        .transpose()?;
    let input = with_revision(&args.model_ref, args.revision.as_deref())?;
    let provisioner = provisioner(&args.store, &args.download)?;
    let opts = EnsureOptions {
        progress,
        ..EnsureOptions::default()
    };
    let resolved = provisioner.ensure_present_str_with(&input, expected, &opts)?;
    out.emit(&resolved, |s| human_resolved(s, &resolved))
}

/// The model provisioner for these settings: downloads in `--cache-dir`
/// over `--connections` per large file, the catalog at `--catalog` with
/// the provenance log beside it.
pub fn provisioner(store: &ModelStore, download: &Download) -> Result<ModelProvisioner, CliError> {
    // The CLI is the program that reads the HF_* environment.
    let mut settings = Settings::from_env();
    settings.locations = settings
        .locations
        .with_cache_dir(&store.cache_dir)
        .with_catalog(&store.catalog.catalog);
    // A proxy variable that does not parse stops the run, naming it.
    settings.proxy = model_provisioner::ProxySettings::from_env()?;
    if let Some(n) = download.connections {
        settings.parallel.connections = n.get();
    }
    Ok(ModelProvisioner::with_settings(settings)
        .offline(store.offline)
        .build()?)
}

/// Apply `--revision` to an `hf:` ref (other refs have no revisions).
fn with_revision(input: &str, revision: Option<&str>) -> Result<String, CliError> {
    let Some(revision) = revision else {
        return Ok(input.to_string());
    };
    // An unparsable ref is left to the provisioner, which narrates why.
    let Ok(model) = ModelRef::parse(input) else {
        return Ok(input.to_string());
    };
    match model {
        ModelRef::Hf {
            org,
            repo,
            revision: None,
            path,
            quant,
        } => Ok(ModelRef::Hf {
            org,
            repo,
            revision: Some(revision.to_string()),
            path,
            quant,
        }
        .id()),
        ModelRef::Hf {
            revision: Some(own),
            ..
        } if own == revision => Ok(input.to_string()),
        ModelRef::Hf {
            revision: Some(own),
            ..
        } => Err(CliError::new(format!(
            "--revision {revision:?} conflicts with the revision {own:?} inside {input:?}; give one"
        ))),
        _ => Err(CliError::new(format!(
            "--revision applies to hf: refs only, not {input:?}"
        ))),
    }
}

fn human_resolved(s: &mut String, m: &ResolvedModel) {
    let rows = [
        ("model", m.id.clone()),
        ("path", m.local_path.display().to_string()),
        ("digest", m.digest.to_string()),
        (
            "size",
            format!("{} ({} bytes)", human_bytes(m.size_bytes), m.size_bytes),
        ),
        ("verified", m.verification.describe().to_string()),
    ];
    for (k, v) in rows {
        let _ = writeln!(s, "{k:<17}{v}");
    }
    let mut gguf = String::new();
    human_summary(&mut gguf, "", &m.gguf);
    for line in gguf
        .lines()
        .filter(|l| !l.starts_with("file ") && !l.starts_with("size "))
    {
        let _ = writeln!(s, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::with_revision;

    #[test]
    fn revision_is_folded_into_hf_refs_only() {
        assert_eq!(
            with_revision("hf:o/r/m.gguf", None).unwrap(),
            "hf:o/r/m.gguf"
        );
        assert_eq!(
            with_revision("hf:o/r/m.gguf", Some("v1")).unwrap(),
            "hf:o/r@v1/m.gguf"
        );
        assert_eq!(
            with_revision("hf:o/r@v1/m.gguf", Some("v1")).unwrap(),
            "hf:o/r@v1/m.gguf"
        );
        assert!(with_revision("hf:o/r@v1/m.gguf", Some("v2")).is_err());
        assert!(with_revision("/tmp/m.gguf", Some("v1")).is_err());
    }
}
