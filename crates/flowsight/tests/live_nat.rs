//! Root tests: containers without a container engine. A "host" network namespace holds a
//! Linux bridge with a veth pair per container namespace, an uplink veth pair to an "outside"
//! namespace, nftables masquerade on the uplink and a DNAT port forward into a container;
//! the container processes run in cgroup2 directories shaped like each runtime's, one of them
//! in a pid namespace of its own. flowsight captures in the host namespace (as it would on a
//! container host) and must write one record per connection: both sides of the NAT joined
//! with the translated addresses and the bytes of each side, and a container-to-container
//! connection with both owners.

mod common;

use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

#[test]
fn peer_main() {
    nat_peer_main();
    common::peer_main();
}

/// This file's own peer mode. `report-connect ADDR SEND`: connect, send SEND bytes, half-close,
/// read the reply to EOF, then print `done HOSTPID PID LOCALPORT`: the pid as the host sees it
/// (/proc/self of the host's procfs names it even inside a pid namespace) and as the process
/// itself does.
fn nat_peer_main() {
    if std::env::var("FLOWSIGHT_PEER").as_deref() == Ok("ping") {
        ping_main();
    }
    if std::env::var("FLOWSIGHT_PEER").as_deref() != Ok("report-connect") {
        return;
    }
    let args: Vec<String> = std::env::var("FLOWSIGHT_PEER_ARGS")
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect();
    let addr: std::net::SocketAddr = args[0].parse().unwrap();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(&vec![b's'; args[1].parse().unwrap()]).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let host_pid = std::fs::read_link("/proc/self").unwrap();
    println!(
        "done {} {} {}",
        host_pid.display(),
        std::process::id(),
        s.local_addr().unwrap().port()
    );
    std::io::stdout().flush().unwrap();
    std::process::exit(0);
}

/// Peer mode `ping ADDR COUNT SIZE`: COUNT echo requests with SIZE bytes of data, each
/// answered before the next, over an ICMP datagram socket (`ping`'s unprivileged kind: the
/// kernel chooses the identifier and sums the message; `net.ipv4.ping_group_range` must let
/// the caller's group in).
fn ping_main() {
    let args: Vec<String> = std::env::var("FLOWSIGHT_PEER_ARGS")
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect();
    let to: std::net::IpAddr = args[0].parse().unwrap();
    let (count, size): (u16, usize) = (args[1].parse().unwrap(), args[2].parse().unwrap());
    let (family, protocol, request) = match to {
        std::net::IpAddr::V4(_) => (libc::AF_INET, libc::IPPROTO_ICMP, 8u8),
        std::net::IpAddr::V6(_) => (libc::AF_INET6, libc::IPPROTO_ICMPV6, 128u8),
    };
    // SAFETY: plain socket(2); the fd is owned below.
    let fd = unsafe { libc::socket(family, libc::SOCK_DGRAM, protocol) };
    assert!(fd >= 0, "ping socket: {}", std::io::Error::last_os_error());
    // SAFETY: fd was just created and is owned by no one else.
    let sock = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let sock = std::net::UdpSocket::from(sock);
    sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    // A ping socket is addressed like a UDP socket, port 0: connect(2) and send(2) work.
    sock.connect((to, 0)).unwrap();
    let mut reply = [0u8; 65536];
    for seq in 0..count {
        let mut msg = vec![request, 0, 0, 0, 0, 0];
        msg.extend(seq.to_be_bytes());
        msg.extend(std::iter::repeat_n(b'p', size));
        sock.send(&msg).unwrap();
        let n = sock.recv(&mut reply).unwrap();
        assert_eq!(n, msg.len(), "an echo reply of the same size");
    }
    std::process::exit(0);
}

/// A 64-digit hex id from a seed.
fn hex_id(seed: usize) -> String {
    (0..64)
        .map(|i| b"0123456789abcdef"[(i * 7 + seed * 13 + 3) % 16] as char)
        .collect()
}

/// The inode of a namespace file: its id, as flowsight reports it.
fn ns_inode(ns: &NetNs) -> u64 {
    std::fs::metadata(ns.path()).unwrap().ino()
}

/// A container: its namespace, its address on the bridge and its cgroup.
struct Container {
    ns: NetNs,
    ip: String,
    cgroup: Cgroup,
}

