# Recipes for working on broker. `just --list` shows them.
# Builds share one target folder outside the clone (DuckDB compiles from source once).
export CARGO_TARGET_DIR := env_var_or_default("CARGO_TARGET_DIR", "/var/tmp/broker-target")

# Build the demo instance into ./public (generates its CSV files on first run).
demo:
    cargo run --release -- build

# Run every test.
test:
    cargo test --release

# Format, lint, test: what a change must pass.
check:
    cargo fmt --check
    cargo clippy --release --all-targets -- -D warnings
    cargo test --release

# Generate the demo shop at a size (xs, s, m, l) into ./state/sample-<size>.
sample size="s":
    cargo run --release -- sample-data --size {{size}} --out state/sample-{{size}}

# Benchmark broker build against DuckDB's CSV → Parquet conversion (size m; SIZE=l for large).
bench size="m":
    bench/build.sh {{size}}

# Benchmark `broker profile` against DuckDB SUMMARIZE (demo size l and a generated table of
# `rows` rows; ydata-profiling on 1,000,000 rows).
bench-profile rows="10000000":
    bench/profile.sh {{rows}}

# Serve the published demo on http://127.0.0.1:8000 with Python's file server.
preview:
    python3 -m http.server --directory public --bind 127.0.0.1 8000
