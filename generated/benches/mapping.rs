//! Provider JSON to unified JSON, beside the floor: `serde_json::Value`
//! parse and serialize of the same bytes. One Close opportunity
//! (`tests/fixtures/responses/close/opportunity.json`) through the path a
//! server `GET /unified/crm/opportunities/{id}` takes after the provider
//! answered (parse, lenient decode, `to_unified`, render with
//! `remote_data`, write), with the account's custom field definitions.
//!
//! `cargo bench -p unified-crm --bench mapping` prints one line per
//! measure, `name ours_ns peer_ns ratio`, read by `bench/run.sh`. Median of
//! 61 batches of each (about 10 ms a batch), ours and the peer's in turn.

use std::hint::black_box;
use std::time::{Duration, Instant};
use unified_crm::RequestOptions;
use unified_crm::glue::close::MappingBench;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/responses/close"
);

/// Median nanoseconds per call of `ours` and of `peer`: batches of each,
/// taken in turn, so both see the same machine (it is shared).
fn measure(mut ours: impl FnMut(), mut peer: impl FnMut()) -> (f64, f64) {
    // Warm up and size a batch to about 10 ms.
    fn batch_size(f: &mut impl FnMut()) -> u64 {
        let started = Instant::now();
        let mut calls = 0u64;
        while started.elapsed() < Duration::from_millis(100) {
            f();
            calls += 1;
        }
        let per_call = started.elapsed().as_secs_f64() / calls as f64;
        ((0.01 / per_call) as u64).max(1)
    }
    fn sample(f: &mut impl FnMut(), batch: u64) -> f64 {
        let started = Instant::now();
        for _ in 0..batch {
            f();
        }
        started.elapsed().as_nanos() as f64 / batch as f64
    }
    let (ours_batch, peer_batch) = (batch_size(&mut ours), batch_size(&mut peer));
    let (mut ours_samples, mut peer_samples) = (Vec::new(), Vec::new());
    for _ in 0..61 {
        ours_samples.push(sample(&mut ours, ours_batch));
        peer_samples.push(sample(&mut peer, peer_batch));
    }
    let median = |mut samples: Vec<f64>| {
        samples.sort_by(f64::total_cmp);
        samples[samples.len() / 2]
    };
    (median(ours_samples), median(peer_samples))
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let record = std::fs::read(format!("{FIXTURES}/opportunity.json")).expect("fixture");
    let custom_fields = std::fs::read(format!("{FIXTURES}/custom_fields.json")).expect("fixture");
    let mapping = MappingBench::new(&custom_fields).expect("custom fields");
    let options = RequestOptions::default();
    // The mapped answer is checked once, so the loop measures real work.
    let answer = mapping.map(&record, &options).expect("maps");
    let answer: serde_json::Value = serde_json::from_slice(&answer).expect("JSON");
    assert!(answer.get("remote_data").is_some() && answer.get("id").is_some());

    let (ours, peer) = measure(
        || {
            black_box(mapping.map(black_box(&record), &options).unwrap());
        },
        || {
            let value: serde_json::Value = serde_json::from_slice(black_box(&record)).unwrap();
            black_box(serde_json::to_vec(&value).unwrap());
        },
    );
    println!(
        "mapping-close-get {ours:.0} {peer:.0} {:.2} ({} bytes in, {} bytes out)",
        ours / peer,
        record.len(),
        serde_json::to_vec(&answer).unwrap().len()
    );
}
