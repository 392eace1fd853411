//! Engine provisioning: llama.cpp from source to a prepared llama-server.
