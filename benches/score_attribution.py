#!/usr/bin/env python3
"""Score each tool's attribution of a connection storm against the generator's truth."""
import argparse, collections, json, re

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True, help="server port")
ap.add_argument("--truth", required=True)
ap.add_argument("--flowsight")
ap.add_argument("--tcplife")
ap.add_argument("--bandwhich")
ap.add_argument("--name", required=True, help="process name of the storm clients")
ap.add_argument("--server-pid", type=int, required=True)
ap.add_argument("--server-name", default="fs-loadgen")
a = ap.parse_args()

# Loopback reuses ports: the truth is a multiset of (local port, pid), and each tool's answers
# are matched against it as a multiset, so a reused port counts once per connection.
truth = collections.Counter()
for line in open(a.truth):
    pid, port = line.split()
    truth[(int(port), int(pid))] += 1
n = sum(truth.values())
rows = []

def matched(got):
    return sum(min(c, got[k]) for k, c in truth.items())

by_port = collections.Counter()
for (port, _), c in truth.items():
    by_port[port] += c

def server_side(srv):
    """Connections whose server end was credited to the server process, by client port."""
    return sum(min(c, srv[port]) for port, c in by_port.items())

if a.flowsight:
    got, srv, dropped, records = collections.Counter(), collections.Counter(), None, 0
    for line in open(a.flowsight):
        r = json.loads(line)
        if r["type"] == "stats":
            dropped = sum(r["flowsight"]["events_dropped"].values())
        if r["type"] != "flow" or r["destination"]["port"] != a.port:
            continue
        records += 1
        p = r["source"].get("process", {})
        if p.get("name") == a.name:
            got[(r["source"]["port"], p.get("pid"))] += 1
        if r["destination"].get("process", {}).get("pid") == a.server_pid:
            srv[r["source"]["port"]] += 1
    rows.append(("flowsight", matched(got), server_side(srv), f"{records} records, {dropped} events dropped"))

if a.tcplife:
    got, srv, lines = collections.Counter(), collections.Counter(), 0
    for line in open(a.tcplife):
        f = line.split()
        if len(f) < 9 or not f[0].isdigit():
            continue
        pid, comm, lport, rport = int(f[0]), f[1], int(f[3]), int(f[5])
        if rport == a.port:
            lines += 1
            if comm == a.name[:15]:
                got[(lport, pid)] += 1
        if lport == a.port and pid == a.server_pid:
            srv[rport] += 1
    rows.append(("tcplife (libbpf-tools)", matched(got), server_side(srv), f"{lines} client lines"))

if a.bandwhich:
    # bandwhich samples once a second and prints a connection in every sample it is seen in;
    # a connection counts as attributed if any sample names the client's process.
    named, srv_named = set(), set()
    pat = re.compile(r'^connection: .*?:(\d+) => [^ ]+:(\d+) \(tcp\).*process: "([^"]*)"')
    for line in open(a.bandwhich):
        m = pat.search(line)
        if not m:
            continue
        local, remote, name = int(m.group(1)), int(m.group(2)), m.group(3)
        if remote == a.port and name == a.name:
            named.add(local)
        if local == a.port and name == a.server_name:
            srv_named.add(remote)
    ok = sum(c for (port, _), c in truth.items() if port in named)
    srv_ok = sum(c for port, c in by_port.items() if port in srv_named)
    rows.append(("bandwhich", ok, srv_ok, "names only (it prints no pid): an upper bound"))

print(f"{n} connections from the storm")
print(f"{'tool':<24} {'client end right':>17} {'server end right':>17}  notes")
for tool, ok, srv_ok, how in rows:
    print(f"{tool:<24} {ok:>8} {100.0 * ok / max(n, 1):>6.1f}% {srv_ok:>8} {100.0 * srv_ok / max(n, 1):>6.1f}%  {how}")
