//! The tensor list: names, types, shapes, absolute data offsets and sizes
//! agree with the reference reader (gguf-py's `GGUFReader`), and a type
//! this reader does not know is listed as `unknown(<id>)`, not refused.

use std::path::{Path, PathBuf};

use gguf_file::{GgmlType, GgufTensor, read_tensors};
use serde_json::Value;

use crate::python::{WRITE_REFERENCE, python_json, reference_available};
use crate::support::{Raw, parse};

const LIST_TENSORS: &str = r#"
import sys, json
import gguf
r = gguf.GGUFReader(sys.argv[1])
print(json.dumps([
    [t.name, t.tensor_type.name, int(t.tensor_type), [int(d) for d in t.shape],
     int(t.data_offset), int(t.n_bytes)]
    for t in r.tensors
]))
"#;

/// The reference reader's list, in our shape.
fn reference_tensors(path: &Path) -> Vec<GgufTensor> {
    let listed = python_json(LIST_TENSORS, &[path]);
    let rows = listed.as_array().expect("a list of tensors");
    rows.iter()
        .map(|row| {
            let int = |v: &Value| v.as_u64().expect("an integer");
            let tensor = GgufTensor {
                name: row[0].as_str().expect("name").to_owned(),
                ggml_type: GgmlType(u32::try_from(int(&row[2])).expect("type id")),
                shape: row[3].as_array().expect("shape").iter().map(int).collect(),
                data_offset: int(&row[4]),
                size: Some(int(&row[5])),
            };
            assert_eq!(
                tensor.ggml_type.to_string(),
                row[1].as_str().expect("type name")
            );
            tensor
        })
        .collect()
}

fn committed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/tiny-llama.gguf")
}

#[test]
fn tiny_model_tensor_list_matches_the_reference_reader() {
    if !reference_available() {
        return;
    }
    let ours = read_tensors(&committed()).expect("tiny model parses");
    assert_eq!(ours.len(), 21);
    assert_eq!(ours, reference_tensors(&committed()));
}

#[test]
fn quantized_and_half_tensors_match_the_reference_reader() {
    if !reference_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("reference.gguf");
    python_json(WRITE_REFERENCE, &[&path, Path::new("custom")]);
    let ours = read_tensors(&path).expect("reference file parses");
    let types: Vec<String> = ours.iter().map(|t| t.ggml_type.to_string()).collect();
    assert_eq!(types, ["F32", "F16", "Q8_0"]);
    assert_eq!(ours, reference_tensors(&path));
}

#[test]
fn a_tensor_type_unknown_to_this_reader_is_listed_not_refused() {
    let mut raw = Raw::header(3, 2, 0);
    raw.str(b"new").u32(2).u64(8).u64(2).u32(999).u64(0);
    raw.str(b"old").u32(1).u64(8).u32(0).u64(64);
    let data_offset = (raw.0.len() as u64).div_ceil(32) * 32;
    raw.0.resize((data_offset + 64 + 32) as usize, 0);

    let header = parse(&raw.0).expect("an unknown tensor type is not an error");
    let tensors = header.tensor_list();
    assert_eq!(tensors[0].name, "new");
    assert_eq!(tensors[0].ggml_type, GgmlType(999));
    assert_eq!(tensors[0].ggml_type.to_string(), "unknown(999)");
    assert_eq!(tensors[0].shape, vec![8, 2]);
    assert_eq!(tensors[0].data_offset, data_offset);
    assert_eq!(
        tensors[0].size, None,
        "the size of an unknown type is unknown"
    );
    assert_eq!(tensors[1].ggml_type.to_string(), "F32");
    assert_eq!(tensors[1].data_offset, data_offset + 64);
    assert_eq!(tensors[1].size, Some(32));
}
