//! Steps for the narration features.

#[derive(Debug, Default)]
pub struct State {}
