//! The steps of an ensure, and how a failure is attributed to one.
//!
//! A step returns its error tagged with the step it failed in; the
//! lifecycle narrates it once, at its boundary, with the action and kind
//! that [`ProvisionError::failure_action`] gives for that step.

use crate::actions as act;
use crate::error::ProvisionError;
use crate::model_ref::ModelRef;
use narration_core::{fail_step, public_url, step_span};

pub(crate) use crate::step::Step;

impl Step {
    /// The span this step runs in, a child of the current (lifecycle)
    /// span. The fetch span names the URL of an `http(s)` ref, without
    /// credentials.
    pub fn span(self, model: Option<&ModelRef>) -> tracing::Span {
        match self {
            Self::Resolve => step_span!(act::ACTOR, "resolve"),
            Self::Fetch => {
                let url = match model {
                    Some(ModelRef::Https { url } | ModelRef::Http { url }) => Some(public_url(url)),
                    _ => None,
                };
                step_span!(act::ACTOR, "fetch", "url.full" = url.as_deref())
            }
            Self::Inspect => step_span!(act::ACTOR, "inspect"),
            Self::Verify => step_span!(act::ACTOR, "verify"),
            Self::Register => step_span!(act::ACTOR, "register"),
        }
    }

    /// Run `body` in this step's span; a failure marks the span failed
    /// with its `error_kind`.
    pub fn run<T>(
        self,
        model: Option<&ModelRef>,
        body: impl FnOnce() -> Result<T, Failed>,
    ) -> Result<T, Failed> {
        let span = self.span(model);
        let result = span.in_scope(body);
        if let Err(failed) = &result {
            fail_step(&span, failed.error.error_kind());
        }
        result
    }
}

/// An error and the step it happened in.
#[derive(Debug)]
pub(crate) struct Failed {
    pub step: Step,
    /// Boxed: errors are large, and the happy path should not pay for them.
    pub error: Box<ProvisionError>,
}

/// Tag a step's error with its step: `result.during(Step::Verify)?`.
pub(crate) trait During<T> {
    fn during(self, step: Step) -> Result<T, Failed>;
}

impl<T, E: Into<ProvisionError>> During<T> for Result<T, E> {
    fn during(self, step: Step) -> Result<T, Failed> {
        self.map_err(|e| Failed {
            step,
            error: Box::new(e.into()),
        })
    }
}
