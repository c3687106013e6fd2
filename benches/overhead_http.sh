#!/usr/bin/env bash
# Cost of flowsight's HTTP header logging on an HTTP load (wrk against nginx), in one run.
#
#   sudo benches/overhead_http.sh [ROUNDS]   (default 5; env: SECS=10 CONNS=32 THREADS=2
#                                             WORKLOADS="keepalive close" IPERF=1
#                                             KEEP_RECORDS=DIR to keep the counted records)
#
# wrk runs in one network namespace, nginx (Debian's nginx-light, installed if missing) in
# another (one worker process: with two, results swing twice as much on 2 cores), joined by a
# veth pair. Each round runs wrk three times, in turn: without flowsight,
# with `flowsight live` attached to the client's veth (protocol analysis on, the default), and
# with `flowsight live --no-protocols` (flow records only), so the cost of header logging
# shows apart from the cost of counting flows. The order of the three turns rotates from round
# to round (a run of `close` leaves thousands of TIME_WAIT sockets behind for the next run).
# Medians of requests/s per arm are compared.
#
# Two workloads: `keepalive` is wrk's default (CONNS connections kept open, thousands of
# requests each: the kernel samples only the first --sample-packets packets of each flow and
# direction, so only the first requests of each connection reach the HTTP analyzer) and
# `close` (`Connection: close`: a new TCP connection per request, so every request is a new
# flow whose headers are sampled and logged: the worst case for header logging).
#
# Then one more "with" run per workload writes to a file, to count the http records
# flowsight wrote (proof that header logging ran) next to the requests wrk made. Last,
# unless IPERF=0, benches/overhead.sh (iperf3) runs once: SECS=5, 3 rounds.
set -euo pipefail
rounds=${1:-5}
secs=${SECS:-10}
conns=${CONNS:-32}
threads=${THREADS:-2}
workloads=${WORKLOADS:-keepalive close}
root=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "overhead_http.sh: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, BPF)"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, not '$rounds'"
for t in ip wrk python3 curl cargo bpftool sysctl; do
	command -v "$t" >/dev/null || die "$t not found (wrk, curl: apt-get install wrk curl)"
done
if ! command -v nginx >/dev/null; then
	echo "nginx not found: installing Debian's nginx-light" >&2
	apt-get install -y -q nginx-light >&2 || { apt-get update -q >&2 && apt-get install -y -q nginx-light >&2; } ||
		die "could not install nginx-light"
fi

cd "$root"
cargo build --release -q -p flowsight
fs=$root/target/release/flowsight
# Other work on the machine skews every number: say what ran besides, and what was measured.
machine() {
	echo "$1: load average $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores); busiest other processes:" \
		"$(top -b -n2 -d0.5 -w 200 | awk '/^top -/ {f++} f == 2 && $1 ~ /^[0-9]+$/ && $9 >= 5 {printf "%s %s%%; ", $12, $9}' | head -c 300)"
}
echo "flowsight $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- crates Cargo.lock || echo ' + uncommitted changes under crates/'), kernel $(uname -r)"
machine "before"

a=fsha$$; b=fshb$$
work=$(mktemp -d /tmp/fs-http-bench.XXXXXX)
chmod 755 "$work" # nginx's workers run as www-data
fspid=""; ngpid=""
cleanup() {
	if [ -n "$fspid" ]; then kill -INT "$fspid" 2>/dev/null || true; wait "$fspid" 2>/dev/null || true; fi
	if [ -n "$ngpid" ]; then kill -TERM "$ngpid" 2>/dev/null || true; wait "$ngpid" 2>/dev/null || true; fi
	ip netns del "$a" 2>/dev/null || true
	ip netns del "$b" 2>/dev/null || true
	sysctl -q kernel.bpf_stats_enabled=0 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$a"; ip netns add "$b"
ip -n "$a" link set lo up; ip -n "$b" link set lo up
ip link add fsha0 netns "$a" type veth peer name fshb0 netns "$b"
ip -n "$a" addr add 10.78.0.1/24 dev fsha0; ip -n "$b" addr add 10.78.0.2/24 dev fshb0
ip -n "$a" link set fsha0 up; ip -n "$b" link set fshb0 up

mkdir -p "$work/www" "$work/tmp"
head -c 612 /dev/zero | tr '\0' x > "$work/www/index.html" # the size of nginx's welcome page
cat > "$work/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 100000000;
	client_body_temp_path $work/tmp/body;
	proxy_temp_path $work/tmp/proxy;
	fastcgi_temp_path $work/tmp/fastcgi;
	uwsgi_temp_path $work/tmp/uwsgi;
	scgi_temp_path $work/tmp/scgi;
	server {
		listen 10.78.0.2:8080 backlog=4096;
		location / { root $work/www; }
	}
}
EOF
ip netns exec "$b" nginx -c "$work/nginx.conf" -p "$work" -g 'daemon off;' &
ngpid=$!
for _ in $(seq 50); do
	ip netns exec "$a" curl -sf -o /dev/null http://10.78.0.2:8080/ && break
	sleep 0.1
