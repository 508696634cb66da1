#!/usr/bin/env bash
# Benchmark: the catalog's render stage on a generated instance of 1,000 tables × 50 columns and
# 100 metrics (bench/catalog.py; profiles from generated data), and a rebuild where nothing
# changed: how long each takes and how many published files the rebuild rewrote (a file is
# "kept" when the new build holds the previous build's inode). Peer, measured in the same run:
# Hugo (Debian package `hugo`) building 1,000 simple Markdown pages with its default-free minimal
# layout, right after each of broker's runs (this shared machine's speed drifts by up to 2×
# within minutes, so only runs side by side compare); the ratio is broker's render seconds per
# 1,000 table pages over Hugo's seconds per 1,000 pages: of the best runs, and the median of the
# runs' own ratios.
#
# Usage: bench/render.sh [TABLES] [COLUMNS] [METRICS]    (default 1000 50 100)
# RUNS: how many first builds (and Hugo builds) to time (default 3; the best is reported).
# Work folder: $BENCH_DIR (default /var/tmp/broker-bench/render).
set -euo pipefail
tables="${1:-1000}"
columns="${2:-50}"
metrics="${3:-100}"
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/broker-target}"
work="${BENCH_DIR:-/var/tmp/broker-bench}/render-$tables-$columns-$metrics"
mkdir -p "$work"

cargo build --release --quiet --bin broker
broker="$work/broker"
cp "$CARGO_TARGET_DIR/release/broker" "$broker"   # a copy: other builds may replace the original

inst="$work/instance"
if [ ! -f "$inst/content/data_description.md" ]; then
    echo "generating $tables tables x $columns columns, $metrics metrics into $inst"
    python3 bench/catalog.py "$inst" --tables "$tables" --columns "$columns" --metrics "$metrics"
fi
# Earlier runs' trees are moved aside, and deleted only at the end: on ext4 without a journal
# (this machine's disk), creating files within a minute or so of deleting thousands makes every
# new inode skip the recently deleted ones (ext4's `recently_deleted()`), which measured as up
# to half of the render's time. A cron build an hour after its last prune does not pay that.
aside="$work/aside.$$"
mkdir -p "$aside"
trap 'rm -rf "$aside"' EXIT
set_aside() { for d in public .public.builds state; do [ -e "$inst/$d" ] && mv "$inst/$d" "$aside/$1.$d"; done; true; }

seconds() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.3f" % d["timings"][sys.argv[2]])' "$@"; }

# Peer: Hugo on 1,000 simple pages, built right after each of broker's runs.
hugo_site=""
if command -v hugo >/dev/null 2>&1; then
    hugo_site="$work/hugo"
    if [ ! -d "$hugo_site/content/posts" ]; then
        mkdir -p "$hugo_site/content/posts" "$hugo_site/layouts/_default"
        printf 'baseURL = "http://example.org/"\ntitle = "bench"\ndisableKinds = ["taxonomy", "term", "RSS", "sitemap"]\n' > "$hugo_site/hugo.toml"
        printf '<!doctype html><title>{{ .Title }}</title>{{ .Content }}\n' > "$hugo_site/layouts/_default/single.html"
        printf '<!doctype html><title>{{ .Title }}</title>{{ range .Pages }}<a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}\n' > "$hugo_site/layouts/_default/list.html"
        for i in $(seq 1 1000); do
            printf -- '---\ntitle: "Page %d"\n---\n\n# Page %d\n\nSome **text** with a [link](/posts/p%d/).\n\n| a | b |\n|---|---|\n| 1 | 2 |\n' "$i" "$i" "$i" > "$hugo_site/content/posts/p$i.md"
        done
    fi
fi
# Seconds of one Hugo build from an empty output (the previous output set aside, as broker's).
hugo_seconds() {
    if [ -e "$hugo_site/public" ]; then mv "$hugo_site/public" "$aside/hugo.$1"; fi
    local t0 t1
    t0=$(date +%s.%N)
    hugo --quiet -s "$hugo_site" >/dev/null
    t1=$(date +%s.%N)
    python3 -c "print('%.3f' % ($t1 - $t0))"
}

