//! Root tests: live HTTP, DNS, TLS, DTLS and QUIC records from real clients and servers, with
//! the processes at both ends attached, and ping's echo flows owned by ping.

mod common;

use common::*;
use serde_json::Value;
use std::process::{Command, Stdio};

#[test]
fn peer_main() {
    common::peer_main();
}

/// A process started in a namespace (and a cgroup), killed on drop.
struct Bg(std::process::Child);

impl Bg {
    fn start(ns: &NetNs, cg: &Cgroup, argv: &[&str]) -> Bg {
        let procs = cg.dir.join("cgroup.procs");
        let netns = std::fs::File::open(ns.path()).unwrap();
        let mut cmd = Command::new(argv[0]);
        cmd.args(&argv[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: only setns and a write between fork and exec.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(move || {
                std::fs::write(&procs, "0")?;
                use std::os::fd::AsRawFd;
                if libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Bg(cmd.spawn().unwrap_or_else(|e| panic!("{argv:?}: {e}")))
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Run a client in the namespace to completion; returns its pid.
fn client(ns: &NetNs, cg: &Cgroup, argv: &[&str]) -> u32 {
    let mut bg = Bg::start(ns, cg, argv);
    let pid = bg.pid();
    let st = bg.0.wait().unwrap();
    assert!(st.success(), "{argv:?}: {st}");
    pid
}

/// Wait until a TCP port accepts connections in the namespace.
fn wait_port(ns: &NetNs, port: u16) {
    assert!(
        wait_for(std::time::Duration::from_secs(10), || {
            Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &ns.name,
                    "bash",
                    "-c",
                    &format!("exec 3<>/dev/tcp/127.0.0.1/{port}"),
                ])
                .stderr(Stdio::null())
                .status()
                .unwrap()
                .success()
        }),
        "nothing listens on {port}"
    );
}

/// A self-signed certificate and its key for `openssl s_server`, in a directory of their
/// own that goes when the test ends, passed or not.
struct SelfSigned {
    dir: std::path::PathBuf,
    key: String,
    cert: String,
}

impl SelfSigned {
    fn new(prefix: &str) -> SelfSigned {
        let dir = std::env::temp_dir().join(unique(prefix));
        std::fs::create_dir_all(&dir).unwrap();
        let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
        let (key, cert) = (path("k.pem"), path("c.pem"));
        sh(&format!(
            "openssl req -x509 -newkey rsa:2048 -nodes -keyout {key} -out {cert} -days 1 -subj /CN=test.local 2>/dev/null"
        ));
        SelfSigned { dir, key, cert }
    }
}

impl Drop for SelfSigned {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// flowsight capturing on the namespace's loopback, scanning often, with `extra` flags.
fn on_loopback(ns: &NetNs, extra: &[&str]) -> Flowsight {
    let path = ns.path();
    let mut args = vec!["--netns", &path, "-i", "lo", "--scan-interval-ms", "100"];
    args.extend_from_slice(extra);
    Flowsight::start(&args)
}

fn only<'a>(records: &'a [Value], kind: &str) -> &'a Value {
    let of: Vec<_> = records.iter().filter(|r| r["type"] == kind).collect();
    assert_eq!(of.len(), 1, "one {kind} record: {records:#?}");
    of[0]
}

#[test]
fn live_http_record_with_both_processes() {
    if !root_or_skip("live_http_record_with_both_processes") {
        return;
    }
    let ns = NetNs::new();
    let cg = Cgroup::new("http");
    let fs = on_loopback(&ns, &["--http-header", "Accept"]);
    let server = Bg::start(
        &ns,
        &cg,
        &[
            "/usr/bin/python3",
            "-m",
            "http.server",
            "18080",
            "--bind",
            "127.0.0.1",
        ],
    );
    wait_port(&ns, 18080);
    let curl = client(
        &ns,
        &cg,
        &[
            "/usr/bin/curl",
            "-s",
            "-o",
            "/dev/null",
            "-A",
            "flowsight-test/1.0",
            "-H",
            "Accept: text/plain",
            "http://127.0.0.1:18080/?q=1",
        ],
    );
    drop(server);
    let records = fs.stop();
    let r = records
        .iter()
        .find(|r| r["type"] == "http" && r["user_agent"]["original"] == "flowsight-test/1.0")
        .unwrap_or_else(|| panic!("no http record: {records:#?}"));
    assert_eq!(r["http"]["request"]["method"], "GET");
    assert_eq!(r["url"]["original"], "/?q=1");
    assert_eq!(r["url"]["path"], "/");
    assert_eq!(r["url"]["query"], "q=1");
    assert_eq!(r["url"]["domain"], "127.0.0.1");
    assert_eq!(r["http"]["request"]["headers"]["accept"], "text/plain");
    assert_eq!(r["http"]["response"]["status_code"], 200);
    assert_eq!(r["http"]["response"]["mime_type"], "text/html");
    assert!(
        r["http"]["response"]["server"]
            .as_str()
            .unwrap()
            .starts_with("SimpleHTTP")
    );
    assert_eq!(r["network"]["protocol"], "http");
    assert_eq!(r["source"]["process"]["pid"], curl, "{r:#}");
    assert_eq!(r["source"]["process"]["name"], "curl");
    assert_eq!(r["destination"]["process"]["name"], "python3", "{r:#}");
    // Joins its flow record.
    let flow = records
        .iter()
        .find(|f| {
            f["type"] == "flow" && f["network"]["community_id"] == r["network"]["community_id"]
        })
        .expect("the flow of the http record");
    assert_eq!(flow["destination"]["port"], 18080);
}

#[test]
fn live_dns_record_with_both_processes() {
    if !root_or_skip("live_dns_record_with_both_processes") {
        return;
    }
    let ns = NetNs::new();
    let cg = Cgroup::new("dns");
    let fs = on_loopback(&ns, &[]);
    let spec = PeerSpec {
        netns: Some(&ns),
        uid: None,
        cgroup: Some(&cg),
    };
    let (mut server, _) = spec.start("dns-server", &["127.0.0.1:53", "1"]);
    let dig = client(
        &ns,
        &cg,
        &[
            "/usr/bin/dig",
            "+tries=1",
            "+time=3",
            "@127.0.0.1",
            "www.Example.test",
            "A",
        ],
    );
    assert!(server.wait().unwrap().success());
    let records = fs.stop();
    let r = only(&records, "dns");
    assert_eq!(r["dns"]["type"], "answer");
    assert_eq!(r["dns"]["op_code"], "QUERY");
    assert_eq!(r["dns"]["question"]["name"], "www.example.test");
    assert_eq!(r["dns"]["question"]["type"], "A");
    assert_eq!(r["dns"]["question"]["class"], "IN");
    assert_eq!(r["dns"]["response_code"], "NOERROR");
    assert_eq!(r["dns"]["answers"][0]["data"], "192.0.2.1");
    assert_eq!(r["dns"]["answers"][0]["ttl"], 60);
    assert_eq!(r["dns"]["resolved_ip"][0], "192.0.2.1");
    assert!(r["event"]["duration"].as_u64().unwrap() > 0);
    assert_eq!(r["source"]["process"]["pid"], dig, "{r:#}");
    assert_eq!(r["source"]["process"]["name"], "dig");
    assert_eq!(r["destination"]["process"]["pid"], server.id(), "{r:#}");
}

#[test]
fn live_tls_record_with_both_processes() {
    if !root_or_skip("live_tls_record_with_both_processes") {
        return;
    }
    let ns = NetNs::new();
    let cg = Cgroup::new("tls");
    let pem = SelfSigned::new("fst-tls");
    let fs = on_loopback(&ns, &[]);
    let server = Bg::start(
        &ns,
        &cg,
        &[
            "/usr/bin/openssl",
            "s_server",
            "-accept",
            "14433",
            "-cert",
            &pem.cert,
            "-key",
            &pem.key,
            "-www",
            "-quiet",
        ],
    );
    wait_port(&ns, 14433);
    let curl = client(
        &ns,
        &cg,
        &[
            "/usr/bin/curl",
            "-sk",
            "-o",
            "/dev/null",
            "https://localhost:14433/",
        ],
    );
    drop(server);
    let records = fs.stop();
    let r = records
        .iter()
        .find(|r| r["type"] == "tls" && r["source"]["process"]["pid"] == curl)
        .unwrap_or_else(|| panic!("no tls record from curl: {records:#?}"));
    let tls = &r["tls"];
    assert_eq!(tls["client"]["server_name"], "localhost");
    assert_eq!(tls["version"], "1.3");
    assert_eq!(tls["version_protocol"], "tls");
    assert!(tls["cipher"].as_str().unwrap().starts_with("TLS_"));
    assert!(
        tls["client"]["alpn"]
            .as_array()
            .unwrap()
            .contains(&"http/1.1".into())
    );
    assert_eq!(tls["client"]["ja3"].as_str().unwrap().len(), 32);
    assert!(
        tls["client"]["ja4"].as_str().unwrap().starts_with("t13d"),
        "{tls:#}"
    );
    assert_eq!(tls["server"]["ja3s"].as_str().unwrap().len(), 32);
    assert_eq!(r["source"]["process"]["name"], "curl");
    assert_eq!(r["destination"]["process"]["name"], "openssl", "{r:#}");
}

/// ICMP, live: iputils' ping in the namespace, once over a raw socket (root's default) and
/// once over an ICMP datagram socket (what ping uses when `net.ipv4.ping_group_range` lets
/// it in). The echo flow's sender is ping, taken from its socket at egress; the replies come
/// from the kernel itself, which owns no process.
fn ping_owned(datagram_socket: bool) {
    let ns = NetNs::new();
    let cg = Cgroup::new("ping");
    if datagram_socket {
        ns.sh("sysctl -qw net.ipv4.ping_group_range=\"0 0\"");
    }
    let fs = on_loopback(&ns, &[]);
    let pid = client(
        &ns,
        &cg,
        &[
            "/usr/bin/ping",
            "-n",
            "-q",
            "-c",
            "3",
            "-i",
            "0.2",
            "-s",
            "56",
            "127.0.0.1",
        ],
    );
    let records = fs.stop();
    let flows: Vec<&Value> = records
        .iter()
        .filter(|r| r["type"] == "flow" && r["network"]["transport"] == "icmp")
        .collect();
    assert_eq!(flows.len(), 1, "one echo flow: {records:#?}");
    let f = flows[0];
    assert_eq!(f["source"]["port"], 8, "echo request: {f:#}");
    assert_eq!(f["destination"]["port"], 0, "echo reply: {f:#}");
    assert_eq!(f["source"]["process"]["pid"], pid, "{f:#}");
    assert_eq!(f["source"]["process"]["name"], "ping");
    assert!(f["destination"].get("process").is_none(), "{f:#}");
    // Three requests and three replies: Ethernet 14, IPv4 20, ICMP 8 and 56 data bytes.
    for side in ["source", "destination"] {
        assert_eq!(f[side]["packets"], 3, "{side}: {f:#}");
        assert_eq!(f[side]["bytes"], 3 * (14 + 20 + 8 + 56), "{side}: {f:#}");
    }
}

#[test]
fn live_ping_over_a_raw_socket_is_owned_by_ping() {
    if root_or_skip("live_ping_over_a_raw_socket_is_owned_by_ping") {
        ping_owned(false);
    }
}

#[test]
fn live_ping_over_a_datagram_socket_is_owned_by_ping() {
    if root_or_skip("live_ping_over_a_datagram_socket_is_owned_by_ping") {
        ping_owned(true);
    }
}

/// DTLS, live: OpenSSL's DTLS 1.2 server and client in the namespace (the server answers
/// the first ClientHello with a HelloVerifyRequest, the client sends it again with the
/// cookie). The sampled hellos give one `tls` record of a `dtls` flow, with both processes.
#[test]
fn live_dtls_record_with_both_processes() {
    if !root_or_skip("live_dtls_record_with_both_processes") {
        return;
    }
    let ns = NetNs::new();
    let cg = Cgroup::new("dtls");
    let pem = SelfSigned::new("fst-dtls");
    let fs = on_loopback(&ns, &[]);
    let server = Bg::start(
        &ns,
        &cg,
        &[
            "/usr/bin/openssl",
            "s_server",
            "-dtls",
            "-accept",
            "14434",
            "-cert",
            &pem.cert,
            "-key",
            &pem.key,
            "-quiet",
        ],
    );
    assert!(
        wait_for(std::time::Duration::from_secs(10), || {
            let out = Command::new("ip")
                .args(["netns", "exec", &ns.name, "ss", "-Hlun", "sport = :14434"])
                .output()
                .unwrap();
            !out.stdout.is_empty()
        }),
        "nothing listens on udp 14434"
    );
    // `exec` keeps the shell's pid for openssl; stdin at its end makes the client close
    // once the handshake is done.
    let client_pid = client(
        &ns,
        &cg,
        &[
            "/bin/sh",
            "-c",
            "exec /usr/bin/openssl s_client -dtls -connect 127.0.0.1:14434 -servername dtls.test </dev/null",
        ],
    );
    drop(server);
    let records = fs.stop();
    let r = only(&records, "tls");
    assert_eq!(r["network"]["protocol"], "dtls", "{r:#}");
    assert_eq!(r["network"]["transport"], "udp");
    let tls = &r["tls"];
    assert_eq!(tls["version"], "1.2", "{tls:#}");
    assert_eq!(tls["version_protocol"], "dtls");
    assert_eq!(tls["client"]["server_name"], "dtls.test");
    assert!(
        tls["cipher"].as_str().unwrap().starts_with("TLS_"),
        "{tls:#}"
    );
    assert!(
        tls["client"]["ja4"].as_str().unwrap().starts_with("dd2d"),
        "{tls:#}"
    );
    assert_eq!(tls["client"]["ja3"].as_str().unwrap().len(), 32);
    assert_eq!(tls["server"]["ja3s"].as_str().unwrap().len(), 32);
    assert_eq!(r["destination"]["port"], 14434);
    assert_eq!(r["source"]["process"]["pid"], client_pid, "{r:#}");
    assert_eq!(r["source"]["process"]["name"], "openssl");
    assert_eq!(r["destination"]["process"]["name"], "openssl", "{r:#}");
}

/// QUIC, live: the client Initial of RFC 9001 §A.2 (a ClientHello for example.com, 1,200
/// bytes, the packet every QUIC stack starts with) sent over UDP by a process in the
/// namespace. Its sample is decrypted in user space and logged as a `tls` record with the
/// sender's process.
#[test]
fn live_quic_initial_logged_with_its_process() {
    if !root_or_skip("live_quic_initial_logged_with_its_process") {
        return;
    }
    let ns = NetNs::new();
    let cg = Cgroup::new("quic");
    let fs = on_loopback(&ns, &[]);
    let packet: String = include_str!("../../wire/tests/fixtures/rfc9001-a2-client-initial.hex")
        .split_whitespace()
        .collect();
    assert_eq!(packet.len(), 2400);
    let sender = client(
        &ns,
        &cg,
        &[
            "/usr/bin/python3",
            "-c",
            "import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); \
             s.bind(('127.0.0.1', 45443)); s.sendto(bytes.fromhex(sys.argv[1]), ('127.0.0.1', 443))",
            &packet,
        ],
    );
    let records = fs.stop();
    let r = only(&records, "tls");
    assert_eq!(r["network"]["protocol"], "quic", "{r:#}");
    assert_eq!(r["network"]["transport"], "udp");
    assert_eq!(r["tls"]["client"]["server_name"], "example.com");
    assert_eq!(r["tls"]["client"]["alpn"][0], "alpn", "{r:#}");
    assert!(
        r["tls"]["client"]["ja4"].as_str().unwrap().starts_with('q'),
        "{r:#}"
    );
    assert_eq!(r["source"]["port"], 45443);
    assert_eq!(r["destination"]["port"], 443);
    assert_eq!(r["source"]["process"]["pid"], sender, "{r:#}");
    assert_eq!(r["source"]["process"]["name"], "python3");
}
