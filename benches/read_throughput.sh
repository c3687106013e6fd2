#!/usr/bin/env bash
# `flowsight read` on a synthetic capture, side by side with ndpiReader and tshark, in one run.
#
#   benches/read_throughput.sh            (env: SYNTH=/tmp/synth.pcap TRUTH=/tmp/synth.truth
#                                          RUNS=3 SMALL=0 PREFIX=150000 TSHARK_FULL=0
#                                          PGO=0 PGO_BIN=)
#
# The capture is ../shared/tools/gen_synthetic.py's 1,500,000 packets (seed 1), generated if
# SYNTH or TRUTH is missing. The page cache is warmed (benches/warm_cache.py: in 2 MiB folios,
# and in 4 KiB pages for one row of flowsight's, since a mapped read differs between the
# two), then each command runs RUNS times, interleaved (one run of each in turn, each round
# starting one command later than the last), under /usr/bin/time -v: median wall seconds (the
# ratios' basis), the fastest run's (what the command does when the machine leaves it alone:
# on a VM whose host is busy the same binary's runs spread by 2x), packets/s, the largest
# "Maximum resident set size" of its runs, and median CPU seconds (user + system: less
# sensitive than wall time to other work on the machine).
#
# tshark takes about 30 µs a packet (~50 s on the whole file), so it runs on the first PREFIX
# packets (made with editcap -r), in both modes, and its rate is compared as measured there;
# flowsight is also timed on that prefix, so the comparison on the same input is printed too.
# TSHARK_FULL=1 runs tshark on the whole file instead. SMALL=1 measures every tool on the prefix
# (a quick run). Fields: those flowsight logs; tls.handshake.ja4 only if this tshark has it
# (4.0 has not).
#
# ndpiReader -q: analyzes the whole file (same per-protocol counts as without -q, checked with
# -w) and prints nothing; without -q it prints only summary statistics (per-flow lines need -v).
# PGO=1 also measures a profile-guided build (scripts/build-pgo, trained on other captures
# than this one; PGO_BIN=path takes one already built), one and two threads, and checks that
# its records are the plain build's.
#
# Last, benches/truth_check.py compares flowsight's records with the generator's truth.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
synth=${SYNTH:-/tmp/synth.pcap}
truth=${TRUTH:-/tmp/synth.truth}
runs=${RUNS:-3}
small=${SMALL:-0}
prefix_pkts=${PREFIX:-150000}
tshark_full=${TSHARK_FULL:-0}
pgo=${PGO:-0}
pgo_bin=${PGO_BIN:-}
gen=$root/../shared/tools/gen_synthetic.py
py=/usr/bin/python3

