//! `provision gguf FILE --tensors`: where each tensor's data lies.

use std::fmt::Write as _;
use std::path::Path;

use model_provisioner::gguf::{self, GgufTensor};
use serde::Serialize;

use super::error::CliError;
use super::output::Output;

/// One tensor in the JSON array. `type` is the ggml name, or
/// `unknown(<id>)` for a type this reader does not know; `type_id` is the
/// raw id either way, and `size` is absent when the type is unknown.
#[derive(Serialize)]
struct TensorRow<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    type_name: String,
    type_id: u32,
    shape: &'a [u64],
    data_offset: u64,
    size: Option<u64>,
}

impl<'a> From<&'a GgufTensor> for TensorRow<'a> {
    fn from(t: &'a GgufTensor) -> Self {
        Self {
            name: &t.name,
            type_name: t.ggml_type.to_string(),
            type_id: t.ggml_type.id(),
            shape: &t.shape,
            data_offset: t.data_offset,
            size: t.size,
        }
    }
}

/// Print every tensor of `file`: a table, or a JSON array.
pub fn run(file: &Path, out: &Output) -> Result<(), CliError> {
    let tensors = gguf::read_tensors(file)?;
    let rows: Vec<TensorRow<'_>> = tensors.iter().map(TensorRow::from).collect();
    out.emit(&rows, |s| table(s, &rows))
}

fn table(s: &mut String, rows: &[TensorRow<'_>]) {
    let shapes: Vec<String> = rows.iter().map(|r| shape_text(r.shape)).collect();
    let name_w = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let type_w = rows
        .iter()
        .map(|r| r.type_name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let shape_w = shapes.iter().map(String::len).max().unwrap_or(5).max(5);
    let _ = writeln!(
        s,
        "{:<name_w$}  {:<type_w$}  {:<shape_w$}  {:>12}  {:>12}",
        "NAME", "TYPE", "SHAPE", "OFFSET", "BYTES"
    );
    for (r, shape) in rows.iter().zip(&shapes) {
        let size = r.size.map_or_else(|| "?".to_string(), |n| n.to_string());
        let _ = writeln!(
            s,
            "{:<name_w$}  {:<type_w$}  {shape:<shape_w$}  {:>12}  {size:>12}",
            r.name, r.type_name, r.data_offset
        );
    }
}

/// `[64, 300]`: dimensions in ggml order, as gguf-py's `shape` gives them.
fn shape_text(shape: &[u64]) -> String {
    let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
    format!("[{}]", dims.join(", "))
}