done
ip netns exec "$a" curl -sf -o /dev/null http://10.78.0.2:8080/ || die "nginx did not answer"

url=http://10.78.0.2:8080/
run_wrk() { # workload -> wrk's output
	local h=()
	# wrk takes a -H header only in the form "Name: value" (with the space); others are ignored.
	case $1 in keepalive) ;; close) h=(-H "Connection: close") ;; *) die "unknown workload $1" ;; esac
	ip netns exec "$a" wrk -t"$threads" -c"$conns" -d"${secs}s" "${h[@]}" "$url"
}
rps() { awk '/^Requests\/sec:/ {print $2}'; }
errors() { awk '/Socket errors|Non-2xx/ {printf "%s; ", $0}'; }

start_fs() { # output file, extra flags...
	local out=$1; shift
	: > "$work/fs.log"
	"$fs" live --netns "/run/netns/$a" -i fsha0 -o "$out" --stats-interval 0 -v "$@" 2>"$work/fs.log" &
	fspid=$!
	for _ in $(seq 100); do
		grep -q "capturing on" "$work/fs.log" && return
		kill -0 "$fspid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$work/fs.log" >&2; die "flowsight did not start"
}
fs_cpu=0
stop_fs() { # sets fs_cpu: flowsight's CPU seconds (user + system) over its run
	if ! fs_cpu=$(awk -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); print ($12 + $13) / hz}' "/proc/$fspid/stat" 2>/dev/null); then
		fs_cpu=0; echo "flowsight live had exited before the end of the run" >&2
	fi
	kill -INT "$fspid"
	local rc=0; wait "$fspid" || rc=$?
	fspid=""
	[ "$rc" = 0 ] || { cat "$work/fs.log" >&2; echo "flowsight live exited with $rc" >&2; }
	return 0
}

arms=(without with no-protocols)
declare -A res
for w in $workloads; do for arm in "${arms[@]}"; do res[$w/$arm]=""; done; done
for r in $(seq "$rounds"); do
	for w in $workloads; do
		for k in 0 1 2; do
			arm=${arms[$(( (r - 1 + k) % 3 ))]}
			case $arm in
			with) start_fs /dev/null ;;
			no-protocols) start_fs /dev/null --no-protocols ;;
			esac
			out=$(run_wrk "$w")
			[ "$arm" = without ] || stop_fs
			v=$(rps <<<"$out"); e=$(errors <<<"$out")
			c=""; [ "$arm" = without ] || c=", flowsight used ${fs_cpu} s CPU"
			echo "round $r/$rounds $w $arm: $v requests/s$c ${e:+($e)}" >&2
			res[$w/$arm]+="$v "
		done
	done
done
machine "after"

echo
echo "wrk -t$threads -c$conns -d${secs}s, nginx on a veth pair between two namespaces, $(nproc) cores," \
	"kernel $(uname -r); medians of $rounds alternating rounds"
echo
echo "| workload | without flowsight | with flowsight (header logging on) | change | with --no-protocols | change |"
echo "|---|---:|---:|---:|---:|---:|"
for w in $workloads; do
	python3 - "$w" "${res[$w/without]}" "${res[$w/with]}" "${res[$w/no-protocols]}" <<'EOF'
