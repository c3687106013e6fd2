#!/usr/bin/env bash
# Many containers on one bridge: attribution, start-up time, memory and CPU.
#
#   sudo benches/containers.sh [CONTAINERS] [CONNS_PER_CONTAINER]     (default 200 x 100)
#
# Builds, without a container engine, what a container host looks like from the kernel: a
# "host" network namespace with a Linux bridge, CONTAINERS network namespaces each joined to
# it by a veth pair, and for each a cgroup2 directory shaped like a runtime's systemd-driver
# path, the runtimes taking turns: docker (`docker-<64 hex>.scope`), containerd
# (`cri-containerd-<id>.scope`), CRI-O (`crio-<id>.scope`) and podman (`libpod-<id>.scope`).
# In every container a client process (placed in its
# container's cgroup) opens CONNS short TCP connections to a server on the bridge address.
# flowsight captures on the bridge of the host namespace (EVERYWHERE=1: on every interface
# there) and is scored on every connection:
# the right container id and runtime and the client pid on the source, the server's pid on the
# destination. Its start-up time (launch to "capturing on"), peak memory (VmHWM) and CPU time
# during the traffic are printed with the connection rate, so CPU per 10,000 flows/s follows.
# Everything is removed on exit (namespaces, veths, bridge, cgroups).
set -euo pipefail
n=${1:-200}
conns=${2:-100}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release -q -p flowsight -p flowsight-loadgen
fs=$root/target/release/flowsight
gen=$root/target/release/fs-loadgen
out=${OUT:-$(mktemp -d /tmp/fs-containers.XXXX)}
tag=fsc$$
host=${tag}h
# The cgroup2 mount: /sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid v1/v2 host.
cg2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
[ -n "$cg2" ] || { echo "no cgroup2 mount" >&2; exit 1; }
cg=$cg2/${tag}.slice
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	for i in $(seq "$n"); do ip netns del "${tag}c$i" 2>/dev/null || true; done
	ip netns del "$host" 2>/dev/null || true
	if [ -d "$cg" ]; then
		find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
	fi
}
trap cleanup EXIT

ip netns add "$host"
ip -n "$host" link set lo up
ip -n "$host" link add br0 type bridge
ip -n "$host" addr add 10.88.0.1/16 dev br0
ip -n "$host" link set br0 up
mkdir -p "$cg"
# Container i: namespace, veth (eth0 inside, v<i> on the bridge), address, cgroup.
ip_of() { echo "10.88.$(($1 / 250 + 1)).$(($1 % 250 + 2))"; }
id_of() { printf '%s' "$tag-$1" | sha256sum | cut -c1-64; }
prefixes=(docker- cri-containerd- crio- libpod-)
runtimes=(docker containerd cri-o podman)
scope_of() { echo "$cg/${prefixes[$(($1 % 4))]}$(id_of "$1").scope"; }
: > "$out/expected.txt"
for i in $(seq "$n"); do
	c=${tag}c$i
	ip netns add "$c"
	ip -n "$c" link set lo up
	ip -n "$host" link add "v$i" type veth peer name eth0 netns "$c"
	ip -n "$host" link set "v$i" master br0 up
	ip -n "$c" addr add "$(ip_of "$i")/16" dev eth0
	ip -n "$c" link set eth0 up
	mkdir -p "$(scope_of "$i")"
	echo "$(ip_of "$i") $(id_of "$i") ${runtimes[$((i % 4))]}" >> "$out/expected.txt"
done

ip netns exec "$host" "$gen" serve 10.88.0.1:0 > "$out/server.txt" &
server_pid=$!
pids+=($server_pid)
for _ in $(seq 50); do grep -q '^ready' "$out/server.txt" && break; sleep 0.1; done
port=$(awk '/^ready/ {print $2}' "$out/server.txt")

start=$(date +%s.%N)
# EVERYWHERE=1: capture on every interface of the host namespace (the bridge and all the
# veths), so each connection is seen twice and must come out as one joined record.
ifaces=(-i br0)
[ "${EVERYWHERE:-0}" = 1 ] && ifaces=()
"$fs" live --netns "/run/netns/$host" "${ifaces[@]}" -o "$out/flowsight.json" --stats-interval 0 -v \
	2> "$out/flowsight.log" &
