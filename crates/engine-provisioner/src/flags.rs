//! `llama-server` flags: aliases normalized, GPU layers forced off for CPU
//! builds, and the flags the provisioner owns (`--model`, `--host`,
//! `--port`) put first.

/// Aliases of `--n-gpu-layers` that llama.cpp has accepted over time.
pub const GPU_LAYER_ALIASES: &[&str] = &["--ngl", "-ngl", "--gpu-layers", "--n-gpu-layers"];

/// The canonical name.
pub const N_GPU_LAYERS: &str = "--n-gpu-layers";

/// The full argument list for `llama-server`.
pub fn server_flags(
    user: &[String],
    model: &str,
    host: &str,
    port: u16,
    cuda: bool,
) -> Vec<String> {
    let mut out: Vec<String> = vec![
        "--model".into(),
        model.into(),
        "--host".into(),
        host.into(),
        "--port".into(),
        port.to_string(),
    ];
    out.extend(normalize(user, cuda));
    out
}

/// Rename GPU-layer aliases to `--n-gpu-layers`; for CPU builds drop any
/// GPU-layer setting (with its value) and append `--n-gpu-layers 0`.
pub fn normalize(user: &[String], cuda: bool) -> Vec<String> {
    let mut out = Vec::with_capacity(user.len() + 2);
    let mut args = user.iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with('-') => (n, Some(v)),
            _ => (arg.as_str(), None),
        };
        if !GPU_LAYER_ALIASES.contains(&name) {
            out.push(arg.clone());
            continue;
        }
        if !cuda {
            if inline.is_none() {
                args.next(); // its value
            }
            continue;
        }
        match inline {
            Some(v) => out.push(format!("{N_GPU_LAYERS}={v}")),
            None => out.push(N_GPU_LAYERS.to_string()),
        }
    }
    if !cuda {
        out.push(N_GPU_LAYERS.into());
        out.push("0".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::HOST;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn managed_flags_come_first() {
        assert_eq!(
            server_flags(
                &v(&["--ngl", "99", "-c", "512"]),
                "/m.gguf",
                HOST,
                8080,
                false
            ),
            v(&[
                "--model",
                "/m.gguf",
                "--host",
                "127.0.0.1",
                "--port",
                "8080",
                "-c",
                "512",
                "--n-gpu-layers",
                "0"
            ])
        );
    }

    #[test]
    fn aliases_become_n_gpu_layers_on_cuda() {
        for alias in ["--ngl", "-ngl", "--gpu-layers", "--n-gpu-layers"] {
            assert_eq!(
                normalize(&v(&[alias, "99", "-c", "512"]), true),
                v(&["--n-gpu-layers", "99", "-c", "512"])
            );
        }
        assert_eq!(normalize(&v(&["-ngl=20"]), true), v(&["--n-gpu-layers=20"]));
    }

    #[test]
    fn cpu_builds_force_zero_gpu_layers() {
        assert_eq!(
            normalize(
                &v(&["--ngl", "99", "--ctx-size", "64", "--gpu-layers=3"]),
                false
            ),
            v(&["--ctx-size", "64", "--n-gpu-layers", "0"])
        );
        assert_eq!(normalize(&[], false), v(&["--n-gpu-layers", "0"]));
    }

    #[test]
    fn other_flags_pass_through_in_order() {
        assert_eq!(
            normalize(&v(&["--threads", "2", "--no-webui", "-c", "128"]), true),
            v(&["--threads", "2", "--no-webui", "-c", "128"])
        );
    }
}
