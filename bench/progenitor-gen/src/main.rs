//! `progenitor-gen SPEC.json OUT.rs`: the peer of `cargo xtask generate`.
//!
//! The same steps as `cargo progenitor` (read the JSON document, deserialize
//! it as `openapiv3::OpenAPI`, `Generator::generate_tokens` with the default
//! settings), then formatted with `prettyplease`, the formatter our generator
//! uses, instead of `cargo progenitor`'s rustfmt subprocess, so the two
//! whole-process times compare generation, not formatters.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: progenitor-gen SPEC.json OUT.rs");
        return ExitCode::from(2);
    };
    let text = match std::fs::read(input) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("{input}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let spec: openapiv3::OpenAPI = match serde_json::from_slice(&text) {
        Ok(spec) => spec,
        Err(error) => {
            eprintln!("{input}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut generator =
        progenitor_impl::Generator::new(&progenitor_impl::GenerationSettings::default());
    let tokens = match generator.generate_tokens(&spec) {
        Ok(tokens) => tokens,
        Err(error) => {
            eprintln!("{input}: progenitor: {error}");
            return ExitCode::FAILURE;
        }
    };
    let file = match syn::parse2::<syn::File>(tokens) {
        Ok(file) => file,
        Err(error) => {
            eprintln!("{input}: generated tokens do not parse: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(error) = std::fs::write(output, prettyplease::unparse(&file)) {
        eprintln!("{output}: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
