//! Hostile input: every case is refused with the expected typed error,
//! nothing panics, and no external process runs for a refused value.
//! (GGUF files truncated at every header offset are covered next to the
//! reader, in `model-provisioner`'s gguf tests.)
//!
//! The figures printed at the end (cases tried, refused, processes run) are
//! the ones recorded in `specs/reliability.md`.

use engine_provisioner::{
    ConfigError, EngineProvisioner, GitRef, LlamaCppSource, PoolConfig, ProvisionError, RepoUrl,
};
use model_provisioner::{Digest, DigestError, ModelProvisioner, ModelRef, RefError, gguf};
use std::io::Cursor;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn ten_kb(prefix: &str) -> String {
    format!("{prefix}{}", "a".repeat(10 * 1024))
}

#[test]
fn hostile_model_refs_are_refused_with_typed_errors() {
    type Check = fn(&RefError) -> bool;
    let cases: Vec<(&str, String, Check)> = vec![
        ("empty", String::new(), |e| matches!(e, RefError::Empty)),
        ("blank", "   ".into(), |e| matches!(e, RefError::Empty)),
        (
            "traversal in hf path",
            "hf:org/repo/../../etc/passwd".into(),
            |e| matches!(e, RefError::Traversal { .. }),
        ),
        (
            "traversal mid path",
            "hf:org/repo/models/../../x.gguf".into(),
            |e| matches!(e, RefError::Traversal { .. }),
        ),
        (
            "absolute path inside hf ref",
            "hf:org/repo//etc/passwd".into(),
            |e| {
                matches!(
                    e,
                    RefError::AbsolutePath { .. } | RefError::EmptyPart { .. }
                )
            },
        ),
        ("NUL byte", "hf:org/repo/a\0b.gguf".into(), |e| {
            matches!(e, RefError::ControlCharacter { .. })
        }),
        ("newline in file ref", "file:/models/m\n.gguf".into(), |e| {
            matches!(e, RefError::ControlCharacter { .. })
        }),
        (
            "escape sequence",
            "hf:org/repo/\u{1b}[31mred.gguf".into(),
            |e| matches!(e, RefError::ControlCharacter { .. }),
        ),
        ("empty hf", "hf:".into(), |e| {
            matches!(e, RefError::EmptyPart { .. })
        }),
        ("missing repo", "hf:org".into(), |e| {
            matches!(e, RefError::EmptyPart { .. })
        }),
        ("empty org", "hf:/repo/x.gguf".into(), |e| {
            matches!(e, RefError::EmptyPart { .. })
        }),
        ("empty quant", "hf:org/repo:".into(), |e| {
            matches!(e, RefError::EmptyPart { .. })
        }),
        ("empty revision", "hf:org/repo@/x.gguf".into(), |e| {
            matches!(e, RefError::EmptyPart { .. } | RefError::BadRevision { .. })
        }),
        (
            "option-like revision",
            "hf:org/repo@--upload-pack=x/m.gguf".into(),
            |e| matches!(e, RefError::BadRevision { .. }),
        ),
        ("dotted revision", "hf:org/repo@a..b/m.gguf".into(), |e| {
            matches!(e, RefError::BadRevision { .. })
        }),
        ("unknown scheme", "ftp://host/x.gguf".into(), |e| {
            matches!(e, RefError::UnknownScheme { .. })
        }),
        ("script scheme", "javascript:alert(1)".into(), |e| {
            matches!(e, RefError::UnknownScheme { .. })
        }),
        (
            "unicode look-alike org",
            "hf:\u{ff4f}rg/repo/x.gguf".into(),
            |e| matches!(e, RefError::BadName { .. }),
        ),
        (
            "right-to-left override",
            "hf:org/rep\u{202e}o/x.gguf".into(),
            |e| {
                matches!(
                    e,
                    RefError::BadName { .. } | RefError::ControlCharacter { .. }
                )
            },
        ),
        ("10 KB org name", ten_kb("hf:"), |e| {
            matches!(e, RefError::BadName { .. } | RefError::EmptyPart { .. })
        }),
        ("https without host", "https://".into(), |e| {
            matches!(e, RefError::BadUrl { .. })
        }),
        ("http without host", "http:///x.gguf".into(), |e| {
            matches!(e, RefError::BadUrl { .. })
        }),
    ];
    let mut refused = 0;
    for (name, input, check) in &cases {
        match ModelRef::parse(input) {
            Ok(parsed) => panic!("case {name:?}: {input:?} was accepted as {parsed:?}"),
            Err(e) => {
                assert!(check(&e), "case {name:?}: unexpected error {e:?}");
                assert!(!e.to_string().is_empty());
                refused += 1;
            }
        }
    }
    println!("hostile model refs: {refused}/{} refused", cases.len());
}

