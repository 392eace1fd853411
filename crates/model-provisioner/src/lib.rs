//! Model provisioning: model refs to verified local GGUF files.
