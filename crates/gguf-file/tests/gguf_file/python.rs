//! GGUF interop with the reference implementation, the `gguf` Python
//! package (llama.cpp's gguf-py): files it writes must parse here, and the
//! tiny model written here must parse there.
//!
//! Without python3 + gguf the tests print why and pass, except under
//! `CI=true`, where a missing reference is a failure.

use std::path::Path;
use std::process::Command;

use gguf_file::{
    GgufArray, GgufHeader, GgufValue, TINY_LLAMA_SEED, read_header, read_summary, write_tiny_llama,
};
use serde_json::Value;

/// True when `python3 -c "import gguf"` works; panics under CI=true if not.
pub fn reference_available() -> bool {
    let probe = Command::new("python3")
        .args(["-c", "import gguf, numpy"])
        .output();
    let ok = matches!(&probe, Ok(out) if out.status.success());
    if !ok {
        let why = match probe {
            Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_string(),
            Err(e) => format!("python3 not runnable: {e}"),
        };
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but the reference gguf Python package is missing: {why}");
        }
        eprintln!(
            "skipping: the reference gguf Python package is missing ({why}); pip install gguf numpy"
        );
    }
    ok
}

/// Run a Python script with `args`, returning its stdout parsed as JSON.
pub fn python_json(script: &str, args: &[&Path]) -> Value {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python printed JSON")
}

pub const WRITE_REFERENCE: &str = r#"
import sys, json
import numpy as np
import gguf
path, custom = sys.argv[1], sys.argv[2] == "custom"
w = gguf.GGUFWriter(path, "llama")
w.add_name("reference ü")
w.add_context_length(4096)
w.add_block_count(3)
w.add_embedding_length(32)
w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
if custom:
    w.add_custom_alignment(64)
