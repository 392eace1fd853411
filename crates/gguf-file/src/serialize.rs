//! Metadata values as serde data, for JSON and other formats.
//!
//! A value serializes as itself: integers, floats, booleans and strings as
//! such, arrays as sequences (nested arrays nested). JSON has no number for
//! NaN or infinity, and serde_json would write `null`, losing the value; so
//! non-finite floats serialize as the strings `"NaN"`, `"inf"` and `"-inf"`
//! in every format, and a reader can tell them apart from a missing value.

use serde::{Serialize, Serializer};

use crate::value::{GgufArray, GgufValue};

/// ```
/// use gguf_file::GgufValue;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// assert_eq!(serde_json::to_string(&GgufValue::F32(0.5))?, "0.5");
/// assert_eq!(serde_json::to_string(&GgufValue::F64(f64::NAN))?, r#""NaN""#);
/// assert_eq!(serde_json::to_string(&GgufValue::F32(f32::NEG_INFINITY))?, r#""-inf""#);
/// # Ok(()) }
/// ```
impl Serialize for GgufValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            GgufValue::U8(v) => s.serialize_u8(*v),
            GgufValue::I8(v) => s.serialize_i8(*v),
            GgufValue::U16(v) => s.serialize_u16(*v),
            GgufValue::I16(v) => s.serialize_i16(*v),
            GgufValue::U32(v) => s.serialize_u32(*v),
            GgufValue::I32(v) => s.serialize_i32(*v),
            GgufValue::F32(v) => F32(*v).serialize(s),
            GgufValue::Bool(v) => s.serialize_bool(*v),
            GgufValue::String(v) => s.serialize_str(v),
            GgufValue::Array(v) => v.serialize(s),
            GgufValue::U64(v) => s.serialize_u64(*v),
            GgufValue::I64(v) => s.serialize_i64(*v),
            GgufValue::F64(v) => F64(*v).serialize(s),
        }
    }
}

/// Serializes as a sequence of its elements, with non-finite floats as
/// `"NaN"`, `"inf"` and `"-inf"` like [`GgufValue`].
impl Serialize for GgufArray {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            GgufArray::U8(v) => s.collect_seq(v),
            GgufArray::I8(v) => s.collect_seq(v),
            GgufArray::U16(v) => s.collect_seq(v),
            GgufArray::I16(v) => s.collect_seq(v),
            GgufArray::U32(v) => s.collect_seq(v),
            GgufArray::I32(v) => s.collect_seq(v),
            GgufArray::F32(v) => s.collect_seq(v.iter().map(|&x| F32(x))),
            GgufArray::Bool(v) => s.collect_seq(v),
            GgufArray::String(v) => s.collect_seq(v),
            GgufArray::Array(v) => s.collect_seq(v),
            GgufArray::U64(v) => s.collect_seq(v),
            GgufArray::I64(v) => s.collect_seq(v),
            GgufArray::F64(v) => s.collect_seq(v.iter().map(|&x| F64(x))),
        }
    }
}

/// An `f32` that serializes NaN and infinities by name.
struct F32(f32);

impl Serialize for F32 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match non_finite_name(f64::from(self.0)) {
            Some(name) => s.serialize_str(name),
            None => s.serialize_f32(self.0),
        }
    }
}

/// An `f64` that serializes NaN and infinities by name.
struct F64(f64);

impl Serialize for F64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match non_finite_name(self.0) {
            Some(name) => s.serialize_str(name),
            None => s.serialize_f64(self.0),
        }
    }
}

/// `"NaN"`, `"inf"` or `"-inf"` for a non-finite float, `None` otherwise.
fn non_finite_name(x: f64) -> Option<&'static str> {
    if x.is_nan() {
        Some("NaN")
    } else if x == f64::INFINITY {
        Some("inf")
    } else if x == f64::NEG_INFINITY {
        Some("-inf")
    } else {
        None
    }
}
