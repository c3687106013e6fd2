//! Per-packet cost of the TC programs, timed by the kernel with BPF_PROG_TEST_RUN over
//! millions of runs (bpf_stats_enabled off, so nothing else is measured), for the packets
//! that dominate real traffic. Needs root; prints a table.
//!
//!   sudo cargo bench -p flowsight-capture --bench tc_cost
//!
//! The target is at most 100 ns per hook invocation (everything flowsight does in one TC
//! run). For scale, the floor measured on these machines: return-OK 26-32 ns, L2-L4 parse
//! 28-29 ns, parse plus an LRU hash update 60-62 ns.

use flowsight_capture::testbed::{Hook, TcTestBed};

const REPEAT: u32 = 2_000_000;

fn eth_ipv4_tcp(flags: u8, payload: usize, sport: u16) -> Vec<u8> {
    let mut p = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    let total = 20 + 20 + payload;
    p.extend([
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        0x40,
        0,
        64,
        6,
        0,
        0,
        10,
        0,
        0,
        2,
        10,
        0,
        0,
        1,
    ]);
    p.extend(sport.to_be_bytes());
    p.extend(80u16.to_be_bytes());
    p.extend([0, 0, 0, 1, 0, 0, 0, 1, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    p.extend(std::iter::repeat_n(0u8, payload));
    p
}

fn eth_ipv6_udp(payload: usize) -> Vec<u8> {
    let mut p = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd];
    let len = 8 + payload;
    p.extend([0x60, 0, 0, 0, (len >> 8) as u8, len as u8, 17, 64]);
    p.extend(
        "2001:db8::2"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    p.extend(
        "2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    p.extend(5353u16.to_be_bytes());
    p.extend(53u16.to_be_bytes());
    p.extend([(len >> 8) as u8, len as u8, 0, 0]);
    p.extend(std::iter::repeat_n(0u8, payload));
    p
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIP (not root): tc_cost loads BPF programs");
        return;
    }
    let mut bed = TcTestBed::new().expect("load the BPF object");
    let cases: Vec<(&str, Hook, Vec<u8>)> = vec![
        (
            "egress, IPv4 TCP 1448 B data, existing flow",
            Hook::Egress,
            eth_ipv4_tcp(0x18, 1448, 40000),
        ),
        (
            "egress, IPv4 TCP pure ACK, existing flow",
            Hook::Egress,
            eth_ipv4_tcp(0x10, 0, 40000),
        ),
        (
            "egress, IPv6 UDP 64 B, existing flow",
            Hook::Egress,
            eth_ipv6_udp(64),
        ),
        (
            "ingress (lo: lookup only), IPv4 TCP ACK",
            Hook::Ingress,
            eth_ipv4_tcp(0x10, 0, 40000),
        ),
    ];
    println!("{:<48} {:>10}", "packet", "ns/packet");
    for (name, hook, pkt) in &cases {
        // Warm: the first run creates the flow entry; REPEAT runs then hit the existing one.
        bed.run(*hook, pkt, 1, 1).unwrap();
        let r = bed.run(*hook, pkt, 1, REPEAT).unwrap();
        println!("{name:<48} {:>10}", r.ns_per_run);
    }
    // New flows: each run inserts (a different source port per call), the costly path.
    let mut total = 0u64;
    let n = 20_000u16;
    for i in 0..n {
        total += bed
            .run(Hook::Egress, &eth_ipv4_tcp(0x02, 0, 10_000 + i), 1, 1)
            .unwrap()
            .ns_per_run as u64;
    }
    println!(
        "{:<48} {:>10}",
        "egress, IPv4 TCP SYN, new flow (insert)",
        total / n as u64
    );
}
