//! Harness for the root integration tests: each test makes its own network namespace, veth
//! pair, cgroup and processes, and drops them (guards) even when it fails.
//!
//! Traffic comes from *peers*: this very test binary re-executed with `FLOWSIGHT_PEER` set
//! (see [`peer_main`]), so a peer is a real, separately exec'd program with a name longer than
//! the kernel's 15-character `comm`, run as any user and in any cgroup the test chooses.

#![allow(dead_code)]

pub mod tmux;
pub mod webdriver;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// True when the test may run. Root tests print a loud SKIP when not root, and fail instead
/// when FLOWSIGHT_REQUIRE_ROOT_TESTS=1 (CI), so a CI run cannot pass by skipping them.
pub fn root_or_skip(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var("FLOWSIGHT_REQUIRE_ROOT_TESTS").as_deref() == Ok("1") {
        panic!(
            "{test}: root tests are required (FLOWSIGHT_REQUIRE_ROOT_TESTS=1) but this is not root"
        );
    }
    // Straight to the stderr handle: libtest captures eprintln! of passing tests, and a skip
    // must be seen.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIP (not root): {test} needs root to load BPF programs and make namespaces"
    );
    false
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A name unique to this test process and call, short enough for an interface name.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}x{}",
        std::process::id() % 100_000,
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// Run a command to completion; panic with its output on failure.
pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("sh");
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A network namespace with loopback up, deleted on drop.
pub struct NetNs {
    pub name: String,
}

impl NetNs {
    pub fn new() -> NetNs {
        let name = unique("fst");
        sh(&format!(
            "ip netns add {name} && ip -n {name} link set lo up"
        ));
        NetNs { name }
    }

    pub fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    /// Run a shell command inside the namespace.
    pub fn sh(&self, cmd: &str) -> String {
        sh(&format!(
            "ip netns exec {} sh -c '{}'",
            self.name,
            cmd.replace('\'', "'\\''")
        ))
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        // Deleting the namespace removes its interfaces, qdiscs and filters with it.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A veth pair between two namespaces with addresses 10.x.y.1/24 and .2 (and fd00::1/2).
pub struct Veth {
    pub a: String,
    pub b: String,
    pub a_ip: String,
    pub b_ip: String,
    pub a_ip6: String,
    pub b_ip6: String,
}

impl Veth {
    pub fn new(ns_a: &NetNs, ns_b: &NetNs) -> Veth {
        let a = unique("va");
        let b = unique("vb");
        let n = SEQ.fetch_add(1, Ordering::Relaxed) % 250 + 1;
        let net = format!("10.{}.{}", std::process::id() % 250, n);
        let net6 = format!("fd00:{:x}:{:x}", std::process::id() % 65000, n);
        sh(&format!(
            "ip link add {a} netns {na} type veth peer name {b} netns {nb} && \
             ip -n {na} addr add {net}.1/24 dev {a} && ip -n {nb} addr add {net}.2/24 dev {b} && \
             ip -n {na} addr add {net6}::1/64 dev {a} nodad && ip -n {nb} addr add {net6}::2/64 dev {b} nodad && \
             ip -n {na} link set {a} up && ip -n {nb} link set {b} up",
            na = ns_a.name,
            nb = ns_b.name
        ));
        Veth {
            a,
            b,
            a_ip: format!("{net}.1"),
            b_ip: format!("{net}.2"),
            a_ip6: format!("{net6}::1"),
            b_ip6: format!("{net6}::2"),
        }
    }
}

/// The cgroup2 mount point (hybrid hosts: /sys/fs/cgroup/unified).
pub fn cgroup2_root() -> PathBuf {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines()
        .find_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            (right.split_whitespace().next()? == "cgroup2")
                .then(|| left.split_whitespace().nth(4).unwrap().into())
        })
        .expect("a cgroup2 mount")
}

/// A cgroup2 directory (with any parents made for it), removed on drop after its processes
/// are killed.
pub struct Cgroup {
    /// Absolute path of the leaf.
    pub dir: PathBuf,
    /// Path below the cgroup2 mount, as /proc/PID/cgroup shows it.
    pub rel: String,
    /// Directories made, innermost first, to remove on drop.
    made: Vec<PathBuf>,
}