# The first build, from an empty output, ${RUNS:-3} times, each followed by Hugo's; the render
# figures are the best run's.
runs="${RUNS:-3}"
best_render=""
pairs=""
for i in $(seq 1 "$runs"); do
    set_aside "run$i"
    echo "first build, run $i of $runs (sync, profile, metrics, render, publish):"
    /usr/bin/time -f "  %e s wall, %M KiB peak RSS" "$broker" build --instance "$inst" --json -q > "$work/first.$i.json"
    for s in sync profile metrics render render_cpu site publish; do printf '  %-10s %8s s\n' "$s" "$(seconds "$work/first.$i.json" $s)"; done
    r=$(seconds "$work/first.$i.json" render)
    if [ -n "$hugo_site" ]; then
        h=$(hugo_seconds "$i")
        echo "  hugo      $(printf '%8s' "$h") s (1,000 simple pages)"
        pairs="$pairs $r:$h"
    fi
    if [ -z "$best_render" ] || python3 -c "import sys; sys.exit(not $r < $best_render)"; then
        best_render=$r
        cp "$work/first.$i.json" "$work/first.json"
    fi
done
first_root=$(readlink -f "$inst/public")
pages=$(find "$first_root/tables" -name '*.html' | wc -l)
files=$(find "$first_root" -type f | wc -l)
echo "  $pages table pages (with the catalog page), $files files in the tree"

sleep 1
echo "rebuild with nothing changed:"
/usr/bin/time -f "%e s wall, %M KiB peak RSS" "$broker" build --instance "$inst" --json -q > "$work/second.json"
for s in sync profile metrics render render_cpu site publish; do printf '  %-10s %8s s\n' "$s" "$(seconds "$work/second.json" $s)"; done
second_root=$(readlink -f "$inst/public")
rewritten=$(python3 - "$first_root" "$second_root" <<'EOF'
import os, sys
a, b = sys.argv[1], sys.argv[2]
changed = []
for root, _, names in os.walk(b):
    for n in names:
        p = os.path.join(root, n)
        rel = os.path.relpath(p, b)
        q = os.path.join(a, rel)
        if not os.path.exists(q) or os.stat(q).st_ino != os.stat(p).st_ino:
            changed.append(rel)
print(len(changed), " ".join(sorted(changed)[:10]))
EOF
)
echo "  files rewritten: $rewritten"

render=$(seconds "$work/first.json" render)
render_cpu=$(seconds "$work/first.json" render_cpu)
rerender=$(seconds "$work/second.json" render)
per1000=$(python3 -c "print('%.3f' % ($render * 1000 / $tables))")
echo "broker render: $render s ($render_cpu CPU s; best of $runs) for $tables table pages + $metrics metric pages = $per1000 s per 1,000 table pages (no-change rebuild: $rerender s)"

if [ -n "$hugo_site" ]; then
    python3 - "$tables" $pairs <<'EOF'
import statistics, sys
tables = int(sys.argv[1])
pairs = [tuple(float(x) for x in p.split(":")) for p in sys.argv[2:]]
per1000 = [(r * 1000 / tables, h) for r, h in pairs]
best_b, best_h = min(b for b, _ in per1000), min(h for _, h in per1000)
print("hugo: %.3f s per 1,000 simple pages (best of %d)" % (best_h, len(pairs)))
print("ratio broker/hugo (per 1,000 pages): %.2f of the best runs; %.2f median of the runs' own (%s)"
      % (best_b / best_h, statistics.median(b / h for b, h in per1000),
         " ".join("%.2f" % (b / h) for b, h in per1000)))
EOF
    echo "hugo version: $(hugo version | cut -d' ' -f2)"
else
    echo "hugo not installed (apt-get install hugo): no peer ratio"
fi
