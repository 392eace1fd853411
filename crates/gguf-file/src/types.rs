//! GGUF/ggml numeric tables: metadata value types, tensor types and their
//! block sizes, and the human names of `general.file_type`.

/// Metadata value type ids, as in the GGUF specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum GgufValueType {
    /// `u8`
    U8 = 0,
    /// `i8`
    I8 = 1,
    /// `u16`
    U16 = 2,
    /// `i16`
    I16 = 3,
    /// `u32`
    U32 = 4,
    /// `i32`
    I32 = 5,
    /// `f32`
    F32 = 6,
    /// `bool` (one byte, 0 or 1)
    Bool = 7,
    /// UTF-8 string with a `u64` length prefix
    String = 8,
    /// typed array with a `u32` element type and a `u64` count
    Array = 9,
    /// `u64`
    U64 = 10,
    /// `i64`
    I64 = 11,
    /// `f64`
    F64 = 12,
}

impl GgufValueType {
    /// The type for a raw id, `None` when the id is unknown.
    pub fn from_id(id: u32) -> Option<Self> {
        use GgufValueType::*;
        Some(match id {
            0 => U8,
            1 => I8,
            2 => U16,
            3 => I16,
            4 => U32,
            5 => I32,
            6 => F32,
            7 => Bool,
            8 => String,
            9 => Array,
            10 => U64,
            11 => I64,
            12 => F64,
            _ => return None,
        })
    }

    /// The raw id written in the file.
    pub fn id(self) -> u32 {
        self as u32
    }

    /// Fixed encoded size for scalar types; `None` for strings and arrays.
    pub fn fixed_size(self) -> Option<u64> {
        use GgufValueType::*;
        match self {
            U8 | I8 | Bool => Some(1),
            U16 | I16 => Some(2),
            U32 | I32 | F32 => Some(4),
            U64 | I64 | F64 => Some(8),
            String | Array => None,
        }
    }

    /// The fewest bytes one value of this type can take in a file: what
    /// bounds an array's claimed count against the bytes that remain.
    pub fn min_encoded_size(self) -> u64 {
        match self {
            GgufValueType::String => 8,
            GgufValueType::Array => 12,
            other => other.fixed_size().unwrap_or(1),
        }
    }
}

/// ggml tensor type ids with (name, elements per block, bytes per block).
const TENSOR_TYPES: &[(u32, &str, u64, u64)] = &[
    (0, "F32", 1, 4),
    (1, "F16", 1, 2),
    (2, "Q4_0", 32, 18),
    (3, "Q4_1", 32, 20),
    (6, "Q5_0", 32, 22),
    (7, "Q5_1", 32, 24),
    (8, "Q8_0", 32, 34),
    (9, "Q8_1", 32, 40),
    (10, "Q2_K", 256, 84),
    (11, "Q3_K", 256, 110),
    (12, "Q4_K", 256, 144),
    (13, "Q5_K", 256, 176),
    (14, "Q6_K", 256, 210),
    (15, "Q8_K", 256, 292),
    (16, "IQ2_XXS", 256, 66),
    (17, "IQ2_XS", 256, 74),
    (18, "IQ3_XXS", 256, 98),
    (19, "IQ1_S", 256, 50),
    (20, "IQ4_NL", 32, 18),
    (21, "IQ3_S", 256, 110),
    (22, "IQ2_S", 256, 82),
    (23, "IQ4_XS", 256, 136),
    (24, "I8", 1, 1),
    (25, "I16", 1, 2),
    (26, "I32", 1, 4),
    (27, "I64", 1, 8),
    (28, "F64", 1, 8),
    (29, "IQ1_M", 256, 56),
    (30, "BF16", 1, 2),
    (34, "TQ1_0", 256, 54),
    (35, "TQ2_0", 256, 66),
    (39, "MXFP4", 32, 17),
    (40, "NVFP4", 64, 36),
    (41, "Q1_0", 128, 18),
];

/// ggml tensor type id for 32-bit floats.
pub const GGML_TYPE_F32: u32 = 0;

/// The name of a ggml tensor type id (`"Q4_K"`), `None` when unknown.
pub fn tensor_type_name(id: u32) -> Option<&'static str> {
    TENSOR_TYPES.iter().find(|t| t.0 == id).map(|t| t.1)
}

/// Bytes taken by `elements` values of tensor type `id`; `None` when the
/// type is unknown, the count is not a whole number of blocks, or the
/// size overflows.
pub fn tensor_byte_size(id: u32, elements: u64) -> Option<u64> {
    let &(_, _, block, bytes) = TENSOR_TYPES.iter().find(|t| t.0 == id)?;
    if !elements.is_multiple_of(block) {
        return None;
    }
    (elements / block).checked_mul(bytes)
}

/// Human name of a `general.file_type` (llama.cpp's `llama_ftype`):
/// `0` → `"F32"`, `15` → `"Q4_K_M"`. `None` for unknown values.
pub fn file_type_name(file_type: u32) -> Option<&'static str> {
    Some(match file_type {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        4 => "Q4_1_SOME_F16",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        33 => "Q4_0_4_4",
        34 => "Q4_0_4_8",
        35 => "Q4_0_8_8",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4_MOE",
        39 => "NVFP4",
        40 => "Q1_0",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_type_names_match_llama_cpp_for_common_quants() {
        assert_eq!(file_type_name(0), Some("F32"));
        assert_eq!(file_type_name(1), Some("F16"));
        assert_eq!(file_type_name(15), Some("Q4_K_M"));
        assert_eq!(file_type_name(7), Some("Q8_0"));
        assert_eq!(file_type_name(5), None);
        assert_eq!(file_type_name(1024), None);
    }

    #[test]
    fn tensor_sizes_follow_block_layout() {
        assert_eq!(tensor_byte_size(0, 64), Some(256));
        assert_eq!(tensor_byte_size(12, 512), Some(288));
        assert_eq!(tensor_byte_size(12, 100), None, "not whole blocks");
        assert_eq!(tensor_byte_size(999, 1), None, "unknown type");
        assert_eq!(tensor_byte_size(0, u64::MAX), None, "overflow");
    }

    #[test]
    fn value_type_ids_round_trip() {
        for id in 0..13 {
            let t = GgufValueType::from_id(id).expect("known id");
            assert_eq!(t.id(), id);
        }
        assert_eq!(GgufValueType::from_id(13), None);
    }
}
