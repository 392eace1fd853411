//! The stand-in Hub's integration tests, one binary: its own protocol
//! answers, and the reference Python client downloading from it.

mod protocol;
mod python_fidelity;
