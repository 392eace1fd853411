//! What `ensure` hands the orchestrator: everything needed to start the
//! engine, nothing started.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A ready-to-start engine. Field names are a contract (JSON consumers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedEngine {
    /// The `llama-server` binary.
    pub binary_path: PathBuf,
    /// Its full argument list (`--model`, `--host`, `--port` first).
    pub flags: Vec<String>,
    /// Always `127.0.0.1`.
    pub host: String,
    /// The port in `flags`: one configured in the pool, else the one this
    /// pool's replica got last time when still free, else a free one. It
    /// was free when handed out, but nothing holds it: the supervisor
    /// binds it when it starts the engine, and another process can take
    /// it in between (then start fails; ensure again for another port).
    pub port: u16,
    /// `http://HOST:PORT/health`: the supervisor's readiness probe
    /// (200 once the model is loaded).
    pub health_url: String,
    /// The environment to start the server with, on top of the
    /// supervisor's own: `CUDA_VISIBLE_DEVICES` (the device mask) for CUDA
    /// builds, `TRACEPARENT` when spans are exported, `LD_LIBRARY_PATH`
    /// (the binary's folder) in `binary` mode.
    pub env: BTreeMap<String, String>,
    /// The verified model file.
    pub model_path: PathBuf,
    /// `llamacpp-source:<ref>-<cpu|cuda>`, `llamacpp-binary:b<N>` or
    /// `llamacpp-external:b<N>`.
    pub engine_version: String,
    /// The source commit the binary was built from.
    pub commit: String,
    /// sha256 of the binary (hex).
    pub binary_sha256: String,
    /// How it was provisioned: `source`, `binary` or `external`.
    pub provisioning_mode: String,
    /// The pool.
    pub pool_id: String,
    /// The replica within the pool ([`EngineOptions::replica_id`](crate::EngineOptions::replica_id), default `r0`).
    pub replica_id: String,
    /// GPUs the engine may use (`CUDA_VISIBLE_DEVICES` from the pool env
    /// for CUDA builds); `None` for CPU builds or all GPUs.
    pub device_mask: Option<String>,
    /// The trace this engine was prepared in (32 hex digits), when spans
    /// are exported (feature `otel`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// The W3C `traceparent` of the `engine_ensure` span: pass it to the
    /// engine's starter as `TRACEPARENT` to continue the trace. Absent
    /// when spans are not exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

impl PreparedEngine {
    /// The program to start, whatever the mode (`binary_path`).
    pub fn command(&self) -> &std::path::Path {
        &self.binary_path
    }

    /// Its arguments (`flags`): `--model`, `--host`, `--port` first.
    pub fn args(&self) -> &[String] {
        &self.flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_field_names_are_the_contract() {
        let engine = PreparedEngine {
            binary_path: "/b/llama-server".into(),
            flags: vec!["--model".into(), "/m.gguf".into()],
            host: "127.0.0.1".into(),
            port: 8080,
            health_url: "http://127.0.0.1:8080/health".into(),
            env: BTreeMap::from([("CUDA_VISIBLE_DEVICES".into(), "0".into())]),
            model_path: "/m.gguf".into(),
            engine_version: "llamacpp-source:v0-cpu".into(),
            commit: "c".into(),
            binary_sha256: "s".into(),
            provisioning_mode: "source".into(),
            pool_id: "p".into(),
            replica_id: "r0".into(),
            device_mask: None,
            trace_id: None,
            traceparent: None,
        };
        let json = serde_json::to_value(&engine).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "binary_path",
                "binary_sha256",
                "commit",
                "device_mask",
                "engine_version",
                "env",
                "flags",
                "health_url",
                "host",
                "model_path",
                "pool_id",
                "port",
                "provisioning_mode",
                "replica_id"
            ]
        );
        let back: PreparedEngine = serde_json::from_value(json).unwrap();
        assert_eq!(back, engine);

        let traced = PreparedEngine {
            trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
            traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
            ..engine
        };
        let json = serde_json::to_value(&traced).unwrap();
        assert_eq!(json["traceparent"], traced.traceparent.as_deref().unwrap());
        assert_eq!(
            serde_json::from_value::<PreparedEngine>(json).unwrap(),
            traced
        );
    }
}
