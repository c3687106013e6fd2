#!/usr/bin/env python3
"""Score each tool's attribution of a connection storm against the generator's truth."""
import argparse, json, re

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True, help="server port")
ap.add_argument("--truth", required=True)
ap.add_argument("--flowsight")
ap.add_argument("--tcplife")
ap.add_argument("--bandwhich")
ap.add_argument("--name", required=True, help="process name of the storm clients")
a = ap.parse_args()

truth = {}
for line in open(a.truth):
    pid, port = line.split()
    truth[int(port)] = int(pid)
n = len(truth)
rows = []

if a.flowsight:
    got, dropped = {}, None
    for line in open(a.flowsight):
        r = json.loads(line)
        if r["type"] == "stats":
            dropped = r["flowsight"]["events_dropped"]
        if r["type"] != "flow" or r["destination"]["port"] != a.port:
            continue
        p = r["source"].get("process", {})
        got.setdefault(r["source"]["port"], []).append((p.get("pid"), p.get("name")))
    ok = sum(1 for port, pid in truth.items() if any(g == (pid, a.name) for g in got.get(port, [])))
    rows.append(("flowsight", ok, f"pid and name; drops: {dropped}"))

if a.tcplife:
    got = {}
    for line in open(a.tcplife):
        f = line.split()
        if len(f) < 9 or not f[0].isdigit():
            continue
        pid, comm, lport, rport = int(f[0]), f[1], int(f[3]), int(f[5])
        if rport == a.port:
            got.setdefault(lport, []).append((pid, comm))
    ok = sum(1 for port, pid in truth.items() if any(g[0] == pid for g in got.get(port, [])))
    rows.append(("tcplife (libbpf-tools)", ok, "pid"))

if a.bandwhich:
    got = {}
    pat = re.compile(r'^connection: .*?:(\d+) => [^ ]+:(\d+) \(tcp\).*process: "([^"]*)"')
    for line in open(a.bandwhich):
        m = pat.search(line)
        if m and int(m.group(2)) == a.port:
            got.setdefault(int(m.group(1)), set()).add(m.group(3))
    ok = sum(1 for port in truth if a.name in got.get(port, ()))
    rows.append(("bandwhich", ok, "name only (no pid in its output)"))

print(f"{n} connections from the storm")
print(f"{'tool':<24} {'attributed':>10} {'%':>7}  matched on")
for tool, ok, how in rows:
    print(f"{tool:<24} {ok:>10} {100.0 * ok / max(n, 1):>6.1f}%  {how}")
