//! Flag parsing and resolution.

use super::*;

fn live(args: &[&str]) -> Result<LiveConfig> {
    let mut argv = vec!["flowsight", "live"];
    argv.extend(args);
    match Cli::try_parse_from(argv)?.command {
        Command::Live(a) => a.resolve(),
        _ => unreachable!(),
    }
}

#[test]
fn web_and_metrics_start_the_same_server() {
    for flag in ["--web", "--metrics"] {
        let c = live(&[flag, "127.0.0.1:9464"]).unwrap();
        assert_eq!(c.metrics.unwrap().addr.port(), 9464, "{flag}");
    }
    assert!(live(&["--web", "127.0.0.1:1", "--metrics", "127.0.0.1:2"]).is_err());
    // Without an address: loopback, never every address.
    for flag in ["--web", "--metrics"] {
        let c = live(&[flag]).unwrap();
        let want: std::net::SocketAddr = "127.0.0.1:9464".parse().unwrap();
        assert_eq!(c.metrics.unwrap().addr, want, "{flag}");
    }
    let err = live(&["--web", "0.0.0.0:9464"]).unwrap_err().to_string();
    assert!(err.contains("--token-file"), "{err}");
    let c = live(&["--web", "127.0.0.1:1"]).unwrap();
    assert!(!c.metrics.unwrap().allow_control);
    let err = live(&["--web", "127.0.0.1:1", "--allow-control"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("--token-file"), "{err}");
    let token = std::env::temp_dir().join(format!("flowsight-cli-token-{}", std::process::id()));
    std::fs::write(&token, "0123456789abcdef0123\n").unwrap();
    let with_token = live(&[
        "--web",
        "127.0.0.1:1",
        "--allow-control",
        "--token-file",
        token.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&token);
    assert!(with_token.unwrap().metrics.unwrap().allow_control);
    let err = live(&["--allow-control"]).unwrap_err().to_string();
    assert!(err.contains("--web"), "{err}");
}

#[test]
fn defaults() {
    let c = live(&[]).unwrap();
    assert_eq!(c.output, Output::Stdout);
    assert!(c.capture.interfaces.is_empty());
    assert_eq!(c.timeouts.idle_ns, 60_000_000_000);
    assert_eq!(c.duration, None);
}

#[test]
fn repeatable_interfaces_and_output_file() {
    let c = live(&[
        "-i",
        "lo",
        "-i",
        "eth0",
        "-o",
        "/tmp/x.json",
        "--duration",
        "2.5",
    ])
    .unwrap();
    assert_eq!(c.capture.interfaces, vec!["lo", "eth0"]);
    assert_eq!(c.output, Output::File("/tmp/x.json".into()));
    assert_eq!(c.duration, Some(Duration::from_millis(2500)));
}

#[test]
fn read_flags() {
    let cli = Cli::try_parse_from([
        "flowsight",
        "read",
        "x.pcap",
        "--http-header",
        "Accept",
        "--threads",
        "2",
    ])
    .unwrap();
    let Command::Read(a) = cli.command else {
        unreachable!()
    };
    let c = a.resolve().unwrap();
    assert_eq!(c.engine.app.http_headers, vec!["accept"]);
    assert_eq!(c.threads, 2);
    assert!(c.engine.analyze);
    assert!(c.mmap, "plain files are mapped unless --no-mmap");
    let cli = Cli::try_parse_from(["flowsight", "read", "x.pcap", "--no-mmap"]).unwrap();
    let Command::Read(a) = cli.command else {
        unreachable!()
    };
    assert!(!a.resolve().unwrap().mmap);
    // 0: one thread per core.
    let cli = Cli::try_parse_from(["flowsight", "read", "x.pcap", "--threads", "0"]).unwrap();
    let Command::Read(a) = cli.command else {
        unreachable!()
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(a.resolve().unwrap().threads, cores.min(256));
    let cli = Cli::try_parse_from(["flowsight", "read", "x.pcap", "--threads", "257"]).unwrap();
    let Command::Read(a) = cli.command else {
        unreachable!()
    };
    assert!(a.resolve().unwrap_err().to_string().contains("--threads"));
}

#[test]
fn top_flags() {
    let top = |args: &[&str]| {
        let mut argv = vec!["flowsight", "top"];
        argv.extend(args);
        match Cli::try_parse_from(argv)?.command {
            Command::Top(a) => a.resolve(),
            _ => unreachable!(),
        }
    };
    let TopConfig::Live(c) = top(&["-i", "lo", "--active-timeout", "30"]).unwrap() else {
        panic!("no -r: live")
    };
    assert_eq!(c.capture.interfaces, vec!["lo"]);
    assert_eq!(c.timeouts.active_ns, 500_000_000, "half the scan period");
    assert_eq!(c.engine.unwrap().timeouts.active_ns, 500_000_000);
    let TopConfig::Replay(r) = top(&["-r", "x.pcap", "--speed", "2"]).unwrap() else {
        panic!("-r: replay")
    };
    assert_eq!((r.file.as_str(), r.speed), ("x.pcap", Some(2.0)));
    assert!(r.engine.flow_records && r.engine.analyze);
    assert_eq!(r.engine.timeouts.active_ns, 1_000_000_000);
    let TopConfig::Replay(r) = top(&["-r", "x.pcap"]).unwrap() else {
        panic!("-r: replay")
    };
    assert_eq!(r.speed, None);
    assert_eq!(r.engine.timeouts.active_ns, 60_000_000_000);
    for (args, msg) in [
        (
            &["-r", "x", "--speed", "0"][..],
            "--speed must be a positive",
        ),
        (&["-r", "x", "-i", "lo"][..], "-i and --netns are for live"),
        (&["-o", "x.json"][..], "top draws on the terminal"),
    ] {
        let e = top(args).unwrap_err().to_string();
        assert!(e.contains(msg), "{args:?}: {e}");
    }
    assert!(top(&["--speed", "2"]).is_err(), "--speed needs -r");
}

#[test]
fn bad_values_are_one_clear_line() {
    for (args, msg) in [
        (
            &["--idle-timeout", "-1"][..],
            "--idle-timeout must be a positive number of seconds",
        ),
        (
            &["--ring-size", "5000"][..],
            "--ring-size must be a power of two",
        ),
        (
            &["--duration", "0"][..],
            "--duration must be a positive number",
        ),
    ] {
        let e = live(args).unwrap_err().to_string();
        assert!(e.contains(msg), "{args:?}: {e}");
        assert!(!e.contains('\n'));
    }
    assert!(live(&["--bogus"]).is_err());
}
