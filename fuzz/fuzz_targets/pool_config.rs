//! Pool config parsing and validation turn any text into a config or an
//! error naming a key, without panicking; a valid config survives a TOML
//! round trip unchanged.
#![no_main]

use engine_provisioner::PoolConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(pool) = PoolConfig::from_toml_str(text) {
        let written = toml::to_string(&pool).expect("a valid config serializes");
        let again = PoolConfig::from_toml_str(&written).expect("a written config parses back");
        assert_eq!(again, pool);
    }
});