die() { echo "read_throughput.sh: $*" >&2; exit 2; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found ($2)"; }
need cargo "Rust toolchain"
need ndpiReader "apt-get install libndpi-bin"
need tshark "apt-get install tshark"
need editcap "apt-get install tshark (wireshark-common)"
need capinfos "apt-get install tshark (wireshark-common)"
[ -x /usr/bin/time ] || die "/usr/bin/time not found (apt-get install time); the shell's time keyword has no -v"
[ -x "$py" ] || die "$py not found"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$runs'"

work=$(mktemp -d /tmp/fs-read-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

cd "$root"
cargo build --release -q -p flowsight
fs=$root/target/release/flowsight
if [ -n "$pgo_bin" ]; then
	[ -x "$pgo_bin" ] || die "PGO_BIN=$pgo_bin is not an executable"
	pgo=1
elif [ "$pgo" = 1 ]; then
	pgo_bin=$("$root/scripts/build-pgo" | tail -1)
fi
# Other work on the machine skews every number: say what ran besides, and what was measured.
machine() {
	echo "$1: load average $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores); busiest other processes:" \
		"$(top -b -n2 -d0.5 -w 200 | awk '/^top -/ {f++} f == 2 && $1 ~ /^[0-9]+$/ && $9 >= 5 {printf "%s %s%%; ", $12, $9}' | head -c 300)"
}
echo "flowsight $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- crates Cargo.lock || echo ' + uncommitted changes under crates/'), kernel $(uname -r)"
machine "before"

if [ ! -s "$synth" ] || [ ! -s "$truth" ]; then
	[ -f "$gen" ] || die "$synth or $truth missing, and no generator at $gen"
	echo "generating $synth and $truth (1,500,000 packets, seed 1; ~30 s) ..." >&2
	"$py" "$gen" --packets 1500000 --seed 1 --out "$synth" --truth "$truth" >&2
fi
packets() { capinfos -c -M -T -r "$1" | cut -f2; }
prefix=$work/prefix.pcap
editcap -F pcap -r "$synth" "$prefix" "1-$prefix_pkts" # classic pcap, as the original (truth_check.py reads only that)
full_n=$(packets "$synth"); prefix_n=$(packets "$prefix")
if [ "$small" = 1 ]; then main=$prefix; main_n=$prefix_n; else main=$synth; main_n=$full_n; fi
if [ "$tshark_full" = 1 ]; then tsf=$synth; tsn=$full_n; else tsf=$prefix; tsn=$prefix_n; fi

fields=(http.request.method http.host http.request.uri http.user_agent http.response.code
	dns.qry.name dns.qry.type dns.flags.rcode tls.handshake.extensions_server_name
	tls.handshake.ja3 tls.handshake.ja4)
known=$(tshark -G fields 2>/dev/null | cut -f3)
targs=(); missing=()
for f in "${fields[@]}"; do
	if grep -qxF "$f" <<<"$known"; then targs+=(-e "$f"); else missing+=("$f"); fi
done

# name | packets | command (run through bash -c, stdout to /dev/null) | page cache (warm_cache.py)
names=(); counts=(); cmds=(); caches=()
add() { names+=("$1"); counts+=("$2"); cmds+=("$3"); caches+=("${4:-huge}"); }
add "flowsight read, 1 thread" "$main_n" "$fs read --no-progress '$main' -o /dev/null"
add "flowsight read --threads 2" "$main_n" "$fs read --no-progress --threads 2 '$main' -o /dev/null"
add "flowsight read --threads 2 (4 KiB page cache)" "$main_n" "$fs read --no-progress --threads 2 '$main' -o /dev/null" small
if [ "$pgo" = 1 ]; then
	add "flowsight read, 1 thread (PGO build)" "$main_n" "$pgo_bin read --no-progress '$main' -o /dev/null"
	add "flowsight read --threads 2 (PGO build)" "$main_n" "$pgo_bin read --no-progress --threads 2 '$main' -o /dev/null"
fi
add "ndpiReader -q" "$main_n" "ndpiReader -i '$main' -q"
[ "$small" = 1 ] || add "flowsight read, 1 thread (prefix)" "$prefix_n" "$fs read --no-progress '$prefix' -o /dev/null"
add "tshark -T fields$([ "$tsf" = "$prefix" ] && echo ' (prefix)')" "$tsn" \
	"tshark -r '$tsf' -T fields ${targs[*]} -Y 'http or dns or tls.handshake'"

for i in "${!names[@]}"; do : > "$work/t$i"; done
n_cmds=${#names[@]}
for r in $(seq "$runs"); do
	# Each round starts one command later than the one before: the VM's slow phases come and
	# go on their own clock, and in a fixed order the same command kept meeting them.
	for j in $(seq 0 $((n_cmds - 1))); do
		i=$(((j + r - 1) % n_cmds))
		echo "run $r/$runs: ${names[$i]}" >&2
		# Warm the page cache before every run, not once: some VMs (Firecracker with free
		# page reporting, as here) drop clean cache pages within seconds, and a run that
		# meets a half-cached file measures the disk. In 2 MiB folios ("huge": as flowsight
		# leaves a file it read from disk) but for the row that says 4 KiB (a file just
		# written or copied); see warm_cache.py.
		"$py" "$root/benches/warm_cache.py" "${caches[$i]}" "$synth" "$prefix" > "$work/warm" ||
			die "warm_cache.py failed"
		if [ "$r" = 1 ]; then sed "s/^/    /" "$work/warm" >&2; fi
		/usr/bin/time -v -o "$work/one" bash -c "${cmds[$i]} > /dev/null 2>$work/err" ||
			{ cat "$work/err" >&2; die "failed: ${cmds[$i]}"; }
		"$py" - "$work/one" >> "$work/t$i" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
w = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", t).group(1).split(":")
secs = sum(float(x) * 60 ** i for i, x in enumerate(reversed(w)))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
cpu = sum(float(re.search(rf"{k} time \(seconds\): (\S+)", t).group(1)) for k in ("User", "System"))
print(secs, rss, cpu)
EOF
	done
done
machine "after"

args=()
for i in "${!names[@]}"; do args+=("${names[$i]}" "${counts[$i]}" "${cmds[$i]}" "$work/t$i"); done
"$py" - "$small" "$runs" "${args[@]}" <<'EOF'
import statistics, sys
small, runs, rest = sys.argv[1] == "1", sys.argv[2], sys.argv[3:]
rows = []
for i in range(0, len(rest), 4):
    name, n, cmd, path = rest[i], int(rest[i + 1]), rest[i + 2], rest[i + 3]
    m = [tuple(map(float, l.split())) for l in open(path)]
    wall = statistics.median(x[0] for x in m)
    cpu = statistics.median(x[2] for x in m)
    rows.append(dict(name=name, n=n, cmd=cmd, wall=wall, best=min(x[0] for x in m), pps=n / wall, rss=max(x[1] for x in m) / 1024,
                     cpu=cpu, ppc=n / cpu))
nd = next(r for r in rows if r["name"].startswith("ndpiReader"))
ts = next(r for r in rows if r["name"].startswith("tshark"))
print(f"\nmedian of {runs} runs each; peak RSS = largest of the runs\n")
print("| command | packets | median wall s | fastest run s | packets/s | peak RSS MiB | packets/s vs ndpiReader | packets/s vs tshark | median CPU s (user+sys) | packets per CPU-second |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['name']} | {r['n']:,} | {r['wall']:.2f} | {r['best']:.2f} | {r['pps']:,.0f} | {r['rss']:.0f} "
          f"| {r['pps'] / nd['pps']:.2f}x | {r['pps'] / ts['pps']:.1f}x | {r['cpu']:.2f} | {r['ppc']:,.0f} |")
fs1 = rows[0]
print(f"\nflowsight (1 thread) peak RSS is {fs1['rss'] / nd['rss']:.2f}x ndpiReader's; "
      f"--threads 2 runs at {rows[1]['pps'] / fs1['pps']:.2f}x the 1-thread rate.")
if ts["n"] != fs1["n"]:
    pre = next((r for r in rows if r["name"].endswith("(prefix)") and r["name"].startswith("flowsight")), None)
    scaled = ts["wall"] * fs1["n"] / ts["n"]
    print(f"tshark ran on the first {ts['n']:,} packets only; scaled linearly to {fs1['n']:,} packets it "
          f"would take ~{scaled:.0f} s (its rate on the prefix is used in the ratios).")
    if pre:
        print(f"On the same prefix, flowsight (1 thread) is {pre['pps'] / ts['pps']:.1f}x tshark's packets/s.")
print("\ncommands:")
for r in rows:
    print(f"    {r['cmd']}")
EOF
if [ ${#missing[@]} -gt 0 ]; then
	echo "tshark $(tshark -v 2>/dev/null | head -1 | awk '{print $3}') lacks: ${missing[*]} (left out of its field list)"
fi

echo
echo "ndpiReader's own counts on $main (-q -w): $(ndpiReader -i "$main" -q -w "$work/nd.txt" >/dev/null; awk -F'\t' 'NF==4 && $2 ~ /^[0-9]+$/ {p+=$2} END {print p}' "$work/nd.txt") IP packets classified of $main_n"
echo
echo "truth check: flowsight read $main -o RECORDS; benches/truth_check.py $truth RECORDS $main"
"$fs" read --no-progress "$main" -o "$work/records.json"
tail -1 "$work/records.json" | "$py" -c 'import json,sys; s=json.load(sys.stdin)["flowsight"]; print("flowsight stats record: packets read", s["events_read"]["packets"], "records", s["records_written"])'
rc=0
if [ "$pgo" = 1 ]; then
	# The same records from both builds (sorted: two threads interleave them; the stats
	# record's times differ); the plain build's are those just written for the truth check.
	digest() { grep -v '"type":"stats"' | sort | md5sum; }
	plain=$(digest < "$work/records.json")
	same() { [ "$("$pgo_bin" read --no-progress --threads "$1" "$main" -o - | digest)" = "$plain" ]; }
	if same 1 && same 2; then
		echo "PGO build: the same records as the plain build (one and two threads)"
	else
		echo "PGO build: records DIFFER from the plain build's"; rc=1
	fi
fi
"$py" "$root/benches/truth_check.py" "$truth" "$work/records.json" "$main" | tee "$work/truth.txt" || rc=$?
# A check that left every flow out (e.g. a capture the checker cannot parse) proves nothing.
grep -qE '^flow\.packets +[1-9]' "$work/truth.txt" || { echo "truth check compared no flow"; rc=1; }
[ "$rc" = 0 ] && echo "truth check: every field agrees (100%)" || echo "truth check: FAILED (exit $rc)"
exit "$rc"
