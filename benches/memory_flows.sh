#!/usr/bin/env bash
# flowsight's resident memory with N concurrent flows (default 100,000).
#
#   sudo benches/memory_flows.sh [FLOWS]
#
# crates/loadgen sends one UDP datagram to each of FLOWS loopback destinations every 5 s, so
# all of them stay active; flowsight counts them in the kernel and mirrors them in its flow
# table. Reported: peak RSS (VmHWM) and RSS after the flows are in the table, the kernel flow
# map's size, and for scale the idle RSS before traffic.
set -euo pipefail
flows=${1:-100000}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release -q -p flowsight -p flowsight-loadgen
fs=$root/target/release/flowsight
gen=$root/target/release/fs-loadgen
ns=fsmem$$
fspid=""; genpid=""
cleanup() {
	[ -n "$genpid" ] && kill "$genpid" 2>/dev/null || true
	[ -n "$fspid" ] && kill "$fspid" 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$ns"; ip -n "$ns" link set lo up
out=$(mktemp)
"$fs" live --netns "/run/netns/$ns" -i lo -o "$out" --stats-interval 5 --flow-map-size $((flows * 2 + 65536)) -v 2>/tmp/fs-mem.log &
fspid=$!
for _ in $(seq 100); do grep -q "capturing on" /tmp/fs-mem.log && break; sleep 0.1; done
sleep 1
idle=$(awk '/VmRSS/ {print $2}' /proc/$fspid/status)
ip netns exec "$ns" "$gen" udp-flows --flows "$flows" --hold 40 > /dev/null &
genpid=$!
sleep 25
rss=$(awk '/VmRSS/ {print $2}' /proc/$fspid/status)
hwm=$(awk '/VmHWM/ {print $2}' /proc/$fspid/status)
active=$(grep '"type":"stats"' "$out" | tail -1 | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["flowsight"]["flows"]["active"])')
echo "flows active in flowsight: $active (target $flows)"
echo "RSS idle: $((idle / 1024)) MiB; with the flows: $((rss / 1024)) MiB; peak: $((hwm / 1024)) MiB"
kill -INT "$fspid"; wait "$fspid" || true; fspid=""
rm -f "$out"
