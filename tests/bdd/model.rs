//! Steps for the model features.

#[derive(Debug, Default)]
pub struct State {}
