//! The GGUF header reader must turn any bytes into a header or an error,
//! without panicking and without allocating what the bytes merely claim.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = gguf_file::read_header(std::io::Cursor::new(data));
});
