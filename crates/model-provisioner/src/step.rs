//! The steps of an ensure. A leaf module: `error` names a step (a
//! failure's action depends on it) and the lifecycle runs the steps
//! (`provisioner::step` adds their spans), so the type sits below both.

use crate::actions as act;

/// One step of the model lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Parsing the model reference.
    Resolve,
    /// Making the file present locally (the fetcher).
    Fetch,
    /// Reading the GGUF header.
    Inspect,
    /// Establishing and checking the digest.
    Verify,
    /// Writing the catalog row and the provenance line.
    Register,
}

impl Step {
    /// The failure action of this step, for errors that do not name one.
    pub fn failed_action(self) -> &'static str {
        match self {
            Self::Resolve => act::RESOLVE_FAILED,
            Self::Fetch => act::ENSURE_FAILED,
            Self::Inspect => act::INSPECT_FAILED,
            Self::Verify => act::VERIFY_FAILED,
            Self::Register => act::REGISTER_FAILED,
        }
    }

    /// The word a [`ProvisionError::Cancelled`](crate::ProvisionError::Cancelled) names this step by: the
    /// fetch step is where bytes are downloaded.
    pub fn word(self) -> &'static str {
        match self {
            Self::Resolve => "resolve",
            Self::Fetch => "download",
            Self::Inspect => "inspect",
            Self::Verify => "verify",
            Self::Register => "register",
        }
    }
}
