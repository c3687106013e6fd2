#!/usr/bin/env bash
# Throughput cost of flowsight on real traffic, without and with it, in one run.
#
#   sudo benches/overhead.sh [ROUNDS]      (default 5; WORKLOADS="tcp-lo tcp-veth" SECS=5 to choose)
#
# iperf3 swings by ~20% from run to run here, so runs alternate A B A B and medians are
# compared. Three workloads: bulk TCP over loopback, bulk TCP over a veth pair between two
# namespaces, and 64-byte UDP over loopback (where a per-packet cost shows). With flowsight
# attached, the kernel's BPF run-time statistics give the programs' own cost per packet
# (bpf_stats_enabled adds ~70 ns of its own per call: see benches/README.md).
set -euo pipefail
rounds=${1:-5}
secs=${SECS:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release -q -p flowsight
fs=$root/target/release/flowsight
a=fsoa$$; b=fsob$$
fspid=""
cleanup() {
	[ -n "$fspid" ] && kill "$fspid" 2>/dev/null || true
	pkill -f "iperf3 -s -p 5201[01]" 2>/dev/null || true
	ip netns del "$a" 2>/dev/null || true
	ip netns del "$b" 2>/dev/null || true
	sysctl -q kernel.bpf_stats_enabled=0 || true
}
trap cleanup EXIT
ip netns add "$a"; ip netns add "$b"
ip -n "$a" link set lo up; ip -n "$b" link set lo up
ip link add fsoa0 netns "$a" type veth peer name fsob0 netns "$b"
ip -n "$a" addr add 10.77.0.1/24 dev fsoa0; ip -n "$b" addr add 10.77.0.2/24 dev fsob0
ip -n "$a" link set fsoa0 up; ip -n "$b" link set fsob0 up
ip netns exec "$a" iperf3 -s -p 52010 -D
ip netns exec "$b" iperf3 -s -p 52011 -D
sleep 0.5

# workload name -> iperf3 client command (JSON output)
declare -A work=(
	[tcp-lo]="ip netns exec $a iperf3 -c 127.0.0.1 -p 52010 -t $secs -J"
	[tcp-veth]="ip netns exec $a iperf3 -c 10.77.0.2 -p 52011 -t $secs -J"
	[udp64-lo]="ip netns exec $a iperf3 -c 127.0.0.1 -p 52010 -u -b 0 -l 64 -t $secs -J"
)
metric() { # TCP: received bits/s; UDP: datagrams delivered per second
	python3 -c '
import json,sys
e=json.load(sys.stdin)["end"]
r=e["sum_received"]
if "lost_packets" in r: print((r["packets"]-r["lost_packets"])/r["seconds"])
else: print(r["bits_per_second"])'
}
start_fs() {
	"$fs" live --netns "/run/netns/$a" -i lo -i fsoa0 -o /dev/null --stats-interval 0 -v 2>/tmp/fs-overhead.log &
	fspid=$!
	for _ in $(seq 100); do grep -q "capturing on" /tmp/fs-overhead.log && return; sleep 0.1; done
	echo "flowsight did not start" >&2; exit 1
}
stop_fs() { kill -INT "$fspid"; wait "$fspid" || true; fspid=""; }

declare -A off on
workloads=${WORKLOADS:-tcp-lo tcp-veth udp64-lo}
for w in $workloads; do off[$w]=""; on[$w]=""; done
for r in $(seq "$rounds"); do
	for w in $workloads; do
		off[$w]+="$(${work[$w]} | metric) "
		start_fs
		on[$w]+="$(${work[$w]} | metric) "
		stop_fs
	done
done

median() { python3 -c 'import sys,statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
printf '%-10s %16s %16s %8s\n' workload without with change
for w in $workloads; do
	m0=$(median ${off[$w]}); m1=$(median ${on[$w]})
	unit=$([ "$w" = udp64-lo ] && echo "pkt/s" || echo "Gbit/s")
	python3 -c "
m0,m1=$m0,$m1; u='$unit'
f=(lambda x: f'{x/1e9:.2f} Gbit/s') if u=='Gbit/s' else (lambda x: f'{x/1e3:.0f} kpkt/s')
print(f'%-10s %16s %16s %+7.1f%%' % ('$w', f(m0), f(m1), 100*(m1-m0)/m0))"
done

# The programs' own cost per call, from the kernel's run-time statistics over one more run.
sysctl -q kernel.bpf_stats_enabled=1
start_fs
${work[udp64-lo]} > /dev/null
${work[tcp-veth]} > /dev/null
echo "BPF run time per call with bpf_stats_enabled (includes its ~70 ns overhead):"
bpftool prog show -j | python3 -c '
import json,sys
for p in json.load(sys.stdin):
    n = p.get("name", "")
    if n.startswith("fsight_") and p.get("run_cnt"):
        print("  %-24s %7.1f ns over %d calls" % (n, p["run_time_ns"] / p["run_cnt"], p["run_cnt"]))'
stop_fs