/// The address family a topology is built in: the same bridge, uplink and NAT rules with
/// IPv4 or IPv6 addresses (`ip` or `ip6` nftables tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

impl Family {
    /// Host `n` of the bridge's network.
    fn bridge(self, n: u8) -> String {
        match self {
            Family::V4 => format!("172.31.7.{n}"),
            Family::V6 => format!("fd00:31:7::{n:x}"),
        }
    }

    /// Host `n` of the uplink's network.
    fn uplink(self, n: u8) -> String {
        match self {
            Family::V4 => format!("198.18.7.{n}"),
            Family::V6 => format!("fd00:18:7::{n:x}"),
        }
    }

    /// `ADDRESS/PREFIX`, without duplicate address detection for IPv6 (usable at once).
    fn cidr(self, ip: &str) -> String {
        match self {
            Family::V4 => format!("{ip}/24"),
            Family::V6 => format!("{ip}/64 nodad"),
        }
    }

    /// The nftables family.
    fn nft(self) -> &'static str {
        match self {
            Family::V4 => "ip",
            Family::V6 => "ip6",
        }
    }

    /// A socket address as Rust and nftables write it (IPv6 in brackets).
    fn socket(self, ip: &str, port: impl std::fmt::Display) -> String {
        match self {
            Family::V4 => format!("{ip}:{port}"),
            Family::V6 => format!("[{ip}]:{port}"),
        }
    }

    /// The IP header's length (no options, no extension headers).
    fn ip_header(self) -> u64 {
        match self {
            Family::V4 => 20,
            Family::V6 => 40,
        }
    }
}

/// The host namespace with the bridge and NAT, the outside namespace, and containers.
struct Topology {
    family: Family,
    host: NetNs,
    outside: NetNs,
    /// The host's address on the uplink (the masquerade address).
    host_up_ip: String,
    outside_ip: String,
    uplink: String,
    containers: Vec<Container>,
}

impl Topology {
    /// `cgroups`: one cgroup shape per container; the port forward `8080 -> port 80` goes to
    /// the container `dnat_to`, when given.
    fn new(family: Family, cgroups: &[String], dnat_to: Option<usize>) -> Topology {
        let host = NetNs::new();
        let outside = NetNs::new();
        let br = unique("fsbr");
        let up_h = unique("fsuh");
        let up_o = unique("fsuo");
        let (v, gw) = (family, family.bridge(1));
        // IPv6: no duplicate address detection on the host's interfaces either. The bridge's
        // link-local address, tentative for a second or two after its first port comes up, is
        // the source of the host's neighbour solicitations towards a container; while it is
        // tentative the first solicitation is not sent, and a forwarded SYN waits a second for
        // the retry while the client sends it again (a host whose bridge has been up for a
        // while does not do that). The join copes (both sides were open at once), but the
        // exact byte counts below are those of one SYN.
        let setup = match family {
            Family::V4 => "net.ipv4.ip_forward=1",
            Family::V6 => {
                "net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 \
                 net.ipv6.conf.all.forwarding=1"
            }
        };
        host.sh(&format!("sysctl -qw {setup}"));
        sh(&format!(
            "ip -n {h} link add {br} type bridge && ip -n {h} addr add {br_ip} dev {br} && \
             ip -n {h} link set {br} up && \
             ip link add {up_h} netns {h} type veth peer name {up_o} netns {o} && \
             ip -n {h} addr add {up_ip} dev {up_h} && ip -n {h} link set {up_h} up && \
             ip -n {o} addr add {out_ip} dev {up_o} && ip -n {o} link set {up_o} up",
            h = host.name,
            o = outside.name,
            br_ip = v.cidr(&gw),
            up_ip = v.cidr(&v.uplink(1)),
            out_ip = v.cidr(&v.uplink(2)),
        ));
        let mut containers = Vec::new();
        for (i, shape) in cgroups.iter().enumerate() {
            let ns = NetNs::new();
            let vh = unique("fsvh");
            let vc = unique("fsvc");
            let ip = v.bridge(10 + i as u8);
            sh(&format!(
                "ip link add {vh} netns {h} type veth peer name {vc} netns {c} && \
                 ip -n {h} link set {vh} master {br} && ip -n {h} link set {vh} up && \
                 ip -n {c} addr add {cidr} dev {vc} && ip -n {c} link set {vc} up && \
                 ip -n {c} route add default via {gw}",
                h = host.name,
                c = ns.name,
                cidr = v.cidr(&ip),
            ));
            containers.push(Container {
                ns,
                ip,
                cgroup: Cgroup::new(shape),
            });
        }
        let nft = v.nft();
        let dnat = dnat_to
            .map(|i| {
                format!(
                    "add chain {nft} fsnat pre {{ type nat hook prerouting priority -100; }}; \
                     add rule {nft} fsnat pre iifname {up_h} tcp dport 8080 dnat to {}; ",
                    v.socket(&containers[i].ip, 80)
                )
            })
            .unwrap_or_default();
        host.sh(&format!(
            "nft 'add table {nft} fsnat; \
             add chain {nft} fsnat post {{ type nat hook postrouting priority 100; }}; \
             add rule {nft} fsnat post oifname {up_h} masquerade; {dnat}'"
        ));
        Topology {
            family,
            host,
            outside,
            host_up_ip: v.uplink(1),
            outside_ip: v.uplink(2),
            uplink: up_h,
            containers,
        }
    }

