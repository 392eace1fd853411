//! Why narration output could not be set up: one error for [`init`] and
//! for the filters it parses, apart from both so that neither imports
//! the other for it.
//!
//! [`init`]: crate::init

/// Why [`init`](crate::init) could not set up narration output.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The filter directives do not parse.
    #[error(
        "the log filter {directives:?} (from {origin}) is not valid: {source}; \
         write directives such as `narration=info` or `narration=warn,model_provisioner=debug`"
    )]
    Filter {
        /// The directives as given.
        directives: String,
        /// Where they came from: `RUST_LOG`, the default filter, the program.
        origin: &'static str,
        /// What the parser did not accept.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// Something already installed a global subscriber.
    #[error(
        "a global tracing subscriber is already installed; call narration_core::init once, \
         at the start of main, and pass other layers in InitOptions::layers"
    )]
    AlreadyInstalled(#[source] tracing::subscriber::SetGlobalDefaultError),
    /// An OTLP endpoint was given but the crate was built without `otel`.
    #[error(
        "OpenTelemetry export to {endpoint} was asked for, but narration-core was built \
         without its `otel` feature; rebuild with that feature or leave the endpoint out"
    )]
    OtelDisabled {
        /// The endpoint, without credentials.
        endpoint: String,
    },
    /// The OTLP exporter could not be built.
    #[cfg(feature = "otel")]
    #[error(
        "cannot set up OTLP export to {endpoint}: {source}; give the collector's base URL, \
         such as http://127.0.0.1:4318"
    )]
    Otel {
        /// The endpoint, without credentials.
        endpoint: String,
        /// The exporter's reason.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
}
