//! Arbitrary bytes to the spec loader and the whole generator: whatever the
//! input, both return `Ok` or `Err`, never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = match std::str::from_utf8(data) {
        Ok(text) => text,
        Err(_) => {
            // What a caller reading a file lossily would hand over.
            let _ = crm_generator::load::parse_text(&String::from_utf8_lossy(data));
            return;
        }
    };
    let _ = crm_generator::load::parse_text(text);
    if let Err(diagnostics) =
        crm_generator::generate_text(text, Path::new("fuzz.yaml"), "fuzz.yaml")
    {
        assert!(
            diagnostics
                .iter()
                .any(|diagnostic| !diagnostic.message.is_empty()),
            "an error without a message: {diagnostics:?}"
        );
    }
});