impl Cgroup {
    /// `rel` below a fresh per-test directory, e.g. "system.slice/docker-<id>.scope".
    pub fn new(rel: &str) -> Cgroup {
        let root = cgroup2_root();
        let top = unique("flowsight-test-");
        let mut made = Vec::new();
        let mut dir = root.join(&top);
        std::fs::create_dir(&dir).unwrap();
        made.push(dir.clone());
        for part in rel.split('/').filter(|p| !p.is_empty()) {
            dir = dir.join(part);
            std::fs::create_dir(&dir).unwrap();
            made.push(dir.clone());
        }
        made.reverse();
        let rel = format!("/{}", dir.strip_prefix(&root).unwrap().display());
        Cgroup { dir, rel, made }
    }

    /// cgroup id: the inode of the directory.
    pub fn id(&self) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&self.dir).unwrap().ino()
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        for dir in &self.made {
            if let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) {
                for pid in procs.lines().filter_map(|p| p.parse::<i32>().ok()) {
                    // SAFETY: kill(2) on a pid read from the test's own cgroup.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
        }
        for dir in &self.made {
            for _ in 0..50 {
                if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// How to start a peer.
pub struct PeerSpec<'a> {
    pub netns: Option<&'a NetNs>,
    pub uid: Option<u32>,
    pub cgroup: Option<&'a Cgroup>,
}

impl<'a> PeerSpec<'a> {
    /// A peer in network namespace `ns` and cgroup `cgroup`, as the test's user.
    pub fn in_cgroup(ns: &'a NetNs, cgroup: &'a Cgroup) -> PeerSpec<'a> {
        PeerSpec {
            netns: Some(ns),
            uid: None,
            cgroup: Some(cgroup),
        }
    }

    pub fn command(&self, mode: &str, args: &[&str]) -> Command {
        let mut cmd = self.program(std::env::current_exe().unwrap());
        cmd.args([
            "peer_main",
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ]);
        cmd.env("FLOWSIGHT_PEER", mode);
        cmd.env("FLOWSIGHT_PEER_ARGS", args.join(" "));
        cmd
    }

    /// Any program, started as a peer is: in this spec's namespace and cgroup, as its user
    /// (a browser driven in the namespace, say).
    pub fn program(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        let netns = self.netns.map(|n| std::fs::File::open(n.path()).unwrap());
        let cgroup_procs = self.cgroup.map(|c| c.dir.join("cgroup.procs"));
        let uid = self.uid;
        // SAFETY: only async-signal-safe calls between fork and exec: open/write/setns/setgid/
        // setuid on data prepared before the fork.
        unsafe {
            cmd.pre_exec(move || {
                if let Some(procs) = &cgroup_procs {
                    // "0" moves the writing process itself.
                    std::fs::write(procs, "0")?;
                }
                if let Some(ns) = &netns {
                    use std::os::fd::AsRawFd;
                    if libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                if let Some(uid) = uid
                    && (libc::setgroups(0, std::ptr::null()) != 0
                        || libc::setgid(uid) != 0
                        || libc::setuid(uid) != 0)
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd
    }

    /// Start a long-running peer and wait for its "ready ..." line; returns the child and the
    /// rest of that line.
    pub fn start(&self, mode: &str, args: &[&str]) -> (Child, String) {
        let mut child = self
            .command(mode, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn peer");
        // The test harness prints its own lines ("running 1 test") around the peer's.
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let ready = loop {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 {
                panic!("peer {mode} exited before saying ready: {:?}", child.wait());
            }
            if let Some(rest) = line.trim().strip_prefix("ready") {
                break rest.trim().to_string();
            }
        };
        // Keep draining stdout so the peer never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = out.read_to_end(&mut sink);
        });
        (child, ready)
    }

    /// Run a peer to completion; returns its pid.
    pub fn run(&self, mode: &str, args: &[&str]) -> u32 {
        let mut child = self
            .command(mode, args)
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn peer");
        let pid = child.id();
        let st = child.wait().unwrap();
        assert!(st.success(), "peer {mode} {args:?} failed: {st}");
        pid
    }
}

/// What a peer does, chosen by FLOWSIGHT_PEER; arguments in FLOWSIGHT_PEER_ARGS.
/// Called from each test file's `peer_main` test, which is a no-op without the variable.
pub fn peer_main() {
    let Ok(mode) = std::env::var("FLOWSIGHT_PEER") else {
        return;
    };
    let args: Vec<String> = std::env::var("FLOWSIGHT_PEER_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect();
    let arg = |i: usize| args[i].as_str();
    let num = |i: usize| args[i].parse::<usize>().unwrap();
    match mode.as_str() {
        // serve-tcp BIND COUNT REPLY: accept COUNT connections one by one; read each to EOF,
        // answer REPLY bytes, close.
        "serve-tcp" => {
            let l = TcpListener::bind(arg(0)).unwrap();
            println!("ready {}", l.local_addr().unwrap().port());
            std::io::stdout().flush().unwrap();
            for _ in 0..num(1) {
                let (mut s, _) = l.accept().unwrap();
                let mut buf = Vec::new();
                s.read_to_end(&mut buf).unwrap();
                s.write_all(&vec![b'r'; num(2)]).unwrap();
            }
        }
        // connect-tcp ADDR SEND: connect, send SEND bytes, half-close, read the reply to EOF.
        "connect-tcp" => {
            let addr: SocketAddr = arg(0).parse().unwrap();
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(&vec![b's'; num(1)]).unwrap();
            s.shutdown(std::net::Shutdown::Write).unwrap();
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).unwrap();
        }
        // connect-tcp-from ADDR LOCALPORT SEND: as connect-tcp, from a fixed local port
        // (SO_REUSEADDR), so that successive peers reuse one 4-tuple.
        "connect-tcp-from" => {
            let addr: SocketAddr = arg(0).parse().unwrap();
            let mut s = connect_from(addr, num(1) as u16);
            s.write_all(&vec![b's'; num(2)]).unwrap();
            s.shutdown(std::net::Shutdown::Write).unwrap();
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).unwrap();
        }
        // stream-tcp ADDR CHUNK PERIOD_MS: connect, say ready, then send CHUNK bytes every
        // PERIOD_MS until killed (or until the other end goes away).
        "stream-tcp" => {
            let addr: SocketAddr = arg(0).parse().unwrap();
            let mut s = TcpStream::connect(addr).unwrap();
            println!("ready {}", s.local_addr().unwrap().port());
            std::io::stdout().flush().unwrap();
            let chunk = vec![b'c'; num(1)];
            while s.write_all(&chunk).is_ok() {
                std::thread::sleep(Duration::from_millis(num(2) as u64));
            }
        }
        // hold-tcp ADDR: connect, say ready, then on each stdin line send that many bytes;
        // exit at EOF.
        "hold-tcp" => {
            let addr: SocketAddr = arg(0).parse().unwrap();
            let mut s = TcpStream::connect(addr).unwrap();
            println!("ready {}", s.local_addr().unwrap().port());
            std::io::stdout().flush().unwrap();
            for line in std::io::stdin().lines() {
                let n: usize = line.unwrap().trim().parse().unwrap();
                s.write_all(&vec![b'h'; n]).unwrap();
            }
        }
        // serve-udp BIND COUNT: answer COUNT datagrams, each with one of twice its size.
        "serve-udp" => {
            let u = UdpSocket::bind(arg(0)).unwrap();
            println!("ready {}", u.local_addr().unwrap().port());
            std::io::stdout().flush().unwrap();
            let mut buf = [0u8; 65536];
            for _ in 0..num(1) {
                let (n, from) = u.recv_from(&mut buf).unwrap();
                u.send_to(&vec![b'u'; 2 * n], from).unwrap();
            }
        }
        // dns-server BIND COUNT [DELAY_MS]: answer COUNT DNS queries with one A record,
        // 192.0.2.1, each DELAY_MS after it came.
        "dns-server" => {
            let u = UdpSocket::bind(arg(0)).unwrap();
            println!("ready {}", u.local_addr().unwrap().port());
            std::io::stdout().flush().unwrap();
            let delay = Duration::from_millis(args.get(2).map_or(0, |d| d.parse().unwrap()));
            let mut buf = [0u8; 512];
            for _ in 0..num(1) {
                let (n, from) = u.recv_from(&mut buf).unwrap();
                std::thread::sleep(delay);
                // Header: same id, QR+RD+RA, one question, one answer; then the question as
                // asked, then the answer (name as a pointer to the question's).
                let q = &buf[12..n];
                let qlen = q.iter().position(|&b| b == 0).unwrap() + 1 + 4;
                let mut r = Vec::new();
                r.extend(&buf[..2]);
                r.extend([0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
                r.extend(&q[..qlen]);
                r.extend([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
                u.send_to(&r, from).unwrap();
            }
        }
        // sink-udp BIND COUNT: receive COUNT datagrams, never answer.
        "sink-udp" => {
            let u = UdpSocket::bind(arg(0)).unwrap();
            println!("ready {}", u.local_addr().unwrap().port());
            std::io::stdout().flush().unwrap();
            let mut buf = [0u8; 65536];
            for _ in 0..num(1) {
                u.recv_from(&mut buf).unwrap();
            }
        }
        // udp-send ADDR SIZE COUNT: send COUNT datagrams, expect nothing back.
        "udp-send" => {
            let addr: SocketAddr = arg(0).parse().unwrap();
            let u = UdpSocket::bind(if addr.is_ipv4() {
                "0.0.0.0:0"
            } else {
                "[::]:0"
            })
            .unwrap();
            for _ in 0..num(2) {
                u.send_to(&vec![b'o'; num(1)], addr).unwrap();
            }
        }
        // udp-ask ADDR SIZE COUNT: send COUNT datagrams of SIZE bytes, read each answer.
        "udp-ask" => {
            let addr: SocketAddr = arg(0).parse().unwrap();
            let any = if addr.is_ipv4() {
                "0.0.0.0:0"
            } else {
                "[::]:0"
            };
            let u = UdpSocket::bind(any).unwrap();
            u.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buf = [0u8; 65536];
            for _ in 0..num(2) {
                u.send_to(&vec![b'q'; num(1)], addr).unwrap();
                u.recv_from(&mut buf).unwrap();
            }
        }
        other => panic!("unknown peer mode {other}"),
    }
    // Exit at once: no harness teardown, which keeps short-lived peers short.
    std::process::exit(0);
}

/// A TCP connection to an IPv4 `to` from 127.0.0.1:`port`.
fn connect_from(to: SocketAddr, port: u16) -> TcpStream {
    use std::os::fd::FromRawFd;
    let SocketAddr::V4(to) = to else {
        panic!("IPv4 only")
    };
    let sin = |ip: std::net::Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket calls on a fresh descriptor, owned by the TcpStream at the end.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let one: libc::c_int = 1;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&one as *const libc::c_int).cast(),
            4,
        );
        let local = sin(std::net::Ipv4Addr::LOCALHOST, port);
        assert_eq!(
            libc::bind(fd, (&local as *const libc::sockaddr_in).cast(), len),
            0,
            "bind: {}",
            std::io::Error::last_os_error()
        );
        let remote = sin(*to.ip(), to.port());
        assert_eq!(
            libc::connect(fd, (&remote as *const libc::sockaddr_in).cast(), len),
            0,
            "connect: {}",
            std::io::Error::last_os_error()
        );
        TcpStream::from_raw_fd(fd)
    }
}

/// A running `flowsight live`.
pub struct Flowsight {
    child: Option<Child>,
    pub out: PathBuf,
    _dir: tempdir::TempDir,
}

/// A minimal temporary directory (removed on drop), to avoid a dependency for one use.
mod tempdir {
    use std::path::{Path, PathBuf};
    pub struct TempDir(PathBuf);
    impl TempDir {
        pub fn new() -> TempDir {
            let p = std::env::temp_dir().join(super::unique("flowsight-test-"));
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

pub fn flowsight_bin() -> &'static str {
    env!("CARGO_BIN_EXE_flowsight")
}

impl Flowsight {
    /// Start `flowsight live ARGS -o FILE -v` and wait until it says it is capturing.
    pub fn start(args: &[&str]) -> Flowsight {
        let dir = tempdir::TempDir::new();
        let out = dir.path().join("records.json");
        let mut child = Command::new(flowsight_bin())
            .arg("live")
            .args(args)
            .arg("-o")
            .arg(&out)
            .arg("-v")
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn flowsight");
        let err = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                eprintln!("[flowsight] {line}");
                if line.contains("capturing on")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(());
                }
            }
        });
        if rx.recv_timeout(Duration::from_secs(20)).is_err() {
            let _ = child.kill();
            panic!("flowsight did not start: {:?}", child.wait());
        }
        Flowsight {
            child: Some(child),
            out,
            _dir: dir,
        }
    }

    /// SIGTERM, wait for the exit, return every record written.
    pub fn stop(mut self) -> Vec<Value> {
        let mut child = self.child.take().unwrap();
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let st = child.wait().unwrap();
        assert!(st.success(), "flowsight exited with {st}");
        read_records(&self.out)
    }

    /// The pid of the flowsight process.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// SIGKILL (no clean-up by flowsight).
    pub fn kill(mut self) {
        let mut child = self.child.take().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Flowsight {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Every JSON record in a file.
pub fn read_records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// The final stats record.
pub fn final_stats(records: &[Value]) -> &Value {
    records
        .iter()
        .rev()
        .find(|r| r["type"] == "stats")
        .expect("a stats record")
}

/// Wait until `f` holds or `timeout` passes.
pub fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// The name this test binary has as a process: its file name.
pub fn peer_name() -> String {
    std::env::current_exe()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// A fake Docker Engine API on a socket of its own (removed on drop): answers for container
/// `id` with the name `name` after `delay` (a runtime answering while records are made), 404
/// for everything else (a name asked at start-up: the container does not exist yet).
pub struct SlowEngine {
    /// Its socket, for `--docker-socket`.
    pub socket: PathBuf,
    asked: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    _dir: Scratch,
}

impl SlowEngine {
    pub fn start(id: &str, name: &'static str, delay: Duration) -> SlowEngine {
        use std::io::{BufRead, Write};
        let dir = Scratch::new();
        let socket = dir.0.join("docker.sock");
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let seen = std::sync::Arc::clone(&asked);
        let id = id.to_string();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut line = String::new();
                if std::io::BufReader::new(&conn).read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split(' ').nth(1).unwrap_or("").to_string();
                seen.lock().unwrap().push(path.clone());
                let answer = if path == format!("/containers/{id}/json") {
                    std::thread::sleep(delay);
                    let body = format!(
                        r#"{{"Id":"{id}","Name":"/{name}","Config":{{"Image":"shop/web:1","Labels":{{}}}}}}"#
                    );
                    format!("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{body}")
                } else {
                    "HTTP/1.0 404 Not Found\r\n\r\n{\"message\":\"No such container\"}".to_string()
                };
                let _ = conn.write_all(answer.as_bytes());
            }
        });
        SlowEngine {
            socket,
            asked,
            _dir: dir,
        }
    }

    /// The socket's path as a flag value.
    pub fn socket_arg(&self) -> &str {
        self.socket.to_str().unwrap()
    }

    /// Whether container `id` was asked about.
    pub fn was_asked(&self, id: &str) -> bool {
        self.asked
            .lock()
            .unwrap()
            .contains(&format!("/containers/{id}/json"))
    }
}

/// A docker-shaped container id from a seed.
pub fn docker_id(seed: usize) -> String {
    (0..64)
        .map(|i| b"0123456789abcdef"[(i * 3 + seed * 7 + 5) % 16] as char)
        .collect()
}

/// A directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(unique("flowsight-docker-"));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
