//! Steps for the engine features.

#[derive(Debug, Default)]
pub struct State {}
