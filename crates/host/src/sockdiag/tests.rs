use super::wire;
use super::*;

#[test]
fn parses_socket_links() {
    assert_eq!(socket_inode(b"socket:[123456]"), Some(123456));
    assert_eq!(socket_inode(b"pipe:[123]"), None);
    assert_eq!(socket_inode(b"socket:[]"), None);
    assert_eq!(socket_inode(b"/dev/null"), None);
}

/// The request `ss -t` would send for all IPv4 TCP sockets, without extensions.
#[test]
#[cfg(target_endian = "little")]
fn encodes_a_dump_request() {
    let req = wire::dump_request(libc::AF_INET as u8, libc::IPPROTO_TCP as u8, 77);
    #[rustfmt::skip]
    let want: [u8; 72] = [
        // nlmsghdr: len 72, type SOCK_DIAG_BY_FAMILY, flags REQUEST|DUMP, seq 77, pid 0
        0x48, 0x00, 0x00, 0x00, 0x14, 0x00, 0x01, 0x03, 0x4d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        // inet_diag_req_v2: AF_INET, IPPROTO_TCP, no ext, pad, all states
        0x02, 0x06, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
        // inet_diag_sockid: all zero (match everything)
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    assert_eq!(req, want);
}

/// Two replies captured from Linux 6.18 (a listener on 127.0.0.1:40485 and a client
/// connected to it), then NLMSG_DONE.
#[rustfmt::skip]
const CAPTURED: &[u8] = &[
    // LISTEN 127.0.0.1:40485, cookie 15, uid 0, inode 29940
    0x7c, 0x00, 0x00, 0x00, 0x14, 0x00, 0x02, 0x00, 0x4d, 0x00, 0x00, 0x00, 0x3b, 0x4e, 0x00, 0x00,
    0x02, 0x0a, 0x00, 0x00, 0x9e, 0x25, 0x00, 0x00, 0x7f, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xf4, 0x74, 0x00, 0x00, 0x05, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x15, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x16, 0x00, 0x52, 0x00, 0x00, 0x00,
    // ESTABLISHED 127.0.0.1:49356 -> 127.0.0.1:40485, cookie 16, inode 29941
    0x7c, 0x00, 0x00, 0x00, 0x14, 0x00, 0x02, 0x00, 0x4d, 0x00, 0x00, 0x00, 0x3b, 0x4e, 0x00, 0x00,
    0x02, 0x01, 0x00, 0x00, 0xc0, 0xcc, 0x9e, 0x25, 0x7f, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7f, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xf5, 0x74, 0x00, 0x00, 0x05, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x15, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x16, 0x00, 0x52, 0x00, 0x00, 0x00,
    // NLMSG_DONE (flags NLM_F_MULTI), payload: the dump's final status 0
    0x14, 0x00, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x4d, 0x00, 0x00, 0x00, 0x3b, 0x4e, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
];

#[test]
#[cfg(target_endian = "little")]
fn decodes_captured_replies() {
    let msgs: Vec<wire::Message> = wire::messages(CAPTURED).collect::<Result<_, _>>().unwrap();
    assert_eq!(msgs.len(), 3);
    assert!(msgs.iter().all(|m| m.seq == 77));
    assert_eq!(msgs[2].kind, wire::NLMSG_DONE);
    let listen = wire::diag_socket(msgs[0].payload, 6).unwrap();
    assert_eq!(
        listen,
        DiagSocket {
            cookie: 15,
            protocol: 6,
            family: 2,
            state: 10,
            local: "127.0.0.1:40485".parse().unwrap(),
            remote: "0.0.0.0:0".parse().unwrap(),
            uid: 0,
            inode: 29940,
            cgroup_id: Some(1),
        }
    );
    let client = wire::diag_socket(msgs[1].payload, 6).unwrap();
    assert_eq!((client.cookie, client.state, client.inode), (16, 1, 29941));
    assert_eq!(client.local, "127.0.0.1:49356".parse().unwrap());
    assert_eq!(client.remote, "127.0.0.1:40485".parse().unwrap());
}

#[test]
#[cfg(target_endian = "little")]
fn decodes_ipv6_addresses_and_high_cookie_halves() {
    let mut m = CAPTURED[16..124].to_vec();
    m[0] = libc::AF_INET6 as u8;
    m[8..24].copy_from_slice(
        &"2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    m[48..52].copy_from_slice(&7u32.to_ne_bytes()); // cookie high half
    let s = wire::diag_socket(&m, 6).unwrap();
    assert_eq!(s.local, "[2001:db8::1]:40485".parse().unwrap());
    assert_eq!(s.cookie, 7 << 32 | 15);
}

#[test]
fn rejects_short_and_lying_messages() {
    // A header claiming more bytes than there are.
    let mut bad = CAPTURED[..124].to_vec();
    bad[0] = 0xff;
    let r: Result<Vec<_>, _> = wire::messages(&bad).collect();
    assert!(matches!(r, Err(SockDiagError::Malformed(_))));
    // A header shorter than a header.
    let r: Result<Vec<_>, _> = wire::messages(&CAPTURED[..10]).collect();
    assert!(matches!(r, Err(SockDiagError::Malformed(_))));
    // A reply shorter than inet_diag_msg.
    assert!(matches!(
        wire::diag_socket(&CAPTURED[16..60], 6),
        Err(SockDiagError::Malformed(_))
    ));
    // An attribute longer than what is left.
    let mut attr = CAPTURED[16..124].to_vec();
    attr[72] = 0x40;
    assert!(matches!(
        wire::diag_socket(&attr, 6),
        Err(SockDiagError::Malformed(_))
    ));
    // An unknown family.
    let mut fam = CAPTURED[16..124].to_vec();
    fam[0] = 99;
    assert!(matches!(
        wire::diag_socket(&fam, 6),
        Err(SockDiagError::Malformed(_))
    ));
    // Without attributes the cgroup id is unknown (kernels before 5.9).
    assert_eq!(
        wire::diag_socket(&CAPTURED[16..88], 6).unwrap().cgroup_id,
        None
    );
}

#[test]
#[cfg(target_endian = "little")]
fn reads_netlink_error_codes() {
    assert_eq!(
        wire::error_code(&(-libc::ENOENT).to_ne_bytes()).unwrap(),
        -libc::ENOENT
    );
    assert!(wire::error_code(&[0, 0]).is_err());
}

#[test]
fn finds_socket_owners_in_a_fake_procfs() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    for (pid, fds) in [
        (100u32, &["socket:[5]", "socket:[6]", "/dev/null"][..]),
        (200, &["socket:[5]", "pipe:[9]"]),
    ] {
        std::fs::create_dir_all(p.join(format!("{pid}/fd"))).unwrap();
        for (i, target) in fds.iter().enumerate() {
            std::os::unix::fs::symlink(target, p.join(format!("{pid}/fd/{i}"))).unwrap();
        }
    }
    // A process without a readable fd directory, and a non-process entry.
    std::fs::create_dir_all(p.join("300")).unwrap();
    std::fs::create_dir_all(p.join("net")).unwrap();
    let owners = socket_inode_owners(p);
    assert_eq!(owners, HashMap::from([(5, 100), (6, 100)]));
    assert!(socket_inode_owners(&p.join("missing")).is_empty());
}

/// Root: real sockets of this test are dumped with their cookies, ports, uid and inodes, and
/// the inodes lead back to this process.
#[test]
fn dumps_this_tests_sockets_as_root() {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;
    if !crate::test_support::root_or_skip("dumps_this_tests_sockets_as_root") {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (server, _) = listener.accept().unwrap();
    let client_port = client.local_addr().unwrap().port();
    let udp = std::net::UdpSocket::bind("[::1]:0").unwrap();
    let udp_port = udp.local_addr().unwrap().port();
    let inode = |fd: i32| {
        std::fs::metadata(format!("/proc/self/fd/{fd}"))
            .unwrap()
            .ino()
    };

    let sockets = dump_sockets().unwrap();
    let find = |proto: u8, local: u16, remote: u16| {
        sockets
            .iter()
            .find(|s| s.protocol == proto && s.local.port() == local && s.remote.port() == remote)
            .unwrap_or_else(|| {
                panic!(
                    "no {proto} socket {local}->{remote} in {} dumped",
                    sockets.len()
                )
            })
    };
    let l = find(6, port, 0);
    let c = find(6, client_port, port);
    let s = find(6, port, client_port);
    let u = find(17, udp_port, 0);
    assert_eq!(l.state, 10, "LISTEN");
    assert_eq!((c.state, s.state), (1, 1), "ESTABLISHED");
    assert_eq!(u.family, libc::AF_INET6 as u8);
    assert_eq!(u.local, udp.local_addr().unwrap());
    let cookies = [l.cookie, c.cookie, s.cookie, u.cookie];
    assert!(cookies.iter().all(|&k| k != 0), "{cookies:?}");
    let mut distinct = cookies.to_vec();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "{cookies:?}");
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    assert!([l, c, s, u].iter().all(|x| x.uid == uid));
    assert_eq!(l.inode, inode(listener.as_raw_fd()));
    assert_eq!(c.inode, inode(client.as_raw_fd()));
    assert_eq!(s.inode, inode(server.as_raw_fd()));
    assert_eq!(u.inode, inode(udp.as_raw_fd()));

    let owners = socket_inode_owners(Path::new("/proc"));
    let me = std::process::id();
    for x in [l, c, s, u] {
        assert_eq!(owners.get(&x.inode), Some(&me), "inode {}", x.inode);
    }
}
