//! `provision push MODEL-REF oci://REGISTRY/REPOSITORY:TAG`: publish a
//! verified model as an OCI model artifact.

use model_provisioner::EnsureOptions;
use model_provisioner::oci::{OciConfig, PushFormat, push};

use super::args::{PushArgs, PushFormatArg};
use super::error::CliError;
use super::model::provisioner;
use super::output::Output;

pub fn run(args: &PushArgs, out: &Output) -> Result<(), CliError> {
    let models = provisioner(&args.store, &args.download)?;
    let format = match args.format {
        PushFormatArg::Modelpack => PushFormat::ModelPack,
        PushFormatArg::Docker => PushFormat::Docker,
    };
    let report = push(
        &models,
        &args.model_ref,
        &args.target,
        format,
        &OciConfig {
            proxy: model_provisioner::ProxySettings::from_env()?,
            ca_bundle: model_provisioner::CaBundle::read_optional(
                model_provisioner::CaBundle::path_from_lookup(|k| std::env::var(k).ok()).as_deref(),
            )?,
            ..OciConfig::from_env()
        },
        &EnsureOptions::default(),
    )?;
    out.emit(&report, |s| {
        s.push_str(&format!(
            "pushed           {}\nblobs uploaded   {} ({} bytes)\nblobs skipped    {}\n",
            report.reference, report.uploaded, report.bytes_uploaded, report.skipped
        ));
    })
}
