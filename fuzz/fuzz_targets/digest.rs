//! Digest parsing refuses bad text with a reason and round-trips good text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model_provisioner::Digest;

fuzz_target!(|input: &str| {
    if let Ok(digest) = input.parse::<Digest>() {
        assert_eq!(digest.to_string(), input);
    }
});
