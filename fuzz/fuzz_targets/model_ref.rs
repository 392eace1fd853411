//! `ModelRef::parse` must refuse or accept any text without panicking, and
//! an accepted ref's id must parse back to the same ref.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model_provisioner::ModelRef;

fuzz_target!(|input: &str| {
    if let Ok(parsed) = ModelRef::parse(input) {
        let again = ModelRef::parse(&parsed.id()).expect("an id parses back");
        assert_eq!(again.id(), parsed.id());
    }
});
