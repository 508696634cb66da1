#!/usr/bin/env bash
# Benchmark: gate serving a 20 KB HTML page and a 50 MB Parquet file to a signed-in client (an
# API token sent as `Authorization: Bearer`), against nginx (Debian package `nginx`) serving the
# same files from the same folder on loopback, in the same run. Load: wrk (Debian `wrk`), 2
# threads. Prints requests/s, p99 latency and transfer rate of each, and the ratios
# gate / nginx. Targets (issue 6): page req/s ratio >= 0.5 with gate's p99 < 10 ms; file
# throughput ratio >= 0.8.
#
# Usage: bench/gate.sh [SECONDS] [CONNECTIONS]     (default 10 s, 16 connections for the page;
#        the file runs with 4 connections)
# Work folder: $BENCH_DIR (default /var/tmp/broker-bench)/gate. gate threads: $GATE_WORKERS
# (default: gate's own, one per core).
set -euo pipefail
secs="${1:-10}"
conns="${2:-16}"
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/broker-target}"
work="${BENCH_DIR:-/var/tmp/broker-bench}/gate"
rm -rf "$work"
mkdir -p "$work/tree/data" "$work/config" "$work/nginx/tmp"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }
[ -x /usr/sbin/nginx ] || { echo "nginx is missing: apt-get install nginx" >&2; exit 2; }

cargo build --release --quiet --bin gate
gate="$work/gate"
cp "$CARGO_TARGET_DIR/release/gate" "$gate"   # a copy: other builds may replace the original

# The files: a 20 KB page and 50 MB of random bytes named .parquet (the server does not look
# inside).
python3 - "$work/tree" <<'EOF'
import os, sys
root = sys.argv[1]
row = "<tr><td>orders</td><td>order_id</td><td>BIGINT</td><td>unique, not null</td></tr>\n"
body = "<!doctype html><html><head><title>orders</title></head><body><table>\n"
while len(body) < 20 * 1024 - 40:
    body += row
body = body[: 20 * 1024 - 23] + "</table></body></html>\n"
open(os.path.join(root, "orders.html"), "w").write(body)
with open(os.path.join(root, "data", "orders.parquet"), "wb") as f:
    f.write(os.urandom(50 * 1024 * 1024))
EOF
ln -sfn "$work/tree" "$work/public"
cat > "$work/config/instance.yaml" <<EOF
instance:
  name: Bench
data_source:
  type: csv
  csv:
    folder: csv
output: public
auth:
  allowed_domains: [example.com]
EOF
export GATE_SESSION_SECRET=bench-secret-0123456789abcdef0123456789
token=$("$gate" tokens issue bench@example.com --name bench --config "$work/config/instance.yaml" 2>/dev/null)

gport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$gate" --config "$work/config/instance.yaml" --bind "127.0.0.1:$gport" ${GATE_WORKERS:+--workers "$GATE_WORKERS"} 2> "$work/gate.log" &
gpid=$!
cat > "$work/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $work/nginx/tmp;
  proxy_temp_path $work/nginx/tmp;
  fastcgi_temp_path $work/nginx/tmp;
  uwsgi_temp_path $work/nginx/tmp;
  scgi_temp_path $work/nginx/tmp;
  types { text/html html; application/vnd.apache.parquet parquet; }
  server {
    listen 127.0.0.1:$nport;
    root $work/tree;
  }
}
EOF
/usr/sbin/nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
npid=$!
trap 'kill $gpid $npid 2>/dev/null || true' EXIT
for p in $gport $nport; do
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
done
# Both must serve the same bytes, gate only with the token.
cmp <(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$gport/orders.html") <(curl -sf "http://127.0.0.1:$nport/orders.html")
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$gport/orders.html")" = 401 ]

# wrk's summary as "req/s p99_ms MB/s".
run() {
    local url="$1" c="$2"; shift 2
    wrk -t2 -c"$c" -d"${secs}s" --latency "$@" "$url" > "$work/wrk.out"
    python3 - "$work/wrk.out" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
def dur(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
m = re.search(r"99%\s+([\d.]+)(us|ms|s)", t)
p99 = dur(m.group(1), m.group(2))
m = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", t)
mb = float(m.group(1)) * {"B": 1e-6, "KB": 1e-3, "MB": 1.0, "GB": 1e3}[m.group(2)] * (1.048576 if m.group(2) != "B" else 1)
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
if errs:
    sys.exit("wrk: %s non-2xx responses:\n%s" % (errs.group(1), t))
print("%.0f %.2f %.1f" % (rps, p99, mb))
EOF
}

auth=(-H "Authorization: Bearer $token")
echo "20 KB page, $conns connections, ${secs} s each:"
read -r g_rps g_p99 g_mb < <(run "http://127.0.0.1:$gport/orders.html" "$conns" "${auth[@]}")
read -r n_rps n_p99 n_mb < <(run "http://127.0.0.1:$nport/orders.html" "$conns")
printf '  %-6s %10s req/s  p99 %7s ms\n' gate "$g_rps" "$g_p99" nginx "$n_rps" "$n_p99"
echo "50 MB file, 4 connections, ${secs} s each:"
read -r gf_rps gf_p99 gf_mb < <(run "http://127.0.0.1:$gport/data/orders.parquet" 4 "${auth[@]}")
read -r nf_rps nf_p99 nf_mb < <(run "http://127.0.0.1:$nport/data/orders.parquet" 4)
printf '  %-6s %10s MB/s  p99 %7s ms\n' gate "$gf_mb" "$gf_p99" nginx "$nf_mb" "$nf_p99"
python3 - "$g_rps" "$n_rps" "$g_p99" "$gf_mb" "$nf_mb" <<'EOF'
import sys
g, n, p99, gf, nf = map(float, sys.argv[1:])
page, file = g / n, gf / nf
print("ratios gate/nginx: page req/s %.2f (target >= 0.5; gate p99 %.2f ms, target < 10), file MB/s %.2f (target >= 0.8)" % (page, p99, file))
print("targets:", "met" if page >= 0.5 and p99 < 10 and file >= 0.8 else "NOT met")
EOF
