//! `provision gguf FILE`: print a model file's GGUF metadata (its tensors
//! with `--tensors`, in [`super::tensors`]).

use std::fmt::Write as _;

use model_provisioner::gguf::{self, GgufArray, GgufSummary, GgufValue};
use serde::Serialize;

use super::args::GgufArgs;
use super::error::CliError;
use super::output::Output;
use model_provisioner::units::human_bytes;

/// The JSON result: the file and its summary (plus all metadata on request).
#[derive(Serialize)]
struct GgufReport<'a> {
    path: String,
    #[serde(flatten)]
    summary: &'a GgufSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

pub fn run(args: &GgufArgs, out: &Output) -> Result<(), CliError> {
    if args.tensors {
        return super::tensors::run(&args.file, out);
    }
    let header = gguf::read_header_file(&args.file)?;
    let summary = header.summary();
    let metadata = args.metadata.then(|| {
        header
            .metadata
            .iter()
            .map(|kv| (kv.key.clone(), value_json(&kv.value)))
            .collect()
    });
    let report = GgufReport {
        path: args.file.display().to_string(),
        summary: &summary,
        metadata,
    };
    out.emit(&report, |s| {
        human_summary(s, &report.path, &summary);
        if args.metadata {
            for kv in &header.metadata {
                let _ = writeln!(s, "  {} = {}", kv.key, value_text(&kv.value));
            }
        }
    })
}

/// The aligned `key  value` lines for a summary.
pub fn human_summary(s: &mut String, path: &str, g: &GgufSummary) {
    let opt = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    let quant = match (&g.quantization, g.file_type) {
        (Some(q), Some(t)) => format!("{q} (file type {t})"),
        (None, Some(t)) => format!("unknown (file type {t})"),
        _ => "-".to_string(),
    };
    let rows = [
        ("file", path.to_string()),
        ("gguf version", g.version.to_string()),
        (
            "architecture",
            g.architecture.clone().unwrap_or_else(|| "-".into()),
        ),
        ("name", g.name.clone().unwrap_or_else(|| "-".into())),
        ("context length", opt(g.context_length)),
        ("block count", opt(g.block_count)),
        ("embedding length", opt(g.embedding_length)),
        ("quantization", quant),
        ("tensors", g.tensor_count.to_string()),
        (
            "size",
            format!("{} ({} bytes)", human_bytes(g.file_size), g.file_size),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(s, "{k:<17}{v}");
    }
}

const SHOWN: usize = 8;

fn value_text(v: &GgufValue) -> String {
    match v {
        GgufValue::String(s) => format!("{:?}", shorten(s)),
        GgufValue::Array(a) => array_text(a),
        other => scalar_json(other).to_string(),
    }
}

fn array_text(a: &GgufArray) -> String {
    let items: Vec<String> = array_items(a)
        .into_iter()
        .take(SHOWN)
        .map(|v| v.to_string())
        .collect();
    let more = if a.len() > SHOWN { ", …" } else { "" };
    format!(
        "[{} × {:?}] [{}{more}]",
        a.len(),
        a.element_type(),
        items.join(", ")
    )
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 80 {
        let head: String = s.chars().take(80).collect();
        format!("{head}…")
    } else {
        s.to_string()
    }
}

fn scalar_json(v: &GgufValue) -> serde_json::Value {
    match v {
        GgufValue::Array(a) => serde_json::Value::Array(array_items(a)),
        // gguf's serialization keeps NaN and infinities as "NaN", "inf" and
        // "-inf", where a plain JSON number would turn them into null.
        other => serde_json::to_value(other).unwrap_or(serde_json::Value::Null),
    }
}

/// Metadata for `--json`: scalars as they are, arrays as
/// `{"type", "len", "head"}` so a 256k-token vocabulary stays small.
fn value_json(v: &GgufValue) -> serde_json::Value {
    match v {
        GgufValue::Array(a) => serde_json::json!({
            "type": format!("{:?}", a.element_type()),
            "len": a.len(),
            "head": array_items(a).into_iter().take(SHOWN).collect::<Vec<_>>(),
        }),
        other => scalar_json(other),
    }
}

fn array_items(a: &GgufArray) -> Vec<serde_json::Value> {
    fn all<T: Clone + Into<serde_json::Value>>(v: &[T]) -> Vec<serde_json::Value> {
        v.iter().take(SHOWN).cloned().map(Into::into).collect()
    }
    // Floats go through gguf's serialization, as scalars do: NaN and
    // infinities stay "NaN", "inf" and "-inf" instead of becoming null.
    fn floats<T: Copy>(v: &[T], value: fn(T) -> GgufValue) -> Vec<serde_json::Value> {
        v.iter()
            .take(SHOWN)
            .map(|&x| scalar_json(&value(x)))
            .collect()
    }
    match a {
        GgufArray::U8(v) => all(v),
        GgufArray::I8(v) => all(v),
        GgufArray::U16(v) => all(v),
        GgufArray::I16(v) => all(v),
        GgufArray::U32(v) => all(v),
        GgufArray::I32(v) => all(v),
        GgufArray::F32(v) => floats(v, GgufValue::F32),
        GgufArray::Bool(v) => all(v),
        GgufArray::String(v) => all(v),
        GgufArray::U64(v) => all(v),
        GgufArray::I64(v) => all(v),
        GgufArray::F64(v) => floats(v, GgufValue::F64),
        GgufArray::Array(v) => v
            .iter()
            .take(SHOWN)
            .map(|inner| serde_json::Value::String(array_text(inner)))
            .collect(),
    }
}
