#!/usr/bin/env bash
# Benchmark of the sync strategies on one big orders table (default 10,000,000 rows), against
# DuckDB converting the same CSV file to zstd Parquet (`COPY (FROM read_csv(...)) TO ...
# (FORMAT parquet, COMPRESSION zstd)`, examples/duckdb_convert.rs) in the same run.
#
# 1. the file converted by a `full_refresh` table (`orders_plain`: the same job as DuckDB's
#    COPY), and the full refresh of `orders` (incremental, hive partitions by month of
#    created_at) and of `orders_single` (incremental, one file: these also index every key),
#    each alone (`--select`), vs DuckDB's COPY;
# 2. an incremental run whose export holds 1% of the table (half updates of recent orders,
#    half new orders; what a source's "changed since" export delivers), merged into each.
# Prints wall time and peak RSS of each run and the ratios; the plain conversion and DuckDB's
# COPY run three times each, alternating, and their medians are compared. The per-table `seconds` of
# `broker build --json` is the sync of that table; the rest of a build is profile and site.
#
# Usage: bench/sync.sh [rows]        Work folder: $BENCH_DIR (default /var/tmp/broker-bench)
set -euo pipefail
rows="${1:-10000000}"
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/broker-target}"
work="${BENCH_DIR:-/var/tmp/broker-bench}/sync-$rows"
mkdir -p "$work/full" "$work/delta"

cargo build --release --quiet --bin broker --example duckdb_convert
broker="$CARGO_TARGET_DIR/release/broker"
duck="$CARGO_TARGET_DIR/release/examples/duckdb_convert"

# Orders over six years (2020-2025), ids in creation order; the delta updates 0.5% of the
# newest orders and adds 0.5% new ones, all after every updated_at of the full export.
if [ ! -f "$work/full/orders.csv" ]; then
    python3 - "$rows" "$work" <<'PY'
import sys, random, datetime
rows, work = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(42)
start = datetime.date(2020, 1, 1)
days = 6 * 365
statuses = ["new", "paid", "shipped", "delivered", "cancelled"]
def line(i, day, upd, status, amount):
    d = start + datetime.timedelta(days=day)
    return f"{i},{rnd.randrange(1, 200000)},{status},{amount:.2f},{d.isoformat()},{upd}\n"
with open(f"{work}/full/orders.csv", "w") as f:
    f.write("order_id,customer_id,status,amount,created_at,updated_at\n")
    buf = []
    for i in range(1, rows + 1):
        day = i * days // (rows + 1)
        d = start + datetime.timedelta(days=day)
        buf.append(line(i, day, f"{d.isoformat()}T12:00:00Z", rnd.choice(statuses), rnd.random() * 500))
        if len(buf) == 100000:
            f.writelines(buf); buf = []
    f.writelines(buf)
n = rows // 200
with open(f"{work}/delta/orders.csv", "w") as f:
    f.write("order_id,customer_id,status,amount,created_at,updated_at\n")
    for k in range(n):
        i = rows - k * 3  # recent orders, updated
        day = i * days // (rows + 1)
        f.write(line(i, day, "2026-01-02T08:00:00Z", "refunded", rnd.random() * 500))
    for k in range(n):
        i = rows + 1 + k  # new orders in the last days
        f.write(line(i, days - 1, "2026-01-02T09:00:00Z", "new", rnd.random() * 500))
PY
fi
csv_bytes=$(du -sb "$work/full/orders.csv" | cut -f1)

inst="$work/instance"
rm -rf "$inst" "$work/src" && mkdir -p "$inst/config" "$inst/content" "$work/src"
cat > "$inst/config/instance.yaml" <<EOF
instance:
  name: Sync benchmark
data_source:
  type: csv
  csv:
    folder: $work/src
