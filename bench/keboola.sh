#!/usr/bin/env bash
# Benchmark of the keboola connector: `broker build` syncing one typed table of <rows> rows
# (default 5,000,000; 7 columns: integer, strings, NUMERIC(12,2), boolean, date, timestamp)
# from the fake Storage API on loopback (examples/keboola_bench.rs: export job, manifest,
# SigV4-signed gzip'd slice downloads), against DuckDB (the bundled version broker links)
# reading the same gzip'd slices from disk into zstd Parquet with the same column types, in
# the same run. The fake caches the export (like Keboola's export cache): a warm-up build
# makes it, and the measured builds only download and convert.
#
# Prints rows/s and peak RSS of both, and the ratio broker/DuckDB (broker's sync seconds are
# the table's `seconds` in `broker build --json`; its RSS is the whole build's).
#
# Usage: bench/keboola.sh [rows] [slices]     Work folder: $BENCH_DIR (default /var/tmp/broker-bench)
set -euo pipefail
rows="${1:-5000000}"
slices="${2:-8}"
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/broker-target}"
work="${BENCH_DIR:-/var/tmp/broker-bench}/keboola-$rows"
mkdir -p "$work"

cargo build --release --quiet --bin broker --example keboola_bench
broker="$CARGO_TARGET_DIR/release/broker"
kb="$CARGO_TARGET_DIR/release/examples/keboola_bench"

if [ ! -f "$work/slices/slice_000.csv.gz" ]; then
    "$kb" dump "$rows" "$slices" "$work/slices"
fi

"$kb" serve "$rows" "$slices" < <(sleep 3600) > "$work/url" &
fake=$!
trap 'kill $fake 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
url="$(cat "$work/url")"

inst="$work/instance"
rm -rf "$inst" && mkdir -p "$inst/config" "$inst/content"
cat > "$inst/config/instance.yaml" <<YAML
instance:
  name: Keboola bench
data_source:
  type: keboola
  keboola:
    url: $url
    token: \${KEBOOLA_STORAGE_TOKEN}
    s3_endpoint: $url
    poll_max_ms: 200
YAML
echo "KEBOOLA_STORAGE_TOKEN=bench-token" > "$inst/.env"
cat > "$inst/content/data_description.md" <<'MD'
```yaml
tables:
  - id: in.c-bench.orders
    name: orders
    description: Bench orders
    primary_key: order_id
    sync_strategy: full_refresh
    folder: bench
```
MD

"$broker" build --instance "$inst" --quiet > /dev/null   # warm-up: the fake makes the export
best_b=""; best_d=""
for run in 1 2 3; do
    /usr/bin/time -f "%M" -o "$work/rss_b" "$broker" build --instance "$inst" --json --quiet > "$work/build.json"
    secs_b=$(python3 -c "import json,sys; t=[t for t in json.load(open(sys.argv[1]))['tables'] if t['name']=='orders'][0]; print(t['seconds'])" "$work/build.json")
    rss_b=$(cat "$work/rss_b")
    rm -f "$work/duck.parquet"
    /usr/bin/time -f "%M" -o "$work/rss_d" "$kb" duckdb "$work/slices" "$work/duck.parquet" > "$work/duck.out"
    read -r rows_d secs_d < "$work/duck.out"
    rss_d=$(cat "$work/rss_d")
    echo "run $run: broker ${secs_b}s (peak RSS $((rss_b / 1024)) MB), duckdb ${secs_d}s (peak RSS $((rss_d / 1024)) MB, $rows_d rows)"
    if [ -z "$best_b" ] || python3 -c "import sys; sys.exit(0 if float('$secs_b') < float('$best_b') else 1)"; then best_b=$secs_b; best_rss_b=$rss_b; fi
    if [ -z "$best_d" ] || python3 -c "import sys; sys.exit(0 if float('$secs_d') < float('$best_d') else 1)"; then best_d=$secs_d; best_rss_d=$rss_d; fi
done
python3 - "$rows" "$best_b" "$best_d" "$best_rss_b" "$best_rss_d" <<'PY'
import sys
rows, b, d, rb, rd = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
print(f"rows               {rows:,}")
print(f"broker (keboola)   {rows / b:>12,.0f} rows/s  {b:7.2f} s  peak RSS {rb / 1024:6.0f} MB (whole build)")
print(f"duckdb (slices)    {rows / d:>12,.0f} rows/s  {d:7.2f} s  peak RSS {rd / 1024:6.0f} MB")
print(f"ratio broker/duckdb time {b / d:.2f}x, memory {rb / rd:.2f}x (best of 3)")
PY