fs_pid=$!
pids+=($fs_pid)
for _ in $(seq 300); do grep -q "capturing on" "$out/flowsight.log" && break; sleep 0.02; done
ready=$(date +%s.%N)
sleep 1
cpu() { awk '{print $14 + $15}' "/proc/$fs_pid/stat"; }
tck=$(getconf CLK_TCK)
cpu0=$(cpu)

# Every container's client at once, each in its container's cgroup and namespace.
t0=$(date +%s.%N)
clients=()
for i in $(seq "$n"); do
	scope=$(scope_of "$i")
	(
		echo $BASHPID > "$scope/cgroup.procs"
		exec ip netns exec "${tag}c$i" "$gen" client "10.88.0.1:$port" "$conns" "$out/truth-$i.txt"
	) &
	clients+=($!)
done
for p in "${clients[@]}"; do wait "$p"; done
t1=$(date +%s.%N)
cpu1=$(cpu)
sleep 3
peak=$(awk '/VmHWM/ {print $2}' "/proc/$fs_pid/status")
kill -INT "$fs_pid"
wait "$fs_pid" || true

total=$((n * conns))
python3 - "$out" "$port" "$server_pid" "$n" <<'EOF'
import collections, json, sys
out, port, server_pid, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
expected = {ip: (cid, rt) for ip, cid, rt in (l.split() for l in open(f"{out}/expected.txt"))}
# (client ip, client port) -> client pid
ip_of = lambda i: f"10.88.{i // 250 + 1}.{i % 250 + 2}"
want = {}
for i in range(1, n + 1):
    for line in open(f"{out}/truth-{i}.txt"):
        pid, lport = line.split()
        want[(ip_of(i), int(lport))] = int(pid)
ok = collections.Counter()
seen = 0
places = collections.Counter()
dropped = None
for line in open(f"{out}/flowsight.json"):
    r = json.loads(line)
    if r["type"] == "stats":
        dropped = r["flowsight"]["events_dropped"]
    if r["type"] != "flow" or r["destination"]["port"] != port:
        continue
    key = (r["source"]["ip"], r["source"]["port"])
    if key not in want:
        continue
    seen += 1
    places[len(r.get("observations", [])) or 1] += 1
    src, dst = r["source"], r["destination"]
    c = src.get("container", {})
    cid, runtime = expected[src["ip"]]
    ok["container.id"] += c.get("id") == cid
    ok["container.runtime"] += c.get("runtime") == runtime
    ok["source process.pid"] += src.get("process", {}).get("pid") == want[key]
    ok["destination process.pid"] += dst.get("process", {}).get("pid") == server_pid
total = len(want)
print(f"connections: {total}, flow records found: {seen}; places each was seen: {dict(places)}")
for k in ["container.id", "container.runtime", "source process.pid", "destination process.pid"]:
    print(f"  {k:26} {ok[k]:7} / {total}  ({100 * ok[k] / max(total, 1):.2f}%)")
print(f"  events dropped: {dropped}")
EOF
awk -v s="$start" -v r="$ready" -v t0="$t0" -v t1="$t1" -v c0="$cpu0" -v c1="$cpu1" -v tck="$tck" \
	-v total="$total" -v peak="$peak" -v n="$n" 'BEGIN {
	secs = t1 - t0; rate = total / secs; cpu = (c1 - c0) / tck
	printf "containers: %d; start-up (launch to capturing): %.2f s; peak RSS %.1f MiB\n", n, r - s, peak / 1024
	printf "traffic: %d connections in %.1f s (%.0f flows/s); flowsight CPU %.2f s = %.1f%% of a core, %.1f%% of a core per 10,000 flows/s\n",
		total, secs, rate, cpu, 100 * cpu / secs, 100 * cpu / secs * 10000 / rate
}'
echo "outputs in $out"
