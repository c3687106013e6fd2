#!/usr/bin/env bash
# Responsiveness of the web API with many active flows (default 50,000).
#
#   sudo benches/web_api.sh [FLOWS] [SECS]
#
# crates/loadgen keeps FLOWS UDP flows active on a namespace's loopback; `flowsight live --web`
# watches them with a 5 s active timeout so every flow is in the web model. wrk then asks the
# API for a page of flows (sorted by rate, the dashboard's request), a filtered page, and the
# process list, each for SECS seconds with 4 connections; its latency distribution gives p50
# and p99. The target (issue 4) is an API p99 under 50 ms with 50,000 active flows.
set -euo pipefail
flows=${1:-50000}
secs=${2:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
for t in wrk ip; do
	command -v "$t" >/dev/null || { echo "web_api.sh: $t not found (apt-get install wrk iproute2)" >&2; exit 2; }
done
cargo build --release -q -p flowsight -p flowsight-loadgen
fs=$root/target/release/flowsight
gen=$root/target/release/fs-loadgen
ns=fsweb$$
port=19480
fspid=""; genpid=""
log=$(mktemp)
cleanup() {
	[ -n "$genpid" ] && kill "$genpid" 2>/dev/null || true
	[ -n "$fspid" ] && kill "$fspid" 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -f "$log"
}
trap cleanup EXIT
ip netns add "$ns"; ip -n "$ns" link set lo up
"$fs" live --netns "/run/netns/$ns" -i lo -o /dev/null --active-timeout 5 \
	--flow-map-size $((flows * 2 + 65536)) --web "127.0.0.1:$port" -v 2>"$log" &
fspid=$!
for _ in $(seq 100); do grep -q "capturing on" "$log" && break; sleep 0.1; done
ip netns exec "$ns" "$gen" udp-flows --flows "$flows" --hold $((secs * 3 + 30)) > /dev/null &
genpid=$!
# Wait until the model holds the flows (interim records every 5 s).
for _ in $(seq 60); do
	n=$(ip netns exec "$ns" curl -s "http://127.0.0.1:$port/api/v1/flows?limit=1" |
		python3 -c 'import json,sys; print(json.load(sys.stdin).get("matched", 0))' 2>/dev/null || echo 0)
	[ "$n" -ge "$flows" ] && break
	sleep 1
done
echo "flows in the web model: $n (target $flows); flowsight RSS: $(( $(awk '/VmRSS/ {print $2}' /proc/$fspid/status) / 1024 )) MiB"
# The machine may be shared: the load says how much of a p99 is waiting for a core.
echo "load average (1, 5, 15 min): $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo
echo "| request | requests/s | p50 | p99 |"
echo "|---|---:|---:|---:|"
for path in "/api/v1/flows?limit=100" "/api/v1/flows?q=127.0.0.1%3A4&limit=100" "/api/v1/processes" "/api/v1/hosts" "/api/v1/timeseries?by=user"; do
	out=$(ip netns exec "$ns" wrk -t1 -c4 -d"${secs}s" --latency "http://127.0.0.1:$port$path")
	rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
	p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
	echo "| \`$path\` | $rps | $p50 | $p99 |"
done
echo
echo "flowsight CPU (user+sys ticks): $(awk '{print $14 + $15}' /proc/$fspid/stat)"
