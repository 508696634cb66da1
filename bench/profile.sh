#!/usr/bin/env bash
# Benchmark of the profile stage (`broker profile`, src/profile) against DuckDB's `SUMMARIZE`
# over the same Parquet files (examples/duckdb_summarize.rs: the same bundled DuckDB broker
# links, every result row fetched), measured in the same run on the same machine:
#
# 1. demo-l: the nine demo tables at size l (`broker sample-data --size l`, 2.1 million rows,
#    converted to Parquet by a `broker build` of the demo instance, as bench/build.sh does),
#    profiled by one `broker profile` command with each table's primary key from the demo's
#    data_description.md, vs SUMMARIZE of each of the nine, one after another;
# 2. gen-<rows>: a generated table of [rows] rows (default 10,000,000) × 10 columns in one file
#    (examples/duckdb_generate.rs: sequential ids, pseudo-random customer ids, a skewed status,
#    amounts with 2% NULL, small quantities, dates over six years, timestamps with time zone,
#    booleans, up to 3 million distinct e-mails, a mostly NULL note; zstd, row groups of
#    122,880 rows), profiled with `--primary-key id`, vs SUMMARIZE.
#    Cases 1 and 2 run three times each, broker and DuckDB alternating; their medians are
#    compared (one run on a shared 2-core machine can be 15% off).
# 3. gen-1000000: the same table at 1,000,000 rows, one run each of broker, SUMMARIZE and
#    ydata-profiling in minimal mode (`ProfileReport(df, minimal=True).to_json()` after
#    `pandas.read_parquet`; installed from PyPI into a venv in the work folder, skipped when the
#    install fails).
# Every run is one process under `/usr/bin/time -f "%e %M"` (wall seconds with start-up, peak
# RSS), after a `sync`. Prints per case broker's and the peer's seconds, their ratio (below 1 =
# broker faster) and both peak RSS. Targets: ratio ≤ 1.0 against SUMMARIZE, broker's peak RSS
# under 1 GiB. The exit status says whether every run worked, not whether the targets were met.
#
# The generated data is kept between runs (delete $work/demo-l or $work/gen-*.parquet to make it
# anew, e.g. after a change of broker's Parquet writer).
#
# Usage: bench/profile.sh [rows]     Work folder: $BENCH_DIR/profile (default /var/tmp/broker-bench)
set -euo pipefail
rows="${1:-10000000}"
cd "$(dirname "$0")/.."
repo="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/broker-target}"
work="${BENCH_DIR:-/var/tmp/broker-bench}/profile"
mkdir -p "$work/bin" "$work/runs"
work="$(cd "$work" && pwd)"
rm -f "$work"/runs/*

cargo build --release --quiet --bin broker --example duckdb_summarize --example duckdb_generate
# Copies: another checkout sharing the target folder may rebuild these files during the run.
for b in broker examples/duckdb_summarize examples/duckdb_generate; do
    cp "$CARGO_TARGET_DIR/release/$b" "$work/bin/"
done
broker="$work/bin/broker"
summarize="$work/bin/duckdb_summarize"
generate="$work/bin/duckdb_generate"

# 1. The demo shop at size l as published Parquet: $demo/tables/<table>.parquet (or a folder
# for a partitioned table), and `broker profile` arguments: --primary-key per table and paths.
demo="$work/demo-l"
if [ ! -f "$demo/paths" ]; then
    rm -rf "$demo" && mkdir -p "$demo/instance/config" "$demo/tables"
    "$broker" sample-data --size l --seed 42 --out "$demo/csv" >/dev/null
    cp -r content "$demo/instance/content"
    sed -e "s#folder: state/sample-data#folder: $demo/csv#" -e '/^    sample:/,/^      seed:/d' \
        config/instance.yaml > "$demo/instance/config/instance.yaml"
    "$broker" build -q --instance "$demo/instance" || [ $? -eq 1 ] # a failed metric is fine
    python3 - "$demo" <<'PY'
import json, os, shutil, sys
demo = sys.argv[1]
public = os.path.realpath(f"{demo}/instance/public")
schema = json.load(open(f"{public}/meta/schema.json"))["tables"]
assert len(schema) == 9, sorted(schema)
args, paths = [], []
for name, t in sorted(schema.items()):
    files = t["files"]
    if len(files) == 1 and files[0].endswith(f"/{name}.parquet"):
        src, dest = f"{public}/{files[0]}", f"{demo}/tables/{name}.parquet"
        shutil.copyfile(src, dest)
    else:  # partitioned: data/<folder>/<table>/…/*.parquet
        src, dest = f"{public}/data/{t['folder']}/{name}", f"{demo}/tables/{name}"
        shutil.copytree(src, dest)
    if t["primary_key"]:
        args += ["--primary-key", f"{name}={','.join(t['primary_key'])}"]
    args.append(dest)
    paths.append(dest)
open(f"{demo}/args", "w").write("\n".join(args) + "\n")
open(f"{demo}/paths", "w").write("\n".join(paths) + "\n")
PY
    rm -rf "$demo/csv" "$demo/instance"
fi
mapfile -t demo_args < "$demo/args"
mapfile -t demo_paths < "$demo/paths"

# 2. The generated tables.
for n in "$rows" 1000000; do
    if [ ! -f "$work/gen-$n.parquet" ]; then
        "$generate" "$n" "$work/gen-$n.parquet.tmp" >/dev/null
        mv "$work/gen-$n.parquet.tmp" "$work/gen-$n.parquet"
    fi
done

failed=0
timed() { # name, command...: one run, its time in runs/<name>.time, output in runs/<name>.out
    local name="$1"; shift
    sync # earlier runs' dirty pages are written now, not during this run
    if ! /usr/bin/time -f "%e %M" -o "$work/runs/$name.time" "$@" \
        > "$work/runs/$name.out" 2> "$work/runs/$name.err"; then
        echo "FAILED: $name: $(tail -n 5 "$work/runs/$name.err")" >&2
        failed=1
    fi
}

echo "demo-l: ${#demo_paths[@]} tables; gen-$rows: $(du -h "$work/gen-$rows.parquet" | cut -f1) of Parquet"
for k in 1 2 3; do
    timed "demo-broker-$k" "$broker" profile --out "$work/runs/demo-broker-$k.json" "${demo_args[@]}"
    timed "demo-duck-$k" "$summarize" "${demo_paths[@]}"
done
for k in 1 2 3; do
    timed "gen-broker-$k" "$broker" profile --out "$work/runs/gen-broker-$k.json" \
        --primary-key "gen-$rows=id" "$work/gen-$rows.parquet"
    timed "gen-duck-$k" "$summarize" "$work/gen-$rows.parquet"
done
timed "m1-broker-1" "$broker" profile --out "$work/runs/m1-broker-1.json" \
    --primary-key gen-1000000=id "$work/gen-1000000.parquet"
timed "m1-duck-1" "$summarize" "$work/gen-1000000.parquet"

# 3. ydata-profiling, minimal mode.
venv="$work/ydata-venv"
if ! "$venv/bin/python" -c "import ydata_profiling, pyarrow" >/dev/null 2>&1; then
    rm -rf "$venv"
    if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q ydata-profiling pyarrow pandas; } \
        > "$work/pip.log" 2>&1; then
        echo "ydata-profiling could not be installed (see $work/pip.log): skipped" >&2
        rm -rf "$venv"
    fi
fi
if [ -x "$venv/bin/python" ]; then
    cat > "$work/ydata_profile.py" <<'PY'
import sys, time
t = time.perf_counter()
import pandas as pd
from ydata_profiling import ProfileReport
df = pd.read_parquet(sys.argv[1])
report = ProfileReport(df, minimal=True, progress_bar=False)
text = report.to_json()
print(len(df), len(text), f"{time.perf_counter() - t:.3f}")
PY
    timed "m1-ydata-1" "$venv/bin/python" "$work/ydata_profile.py" "$work/gen-1000000.parquet"
fi

python3 - "$work" "$rows" <<'PY' || failed=1
import json, os, sys
work, rows = sys.argv[1], int(sys.argv[2])
runs = f"{work}/runs"
def run(name):
    """(seconds, MiB) of a run, or None when it failed or did not run."""
    try:
        text = open(f"{runs}/{name}.time").read()
        wall, rss = text.split("\n")[-2].split()
    except (OSError, IndexError, ValueError):
        return None
    if "exited with non-zero status" in text:
        return None
    return float(wall), int(rss) / 1024
ok = True
lines, problems = [], []
def check_broker(name, tables, total_rows):
    """broker's profiles.json of run `name` has `tables` tables of `total_rows` rows in all."""
    global ok
    try:
        p = json.load(open(f"{runs}/{name}.json"))
        got = (len(p["tables"]), sum(t["row_count"] for t in p["tables"].values()))
    except (OSError, ValueError, KeyError) as e:
        got = repr(e)
    if got != (tables, total_rows):
        ok = False
        problems.append(f"{name}: expected {tables} tables of {total_rows} rows in all, got {got}")
def duck_rows(name):
    try:
        return int(open(f"{runs}/{name}.out").read().split("\n")[-2].split()[1])
    except (OSError, IndexError, ValueError):
        return -1
def median(xs):
    return sorted(xs)[len(xs) // 2]
def case(label, broker, peer, peer_label):
    global ok
    b = [run(n) for n in broker]
    p = [run(n) for n in peer]
    if None in b or None in p:
        ok = False
        lines.append(f"{label:<22} {peer_label:<18} failed: see {runs}")
        return
    bs, ps = median([x[0] for x in b]), median([x[0] for x in p])
    bm, pm = max(x[1] for x in b), max(x[1] for x in p)
    each = f"  (runs: {', '.join(f'{x[0]:.2f}' for x in b)} vs {', '.join(f'{x[0]:.2f}' for x in p)})" if len(b) > 1 else ""
    lines.append(f"{label:<22} {peer_label:<18} {bs:9.2f} {ps:9.2f} {bs / ps:6.2f} {bm:10.0f} {pm:10.0f}{each}")
demo_rows = duck_rows("demo-duck-1")
for k in (1, 2, 3):
    check_broker(f"demo-broker-{k}", 9, demo_rows)
    check_broker(f"gen-broker-{k}", 1, rows)
check_broker("m1-broker-1", 1, 1000000)
print(f"{'case':<22} {'peer':<18} {'broker s':>9} {'peer s':>9} {'ratio':>6} {'broker MiB':>10} {'peer MiB':>10}")
case(f"demo-l ({demo_rows} rows)", [f"demo-broker-{k}" for k in (1, 2, 3)], [f"demo-duck-{k}" for k in (1, 2, 3)], "duckdb SUMMARIZE")
case(f"gen-{rows} × 10", [f"gen-broker-{k}" for k in (1, 2, 3)], [f"gen-duck-{k}" for k in (1, 2, 3)], "duckdb SUMMARIZE")
case("gen-1000000 × 10", ["m1-broker-1"], ["m1-duck-1"], "duckdb SUMMARIZE")
if os.path.exists(f"{runs}/m1-ydata-1.time"):
    case("gen-1000000 × 10", ["m1-broker-1"], ["m1-ydata-1"], "ydata minimal")
    y = run("m1-ydata-1")
    if y:
        n, size, secs = open(f"{runs}/m1-ydata-1.out").read().split()[:3]
        lines.append(f"    ydata: {n} rows, {int(size) / 1024:.0f} KiB of JSON; {float(secs):.2f} s in Python after start-up")
else:
    lines.append("gen-1000000 × 10       ydata minimal      skipped (not installed)")
print("\n".join(lines))
print("seconds: medians of 3 alternating runs (1 run for gen-1000000); MiB: largest peak RSS")
print("targets: ratio to SUMMARIZE <= 1.0; broker peak RSS < 1024 MiB")
print("\n".join(problems), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
exit "$failed"