#[test]
fn hostile_digests_are_refused_with_reasons() {
    type Check = fn(&DigestError) -> bool;
    let hex64 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let cases: Vec<(&str, String, Check)> = vec![
        ("empty", String::new(), |e| {
            matches!(e, DigestError::MissingAlgorithm { .. })
        }),
        ("bare hex", hex64.into(), |e| {
            matches!(e, DigestError::MissingAlgorithm { .. })
        }),
        ("md5", "md5:d41d8cd98f00b204e9800998ecf8427e".into(), |e| {
            matches!(e, DigestError::UnsupportedAlgorithm { .. })
        }),
        ("sha512", format!("sha512:{hex64}{hex64}"), |e| {
            matches!(e, DigestError::UnsupportedAlgorithm { .. })
        }),
        ("no hex", "sha256:".into(), |e| {
            matches!(e, DigestError::WrongLength { .. })
        }),
        ("63 hex", format!("sha256:{}", &hex64[1..]), |e| {
            matches!(e, DigestError::WrongLength { .. })
        }),
        ("trailing newline", format!("sha256:{hex64}\n"), |e| {
            matches!(
                e,
                DigestError::WrongLength { .. } | DigestError::NotHex { .. }
            )
        }),
        ("non-hex", format!("sha256:{}g", &hex64[1..]), |e| {
            matches!(e, DigestError::NotHex { .. })
        }),
        (
            "upper case",
            format!("sha256:{}", hex64.to_uppercase()),
            |e| matches!(e, DigestError::UpperCase { .. }),
        ),
        ("10 KB", ten_kb("sha256:"), |e| {
            matches!(e, DigestError::WrongLength { .. })
        }),
    ];
    for (name, input, check) in &cases {
        match input.parse::<Digest>() {
            Ok(d) => panic!("case {name:?}: {input:?} was accepted as {d}"),
            Err(e) => assert!(check(&e), "case {name:?}: unexpected error {e:?}"),
        }
    }
    println!("hostile digests: {}/{} refused", cases.len(), cases.len());
}

const GOOD_POOL: &str = r#"
id = "pool-a"
engine = "llamacpp"
[provisioning.source]
repo = "https://github.com/ggml-org/llama.cpp"
ref = "b6000"
[provisioning.model]
ref = "/models/tiny.gguf"
"#;

fn pool_with(line_from: &str, line_to: &str) -> String {
    assert!(
        GOOD_POOL.contains(line_from),
        "{line_from:?} not in template"
    );
    GOOD_POOL.replace(line_from, line_to)
}