output: $work/public
state: $work/state
EOF
cat > "$inst/content/data_description.md" <<'EOF'
```yaml
tables:
  - {id: b.orders, name: orders, description: Orders by month, primary_key: order_id,
     sync_strategy: incremental, incremental_column: updated_at, incremental_window_days: 0,
     partition_by: created_at, partition_granularity: month, file: orders.csv, folder: bench}
  - {id: b.orders_plain, name: orders_plain, description: Orders converted whole,
     primary_key: order_id, sync_strategy: full_refresh, file: orders.csv, folder: bench}
  - {id: b.orders_single, name: orders_single, description: Orders in one file,
     primary_key: order_id, sync_strategy: incremental, incremental_column: updated_at,
     incremental_window_days: 0, file: orders.csv, folder: bench}
```
EOF
rm -rf "$work/public" "$work/.public.builds" "$work/state"

run() { # name, flags...
    local name="$1"; shift
    sync # earlier runs' dirty pages are written now, not during this run's fsyncs
    /usr/bin/time -f "%e %M" -o "$work/$name.time" "$broker" build -q --json --instance "$inst" "$@" > "$work/$name.json" || true
}
ln -sf "$work/full/orders.csv" "$work/src/orders.csv"
# The plain conversion and DuckDB's COPY alternate three times each; the medians are compared
# (one run of either can be 15% off on a shared machine).
for k in 1 2 3; do
    run "plain$k" --select orders_plain
    rm -rf "$work/duck" && sync && /usr/bin/time -f "%e %M" -o "$work/duck$k.time" "$duck" "$work/full" "$work/duck" > "$work/duck$k.out"
done
run full_part --full-refresh --select orders
run full_single --full-refresh --select orders_single
ln -sf "$work/delta/orders.csv" "$work/src/orders.csv"
run inc_part --select orders
run inc_single --select orders_single

python3 - "$work" "$csv_bytes" <<'PY'
import json, sys
work, csv_bytes = sys.argv[1], int(sys.argv[2])
def load(name, table):
    j = json.load(open(f"{work}/{name}.json"))
    t = [x for x in j["tables"] if x["name"] == table][0]
    wall, rss = open(f"{work}/{name}.time").read().split()
    assert t["status"] == "ok", (name, t)
    return t, float(wall), int(rss) / 1024
def median(xs):
    return sorted(xs)[len(xs) // 2]
ducks = [float(open(f"{work}/duck{k}.out").read().split("\n")[-2].split()[2]) for k in (1, 2, 3)]
drss = max(int(open(f"{work}/duck{k}.time").read().split()[1]) for k in (1, 2, 3)) / 1024
duck = median(ducks)
print(f"orders.csv: {csv_bytes / 2**20:.0f} MiB")
print(f"duckdb COPY to Parquet: median {duck:.2f} s of {', '.join(f'{d:.2f}' for d in ducks)}; peak RSS {drss:.0f} MiB")
plains = [load(f"plain{k}", "orders_plain") for k in (1, 2, 3)]
secs = [p[0]["seconds"] for p in plains]
p, prss = plains[0][0], max(x[2] for x in plains)
print(f"orders_plain (full_refresh): sync median {median(secs):.2f} s of {', '.join(f'{x:.2f}' for x in secs)}, {p['rows']} rows, {p['bytes'] / 2**20:.1f} MiB of Parquet; peak RSS {prss:.0f} MiB")
print(f"    ratio sync / duckdb (medians): {median(secs) / duck:.2f}   peak RSS ratio: {prss / drss:.2f}")
for label, full, inc, table in [("partitioned by month", "full_part", "inc_part", "orders"),
                                ("single file", "full_single", "inc_single", "orders_single")]:
    f, fwall, frss = load(full, table)
    i, iwall, irss = load(inc, table)
    print(f"{table} ({label}):")
    print(f"  full refresh: sync {f['seconds']:.2f} s, {f['rows']} rows; build {fwall:.2f} s wall, peak RSS {frss:.0f} MiB")
    print(f"    ratio sync / duckdb: {f['seconds'] / duck:.2f}   peak RSS ratio: {frss / drss:.2f}")
    print(f"  incremental, {i['rows_read']} rows read: sync {i['seconds']:.2f} s, {i['rows']} rows; build {iwall:.2f} s wall, peak RSS {irss:.0f} MiB")
    print(f"    ratio incremental / full refresh sync: {i['seconds'] / f['seconds']:.3f}  (target < 0.1)")
PY
