//! Attach on loopback and print what loads and the first events (a developer's smoke test).
use flowsight_capture::{Capture, CaptureConfig};
fn main() {
    let cfg = CaptureConfig { interfaces: vec!["lo".into()], ..Default::default() };
    let mut cap = match Capture::start(&cfg) {
        Ok(c) => c,
        Err(e) => { eprintln!("error: {e}"); std::process::exit(1) }
    };
    for s in cap.status() {
        match &s.outcome {
            Ok(()) => println!("ok    {:<28} {}", s.program, s.target),
            Err(f) => println!("FAIL  {:<28} {}: {} ({})", s.program, s.target, f.error, f.degraded),
        }
    }
    let _ = std::process::Command::new("curl").args(["-s", "-o", "/dev/null", "http://127.0.0.1:1/"]).status();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let n = cap.drain_events(|e| println!("{e:?}"));
    println!("{n} events");
    let mut v = Vec::new();
    cap.flows().scan(&mut v).unwrap();
    println!("{} flows; counters {:?}", v.len(), cap.counters().unwrap());
}