import statistics, sys
w, off, on, np = sys.argv[1], *[[float(x) for x in a.split()] for a in sys.argv[2:]]
m0, m1, m2 = (statistics.median(x) for x in (off, on, np))
label = {"keepalive": f"keep-alive (wrk default)", "close": "Connection: close (a connection per request)"}.get(w, w)
print(f"| {label} | {m0:,.0f} req/s | {m1:,.0f} req/s | {100*(m1-m0)/m0:+.1f}% | {m2:,.0f} req/s | {100*(m2-m0)/m0:+.1f}% |")
EOF
done
echo
echo "every run (requests/s):"
for w in $workloads; do for arm in "${arms[@]}"; do echo "  $w $arm: ${res[$w/$arm]}"; done; done

echo
echo "one more run with flowsight writing to a file (header logging ran?), with the kernel's BPF"
echo "run-time statistics on (kernel.bpf_stats_enabled=1 adds ~70 ns to each call; off again after):"
for w in $workloads; do
	start_fs "$work/records-$w.json"
	sysctl -q kernel.bpf_stats_enabled=1
	out=$(run_wrk "$w")
	bpftool prog show -j > "$work/bpf-$w.json" 2>/dev/null || echo '[]' > "$work/bpf-$w.json"
	sysctl -q kernel.bpf_stats_enabled=0
	stop_fs
	reqs=$(awk '/requests in/ {print $1}' <<<"$out")
	python3 - "$w" "$reqs" "$(rps <<<"$out")" "$work/records-$w.json" "$fs_cpu" "$secs" <<'EOF'
import collections, json, sys
w, reqs, rps, path, cpu, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], float(sys.argv[5]), float(sys.argv[6])
types, methods, weirds, flows_8080 = collections.Counter(), collections.Counter(), collections.Counter(), 0
stats = {}
for line in open(path):
    r = json.loads(line)
    types[r["type"]] += 1
    if r["type"] == "http":
        methods[(r.get("http", {}).get("request", {}).get("method"), r.get("http", {}).get("response", {}).get("status_code"))] += 1
    if r["type"] == "weird":
        weirds[r.get("weird", {}).get("name")] += 1
    if r["type"] == "flow" and r.get("destination", {}).get("port") == 8080:
        flows_8080 += 1
    if r["type"] == "stats":
        stats = r["flowsight"]
dropped = {k: v for k, v in stats.get("events_dropped", {}).items() if v}
print(f"  {w}: wrk made {reqs:,} requests ({rps:,.0f}/s); flowsight wrote {types['http']:,} http records "
      f"({dict(methods)}), {flows_8080:,} flow records to port 8080; records by type {dict(types)}; "
      f"weird records by name {dict(weirds) or 'none'}; nonzero drop counters: {dropped or 'none'}; "
      f"flowsight used {cpu:.1f} s CPU in ~{secs:.0f} s ({100 * cpu / secs:.0f}% of one core)")
EOF
	python3 - "$work/bpf-$w.json" "$reqs" <<'EOF'
import json, sys
progs = [p for p in json.load(open(sys.argv[1])) if p.get("name", "").startswith("fsight_") and p.get("run_cnt")]
reqs = int(sys.argv[2])
total = sum(p["run_time_ns"] for p in progs)
for p in sorted(progs, key=lambda p: -p["run_time_ns"]):
    print("    %-24s %8.0f ns/call %9d calls %6.2f calls/request %7.1f ms total" % (
        p["name"], p["run_time_ns"] / p["run_cnt"], p["run_cnt"], p["run_cnt"] / max(reqs, 1), p["run_time_ns"] / 1e6))
print(f"    all fsight_ programs: {total / 1e6:.0f} ms of kernel time, {total / max(reqs, 1) / 1000:.1f} µs per request")
EOF
	grep -iE "warn|error" "$work/fs.log" | head -5 | sed 's/^/    flowsight: /' || true
	if [ -n "${KEEP_RECORDS:-}" ]; then mkdir -p "$KEEP_RECORDS"; cp "$work/records-$w.json" "$work/fs.log" "$KEEP_RECORDS/"; mv "$KEEP_RECORDS/fs.log" "$KEEP_RECORDS/fs-$w.log"; fi
done

cleanup
trap - EXIT
if [ "${IPERF:-1}" = 1 ]; then
	echo
	echo "benches/overhead.sh (iperf3), SECS=5, 3 rounds:"
	SECS=5 "$root/benches/overhead.sh" 3
fi
