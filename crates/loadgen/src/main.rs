//! fs-loadgen: traffic with ground truth for the benchmarks in `benches/`.
//!
//! - `serve ADDR`: a TCP server that reads each connection to EOF and answers a few bytes.
//! - `storm --addr A --procs N --conns M --truth FILE`: N short-lived processes (this binary
//!   re-executed), each opening M connections one after the other and exiting at once; every
//!   connection's (pid, local port) is appended to FILE, the truth to score attribution with.
//! - `udp-flows --flows N --hold SECS`: N concurrent UDP flows from one socket (one datagram to
//!   each of N loopback destinations), repeated until SECS pass, to fill a flow table.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// TCP server: read each connection to EOF, answer 16 bytes.
    Serve { addr: SocketAddr },
    /// Connection storm from short-lived processes.
    Storm {
        #[arg(long)]
        addr: SocketAddr,
        /// Processes to start.
        #[arg(long, default_value_t = 2000)]
        procs: usize,
        /// Connections per process.
        #[arg(long, default_value_t = 10)]
        conns: usize,
        /// Processes running at once.
        #[arg(long, default_value_t = 16)]
        parallel: usize,
        /// Append "pid local_port" per connection here.
        #[arg(long)]
        truth: std::path::PathBuf,
    },
    /// One storm process (used by `storm`).
    #[command(hide = true)]
    Client {
        addr: SocketAddr,
        conns: usize,
        truth: std::path::PathBuf,
    },
    /// Many concurrent UDP flows.
    UdpFlows {
        #[arg(long, default_value_t = 100_000)]
        flows: usize,
        #[arg(long, default_value_t = 30)]
        hold: u64,
    },
}

fn serve(addr: SocketAddr) -> Result<()> {
    let l = TcpListener::bind(addr).with_context(|| format!("bind {addr}"))?;
    println!("ready {}", l.local_addr()?.port());
    std::io::stdout().flush()?;
    for s in l.incoming() {
        let Ok(mut s) = s else { continue };
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
            let _ = s.write_all(&[b'x'; 16]);
        });
    }
    Ok(())
}

fn client(addr: SocketAddr, conns: usize, truth: &std::path::Path) -> Result<()> {
    let pid = std::process::id();
    let mut lines = String::new();
    for _ in 0..conns {
        let mut s = TcpStream::connect(addr)?;
        let port = s.local_addr()?.port();
        s.write_all(b"hello")?;
        s.shutdown(std::net::Shutdown::Write)?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf)?;
        lines.push_str(&format!("{pid} {port}\n"));
    }
    // One append per process: small writes with O_APPEND do not interleave.
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(truth)?
        .write_all(lines.as_bytes())?;
    Ok(())
}

fn storm(
    addr: SocketAddr,
    procs: usize,
    conns: usize,
    parallel: usize,
    truth: &std::path::Path,
) -> Result<()> {
    // Clients run from a copy named fs-storm-client, so a tool that only reports process
    // names cannot take the server (fs-loadgen) for a client.
    let exe = std::env::temp_dir()
        .join(format!("fs-storm-{}", std::process::id()))
        .join("fs-storm-client");
    std::fs::create_dir_all(exe.parent().unwrap())?;
    std::fs::copy(std::env::current_exe()?, &exe)?;
    let start = Instant::now();
    let mut running = Vec::new();
    for _ in 0..procs {
        if running.len() >= parallel {
            let mut c: std::process::Child = running.remove(0);
            c.wait()?;
        }
        running.push(
            Command::new(&exe)
                .arg("client")
                .arg(addr.to_string())
                .arg(conns.to_string())
                .arg(truth)
                .spawn()?,
        );
    }
    for mut c in running {
        c.wait()?;
    }
    let _ = std::fs::remove_dir_all(exe.parent().unwrap());
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "storm: {} connections from {procs} processes in {secs:.1} s ({:.0}/s)",
        procs * conns,
        (procs * conns) as f64 / secs
    );
    Ok(())
}

fn udp_flows(flows: usize, hold: u64) -> Result<()> {
    let u = UdpSocket::bind("127.0.0.1:0")?;
    let dest = |i: usize| {
        SocketAddr::from((
            [127, 1 + (i / 60_000) as u8, 0, 1],
            1024 + (i % 60_000) as u16,
        ))
    };
    let end = Instant::now() + Duration::from_secs(hold);
    let mut rounds = 0;
    while Instant::now() < end {
        for i in 0..flows {
            // Nothing listens: the kernel answers with ICMP port unreachable, which is fine
            // (more flows, not fewer). Errors from those ICMPs are ignored.
            let _ = u.send_to(b"x", dest(i));
        }
        rounds += 1;
        if rounds == 1 {
            println!("ready {flows}");
            std::io::stdout().flush()?;
        }
        std::thread::sleep(Duration::from_secs(5));
    }
    Ok(())
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Serve { addr } => serve(addr),
        Cmd::Storm {
            addr,
            procs,
            conns,
            parallel,
            truth,
        } => storm(addr, procs, conns, parallel, &truth),
        Cmd::Client { addr, conns, truth } => client(addr, conns, &truth),
        Cmd::UdpFlows { flows, hold } => udp_flows(flows, hold),
    }
}