    /// The outside's `port`, as a socket address.
    fn outside_at(&self, port: impl std::fmt::Display) -> String {
        self.family.socket(&self.outside_ip, port)
    }

    /// The wildcard address of this family with port 0 or `port`, to bind a server to.
    fn any(&self, port: u16) -> String {
        let any = match self.family {
            Family::V4 => "0.0.0.0",
            Family::V6 => "::",
        };
        self.family.socket(any, port)
    }

    fn flowsight(&self, extra: &[&str]) -> Flowsight {
        let mut args = vec![
            "--netns",
            self.host.path().leak(),
            "--scan-interval-ms",
            "100",
        ];
        args.extend_from_slice(extra);
        Flowsight::start(&args)
    }
}

/// Run `report-connect` in a container's namespace and cgroup, in a pid namespace of its own
/// when `pidns` (through `unshare --pid --fork`, as runc does); returns (host pid, pid in its
/// namespace, local port).
fn report_connect(c: &Container, pidns: bool, addr: &str, send: usize) -> (u32, u32, u16) {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = if pidns {
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--"]).arg(&exe);
        cmd
    } else {
        Command::new(&exe)
    };
    cmd.args([
        "peer_main",
        "--exact",
        "--nocapture",
        "--test-threads=1",
        "-q",
    ])
    .env("FLOWSIGHT_PEER", "report-connect")
    .env("FLOWSIGHT_PEER_ARGS", format!("{addr} {send}"))
    .stdout(Stdio::piped());
    let netns = std::fs::File::open(c.ns.path()).unwrap();
    let procs = c.cgroup.dir.join("cgroup.procs");
    // SAFETY: only open/write/setns between fork and exec, on data prepared before.
    unsafe {
        cmd.pre_exec(move || {
            std::fs::write(&procs, "0")?;
            use std::os::fd::AsRawFd;
            if libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child: Child = cmd.spawn().expect("spawn report-connect");
    let out = BufReader::new(child.stdout.take().unwrap());
    let line = out
        .lines()
        .map_while(Result::ok)
        .find(|l| l.starts_with("done "))
        .unwrap_or_else(|| panic!("report-connect said nothing: {:?}", child.wait()));
    assert!(child.wait().unwrap().success());
    let v: Vec<u32> = line[5..]
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    (v[0], v[1], v[2] as u16)
}

/// The flow records (final ones: not interim) whose ends include `port` on either side.
fn flows_with_port(records: &[Value], port: u16) -> Vec<&Value> {
    records
        .iter()
        .filter(|r| r["type"] == "flow" && r["event"]["reason"] != "active-timeout")
        .filter(|r| r["source"]["port"] == port || r["destination"]["port"] == port)
        .collect()
}

/// Exact frame bytes of one direction of a short TCP connection on Linux defaults: the SYN
/// (or SYN-ACK) is Ethernet 14, the IP header and TCP 40 (20 with MSS, SACK-permitted,
/// timestamps and window scale options), every other segment (or GSO super-segment) has TCP 32
/// (timestamps only) plus its payload: 74 and 66 bytes over IPv4, 94 and 86 over IPv6.
fn tcp_bytes(family: Family, packets: u64, payload: u64) -> u64 {
    let ip = family.ip_header();
    (14 + ip + 40) + (packets - 1) * (14 + ip + 32) + payload
}

/// Check one observation's counts against the payloads each side sent.
fn assert_exact_bytes(family: Family, o: &Value, sent: [u64; 2]) {
    for (side, payload) in ["source", "destination"].into_iter().zip(sent) {
        let packets = o[side]["packets"].as_u64().unwrap();
        assert_eq!(
            o[side]["bytes"].as_u64().unwrap(),
            tcp_bytes(family, packets, payload),
            "{side} on {}: {o:#}",
            o["interface"]["name"]
        );
    }
}

/// The observation of a record on interface `name`.
fn observation<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["observations"]
        .as_array()
        .unwrap_or_else(|| panic!("no observations: {r:#}"))
        .iter()
        .find(|o| o["interface"]["name"] == name)
        .unwrap_or_else(|| panic!("not seen on {name}: {r:#}"))
}

#[test]
fn masquerade_and_a_port_forward_are_one_flow_each_with_both_sides() {
    if root_or_skip("masquerade_and_a_port_forward_are_one_flow_each_with_both_sides") {
        masquerade_and_port_forward(Family::V4, 1);
    }
}

#[test]
fn ipv6_masquerade_and_a_port_forward_are_one_flow_each_with_both_sides() {
    if root_or_skip("ipv6_masquerade_and_a_port_forward_are_one_flow_each_with_both_sides") {
        masquerade_and_port_forward(Family::V6, 11);
    }
}

/// A docker-shaped container (in its own pid namespace) connects to the outside through
/// masquerade, and the outside connects to the host's port 8080, forwarded to a podman-shaped
/// container: each connection is one record with both sides of the NAT, the translated
/// addresses and exact bytes on each side. `seed` makes the container ids.
fn masquerade_and_port_forward(family: Family, seed: usize) {
    let docker = hex_id(seed);
    let podman = hex_id(seed + 1);
    let t = Topology::new(
        family,
        &[
            format!("system.slice/docker-{docker}.scope"),
            format!(
                "user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{podman}.scope"
            ),
        ],
        Some(1),
    );
    let outside_cg = Cgroup::new("outside.scope");
    let fs = t.flowsight(&[]);

    // Masquerade: the docker-shaped container, in its own pid namespace, to the outside.
    let outside = PeerSpec {
        netns: Some(&t.outside),
        uid: None,
        cgroup: Some(&outside_cg),
    };
    let (mut srv, port) = outside.start("serve-tcp", &[&t.any(0), "1", "3000"]);
    let (host_pid, ns_pid, cport) =
        report_connect(&t.containers[0], true, &t.outside_at(&port), 1200);
    assert!(srv.wait().unwrap().success());
    assert_eq!(ns_pid, 1, "the client is pid 1 of its own pid namespace");
    assert_ne!(host_pid, 1);

    // Port forward: from the outside to the host's 8080, into the podman-shaped container.
    let podman_peer = PeerSpec {
        netns: Some(&t.containers[1].ns),
        uid: None,
        cgroup: Some(&t.containers[1].cgroup),
    };
    let (mut web, _) = podman_peer.start("serve-tcp", &[&t.any(80), "1", "5000"]);
    let web_pid = web.id();
    let client_port = {
        let (_, _, p) = report_connect_from_outside(&t, 700);
        p
    };
    assert!(web.wait().unwrap().success());

    let records = fs.stop();
    let port: u16 = port.parse().unwrap();

    // --- masquerade ---
    let snat = flows_with_port(&records, port);
    assert_eq!(snat.len(), 1, "one record for the connection: {snat:#?}");
    let f = snat[0];
    assert_eq!(f["source"]["ip"], t.containers[0].ip.as_str(), "{f:#}");
    assert_eq!(f["source"]["port"], cport);
    assert_eq!(f["destination"]["ip"], t.outside_ip.as_str());
    assert_eq!(f["source"]["nat"]["ip"], t.host_up_ip.as_str());
    assert!(f["source"]["nat"]["port"].is_u64());
    assert!(f["destination"].get("nat").is_none());
    assert_eq!(f["source"]["container"]["id"], docker.as_str());
    assert_eq!(f["source"]["container"]["runtime"], "docker");
    assert_eq!(
        f["source"]["process"]["pid"], host_pid,
        "the host's pid: {f:#}"
    );
    assert_eq!(f["source"]["process"]["name"], peer_name());
    assert_eq!(f["source"]["netns"]["id"], ns_inode(&t.containers[0].ns));
    assert_eq!(f["destination"]["netns"]["id"], ns_inode(&t.outside));
    // Both sides of the NAT, each with its own addresses and the same bytes.
    let up = observation(f, &t.uplink);
    assert_eq!(up["source"]["ip"], t.host_up_ip.as_str());
    assert_eq!(up["source"]["port"], f["source"]["nat"]["port"]);
    let inner = &f["observations"][0];
    assert_ne!(
        inner["interface"]["name"],
        t.uplink.as_str(),
        "the owner's side first"
    );
    assert_eq!(inner["source"]["ip"], t.containers[0].ip.as_str());
    for side in ["source", "destination"] {
        assert_eq!(
            up[side]["bytes"], inner[side]["bytes"],
            "{side} bytes: {f:#}"
        );
        assert_eq!(
            up[side]["packets"], inner[side]["packets"],
            "{side} packets"
        );
        assert_eq!(f[side]["bytes"], inner[side]["bytes"]);
    }
    assert_exact_bytes(family, up, [1200, 3000]);
    assert_exact_bytes(family, inner, [1200, 3000]);

    // --- port forward ---
    let dnat = flows_with_port(&records, client_port);
    assert_eq!(dnat.len(), 1, "one record for the connection: {dnat:#?}");
    let f = dnat[0];
    assert_eq!(f["source"]["ip"], t.outside_ip.as_str(), "{f:#}");
    assert_eq!(f["destination"]["ip"], t.host_up_ip.as_str());
    assert_eq!(f["destination"]["port"], 8080);
    assert_eq!(f["destination"]["nat"]["ip"], t.containers[1].ip.as_str());
    assert_eq!(f["destination"]["nat"]["port"], 80);
    assert!(f["source"].get("nat").is_none());
    assert_eq!(f["destination"]["container"]["id"], podman.as_str());
    assert_eq!(f["destination"]["container"]["runtime"], "podman");
    assert_eq!(f["destination"]["process"]["pid"], web_pid);
    assert_eq!(
        f["destination"]["netns"]["id"],
        ns_inode(&t.containers[1].ns)
    );
    let up = observation(f, &t.uplink);
    assert_eq!(up["destination"]["port"], 8080);
    let inner = &f["observations"][0];
    assert_eq!(inner["destination"]["ip"], t.containers[1].ip.as_str());
    assert_eq!(inner["destination"]["port"], 80);
    for side in ["source", "destination"] {
        assert_eq!(
            up[side]["bytes"], inner[side]["bytes"],
            "{side} bytes: {f:#}"
        );
        assert_eq!(
            up[side]["packets"], inner[side]["packets"],
            "{side} packets"
        );
    }
    assert_exact_bytes(family, up, [700, 5000]);
    assert_exact_bytes(family, inner, [700, 5000]);
}

/// `report-connect` from the outside namespace to the host's port forward.
fn report_connect_from_outside(t: &Topology, send: usize) -> (u32, u32, u16) {
    let outside = Container {
        ns: NetNs {
            name: t.outside.name.clone(),
        },
        ip: t.outside_ip.clone(),
        cgroup: Cgroup::new("outside-client.scope"),
    };
    let to = t.family.socket(&t.host_up_ip, 8080);
    let r = report_connect(&outside, false, &to, send);
    // The namespace belongs to the topology: do not delete it with this borrowed view.
    std::mem::forget(outside.ns);
    r
}

#[test]
fn two_containers_on_one_bridge_are_one_flow_with_both_owners_and_their_pods() {
    if !root_or_skip("two_containers_on_one_bridge_are_one_flow_with_both_owners_and_their_pods") {
        return;
    }
    let crio = hex_id(3);
    let cri = hex_id(4);
    let pod_a = "55c6c714-b240-4dec-9a45-57b61696ab6e";
    let pod_b = "0f8a3c1e-2b4d-4e6f-8a9b-0c1d2e3f4a5b";
    let t = Topology::new(
        Family::V4,
        &[
            format!(
                "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice/crio-{crio}.scope",
                pod_a.replace('-', "_")
            ),
            format!(
                "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{}.slice/cri-containerd-{cri}.scope",
                pod_b.replace('-', "_")
            ),
        ],
        None,
    );
    let fs = t.flowsight(&[]);
    let server = PeerSpec {
        netns: Some(&t.containers[1].ns),
        uid: None,
        cgroup: Some(&t.containers[1].cgroup),
    };
    let (mut srv, port) = server.start("serve-tcp", &["0.0.0.0:0", "1", "2000"]);
    let srv_pid = srv.id();
    let (client_pid, _, _) = report_connect(
        &t.containers[0],
        false,
        &format!("{}:{port}", t.containers[1].ip),
        900,
    );
    assert!(srv.wait().unwrap().success());
    let records = fs.stop();
    let port: u16 = port.parse().unwrap();
    let flows = flows_with_port(&records, port);
    assert_eq!(flows.len(), 1, "one record for the connection: {flows:#?}");
    let f = flows[0];
    let (src, dst) = (&f["source"], &f["destination"]);
    assert_eq!(src["ip"], t.containers[0].ip.as_str(), "{f:#}");
    assert_eq!(src["process"]["pid"], client_pid);
    assert_eq!(src["container"]["id"], crio.as_str());
    assert_eq!(src["container"]["runtime"], "cri-o");
    assert_eq!(src["orchestrator"]["type"], "kubernetes");
    assert_eq!(src["orchestrator"]["resource"]["type"], "pod");
    assert_eq!(src["orchestrator"]["resource"]["id"], pod_a);
    assert_eq!(src["orchestrator"]["resource"]["qos_class"], "Burstable");
    assert_eq!(src["netns"]["id"], ns_inode(&t.containers[0].ns));
    assert_eq!(dst["process"]["pid"], srv_pid);
    assert_eq!(dst["container"]["id"], cri.as_str());
    assert_eq!(dst["container"]["runtime"], "containerd");
    assert_eq!(dst["orchestrator"]["resource"]["id"], pod_b);
    assert_eq!(dst["orchestrator"]["resource"]["qos_class"], "BestEffort");
    assert_eq!(dst["netns"]["id"], ns_inode(&t.containers[1].ns));
    assert!(src.get("nat").is_none() && dst.get("nat").is_none());
    // Seen on both containers' veths, the same bytes on each.
    let obs = f["observations"].as_array().unwrap();
    assert_eq!(obs.len(), 2, "{f:#}");
    for side in ["source", "destination"] {
        assert_eq!(
            obs[0][side]["bytes"], obs[1][side]["bytes"],
            "{side}: {f:#}"
        );
    }
    assert_exact_bytes(t.family, &obs[0], [900, 2000]);
}

#[test]
fn owner_filters_keep_only_the_chosen_container_or_namespace() {
    if !root_or_skip("owner_filters_keep_only_the_chosen_container_or_namespace") {
        return;
    }
    let a = hex_id(5);
    let b = hex_id(6);
    let t = Topology::new(
        Family::V4,
        &[
            format!("system.slice/docker-{a}.scope"),
            format!("machine.slice/libpod-{b}.scope"),
        ],
        None,
    );
    let outside_cg = Cgroup::new("outside.scope");
    let by_container = t.flowsight(&["--container", &a[..12]]);
    let ns_b = ns_inode(&t.containers[1].ns).to_string();
    let by_netns = t.flowsight(&["--owner-netns", &ns_b]);
    // The same flags on `flowsight capture` keep packets.
    let packets_by_container = Capture::start(&t, &["--container", &a[..12]]);
    let packets_by_netns = Capture::start(&t, &["--owner-netns", &ns_b]);
    let outside = PeerSpec {
        netns: Some(&t.outside),
        uid: None,
        cgroup: Some(&outside_cg),
    };
    let (mut srv, port) = outside.start("serve-tcp", &["0.0.0.0:0", "2", "10"]);
    let addr = format!("{}:{port}", t.outside_ip);
    let (pid_a, _, port_a) = report_connect(&t.containers[0], false, &addr, 10);
    let (pid_b, _, port_b) = report_connect(&t.containers[1], false, &addr, 10);
    assert!(srv.wait().unwrap().success());
    for (fs, keep, drop) in [(by_container, port_a, port_b), (by_netns, port_b, port_a)] {
        let records = fs.stop();
        assert_eq!(flows_with_port(&records, keep).len(), 1, "{records:#?}");
        assert!(flows_with_port(&records, drop).is_empty(), "{records:#?}");
        assert!(
            records.iter().any(|r| r["type"] == "stats"),
            "stats always pass"
        );
    }
    // Packets wait a moment for their owners before they are written.
    std::thread::sleep(std::time::Duration::from_millis(800));
    for (cap, keep, pid, drop) in [
        (packets_by_container, port_a, pid_a, port_b),
        (packets_by_netns, port_b, pid_b, port_a),
    ] {
        let packets = cap.stop();
        let kept: Vec<_> = packets.iter().filter(|p| p.ports.contains(&keep)).collect();
        // Both directions of the handshake, the data, the close, on the container's side.
        assert!(kept.len() >= 8, "{packets:#?}");
        assert!(
            !packets.iter().any(|p| p.ports.contains(&drop)),
            "{packets:#?}"
        );
        for p in &packets {
            assert!(
                p.comment.starts_with(&format!("PID: {pid}\n")),
                "every packet kept is the chosen owner's: {p:#?}"
            );
        }
    }
}

/// One IPv4 TCP packet of a capture file: its ports and its comment.
#[derive(Debug)]
struct Packet {
    ports: [u16; 2],
    comment: String,
}

/// A running `flowsight capture -w` in a topology's host namespace, stopped on drop.
struct Capture {
    child: Option<Child>,
    file: std::path::PathBuf,
}

impl Capture {
    /// Start it with `filter` and wait until it captures.
    fn start(t: &Topology, filter: &[&str]) -> Capture {
        let file = std::env::temp_dir().join(format!("{}.pcapng", unique("fst-nat-capture")));
        let mut child = Command::new(flowsight_bin())
            .args(["capture", "-w"])
            .arg(&file)
            .args(["--netns", &t.host.path(), "--scan-interval-ms", "100", "-v"])
            .args(filter)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn flowsight capture");
        let err = BufReader::new(child.stderr.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in err.lines().map_while(Result::ok) {
                eprintln!("[flowsight capture] {line}");
                if line.contains("capturing packets on")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(());
                }
            }
        });
        let mut c = Capture {
            child: Some(child),
            file,
        };
        if rx.recv_timeout(std::time::Duration::from_secs(20)).is_err() {
            panic!("flowsight capture did not start: {:?}", c.child.take());
        }
        c
    }

    /// SIGTERM, wait for a clean exit, and read the IPv4 TCP packets written.
    fn stop(mut self) -> Vec<Packet> {
        let mut child = self.child.take().unwrap();
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        assert!(child.wait().unwrap().success());
        let mut r = flowsight_pcapfile::CaptureReader::open(&self.file).unwrap();
        let mut out = Vec::new();
        while let Some(p) = r.next_packet() {
            let p = p.unwrap();
            // Ethernet, IPv4 without options, TCP.
            if p.data.len() < 38 || p.data[12..14] != [8, 0] || p.data[23] != 6 {
                continue;
            }
            let port = |at: usize| u16::from_be_bytes([p.data[at], p.data[at + 1]]);
            out.push(Packet {
                ports: [port(34), port(36)],
                comment: p.comment.unwrap_or_default().to_string(),
            });
        }
        out
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_file(&self.file);
    }
}

