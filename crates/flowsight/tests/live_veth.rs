//! Root tests on a veth pair between two network namespaces: both ends attributed from one
//! observation point, and byte and packet counts exactly those tcpdump sees there.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn peer_main() {
    common::peer_main();
}

/// Per-direction (packets, bytes) of a classic pcap file, keyed by "src_ip:port".
fn pcap_totals(data: &[u8], linktype_ether: bool) -> std::collections::HashMap<String, (u64, u64)> {
    assert!(data.len() >= 24, "pcap header");
    assert_eq!(
        &data[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "little-endian microsecond pcap"
    );
    let mut out = std::collections::HashMap::new();
    let mut off = 24;
    while off + 16 <= data.len() {
        let incl = u32::from_le_bytes(data[off + 8..off + 12].try_into().unwrap()) as usize;
        let orig = u32::from_le_bytes(data[off + 12..off + 16].try_into().unwrap()) as u64;
        let pkt = &data[off + 16..off + 16 + incl];
        off += 16 + incl;
        let ip = if linktype_ether { &pkt[14..] } else { pkt };
        let key = match ip[0] >> 4 {
            4 => {
                let ihl = (ip[0] & 15) as usize * 4;
                let src = std::net::Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
                let sport = u16::from_be_bytes([ip[ihl], ip[ihl + 1]]);
                format!("{src}:{sport}")
            }
            6 => {
                let src = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(&ip[8..24]).unwrap());
                let sport = u16::from_be_bytes([ip[40], ip[41]]);
                format!("[{src}]:{sport}")
            }
            _ => continue,
        };
        let e = out.entry(key).or_insert((0, 0));
        e.0 += 1;
        e.1 += orig;
    }
    out
}

/// tcpdump on an interface of a namespace, started and ready.
struct Tcpdump {
    child: std::process::Child,
    file: std::path::PathBuf,
}

impl Tcpdump {
    fn start(ns: &NetNs, iface: &str, filter: &str) -> Tcpdump {
        let file = std::env::temp_dir().join(format!("{}.pcap", unique("fst-cap")));
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns.name,
                "tcpdump",
                "--immediate-mode",
                "-i",
                iface,
                "-U",
                "-n",
                "-s",
                "128",
                "-w",
            ])
            .arg(&file)
            .arg(filter)
            .stderr(Stdio::piped())
            .spawn()
            .expect("tcpdump");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        while err.read_line(&mut line).unwrap() > 0 && !line.contains("listening on") {
            line.clear();
        }
        assert!(
            line.contains("listening on"),
            "tcpdump did not start: {line}"
        );
        // Keep reading stderr: tcpdump reports its counts there at exit.
        std::thread::spawn(move || {
            for l in err.lines() {
                eprintln!("[tcpdump] {}", l.unwrap_or_default());
            }
        });
        Tcpdump { child, file }
    }

    /// Stop the capture and return the pcap file's bytes (the file goes with the guard).
    fn stop(mut self) -> Vec<u8> {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        self.child.wait().unwrap();
        std::fs::read(&self.file).unwrap()
    }
}

impl Drop for Tcpdump {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.file);
    }
}

#[test]
fn veth_tcp_both_sides_attributed_and_counted_exactly() {
    if !root_or_skip("veth_tcp_both_sides_attributed_and_counted_exactly") {
        return;
    }
    let ns_a = NetNs::new();
    let ns_b = NetNs::new();
    let veth = Veth::new(&ns_a, &ns_b);
    let cg = Cgroup::new("veth");
    let fs = Flowsight::start(&[
        "--netns",
        &ns_a.path(),
        "-i",
        &veth.a,
        "--scan-interval-ms",
        "100",
    ]);

    let in_b = PeerSpec {
        netns: Some(&ns_b),
        uid: Some(1),
        cgroup: Some(&cg),
    };
    let in_a = PeerSpec {
        netns: Some(&ns_a),
        uid: Some(65534),
        cgroup: Some(&cg),
    };
    let (mut srv, port) = in_b.start("serve-tcp", &[&format!("{}:0", veth.b_ip), "1", "3000000"]);
    let dump = Tcpdump::start(&ns_a, &veth.a, &format!("tcp port {port}"));
    let client_pid = in_a.run(
        "connect-tcp",
        &[&format!("{}:{port}", veth.b_ip), "1000000"],
    );
    assert!(srv.wait().unwrap().success());
    std::thread::sleep(std::time::Duration::from_millis(300));
    let pcap = dump.stop();
    let records = fs.stop();

    let port: u16 = port.parse().unwrap();
    let flows: Vec<_> = records
        .iter()
        .filter(|r| r["type"] == "flow" && r["destination"]["port"] == port)
        .collect();
    assert_eq!(flows.len(), 1, "{records:#?}");
    let f = flows[0];
    assert_eq!(f["interface"]["name"], veth.a.as_str());
    assert_eq!(f["source"]["ip"], veth.a_ip.as_str());
    assert_eq!(
        f["source"]["process"]["pid"], client_pid,
        "client in namespace A: {f:#}"
    );
    assert_eq!(f["source"]["user"]["name"], "nobody");
    assert_eq!(
        f["destination"]["process"]["pid"],
        srv.id(),
        "server in namespace B: {f:#}"
    );
    assert_eq!(f["destination"]["user"]["name"], "daemon");

    let totals = pcap_totals(&pcap, true);
    let client_key = format!("{}:{}", veth.a_ip, f["source"]["port"]);
    let server_key = format!("{}:{port}", veth.b_ip);
    let (cp, cb) = *totals
        .get(&client_key)
        .unwrap_or_else(|| panic!("{client_key} not in {totals:?}"));
    let (sp, sb) = *totals
        .get(&server_key)
        .unwrap_or_else(|| panic!("{server_key} not in {totals:?}"));
    assert_eq!(
        (
            f["source"]["packets"].as_u64().unwrap(),
            f["source"]["bytes"].as_u64().unwrap()
        ),
        (cp, cb),
        "client->server exactly as tcpdump saw it"
    );
    assert_eq!(
        (
            f["destination"]["packets"].as_u64().unwrap(),
            f["destination"]["bytes"].as_u64().unwrap()
        ),
        (sp, sb),
        "server->client exactly as tcpdump saw it"
    );
    assert!(cb > 1_000_000 && sb > 3_000_000);
}

