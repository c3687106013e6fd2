#!/usr/bin/env bash
# Attribution under a connection storm: flowsight vs Debian's libbpf-tools tcplife vs
# bandwhich, side by side in one run on the same traffic.
#
#   sudo benches/attribution_storm.sh [PROCS] [CONNS_PER_PROC]     (default 2000 x 10)
#
# The storm (crates/loadgen) starts PROCS short-lived processes inside a fresh network
# namespace, each opening CONNS connections and exiting; it writes the truth (pid, local
# port) of every connection. Each tool's output is scored by benches/score_attribution.py:
# a connection counts as attributed when the tool names the right pid (tcplife, flowsight) or
# the right process name (bandwhich, which has no pids in its raw output).
set -euo pipefail
procs=${1:-2000}
conns=${2:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release -q -p flowsight -p flowsight-loadgen
fs=$root/target/release/flowsight
gen=$root/target/release/fs-loadgen
out=${OUT:-$(mktemp -d /tmp/fs-storm.XXXX)}
ns=fsstorm$$
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up

ip netns exec "$ns" "$gen" serve 127.0.0.1:0 > "$out/server.txt" &
server_pid=$!
pids+=($server_pid)
sleep 0.3
port=$(awk '/^ready/ {print $2}' "$out/server.txt")

"$fs" live --netns "/run/netns/$ns" -i lo -o "$out/flowsight.json" --stats-interval 0 -v 2> "$out/flowsight.log" &
pids+=($!)
tcplife > "$out/tcplife.txt" 2>&1 &
pids+=($!)
bw=""
if command -v bandwhich >/dev/null || [ -x "$HOME/.cargo/bin/bandwhich" ]; then
	bw=$(command -v bandwhich || echo "$HOME/.cargo/bin/bandwhich")
	ip netns exec "$ns" "$bw" --raw --no-resolve -i lo > "$out/bandwhich.txt" 2>&1 &
	pids+=($!)
fi
# Let every tool attach before the first connection.
for _ in $(seq 50); do grep -q "capturing on" "$out/flowsight.log" && break; sleep 0.1; done
sleep 2

ip netns exec "$ns" "$gen" storm --addr "127.0.0.1:$port" --procs "$procs" --conns "$conns" --truth "$out/truth.txt" 2> "$out/storm.txt"
cat "$out/storm.txt"
sleep 3
# SIGINT: flowsight writes its open flows and final stats; the others flush.
for p in "${pids[@]:1}"; do kill -INT "$p" 2>/dev/null || true; done
sleep 3
python3 benches/score_attribution.py --port "$port" --truth "$out/truth.txt" \
	--flowsight "$out/flowsight.json" --tcplife "$out/tcplife.txt" \
	${bw:+--bandwhich "$out/bandwhich.txt"} --name fs-storm-client --server-pid "$server_pid"
echo "outputs in $out"