#[test]
fn udp_through_masquerade_is_one_flow_with_both_sides() {
    if !root_or_skip("udp_through_masquerade_is_one_flow_with_both_sides") {
        return;
    }
    let id = hex_id(7);
    let t = Topology::new(
        Family::V4,
        &[format!("system.slice/docker-{id}.scope")],
        None,
    );
    let outside_cg = Cgroup::new("outside.scope");
    let fs = t.flowsight(&[]);
    let outside = PeerSpec {
        netns: Some(&t.outside),
        uid: None,
        cgroup: Some(&outside_cg),
    };
    // Three datagrams of 100 bytes, each answered with 200.
    let (mut srv, port) = outside.start("serve-udp", &["0.0.0.0:0", "3"]);
    let client = PeerSpec {
        netns: Some(&t.containers[0].ns),
        uid: None,
        cgroup: Some(&t.containers[0].cgroup),
    };
    let pid = client.run(
        "udp-ask",
        &[&format!("{}:{port}", t.outside_ip), "100", "3"],
    );
    assert!(srv.wait().unwrap().success());
    let records = fs.stop();
    let port: u16 = port.parse().unwrap();
    let flows = flows_with_port(&records, port);
    assert_eq!(flows.len(), 1, "one record for the exchange: {flows:#?}");
    let f = flows[0];
    assert_eq!(f["network"]["transport"], "udp");
    assert_eq!(f["source"]["ip"], t.containers[0].ip.as_str(), "{f:#}");
    assert_eq!(f["source"]["nat"]["ip"], t.host_up_ip.as_str());
    assert_eq!(f["source"]["container"]["id"], id.as_str());
    assert_eq!(f["source"]["process"]["pid"], pid);
    let up = observation(f, &t.uplink);
    let inner = &f["observations"][0];
    // Ethernet 14 + IPv4 20 + UDP 8 = 42 bytes of headers per datagram.
    for o in [up, inner] {
        assert_eq!(o["source"]["packets"], 3, "{o:#}");
        assert_eq!(o["source"]["bytes"], 3 * (42 + 100));
        assert_eq!(o["destination"]["packets"], 3);
        assert_eq!(o["destination"]["bytes"], 3 * (42 + 200));
    }
}