#[test]
fn hostile_pool_configs_are_refused_naming_the_key() {
    PoolConfig::from_toml_str(GOOD_POOL).expect("the template itself is valid");
    let invalid = |key: &'static str| move |e: &ConfigError| matches!(e, ConfigError::Invalid { key: k, .. } if k == key);
    let parse = |e: &ConfigError| matches!(e, ConfigError::Parse { .. });
    type Check = Box<dyn Fn(&ConfigError) -> bool>;
    let cases: Vec<(&str, String, Check)> = vec![
        (
            "id of wrong type",
            pool_with("id = \"pool-a\"", "id = 5"),
            Box::new(parse),
        ),
        (
            "missing id",
            pool_with("id = \"pool-a\"", ""),
            Box::new(parse),
        ),
        (
            "missing engine",
            pool_with("engine = \"llamacpp\"", ""),
            Box::new(parse),
        ),
        (
            "unknown engine",
            pool_with("engine = \"llamacpp\"", "engine = \"ollama\""),
            Box::new(parse),
        ),
        (
            "unknown key",
            format!("surprise = true\n{GOOD_POOL}"),
            Box::new(parse),
        ),
        (
            "ports of wrong type",
            pool_with(
                "[provisioning.source]",
                "[provisioning]\nports = [\"x\"]\n[provisioning.source]",
            ),
            Box::new(parse),
        ),
        (
            "traversal pool id",
            pool_with("id = \"pool-a\"", "id = \"../../etc\""),
            Box::new(invalid("id")),
        ),
        (
            "ref starting with a dash",
            pool_with("ref = \"b6000\"", "ref = \"-x\""),
            Box::new(invalid("provisioning.source.ref")),
        ),
        (
            "upload-pack ref",
            pool_with(
                "ref = \"b6000\"",
                "ref = \"--upload-pack=touch /tmp/pwned\"",
            ),
            Box::new(invalid("provisioning.source.ref")),
        ),
        (
            "dotted ref",
            pool_with("ref = \"b6000\"", "ref = \"main..evil\""),
            Box::new(invalid("provisioning.source.ref")),
        ),
        (
            "ref with newline",
            pool_with("ref = \"b6000\"", "ref = \"v0\\n--evil\""),
            Box::new(invalid("provisioning.source.ref")),
        ),
        (
            "ext transport",
            pool_with(
                "repo = \"https://github.com/ggml-org/llama.cpp\"",
                "repo = \"ext::sh -c touch% /tmp/pwned\"",
            ),
            Box::new(invalid("provisioning.source.repo")),
        ),
        (
            "repo starting with a dash",
            pool_with(
                "repo = \"https://github.com/ggml-org/llama.cpp\"",
                "repo = \"-oProxyCommand=touch /tmp/pwned\"",
            ),
            Box::new(invalid("provisioning.source.repo")),
        ),
        (
            "ftp repo",
            pool_with(
                "repo = \"https://github.com/ggml-org/llama.cpp\"",
                "repo = \"ftp://example.com/llama.cpp\"",
            ),
            Box::new(invalid("provisioning.source.repo")),
        ),
        (
            "server flag with newline",
            pool_with(
                "[provisioning.source]",
                "[provisioning]\nflags = [\"--ctx-size\\n--evil\"]\n[provisioning.source]",
            ),
            Box::new(
                |e: &ConfigError| matches!(e, ConfigError::Invalid { key, .. } if key.starts_with("provisioning.flags")),
            ),
        ),
        (
            "cmake flag that is not a definition",
            pool_with(
                "ref = \"b6000\"",
                "ref = \"b6000\"\n[provisioning.source.build]\ncmake_flags = [\"--trace\"]",
            ),
            Box::new(
                |e: &ConfigError| matches!(e, ConfigError::Invalid { key, .. } if key.starts_with("provisioning.source.build.cmake_flags")),
            ),
        ),
    ];
    for (name, text, check) in &cases {
        match PoolConfig::from_toml_str(text) {
            Ok(pool) => panic!("case {name:?} was accepted: {pool:?}"),
            Err(e) => assert!(check(&e), "case {name:?}: unexpected error {e:?}"),
        }
    }
    println!(
        "hostile pool configs: {}/{} refused",
        cases.len(),
        cases.len()
    );
}

