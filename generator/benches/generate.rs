//! Generation time for the workspace's specs and the largest real-world
//! documents in `../shared/openapi-corpus/` (skipped when absent).
//!
//! `cargo bench -p crm-generator --bench generate`

use criterion::{Criterion, criterion_group, criterion_main};
use std::path::{Path, PathBuf};
use std::time::Duration;

const CORPUS: &[&str] = &[
    "stripe-spec3-2022.json",
    "stripe-spec3-2023.yaml",
    "progenitor-api.github.com.json",
    "kubernetes-apisguru.json",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn bench(c: &mut Criterion) {
    let root = workspace();
    let mut group = c.benchmark_group("generate");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("workspace specs (cargo xtask codegen)", |b| {
        b.iter(|| {
            crm_generator::project::plan(&root, crm_generator::project::WORKSPACE_SPECS)
                .map(|plan| plan.files.len())
        })
    });
    for name in CORPUS {
        let path = root.join("../shared/openapi-corpus").join(name);
        if !path.exists() {
            eprintln!("skipping {name}: {} not found", path.display());
            continue;
        }
        group.bench_function(*name, |b| {
            b.iter(|| {
                crm_generator::generate_file(&path, name).map(|generated| generated.code.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
