#!/usr/bin/env bash
# Benchmark: `broker build` on the demo shop at a size (default m) against DuckDB converting the
# same CSV files to zstd Parquet (`COPY (FROM read_csv(...)) TO ... (FORMAT parquet, COMPRESSION
# zstd)`), measured in the same run on the same machine. Prints each stage's time and the ratio.
#
# Usage: bench/build.sh [xs|s|m|l]        Work folder: $BENCH_DIR (default /var/tmp/broker-bench)
set -euo pipefail
size="${1:-m}"
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/broker-target}"
work="${BENCH_DIR:-/var/tmp/broker-bench}/$size"
mkdir -p "$work"

cargo build --release --quiet --bin broker --example duckdb_convert
broker="$CARGO_TARGET_DIR/release/broker"
duck="$CARGO_TARGET_DIR/release/examples/duckdb_convert"

if [ ! -f "$work/csv/_manifest.json" ]; then
    "$broker" sample-data --size "$size" --seed 42 --out "$work/csv" >/dev/null
fi
csv_bytes=$(du -sb "$work/csv" | cut -f1)

# An instance over the generated CSV: the repo's content, its config pointed at the folder.
inst="$work/instance"
rm -rf "$inst" && mkdir -p "$inst/config"
cp -r content "$inst/content"
# (without its `sample:` block, so the build reads the files as they are).
sed -e "s#folder: state/sample-data#folder: $work/csv#" -e '/^    sample:/,/^      seed:/d' \
    config/instance.yaml > "$inst/config/instance.yaml"

echo "size $size: $(numfmt --to=iec "$csv_bytes") of CSV in $work/csv"
/usr/bin/time -f "%e %M" -o "$work/broker.time" "$broker" build -q --json --instance "$inst" > "$work/broker.json"
rm -rf "$work/duck" && /usr/bin/time -f "%e %M" -o "$work/duck.time" "$duck" "$work/csv" "$work/duck" > "$work/duck.out"

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
b = json.load(open(f"{work}/broker.json"))
bt, brss = open(f"{work}/broker.time").read().split()
dt, drss = open(f"{work}/duck.time").read().split()
duck_convert = float(open(f"{work}/duck.out").read().split("\n")[-2].split()[2])
t = b["timings"]
print(f"broker build: {float(bt):.2f} s wall, peak RSS {int(brss)/1024:.0f} MiB")
for stage in ["sync", "profile", "metrics", "site", "publish"]:
    print(f"  {stage:<8} {t.get(stage, 0):7.2f} s")
print(f"duckdb CSV->Parquet: {duck_convert:.2f} s ({float(dt):.2f} s wall with start-up), peak RSS {int(drss)/1024:.0f} MiB")
print(f"ratio sync / duckdb convert: {t['sync'] / duck_convert:.2f}  (below 1 = broker faster)")
print(f"ratio whole build / duckdb convert: {float(bt) / duck_convert:.2f}")
PY
