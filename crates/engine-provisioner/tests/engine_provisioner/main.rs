//! The engine provisioner's integration tests, one binary: the lifecycle
//! against fake build tools, pool loading, the model step, the lifecycle
//! span, and the real llama.cpp build (`e2e_llamacpp`, slow the first
//! time: skip it with `-- --skip e2e`).

mod binary_mode;
mod cancel;
mod ccache;
mod e2e_llamacpp;
mod error_kinds;
mod external_mode;
mod fake_tools;
mod lifecycle_span;
mod model_step;
mod pool_config;
mod prepared_engine;
mod progress;
mod release;
mod seam;
mod support;