w.add_uint8("t.u8", 200)
w.add_int8("t.i8", -100)
w.add_uint16("t.u16", 60000)
w.add_int16("t.i16", -30000)
w.add_uint32("t.u32", 4000000000)
w.add_int32("t.i32", -2000000000)
w.add_float32("t.f32", 0.5)
w.add_uint64("t.u64", 2**63)
w.add_int64("t.i64", -2**62)
w.add_float64("t.f64", 1.25)
w.add_bool("t.bool", True)
w.add_string("t.str", "héllo ▁ world")
w.add_array("t.arr.str", ["a", "▁b", "<0x0A>"])
w.add_array("t.arr.i32", [1, -2, 3])
w.add_array("t.arr.f32", [0.5, 1.5])
w.add_array("t.arr.nested", [[1, 2], [3]])
w.add_tensor("token_embd.weight", np.ones((5, 32), dtype=np.float32))
w.add_tensor("half", np.zeros((2, 8), dtype=np.float16))
q8 = np.zeros((4, 34), dtype=np.uint8)
w.add_tensor("q8", q8, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
r = gguf.GGUFReader(path)
print(json.dumps({
    "tensors": [[t.name, [int(d) for d in t.shape], int(t.tensor_type), int(t.data_offset)] for t in r.tensors],
}))
"#;

fn reference_file_parses(custom_alignment: bool) {
    if !reference_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("reference.gguf");
    let mode = Path::new(if custom_alignment {
        "custom"
    } else {
        "default"
    });
    let expected = python_json(WRITE_REFERENCE, &[&path, mode]);

    let summary = read_summary(&path).expect("reference file parses");
    assert_eq!(summary.architecture.as_deref(), Some("llama"));
    assert_eq!(summary.name.as_deref(), Some("reference ü"));
    assert_eq!(summary.context_length, Some(4096));
    assert_eq!(summary.block_count, Some(3));
    assert_eq!(summary.embedding_length, Some(32));
    assert_eq!(summary.file_type, Some(7));
    assert_eq!(summary.quantization.as_deref(), Some("Q8_0"));
    assert_eq!(summary.tensor_count, 3);
    assert_eq!(summary.version, 3);
    let size = std::fs::metadata(&path).expect("metadata").len();
    assert_eq!(summary.file_size, size);

    let file = std::fs::File::open(&path).expect("open");
    let h = read_header(file).expect("header");
    assert_eq!(h.alignment, if custom_alignment { 64 } else { 32 });
    assert_eq!(h.get("t.u8"), Some(&GgufValue::U8(200)));
    assert_eq!(h.get("t.i8"), Some(&GgufValue::I8(-100)));
    assert_eq!(h.get("t.u16"), Some(&GgufValue::U16(60000)));
    assert_eq!(h.get("t.i16"), Some(&GgufValue::I16(-30000)));
    assert_eq!(h.get("t.u32"), Some(&GgufValue::U32(4_000_000_000)));
    assert_eq!(h.get("t.i32"), Some(&GgufValue::I32(-2_000_000_000)));
    assert_eq!(h.get("t.f32"), Some(&GgufValue::F32(0.5)));
    assert_eq!(h.get("t.u64"), Some(&GgufValue::U64(1 << 63)));
    assert_eq!(h.get("t.i64"), Some(&GgufValue::I64(-(1 << 62))));
    assert_eq!(h.get("t.f64"), Some(&GgufValue::F64(1.25)));
    assert_eq!(h.get("t.bool"), Some(&GgufValue::Bool(true)));
    assert_eq!(h.get_str("t.str"), Some("héllo ▁ world"));
    assert_eq!(
        h.get("t.arr.str"),
        Some(&GgufValue::Array(GgufArray::String(vec![
            "a".into(),
            "▁b".into(),
            "<0x0A>".into()
        ])))
    );
    assert_eq!(
        h.get("t.arr.i32"),
        Some(&GgufValue::Array(GgufArray::I32(vec![1, -2, 3])))
    );
    assert_eq!(
        h.get("t.arr.f32"),
        Some(&GgufValue::Array(GgufArray::F32(vec![0.5, 1.5])))
    );
    assert_eq!(
        h.get("t.arr.nested"),
        Some(&GgufValue::Array(GgufArray::Array(vec![
            GgufArray::I32(vec![1, 2]),
            GgufArray::I32(vec![3])
        ])))
    );

    assert_tensors_match(&h, &expected);
}

/// Our tensor infos agree with what gguf-py read back from its own file.
fn assert_tensors_match(h: &GgufHeader, expected: &Value) {
    let tensors = expected["tensors"].as_array().expect("tensors");
    assert_eq!(tensors.len(), h.tensors.len());
    for (ours, theirs) in h.tensors.iter().zip(tensors) {
        assert_eq!(ours.name, theirs[0].as_str().expect("name"));
        let dims: Vec<u64> = theirs[1]
            .as_array()
            .expect("shape")
            .iter()
            .map(|d| d.as_u64().expect("dim"))
            .collect();
        assert_eq!(ours.dims, dims, "{}", ours.name);
        assert_eq!(u64::from(ours.ggml_type), theirs[2].as_u64().expect("type"));
        // gguf-py's data_offset is absolute in the file.
        assert_eq!(
            h.data_offset + ours.offset,
            theirs[3].as_u64().expect("offset"),
            "{}",
            ours.name
        );
    }
}

#[test]
fn file_written_by_python_gguf_parses_with_every_value_type() {
    reference_file_parses(false);
}

#[test]
fn file_written_by_python_gguf_with_custom_alignment_parses() {
    reference_file_parses(true);
}

#[test]
fn truncated_python_file_is_refused() {
    if !reference_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("reference.gguf");
    python_json(WRITE_REFERENCE, &[&path, Path::new("default")]);
    let bytes = std::fs::read(&path).expect("read");
    let cut = dir.path().join("cut.gguf");
    std::fs::write(&cut, &bytes[..bytes.len() - 40]).expect("write");
    let err = read_summary(&cut).expect_err("cut file");
    assert_eq!(err.kind(), "gguf-truncated", "{err}");
    assert!(err.to_string().contains("cut.gguf"), "{err}");
}

const READ_TINY: &str = r#"
import sys, json
import numpy as np
import gguf
r = gguf.GGUFReader(sys.argv[1])
f = r.fields
tokens = f["tokenizer.ggml.tokens"].contents()
print(json.dumps({
    "arch": f["general.architecture"].contents(),
    "ctx": int(f["llama.context_length"].contents()),
    "rope_dim": int(f["llama.rope.dimension_count"].contents()),
    "eps": float(f["llama.attention.layer_norm_rms_epsilon"].contents()),
    "model": f["tokenizer.ggml.model"].contents(),
    "n_tokens": len(tokens),
    "nl": tokens[3 + 10],
    "types": sorted(set(int(t) for t in f["tokenizer.ggml.token_type"].contents())),
    "add_bos": bool(f["tokenizer.ggml.add_bos_token"].contents()),
    "tensors": {t.name: [int(d) for d in t.shape] for t in r.tensors},
    "all_f32": all(t.tensor_type == gguf.GGMLQuantizationType.F32 for t in r.tensors),
    "norm_ones": bool(np.all(r.get_tensor(len(r.tensors) - 2).data == 1.0)),
    "max_abs": float(max(np.abs(t.data).max() for t in r.tensors if "norm" not in t.name)),
}))
"#;

#[test]
fn python_gguf_reads_our_tiny_llama() {
    if !reference_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tiny.gguf");
    write_tiny_llama(&path, TINY_LLAMA_SEED).expect("write");
    let got = python_json(READ_TINY, &[&path]);
    assert_eq!(got["arch"], "llama");
    assert_eq!(got["ctx"], 2048);
    assert_eq!(got["rope_dim"], 16);
    assert!((got["eps"].as_f64().expect("eps") - 1e-5).abs() < 1e-9);
    assert_eq!(got["model"], "llama");
    assert_eq!(got["n_tokens"], 300);
    assert_eq!(got["nl"], "<0x0A>");
    assert_eq!(got["types"], serde_json::json!([1, 2, 3, 6]));
    assert_eq!(got["add_bos"], true);
    assert_eq!(got["all_f32"], true);
    assert_eq!(got["norm_ones"], true, "output_norm is all ones");
    let max_abs = got["max_abs"].as_f64().expect("max_abs");
    assert!(
        max_abs > 0.0 && max_abs < 0.05,
        "small random weights: {max_abs}"
    );
    let tensors = got["tensors"].as_object().expect("tensors");
    assert_eq!(tensors.len(), 21);
    assert_eq!(tensors["token_embd.weight"], serde_json::json!([64, 300]));
    assert_eq!(
        tensors["blk.1.ffn_down.weight"],
        serde_json::json!([128, 64])
    );
    assert_eq!(tensors["blk.0.ffn_up.weight"], serde_json::json!([64, 128]));
    assert_eq!(tensors["output_norm.weight"], serde_json::json!([64]));
}