/// Fake git/cmake/make/ninja/compilers that record every call.
fn fake_tools(dir: &Path) -> PathBuf {
    let log = dir.join("calls.log");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in [
        "git", "cmake", "make", "ninja", "cc", "c++", "gcc", "g++", "nvcc",
    ] {
        let script = bin.join(tool);
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"{tool} $*\" >> '{}'\nexit 0\n",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    log
}

#[test]
fn refused_pool_values_never_reach_a_process() {
    let dir = tempfile::tempdir().unwrap();
    let log = fake_tools(dir.path());
    let models = ModelProvisioner::builder(dir.path().join("models"))
        .build()
        .unwrap();
    let provider = LlamaCppSource::new(Arc::new(models)).with_path(dir.path().join("bin"));
    // Values that would reach git are typed: a hostile one cannot even be
    // loaded, so no ensure can run with it.
    let refused_at_load = [
        (
            "ref with leading dash",
            "ref = \"b6000\"",
            "ref = \"--upload-pack=touch /tmp/pwned\"",
            "provisioning.source.ref",
        ),
        (
            "ext:: repo",
            "repo = \"https://github.com/ggml-org/llama.cpp\"",
            "repo = \"ext::sh -c id\"",
            "provisioning.source.repo",
        ),
        (
            "repo with leading dash",
            "repo = \"https://github.com/ggml-org/llama.cpp\"",
            "repo = \"-oProxyCommand=id\"",
            "provisioning.source.repo",
        ),
        (
            "ref with control character",
            "ref = \"b6000\"",
            "ref = \"v0\\u0007\"",
            "provisioning.source.ref",
        ),
        (
            "dotted ref",
            "ref = \"b6000\"",
            "ref = \"a..b\"",
            "provisioning.source.ref",
        ),
    ];
    for (name, from, to, key) in refused_at_load {
        let err = PoolConfig::from_toml_str(&pool_with(from, to))
            .expect_err(&format!("case {name:?} must be refused at load"));
        assert!(
            matches!(&err, ConfigError::Invalid { key: k, .. } if k == key),
            "case {name:?}: {err:?}"
        );
        assert!(GitRef::parse("--upload-pack=x").is_err() && RepoUrl::parse("ext::sh").is_err());
    }
    // What stays a string is checked by ensure before any process starts.
    let mut pool = PoolConfig::from_toml_str(GOOD_POOL).unwrap();
    pool.provisioning.source.as_mut().unwrap().build.cache_dir = Some(dir.path().join("cache"));
    pool.provisioning.flags = vec!["--threads\n--evil".into()];
    let err = provider
        .ensure(&pool)
        .expect_err("a flag with a newline is refused");
    assert!(matches!(err, ProvisionError::Config(_)), "{err:?}");
    let calls = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(calls.is_empty(), "hostile values ran processes:\n{calls}");
    println!(
        "refused pool values: {} at load, 1 at ensure, 0 processes run",
        refused_at_load.len()
    );
}

fn gguf_bytes(kv_count: u64, kvs: &[u8]) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(0u64.to_le_bytes()); // tensors
    b.extend(kv_count.to_le_bytes());
    b.extend(kvs);
    b
}

fn key(name: &str) -> Vec<u8> {
    let mut b = (name.len() as u64).to_le_bytes().to_vec();
    b.extend(name.as_bytes());
    b
}

#[test]
fn hostile_gguf_headers_are_refused_without_allocating() {
    let huge_string = {
        let mut kv = key("general.name");
        kv.extend(8u32.to_le_bytes()); // string
        kv.extend((1u64 << 60).to_le_bytes());
        kv
    };
    let huge_array = {
        let mut kv = key("tokenizer.ggml.tokens");
        kv.extend(9u32.to_le_bytes()); // array
        kv.extend(8u32.to_le_bytes()); // of strings
        kv.extend((1u64 << 60).to_le_bytes());
        kv
    };
    let bad_type = {
        let mut kv = key("general.architecture");
        kv.extend(99u32.to_le_bytes());
        kv
    };
    let bad_utf8 = {
        let mut kv = key("general.name");
        kv.extend(8u32.to_le_bytes());
        kv.extend(2u64.to_le_bytes());
        kv.extend([0xff, 0xfe]);
        kv
    };
    let bad_utf8_key = {
        let mut kv = 2u64.to_le_bytes().to_vec();
        kv.extend([0xc3, 0x28]);
        kv.extend(4u32.to_le_bytes());
        kv.extend(1u32.to_le_bytes());
        kv
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not gguf", b"GGML\x03\0\0\0".to_vec()),
        ("empty", Vec::new()),
        ("version 1", {
            let mut b = gguf_bytes(0, &[]);
            b[4] = 1;
            b
        }),
        ("future version", {
            let mut b = gguf_bytes(0, &[]);
            b[4] = 200;
            b
        }),
        ("2^60 key/value pairs", gguf_bytes(1 << 60, &[])),
        ("2^60 tensors", {
            let mut b = gguf_bytes(0, &[]);
            b[8..16].copy_from_slice(&(1u64 << 60).to_le_bytes());
            b
        }),
        ("2^60-byte string", gguf_bytes(1, &huge_string)),
        ("2^60-element array", gguf_bytes(1, &huge_array)),
        ("unknown value type", gguf_bytes(1, &bad_type)),
        ("invalid UTF-8 value", gguf_bytes(1, &bad_utf8)),
        ("invalid UTF-8 key", gguf_bytes(1, &bad_utf8_key)),
    ];
    for (name, bytes) in &cases {
        let result = gguf::read_header(Cursor::new(bytes));
        assert!(result.is_err(), "case {name:?} was accepted");
    }
    println!(
        "hostile gguf headers: {}/{} refused",
        cases.len(),
        cases.len()
    );
}