/// The client is in the other namespace: TC on this side of the veth never sees its socket
/// (the packets crossed a veth, and a socket lookup here searches this namespace only). The
/// tuple completed when its connection was established names it.
#[test]
fn veth_client_in_another_namespace_attributed() {
    if !root_or_skip("veth_client_in_another_namespace_attributed") {
        return;
    }
    let ns_a = NetNs::new();
    let ns_b = NetNs::new();
    let veth = Veth::new(&ns_a, &ns_b);
    let cg = Cgroup::new("veth-client");
    let fs = Flowsight::start(&[
        "--netns",
        &ns_a.path(),
        "-i",
        &veth.a,
        "--scan-interval-ms",
        "100",
    ]);
    let spec = |ns, uid| PeerSpec {
        netns: Some(ns),
        uid: Some(uid),
        cgroup: Some(&cg),
    };
    let (mut srv, port) =
        spec(&ns_a, 1).start("serve-tcp", &[&format!("{}:0", veth.a_ip), "3", "1000"]);
    let clients: Vec<u32> = (0..3)
        .map(|_| spec(&ns_b, 65534).run("connect-tcp", &[&format!("{}:{port}", veth.a_ip), "1000"]))
        .collect();
    assert!(srv.wait().unwrap().success());
    std::thread::sleep(std::time::Duration::from_millis(300));
    let records = fs.stop();
    let port: u16 = port.parse().unwrap();
    let mut pids: Vec<u64> = records
        .iter()
        .filter(|r| r["type"] == "flow" && r["destination"]["port"] == port)
        .map(|f| {
            assert_eq!(f["source"]["ip"], veth.b_ip.as_str(), "{f:#}");
            assert_eq!(f["source"]["user"]["name"], "nobody", "{f:#}");
            assert_eq!(f["destination"]["process"]["pid"], srv.id(), "{f:#}");
            f["source"]["process"]["pid"]
                .as_u64()
                .unwrap_or_else(|| panic!("client in namespace B unattributed: {f:#}"))
        })
        .collect();
    pids.sort_unstable();
    let mut want: Vec<u64> = clients.iter().map(|&p| u64::from(p)).collect();
    want.sort_unstable();
    assert_eq!(pids, want, "one flow per client, each with its own pid");
}

#[test]
fn veth_udp_ipv6_both_sides_attributed() {
    if !root_or_skip("veth_udp_ipv6_both_sides_attributed") {
        return;
    }
    let ns_a = NetNs::new();
    let ns_b = NetNs::new();
    let veth = Veth::new(&ns_a, &ns_b);
    let cg = Cgroup::new("veth6");
    // No -i: flowsight attaches to every interface that is up in the namespace.
    let fs = Flowsight::start(&["--netns", &ns_a.path(), "--scan-interval-ms", "100"]);
    let in_b = PeerSpec {
        netns: Some(&ns_b),
        uid: None,
        cgroup: Some(&cg),
    };
    let in_a = PeerSpec {
        netns: Some(&ns_a),
        uid: None,
        cgroup: Some(&cg),
    };
    let (mut srv, port) = in_b.start("serve-udp", &[&format!("[{}]:0", veth.b_ip6), "3"]);
    let client_pid = in_a.run("udp-ask", &[&format!("[{}]:{port}", veth.b_ip6), "64", "3"]);
    assert!(srv.wait().unwrap().success());
    let records = fs.stop();
    let port: u16 = port.parse().unwrap();
    let f = records
        .iter()
        .find(|r| r["type"] == "flow" && r["destination"]["port"] == port)
        .unwrap_or_else(|| panic!("no flow: {records:#?}"));
    assert_eq!(f["network"]["type"], "ipv6");
    assert_eq!(
        f["interface"]["name"],
        veth.a.as_str(),
        "found on the veth without -i"
    );
    assert_eq!(f["source"]["process"]["pid"], client_pid, "{f:#}");
    assert_eq!(f["destination"]["process"]["pid"], srv.id(), "{f:#}");
    assert_eq!(f["source"]["packets"], 3);
    assert_eq!(f["destination"]["packets"], 3);
}