#[test]
fn ping_through_masquerade_is_one_flow_with_both_sides() {
    if root_or_skip("ping_through_masquerade_is_one_flow_with_both_sides") {
        ping_through_masquerade(Family::V4, 21);
    }
}

#[test]
fn ipv6_ping_through_masquerade_is_one_flow_with_both_sides() {
    if root_or_skip("ipv6_ping_through_masquerade_is_one_flow_with_both_sides") {
        ping_through_masquerade(Family::V6, 22);
    }
}

/// Three echo requests of 56 data bytes from a docker-shaped container to the outside,
/// through masquerade: one record, joined through conntrack's ICMP entry (type, code and
/// identifier) although the flows are keyed by ICMP's Community ID ports (request type and
/// reply type).
fn ping_through_masquerade(family: Family, seed: usize) {
    let id = hex_id(seed);
    let t = Topology::new(family, &[format!("system.slice/docker-{id}.scope")], None);
    // Ping sockets for root (the group range is per network namespace; none by default).
    t.containers[0]
        .ns
        .sh("sysctl -qw net.ipv4.ping_group_range=\"0 0\"");
    let fs = t.flowsight(&[]);
    let client = PeerSpec {
        netns: Some(&t.containers[0].ns),
        uid: None,
        cgroup: Some(&t.containers[0].cgroup),
    };
    client.run("ping", &[&t.outside_ip, "3", "56"]);
    let records = fs.stop();
    let (transport, request, reply) = match family {
        Family::V4 => ("icmp", 8, 0),
        Family::V6 => ("ipv6-icmp", 128, 129),
    };
    let pings: Vec<&Value> = records
        .iter()
        .filter(|r| r["type"] == "flow" && r["network"]["transport"] == transport)
        .filter(|r| r["source"]["port"] == request && r["destination"]["port"] == reply)
        .collect();
    assert_eq!(pings.len(), 1, "one record for the pings: {pings:#?}");
    let f = pings[0];
    assert_eq!(f["source"]["ip"], t.containers[0].ip.as_str(), "{f:#}");
    assert_eq!(f["destination"]["ip"], t.outside_ip.as_str());
    assert_eq!(f["source"]["nat"]["ip"], t.host_up_ip.as_str());
    assert_eq!(f["source"]["nat"]["port"], request);
    assert!(f["destination"].get("nat").is_none());
    let up = observation(f, &t.uplink);
    assert_eq!(up["source"]["ip"], t.host_up_ip.as_str());
    let inner = &f["observations"][0];
    assert_ne!(inner["interface"]["name"], t.uplink.as_str());
    assert_eq!(inner["source"]["ip"], t.containers[0].ip.as_str());
    // Ethernet 14, the IP header, ICMP 8 and the 56 data bytes, three times each way, on
    // each side of the NAT.
    let bytes = 3 * (14 + family.ip_header() + 8 + 56);
    for o in [up, inner] {
        for side in ["source", "destination"] {
            assert_eq!(o[side]["packets"], 3, "{side}: {f:#}");
            assert_eq!(o[side]["bytes"], bytes, "{side}: {f:#}");
        }
    }
}
